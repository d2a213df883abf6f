// The clients: producers and readers driven through the services the Kafka handlers use
// (composed.partitions.append / read, services.producerIds), not through sockets. A client finds a
// partition's leader as a client with fresh metadata would — any up node that says it leads (a
// stale leader cut off from the others included) — and talks to it; a request to a node that dies
// fails as a dropped connection.
//
// Producers: idempotent ones (a producer id from InitProducerId, one batch in flight, a batch whose
// outcome is unknown retried with the same sequence until it is answered — the Java client's
// max.in.flight=1 behaviour) and plain ones (every attempt a new record). acks is -1 or 1, drawn per
// producer. Each batch holds one record whose value names it (`<producer>:<seq>`), so the checker
// can tell records apart. Readers fetch at random offsets up to the highest high watermark shown,
// and re-read acknowledged acks=all batches at their offsets.
//
// Consumer groups (the later operations): clients find their group's coordinator as a Kafka client
// does (FindCoordinator on any node, kept until an answer says NOT_COORDINATOR or the node is gone)
// and call the coordinator the Kafka handlers call (services.groups). Committers commit offsets of
// the main topic outside group management (generation -1, as KafkaConsumer.assign() with
// commitSync), mostly forward, sometimes back on purpose, and fetch them (OffsetFetch, by partition
// or the whole group, with and without require_stable). Members of one consumer group join, sync
// (the leader assigns the main topic's partitions), heartbeat, commit with their generation (now and
// then with the previous one, as a zombie would), fetch their offsets after each assignment and
// leave. Every commit's metadata names it, so the checker can tell which commit an answer shows.
import { buildRecordBatch } from '@chronik/protocol';
import { KafkaError, isKafkaError } from '@chronik/server';
import { decodeAssignment, encodeAssignment, incarnationKey } from './checker.js';
import type { Checker, ReadRecord } from './checker.js';
import type { Composed, SimCluster, SimNode } from './cluster.js';
import type { EventQueue } from './event-queue.js';
import { Owner } from './event-queue.js';
import type { Prng } from './prng.js';

export interface ProducerSpec {
  idempotent: boolean;
  /** 0: no answer (the request settles when the leader wrote it; the client sees nothing). */
  acks: -1 | 0 | 1;
  partition: number;
}

interface Producer extends ProducerSpec {
  name: string;
  /** Producer id and epoch (idempotent), once InitProducerId answered. */
  id: { producerId: bigint; producerEpoch: number } | undefined;
  nextSeq: number;
  /** The batch whose outcome is not known yet (idempotent: retried as is). */
  pending: { seq: number; value: string } | undefined;
  busy: boolean;
  attempts: number;
  /** Producer ids this producer has had (its records' values name the one they were sent with). */
  generation: number;
}

/** The consumer-group clients of a run. */
export interface GroupSpec {
  /** Clients committing outside group management (generation -1); two share each group. */
  committers: number;
  /** Members of the one consumer group. */
  members: number;
  /** The members' rebalance timeout (max.poll.interval.ms); their session timeout is 6 s. */
  rebalanceTimeoutMs: number;
}

export interface WorkloadOptions {
  topic: string;
  partitions: number;
  producers: readonly ProducerSpec[];
  /** Milliseconds a produce may wait for its acknowledgement. */
  produceTimeoutMs: number;
  groups: GroupSpec;
}

/** A client that knows its group's coordinator until told otherwise. */
interface GroupClient {
  name: string;
  group: string;
  /** The coordinator's node id, from FindCoordinator. */
  coordinator: number | undefined;
  busy: boolean;
  /** Commits sent so far (their metadata's counter). */
  commits: number;
}

/** A consumer in a group (classic protocol, dynamic membership). */
interface GroupMember extends GroupClient {
  /** '' until the coordinator gave one (MEMBER_ID_REQUIRED or a join). */
  memberId: string;
  /** 'out': must join; 'joined': must sync `generation`; 'stable': has its assignment. */
  phase: 'out' | 'joined' | 'stable';
  generation: number;
  /** The leader JoinGroup named for `generation`, and (the leader only) the members to assign. */
  leader: string;
  joined: string[];
  assigned: number[];
}

/** The consumer group of the members. */
export const MEMBERS_GROUP = 'consumers';
/** group.min.session.timeout.ms: the shortest session the coordinator accepts. */
const SESSION_TIMEOUT_MS = 6000;
/** Answers after which a client looks its coordinator up again. */
const COORDINATOR_ERRORS = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE']);

/**
 * The topics the workload creates and deletes while it runs (one partition, replication factor 3,
 * min.insync.replicas 2), beside the run's main topic, which stays.
 */
export const CHURN_TOPICS = ['churn0', 'churn1'] as const;

/** Errors after which an idempotent producer starts again with a new producer id (as the Java client resets). */
const RESET_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
]);

