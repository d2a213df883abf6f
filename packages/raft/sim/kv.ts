/**
 * The replicated key-value state machine the simulation runs on every node: registers with put,
 * get and compare-and-set. Commands are JSON in the entry data; the snapshot is the sorted map.
 * Deterministic: the same committed entries give the same state and the same answers.
 */
import type { KvInput, KvOutput } from './linearizability.js';

/** A write as it travels in a log entry: who asked (for the answer) and what to do. */
export interface KvCommand {
  /** Client id. */
  readonly c: number;
  /** Operation id in the history (unique per run). */
  readonly o: number;
  readonly op: KvInput;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(cmd: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(cmd));
}

export function decodeCommand(data: Uint8Array): KvCommand {
  const v = JSON.parse(decoder.decode(data)) as KvCommand;
  if (
    typeof v !== 'object' ||
    v === null ||
    typeof v.c !== 'number' ||
    typeof v.o !== 'number' ||
    typeof v.op !== 'object'
  ) {
    throw new TypeError('kv: malformed command');
  }
  return v;
}

export class KvStateMachine {
  private readonly data = new Map<string, string>();
  /** The index of the last entry applied (or of the snapshot restored). */
  appliedIndex = 0;

  /** Apply a command at `index` (must be appliedIndex + 1, or later when entries carry no command). */
  apply(index: number, cmd: KvCommand): KvOutput {
    this.appliedIndex = index;
    return this.execute(cmd.op);
  }

  /** Record that an entry without a command (a no-op or conf change) was applied. */
  skip(index: number): void {
    this.appliedIndex = index;
  }

  read(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  get size(): number {
    return this.data.size;
  }

  snapshot(): Uint8Array {
    const entries = [...this.data.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return encoder.encode(JSON.stringify(entries));
  }

  restore(index: number, image: Uint8Array): void {
    this.data.clear();
    if (image.byteLength > 0) {
      const entries = JSON.parse(decoder.decode(image)) as [string, string][];
      for (const [k, v] of entries) this.data.set(k, v);
    }
    this.appliedIndex = index;
  }

  private execute(op: KvInput): KvOutput {
    switch (op.kind) {
      case 'put':
        this.data.set(op.key, op.value);
        return null;
      case 'get':
        return { value: this.read(op.key) };
      case 'cas': {
        const swapped = this.read(op.key) === op.expected;
        if (swapped) this.data.set(op.key, op.value);
        return { swapped };
      }
    }
  }
}
