// chronik cluster status (Kafka protocol: Metadata) and chronik cluster health (Chronik's admin
// HTTP API: GET /health and /v1/cluster of each node, which the Kafka protocol has no answer for;
// over https with a CA, a client certificate and a bearer token read from a file when the admin API
// asks for them); chronik cluster members | add-node | remove-node | decommission: the membership of a
// Chronik cluster (its metadata Raft group), through the admin API (/v1/cluster/members, add-node,
// remove-node), and moving a node's replicas away (reassignments) before it leaves.
import type { Argv } from 'yargs';
import type { Context } from '../context.js';
import { int } from '../args.js';
import { atTargets, planDecommission } from '../client/placement.js';
import { executeMoves, listReassignments } from '../client/reassignments.js';
import type { AdminAuth, Admins } from '../client/admin-api.js';
import { adminAuth, adminCall, adminOptions, adminsOf, requestJson } from '../client/admin-api.js';
import { progress } from '../progress.js';
import { CliError, errorMessage } from '../errors.js';
import type { Plan, Register } from './types.js';
import { READ_FORMATS } from './types.js';

async function membersCommand(ctx: Context, admins: Admins): Promise<number> {
  const r = await adminCall(admins, '/v1/cluster/members');
  if (r.status !== 200)
    throw new CliError('ADMIN_API', `${r.admin} answered ${r.status}: ${JSON.stringify(r.body)}`);
  if (ctx.out.json) {
    await ctx.out.printJson(r.body);
    return 0;
  }
  const b = r.body as {
    voters: number[];
    learners: number[];
    change: { nodeId: number; kind: string } | null;
    lastChange: { nodeId: number; kind: string; refused: string | null } | null;
    brokers: Array<{
      nodeId: number;
      host: string;
      port: number;
      rack: string | null;
      raftAddress: string;
      role: string;
    }>;
  };
  await ctx.out.print(
    `Voters: ${b.voters.join(', ')}${b.learners.length > 0 ? `  Learners: ${b.learners.join(', ')}` : ''}`,
  );
  const listed = new Set(b.brokers.map((x) => x.nodeId));
  await ctx.out.table(
    ['NODE', 'ROLE', 'HOST', 'PORT', 'RACK', 'RAFT'],
    [
      ...b.brokers.map((x) => [x.nodeId, x.role, x.host, x.port, x.rack, x.raftAddress]),
      // Members that have not registered (a node joining, or one that never came).
      ...[...b.voters, ...b.learners]
        .filter((id) => !listed.has(id))
        .map((id) => [id, b.voters.includes(id) ? 'voter' : 'learner', '-', '-', '-', 'not registered']),
    ],
  );
  if (b.change !== null)
    await ctx.out.print(
      `In progress: ${b.change.kind === 'add' ? 'adding' : 'removing'} node ${b.change.nodeId}`,
    );
  if (b.lastChange !== null)
    await ctx.out.print(
      `Last change: ${b.lastChange.kind} node ${b.lastChange.nodeId}: ${b.lastChange.refused === null ? 'done' : `refused: ${b.lastChange.refused}`}`,
    );
  return 0;
}

/**
 * Decommission: every partition replica of the node moves to the broker placement.ts picks (fewest
 * replicas, another rack where racks are set), `maxInFlight` moves at a time; then (unless --keep)
 * the node is removed through the admin API. Run again after an interruption: the plan is made
 * from what is left.
 */
