// Shared helpers of the group coordinator tests: a coordinator on a fake clock and an in-memory log.
import { GroupCoordinator, InMemoryOffsetLog } from '../../src/groups/index.js';
import { ManualScheduler } from '@chronik/env';
import type {
  GroupCoordinatorConfig,
  JoinGroupRequest,
  JoinGroupResult,
  LeaveGroupRequest,
  LeaveGroupResult,
} from '../../src/groups/index.js';

export interface Harness {
  coordinator: GroupCoordinator;
  clock: ManualScheduler;
  log: InMemoryOffsetLog;
}

const created: GroupCoordinator[] = [];

/** Invariant violations of every coordinator created since the last call (for afterEach). */
export function takeViolations(): string[] {
  const v = created.flatMap((c) => c.invariantViolations());
  created.length = 0;
  return v;
}

/** Ids "uuid1", "uuid2", ... counted per harness unless `newUuid` is shared (restarts on one log). */
export async function harness(
  config: Partial<GroupCoordinatorConfig> = {},
  log = new InMemoryOffsetLog(),
  clock = new ManualScheduler(),
  newUuid?: () => string,
): Promise<Harness> {
  let n = 0;
  const coordinator = new GroupCoordinator({
    offsetLog: log,
    clock,
    scheduler: clock,
    newUuid: newUuid ?? (() => `uuid${++n}`),
    config: { numPartitions: 4, initialRebalanceDelayMs: 0, minSessionTimeoutMs: 1000, ...config },
  });
  for (let p = 0; p < coordinator.config.numPartitions; p++) await coordinator.loadPartition(p);
  created.push(coordinator);
  return { coordinator, clock, log };
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

/** ConsumerProtocolSubscription v0 for `topics`. */
export function subscription(topics: string[], userData = ''): Uint8Array {
  const parts: Buffer[] = [Buffer.from([0, 0])];
  const n = Buffer.alloc(4);
  n.writeInt32BE(topics.length);
  parts.push(n);
  for (const t of topics) {
    const l = Buffer.alloc(2);
    l.writeInt16BE(Buffer.byteLength(t));
    parts.push(l, Buffer.from(t));
  }
  const u = Buffer.alloc(4);
  u.writeInt32BE(Buffer.byteLength(userData));
  parts.push(u, Buffer.from(userData));
  return new Uint8Array(Buffer.concat(parts));
}

export function joinReq(groupId: string, over: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId,
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['t1']) }],
    requireKnownMemberId: false,
    supportsSkipAssignment: false,
    ...over,
  };
}

/** A tracked promise: `.result` once settled. */
export function track<T>(p: Promise<T>): { promise: Promise<T>; result: T | undefined; done: boolean } {
  const t: { promise: Promise<T>; result: T | undefined; done: boolean } = {
    promise: p,
    result: undefined,
    done: false,
  };
  void p.then((r) => {
    t.result = r;
    t.done = true;
  });
  return t;
}

/** Joins a dynamic member through MEMBER_ID_REQUIRED (v4+ flow); returns the pending second join. */
export async function joinWithId(h: Harness, groupId: string, over: Partial<JoinGroupRequest> = {}) {
  const first = await h.coordinator.joinGroup(joinReq(groupId, { requireKnownMemberId: true, ...over }));
  expect(first.errorCode).toBe('MEMBER_ID_REQUIRED');
  const memberId = first.memberId;
  return {
    memberId,
    join: track(h.coordinator.joinGroup(joinReq(groupId, { requireKnownMemberId: true, ...over, memberId }))),
  };
}

export function assign(
  members: JoinGroupResult['members'],
): Array<{ memberId: string; assignment: Uint8Array }> {
  return members.map((m) => ({
    memberId: m.memberId,
    assignment: new Uint8Array(Buffer.from(`assignment-for-${m.memberId}`)),
  }));
}

/** LeaveGroup of a classic group (answered synchronously). */
export function leaveNow(coordinator: GroupCoordinator, req: LeaveGroupRequest): LeaveGroupResult {
  const r = coordinator.leaveGroup(req);
  if (r instanceof Promise) throw new Error('LeaveGroup of a classic group answered asynchronously');
  return r;
}
