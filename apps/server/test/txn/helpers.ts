// Shared helpers of the transaction coordinator tests: a coordinator on a fake clock, an in-memory
// log, a scripted MarkerWriter and a producer-id counter.
import { InMemoryTxnLog, TransactionCoordinator } from '../../src/txn/index.js';
import type { MarkerWriter, TxnCoordinatorConfig, TxnMarker } from '../../src/txn/index.js';
import { tpKey } from '../../src/txn/index.js';
import { ManualScheduler } from '@chronik/env';
import type { TopicPartition } from '../../src/partition/types.js';

export interface MarkerCall {
  marker: TxnMarker;
  partitions: string[];
}

/**
 * A MarkerWriter that records every call and answers from a script: `answer(tp)` decides each
 * partition's code (default NONE); `hold()` makes calls wait for `release()`.
 */
export class FakeMarkerWriter implements MarkerWriter {
  readonly calls: MarkerCall[] = [];
  answer: (tp: TopicPartition, call: number) => string = () => 'NONE';
  /** Makes the next write reject (the writer itself failed). */
  throwNext = false;
  private held: Array<() => void> | undefined;

  write(marker: TxnMarker, partitions: readonly TopicPartition[]): Promise<Map<string, string>> {
    const call = this.calls.length;
    this.calls.push({ marker, partitions: partitions.map(tpKey) });
    if (this.throwNext) {
      this.throwNext = false;
      return Promise.reject(new Error('writer failed'));
    }
    const result = (): Map<string, string> =>
      new Map(partitions.map((tp) => [tpKey(tp), this.answer(tp, call)]));
    if (this.held !== undefined) {
      const held = this.held;
      return new Promise((resolve) => held.push(() => resolve(result())));
    }
    return Promise.resolve(result());
  }

  hold(): void {
    this.held ??= [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const r of held) r();
  }
}

export interface Harness {
  coordinator: TransactionCoordinator;
  clock: ManualScheduler;
  log: InMemoryTxnLog;
  markers: FakeMarkerWriter;
  gone: Set<string>;
}

const created: TransactionCoordinator[] = [];

/** Invariant violations of every coordinator created since the last call (for afterEach). */
export function takeViolations(): string[] {
  const v = created.flatMap((c) => c.invariantViolations());
  for (const c of created) c.close();
  created.length = 0;
  return v;
}

/** A coordinator with every partition loaded at `coordinatorEpoch`; producer ids 1000, 1001, ... */
export async function harness(
  config: Partial<TxnCoordinatorConfig> = {},
  opts: {
    log?: InMemoryTxnLog;
    clock?: ManualScheduler;
    markers?: FakeMarkerWriter;
    coordinatorEpoch?: number;
    nextProducerId?: { n: bigint };
    load?: boolean;
  } = {},
): Promise<Harness> {
  const log = opts.log ?? new InMemoryTxnLog();
  const clock = opts.clock ?? new ManualScheduler();
  const markers = opts.markers ?? new FakeMarkerWriter();
  const next = opts.nextProducerId ?? { n: 1000n };
  const gone = new Set<string>();
  const coordinator = new TransactionCoordinator({
    log,
    clock,
    scheduler: clock,
    markers,
    newProducerId: () => Promise.resolve(next.n++),
    partitionGone: (tp) => gone.has(tpKey(tp)),
    // Requests are not held for completing transactions unless a test asks (the manual clock).
    config: { numPartitions: 4, completionHoldMs: 0, ...config },
  });
  created.push(coordinator);
  if (opts.load !== false)
    for (let p = 0; p < coordinator.config.numPartitions; p++)
      await coordinator.loadPartition(p, opts.coordinatorEpoch ?? 1);
  return { coordinator, clock, log, markers, gone };
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}

export const tp = (topic: string, partition: number): TopicPartition => ({ topic, partition });
