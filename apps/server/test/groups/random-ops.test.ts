// Random sequences of group operations (joins, syncs, heartbeats, leaves, commits, time passing,
// coordinator restarts) from four clients — two dynamic, two static — under a fake clock. After
// every step the coordinator's invariants hold, and across the run: nobody ever receives another
// client's assignment, everyone in a generation is told the same protocol, the generation a client
// sees never goes backwards, a replaced static member's old id is fenced, and a restart (with
// compaction running) gives back every acknowledged commit.
import fc from 'fast-check';
import { InMemoryOffsetLog } from '../../src/groups/index.js';
import { ManualScheduler } from '@chronik/env';
import type { JoinGroupResult } from '../../src/groups/index.js';
import { harness, joinReq, settle, subscription, leaveNow } from './helpers.js';
import type { Harness } from './helpers.js';

// 'act' is what a well-behaved client does next (join, sync, or heartbeat); the other kinds are
// the disturbances: forced joins (with other protocols when alt), leaves, silence, restarts.
type Op =
  | { kind: 'act' | 'join' | 'sync' | 'heartbeat' | 'leave' | 'commit'; client: number; alt: boolean }
  | { kind: 'crash' | 'zombie'; client: number; alt: false }
  | { kind: 'advance'; ms: number }
  | { kind: 'restart' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 30,
    arbitrary: fc.record({
      kind: fc.constant('act' as const),
      client: fc.integer({ min: 0, max: 3 }),
      alt: fc.constant(false),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom(
        'join' as const,
        'sync' as const,
        'heartbeat' as const,
        'leave' as const,
        'commit' as const,
      ),
      client: fc.integer({ min: 0, max: 3 }),
      alt: fc.boolean(),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('commit' as const),
      client: fc.integer({ min: 0, max: 3 }),
      alt: fc.constant(false),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.constantFrom(100, 600, 1000, 3000),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(11_000, 31_000) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('crash' as const),
      client: fc.integer({ min: 0, max: 3 }),
      alt: fc.constant(false as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('zombie' as const),
      client: fc.integer({ min: 0, max: 3 }),
      alt: fc.constant(false as const),
    }),
  },
);

interface Client {
  name: string;
  instanceId: string | null;
  memberId: string;
  generationId: number;
  leaderMembers: JoinGroupResult['members'];
  ids: Set<string>;
  maxGeneration: number;
  joining: boolean;
  /** A member id this client had before it crashed and rejoined (a zombie still using it). */
  zombie: { memberId: string; generationId: number; replaced: boolean } | undefined;
  /** What a well-behaved client does next. */
  next: 'join' | 'sync' | 'heartbeat';
}

/** What the runs reached, so that the test cannot pass by never getting anywhere. */
const reached = { stable: 0, assignments: 0, restartsWithMembers: 0, fenced: 0, offsetsChecked: 0 };

