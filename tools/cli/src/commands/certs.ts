// chronik certs create: a local CA and the node and client certificates of a test or development
// cluster (src/certs.ts), with the principals they give and the chronik-server flags that use them.
// Nothing is sent anywhere: the files are written into --dir.
import type { Argv } from 'yargs';
import { createCerts } from '../certs.js';
import type { WrittenCert } from '../certs.js';
import { int } from '../args.js';
import type { Context } from '../context.js';
import { usage } from '../errors.js';
import type { Plan, Register } from './types.js';
import { READ_FORMATS } from './types.js';

function list(raw: unknown): string[] {
  return String(raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export const registerCerts: Register = (y: Argv, plan: Plan) =>
  y.command('certs', 'a local CA and certificates for a test cluster (TLS, mTLS between nodes)', (c) =>
    c
      .command(
        'create',
        'make (or reuse) the CA in --dir and the node and client certificates asked for',
        (h) =>
          h
            .option('dir', { type: 'string', default: './certs', describe: 'where the PEM files go' })
            .option('nodes', {
              type: 'string',
              default: '1,2,3',
              describe: 'node ids: node-<id>.pem with CN=node-<id> (the Raft TLS identity)',
            })
            .option('clients', {
              type: 'string',
              default: '',
              describe: 'client names: client-<name>.pem, CN=<name>',
            })
            .option('hosts', {
              type: 'string',
              default: 'localhost,127.0.0.1',
              describe: 'host names and IP addresses the node certificates are valid for',
            })
            .option('org', { type: 'string', default: 'Chronik', describe: 'the O= of every subject' })
            .option('days', { type: 'string', default: '365', describe: 'validity' })
            .option('force', {
              type: 'boolean',
              default: false,
              describe: 'replace node and client files (never the CA)',
            })
            .example('$0 certs create --dir ./certs --nodes 1,2,3 --clients admin,alice', ''),
        (a) =>
          plan({
            formats: READ_FORMATS,
            action: (ctx) => create(ctx, a),
          }),
      )
      .demandCommand(1, 'certs: which subcommand? (create)'),
  );

async function create(ctx: Context, a: Record<string, unknown>): Promise<number> {
  const nodes = list(a.nodes).map((n) => int('nodes', n, 0, 2 ** 31 - 1));
  const clients = list(a.clients);
  for (const c of clients)
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(c))
      throw usage(`--clients: "${c}" is not a name ([A-Za-z0-9._-], at most 64)`);
  if (nodes.length === 0 && clients.length === 0) throw usage('--nodes and --clients are both empty');
  const written = createCerts({
    dir: String(a.dir),
    nodes: [...new Set(nodes)],
    clients: [...new Set(clients)],
    hosts: list(a.hosts),
    organization: String(a.org),
    days: int('days', a.days, 1, 36_500),
    force: a.force === true,
  });
  if (ctx.out.json) {
    await ctx.out.printJson(written);
    return 0;
  }
  await ctx.out.table(
    ['KIND', 'NAME', 'CERTIFICATE', 'KEY', 'PRINCIPAL', 'STATE'],
    written.map((w) => [w.kind, w.name, w.certFile, w.keyFile, w.principal, w.created ? 'created' : 'kept']),
  );
  await ctx.out.print(hints(written));
  return 0;
}

/** The chronik-server flags that use the files (for node 1). */
function hints(written: readonly WrittenCert[]): string {
  const ca = written.find((w) => w.kind === 'ca');
  const node = written.find((w) => w.kind === 'node');
  if (ca === undefined || node === undefined) return '';
  const nodes = written.filter((w) => w.kind === 'node');
  return [
    '',
    `Node ${node.name} (likewise the others):`,
    `  Raft between nodes: raft-cluster ... --raft-tls-cert-file ${node.certFile} --raft-tls-key-file ${node.keyFile} --raft-tls-ca-file ${ca.certFile}`,
    `  Kafka SSL listeners: --ssl-cert-file ${node.certFile} --ssl-key-file ${node.keyFile} --ssl-ca-file ${ca.certFile}`,
    `  with the authorizer, on an SSL inter-broker listener: --super-users '${nodes.map((n) => n.principal).join(';')}'`,
    '',
  ].join('\n');
}