export class Workload {
  readonly owner = new Owner('client');
  private readonly producers: Producer[];
  /** Requests sent and not answered yet. */
  outstanding = 0;
  stats = {
    produced: 0,
    produceErrors: 0,
    reads: 0,
    readErrors: 0,
    resets: 0,
    inits: 0,
    sentAcks0: 0,
    listOffsets: 0,
    topicsCreated: 0,
    topicsDeleted: 0,
    churnProduced: 0,
    churnReads: 0,
    deleteRecords: 0,
    epochQueries: 0,
    offsetCommits: 0,
    offsetFetches: 0,
    joins: 0,
    syncs: 0,
    heartbeats: 0,
    leaves: 0,
  };
  private readonly errorCounts = new Map<string, number>();
  /**
   * Draws of the operations added after the first sweeps (ListOffsets, OffsetForLeaderEpoch, ...):
   * a stream of their own, so the draws of the original operations stay where they were.
   */
  private readonly extra: Prng;
  /** This run sends DeleteRecords (half the seeds: the others keep every record to the end). */
  private readonly deletes: boolean;
  /** Records sent to the recreated topics so far (their values' counter). */
  private churnCount = 0;
  private readonly committers: GroupClient[];
  private readonly members: GroupMember[];
  /** Register (`group/topic-partition`) → the offset its next commit moves from (a consumer's position). */
  private readonly positions = new Map<string, bigint>();

  constructor(
    private readonly queue: EventQueue,
    private readonly cluster: SimCluster,
    private readonly checker: Checker,
    private readonly rng: Prng,
    readonly options: WorkloadOptions,
  ) {
    this.extra = rng.fork('extra');
    this.deletes = this.extra.chance(0.5);
    this.producers = options.producers.map((s, i) => ({
      ...s,
      name: `${s.idempotent ? 'i' : 'p'}${i}`,
      id: undefined,
      nextSeq: 0,
      pending: undefined,
      busy: false,
      attempts: 0,
      generation: 0,
    }));
    const client = (name: string, group: string): GroupClient => ({
      name,
      group,
      coordinator: undefined,
      busy: false,
      commits: 0,
    });
    this.committers = Array.from({ length: options.groups.committers }, (_, i) =>
      client(`c${i}`, `assign${i >> 1}`),
    );
    this.members = Array.from({ length: options.groups.members }, (_, i) => ({
      ...client(`m${i}`, MEMBERS_GROUP),
      memberId: '',
      phase: 'out' as const,
      generation: -1,
      leader: '',
      joined: [],
      assigned: [],
    }));
  }

  tp(partition: number): { topic: string; partition: number } {
    return { topic: this.options.topic, partition };
  }

  key(partition: number): string {
    return `${this.options.topic}-${partition}`;
  }

  /** Error codes clients got, most frequent first (the summary). */
  errors(): Array<[string, number]> {
    return [...this.errorCounts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  }

  private countError(e: unknown): string {
    const code = isKafkaError(e)
      ? e.code
      : e instanceof Error && 'code' in e
        ? String((e as { code: unknown }).code)
        : 'DISCONNECTED';
    this.errorCounts.set(code, (this.errorCounts.get(code) ?? 0) + 1);
    return code;
  }

  /** The node a client sends `partition`'s requests to: one that says it leads, else any up node. */
  private target(partition: number): SimNode | undefined {
    const up = this.cluster.up();
    if (up.length === 0) return undefined;
    const order = [...up];
    for (let i = order.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      [order[i], order[j]] = [order[j] as SimNode, order[i] as SimNode];
    }
    for (const n of order) {
      try {
        n.composed?.partitions.leader(this.tp(partition));
        return n;
      } catch {
        // not the leader here
      }
    }
    return this.rng.pick(order);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.outstanding++;
    const done = (): void => {
      this.outstanding--;
    };
    p.then(done, done);
    return p;
  }

  /** One client operation, drawn. */
  step(): void {
    const r = this.rng.next();
    if (r < 0.6) this.produce(this.rng.pick(this.producers));
    else if (r < 0.85) this.fetch(this.rng.int(this.options.partitions));
    else this.reReadAcked();
    // The later operations: one more client request on some steps, drawn from their own stream.
    const x = this.extra.next();
    if (x < 0.08) this.listOffsets(this.extra.int(this.options.partitions));
    else if (x < 0.12) this.offsetForLeaderEpoch(this.extra.int(this.options.partitions));
    else if (x < 0.14) this.churnTopic(this.extra.pick(CHURN_TOPICS));
    else if (x < 0.2) this.churnProduce(this.extra.pick(CHURN_TOPICS));
    else if (x < 0.24) this.churnRead(this.extra.pick(CHURN_TOPICS));
    else if (x < 0.26 && this.deletes) this.deleteRecords(this.extra.int(this.options.partitions));
    else if (x >= 0.26 && x < 0.32) this.committerStep();
    else if (x >= 0.32 && x < 0.42) this.memberStep();
  }

  /**
   * DeleteRecords on the main topic up to an offset at or below the highest high watermark shown.
   * The checker learns the offset before the request leaves: a request whose answer is lost may
   * still have moved the log start there, so everything below it may be gone.
   */
  private deleteRecords(partition: number): void {
    const n = this.extraTarget(this.tp(partition));
    if (n === undefined) return;
    const tp = this.tp(partition);
    const key = this.key(partition);
    const max = this.checker.maxHw(key);
    if (max <= 0n) return;
    const below = this.checker.deletedBelow.get(key) ?? 0n;
    const offset = below + BigInt(this.extra.int(Number(max - below) + 1));
    if (offset > below) this.checker.deletedBelow.set(key, offset);
    let epoch = -1;
    this.queue.note(this.owner.name, `delete records of ${key} below ${offset} on n${n.id}`);
    this.track(
      this.cluster.request(n, (c) => {
        epoch = c.partitions.leader(tp).leaderEpoch;
        return c.partitions.deleteRecords(tp, offset, this.options.produceTimeoutMs);
      }),
    ).then(
      (start) => {
        this.stats.deleteRecords++;
        this.queue.note(this.owner.name, `delete records of ${key}: log start ${start}`);
        this.checker.listEarliest(key, epoch, start, `DeleteRecords(${offset}) on node ${n.id}`);
      },
      (e: unknown) => void this.countError(e),
    );
  }

  /**
   * Creates `name` when the node asked does not know it, else deletes it (CreateTopics /
   * DeleteTopics through the node's TopicAdmin, as the handlers call it).
   */
  private churnTopic(name: string): void {
    const up = this.cluster.up();
    if (up.length === 0) return;
    const n = this.extra.pick(up);
    const exists = n.composed?.services.metadata.topic(name) !== undefined;
    this.queue.note(this.owner.name, `${exists ? 'delete' : 'create'} topic ${name} on n${n.id}`);
    if (exists)
      this.track(
        this.cluster.request(n, (c) => c.services.topics.deleteTopics([{ name, topicId: null }])),
      ).then(
        (out) => {
          const err = out[0]?.error ?? null;
          if (err === null) this.stats.topicsDeleted++;
          else this.countError(err);
          this.queue.note(this.owner.name, `delete topic ${name}: ${err === null ? 'ok' : err.code}`);
        },
        (e: unknown) => void this.countError(e),
      );
    else
      this.track(
        this.cluster.request(n, (c) =>
          c.services.topics.createTopics(
            [
              {
                name,
                numPartitions: 1,
                replicationFactor: 3,
                assignments: [],
                configs: [{ name: 'min.insync.replicas', value: '2' }],
              },
            ],
            false,
          ),
        ),
      ).then(
        (out) => {
          const o = out[0];
          if (o === undefined) return;
          this.queue.note(
            this.owner.name,
            `create topic ${name}: ${o.error === null ? `ok, id ${o.topicId}` : o.error.code}`,
          );
          if (o.error !== null) {
            this.countError(o.error);
            return;
          }
          this.stats.topicsCreated++;
          this.checker.topicCreated(name, o.topicId, `CreateTopics on node ${n.id}`);
        },
        (e: unknown) => void this.countError(e),
      );
  }

  /** The incarnation of `topic` node `c` knows (the checker's key), or an UNKNOWN_TOPIC error. */
  private incarnation(c: Composed, topic: string): string {
    const t = c.services.metadata.topic(topic);
    if (t === undefined) throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `${topic} is not known here`);
    return incarnationKey(topic, t.topicId, 0, this.options.topic);
  }

