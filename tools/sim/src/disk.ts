// A node's disk as its process sees it: the MemFileSystem (which keeps what was synced and tears
// the rest at a crash), with every fsync completing after a drawn latency on the event queue — a
// disk completion, ordered with the timers and deliveries like any other event. Reads and writes
// stay synchronous (the page cache); only durability takes time. A slow disk is where group
// commit, the held-back commit index and the acks=1 persist waiters meet their interesting orders.
import type { FileSystem, OpenFlags, WalFile } from '@chronik/env';
import type { MemFileSystem } from '@chronik/wal';
import type { EventQueue, Owner } from './event-queue.js';
import type { Prng } from './prng.js';

/** Latency of one fsync (ms, inclusive range). */
export type FsyncLatency = readonly [number, number];

/** `disk` as node `owner` sees it: fsyncs complete `latency` later (dropped if the node dies first). */
export function slowSyncs(
  disk: MemFileSystem,
  queue: EventQueue,
  owner: Owner,
  rng: Prng,
  latency: FsyncLatency,
): FileSystem {
  if (latency[1] <= 0) return disk;
  const later = <T>(label: string, op: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.schedule(owner, rng.between(latency[0], latency[1]), label, () => op().then(resolve, reject));
    });
  const wrap = (file: WalFile): WalFile =>
    new Proxy(file, {
      get(target, key, receiver) {
        if (key === 'datasync') return () => later('fsync', () => target.datasync());
        if (key === 'sync') return () => later('fsync', () => target.sync());
        const v: unknown = Reflect.get(target, key, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  return new Proxy(disk, {
    get(target, key, receiver) {
      if (key === 'open')
        return (p: string, flags: OpenFlags): Promise<WalFile> => target.open(p, flags).then(wrap);
      if (key === 'fsyncDir') return (dir: string) => later('fsync-dir', () => target.fsyncDir(dir));
      const v: unknown = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as FileSystem;
}
