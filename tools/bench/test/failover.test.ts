// The admin API reader of the failover scenario against a local HTTP server (real sockets).
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminPartitions } from '../src/index.js';

function serve(handler: http.RequestListener): Promise<{ port: number; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const srv = http.createServer(handler);
    srv.listen(0, '127.0.0.1', () => {
      resolve({ port: (srv.address() as AddressInfo).port, close: () => new Promise((r) => srv.close(() => r())) });
    });
  });
}

describe('adminPartitions', () => {
  it('reads GET /v1/partitions', async () => {
    const body = [{ topic: 't', partition: 0, role: 'leader', leader: 2, leaderEpoch: 3, highWatermark: 10, logEndOffset: 10, logStartOffset: 0, replicas: [1, 2, 3], isr: [2, 3] }];
    let path = '';
    const s = await serve((req, res) => {
      path = req.url ?? '';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    try {
      const got = await adminPartitions(s.port);
      expect(path).toBe('/v1/partitions');
      expect(got).toEqual(body);
    } finally {
      await s.close();
    }
  });

  it('rejects an HTTP error, bad JSON and a closed port', async () => {
    const s = await serve((req, res) => {
      if (req.url === '/v1/partitions') {
        res.writeHead(503);
        res.end('{}');
      }
    });
    await expect(adminPartitions(s.port)).rejects.toMatchObject({ code: 'BrokerError' });
    await s.close();
    const bad = await serve((_req, res) => res.end('not json'));
    await expect(adminPartitions(bad.port)).rejects.toMatchObject({ code: 'BrokerError' });
    await bad.close();
    await expect(adminPartitions(bad.port)).rejects.toMatchObject({ code: 'ConnectionFailed' });
  });

  it('times out when the node does not answer', async () => {
    const s = await serve(() => undefined); // never answers
    try {
      await expect(adminPartitions(s.port, 200)).rejects.toMatchObject({ code: 'Timeout' });
    } finally {
      await s.close();
    }
  });
});
