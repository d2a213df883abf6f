// Consumer group administration: ListGroups (every broker: each lists the groups it coordinates),
// describing a group at its coordinator (ConsumerGroupDescribe for groups of the KIP-848 consumer
// protocol, DescribeGroups for classic ones, as Kafka's admin client does), OffsetFetch,
// DeleteGroups.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { CliError, checkKafka } from '../errors.js';
import type { KafkaClient } from './client.js';
import { decodeAssignment } from './consumer-protocol.js';
import type { TopicPartition } from './partitions.js';
import { byTopic, tpKey } from './partitions.js';

export interface GroupListing {
  groupId: string;
  protocolType: string;
  /** Empty when the broker's ListGroups version does not report it (before v4). */
  state: string;
  coordinator: number;
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  assignment: TopicPartition[];
}

export interface GroupDescription {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: GroupMemberDescription[];
}

export async function listGroups(client: KafkaClient): Promise<GroupListing[]> {
  const md = await client.metadataWithRetry([]);
  const lists = await Promise.all(
    md.brokers.map((b) =>
      client.retry(`the groups of broker ${b.nodeId}`, async () => {
        const { body } = await (
          await client.broker(b.nodeId)
        ).request(ApiKey.ListGroups, {
          statesFilter: [],
          typesFilter: [],
        });
        checkKafka(body.errorCode, `ListGroups to broker ${b.nodeId}`);
        return body.groups.map((g) => ({
          groupId: g.groupId,
          protocolType: g.protocolType,
          state: g.groupState,
          coordinator: b.nodeId,
        }));
      }),
    ),
  );
  const seen = new Map<string, GroupListing>();
  for (const g of lists.flat()) seen.set(g.groupId, g);
  return [...seen.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
}

/**
 * The group as its coordinator describes it. A group of the consumer protocol (KIP-848) is asked
 * with ConsumerGroupDescribe first (where the broker speaks it); GROUP_ID_NOT_FOUND there means a
 * classic group or none, which DescribeGroups then answers (an unknown group is Dead).
 */
export async function describeGroup(client: KafkaClient, groupId: string): Promise<GroupDescription> {
  return client.retry(`describing group "${groupId}"`, async () => {
    const conn = await client.coordinator(groupId);
    if (conn.supports(ApiKey.ConsumerGroupDescribe)) {
      const { body } = await conn.request(ApiKey.ConsumerGroupDescribe, {
        groupIds: [groupId],
        includeAuthorizedOperations: false,
      });
      const g = body.groups[0];
      if (g === undefined)
        throw new CliError('PROTOCOL', `ConsumerGroupDescribe answered nothing for "${groupId}"`);
      if (g.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND) {
        checkKafka(g.errorCode, `group "${groupId}"`, g.errorMessage);
        return {
          groupId,
          state: g.groupState,
          protocolType: 'consumer',
          protocol: g.assignorName,
          members: g.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.instanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            assignment: m.assignment.topicPartitions.flatMap((t) =>
              t.partitions.map((partition) => ({ topic: t.topicName, partition })),
            ),
          })),
        };
      }
    }
    const { body } = await conn.request(ApiKey.DescribeGroups, {
      groups: [groupId],
      includeAuthorizedOperations: false,
    });
    const g = body.groups[0];
    if (g === undefined) throw new CliError('PROTOCOL', `DescribeGroups answered nothing for "${groupId}"`);
    checkKafka(g.errorCode, `group "${groupId}"`);
    return {
      groupId,
      state: g.groupState,
      protocolType: g.protocolType,
      protocol: g.protocolData,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignment: g.protocolType === 'consumer' ? safeAssignment(m.memberAssignment) : [],
      })),
    };
  });
}

function safeAssignment(bytes: Buffer): TopicPartition[] {
  try {
    return decodeAssignment(bytes);
  } catch {
    return [];
  }
}

/**
 * The group's committed offsets, by `tpKey` (partitions with none are left out). `topics` null:
 * every partition the group committed.
 */
export async function fetchCommitted(
  client: KafkaClient,
  groupId: string,
  tps: readonly TopicPartition[] | null,
): Promise<Map<string, bigint>> {
  return client.retry(`the offsets of group "${groupId}"`, async () => {
    const conn = await client.coordinator(groupId);
    const { body } = await conn.request(ApiKey.OffsetFetch, {
      groupId,
      topics:
        tps === null
          ? null
          : [...byTopic(tps)].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
      groups: [],
      requireStable: false,
    });
    checkKafka(body.errorCode, `group "${groupId}"`);
    const out = new Map<string, bigint>();
    for (const t of body.topics)
      for (const p of t.partitions) {
        checkKafka(p.errorCode, `the offset of ${t.name}-${p.partitionIndex} in group "${groupId}"`);
        if (p.committedOffset >= 0n) out.set(tpKey(t.name, p.partitionIndex), p.committedOffset);
      }
    return out;
  });
}

export async function deleteGroup(client: KafkaClient, groupId: string): Promise<void> {
  await client.retry(`deleting group "${groupId}"`, async () => {
    const conn = await client.coordinator(groupId);
    const { body } = await conn.request(ApiKey.DeleteGroups, { groupsNames: [groupId] });
    const r = body.results.find((x) => x.groupId === groupId);
    if (r === undefined) throw new CliError('PROTOCOL', `DeleteGroups answered nothing for "${groupId}"`);
    checkKafka(r.errorCode, `group "${groupId}"`);
  });
}

/** Whether a group with this state may have its offsets changed from outside (no live members). */
export function isInactive(state: string): boolean {
  return state === 'Empty' || state === 'Dead' || state === '';
}
