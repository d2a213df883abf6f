// Public entry point of @chronik/wal: every public name is re-exported here explicitly.
export { WalError, WalErrorCode, isWalError } from './errors.js';
export type { WalErrorDetails } from './errors.js';
// The environment seam is @chronik/env's; re-exported here under the names this package always had.
export { nodeFileSystem, silentLogger, systemClock } from '@chronik/env';
export type { Clock, FileSystem, Logger, OpenFlags, TimerHandle, Timers, WalFile } from '@chronik/env';
export { systemTimers } from './committer.js';
export { MemFileSystem } from './memfs.js';
export type { MemFsFaultCode, MemFsFaultOp } from './memfs.js';
export { FilePool } from './file-pool.js';
export type { FilePoolOptions, FilePoolStats } from './file-pool.js';
export { GroupCommitter, WalStats } from './committer.js';
export type { Flushable, GroupCommitterOptions, SyncPolicy, WalObserver } from './committer.js';
export { Wal, defaultMaxRecordBytes } from './wal.js';
export type { RecoverySummary, WalOptions, WalRecord, WalRecordInput } from './wal.js';
// For files kept beside a Wal (a Raft state file, snapshots): the checksum and integer encoding of
// the log's own formats.
export { crc as crc32c, readU64, writeU64 } from './internal/format.js';