async function decommission(
  ctx: Context,
  admins: Admins,
  nodeId: number,
  options: { maxInFlight: number; remove: boolean },
): Promise<number> {
  const md = await ctx.client.metadataWithRetry(null);
  if (!md.brokers.some((b) => b.nodeId === nodeId))
    throw new CliError('KAFKA', `broker ${nodeId} is not a broker of this cluster`);
  // Partitions moving already (an earlier run interrupted) are planned from their targets.
  const moving = await listReassignments(ctx.client, null);
  const planned = planDecommission(md.brokers, atTargets(md.topics, moving), nodeId);
  const { stuck } = planned;
  // Moves off the node that are running already are waited for (asked again: a retry).
  const moves = [
    ...moving
      .filter((r) => r.removingReplicas.includes(nodeId))
      .map((r) => ({
        topic: r.topic,
        partition: r.partition,
        to: r.replicas.filter((b) => !r.removingReplicas.includes(b)),
      })),
    ...planned.moves,
  ];
  if (stuck.length > 0)
    throw new CliError(
      'KAFKA',
      `no other broker can take the replica of ${stuck.map((s) => `${s.topic}-${s.partition}`).join(', ')} (add a node, or lower their replication factor first)`,
    );
  if (!ctx.out.json) await ctx.out.print(`node ${nodeId}: ${moves.length} replica(s) to move`);
  const bar = progress(ctx.io, 'moving', moves.length, ' partitions');
  let refused;
  try {
    refused = await executeMoves(ctx.client, moves, options.maxInFlight, (done) => bar.update(done));
  } finally {
    bar.stop();
  }
  if (refused.length > 0)
    throw new CliError(
      'KAFKA',
      `${refused.length} move(s) refused (${refused.map((r) => `${r.topic}-${r.partition}: ${r.error?.message ?? ''}`).join('; ')}); run the command again`,
    );
  if (!options.remove) {
    if (ctx.out.json) await ctx.out.printJson({ nodeId, moved: moves.length, removed: false });
    else await ctx.out.print(`node ${nodeId}: holds no replicas now (kept in the cluster)`);
    return 0;
  }
  const r = await adminCall(admins, '/v1/cluster/remove-node', { nodeId });
  const error = (r.body as { error?: { code?: string; message?: string } }).error;
  if (error !== undefined)
    throw new CliError('ADMIN_API', `${error.code ?? 'REFUSED'}: ${error.message ?? ''}`);
  if (ctx.out.json) await ctx.out.printJson({ nodeId, moved: moves.length, removed: r.status === 200 });
  else
    await ctx.out.print(
      r.status === 200
        ? `node ${nodeId}: ${moves.length} replica(s) moved; removed from the cluster`
        : `node ${nodeId}: ${moves.length} replica(s) moved; its removal is in progress`,
    );
  return 0;
}

async function changeCommand(
  ctx: Context,
  admins: Admins,
  path: string,
  body: Record<string, unknown>,
): Promise<number> {
  const r = await adminCall(admins, path, body);
  const error = (r.body as { error?: { code?: string; message?: string } | string }).error;
  if (ctx.out.json) await ctx.out.printJson({ status: r.status, ...r.body });
  else if (error === undefined)
    await ctx.out.print(
      r.status === 202
        ? `node ${String(body.nodeId)}: ${String((r.body as { status?: unknown }).status ?? 'accepted')} (in progress)`
        : `node ${String(body.nodeId)}: ${String((r.body as { status?: unknown }).status ?? 'done')}`,
    );
  if (error !== undefined) {
    const e = typeof error === 'string' ? { code: 'INVALID_REQUEST', message: error } : error;
    throw new CliError('ADMIN_API', `${e.code ?? 'REFUSED'}: ${e.message ?? ''}`);
  }
  return 0;
}

