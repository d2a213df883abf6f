// Helpers of the consumer group protocol (KIP-848) tests: a coordinator on a fake clock, an
// in-memory log and topics that a test creates, grows and deletes.
import { ManualScheduler } from '@chronik/env';
import type {
  ConsumerTopicInfo,
  MigrationPolicy,
  TopicMetadataSource,
} from '../../src/groups/consumer-coordinator.js';
import type {
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResult,
  GroupCoordinatorConfig,
} from '../../src/groups/index.js';
import { GroupCoordinator, InMemoryOffsetLog } from '../../src/groups/index.js';

/** Topics with deterministic ids that a test changes; `version` moves with every change. */
export class FakeTopics implements TopicMetadataSource {
  private readonly byName = new Map<string, ConsumerTopicInfo>();
  private v = 0;
  private next = 0;

  create(name: string, numPartitions: number, internal = false): string {
    const topicId = `00000000-0000-4000-8000-${String(++this.next).padStart(12, '0')}`;
    this.byName.set(name, { topicId, name, numPartitions, internal });
    this.v++;
    return topicId;
  }

  grow(name: string, numPartitions: number): void {
    const t = this.byName.get(name);
    if (t === undefined) throw new Error(`no topic ${name}`);
    this.byName.set(name, { ...t, numPartitions });
    this.v++;
  }

  delete(name: string): void {
    this.byName.delete(name);
    this.v++;
  }

  id(name: string): string {
    const t = this.byName.get(name);
    if (t === undefined) throw new Error(`no topic ${name}`);
    return t.topicId;
  }

  topic(name: string): ConsumerTopicInfo | undefined {
    return this.byName.get(name);
  }

  topicById(topicId: string): ConsumerTopicInfo | undefined {
    for (const t of this.byName.values()) if (t.topicId === topicId) return t;
    return undefined;
  }

  topics(): Iterable<ConsumerTopicInfo> {
    return this.byName.values();
  }

  version(): number {
    return this.v;
  }
}

export interface ConsumerHarness {
  coordinator: GroupCoordinator;
  clock: ManualScheduler;
  log: InMemoryOffsetLog;
  topics: FakeTopics;
}

const created: GroupCoordinator[] = [];

/** Invariant violations of every coordinator created since the last call (for afterEach). */
export function takeConsumerViolations(): string[] {
  const v = created.flatMap((c) => c.invariantViolations());
  created.length = 0;
  return v;
}

export async function consumerHarness(
  config: Partial<GroupCoordinatorConfig> = {},
  shared: Partial<Omit<ConsumerHarness, 'coordinator'>> = {},
  assignors?: readonly string[],
  migrationPolicy?: MigrationPolicy,
): Promise<ConsumerHarness> {
  const log = shared.log ?? new InMemoryOffsetLog();
  const clock = shared.clock ?? new ManualScheduler();
  const topics = shared.topics ?? new FakeTopics();
  let n = 0;
  const coordinator = new GroupCoordinator({
    offsetLog: log,
    clock,
    scheduler: clock,
    newUuid: () => `generated-${++n}`,
    topics,
    ...(assignors !== undefined ? { consumerAssignors: assignors } : {}),
    ...(migrationPolicy !== undefined ? { consumerMigrationPolicy: migrationPolicy } : {}),
    config: {
      numPartitions: 2,
      initialRebalanceDelayMs: 0,
      minSessionTimeoutMs: 1000,
      consumerHeartbeatIntervalMs: 1000,
      ...config,
    },
  });
  for (let p = 0; p < coordinator.config.numPartitions; p++) await coordinator.loadPartition(p);
  created.push(coordinator);
  return { coordinator, clock, log, topics };
}

/** A heartbeat request with Kafka's "unchanged" defaults, at v1. */
export function hbReq(
  groupId: string,
  memberId: string,
  memberEpoch: number,
  over: Partial<ConsumerGroupHeartbeatRequest> = {},
): ConsumerGroupHeartbeatRequest {
  return {
    apiVersion: 1,
    groupId,
    memberId,
    memberEpoch,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: -1,
    subscribedTopicNames: null,
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    ...over,
  };
}

/** A join (epoch 0) subscribing to `topics` by name. */
export function joinHb(
  groupId: string,
  memberId: string,
  topics: string[],
  over: Partial<ConsumerGroupHeartbeatRequest> = {},
): ConsumerGroupHeartbeatRequest {
  return hbReq(groupId, memberId, 0, {
    rebalanceTimeoutMs: 30_000,
    subscribedTopicNames: topics,
    topicPartitions: [],
    ...over,
  });
}

/** The answer's assignment as `topicId → partitions`, or null. */
export function assignmentOf(r: ConsumerGroupHeartbeatResult): Map<string, number[]> | null {
  return r.assignment === null ? null : new Map(r.assignment.map((a) => [a.topicId, a.partitions]));
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
