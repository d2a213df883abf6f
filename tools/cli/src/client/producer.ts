// A producer of one topic: batches per partition, Kafka's default partitioner, idempotence.
//
// - Partition: the one asked for; else murmur2 of the key (the same partition as Kafka's Java
//   client and librdkafka's consistent_random for the same key and partition count); else a sticky
//   partition that moves to the next one after every flush, as Kafka's sticky partitioner does.
// - Batching: records wait in one open batch per partition until `maxBatchRecords` or
//   `maxBatchBytes` are buffered in all, or `lingerMs` passed; then every open batch is sent, one
//   Produce per leader. Flushes run one after another, so at most one request per partition is in
//   flight and retries cannot reorder batches.
// - Idempotence (the default with acks=all, as in Kafka 3+ clients): a producer id from
//   InitProducerId, and per partition a sequence number that each batch carries. A batch retried
//   after a lost answer is the same bytes with the same sequence, so the broker keeps it once
//   (DUPLICATE_SEQUENCE_NUMBER on the second copy counts as success).
// - acks=0 sends and does not wait: its offsets are unknown.
import type { CompressionType, RecordHeader, RecordInput } from '@chronik/protocol';
import { ApiKey, ErrorCode, buildRecordBatch } from '@chronik/protocol';
import { CliError, checkKafka, kafkaError } from '../errors.js';
import type { KafkaClient } from './client.js';
import type { PartitionAnswer } from './partitions.js';
import { byTopic, perLeader, tpKey } from './partitions.js';

export interface ProducerOptions {
  topic: string;
  acks: -1 | 0 | 1;
  compression: CompressionType;
  idempotent: boolean;
  /** Every record to this partition; undefined: the partitioner decides. */
  partition?: number | undefined;
  maxBatchRecords: number;
  maxBatchBytes: number;
  lingerMs: number;
}

export const DEFAULT_PRODUCER_OPTIONS = {
  maxBatchRecords: 10_000,
  maxBatchBytes: 1024 * 1024,
  lingerMs: 5,
} as const;

export interface ProduceRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface PartitionResult {
  partition: number;
  records: number;
  /** Offsets of the first and last record written; null with acks=0. */
  firstOffset: bigint | null;
  lastOffset: bigint | null;
}