export const registerCluster: Register = (y: Argv, plan: Plan) =>
  y.command('cluster', 'cluster status (Kafka protocol) and node health (admin API)', (c) =>
    c
      .command('status', 'brokers, controller, under-replicated and offline partitions', {}, () =>
        plan({ formats: READ_FORMATS, action: (ctx) => status(ctx) }),
      )
      .command(
        'health',
        "each node's admin API /health (exit 1 unless every node is ok)",
        (h) =>
          h
            .option('admin', {
              type: 'string',
              describe: 'admin API URLs, comma-separated (default $CHRONIK_ADMIN or http://localhost:6092)',
            })
            .option('admin-token-file', {
              type: 'string',
              describe: 'a file holding the admin API bearer token (default $CHRONIK_ADMIN_TOKEN_FILE)',
            })
            .option('admin-ca-file', { type: 'string', describe: 'PEM CA of an https admin API' })
            .option('admin-cert-file', { type: 'string', describe: 'PEM client certificate (mTLS)' })
            .option('admin-key-file', { type: 'string', describe: 'PEM key of the client certificate' })
            .example('$0 cluster health --admin http://n1:6092,http://n2:6092,http://n3:6092', ''),
        (a) =>
          plan({
            formats: READ_FORMATS,
            action: (ctx) =>
              health(
                ctx,
                (a.admin ?? ctx.io.env.CHRONIK_ADMIN ?? 'http://localhost:6092').split(','),
                adminAuth(a, ctx.io.env.CHRONIK_ADMIN_TOKEN_FILE),
              ),
          }),
      )
      .command(
        'members',
        "the cluster's nodes: voters and learners of the metadata group, the change in progress (admin API)",
        (m) => adminOptions(m),
        (a) => plan({ formats: READ_FORMATS, action: (ctx) => membersCommand(ctx, adminsOf(ctx, a)) }),
      )
      .command(
        'add-node <id>',
        'admit a node before it starts (then start it with --join); a node started with --join needs no add-node',
        (m) =>
          adminOptions(m)
            .positional('id', { type: 'string', demandOption: true })
            .option('raft-addr', {
              type: 'string',
              demandOption: true,
              describe: "the new node's --raft-addr (host:port)",
            })
            .example('$0 cluster add-node 4 --raft-addr n4:9195 --admin http://n1:6092', ''),
        (a) =>
          plan({
            formats: READ_FORMATS,
            action: (ctx) =>
              changeCommand(ctx, adminsOf(ctx, a), '/v1/cluster/add-node', {
                nodeId: int('id', a.id, 0, 2 ** 31 - 1),
                raftAddress: String(a['raft-addr']),
              }),
          }),
      )
      .command(
        'remove-node <id>',
        'remove a node that holds no partition replicas (refused when the voters left would lose their majority)',
        (m) =>
          adminOptions(m)
            .positional('id', { type: 'string', demandOption: true })
            .example('$0 cluster remove-node 3 --admin http://n1:6092', ''),
        (a) =>
          plan({
            formats: READ_FORMATS,
            action: (ctx) =>
              changeCommand(ctx, adminsOf(ctx, a), '/v1/cluster/remove-node', {
                nodeId: int('id', a.id, 0, 2 ** 31 - 1),
              }),
          }),
      )
      .command(
        'decommission <id>',
        'move every replica off a node (a bounded number at a time), then remove it from the cluster',
        (m) =>
          adminOptions(m)
            .positional('id', { type: 'string', demandOption: true })
            .option('max-in-flight', { type: 'string', default: '2', describe: 'moves running at once' })
            .option('keep', {
              type: 'boolean',
              default: false,
              describe: 'move the replicas only; do not remove the node',
            })
            .example('$0 cluster decommission 4 --admin http://n1:6092', ''),
        (a) =>
          plan({
            formats: READ_FORMATS,
            action: (ctx) =>
              decommission(ctx, adminsOf(ctx, a), int('id', a.id, 0, 2 ** 31 - 1), {
                maxInFlight: int('max-in-flight', a['max-in-flight'], 1, 1000),
                remove: !a.keep,
              }),
          }),
      )
      .demandCommand(
        1,
        'cluster: which subcommand? (status, health, members, add-node, remove-node, decommission)',
      ),
  );

interface PartitionProblem {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  problem: 'offline' | 'under-replicated';
}

