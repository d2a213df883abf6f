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
export { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, frameChunks } from './codec/framing.js';
export { ZERO_UUID } from './codec/helpers.js';

// Headers, registry entry points and whole frames.
export type { DecodedRequest, KnownApiKey, RequestIds } from './codec/api.js';
export {
  apiInfo,
  decodeRequest,
  decodeRequestFrame,
  decodeResponse,
  decodeResponseFrame,
  encodeRequest,
  encodeRequestFrame,
  encodeResponse,
  encodeResponseFrame,
  isSupportedVersion,
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
// ApiRequestByKey, ApiResponseByKey). src/generated/index.ts lists every name explicitly.
export * from './generated/index.js';

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
