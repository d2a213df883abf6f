// chronik cluster status (Kafka protocol: Metadata) and chronik cluster health (Chronik's admin
// HTTP API: GET /health and /v1/cluster of each node, which the Kafka protocol has no answer for;
// over https with a CA, a client certificate and a bearer token read from a file when the admin API
// asks for them).
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Argv } from 'yargs';
import type { Context } from '../context.js';
import { CliError, errorMessage, usage } from '../errors.js';
import type { Plan, Register } from './types.js';
import { READ_FORMATS } from './types.js';

const HEALTH_TIMEOUT_MS = 5000;

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
      .demandCommand(1, 'cluster: which subcommand? (status, health)'),
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

/** How to reach an admin API that asks for credentials: a bearer token, a CA, a client certificate. */
interface AdminAuth {
  token?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

function adminAuth(a: Record<string, unknown>, envTokenFile: string | undefined): AdminAuth {
  const read = (option: string, file: unknown): Buffer => {
    try {
      return fs.readFileSync(String(file));
    } catch (e) {
      throw usage(`--${option}: cannot read ${String(file)}: ${errorMessage(e)}`);
    }
  };
  const out: AdminAuth = {};
  const tokenFile = a['admin-token-file'] ?? envTokenFile;
  if (tokenFile !== undefined && tokenFile !== '')
    out.token = read('admin-token-file', tokenFile)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  if (a['admin-ca-file'] !== undefined) out.ca = read('admin-ca-file', a['admin-ca-file']);
  if ((a['admin-cert-file'] === undefined) !== (a['admin-key-file'] === undefined))
    throw usage('--admin-cert-file and --admin-key-file go together');
  if (a['admin-cert-file'] !== undefined) {
    out.cert = read('admin-cert-file', a['admin-cert-file']);
    out.key = read('admin-key-file', a['admin-key-file']);
  }
  return out;
}

/** GET of a JSON route (http or https), with the credentials given; never follows redirects. */
function getJson(url: string, auth: AdminAuth): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const options: https.RequestOptions = {
      timeout: HEALTH_TIMEOUT_MS,
      headers: auth.token === undefined ? {} : { authorization: `Bearer ${auth.token}` },
      ...(u.protocol === 'https:'
        ? {
            ...(auth.ca !== undefined ? { ca: auth.ca } : {}),
            ...(auth.cert !== undefined ? { cert: auth.cert, key: auth.key } : {}),
          }
        : {}),
    };
    const req = (u.protocol === 'https:' ? https : http).get(u, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        } catch {
          reject(
            new CliError(
              'ADMIN_API',
              `${url} answered ${res.statusCode ?? '?'} with something that is not JSON`,
            ),
          );
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
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
    const h = await getJson(`${base}/health`, auth);
    out.status = typeof h.body.status === 'string' ? h.body.status : `http ${h.status}`;
    out.nodeId = typeof h.body.nodeId === 'number' ? h.body.nodeId : null;
    out.replicaProblems = typeof h.body.replicaProblems === 'number' ? h.body.replicaProblems : 0;
    if (typeof h.body.error === 'string') out.error = h.body.error;
  } catch (e) {
    out.error = errorMessage(e instanceof Error && e.cause instanceof Error ? e.cause : e);
    return out;
  }
  try {
    const c = await getJson(`${base}/v1/cluster`, auth);
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
