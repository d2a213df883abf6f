// The transaction coordinator (KIP-98, KIP-890 part 1). The server wires a TransactionCoordinator
// with a TxnLog on __transaction_state and a MarkerWriter on the partitions (service.ts); the
// handlers of InitProducerId (with a transactional id), AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
// DescribeTransactions and ListTransactions call it, and the partition manager asks it (verify)
// before a transaction's first batch in a partition.
export { TransactionCoordinator, DEFAULT_TXN_CONFIG } from './coordinator.js';
export type { TxnCoordinatorConfig, TxnCoordinatorOptions, TxnInspection } from './coordinator.js';
export { TXN_KAFKA_ERRORS, TxnError, TxnErrorCode, isTxnError, logErrorToKafka } from './errors.js';
export type { TxnKafkaError } from './errors.js';
export { InMemoryTxnLog } from './txn-log.js';
export type { TxnLog } from './txn-log.js';
export {
  decodeTxnRecord,
  encodeTxnRecord,
  encodeTxnKey,
  encodeTxnValue,
  LAST_PRODUCER_EPOCH_TAG,
} from './records.js';
export type { EncodedRecord, StoredTxn, TxnLogRecord } from './records.js';
export { TXN_STATES, tpKey } from './types.js';
export type * from './types.js';
