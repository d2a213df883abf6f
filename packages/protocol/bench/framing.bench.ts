// Benchmark (not a test): `pnpm --filter @chronik/protocol bench` runs it after records.bench.
//
// Feeds a byte stream of length-prefixed frames, cut into socket-sized chunks, through FrameDecoder
// and reports MB/s of stream bytes, in push mode (`push`) and in pull mode (`write`, then `peekSize`
// + `next` per frame, as the server's connection does). Shapes: ~1 MB Produce-sized frames in 64 KiB
// chunks (frames span chunks: one copy each), 1 KiB and 100 B frames in 64 KiB chunks (views), and
// mixed frame sizes in uneven chunks.
// It imports the built package (`@chronik/protocol` resolves to dist/ by self-reference).
import { performance } from 'node:perf_hooks';
import { FrameDecoder, frameChunks } from '@chronik/protocol';

const MIN_TIME_MS = Number(process.env['BENCH_MIN_MS'] ?? 1500);

function streamOf(payloadSizes: number[]): Buffer {
  return Buffer.concat(payloadSizes.flatMap((n) => frameChunks([Buffer.alloc(n, 7)])));
}

/** Cuts `stream` into chunks of the given sizes (cycled), each a copy in its own memory like a socket read. */
function chunksOf(stream: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0, i = 0; off < stream.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, stream.length - off);
    out.push(Buffer.from(stream.subarray(off, off + n)));
    off += n;
  }
  return out;
}

const shapes: [string, Buffer[]][] = [
  ['~1 MB frames, 64 KiB chunks', chunksOf(streamOf(Array(16).fill(1_000_000)), [65536])],
  ['1 KiB frames, 64 KiB chunks', chunksOf(streamOf(Array(8192).fill(1024)), [65536])],
  ['100 B frames, 64 KiB chunks', chunksOf(streamOf(Array(32768).fill(100)), [65536])],
  [
    'mixed frames (0..20 KB), uneven chunks (1 B..64 KiB)',
    chunksOf(
      streamOf(Array.from({ length: 2000 }, (_, i) => (i * 7919) % 20_000)),
      Array.from({ length: 97 }, (_, i) => 1 + ((i * 104_729) % 65_536)),
    ),
  ],
];

type Feed = (chunk: Buffer) => number;
const modes: [string, () => Feed][] = [
  [
    'push',
    () => {
      const d = new FrameDecoder();
      return (chunk) => d.push(chunk).length;
    },
  ],
  [
    'pull',
    () => {
      const d = new FrameDecoder();
      return (chunk) => {
        d.write(chunk);
        let frames = 0;
        while (d.peekSize() !== undefined && d.next() !== undefined) frames++;
        return frames;
      };
    },
  ],
];

let sink = 0;
for (const [shape, chunks] of shapes) {
  const bytes = chunks.reduce((n, c) => n + c.length, 0);
  process.stdout.write(`\n${shape}: ${bytes} bytes in ${chunks.length} chunks\n`);
  for (const [mode, make] of modes) {
    const feed = make();
    for (const c of chunks) sink += feed(c); // warm-up
    let rounds = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < MIN_TIME_MS) {
      for (const c of chunks) sink += feed(c);
      rounds++;
      elapsed = performance.now() - start;
    }
    const mbPerSecond = (bytes * rounds) / (elapsed / 1000) / 1e6;
    process.stdout.write(`  ${mode.padEnd(6)} ${mbPerSecond.toFixed(0).padStart(8)} MB/s\n`);
  }
}
if (sink < 0) process.stdout.write('unreachable\n');
