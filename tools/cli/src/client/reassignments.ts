// Partition reassignments (KIP-455): AlterPartitionReassignments and ListPartitionReassignments,
// and leader elections (KIP-460): ElectLeaders — sent to the controller Metadata names (Kafka's and
// Chronik's brokers answer them).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { CliError, kafkaError } from '../errors.js';
import type { KafkaClient } from './client.js';
import { controller } from './admin.js';

/** One partition's outcome: null when accepted. */
export interface ReassignResult {
  topic: string;
  partition: number;
  error: CliError | null;
}

/** A reassignment in progress. */
export interface Reassignment {
  topic: string;
  partition: number;
  /** The current replica set: the target followed by the replicas leaving. */
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
}

/** Starts (replicas) or cancels (null) the reassignment of each partition of `topic`. */
export async function alterReassignments(
  client: KafkaClient,
  topic: string,
  partitions: readonly number[],
  replicas: readonly number[] | null,
): Promise<ReassignResult[]> {
  return client.retry(`reassigning "${topic}"`, async () => {
    const conn = await controller(client);
    if (!conn.supports(ApiKey.AlterPartitionReassignments))
      throw new CliError('PROTOCOL', 'the cluster does not support AlterPartitionReassignments');
    const { body } = await conn.request(ApiKey.AlterPartitionReassignments, {
      timeoutMs: client.options.requestTimeoutMs,
      topics: [
        {
          name: topic,
          partitions: partitions.map((p) => ({
            partitionIndex: p,
            replicas: replicas === null ? null : [...replicas],
          })),
        },
      ],
    });
    if (body.errorCode !== ErrorCode.NONE)
      throw kafkaError(body.errorCode, 'reassignment', body.errorMessage);
    const answered = body.responses.find((t) => t.name === topic)?.partitions ?? [];
    // NOT_CONTROLLER per partition: ask again (another node may lead the metadata now).
    const notController = answered.find((p) => p.errorCode === ErrorCode.NOT_CONTROLLER);
    if (notController !== undefined)
      throw kafkaError(notController.errorCode, `"${topic}"`, notController.errorMessage);
    return partitions.map((p) => {
      const r = answered.find((x) => x.partitionIndex === p);
      const error =
        r === undefined
          ? new CliError('PROTOCOL', `AlterPartitionReassignments answered nothing for ${topic}-${p}`)
          : r.errorCode === ErrorCode.NONE
            ? null
            : kafkaError(r.errorCode, `${topic}-${p}`, r.errorMessage, { final: true });
      return { topic, partition: p, error };
    });
  });
}

/** The reassignments in progress, of `topic` (optionally some of its partitions) or of every topic. */
export async function listReassignments(
  client: KafkaClient,
  topic: string | null,
  partitions?: readonly number[],
): Promise<Reassignment[]> {
  let wanted: Array<{ name: string; partitionIndexes: number[] }> | null = null;
  if (topic !== null) {
    const [info] = await client.topics([topic]);
    const all = info?.partitions.map((p) => p.partition) ?? [];
    wanted = [{ name: topic, partitionIndexes: partitions === undefined ? all : [...partitions] }];
  }
  return client.retry('listing reassignments', async () => {
    const conn = await controller(client);
    if (!conn.supports(ApiKey.ListPartitionReassignments))
      throw new CliError('PROTOCOL', 'the cluster does not support ListPartitionReassignments');
    const { body } = await conn.request(ApiKey.ListPartitionReassignments, {
      timeoutMs: client.options.requestTimeoutMs,
      topics: wanted,
    });
    if (body.errorCode !== ErrorCode.NONE)
      throw kafkaError(body.errorCode, 'reassignments', body.errorMessage);
    const out: Reassignment[] = [];
    for (const t of body.topics)
      for (const p of t.partitions)
        out.push({
          topic: t.name,
          partition: p.partitionIndex,
          replicas: p.replicas,
          addingReplicas: p.addingReplicas,
          removingReplicas: p.removingReplicas,
        });
    return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  });
}

/** One partition's election outcome: null when it took place. */
export interface ElectionResult {
  topic: string;
  partition: number;
  error: CliError | null;
}

/**
 * Elects the preferred replica (or, `unclean`, any live replica where none is in sync) of the given
 * partitions, or of every partition when `topic` is null (then only those that needed an election
 * are answered). ELECTION_NOT_NEEDED is an outcome, not a failure.
 */
export async function electLeaders(
  client: KafkaClient,
  topic: string | null,
  partitions: readonly number[] | undefined,
  unclean: boolean,
): Promise<ElectionResult[]> {
  let wanted: Array<{ topic: string; partitions: number[] }> | null = null;
  if (topic !== null) {
    const [info] = await client.topics([topic]);
    wanted = [
      {
        topic,
        partitions:
          partitions === undefined ? (info?.partitions.map((p) => p.partition) ?? []) : [...partitions],
      },
    ];
  }
  return client.retry('electing leaders', async () => {
    const conn = await controller(client);
    if (!conn.supports(ApiKey.ElectLeaders))
      throw new CliError('PROTOCOL', 'the cluster does not support ElectLeaders');
    const { body } = await conn.request(ApiKey.ElectLeaders, {
      electionType: unclean ? 1 : 0,
      topicPartitions: wanted,
      timeoutMs: client.options.requestTimeoutMs,
    });
    if (body.errorCode !== ErrorCode.NONE) throw kafkaError(body.errorCode, 'election', null);
    const out: ElectionResult[] = [];
    for (const t of body.replicaElectionResults)
      for (const p of t.partitionResult)
        out.push({
          topic: t.topic,
          partition: p.partitionId,
          error:
            p.errorCode === ErrorCode.NONE
              ? null
              : kafkaError(p.errorCode, `${t.topic}-${p.partitionId}`, p.errorMessage, { final: true }),
        });
    return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  });
}
