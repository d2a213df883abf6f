// Test helper: a loopback "broker" that speaks just enough of the Kafka protocol, by hand-written bytes
// (independent of the generated codec), for kcat to consume given record batches from one partition:
// ApiVersions v0..v3, Metadata v0 and Fetch v4..v11 (an absolute start offset needs no ListOffsets).
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

const ADVERTISED: Array<[number, number, number]> = [
  [0, 0, 7], // Produce
  [1, 4, 11], // Fetch v4..v11, answered here (librdkafka needs Fetch v4 for magic 2, v10 for zstd)
  [2, 0, 5], // ListOffsets (not expected: consumers here start at an absolute offset)
  [3, 0, 0], // Metadata v0
  [10, 0, 3], // FindCoordinator
  [18, 0, 3], // ApiVersions
];

const int8 = (v: number): Buffer => Buffer.from([v & 0xff]);
function int16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(v);
  return b;
}
function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
}
function int64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
}
function str(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([int16(b.length), b]);
}

export interface FakeBroker {
  port: number;
  /** Requests seen, as [apiKey, version]. */
  requests: Array<[number, number]>;
  close(): Promise<void>;
}

/** Serves `records` (whole batches, offsets 0..highWatermark-1) as partition 0 of `topic`. */
export async function startFakeBroker(
  topic: string,
  records: Buffer,
  highWatermark: bigint,
): Promise<FakeBroker> {
  const sockets = new Set<Socket>();
  const requests: Array<[number, number]> = [];
  let port = 0;
  const respond = (socket: Socket, correlationId: number, body: Buffer): void => {
    socket.write(Buffer.concat([int32(4 + body.length), int32(correlationId), body]));
  };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const request = pending.subarray(4, 4 + pending.readInt32BE(0));
        pending = pending.subarray(4 + request.length);
        const apiKey = request.readInt16BE(0);
        const version = request.readInt16BE(2);
        const correlationId = request.readInt32BE(4);
        requests.push([apiKey, version]);
        if (apiKey === 18) {
          if (version >= 3) {
            const keys = ADVERTISED.map(([k, min, max]) =>
              Buffer.concat([int16(k), int16(min), int16(max), int8(0)]),
            );
            respond(
              socket,
              correlationId,
              Buffer.concat([int16(0), int8(ADVERTISED.length + 1), ...keys, int32(0), int8(0)]),
            );
          } else {
            const keys = ADVERTISED.map(([k, min, max]) => Buffer.concat([int16(k), int16(min), int16(max)]));
            respond(
              socket,
              correlationId,
              Buffer.concat([
                int16(0),
                int32(ADVERTISED.length),
                ...keys,
                ...(version >= 1 ? [int32(0)] : []),
              ]),
            );
          }
        } else if (apiKey === 3) {
          const partition = Buffer.concat([
            int16(0),
            int32(0),
            int32(1),
            int32(1),
            int32(1),
            int32(1),
            int32(1),
          ]);
          respond(
            socket,
            correlationId,
            Buffer.concat([
              int32(1),
              int32(1),
              str('127.0.0.1'),
              int32(port),
              int32(1),
              int16(0),
              str(topic),
              int32(1),
              partition,
            ]),
          );
        } else if (apiKey === 1 && version >= 4 && version <= 11) {
          // header v1: api key, version, correlation id, client id
          let pos = 10 + Math.max(request.readInt16BE(8), 0);
          pos += 4 + 4 + 4 + 4 + 1 + (version >= 7 ? 8 : 0); // replica, max wait, min/max bytes, isolation, [session]
          pos += 4; // topics count (1)
          pos += 2 + request.readInt16BE(pos); // topic name
          pos += 4 + 4 + (version >= 9 ? 4 : 0); // partitions count, partition, [current leader epoch]
          const fetchOffset = request.readBigInt64BE(pos);
          const data = fetchOffset < highWatermark ? records : Buffer.alloc(0);
          const partitionResponse = Buffer.concat([
            int32(0), // partition
            int16(0), // error
            int64(highWatermark),
            int64(highWatermark), // last stable offset
            ...(version >= 5 ? [int64(0n)] : []), // log start offset
            int32(-1), // aborted transactions: null
            ...(version >= 11 ? [int32(-1)] : []), // preferred read replica
            int32(data.length),
            data,
          ]);
          const top = version >= 7 ? [int32(0), int16(0), int32(0)] : [int32(0)]; // throttle, [error, session id]
          const body = Buffer.concat([...top, int32(1), str(topic), int32(1), partitionResponse]);
          // at the end of the log, answer after a short wait as a broker honouring max wait would
          const send = (): void => respond(socket, correlationId, body);
          if (data.length === 0) setTimeout(send, 50);
          else send();
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  return {
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
