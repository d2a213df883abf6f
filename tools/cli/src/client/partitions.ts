// Requests that go to each partition's leader: grouped by leader, one request per broker, and the
// partitions that met a retriable error (a leader moved, a connection dropped) asked again after
// fresh metadata, within the client's retry bound.
import { ErrorCode } from '@chronik/protocol';
import { CliError, kafkaError } from '../errors.js';
import type { BrokerConnection } from './connection.js';
import type { KafkaClient, TopicInfo } from './client.js';
import { sleep } from './client.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export function tpKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

export function tpLabel(tp: TopicPartition): string {
  return `${tp.topic}-${tp.partition}`;
}

/** One partition's answer: an error code, and the value when it is 0. */
export type PartitionAnswer<T> = { errorCode: number; errorMessage?: string | null; value?: T };

/** Partitions grouped by topic, in the order first met. */
export function byTopic(tps: readonly TopicPartition[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const tp of tps) {
    const list = m.get(tp.topic) ?? [];
    list.push(tp.partition);
    m.set(tp.topic, list);
  }
  return m;
}

/**
 * Sends `send(conn, tps)` to the leader of every partition of `tps` and collects each partition's
 * value by `tpKey`. Throws the first non-retriable error, or the last retriable one once the
 * retries are spent.
 */
export async function perLeader<T>(
  client: KafkaClient,
  tps: readonly TopicPartition[],
  send: (conn: BrokerConnection, tps: TopicPartition[]) => Promise<Map<string, PartitionAnswer<T>>>,
): Promise<Map<string, T>> {
  const results = new Map<string, T>();
  let pending = [...tps];
  let backoffMs = client.options.retryBackoffMs;
  let lastError: CliError | undefined;
  for (let attempt = 0; attempt <= client.options.retries && pending.length > 0; attempt++) {
    if (attempt > 0) {
      await sleep(backoffMs);
      backoffMs = Math.min(1000, backoffMs * 2);
    }
    const topics = await client.topics([...new Set(pending.map((tp) => tp.topic))]).catch((e: unknown) => {
      if (e instanceof CliError && e.retriable) return undefined;
      throw e;
    });
    if (topics === undefined) continue;
    const groups = new Map<number, TopicPartition[]>();
    const retry: TopicPartition[] = [];
    for (const tp of pending) {
      const leader = leaderOf(topics, tp);
      if (leader < 0) {
        lastError = kafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `partition ${tpLabel(tp)}`);
        retry.push(tp);
        continue;
      }
      const list = groups.get(leader) ?? [];
      list.push(tp);
      groups.set(leader, list);
    }
    await Promise.all(
      [...groups].map(async ([leader, list]) => {
        let answers: Map<string, PartitionAnswer<T>>;
        try {
          answers = await send(await client.broker(leader), list);
        } catch (e) {
          if (e instanceof CliError && e.retriable) {
            lastError = e;
            retry.push(...list);
            return;
          }
          throw e;
        }
        for (const tp of list) {
          const a = answers.get(tpKey(tp.topic, tp.partition));
          if (a === undefined)
            throw new CliError('PROTOCOL', `no answer for partition ${tpLabel(tp)} from broker ${leader}`);
          if (a.errorCode === ErrorCode.NONE) {
            results.set(tpKey(tp.topic, tp.partition), a.value as T);
            continue;
          }
          const err = kafkaError(a.errorCode, `partition ${tpLabel(tp)}`, a.errorMessage);
          if (!err.retriable) throw err;
          lastError = err;
          retry.push(tp);
        }
      }),
    );
    pending = retry;
  }
  if (pending.length > 0)
    throw (
      lastError ?? new CliError('TIMEOUT', `partitions ${pending.map(tpLabel).join(', ')} did not answer`)
    );
  return results;
}

function leaderOf(topics: readonly TopicInfo[], tp: TopicPartition): number {
  const t = topics.find((x) => x.name === tp.topic);
  const p = t?.partitions.find((x) => x.partition === tp.partition);
  if (t !== undefined && p === undefined)
    throw kafkaError(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      `partition ${tpLabel(tp)} (the topic has ${t.partitions.length})`,
    );
  return p?.leader ?? -1;
}
