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

/** One planned move (placement.ts). */
export interface Move {
  topic: string;
  partition: number;
  to: readonly number[];
}

/**
 * Carries out `moves`, at most `maxInFlight` at a time: each is started (AlterPartitionReassignments)
 * once a slot is free and counted done once ListPartitionReassignments no longer lists it. A move
 * refused (another move of the partition in progress, an unknown broker) is reported and skipped.
 * Resolves with the refused ones.
 */
export async function executeMoves(
  client: KafkaClient,
  moves: readonly Move[],
  maxInFlight: number,
  onProgress: (done: number, total: number) => void,
  options: { pollMs?: number; deadlineMs?: number } = {},
): Promise<ReassignResult[]> {
  const pending = [...moves];
  const running: Move[] = [];
  const refused: ReassignResult[] = [];
  let done = 0;
  const notListedBefore = new Set<string>();
  const deadline = Date.now() + (options.deadlineMs ?? 24 * 3_600_000);
  while (pending.length > 0 || running.length > 0) {
    while (running.length < maxInFlight && pending.length > 0) {
      const m = pending.shift() as Move;
      const [r] = await alterReassignments(client, m.topic, [m.partition], m.to);
      if (r?.error !== null && r?.error !== undefined) {
        refused.push(r);
        done++;
      } else running.push(m);
    }
    onProgress(done, moves.length);
    if (running.length === 0) continue;
    if (Date.now() > deadline)
      throw new CliError('TIMEOUT', `${running.length + pending.length} moves were not done in time`);
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
    // Done: not listed twice in a row (a node that has not applied the start yet lists nothing)
    // and the replicas are the target.
    const open = new Set(
      (await listReassignments(client, null)).map((r) => `${r.topic}\u0000${r.partition}`),
    );
    const quiet = running.filter((m) => !open.has(`${m.topic}\u0000${m.partition}`));
    const topics = quiet.length === 0 ? [] : await client.topics([...new Set(quiet.map((m) => m.topic))]);
    for (const m of quiet) {
      const key = `${m.topic}\u0000${m.partition}`;
      const replicas = topics
        .find((t) => t.name === m.topic)
        ?.partitions.find((p) => p.partition === m.partition)?.replicas;
      if (replicas?.join() !== m.to.join() || !notListedBefore.has(key)) {
        notListedBefore.add(key);
        continue;
      }
      running.splice(running.indexOf(m), 1);
      done++;
    }
    for (const key of [...notListedBefore]) if (open.has(key)) notListedBefore.delete(key);
  }
  onProgress(done, moves.length);
  return refused;
}
