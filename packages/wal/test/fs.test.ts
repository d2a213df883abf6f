import * as fs from 'node:fs';
import * as path from 'node:path';
import { Wal, nodeFileSystem } from '../src/index.js';
import { payloadFor, removeTempDirs, tempDir } from './helpers.js';

afterAll(() => removeTempDirs());

/** Chunks of varied sizes (some empty), more of them than one writev(2) takes (IOV_MAX 1024). */
function chunks(count: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) out.push(i % 7 === 3 ? Buffer.alloc(0) : payloadFor(i, 50));
  return out;
}

describe('nodeFileSystem vectored writes', () => {
  test.each([
    ['writev', false],
    ['writevSync', true],
  ])('%s writes every chunk back to back at the position, across IOV_MAX', async (_name, sync) => {
    const file = path.join(tempDir(), 'f');
    const f = await nodeFileSystem.open(file, 'w');
    await f.write(Buffer.from('0123456789'), 0);
    const data = chunks(2500);
    if (sync) f.writevSync!(data, 4);
    else await f.writev!(data, 4);
    await f.close();
    const expected = Buffer.concat([Buffer.from('0123'), ...data]);
    expect(fs.readFileSync(file).equals(expected)).toBe(true);
  });
});

describe.each([
  ['queued writes', false],
  ['inline writes', true],
])('Wal on the node file system with %s', (_name, inlineWrites) => {
  test('an append of thousands of records (views into one buffer) reads back, before and after a reopen', async () => {
    const dir = path.join(tempDir(), 'wal');
    const wal = await Wal.open({ dir, fs: nodeFileSystem, inlineWrites, maxSegmentBytes: 128 << 10 });
    // Payloads are views into one shared buffer, as the server's record batches are views into
    // their request frame: the Wal writes them from that memory.
    const big = Buffer.concat(Array.from({ length: 3000 }, (_, i) => payloadFor(i + 1, 200)));
    const records = [];
    let off = 0;
    for (let i = 0; i < 3000; i++) {
      const n = payloadFor(i + 1, 200).length;
      records.push({ payload: big.subarray(off, off + n) });
      off += n;
    }
    await wal.append(records.slice(0, 1));
    await wal.append(records.slice(1));
    expect(wal.segmentCount()).toBeGreaterThan(1);
    await wal.sync();
    const check = (w: Wal): void => {
      const got = w.readSync(1, 3001, 1 << 30);
      expect(got.length).toBe(3000);
      got.forEach((r, i) => expect(r.payload.equals(payloadFor(i + 1, 200))).toBe(true));
    };
    check(wal);
    await wal.close();
    const again = await Wal.open({ dir, fs: nodeFileSystem, inlineWrites });
    check(again);
    await again.close();
  });
});

describe('nodeFileSystem.removeTree', () => {
  test('removes a directory tree; a missing path is no error', async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'a', 'b', 'f'), 'x');
    await nodeFileSystem.removeTree(path.join(dir, 'a'));
    await nodeFileSystem.removeTree(path.join(dir, 'missing'));
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
