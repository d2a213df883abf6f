// Membership of a classic consumer group (protocol type "consumer", assignor "range"):
// FindCoordinator → JoinGroup (again with the member id when the broker answers
// MEMBER_ID_REQUIRED, KIP-394) → the leader assigns every member's partitions → SyncGroup →
// heartbeats every `heartbeatIntervalMs` until `leave`. A heartbeat answered
// REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID sets `needsRejoin`: the consumer
// loop commits what it printed and calls `join` again.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { CliError, checkKafka, kafkaError } from '../errors.js';
import type { KafkaClient } from './client.js';
import { sleep } from './client.js';
import {
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  rangeAssign,
} from './consumer-protocol.js';
import type { TopicPartition } from './partitions.js';
import { byTopic } from './partitions.js';

export interface GroupMemberOptions {
  groupId: string;
  topics: readonly string[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
}

export const DEFAULT_MEMBER_TIMINGS = {
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 30_000,
  heartbeatIntervalMs: 1000,
} as const;

/** JoinGroup/SyncGroup rounds one `join` may take (each error that asks to try again is one). */
const MAX_JOIN_ROUNDS = 20;

const REJOIN_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.REBALANCE_IN_PROGRESS,
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

export class GroupMember {
  memberId = '';
  generationId = -1;
  needsRejoin = true;
  private heartbeat: NodeJS.Timeout | undefined;
  private heartbeatInFlight = false;

  constructor(
    private readonly client: KafkaClient,
    readonly options: GroupMemberOptions,
  ) {}

  /** Joins (or rejoins) the group and returns this member's partitions. */
  async join(): Promise<TopicPartition[]> {
    this.stopHeartbeats();
    let lastError: CliError | undefined;
    for (let round = 0; round < MAX_JOIN_ROUNDS; round++) {
      if (round > 0) await sleep(Math.min(1000, 100 * 2 ** Math.min(round, 4)));
      const conn = await this.client.coordinator(this.options.groupId);
      const { body: joined } = await conn.request(
        ApiKey.JoinGroup,
        {
          groupId: this.options.groupId,
          sessionTimeoutMs: this.options.sessionTimeoutMs,
          rebalanceTimeoutMs: this.options.rebalanceTimeoutMs,
          memberId: this.memberId,
          groupInstanceId: null,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: encodeSubscription(this.options.topics) }],
          reason: null,
        },
        this.options.rebalanceTimeoutMs + this.client.options.requestTimeoutMs,
      );
      if (joined.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
        this.memberId = joined.memberId;
        continue;
      }
      if (joined.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
      if (REJOIN_ERRORS.has(joined.errorCode)) {
        lastError = kafkaError(joined.errorCode, `joining group "${this.options.groupId}"`);
        continue;
      }
      checkKafka(joined.errorCode, `joining group "${this.options.groupId}"`);
      this.memberId = joined.memberId;
      this.generationId = joined.generationId;
      const assignments =
        joined.leader === joined.memberId
          ? await this.assign(joined.members.map((m) => ({ memberId: m.memberId, metadata: m.metadata })))
          : [];
      const { body: synced } = await conn.request(
        ApiKey.SyncGroup,
        {
          groupId: this.options.groupId,
          generationId: this.generationId,
          memberId: this.memberId,
          groupInstanceId: null,
          protocolType: 'consumer',
          protocolName: joined.protocolName ?? 'range',
          assignments,
        },
        this.options.rebalanceTimeoutMs + this.client.options.requestTimeoutMs,
      );
      if (synced.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
      if (REJOIN_ERRORS.has(synced.errorCode)) {
        lastError = kafkaError(synced.errorCode, `syncing group "${this.options.groupId}"`);
        continue;
      }
      checkKafka(synced.errorCode, `syncing group "${this.options.groupId}"`);
      this.needsRejoin = false;
      this.startHeartbeats();
      return decodeAssignment(synced.assignment);
    }
    throw lastError ?? new CliError('TIMEOUT', `could not join group "${this.options.groupId}"`);
  }

