// Partition reassignments as the Kafka API (AlterPartitionReassignments, ListPartitionReassignments)
// and the admin API ask for them: validated against this node's applied metadata, committed as
// `alterReassignment` (from any node: the metadata store forwards), listed from the metadata. The
// data moves in cluster mode (cluster/partition-mover.ts); a single node has one broker, so the only
// target it accepts is the replica set it has.
import { isReassigning, targetReplicas } from '@chronik/metadata';
import { KafkaError } from '../errors.js';
import type { MetadataStore } from './metadata-store.js';

/** One partition of an AlterPartitionReassignments request. */
export interface ReassignRequest {
  topic: string;
  partition: number;
  /** The target replica set (the first is the preferred leader), or null to cancel. */
  replicas: readonly number[] | null;
}

export interface ReassignOutcome {
  topic: string;
  partition: number;
  /** Null when accepted. */
  error: KafkaError | null;
}

/** A reassignment in progress (ListPartitionReassignments). */
export interface OngoingReassignment {
  topic: string;
  partition: number;
  /** The current replica set: the target followed by the replicas leaving. */
  replicas: readonly number[];
  addingReplicas: readonly number[];
  removingReplicas: readonly number[];
  target: readonly number[];
}

/** Reassignment requests of one call, validated together. */
const MAX_PARTITIONS_PER_CALL = 100_000;

export class PartitionReassignments {
  constructor(private readonly store: MetadataStore) {}

  /**
   * Starts or cancels each partition's reassignment; one outcome per partition, in order.
   * UNKNOWN_TOPIC_OR_PARTITION for a partition the metadata does not have; INVALID_REPLICA_ASSIGNMENT
   * for a bad target (empty, duplicates, negative or unregistered brokers); REASSIGNMENT_IN_PROGRESS
   * / NO_REASSIGNMENT_IN_PROGRESS as the metadata decides; NOT_CONTROLLER / REQUEST_TIMED_OUT when
   * the metadata cannot be reached.
   */
  async alter(requests: readonly ReassignRequest[]): Promise<ReassignOutcome[]> {
    if (requests.length > MAX_PARTITIONS_PER_CALL)
      throw new KafkaError('POLICY_VIOLATION', `at most ${MAX_PARTITIONS_PER_CALL} partitions per request`);
    return Promise.all(requests.map((r) => this.alterOne(r)));
  }

  private async alterOne(r: ReassignRequest): Promise<ReassignOutcome> {
    const out = (error: KafkaError | null): ReassignOutcome => ({
      topic: r.topic,
      partition: r.partition,
      error,
    });
    const topic = this.store.state.topic(r.topic);
    if (topic === undefined || topic.partitions[r.partition] === undefined)
      return out(new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `unknown partition ${r.topic}-${r.partition}`));
    if (r.replicas !== null) {
      const bad = r.replicas.find((b) => !Number.isSafeInteger(b) || b < 0);
      if (bad !== undefined)
        return out(
          new KafkaError('INVALID_REPLICA_ASSIGNMENT', `invalid broker id ${bad} in the replica list`),
        );
    }
    try {
      const res = await this.store.commit({
        type: 'alterReassignment',
        topicId: topic.topicId,
        partition: r.partition,
        replicas: r.replicas === null ? null : [...r.replicas],
      });
      return out(res.ok ? null : new KafkaError(res.error.code, res.error.message, { cause: res.error }));
    } catch (e) {
      return out(
        e instanceof KafkaError ? e : new KafkaError('UNKNOWN_SERVER_ERROR', String(e), { cause: e }),
      );
    }
  }

  /**
   * The reassignments in progress of the named partitions (unknown ones are left out, as Kafka
   * does), or of every partition when `topics` is null; by topic and partition.
   */
  list(topics: ReadonlyArray<{ name: string; partitions: readonly number[] }> | null): OngoingReassignment[] {
    const state = this.store.state;
    const wanted =
      topics === null
        ? state.topics().map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partition) }))
        : topics;
    const out: OngoingReassignment[] = [];
    for (const w of wanted) {
      const t = state.topic(w.name);
      if (t === undefined) continue;
      for (const i of [...new Set(w.partitions)].sort((a, b) => a - b)) {
        const p = t.partitions[i];
        if (p === undefined || !isReassigning(p)) continue;
        out.push({
          topic: t.name,
          partition: i,
          replicas: p.replicas,
          addingReplicas: p.addingReplicas,
          removingReplicas: p.removingReplicas,
          target: targetReplicas(p),
        });
      }
    }
    return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }
}