  /**
   * An acks=all produce to a recreated topic, one record naming the incarnation the node serves
   * (read from its metadata when the request arrives, as the partition manager does).
   */
  private churnProduce(topic: string): void {
    const n = this.extraTarget({ topic, partition: 0 });
    if (n === undefined) return;
    this.churnCount++;
    const count = this.churnCount;
    let sent: { key: string; value: string } | undefined;
    this.track(
      this.cluster.request(n, (c) => {
        const key = this.incarnation(c, topic);
        const value = `${key.slice(0, key.lastIndexOf('-'))}:${count}`;
        sent = { key, value };
        this.checker.sent(value);
        const batch = buildRecordBatch({
          records: [{ value: Buffer.from(value) }],
          timestampMs: BigInt(this.queue.now()),
          now: () => this.queue.now(),
        });
        return c.partitions.append({ topic, partition: 0 }, batch, -1, this.options.produceTimeoutMs);
      }),
    ).then(
      (res) => {
        if (sent === undefined) return;
        this.stats.churnProduced++;
        this.queue.note(this.owner.name, `acked ${sent.value} at ${res.baseOffset}`);
        this.checker.ack({
          tp: sent.key,
          offset: res.baseOffset,
          value: sent.value,
          acks: -1,
          idempotent: false,
          atMs: this.queue.elapsed(),
        });
      },
      (e: unknown) => void this.countError(e),
    );
  }

  /** A fetch from a recreated topic, at an offset up to the highest high watermark its incarnation showed. */
  private churnRead(topic: string): void {
    const n = this.extraTarget({ topic, partition: 0 });
    if (n === undefined) return;
    const draw = this.extra.next();
    let asked: { key: string; offset: bigint; epoch: number } | undefined;
    this.track(
      this.cluster.request(n, (c) => {
        const key = this.incarnation(c, topic);
        const max = this.checker.maxHw(key);
        const offset = max <= 0n ? 0n : BigInt(Math.floor(draw * (Number(max) + 1)));
        const epoch = this.checker.leaderEpoch(key);
        asked = { key, offset, epoch };
        return c.partitions.read({
          topic,
          partition: 0,
          fetchOffset: offset,
          maxBytes: 64 * 1024,
          minOneBatch: true,
          isolationLevel: 0,
          currentLeaderEpoch: epoch,
        });
      }),
    ).then(
      (res) => {
        if (asked === undefined) return;
        this.stats.churnReads++;
        const source = `fetch at ${asked.offset} on node ${n.id}`;
        const records = this.checker.read(
          asked.key,
          asked.offset,
          res.highWatermark,
          res.leaderEpoch,
          res.chunks,
          source,
        );
        this.checker.incarnationRead(asked.key, records, res.logStartOffset, source);
      },
      (e: unknown) => {
        const code = this.countError(e);
        if (code === 'OFFSET_OUT_OF_RANGE' && asked !== undefined && asked.epoch !== -1)
          this.checker.outOfRange(
            asked.key,
            asked.offset,
            `fetch on node ${n.id} (current leader epoch ${asked.epoch})`,
          );
      },
    );
  }