async function run(ops: Op[]): Promise<void> {
  const log = new InMemoryOffsetLog();
  const clock = new ManualScheduler();
  const config = { numPartitions: 1, initialRebalanceDelayMs: 500, compactionMinRecords: 15 };
  let ids = 0;
  const newUuid = (): string => `uuid${++ids}`;
  let h: Harness = await harness(config, log, clock, newUuid);
  const clients: Client[] = ['a', 'b', 'c', 'd'].map((name, i) => ({
    name,
    instanceId: i >= 2 ? `instance-${name}` : null,
    memberId: '',
    generationId: -1,
    leaderMembers: [],
    ids: new Set(),
    maxGeneration: -1,
    joining: false,
    next: 'join' as const,
    zombie: undefined,
  }));
  const protocolOfGeneration = new Map<number, string>();
  /** partition → the offset of the last acknowledged commit (what a reload must give back). */
  const acked = new Map<number, bigint>();
  let commitSeq = 0n;
  const problems: string[] = [];
  const check = (): void => {
    const v = h.coordinator.invariantViolations();
    if (v.length > 0) problems.push(...v);
  };

  for (const op of ops) {
    if (op.kind === 'advance') {
      clock.advance(op.ms);
    } else if (op.kind === 'crash') {
      // the process dies without leaving; it restarts with no member id (same instance id if static)
      const c = clients[op.client] as Client;
      if (c.memberId !== '')
        c.zombie = { memberId: c.memberId, generationId: c.generationId, replaced: false };
      c.memberId = '';
      c.next = 'join';
    } else if (op.kind === 'zombie') {
      const c = clients[op.client] as Client;
      if (c.zombie !== undefined && c.instanceId !== null) {
        const e = h.coordinator.heartbeat({
          groupId: 'rg',
          generationId: c.zombie.generationId,
          memberId: c.zombie.memberId,
          groupInstanceId: c.instanceId,
        });
        if (e === 'FENCED_INSTANCE_ID') reached.fenced++;
        if (c.zombie.replaced && e === 'NONE')
          problems.push(`${c.name}: the replaced member id ${c.zombie.memberId} still heartbeats`);
      }
    } else if (op.kind === 'restart') {
      if ((h.coordinator.inspect('rg')?.members.length ?? 0) > 0) reached.restartsWithMembers++;
      h.coordinator.close();
      h = await harness(config, log, clock, newUuid);
      // A generation whose assignment was never written (no SyncGroup completed) is not in the log,
      // so the reloaded group may be at an older generation (as on a Kafka coordinator failover);
      // members of the lost generation are unknown to it. Generations only move forward from there.
      const loaded = h.coordinator.inspect('rg')?.generationId ?? 0;
      // nothing acknowledged is lost: every partition has its last acknowledged commit
      for (const [partition, offset] of acked) {
        const got = h.coordinator.fetchOffsets({
          groupId: 'rg',
          topics: [{ name: 't', partitionIndexes: [partition] }],
          requireStable: false,
        }).topics[0]?.partitions[0]?.committedOffset;
        if (got !== offset)
          problems.push(`after a restart partition ${partition} has ${String(got)}, acknowledged ${offset}`);
        else reached.offsetsChecked++;
      }
      for (const c of clients) c.maxGeneration = Math.min(c.maxGeneration, loaded);
      for (const g of [...protocolOfGeneration.keys()]) if (g > loaded) protocolOfGeneration.delete(g);
    } else {
      const c = clients[op.client] as Client;
      const kind = op.kind === 'act' ? c.next : op.kind;
      const groupId = 'rg';
      const protocols = [
        { name: op.alt ? 'roundrobin' : 'range', metadata: subscription(['t']) },
        { name: op.alt ? 'range' : 'roundrobin', metadata: subscription(['t']) },
      ];
      switch (kind) {
        case 'join': {
          if (c.joining) break;
          c.joining = true;
          const coordinator = h.coordinator;
          void coordinator
            .joinGroup(
              joinReq(groupId, {
                clientId: c.name,
                memberId: c.memberId,
                groupInstanceId: c.instanceId,
                requireKnownMemberId: true,
                supportsSkipAssignment: true,
                protocols,
              }),
            )
            .then((r) => {
              c.joining = false;
              if (r.errorCode === 'MEMBER_ID_REQUIRED' || r.errorCode === 'NONE') {
                c.memberId = r.memberId;
                c.ids.add(r.memberId);
              }
              if (r.errorCode === 'UNKNOWN_MEMBER_ID' || r.errorCode === 'FENCED_INSTANCE_ID')
                c.memberId = '';
              if (r.errorCode !== 'NONE') return;
              c.next = 'sync';
              if (c.zombie !== undefined && c.zombie.memberId !== r.memberId && c.instanceId !== null) {
                // the old process of a static member is still around: its id must be fenced now
                c.zombie.replaced = true;
                const e = coordinator.heartbeat({
                  groupId,
                  generationId: c.zombie.generationId,
                  memberId: c.zombie.memberId,
                  groupInstanceId: c.instanceId,
                });
                // FENCED_INSTANCE_ID, or UNKNOWN_MEMBER_ID if the new member is already gone again
                if (e === 'FENCED_INSTANCE_ID') reached.fenced++;
                else if (e !== 'UNKNOWN_MEMBER_ID')
                  problems.push(`${c.name}: the replaced member id ${c.zombie.memberId} got ${e}`);
              }
              if (r.generationId < c.maxGeneration)
                problems.push(`${c.name}: generation ${r.generationId} after ${c.maxGeneration}`);
              c.maxGeneration = Math.max(c.maxGeneration, r.generationId);
              c.generationId = r.generationId;
              c.leaderMembers = r.members;
              const seen = protocolOfGeneration.get(r.generationId);
              if (seen !== undefined && seen !== r.protocolName)
                problems.push(
                  `generation ${r.generationId}: protocols ${seen} and ${String(r.protocolName)}`,
                );
              protocolOfGeneration.set(r.generationId, r.protocolName ?? '');
            });
          break;
        }
        case 'sync': {
          if (c.memberId === '') break;
          const assignments = c.leaderMembers.map((m) => ({
            memberId: m.memberId,
            assignment: new Uint8Array(Buffer.from(`for:${m.memberId}`)),
          }));
          void h.coordinator
            .syncGroup({
              groupId,
              generationId: c.generationId,
              memberId: c.memberId,
              groupInstanceId: c.instanceId,
              protocolType: null,
              protocolName: null,
              assignments,
            })
            .then((r) => {
              if (r.errorCode === 'FENCED_INSTANCE_ID') reached.fenced++;
              if (r.errorCode === 'UNKNOWN_MEMBER_ID' || r.errorCode === 'FENCED_INSTANCE_ID')
                c.memberId = '';
              c.next = r.errorCode === 'NONE' ? 'heartbeat' : 'join';
              if (r.errorCode !== 'NONE' || r.assignment.length === 0) return;
              reached.assignments++;
              const got = Buffer.from(r.assignment).toString();
              if (!got.startsWith('for:') || !c.ids.has(got.slice(4)))
                problems.push(`${c.name} (ids ${[...c.ids].join(',')}) received ${got}`);
            });
          break;
        }
        case 'heartbeat': {
          if (c.memberId === '') {
            c.next = 'join';
            break;
          }
          const e = h.coordinator.heartbeat({
            groupId,
            generationId: c.generationId,
            memberId: c.memberId,
            groupInstanceId: c.instanceId,
          });
          if (e === 'UNKNOWN_MEMBER_ID' || e === 'FENCED_INSTANCE_ID') c.memberId = '';
          if (e === 'FENCED_INSTANCE_ID') reached.fenced++;
          if (e !== 'NONE') c.next = 'join';
          break;
        }
        case 'leave':
          if (c.memberId !== '' && c.instanceId === null) {
            leaveNow(h.coordinator, { groupId, members: [{ memberId: c.memberId, groupInstanceId: null }] });
            c.memberId = '';
            c.next = 'join';
          }
          break;
        case 'commit': {
          const offset = ++commitSeq;
          const partitionIndex = op.client;
          void h.coordinator
            .commitOffsets({
              groupId,
              generationId: c.memberId === '' ? -1 : c.generationId,
              memberId: c.memberId,
              groupInstanceId: c.memberId === '' ? null : c.instanceId,
              retentionTimeMs: -1,
              topics: [
                {
                  name: 't',
                  partitions: [
                    {
                      partitionIndex,
                      committedOffset: offset,
                      committedLeaderEpoch: -1,
                      commitTimestampMs: -1,
                      committedMetadata: null,
                    },
                  ],
                },
              ],
            })
            .then((r) => {
              if (r.topics[0]?.partitions[0]?.errorCode === 'NONE') acked.set(partitionIndex, offset);
            });
          break;
        }
      }
    }
    await settle();
    if (h.coordinator.groupState('rg') === 'Stable') reached.stable++;
    check();
    if (problems.length > 0) break;
  }
  h.coordinator.close();
  expect(problems).toEqual([]);
}

// A fixed seed keeps CI reproducible (and the coverage thresholds below stable); set
// GROUPS_SEED=<n> (and GROUPS_RUNS) to explore other sequences. A failure prints its seed and path.
const SEED = Number(process.env['GROUPS_SEED'] ?? 20261126);
const RUNS = Number(process.env['GROUPS_RUNS'] ?? 100);

it('keeps its invariants under random operations', async () => {
  await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 120 }), run), {
    numRuns: RUNS,
    seed: SEED,
  });
  if (process.env['GROUPS_SEED'] !== undefined) return;
  if (process.env['DBG']) process.stdout.write(JSON.stringify(reached) + '\n');
  expect(reached.stable).toBeGreaterThan(20);
  expect(reached.assignments).toBeGreaterThan(10);
  expect(reached.restartsWithMembers).toBeGreaterThan(3);
  expect(reached.fenced).toBeGreaterThan(0);
  expect(reached.offsetsChecked).toBeGreaterThan(3);
});
