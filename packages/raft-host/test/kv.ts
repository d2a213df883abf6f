// A tiny replicated key-value state machine for the host's tests.
import type { Entry, SnapshotMetadata } from '@chronik/raft';
import type { StateMachine } from '../src/index.js';

export class KvStateMachine implements StateMachine {
  data = new Map<string, string>();
  /** Every applied normal entry's payload, in order (empty ones skipped). */
  log: string[] = [];
  restores = 0;

  apply(entry: Entry): unknown {
    if (entry.data.length === 0) return undefined;
    const text = Buffer.from(entry.data).toString();
    const eq = text.indexOf('=');
    if (eq < 0) throw new Error(`bad command ${text}`);
    this.data.set(text.slice(0, eq), text.slice(eq + 1));
    this.log.push(text);
    return this.log.length;
  }

  snapshot(): Uint8Array {
    return Buffer.from(JSON.stringify({ data: [...this.data], log: this.log }));
  }

  restore(bytes: Uint8Array, _metadata: SnapshotMetadata): void {
    this.restores++;
    if (bytes.length === 0) {
      this.data = new Map();
      this.log = [];
      return;
    }
    const o = JSON.parse(Buffer.from(bytes).toString()) as { data: [string, string][]; log: string[] };
    this.data = new Map(o.data);
    this.log = o.log;
  }
}
