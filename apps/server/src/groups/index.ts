// The group coordinator and committed offsets: the classic consumer-group protocol and the consumer
// group protocol of KIP-848 (consumer-*.ts).
// The server wires a GroupCoordinator with an OffsetLog on __consumer_offsets; the handlers of
// JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups,
// ListGroups, DeleteGroups, OffsetDelete and TxnOffsetCommit call it.
export { GroupCoordinator, DEFAULT_GROUP_CONFIG } from './coordinator.js';
export type { GroupCoordinatorConfig, GroupCoordinatorOptions } from './coordinator.js';
export {
  GroupError,
  GroupErrorCode,
  GROUP_KAFKA_ERRORS,
  isGroupError,
  appendErrorToKafka,
} from './errors.js';
export type { GroupKafkaError } from './errors.js';
export { InMemoryOffsetLog } from './offset-log.js';
export type { OffsetLog, OffsetLogEntry, TransactionalAppend } from './offset-log.js';
export { PendingTxnOffsets } from './txn-offsets.js';
export type { PendingTxnOffset } from './txn-offsets.js';
export { CONSUMER_OFFSETS_TOPIC, javaStringHashCode, partitionForGroup } from './partitioning.js';
export { decodeRecord, encodeRecord } from './records.js';
export type {
  CommittedOffset,
  EncodedRecord,
  OffsetsTopicRecord,
  StoredGroup,
  StoredMember,
} from './records.js';
export { CONSUMER_PROTOCOL_TYPE, subscribedTopics } from './consumer-protocol.js';
export { MIGRATION_POLICIES, NO_TOPIC_METADATA, isMigrationPolicy } from './consumer-coordinator.js';
export type { ConsumerTopicInfo, MigrationPolicy, TopicMetadataSource } from './consumer-coordinator.js';
export { SERVER_ASSIGNORS, assignPartitions } from './consumer-assignors.js';
export type { ServerAssignorName } from './consumer-assignors.js';
export { CONSUMER_GROUP_STATES } from './consumer-group.js';
export { GROUP_STATES } from './types.js';
export type * from './types.js';
