// chronik cluster status (Kafka protocol: Metadata) and chronik cluster health (Chronik's admin
// HTTP API: GET /health and /v1/cluster of each node, which the Kafka protocol has no answer for;
// over https with a CA, a client certificate and a bearer token read from a file when the admin API
// asks for them); chronik cluster members | add-node | remove-node | decommission: the membership of a
// Chronik cluster (its metadata Raft group), through the admin API (/v1/cluster/members, add-node,
// remove-node), decommission (the cluster's balancer moves a node's replicas away, then removes it:
// /v1/cluster/decommission, recommission) and the balancer's state (/v1/cluster/balancer).
import type { Argv } from 'yargs';
import type { Context } from '../context.js';
import { int } from '../args.js';
import type { BalancerStatus } from '../client/balancer.js';
import { adminJson, balancerStatus, members, sleep } from '../client/balancer.js';
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

const POLL_MS = 500;

/**
 * Decommission, done by the cluster (its balancer, the server README's "Decommission and
 * rebalance"): the node is marked draining in the metadata; the metadata leader moves its replicas
 * elsewhere, a bounded number at a time, and (unless --keep) removes it once it holds none — going
 * on after a failover, with or without this command. The command asks, then (unless --no-wait)
 * follows the progress until the node is out (or, with --keep, holds nothing). --cancel
 * recommissions the node.
 */
async function decommission(
  ctx: Context,
  admins: Admins,
  nodeId: number,
  options: { remove: boolean; wait: boolean; cancel: boolean; waitTimeoutMs: number },
): Promise<number> {
  if (options.cancel) {
    await adminJson(admins, '/v1/cluster/recommission', { nodeId });
    if (ctx.out.json) await ctx.out.printJson({ nodeId, cancelled: true });
    else await ctx.out.print(`node ${nodeId}: decommission cancelled (it stays; the moves made stay)`);
    return 0;
  }
  const started = await adminJson<BalancerStatus>(admins, '/v1/cluster/decommission', {
    nodeId,
    remove: options.remove,
  });
  const drain = started.drains.find((d) => d.nodeId === nodeId);
  const total = drain?.replicasLeft ?? 0;
  if (!options.wait) {
    if (ctx.out.json) await ctx.out.printJson({ nodeId, draining: true, replicasLeft: total });
    else await ctx.out.print(`node ${nodeId}: draining, ${total} replica(s) to move (cluster balancer)`);
    return 0;
  }
  if (!ctx.out.json) await ctx.out.print(`node ${nodeId}: ${total} replica(s) to move`);
  const bar = progress(ctx.io, 'moving', total, ' partitions');
  const deadline = Date.now() + options.waitTimeoutMs;
  let removed = false;
  try {
    for (;;) {
      // In this order: a drain that ended (its node removed) is seen gone from the members too.
      const st = await balancerStatus(admins);
      const m = await members(admins);
      const d = st.drains.find((x) => x.nodeId === nodeId);
      bar.update(total - (d?.replicasLeft ?? 0));
      const member =
        m.voters.includes(nodeId) ||
        m.learners.includes(nodeId) ||
        m.brokers.some((b) => b.nodeId === nodeId);
      if (options.remove && !member) {
        removed = true;
        break;
      }
      if (d === undefined && member)
        throw new CliError('ADMIN_API', `node ${nodeId} is no longer being decommissioned (cancelled?)`);
      if (d !== undefined && !options.remove && d.replicasLeft === 0) break;
      if (d !== undefined && d.stuck.length > 0 && st.moving === 0)
        throw new CliError(
          'KAFKA',
          `no other broker can take the replica of ${d.stuck.map((x) => `${x.topic}-${x.partition}`).join(', ')} (add a node, or lower their replication factor; or cancel: cluster decommission ${nodeId} --cancel)`,
        );
      const last = m.lastChange;
      if (
        d !== undefined &&
        d.replicasLeft === 0 &&
        last !== null &&
        last.nodeId === nodeId &&
        last.kind === 'remove' &&
        last.refused !== null &&
        last.requestIndex > d.requestIndex
      )
        throw new CliError(
          'ADMIN_API',
          `node ${nodeId} holds no replica, but its removal was refused: ${last.refused} (the cluster asks again)`,
        );
      if (Date.now() > deadline)
        throw new CliError(
          'TIMEOUT',
          `node ${nodeId}: still ${d?.replicasLeft ?? 0} replica(s) to move after ${options.waitTimeoutMs} ms (the cluster goes on; follow it with cluster balancer)`,
        );
      await sleep(POLL_MS);
    }
  } finally {
    bar.stop();
  }
  if (ctx.out.json) await ctx.out.printJson({ nodeId, moved: total, removed });
  else
    await ctx.out.print(
      removed
        ? `node ${nodeId}: ${total} replica(s) moved; removed from the cluster`
        : `node ${nodeId}: holds no replicas now (kept in the cluster)`,
    );
  return 0;
}

