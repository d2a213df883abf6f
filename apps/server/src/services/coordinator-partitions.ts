// A coordinator's share of its internal topic (`__consumer_offsets` for the group coordinator,
// `__transaction_state` for the transaction coordinator): the partitions this node leads, loaded
// when the partition manager reports one led here (with its view complete) and unloaded when
// leadership moves away. A load that fails leaves only that partition's keys without a coordinator
// (logged) — never the broker down — and is retried after `retryFailedLoadMs` while the partition
// is still led here.
import type { Scheduler, TimerHandle } from '@chronik/env';
import type { Logger } from '../logger.js';
import type { LeadershipListener } from './partition-manager.js';

export interface CoordinatorPartitionsOptions {
  partitions: { onLeadership(listener: LeadershipListener): () => void };
  topic: string;
  /** Partitions at and beyond this are not coordinated. */
  numPartitions: number;
  load(partition: number): Promise<void>;
  unload(partition: number): void;
  scheduler: Scheduler;
  logger: Logger;
  retryFailedLoadMs: number;
  /** What a partition that cannot be loaded leaves without a coordinator ("groups"). */
  keys: string;
}

export interface CoordinatorPartitions {
  /** Resolves once the partitions led here at the start are loaded (or their first load failed). */
  readonly ready: Promise<void>;
  /** Stops following leadership and cancels the retries. */
  close(): void;
}

export function followCoordinatorPartitions(options: CoordinatorPartitionsOptions): CoordinatorPartitions {
  const leading = new Set<number>();
  const retries = new Map<number, TimerHandle>();
  let closed = false;
  const load = (p: number): Promise<void> =>
    options.load(p).then(
      () => undefined,
      (e: unknown) => {
        if (closed || !leading.has(p)) return;
        options.logger.error(
          { err: e instanceof Error ? e.message : String(e), partition: p },
          `cannot load ${options.topic} partition; its ${options.keys} have no coordinator until it loads`,
        );
        retries.get(p)?.cancel();
        retries.set(
          p,
          options.scheduler.setTimer(options.retryFailedLoadMs, () => {
            retries.delete(p);
            if (!closed && leading.has(p)) void load(p);
          }),
        );
      },
    );
  const initial: Array<Promise<void>> = [];
  let starting = true;
  const off = options.partitions.onLeadership((topic, partition, leader) => {
    if (topic !== options.topic || partition >= options.numPartitions || closed) return;
    if (leader) {
      leading.add(partition);
      const loading = load(partition);
      if (starting) initial.push(loading);
    } else {
      leading.delete(partition);
      retries.get(partition)?.cancel();
      retries.delete(partition);
      options.unload(partition);
    }
  });
  starting = false;
  return {
    ready: Promise.all(initial).then(() => undefined),
    close: () => {
      closed = true;
      off();
      for (const r of retries.values()) r.cancel();
    },
  };
}
