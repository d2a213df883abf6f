// The inter-broker client against a real broker and against sockets that misbehave: version
// negotiation, deadlines, failed and closed connections, the in-flight bound, a node that moved.
import net from 'node:net';
import { ApiKey, defaultFetchRequest } from '@chronik/protocol';
import { systemScheduler } from '@chronik/env';
import { silentLogger } from '../src/logger.js';
import type { BrokerAddress } from '../src/net/broker-client.js';
import { BrokerClient } from '../src/net/broker-client.js';
import { removeDir, startBroker } from './helpers/broker.js';

let ctx: Awaited<ReturnType<typeof startBroker>>;

const API_VERSIONS = { clientSoftwareName: 'broker-client-test', clientSoftwareVersion: '1' };

beforeAll(async () => {
  ctx = await startBroker();
});

afterAll(async () => {
  await ctx.stop();
  removeDir(ctx.dataDir);
});

function client(addresses: Map<number, BrokerAddress>, maxInFlightPerNode?: number): BrokerClient {
  return new BrokerClient({
    nodeId: 9,
    addressOf: (id) => addresses.get(id),
    scheduler: systemScheduler,
    logger: silentLogger,
    connectTimeoutMs: 2000,
    ...(maxInFlightPerNode !== undefined ? { maxInFlightPerNode } : {}),
  });
}

/** A server that accepts connections and never answers; `sockets` holds them. */
async function silentServer(): Promise<{ port: number; sockets: net.Socket[]; close(): Promise<void> }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

test('asks a broker with the highest version both sides have', async () => {
  const c = client(new Map([[1, { host: '127.0.0.1', port: ctx.broker.kafkaPort }]]));
  const r = await c.request(
    1,
    ApiKey.Metadata,
    {
      topics: [],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    },
    { maxVersion: 9, timeoutMs: 5000 },
  );
  expect(r.version).toBe(9);
  expect(r.response.brokers.length).toBeGreaterThan(0);
  // A second request reuses the connection; a range the node does not serve is refused.
  await expect(
    c.request(1, ApiKey.Metadata, { topics: [] } as never, {
      minVersion: 100,
      maxVersion: 200,
      timeoutMs: 5000,
    }),
  ).rejects.toMatchObject({ code: 'UNSUPPORTED_VERSION' });
  await c.close();
  await expect(
    c.request(1, ApiKey.ApiVersions, API_VERSIONS, { maxVersion: 3, timeoutMs: 1000 }),
  ).rejects.toMatchObject({
    code: 'NETWORK_EXCEPTION',
  });
});

test('a node that does not answer: the request times out; one that closes fails what is in flight; the next request reconnects', async () => {
  const silent = await silentServer();
  const addresses = new Map([[2, { host: '127.0.0.1', port: silent.port }]]);
  const c = client(addresses);
  // The handshake (ApiVersions) gets no answer within the connect timeout.
  await expect(
    c.request(2, ApiKey.ApiVersions, API_VERSIONS, { maxVersion: 3, timeoutMs: 500 }),
  ).rejects.toMatchObject({
    code: 'REQUEST_TIMED_OUT',
  });
  // The node moves to a real broker: a new connection, and it works.
  addresses.set(2, { host: '127.0.0.1', port: ctx.broker.kafkaPort });
  const r = await c.request(2, ApiKey.ApiVersions, API_VERSIONS, { maxVersion: 3, timeoutMs: 5000 });
  expect(r.response.apiKeys.length).toBeGreaterThan(10);
  await silent.close();

  // A node that closes the connection while requests wait: they fail retriably.
  const closing = await silentServer();
  addresses.set(3, { host: '127.0.0.1', port: closing.port });
  const pending = c.request(3, ApiKey.ApiVersions, API_VERSIONS, { maxVersion: 3, timeoutMs: 10_000 });
  while (closing.sockets.length === 0) await new Promise((res) => setTimeout(res, 10));
  for (const s of closing.sockets) s.destroy();
  await expect(pending).rejects.toMatchObject({ code: 'NETWORK_EXCEPTION' });
  await closing.close();
  // Unknown node: retriable at once.
  await expect(
    c.request(4, ApiKey.ApiVersions, API_VERSIONS, { maxVersion: 3, timeoutMs: 1000 }),
  ).rejects.toMatchObject({
    code: 'NETWORK_EXCEPTION',
  });
  await c.close();
});

test('requests in flight to one node are bounded', async () => {
  const c = client(new Map([[1, { host: '127.0.0.1', port: ctx.broker.kafkaPort }]]), 2);
  await c.request(1, ApiKey.ApiVersions, API_VERSIONS, { maxVersion: 3, timeoutMs: 5000 });
  // Fetch requests that wait (max wait 1 s) hold their slots.
  const fetch = { ...defaultFetchRequest(), maxWaitMs: 1000, minBytes: 1_000_000, maxBytes: 1024 };
  const a = c.request(1, ApiKey.Fetch, fetch, { maxVersion: 11, timeoutMs: 5000 });
  const b = c.request(1, ApiKey.Fetch, fetch, { maxVersion: 11, timeoutMs: 5000 });
  await expect(c.request(1, ApiKey.Fetch, fetch, { maxVersion: 11, timeoutMs: 5000 })).rejects.toMatchObject({
    code: 'NETWORK_EXCEPTION',
  });
  await Promise.all([a, b]);
  await c.close();
});