  /**
   * The node for a later operation on `tp` (as `target`, drawn from the later operations' stream):
   * one that says it leads it, else any up node.
   */
  private extraTarget(tp: { topic: string; partition: number }): SimNode | undefined {
    const up = this.cluster.up();
    if (up.length === 0) return undefined;
    const start = this.extra.int(up.length);
    for (let i = 0; i < up.length; i++) {
      const n = up[(start + i) % up.length] as SimNode;
      try {
        n.composed?.partitions.leader(tp);
        return n;
      } catch {
        // not the leader here
      }
    }
    return up[start];
  }

  /**
   * ListOffsets latest (-1: the high watermark) or earliest (-2: the log start), as a client with
   * fresh metadata sends it (its current leader epoch, KIP-320).
   */
  private listOffsets(partition: number): void {
    const n = this.extraTarget(this.tp(partition));
    if (n === undefined) return;
    const tp = this.tp(partition);
    const key = this.key(partition);
    const latest = this.extra.chance(0.5);
    const currentLeaderEpoch = this.checker.leaderEpoch(key);
    this.track(
      this.cluster.request(n, (c) => c.partitions.listOffset(tp, latest ? -1n : -2n, 0, currentLeaderEpoch)),
    ).then(
      (r) => {
        this.stats.listOffsets++;
        const source = `ListOffsets ${latest ? 'latest' : 'earliest'} on node ${n.id}`;
        this.queue.note(this.owner.name, `${source} ${key}: ${r.offset} (epoch ${r.leaderEpoch})`);
        // Latest carries the leader's epoch; earliest the epoch that wrote the log start, so the
        // log start is checked at the epoch the client asked with (the leader's: it was not fenced).
        if (latest) this.checker.listLatest(key, r.leaderEpoch, r.offset, source);
        else this.checker.listEarliest(key, currentLeaderEpoch, r.offset, source);
      },
      (e: unknown) => {
        this.countError(e);
      },
    );
  }

  /** OffsetForLeaderEpoch for an epoch seen so far, with the current leader epoch (KIP-320). */
  private offsetForLeaderEpoch(partition: number): void {
    const n = this.extraTarget(this.tp(partition));
    if (n === undefined) return;
    const tp = this.tp(partition);
    const key = this.key(partition);
    const currentLeaderEpoch = this.checker.leaderEpoch(key);
    if (currentLeaderEpoch < 0) return;
    const requested = this.extra.int(currentLeaderEpoch + 1);
    this.track(
      this.cluster.request(n, (c) => c.partitions.offsetForLeaderEpoch(tp, requested, currentLeaderEpoch)),
    ).then(
      (r) => {
        this.stats.epochQueries++;
        const source = `node ${n.id} (current epoch ${currentLeaderEpoch})`;
        this.queue.note(
          this.owner.name,
          `OffsetForLeaderEpoch ${key} ${requested} on node ${n.id}: (${r.leaderEpoch}, ${r.endOffset})`,
        );
        this.checker.epochEnd(key, requested, r.leaderEpoch, r.endOffset, source);
      },
      (e: unknown) => {
        this.countError(e);
      },
    );
  }

  // ---- consumer groups ----------------------------------------------------------------------

  /** Groups the workload sent commits to (the calm's final OffsetFetch). */
  groupIds(): string[] {
    return [...new Set(this.checker.offsetKeys().map((k) => k.slice(0, k.indexOf('/'))))];
  }

  private countCode(code: string): void {
    this.errorCounts.set(code, (this.errorCounts.get(code) ?? 0) + 1);
  }

  /** The node coordinating `client`'s group: the one it knows, else FindCoordinator on any up node. */
  private coordinatorOf(client: GroupClient): Promise<SimNode> {
    const known = client.coordinator === undefined ? undefined : this.cluster.nodes.get(client.coordinator);
    if (known !== undefined && known.state === 'up') return Promise.resolve(known);
    client.coordinator = undefined;
    const up = this.cluster.up();
    if (up.length === 0) return Promise.reject(new Error('no node is up'));
    const n = this.extra.pick(up);
    return this.cluster
      .request(n, (c) => c.services.coordinators.findCoordinator(0, client.group))
      .then((b) => {
        const found = this.cluster.nodes.get(b.nodeId);
        if (found === undefined || found.state !== 'up')
          throw new KafkaError('COORDINATOR_NOT_AVAILABLE', `node ${b.nodeId} is not up`);
        client.coordinator = b.nodeId;
        return found;
      });
  }

  /** Sends `call` to the coordinator of `client`'s group: its answer, and the node that gave it. */
  private toCoordinator<T>(
    client: GroupClient,
    call: (c: Composed, n: SimNode) => Promise<T>,
  ): Promise<{ answer: T; node: SimNode }> {
    return this.coordinatorOf(client).then((n) =>
      this.cluster.request(n, (c) => call(c, n)).then((answer) => ({ answer, node: n })),
    );
  }

