// The API versions this client speaks, and the choice of one per API and broker.
//
// The codec can encode every version of every API, but a version's meaning is more than its
// fields: Fetch v13+ names topics by id, OffsetFetch v8+ batches groups, OffsetCommit v9 belongs to
// the new consumer protocol. This table caps each API at the newest version whose semantics the
// client code handles; the minimum is the oldest it still fills correctly (Produce v3 is the first
// with record batches). A broker's ApiVersions answer narrows it further: the version used is the
// highest in both ranges, and none in common is UNSUPPORTED_VERSION before anything is sent.
import { ApiKey, apiInfo } from '@chronik/protocol';
import { CliError } from '../errors.js';

export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

export const CLIENT_VERSIONS: ReadonlyMap<number, VersionRange> = new Map<number, VersionRange>([
  [ApiKey.ApiVersions, { min: 0, max: 3 }],
  [ApiKey.Metadata, { min: 1, max: 12 }],
  [ApiKey.Produce, { min: 3, max: 9 }],
  [ApiKey.Fetch, { min: 4, max: 12 }],
  [ApiKey.ListOffsets, { min: 1, max: 7 }],
  [ApiKey.FindCoordinator, { min: 0, max: 6 }],
  [ApiKey.JoinGroup, { min: 0, max: 9 }],
  [ApiKey.SyncGroup, { min: 0, max: 5 }],
  [ApiKey.Heartbeat, { min: 0, max: 4 }],
  [ApiKey.LeaveGroup, { min: 0, max: 5 }],
  [ApiKey.OffsetCommit, { min: 2, max: 8 }],
  [ApiKey.OffsetFetch, { min: 1, max: 7 }],
  [ApiKey.ListGroups, { min: 0, max: 5 }],
  [ApiKey.DescribeGroups, { min: 0, max: 5 }],
  [ApiKey.ConsumerGroupDescribe, { min: 0, max: 0 }],
  [ApiKey.DeleteGroups, { min: 0, max: 2 }],
  [ApiKey.InitProducerId, { min: 0, max: 5 }],
  [ApiKey.CreateTopics, { min: 2, max: 7 }],
  [ApiKey.DeleteTopics, { min: 1, max: 6 }],
  [ApiKey.CreatePartitions, { min: 0, max: 3 }],
  [ApiKey.DescribeConfigs, { min: 1, max: 4 }],
  [ApiKey.IncrementalAlterConfigs, { min: 0, max: 1 }],
  [ApiKey.DescribeLogDirs, { min: 1, max: 4 }],
  [ApiKey.AlterPartitionReassignments, { min: 0, max: 0 }],
  [ApiKey.ListPartitionReassignments, { min: 0, max: 0 }],
  [ApiKey.ElectLeaders, { min: 1, max: 2 }],
]);

/** The name of an API for messages (`Metadata`), or its key number. */
export function apiName(apiKey: number): string {
  return apiInfo(apiKey)?.name ?? `API ${apiKey}`;
}

/**
 * The highest version of `apiKey` that this client, the codec and the broker (`broker`, from its
 * ApiVersions answer; undefined when it does not list the API) all support.
 * Throws UNSUPPORTED_VERSION (Kafka error 35) when there is none.
 */
export function chooseVersion(apiKey: number, broker: VersionRange | undefined, where: string): number {
  const ours = CLIENT_VERSIONS.get(apiKey);
  const codec = apiInfo(apiKey);
  if (ours === undefined || codec === undefined)
    throw new CliError('PROTOCOL', `this client does not speak ${apiName(apiKey)}`);
  if (broker === undefined)
    throw new CliError('KAFKA', `${where} does not support ${apiName(apiKey)}`, { kafkaCode: 35 });
  const max = Math.min(ours.max, codec.maxVersion, broker.max);
  const min = Math.max(ours.min, codec.minVersion, broker.min);
  if (max < min)
    throw new CliError(
      'KAFKA',
      `${where} supports ${apiName(apiKey)} v${broker.min}-v${broker.max}, this client v${ours.min}-v${ours.max}`,
      { kafkaCode: 35 },
    );
  return max;
}
