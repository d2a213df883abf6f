// Waiting for the applied metadata to reach a condition (a created topic's partitions have leaders;
// this node's registration is applied), checked now and after every applied change, bounded by a
// timeout on the injected scheduler. One subscription to the state machine's change feed serves
// every waiter (the feed allows few subscribers), taken while someone waits.
import type { Scheduler } from '@chronik/env';
import type { MetadataStateMachine } from '@chronik/metadata';

export class StateWatch {
  private readonly waiters = new Set<() => void>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly state: MetadataStateMachine,
    private readonly scheduler: Scheduler,
  ) {}

  /** Resolves with what `p` resolves with, or with `onTimeout` once `timeoutMs` passes first. */
  within<T>(p: Promise<T>, timeoutMs: number, onTimeout: T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.scheduler.setTimer(timeoutMs, () => resolve(onTimeout));
      p.then(
        (v) => {
          timer.cancel();
          resolve(v);
        },
        (e: unknown) => {
          timer.cancel();
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  /**
   * Resolves with `check()`'s first defined answer (undefined: keep waiting), or with `onTimeout`
   * once `timeoutMs` passes first.
   */
  until<T>(check: () => T | undefined, timeoutMs: number, onTimeout: T): Promise<T> {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<T>((resolve) => {
      const done = (r: T): void => {
        timer.cancel();
        this.waiters.delete(waiter);
        if (this.waiters.size === 0) {
          this.unsubscribe?.();
          this.unsubscribe = undefined;
        }
        resolve(r);
      };
      const waiter = (): void => {
        const r = check();
        if (r !== undefined) done(r);
      };
      const timer = this.scheduler.setTimer(timeoutMs, () => done(onTimeout));
      this.waiters.add(waiter);
      if (this.unsubscribe === undefined) {
        const off = this.state.subscribe(this.state.appliedIndex, () => {
          for (const w of [...this.waiters]) w();
        });
        // The subscription's first call may have answered every waiter already.
        if (this.waiters.size === 0) off();
        else this.unsubscribe = off;
      }
    });
  }
}
