import type { Logger } from '@chronik/env';
import { MetadataError } from '../errors.js';
import type { MetadataChange } from '../types.js';

/** What a change-feed reader receives. */
export type FeedEvent =
  | {
      readonly type: 'changes';
      readonly changes: readonly MetadataChange[];
      /** The answer holds every change of entries up to and including this index. */
      readonly upToIndex: number;
    }
  | {
      /** Changes the reader needs are gone (or the state was restored): rebuild from the current state. */
      readonly type: 'resync';
      readonly appliedIndex: number;
    };

export type FeedListener = (event: FeedEvent) => void;

/**
 * Bounded change log. Invariant: every change of an entry with index > `completeAfter` is
 * retained, in index order, in `buffer[head..]`.
 */
export class ChangeFeed {
  private buffer: MetadataChange[] = [];
  private head = 0;
  private completeAfter = 0;
  private readonly listeners = new Set<FeedListener>();

  constructor(
    private readonly maxRetained: number,
    private readonly maxSubscribers: number,
    private readonly logger: Pick<Logger, 'error'>,
  ) {
    if (!Number.isInteger(maxRetained) || maxRetained < 1)
      throw new RangeError('maxRetainedChanges must be a positive integer');
  }

  publish(index: number, changes: readonly MetadataChange[]): void {
    if (changes.length === 0) return;
    Object.freeze(changes);
    for (const change of changes) Object.freeze(change);
    for (const change of changes) this.buffer.push(change);
    while (this.buffer.length - this.head > this.maxRetained) {
      const dropped = this.buffer[this.head] as MetadataChange;
      this.completeAfter = Math.max(this.completeAfter, dropped.index);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.buffer.length) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
    this.notify({ type: 'changes', changes, upToIndex: index });
  }

  reset(appliedIndex: number): void {
    this.buffer = [];
    this.head = 0;
    this.completeAfter = appliedIndex;
    this.notify({ type: 'resync', appliedIndex });
  }

  since(afterIndex: number, appliedIndex: number, maxChanges?: number): FeedEvent {
    if (afterIndex < this.completeAfter) return { type: 'resync', appliedIndex };
    // Binary search for the first change with index > afterIndex.
    let lo = this.head;
    let hi = this.buffer.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.buffer[mid] as MetadataChange).index <= afterIndex) lo = mid + 1;
      else hi = mid;
    }
    let end = this.buffer.length;
    let upToIndex = Math.max(appliedIndex, afterIndex);
    if (maxChanges !== undefined && end - lo > maxChanges) {
      // Page at an entry boundary, but always include at least one whole entry.
      end = lo + Math.max(1, maxChanges);
      const lastIndex = (this.buffer[end - 1] as MetadataChange).index;
      while (end < this.buffer.length && (this.buffer[end] as MetadataChange).index === lastIndex) end++;
      upToIndex = lastIndex;
    }
    return { type: 'changes', changes: this.buffer.slice(lo, end), upToIndex };
  }

  subscribe(afterIndex: number, appliedIndex: number, listener: FeedListener): () => void {
    if (this.listeners.size >= this.maxSubscribers) {
      throw new MetadataError('POLICY_VIOLATION', `At most ${this.maxSubscribers} change-feed subscribers`);
    }
    this.listeners.add(listener);
    const backlog = this.since(afterIndex, appliedIndex);
    if (backlog.type === 'resync' || backlog.changes.length > 0) this.call(listener, backlog);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private notify(event: FeedEvent): void {
    for (const listener of [...this.listeners]) this.call(listener, event);
  }

  private call(listener: FeedListener, event: FeedEvent): void {
    try {
      listener(event);
    } catch (cause) {
      this.logger.error('metadata change-feed listener threw', { error: String(cause) });
    }
  }
}
