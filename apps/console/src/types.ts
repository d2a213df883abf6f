// The admin API's answers as the console reads them (apps/server/README.md, "Admin HTTP API").
// Kafka int64 values (offsets, timestamps, lag) arrive as decimal strings in the console's routes.

export interface BrokerEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface ClusterStatus {
  nodeId: number;
  mode: string;
  clusterId: string;
  controllerId: number;
  brokers: BrokerEndpoint[];
  metadataGroup: {
    leaderId: number;
    term: number;
    commitIndex: number;
    appliedIndex: number;
    voters: number[];
  };
}

export interface PartitionCounts {
  total: number;
  online: number;
  underReplicated: number;
  offline: number;
}

export interface TopicSummary {
  name: string;
  topicId: string;
  internal: boolean;
  partitions: number;
  replicationFactor: number;
  underReplicated: number;
  offline: number;
  configOverrides: number;
}

export interface TopicList {
  topics: TopicSummary[];
  partitions: PartitionCounts;
}

export interface PartError {
  error: string;
  message: string;
}

export interface TopicPartition {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offline: boolean;
  underReplicated: boolean;
  logStartOffset?: string;
  highWatermark?: string;
  sizeBytes?: number;
  error?: string;
  message?: string;
}

export interface TopicConfig {
  name: string;
  value: string | null;
  source: string;
  isDefault: boolean;
  readOnly: boolean;
  sensitive: boolean;
}

export interface TopicDetail {
  name: string;
  topicId: string;
  internal: boolean;
  partitions: TopicPartition[];
  configs: TopicConfig[];
}

export interface Bytes {
  base64: string;
  size: number;
  truncated: boolean;
}

export interface RecordView {
  offset: string;
  timestampMs: string;
  key: Bytes | null;
  value: Bytes | null;
  headers: Array<{ key: string; value: Bytes | null }>;
}

export interface RecordsAnswer {
  topic: string;
  partition: number;
  leader: number;
  logStartOffset: string;
  highWatermark: string;
  startOffset: string;
  nextOffset: string;
  records: RecordView[];
}

export interface GroupSummary {
  groupId: string;
  protocolType: string;
  state: string;
  /** `classic`, or `consumer` (KIP-848's protocol). */
  groupType: string;
  coordinator: number;
}

export interface GroupList {
  groups: GroupSummary[];
  errors: Array<{ nodeId: number } & PartError>;
}

export interface GroupMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  assignment: Array<{ topic: string; partition: number }>;
}

export interface GroupPartition {
  topic: string;
  partition: number;
  committedOffset: string | null;
  metadata: string | null;
  highWatermark: string | null;
  lag: string | null;
  memberId: string | null;
  error?: string;
  message?: string;
}

export interface GroupDetail {
  groupId: string;
  /** `classic`, or `consumer` (KIP-848's protocol). */
  groupType: string;
  coordinator: number;
  state: string;
  protocolType: string;
  protocol: string;
  members: GroupMember[];
  partitions: GroupPartition[];
  totalLag: string;
  atMs: number;
}

export interface RaftFollower {
  nodeId: number;
  match: number;
  lag: number;
  state: string;
  recentActive: boolean;
}

export interface RaftGroup {
  groupId: number;
  name: string;
  role: string;
  leaderId: number;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  voters: number[];
  learners: number[];
  followers: RaftFollower[];
  failure?: string;
}

export interface RaftView {
  nodeId: number;
  mode: string;
  total: number;
  groups: RaftGroup[];
  peers: Array<{ nodeId: number; connected: boolean }>;
}

export interface LeaderChange {
  atMs: number;
  metadataIndex: number;
  topic: string;
  partition: number;
  previousLeader: number;
  leader: number;
  leaderEpoch: number;
}

export interface LeaderChanges {
  nodeId: number;
  changes: LeaderChange[];
}

export interface LocalPartition {
  topic: string;
  partition: number;
  role: string;
  state: string;
  error?: string;
  leader: number;
  highWatermark: number;
  logEndOffset: number;
}
