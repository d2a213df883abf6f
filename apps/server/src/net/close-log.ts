// Log lines about connections closed because of what a client sent (malformed frames, undecodable
// requests, frames that never complete), rate-limited per remote address: any client, before it
// authenticates, can send garbage as fast as it can connect, and must not be able to flood the log.
//
// - Per address, the first line of each interval is logged at the level asked for, carrying how
//   many were held back since the previous one; the rest of the interval goes to debug.
// - The map of addresses is bounded: past `maxAddresses`, the one logged longest ago is forgotten
//   (at worst it gets one more line early).
// - Counting every event is the metrics' job (`chronik_malformed_requests_total`,
//   `chronik_closed_connections_total`), not the log's.
import type { Logger } from '../logger.js';

export interface CloseLogOptions {
  /** One line per address per interval at the asked level. Default 60 s. */
  intervalMs: number;
  /** Addresses remembered. Default 4096. */
  maxAddresses: number;
}

export const DEFAULT_CLOSE_LOG_OPTIONS: CloseLogOptions = { intervalMs: 60_000, maxAddresses: 4096 };

export type CloseLogLevel = 'info' | 'warn' | 'error';

export class CloseLog {
  /** Per address: when its last line went out at the asked level, and how many were held back since. Map order = that time. */
  private readonly lastByAddress = new Map<string, { atMs: number; heldBack: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly options: CloseLogOptions = DEFAULT_CLOSE_LOG_OPTIONS,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Addresses currently remembered (for tests). */
  get size(): number {
    return this.lastByAddress.size;
  }

  log(address: string, level: CloseLogLevel, msg: string, fields: Record<string, unknown>): void {
    const now = this.nowMs();
    const last = this.lastByAddress.get(address);
    if (last !== undefined && now - last.atMs < this.options.intervalMs) {
      last.heldBack++;
      this.logger.debug({ ...fields, address }, msg);
      return;
    }
    if (last !== undefined) this.lastByAddress.delete(address);
    else if (this.lastByAddress.size >= this.options.maxAddresses) {
      const oldest = this.lastByAddress.keys().next();
      if (oldest.done !== true) this.lastByAddress.delete(oldest.value);
    }
    this.lastByAddress.set(address, { atMs: now, heldBack: 0 });
    const heldBack = last !== undefined && last.heldBack > 0 ? { heldBackSinceLast: last.heldBack } : {};
    this.logger[level]({ ...fields, address, ...heldBack }, msg);
  }
}