  /** A failed request to the coordinator: a dropped connection or a lookup that failed. */
  private coordinatorFailed(client: GroupClient, e: unknown): void {
    const code = this.countError(e);
    if (code === 'DISCONNECTED' || COORDINATOR_ERRORS.has(code)) client.coordinator = undefined;
  }

  /** An error answered by the coordinator. */
  private coordinatorAnswered(client: GroupClient, code: string): void {
    if (code === 'NONE') return;
    this.countCode(code);
    if (COORDINATOR_ERRORS.has(code)) client.coordinator = undefined;
  }

  private committerStep(): void {
    if (this.committers.length === 0) return;
    const c = this.extra.pick(this.committers);
    if (c.busy) return;
    if (this.extra.chance(0.65)) {
      const parts = Array.from({ length: this.options.partitions }, (_, i) => i).filter(
        (i) => i === 0 || this.extra.chance(0.5),
      );
      this.commitOffsets(c, parts, -1, '');
    } else {
      const all = this.extra.chance(0.3);
      this.fetchOffsets(c, all ? null : [this.extra.int(this.options.partitions)]);
    }
  }

  private memberStep(): void {
    if (this.members.length === 0) return;
    const m = this.extra.pick(this.members);
    if (m.busy) return;
    if (m.phase === 'out') return this.join(m);
    if (m.phase === 'joined') return this.sync(m);
    const r = this.extra.next();
    if (r < 0.45) this.heartbeat(m);
    else if (r < 0.8) this.commitOffsets(m, m.assigned, m.generation, m.memberId, m);
    else if (r < 0.88) this.fetchOffsets(m, m.assigned);
    else if (r < 0.94 && m.generation > 0)
      // A zombie: a commit with the previous generation (refused unless the group is still in it).
      this.commitOffsets(m, m.assigned.length > 0 ? m.assigned : [0], m.generation - 1, m.memberId);
    else this.leave(m);
  }

  /** The next offset of register `key`: forward from its position, sometimes back on purpose. */
  private nextOffset(key: string): bigint {
    const at = this.positions.get(key) ?? 0n;
    const next = this.extra.chance(0.08) ? at / 2n : at + BigInt(this.extra.between(1, 20));
    this.positions.set(key, next);
    return next;
  }

  /**
   * OffsetCommit of `partitions` of the main topic (as the OffsetCommit handler calls the
   * coordinator; the main topic always exists, so the handler's unknown-topic answers do not arise):
   * with generation -1 outside group management, else as member `memberId` of `generationId`.
   * `member` (a commit with its current generation) rejoins when the answer says so.
   */
  private commitOffsets(
    client: GroupClient,
    partitions: readonly number[],
    generationId: number,
    memberId: string,
    member?: GroupMember,
  ): void {
    if (partitions.length === 0) return;
    const topic = this.options.topic;
    const entries = partitions.map((partition) => {
      const key = `${client.group}/${this.key(partition)}`;
      client.commits++;
      return {
        partition,
        key,
        id: `${client.name}:${client.commits}`,
        offset: this.nextOffset(key),
        leaderEpoch: this.checker.leaderEpoch(this.key(partition)),
      };
    });
    const what = `commit of ${client.name}${generationId >= 0 ? ` (generation ${generationId})` : ''}`;
    let sentAt: number | undefined;
    client.busy = true;
    this.track(
      this.toCoordinator(client, (c, n) => {
        for (const e of entries)
          this.checker.commitSent(e.key, e.id, e.offset, e.leaderEpoch, `${what} on node ${n.id}`);
        sentAt = this.checker.tick();
        this.queue.note(
          this.owner.name,
          `${what} -> n${n.id}: ${entries.map((e) => `${e.key}=${e.offset}`).join(' ')}`,
        );
        return c.services.groups.commitOffsets({
          groupId: client.group,
          generationId,
          memberId,
          groupInstanceId: null,
          retentionTimeMs: -1,
          topics: [
            {
              name: topic,
              partitions: entries.map((e) => ({
                partitionIndex: e.partition,
                committedOffset: e.offset,
                committedLeaderEpoch: e.leaderEpoch,
                commitTimestampMs: -1,
                committedMetadata: e.id,
              })),
            },
          ],
        });
      }),
    ).then(
      ({ answer, node }) => {
        client.busy = false;
        const codes = new Map<number, string>();
        for (const t of answer.topics) for (const p of t.partitions) codes.set(p.partitionIndex, p.errorCode);
        for (const e of entries) {
          const code = codes.get(e.partition) ?? 'UNKNOWN_SERVER_ERROR';
          this.checker.commitAnswered(e.id, code);
          this.coordinatorAnswered(client, code);
          if (code === 'NONE') {
            this.stats.offsetCommits++;
            if (generationId >= 0 && sentAt !== undefined)
              this.checker.generationCommitted(
                client.group,
                generationId,
                sentAt,
                `${what} on node ${node.id}`,
              );
          }
        }
        const first = codes.values().next().value ?? 'NONE';
        this.queue.note(this.owner.name, `${what}: ${first}`);
        if (member !== undefined) this.memberError(member, first);
      },
      (e: unknown) => {
        client.busy = false;
        // Sent or not, its outcome is unknown to the client.
        if (sentAt !== undefined) for (const x of entries) this.checker.commitAnswered(x.id, 'DISCONNECTED');
        this.coordinatorFailed(client, e);
      },
    );
  }