async function status(ctx: Context): Promise<number> {
  const md = await ctx.client.metadataWithRetry(null);
  const problems: PartitionProblem[] = [];
  let partitions = 0;
  for (const t of md.topics)
    for (const p of t.partitions) {
      partitions++;
      const base = {
        topic: t.name,
        partition: p.partition,
        leader: p.leader,
        replicas: p.replicas,
        isr: p.isr,
      };
      if (p.leader < 0) problems.push({ ...base, problem: 'offline' });
      else if (p.isr.length < p.replicas.length) problems.push({ ...base, problem: 'under-replicated' });
    }
  const offline = problems.filter((p) => p.problem === 'offline');
  const under = problems.filter((p) => p.problem === 'under-replicated');
  if (ctx.out.json) {
    await ctx.out.printJson({
      clusterId: md.clusterId,
      controllerId: md.controllerId,
      brokers: md.brokers,
      topics: md.topics.length,
      partitions,
      underReplicated: under,
      offline,
    });
    return 0;
  }
  await ctx.out.print(
    `Cluster: ${md.clusterId ?? '-'}  Controller: ${md.controllerId < 0 ? 'none' : md.controllerId}`,
  );
  await ctx.out.table(
    ['BROKER', 'HOST', 'PORT', 'RACK', 'CONTROLLER'],
    md.brokers.map((b) => [b.nodeId, b.host, b.port, b.rack, b.nodeId === md.controllerId ? 'yes' : '']),
  );
  await ctx.out.print(
    `Topics: ${md.topics.length}  Partitions: ${partitions}  Under-replicated: ${under.length}  Offline: ${offline.length}`,
  );
  if (problems.length > 0)
    await ctx.out.table(
      ['TOPIC', 'PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'PROBLEM'],
      problems.map((p) => [
        p.topic,
        p.partition,
        p.leader < 0 ? 'none' : p.leader,
        p.replicas.join(','),
        p.isr.join(','),
        p.problem,
      ]),
    );
  return 0;
}

interface NodeHealth {
  admin: string;
  nodeId: number | null;
  status: string;
  mode: string | null;
  metadataLeader: number | null;
  replicaProblems: number;
  error: string | null;
}

async function nodeHealth(admin: string, auth: AdminAuth): Promise<NodeHealth> {
  const base = admin.trim().replace(/\/+$/, '');
  const out: NodeHealth = {
    admin: base,
    nodeId: null,
    status: 'unreachable',
    mode: null,
    metadataLeader: null,
    replicaProblems: 0,
    error: null,
  };
  try {
    const h = await requestJson(`${base}/health`, auth);
    out.status = typeof h.body.status === 'string' ? h.body.status : `http ${h.status}`;
    out.nodeId = typeof h.body.nodeId === 'number' ? h.body.nodeId : null;
    out.replicaProblems = typeof h.body.replicaProblems === 'number' ? h.body.replicaProblems : 0;
    if (typeof h.body.error === 'string') out.error = h.body.error;
  } catch (e) {
    out.error = errorMessage(e instanceof Error && e.cause instanceof Error ? e.cause : e);
    return out;
  }
  try {
    const c = await requestJson(`${base}/v1/cluster`, auth);
    out.mode = typeof c.body.mode === 'string' ? c.body.mode : null;
    const group = c.body.metadataGroup as { leaderId?: unknown } | undefined;
    out.metadataLeader = typeof group?.leaderId === 'number' ? group.leaderId : null;
  } catch {
    // /v1/cluster is extra information: /health decided the status.
  }
  return out;
}

async function health(ctx: Context, admins: string[], auth: AdminAuth): Promise<number> {
  const nodes = await Promise.all(admins.filter((a) => a.trim() !== '').map((a) => nodeHealth(a, auth)));
  const healthy = nodes.every((n) => n.status === 'ok');
  if (ctx.out.json) await ctx.out.printJson({ healthy, nodes });
  else
    await ctx.out.table(
      ['ADMIN', 'NODE', 'STATUS', 'MODE', 'METADATA-LEADER', 'REPLICA-PROBLEMS', 'ERROR'],
      nodes.map((n) => [n.admin, n.nodeId, n.status, n.mode, n.metadataLeader, n.replicaProblems, n.error]),
    );
  return healthy ? 0 : 1;
}