  /** Commits `offsets` (the next offset to read of each partition) as this member's generation. */
  async commit(offsets: ReadonlyArray<TopicPartition & { offset: bigint }>): Promise<void> {
    if (offsets.length === 0) return;
    await commitOffsets(this.client, this.options.groupId, offsets, this.generationId, this.memberId).catch(
      (e: unknown) => {
        if (e instanceof CliError && e.kafkaCode !== undefined && REJOIN_ERRORS.has(e.kafkaCode)) {
          // The partitions may be someone else's now: what was printed since the last commit may be printed again.
          this.needsRejoin = true;
          return;
        }
        throw e;
      },
    );
  }

  /** Stops heartbeats and leaves the group, so that the others get its partitions at once. */
  async leave(): Promise<void> {
    this.stopHeartbeats();
    if (this.memberId === '') return;
    const conn = await this.client.coordinator(this.options.groupId);
    await conn.request(ApiKey.LeaveGroup, (version) => ({
      groupId: this.options.groupId,
      memberId: version < 3 ? this.memberId : '',
      members:
        version >= 3
          ? [{ memberId: this.memberId, groupInstanceId: null, reason: 'the consumer stopped' }]
          : [],
    }));
    this.memberId = '';
  }

  private async assign(
    members: Array<{ memberId: string; metadata: Buffer }>,
  ): Promise<Array<{ memberId: string; assignment: Buffer }>> {
    const subscriptions = new Map(members.map((m) => [m.memberId, decodeSubscription(m.metadata).topics]));
    const topics = [...new Set([...subscriptions.values()].flat())];
    const md = await this.client.metadata(topics);
    const counts = new Map(
      md.topics.filter((t) => t.errorCode === ErrorCode.NONE).map((t) => [t.name, t.partitions.length]),
    );
    const plan = rangeAssign(subscriptions, counts);
    return members.map((m) => ({
      memberId: m.memberId,
      assignment: encodeAssignment(plan.get(m.memberId) ?? []),
    }));
  }

  private startHeartbeats(): void {
    this.heartbeat = setInterval(() => void this.beat(), this.options.heartbeatIntervalMs);
  }

  private stopHeartbeats(): void {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private async beat(): Promise<void> {
    if (this.heartbeatInFlight || this.needsRejoin) return;
    this.heartbeatInFlight = true;
    try {
      const conn = await this.client.coordinator(this.options.groupId);
      const { body } = await conn.request(ApiKey.Heartbeat, {
        groupId: this.options.groupId,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: null,
      });
      if (body.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
      if (REJOIN_ERRORS.has(body.errorCode)) this.needsRejoin = true;
    } catch {
      // A lost heartbeat is retried by the next one; a session that expires shows as UNKNOWN_MEMBER_ID.
    } finally {
      this.heartbeatInFlight = false;
    }
  }
}

/**
 * OffsetCommit of `offsets` to the group's coordinator. Outside a generation (generationId -1,
 * empty member id) the broker accepts it only for a group with no members: how reset-offsets and
 * consumers with a manual assignment commit.
 */
export async function commitOffsets(
  client: KafkaClient,
  groupId: string,
  offsets: ReadonlyArray<TopicPartition & { offset: bigint }>,
  generationId = -1,
  memberId = '',
): Promise<void> {
  const byKey = new Map(offsets.map((o) => [`${o.topic}:${o.partition}`, o.offset]));
  await client.retry(`committing offsets of group "${groupId}"`, async () => {
    const conn = await client.coordinator(groupId);
    const { body } = await conn.request(ApiKey.OffsetCommit, {
      groupId,
      generationIdOrMemberEpoch: generationId,
      memberId,
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [...byTopic(offsets)].map(([name, partitions]) => ({
        name,
        partitions: partitions.map((partitionIndex) => ({
          partitionIndex,
          committedOffset: byKey.get(`${name}:${partitionIndex}`) ?? -1n,
          committedLeaderEpoch: -1,
          commitTimestamp: -1n,
          committedMetadata: '',
        })),
      })),
    });
    for (const t of body.topics)
      for (const p of t.partitions)
        checkKafka(p.errorCode, `committing ${t.name}-${p.partitionIndex} for group "${groupId}"`);
  });
}
