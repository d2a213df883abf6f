// Public entry point of @chronik/protocol: every public name is re-exported here explicitly.

// Typed errors and the Kafka error code table.
export type { ProtocolErrorCode } from './errors/protocol-error.js';
export { ProtocolError, ProtocolErrorCodes, isProtocolError } from './errors/protocol-error.js';
export type { ErrorCodeName, ErrorCodeNumber, KafkaErrorInfo } from './errors/kafka-errors.js';
export { ErrorCode, KAFKA_ERRORS, kafkaErrorInfo } from './errors/kafka-errors.js';

// Codec runtime: reader, writer, framing.
export type { TaggedField } from './codec/reader.js';
export { Reader } from './codec/reader.js';
export { Writer } from './codec/writer.js';
export type { FrameDecoderOptions } from './codec/framing.js';
export { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, MAX_HELD_CHUNKS, frameChunks } from './codec/framing.js';
export { ZERO_UUID } from './codec/helpers.js';

// Headers, registry entry points and whole frames.
export type { DecodedRequest, KnownApiKey, RequestIds } from './codec/api.js';
export {
  apiInfo,
  decodeRequest,
  decodeRequestFrame,
  decodeResponse,
  decodeResponseFrame,
  defaultResponse,
  encodeRequest,
  encodeRequestFrame,
  encodeResponse,
  encodeResponseFrame,
  isSupportedVersion,
  peekClientId,
  peekRequestIds,
  readRequestHeader,
  readResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  supportedApiVersions,
  writeRequestHeader,
  writeResponseHeader,
} from './codec/api.js';

// Generated from Apache Kafka's message schemas: one request and one response type per API with
// decodeX/encodeX/defaultX, header and data structs, and the API registry (ApiKey, API_SCHEMAS,
// ApiRequestByKey, ApiResponseByKey, DEFAULT_RESPONSE_BY_KEY). src/generated/index.ts lists every name explicitly.
export * from './generated/index.js';

// --- records (owned by the record-batch work) ---
// Varints (compact lengths, tagged fields, records).
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
// Record batches (magic 2): header, CRC, broker-side rewrite, records, builder, control batches.
export type { RecordsErrorCode } from './records/errors.js';
export { RecordsError, RecordsErrorCodes, isRecordsError } from './records/errors.js';
export type {
  BatchAssignment,
  RecordBatchHeader,
  RecordBatchSlice,
  SplitBatchesOptions,
  ValidateBatchOptions,
} from './records/batch.js';
export {
  BatchAttribute,
  BatchField,
  CompressionType,
  DEFAULT_MAX_BATCHES,
  DEFAULT_MAX_RECORD_COUNT,
  LOG_OVERHEAD_BYTES,
  MIN_BATCH_LENGTH,
  MIN_RECORD_BYTES,
  RECORD_BATCH_CRC_START,
  RECORD_BATCH_HEADER_BYTES,
  RECORD_BATCH_MAGIC,
  TimestampType,
  assignRecordBatch,
  computeRecordBatchCrc,
  readRecordBatchHeader,
  recordBatchCompression,
  recordBatchCrcMatches,
  recordBatchLastOffset,
  recordBatchesRecordCount,
  setRecordBatchBaseOffset,
  setRecordBatchMaxTimestamp,
  setRecordBatchPartitionLeaderEpoch,
  splitRecordBatches,
  validateRecordBatch,
} from './records/batch.js';
export type { DecodeRecordsOptions, RecordEntry, RecordEntryInput, RecordHeader } from './records/record.js';
export {
  DEFAULT_MAX_HEADERS_PER_RECORD,
  decodeRecordEntries,
  sizeOfRecordEntry,
  writeRecordEntry,
} from './records/record.js';
export type {
  BuildRecordBatchOptions,
  DecodeRecordBatchOptions,
  DecodedRecord,
  DecodedRecordBatch,
  RecordInput,
} from './records/builder.js';
export { buildRecordBatch, decodeRecordBatch } from './records/builder.js';
export type { BuildControlBatchOptions, ControlRecordKey, EndTxnMarker } from './records/control.js';
export {
  ControlRecordType,
  buildControlBatch,
  decodeControlRecordKey,
  decodeEndTxnMarker,
  encodeControlRecordKey,
  encodeEndTxnMarker,
} from './records/control.js';
export type { LegacyMessage } from './records/legacy.js';
export { DEFAULT_MAX_LEGACY_MESSAGES, decodeLegacyMessageSet, isLegacyMessageSet } from './records/legacy.js';
// Compression codecs, bounded on decompression.
export type { CompressOptions, DecompressOptions } from './records/compression.js';
export {
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  XERIAL_BLOCK_BYTES,
  compressRecords,
  compressionName,
  decompressRecords,
} from './records/compression.js';
// --- end records ---