  /** OffsetFetch of `partitions` of the main topic (null: every committed offset of the group). */
  private fetchOffsets(client: GroupClient, partitions: readonly number[] | null): void {
    if (partitions !== null && partitions.length === 0) return;
    const requireStable = this.extra.chance(0.5);
    let sentAt = 0;
    client.busy = true;
    this.track(
      this.toCoordinator(client, (c) => {
        sentAt = this.checker.tick();
        return Promise.resolve(
          c.services.groups.fetchOffsets({
            groupId: client.group,
            topics:
              partitions === null ? null : [{ name: this.options.topic, partitionIndexes: [...partitions] }],
            requireStable,
          }),
        );
      }),
    ).then(
      ({ answer, node }) => {
        client.busy = false;
        this.offsetsAnswered(
          client,
          answer,
          partitions,
          sentAt,
          `OffsetFetch of ${client.name} on node ${node.id}${requireStable ? ' (require_stable)' : ''}`,
        );
      },
      (e: unknown) => {
        client.busy = false;
        this.coordinatorFailed(client, e);
      },
    );
  }

  /** Checks an OffsetFetch answer; whether the coordinator answered (NONE). */
  private offsetsAnswered(
    client: GroupClient,
    answer: ReturnType<Composed['services']['groups']['fetchOffsets']>,
    partitions: readonly number[] | null,
    sentAt: number,
    source: string,
  ): boolean {
    if (answer.errorCode !== 'NONE') {
      this.coordinatorAnswered(client, answer.errorCode);
      return false;
    }
    this.stats.offsetFetches++;
    const shown = new Map<number, { offset: bigint; leaderEpoch: number; metadata: string }>();
    const unstable = new Set<number>();
    for (const t of answer.topics) {
      if (t.name !== this.options.topic) continue;
      for (const p of t.partitions) {
        if (p.errorCode === 'UNSTABLE_OFFSET_COMMIT') unstable.add(p.partitionIndex);
        else if (p.errorCode !== 'NONE') this.coordinatorAnswered(client, p.errorCode);
        else if (p.committedOffset >= 0n)
          shown.set(p.partitionIndex, {
            offset: p.committedOffset,
            leaderEpoch: p.committedLeaderEpoch,
            metadata: p.metadata ?? '',
          });
      }
    }
    const asked = partitions ?? Array.from({ length: this.options.partitions }, (_, i) => i);
    const shows = (p: number): string => {
      const o = shown.get(p);
      return unstable.has(p) ? 'unstable' : o === undefined ? 'none' : `${o.offset} (${o.metadata})`;
    };
    this.queue.note(
      this.owner.name,
      `${source} of ${client.group}: ${asked.map((p) => `${this.key(p)}=${shows(p)}`).join(' ')}`,
    );
    for (const partition of asked)
      if (!unstable.has(partition))
        this.checker.offsetFetched(
          `${client.group}/${this.key(partition)}`,
          sentAt,
          shown.get(partition),
          source,
        );
    return true;
  }

  /**
   * The calm's check of `group`: FindCoordinator and OffsetFetch of the whole group; whether the
   * coordinator answered.
   */
  finalOffsets(group: string): Promise<boolean> {
    const client: GroupClient = { name: 'final', group, coordinator: undefined, busy: false, commits: 0 };
    let sentAt = 0;
    return this.toCoordinator(client, (c) => {
      sentAt = this.checker.tick();
      return Promise.resolve(
        c.services.groups.fetchOffsets({ groupId: group, topics: null, requireStable: true }),
      );
    }).then(
      ({ answer, node }) =>
        this.offsetsAnswered(client, answer, null, sentAt, `the final OffsetFetch on node ${node.id}`),
      () => false,
    );
  }

  /** What a member does on an error answer: look the coordinator up again, or rejoin. */
  private memberError(m: GroupMember, code: string): void {
    if (code === 'NONE') return;
    if (code === 'UNKNOWN_MEMBER_ID' || code === 'FENCED_INSTANCE_ID') {
      m.memberId = '';
      m.phase = 'out';
    } else if (code === 'ILLEGAL_GENERATION' || code === 'REBALANCE_IN_PROGRESS') m.phase = 'out';
  }

