// Public entry point of @chronik/protocol: every public name is re-exported here explicitly.
export const PACKAGE_STATUS = 'scaffold' as const;

// --- records (owned by the record-batch work) ---
export type { VarintCursor } from './varint.js';
export {
  MAX_VARINT_BYTES,
  MAX_VARLONG_BYTES,
  MAX_VARLONG_NUMBER,
  readUnsignedVarint,
  readVarint,
  readUnsignedVarlong,
  readVarlong,
  readVarlongAsNumber,
  sizeOfUnsignedVarint,
  sizeOfVarint,
  sizeOfUnsignedVarlong,
  sizeOfVarlong,
  sizeOfVarlongNumber,
  writeUnsignedVarint,
  writeVarint,
  writeUnsignedVarlong,
  writeVarlong,
  writeVarlongNumber,
} from './varint.js';
export type { RecordsErrorCode } from './records/errors.js';
export { RecordsError, RecordsErrorCodes, isRecordsError } from './records/errors.js';
// --- end records ---
