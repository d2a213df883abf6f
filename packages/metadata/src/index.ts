// Public entry point: every public name is re-exported here explicitly.
export { MetadataError, MetadataErrorCode, KAFKA_ERROR_NUMBERS, isMetadataError } from './errors.js';
export { METADATA_LIMITS } from './limits.js';
export {
  MAX_TOPIC_NAME_LENGTH,
  CONSUMER_OFFSETS_TOPIC,
  TRANSACTION_STATE_TOPIC,
  INTERNAL_TOPICS,
  topicNameProblem,
  validateTopicName,
  collisionKey,
  isInternalTopic,
} from './topic-names.js';
export { topicIdFromBytes, topicIdToBytes, isValidTopicId, clusterIdFromBytes } from './topic-id.js';
export {
  ConfigType,
  ConfigSource,
  AlterConfigOp,
  MAX_CONFIG_VALUE_LENGTH,
  TOPIC_CONFIGS,
  DYNAMIC_BROKER_CONFIG_NAMES,
  topicConfigDefinition,
  brokerConfigDefinition,
  validateConfigValue,
  validateTopicConfig,
  validateBrokerConfig,
  parseList,
  alterConfigMap,
} from './configs.js';
export type { TopicConfigDefinition, ConfigAlteration, ConfigSynonym, ConfigDescription } from './configs.js';
export { SECURITY_PROTOCOLS, SCRAM_MECHANISMS, CLIENT_QUOTA_KEYS } from './types.js';
export {
  ACL_RESOURCE_TYPES,
  ACL_PATTERN_TYPES,
  ACL_OPERATIONS,
  ACL_PERMISSIONS,
  ACL_WILDCARD,
  ACL_WILDCARD_PRINCIPAL,
  CLUSTER_RESOURCE_NAME,
  aclBindingProblem,
  aclFilterMatches,
  aclKey,
  principalProblem,
} from './acls.js';
export type {
  AclBinding,
  AclFilter,
  AclResourceType,
  AclPatternType,
  AclOperationName,
  AclPermission,
} from './acls.js';
export type {
  BrokerInfo,
  BrokerListener,
  SecurityProtocolName,
  ScramMechanismName,
  ScramCredential,
  AlterScramCredentialsCommand,
  AlterClientQuotasCommand,
  ClientQuotaEntityType,
  ClientQuotaEntityPart,
  ClientQuotaEntry,
  ClientQuotaKey,
  CreateAclsCommand,
  DeleteAclsCommand,
  PartitionInfo,
  TopicInfo,
  ProducerIdBlock,
  ConfigEntry,
  InitClusterCommand,
  RegisterBrokerCommand,
  UnregisterBrokerCommand,
  FenceBrokerCommand,
  CreateTopicCommand,
  DeleteTopicCommand,
  CreatePartitionsCommand,
  AssignReplicasCommand,
  ChangeLeaderCommand,
  ChangeIsrCommand,
  AlterTopicConfigsCommand,
  AlterBrokerConfigsCommand,
  AllocateProducerIdsCommand,
  ReplicaRepair,
  ReplicaRepairCommand,
  AlterReassignmentCommand,
  CompleteReassignmentCommand,
  AddNodeCommand,
  RemoveNodeCommand,
  DecommissionNodeCommand,
  RecommissionNodeCommand,
  StartRebalanceCommand,
  EndRebalanceCommand,
  NodeDrain,
  RebalanceState,
  MembershipDoneCommand,
  GroupMembership,
  MembershipChange,
  MembershipOutcome,
  MetadataCommand,
  MetadataCommandType,
  MetadataChange,
  MetadataChangeType,
} from './types.js';
export {
  COMMAND_FORMAT_VERSIONS,
  REQUEST_FORMAT_VERSION,
  encodeCommand,
  decodeCommand,
  decodeEntry,
} from './codec.js';
export type { EncodeOptions, DecodedEntry } from './codec.js';
export { rackAlternatedOrder, assignReplicas, chooseStartIndex } from './assignment.js';
export { isReassigning, targetReplicas, originalReplicas } from './reassignment.js';
export { isMember } from './membership.js';
export type { AssignmentBroker, AssignReplicasInput } from './assignment.js';
export { javaStringHashCode, coordinatorPartition } from './coordinator.js';
export type { MetadataView } from './view.js';
export {
  MetadataStateMachine,
  SNAPSHOT_FORMAT_VERSION,
  quotaEntityKey,
  quotaEntityProblem,
  quotaValueProblem,
  quotaKeyProblem,
} from './state-machine.js';
export type { MetadataStateMachineOptions, MetadataLogger, ApplyResult } from './state-machine.js';
export type { FeedEvent, FeedListener } from './internal/feed.js';
export {
  describeTopicConfigs,
  describeBrokerConfigs,
  effectiveTopicConfigs,
  findCoordinator,
} from './queries.js';
export type { DescribeConfigsOptions, CoordinatorKeyType, CoordinatorLookup } from './queries.js';
export {
  prepareCreateTopics,
  prepareCreateTopic,
  prepareConsumerOffsetsTopic,
  prepareTransactionStateTopic,
  prepareDeleteTopic,
  prepareCreatePartitions,
  prepareAlterTopicConfigs,
  prepareAlterBrokerConfigs,
} from './prepare.js';
export type {
  PrepareResult,
  CreateTopicRequest,
  PrepareCreateTopicsOptions,
  CreateTopicPrepared,
  InternalTopicOptions,
  CreatePartitionsRequest,
} from './prepare.js';
export type { BalanceBroker, BalanceMove, BalancePartition } from './balance.js';
export {
  chooseTaker,
  planDrain,
  planLeaderBalance,
  planReplicaBalance,
  replicaCounts as balanceReplicaCounts,
} from './balance.js';