interface OpenBatch {
  records: RecordInput[];
}

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed 32-bit integer. */
export function murmur2(data: Buffer): number {
  const length = data.length;
  const m = 0x5bd1e995;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24) | 0;
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for a key. */
export function partitionForKey(key: Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

export class Producer {
  private readonly open = new Map<number, OpenBatch>();
  private readonly sequences = new Map<number, number>();
  private readonly results = new Map<number, PartitionResult>();
  private bufferedRecords = 0;
  private bufferedBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown;
  private linger: NodeJS.Timeout | undefined;
  private sticky: number;
  /** Called with the number of records each acknowledged (or, with acks=0, sent) batch held. */
  onAcknowledged: ((records: number) => void) | undefined;

  private constructor(
    private readonly client: KafkaClient,
    readonly options: ProducerOptions,
    private readonly partitionCount: number,
    private readonly producerId: bigint,
    private readonly producerEpoch: number,
  ) {
    this.sticky = Math.floor(Math.random() * partitionCount);
  }

  /** Looks the topic up (UNKNOWN_TOPIC_OR_PARTITION if missing) and gets a producer id when idempotent. */
  static async create(client: KafkaClient, options: ProducerOptions): Promise<Producer> {
    const [topic] = await client.topics([options.topic]);
    const count = topic?.partitions.length ?? 0;
    if (options.partition !== undefined && (options.partition < 0 || options.partition >= count))
      throw kafkaError(
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        `partition ${options.partition} of "${options.topic}" (it has ${count})`,
      );
    let producerId = -1n;
    let producerEpoch = -1;
    if (options.idempotent) {
      if (options.acks !== -1)
        throw new CliError('USAGE', 'an idempotent producer needs --acks all (or pass --no-idempotence)');
      const id = await client.retry('a producer id', async () => {
        const { body } = await client.request(ApiKey.InitProducerId, {
          transactionalId: null,
          transactionTimeoutMs: 60_000,
          producerId: -1n,
          producerEpoch: -1,
        });
        checkKafka(body.errorCode, 'InitProducerId');
        return body;
      });
      producerId = id.producerId;
      producerEpoch = id.producerEpoch;
    }
    return new Producer(client, options, count, producerId, producerEpoch);
  }

  /** Adds a record; waits when the buffers are full until they are sent. */
  async send(record: ProduceRecord): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const partition = this.partitionOf(record);
    const batch = this.open.get(partition) ?? { records: [] };
    this.open.set(partition, batch);
    batch.records.push({
      key: record.key,
      value: record.value,
      headers: record.headers,
      timestampMs: BigInt(Date.now()),
    });
    this.bufferedRecords++;
    this.bufferedBytes +=
      (record.key?.length ?? 0) +
      (record.value?.length ?? 0) +
      record.headers.reduce((n, h) => n + h.key.length + (h.value?.length ?? 0), 0) +
      16;
    if (
      this.bufferedRecords >= this.options.maxBatchRecords ||
      this.bufferedBytes >= this.options.maxBatchBytes
    )
      await this.flush();
    else this.linger ??= setTimeout(() => void this.flush().catch(() => undefined), this.options.lingerMs);
  }

  /** Sends everything buffered and waits for every batch sent so far to be acknowledged. */
  flush(): Promise<void> {
    if (this.linger !== undefined) clearTimeout(this.linger);
    this.linger = undefined;
    const batches = new Map(this.open);
    this.open.clear();
    this.bufferedRecords = 0;
    this.bufferedBytes = 0;
    if (batches.size > 0) this.sticky = (this.sticky + 1) % this.partitionCount;
    this.chain = this.chain.then(async () => {
      if (this.failure !== undefined) throw this.failure;
      if (batches.size === 0) return;
      try {
        await this.sendBatches(batches);
      } catch (e) {
        this.failure = e;
        throw e;
      }
    });
    return this.chain;
  }

  /** What was written, per partition, in partition order. */
  summary(): PartitionResult[] {
    return [...this.results.values()].sort((a, b) => a.partition - b.partition);
  }

  private partitionOf(record: ProduceRecord): number {
    if (this.options.partition !== undefined) return this.options.partition;
    if (record.key !== null) return partitionForKey(record.key, this.partitionCount);
    return this.sticky;
  }

  private async sendBatches(batches: Map<number, OpenBatch>): Promise<void> {
    const topic = this.options.topic;
    const built = new Map<number, { bytes: Buffer; count: number }>();
    for (const [partition, batch] of batches) {
      const sequence = this.sequences.get(partition) ?? 0;
      const bytes = buildRecordBatch({
        records: batch.records,
        compression: this.options.compression,
        producerId: this.producerId,
        producerEpoch: this.producerEpoch,
        baseSequence: this.options.idempotent ? sequence : -1,
      });
      // Sequences wrap to 0 after 2^31 - 1, as Kafka's do.
      this.sequences.set(partition, (sequence + batch.records.length) % 2 ** 31);
      built.set(partition, { bytes, count: batch.records.length });
    }
    const tps = [...built.keys()].map((partition) => ({ topic, partition }));
    const offsets = await perLeader(this.client, tps, async (conn, list) => {
      const request = {
        transactionalId: null,
        acks: this.options.acks,
        timeoutMs: this.client.options.requestTimeoutMs,
        topicData: [...byTopic(list)].map(([name, partitions]) => ({
          name,
          partitionData: partitions.map((index) => ({ index, records: built.get(index)?.bytes ?? null })),
        })),
      };
      const answers = new Map<string, PartitionAnswer<bigint>>();
      if (this.options.acks === 0) {
        conn.sendOnly(ApiKey.Produce, request);
        for (const tp of list) answers.set(tpKey(tp.topic, tp.partition), { errorCode: 0, value: -1n });
        return answers;
      }
      const { body } = await conn.request(ApiKey.Produce, request);
      for (const t of body.responses)
        for (const p of t.partitionResponses) {
          const duplicate = p.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER;
          answers.set(tpKey(t.name, p.index), {
            errorCode: duplicate ? ErrorCode.NONE : p.errorCode,
            errorMessage: p.errorMessage,
            value: duplicate ? -1n : p.baseOffset,
          });
        }
      return answers;
    });
    for (const [partition, { count }] of built) {
      const base = offsets.get(tpKey(topic, partition)) ?? -1n;
      const r = this.results.get(partition) ?? { partition, records: 0, firstOffset: null, lastOffset: null };
      r.records += count;
      if (base >= 0n) {
        r.firstOffset ??= base;
        r.lastOffset = base + BigInt(count - 1);
      }
      this.results.set(partition, r);
      this.onAcknowledged?.(count);
    }
  }
}
