// Rack-aware placement (broker.rack, from each node's --rack) on four brokers in one process, two
// racks: the brokers report their racks in Metadata, a topic created without an assignment has
// every partition's replicas in both racks, and a decommission without removal (the admin route
// /v1/cluster/decommission with remove false: the metadata leader's balancer moves the node's
// replicas, cluster/balancer.ts) keeps every partition spanning both racks.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { InProcessCluster, until } from './in-process-cluster.js';

jest.setTimeout(120_000);

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '..', '..', '..', '..', 'tools', 'cli', 'bin', 'chronik');
const RACK: Record<number, string> = { 1: 'east', 2: 'east', 3: 'west', 4: 'west' };

const cluster = new InProcessCluster({ ids: [1, 2, 3, 4], racks: RACK });

beforeAll(() => cluster.startAll());
afterAll(() => cluster.stop());

function replicasOf(topic: string): number[][] {
  const t = cluster.node(1).composed?.store.state.topic(topic);
  if (t === undefined) throw new Error(`no topic ${topic}`);
  return t.partitions.map((p) => [...p.replicas]);
}

const spansRacks = (replicas: readonly number[]): boolean => new Set(replicas.map((b) => RACK[b])).size === 2;

test('topics are created with replicas spread over racks, and a decommission keeps them spread', async () => {
  const brokers = [1, 2, 3].map((id) => `127.0.0.1:${cluster.node(id).broker.kafkaPort}`).join(',');
  const chronik = async (...args: string[]): Promise<string> =>
    (await run(process.execPath, [CLI, '-b', brokers, ...args], { timeout: 90_000 })).stdout;
  // Metadata (v1+) carries each broker's rack.
  const status = JSON.parse(await chronik('cluster', 'status', '--format', 'json')) as {
    brokers: Array<{ nodeId: number; rack: string | null }>;
  };
  expect(Object.fromEntries(status.brokers.map((b) => [b.nodeId, b.rack]))).toEqual(RACK);
  const admin = cluster.kafka().admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic: 'racked', numPartitions: 8, replicationFactor: 2 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  const created = replicasOf('racked');
  expect(created).toHaveLength(8);
  for (const r of created) expect(spansRacks(r)).toBe(true);

  // Node 4 (west) gives its replicas away: only node 3 is in the west, so each goes there.
  const asked = await cluster.admin(1, 'POST', '/v1/cluster/decommission', { nodeId: 4, remove: false });
  expect(asked.status).toBe(202);
  await until(
    'the balancer moved every replica off node 4',
    () => {
      const state = cluster.node(2).composed?.store.state;
      return state !== undefined &&
        state.topics().every((t) => t.partitions.every((p) => !p.replicas.includes(4)))
        ? true
        : undefined;
    },
    90_000,
  );
  const st = (await cluster.admin(2, 'GET', '/v1/cluster/balancer')).body as {
    drains: Array<{ nodeId: number; replicasLeft: number; remove: boolean }>;
  };
  expect(st.drains).toEqual([expect.objectContaining({ nodeId: 4, replicasLeft: 0, remove: false })]);
  await until('the moves applied on node 1', () =>
    replicasOf('racked').every((r) => !r.includes(4)) ? true : undefined,
  );
  const after = replicasOf('racked');
  for (const r of after) expect(spansRacks(r)).toBe(true);
  // Only the replicas on node 4 moved; the staying replica leads (it comes first), the new one last.
  after.forEach((r, p) => {
    const before = created[p] as number[];
    expect(r).toEqual(before.includes(4) ? [...before.filter((b) => b !== 4), 3] : before);
  });
  // Kept (not removed): still a broker, draining until recommissioned.
  expect(cluster.node(1).composed?.store.state.broker(4)).toBeDefined();
  expect((await cluster.admin(1, 'POST', '/v1/cluster/recommission', { nodeId: 4 })).status).toBe(200);
  expect(cluster.node(1).composed?.store.state.drains()).toEqual([]);
});

test('a rebalance by the balancer spreads every topic back onto the recommissioned node, racks kept; refusals', async () => {
  // Bad requests and refusals.
  expect((await cluster.admin(1, 'POST', '/v1/cluster/decommission', { nodeId: 'x' })).status).toBe(400);
  expect(await cluster.admin(1, 'POST', '/v1/cluster/recommission', { nodeId: 4 })).toMatchObject({
    status: 409,
    body: { error: { code: 'INVALID_REQUEST', message: 'Node 4 is not being decommissioned' } },
  });
  expect((await cluster.admin(1, 'POST', '/v1/cluster/rebalance/cancel', {})).status).toBe(409);
  const plan = (await cluster.admin(1, 'GET', '/v1/cluster/balancer/plan', undefined, 'maxMoves=100'))
    .body as {
    moves: unknown[];
  };
  expect(plan.moves.length).toBeGreaterThan(0);

  expect((await cluster.admin(3, 'POST', '/v1/cluster/rebalance', {})).status).toBe(202);
  const state = () => cluster.node(1).composed?.store.state;
  await until(
    'the rebalance ended',
    () => {
      const r = state()?.rebalance();
      return r?.endIndex !== null && r?.endIndex !== undefined ? r : undefined;
    },
    90_000,
  );
  expect(state()?.rebalance()?.reason).toBe('balanced');
  // Every topic counted together: the west nodes (3, 4) share the west replicas within one.
  const counts = new Map<number, number>();
  for (const t of state()?.topics() ?? [])
    for (const p of t.partitions) for (const r of p.replicas) counts.set(r, (counts.get(r) ?? 0) + 1);
  expect(Math.abs((counts.get(3) ?? 0) - (counts.get(4) ?? 0))).toBeLessThanOrEqual(1);
  expect(Math.abs((counts.get(1) ?? 0) - (counts.get(2) ?? 0))).toBeLessThanOrEqual(1);
  for (const r of replicasOf('racked')) expect(spansRacks(r)).toBe(true);
  const after = (await cluster.admin(1, 'GET', '/v1/cluster/balancer/plan')).body as { moves: unknown[] };
  expect(after.moves).toEqual([]);
});