  /** JoinGroup (a new member first learns its id from MEMBER_ID_REQUIRED, then joins with it). */
  private join(m: GroupMember, retry = true): void {
    m.busy = true;
    this.track(
      this.toCoordinator(m, (c) =>
        c.services.groups.joinGroup({
          groupId: m.group,
          memberId: m.memberId,
          groupInstanceId: null,
          clientId: m.name,
          clientHost: '/sim',
          sessionTimeoutMs: SESSION_TIMEOUT_MS,
          rebalanceTimeoutMs: this.options.groups.rebalanceTimeoutMs,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: Buffer.from(m.name) }],
          requireKnownMemberId: true,
          supportsSkipAssignment: false,
        }),
      ),
    ).then(
      ({ answer, node }) => {
        m.busy = false;
        this.queue.note(
          this.owner.name,
          `join ${m.name} on n${node.id}: ${answer.errorCode} generation ${answer.generationId} leader ${answer.leader}`,
        );
        if (answer.errorCode === 'MEMBER_ID_REQUIRED') {
          m.memberId = answer.memberId;
          if (retry) this.join(m, false);
          return;
        }
        if (answer.errorCode !== 'NONE') {
          this.coordinatorAnswered(m, answer.errorCode);
          this.memberError(m, answer.errorCode);
          return;
        }
        this.stats.joins++;
        m.memberId = answer.memberId;
        m.generation = answer.generationId;
        m.leader = answer.leader;
        m.joined = answer.members.map((x) => x.memberId);
        m.phase = 'joined';
        this.sync(m);
      },
      (e: unknown) => {
        m.busy = false;
        this.coordinatorFailed(m, e);
      },
    );
  }

  /** SyncGroup; the leader assigns the main topic's partitions round-robin over the members it was given. */
  private sync(m: GroupMember): void {
    const generation = m.generation;
    const leader = m.leader;
    const assignments: Array<{ memberId: string; assignment: Uint8Array }> = [];
    if (leader === m.memberId) {
      const ids = [...m.joined].sort();
      for (let i = 0; i < ids.length; i++) {
        const parts: number[] = [];
        for (let p = i; p < this.options.partitions; p += ids.length) parts.push(p);
        assignments.push({
          memberId: ids[i] as string,
          assignment: encodeAssignment(leader, generation, parts),
        });
      }
    }
    m.busy = true;
    this.track(
      this.toCoordinator(m, (c) =>
        c.services.groups.syncGroup({
          groupId: m.group,
          generationId: generation,
          memberId: m.memberId,
          groupInstanceId: null,
          protocolType: 'consumer',
          protocolName: 'range',
          assignments,
        }),
      ),
    ).then(
      ({ answer, node }) => {
        m.busy = false;
        this.queue.note(
          this.owner.name,
          `sync ${m.name} generation ${generation} on n${node.id}: ${answer.errorCode}`,
        );
        if (answer.errorCode !== 'NONE') {
          this.coordinatorAnswered(m, answer.errorCode);
          this.memberError(m, answer.errorCode);
          return;
        }
        this.stats.syncs++;
        this.checker.assignmentReceived(
          m.group,
          generation,
          leader,
          answer.assignment,
          `${m.name} (${m.memberId})`,
        );
        m.assigned = decodeAssignment(answer.assignment)?.partitions ?? [];
        m.phase = 'stable';
        // A consumer fetches its partitions' committed offsets once it has them.
        this.fetchOffsets(m, m.assigned);
      },
      (e: unknown) => {
        m.busy = false;
        this.coordinatorFailed(m, e);
      },
    );
  }

  private heartbeat(m: GroupMember): void {
    m.busy = true;
    this.track(
      this.toCoordinator(m, (c) =>
        Promise.resolve(
          c.services.groups.heartbeat({
            groupId: m.group,
            generationId: m.generation,
            memberId: m.memberId,
            groupInstanceId: null,
          }),
        ),
      ),
    ).then(
      ({ answer }) => {
        m.busy = false;
        this.stats.heartbeats++;
        this.coordinatorAnswered(m, answer);
        this.memberError(m, answer);
      },
      (e: unknown) => {
        m.busy = false;
        this.coordinatorFailed(m, e);
      },
    );
  }

  /** LeaveGroup; the consumer starts again as a new member (a restarted process). */
  private leave(m: GroupMember): void {
    m.busy = true;
    this.track(
      this.toCoordinator(m, (c) =>
        Promise.resolve(
          c.services.groups.leaveGroup({
            groupId: m.group,
            members: [{ memberId: m.memberId, groupInstanceId: null, reason: 'the simulation' }],
          }),
        ),
      ),
    ).then(
      ({ answer, node }) => {
        m.busy = false;
        this.stats.leaves++;
        this.queue.note(
          this.owner.name,
          `leave ${m.name} on n${node.id}: ${answer.members[0]?.errorCode ?? answer.errorCode}`,
        );
        this.coordinatorAnswered(m, answer.errorCode);
        m.memberId = '';
        m.phase = 'out';
        m.generation = -1;
        m.assigned = [];
      },
      (e: unknown) => {
        m.busy = false;
        this.coordinatorFailed(m, e);
      },
    );
  }

  private produce(p: Producer): void {
    if (p.busy) return;
    if (p.idempotent && p.id === undefined) {
      this.initProducer(p);
      return;
    }
    const n = this.target(p.partition);
    if (n === undefined) return;
    if (p.pending === undefined) {
      const seq = p.nextSeq;
      p.pending = { seq, value: `${p.name}.${p.generation}:${seq}` };
    }
    const pending = p.pending;
    p.attempts++;
    if (!p.idempotent) pending.value = `${p.name}:a${p.attempts}`;
    if (p.idempotent) this.checker.idempotentValues.add(pending.value);
    this.checker.sent(pending.value);
    const batch = buildRecordBatch({
      records: [{ value: Buffer.from(pending.value) }],
      timestampMs: BigInt(this.queue.now()),
      now: () => this.queue.now(),
      ...(p.idempotent && p.id !== undefined
        ? { producerId: p.id.producerId, producerEpoch: p.id.producerEpoch, baseSequence: pending.seq }
        : {}),
    });
    const tp = this.tp(p.partition);
    const key = this.key(p.partition);
    p.busy = true;
    this.queue.note(this.owner.name, `produce ${p.name} ${pending.value} acks=${p.acks} -> n${n.id}`);
    this.track(
      this.cluster.request(n, (c) => c.partitions.append(tp, batch, p.acks, this.options.produceTimeoutMs)),
    ).then(
      (res) => {
        p.busy = false;
        p.pending = undefined;
        p.nextSeq++;
        if (p.acks === 0) {
          // Kafka sends no answer to acks=0: the client only knows the request went out. It may be
          // lost (never visible), or in the log once (never twice for an idempotent producer).
          this.stats.sentAcks0++;
          this.queue.note(this.owner.name, `sent ${pending.value} acks=0`);
          return;
        }
        this.stats.produced++;
        this.queue.note(this.owner.name, `acked ${pending.value} at ${res.baseOffset}`);
        this.checker.ack({
          tp: key,
          offset: res.baseOffset,
          value: pending.value,
          acks: p.acks,
          idempotent: p.idempotent,
          atMs: this.queue.elapsed(),
        });
      },
      (e: unknown) => {
        p.busy = false;
        this.stats.produceErrors++;
        const code = this.countError(e);
        this.queue.note(this.owner.name, `produce ${pending.value} failed ${code}`);
        if (p.idempotent && RESET_ERRORS.has(code)) {
          // The client gives up on this producer id; the batch's fate stays unknown.
          this.stats.resets++;
          p.id = undefined;
          p.pending = undefined;
          p.nextSeq = 0;
        }
        if (!p.idempotent) p.pending = undefined;
      },
    );
  }

  private initProducer(p: Producer): void {
    const up = this.cluster.up();
    if (up.length === 0) return;
    const n = this.rng.pick(up);
    p.busy = true;
    this.track(
      this.cluster.request(n, (c) =>
        c.services.producerIds.initProducerId({
          transactionalId: null,
          transactionTimeoutMs: 60_000,
          producerId: -1n,
          producerEpoch: -1,
        }),
      ),
    ).then(
      (id) => {
        p.busy = false;
        p.id = id;
        p.nextSeq = 0;
        p.generation++;
        this.stats.inits++;
        this.queue.note(this.owner.name, `producer ${p.name} id ${id.producerId}`);
      },
      (e: unknown) => {
        p.busy = false;
        this.countError(e);
      },
    );
  }

  private fetch(partition: number): void {
    const n = this.target(partition);
    if (n === undefined) return;
    const key = this.key(partition);
    const max = this.checker.maxHw(key);
    const offset = max <= 0n ? 0n : BigInt(this.rng.int(Number(max) + 1));
    this.read(n, partition, offset, 'fetch');
  }

  private reReadAcked(): void {
    const keys = [...this.checker.acked.keys()].filter((k) => k.startsWith(`${this.options.topic}-`));
    if (keys.length === 0) return;
    const key = this.rng.pick(keys);
    const list = this.checker.acked.get(key) ?? [];
    const a = this.rng.pick(list);
    const partition = Number(key.slice(key.lastIndexOf('-') + 1));
    const n = this.target(partition);
    if (n === undefined) return;
    this.read(n, partition, a.offset, `re-read of ${a.value}`).then(
      (answer) => {
        // A deposed leader that has not noticed yet may show a lower high watermark (in its older
        // epoch); below the one it shows, the record must be there.
        if (answer === undefined || answer.hw <= a.offset) return;
        if (!answer.records.some((x) => x.offset === a.offset))
          this.checker.fail(
            'acked-lost',
            `${key}: reading ${a.offset} on node ${n.id} (high watermark ${answer.hw}) does not return acks=all record ${a.value}`,
          );
      },
      () => undefined,
    );
  }

  /**
   * Reads from `offset`, as a client that knows the partition's newest leader epoch (most of the
   * time; sometimes as an old client that sends none); undefined when the read was refused.
   */
  private read(
    n: SimNode,
    partition: number,
    offset: bigint,
    what: string,
  ): Promise<{ records: ReadRecord[]; hw: bigint } | undefined> {
    const tp = this.tp(partition);
    const key = this.key(partition);
    const currentLeaderEpoch = this.rng.chance(0.8) ? this.checker.leaderEpoch(key) : -1;
    return this.track(
      this.cluster.request(n, (c) =>
        c.partitions.read({
          ...tp,
          fetchOffset: offset,
          maxBytes: 64 * 1024,
          minOneBatch: true,
          isolationLevel: 0,
          currentLeaderEpoch,
        }),
      ),
    ).then(
      (res) => {
        this.stats.reads++;
        const records = this.checker.read(
          key,
          offset,
          res.highWatermark,
          res.leaderEpoch,
          res.chunks,
          `${what} at ${offset} on node ${n.id}`,
        );
        return { records, hw: res.highWatermark };
      },
      (e: unknown) => {
        this.stats.readErrors++;
        const code = this.countError(e);
        if (code === 'OFFSET_OUT_OF_RANGE' && currentLeaderEpoch !== -1)
          this.checker.outOfRange(
            key,
            offset,
            `${what} on node ${n.id} (current leader epoch ${currentLeaderEpoch})`,
          );
        return undefined;
      },
    );
  }
}
