// The names the server uses from @chronik/protocol, in one place. If the codec lacks something the
// broker needs, the local workaround goes here, marked ADAPTER, and is reported to its owner.
import * as codec from '@chronik/protocol';
import { API_SCHEMAS } from '@chronik/protocol';

export {
  API_SCHEMAS,
  ApiKey,
  ErrorCode,
  ProtocolError,
  Reader,
  RecordsError,
  Writer,
  apiInfo,
  assignRecordBatch,
  decodeRecordBatch,
  buildRecordBatch,
  decodeRequest,
  encodeResponse,
  isProtocolError,
  isRecordsError,
  kafkaErrorInfo,
  peekRequestIds,
  readRecordBatchHeader,
  readRequestHeader,
  recordBatchLastOffset,
  splitRecordBatches,
  supportedApiVersions,
  validateRecordBatch,
  writeResponseHeader,
  LOG_OVERHEAD_BYTES,
  RECORD_BATCH_HEADER_BYTES,
  TimestampType,
} from '@chronik/protocol';
export type {
  ApiRequestByKey,
  ApiResponseByKey,
  ApiSchemaInfo,
  ErrorCodeName,
  RecordBatchHeader,
} from '@chronik/protocol';

const defaultMakers = new Map<number, () => Record<string, unknown>>();
for (const s of API_SCHEMAS) {
  const make = (codec as unknown as Record<string, unknown>)[`default${s.name}Response`];
  if (typeof make === 'function') defaultMakers.set(s.apiKey, make as () => Record<string, unknown>);
}

/** The response of an API with every field at its default (the codec's `default<Name>Response`). */
export function defaultResponseFor(apiKey: number): Record<string, unknown> | undefined {
  return defaultMakers.get(apiKey)?.();
}
