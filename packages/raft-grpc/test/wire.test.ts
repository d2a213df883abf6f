// The generated service definition carries batches over a real grpc-js stream on loopback.
import { Server, ServerCredentials, credentials } from '@grpc/grpc-js';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { Batch, RaftTransportClient, RaftTransportService } from '../src/index.js';
import type { RaftTransportServer, BatchAck } from '../src/index.js';

describe('RaftTransport wire types', () => {
  it('round-trip a batch through protobuf encoding', () => {
    const batch: Batch = {
      fromNode: 1,
      toNode: 2,
      messages: [
        {
          groupId: 7,
          message: {
            type: 3,
            to: 2,
            from: 1,
            term: 5,
            logTerm: 4,
            index: 100,
            entries: [{ term: 5, index: 101, type: 0, data: Buffer.from('hello') }],
            commit: 99,
            snapshot: undefined,
            reject: false,
            rejectHint: 0,
            context: Buffer.alloc(0),
          },
        },
      ],
      heartbeats: [{ groupId: 8, term: 2, commit: 10, context: Buffer.alloc(0), response: false, index: 0 }],
    };
    const bytes = Batch.encode(batch).finish();
    const decoded = Batch.decode(bytes);
    expect(decoded.messages[0]?.message?.entries[0]?.data.toString()).toBe('hello');
    expect(decoded.messages[0]?.message?.index).toBe(100);
    expect(decoded.heartbeats).toEqual(batch.heartbeats);
  });

  it('stream batches between a grpc-js client and server and acknowledge them', async () => {
    const received: Batch[] = [];
    const impl: RaftTransportServer = {
      stream(call: ServerDuplexStream<Batch, BatchAck>) {
        call.on('data', (b: Batch) => {
          received.push(b);
          call.write({ received: received.length });
        });
        call.on('end', () => call.end());
      },
      installSnapshot(_call, callback) {
        callback(null, { accepted: false, error: 'not in this test' });
      },
      propose(_call, callback) {
        callback(null, {
          index: 0,
          term: 0,
          errorCode: 'Unsupported',
          errorMessage: 'not in this test',
          leaderId: 0,
        });
      },
      identify(_call, callback) {
        callback(null, { nodeId: 0, clusterId: '', askerRegistered: false, metadataApplied: 0 });
      },
      join(_call, callback) {
        callback(null, {
          errorCode: 'INVALID_REQUEST',
          errorMessage: 'not in this test',
          clusterId: '',
          members: [],
        });
      },
    };
    const server = new Server();
    server.addService(RaftTransportService, impl);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const client = new RaftTransportClient(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const call = client.stream();
      const acks: number[] = [];
      const done = new Promise<void>((resolve, reject) => {
        call.on('data', (ack: BatchAck) => {
          acks.push(ack.received);
          if (acks.length === 3) resolve();
        });
        call.on('error', reject);
      });
      for (let i = 0; i < 3; i++)
        call.write({
          fromNode: 1,
          toNode: 2,
          messages: [],
          heartbeats: [
            { groupId: i, term: 1, commit: i, context: Buffer.alloc(0), response: false, index: 0 },
          ],
        });
      await done;
      call.end();
      expect(acks).toEqual([1, 2, 3]);
      expect(received.map((b) => b.heartbeats[0]?.groupId)).toEqual([0, 1, 2]);
    } finally {
      client.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    }
  });
});