/** The balancer's state: nodes being decommissioned, the last rebalance, the moves running. */
async function balancerCommand(ctx: Context, admins: Admins): Promise<number> {
  const st = await balancerStatus(admins);
  if (ctx.out.json) {
    await ctx.out.printJson(st);
    return 0;
  }
  await ctx.out.print(
    `Partitions moving: ${st.moving} (at most ${st.maxConcurrentMoves} at once by the balancer)`,
  );
  if (st.drains.length === 0) await ctx.out.print('Decommissioning: none');
  else
    await ctx.out.table(
      ['DECOMMISSIONING', 'REPLICAS-LEFT', 'REMOVE', 'STUCK'],
      st.drains.map((d) => [
        d.nodeId,
        d.replicasLeft,
        d.remove ? 'yes' : 'no',
        d.stuck.map((x) => `${x.topic}-${x.partition}`).join(',') || '-',
      ]),
    );
  const r = st.rebalance;
  await ctx.out.print(
    r === null
      ? 'Rebalance: never asked'
      : r.endIndex === null
        ? `Rebalance: running (asked at ${r.requestIndex})`
        : `Rebalance: ${r.reason ?? 'ended'} (asked at ${r.requestIndex}, ended at ${r.endIndex})`,
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
        "move every replica off a node, then remove it from the cluster: done by the cluster's balancer (a bounded number of moves at a time, resumed after a failover); this follows it",
        (m) =>
          adminOptions(m)
            .positional('id', { type: 'string', demandOption: true })
            .option('keep', {
              type: 'boolean',
              default: false,
              describe: 'move the replicas only; do not remove the node',
            })
            .option('cancel', {
              type: 'boolean',
              default: false,
              describe: 'cancel the decommission of the node (recommission it)',
            })
            .option('wait', {
              type: 'boolean',
              default: true,
              describe: 'follow the progress until it is done (--no-wait: ask and return)',
            })
            .option('wait-timeout-ms', { type: 'string', default: '3600000' })
            .option('max-in-flight', {
              type: 'string',
              hidden: true,
              describe: "ignored: the cluster's --balancer-max-concurrent-moves bounds the moves",
            })
            .example('$0 cluster decommission 4 --admin http://n1:6092', '')
            .example('$0 cluster decommission 4 --cancel --admin http://n1:6092', ''),
        (a) =>
          plan({
            formats: READ_FORMATS,
            action: (ctx) =>
              decommission(ctx, adminsOf(ctx, a), int('id', a.id, 0, 2 ** 31 - 1), {
                remove: !a.keep,
                wait: a.wait,
                cancel: a.cancel,
                waitTimeoutMs: int('wait-timeout-ms', a['wait-timeout-ms'], 0, 24 * 3_600_000),
              }),
          }),
      )
      .command(
        'balancer',
        "the cluster's balancer: nodes being decommissioned, the last rebalance, the partitions moving (admin API)",
        (m) => adminOptions(m),
        (a) => plan({ formats: READ_FORMATS, action: (ctx) => balancerCommand(ctx, adminsOf(ctx, a)) }),
      )
      .demandCommand(
        1,
        'cluster: which subcommand? (status, health, members, add-node, remove-node, decommission, balancer)',
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
