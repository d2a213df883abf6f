// The checks, as pure functions of the history, the final reads and the replicas' final state.
// Names follow Jepsen's Kafka workload (lost-write, duplicate, inconsistent-offsets, nonmonotonic-poll,
// poll-skip) plus Chronik's own (committed-offsets-regress, replicas-identical, ...).
import type { CommittedOp, FaultOp, Op, PollOp, SendOp, TopicOp } from './history.js';
import type { ReplicaLogComparison } from './replica-logs.js';

export interface ReadRecord {
  offset: number;
  value: string;
}

/** One complete read of one partition after healing (from its leader, through bootstrap `via`). */
export interface FinalRead {
  via: string;
  partition: number;
  records: ReadRecord[];
  /** The read ended where it should (the partition's high watermark) without error. */
  complete: boolean;
  error?: string;
}

/** One replica's state after healing, from that node's /v1/partitions. */
export interface ReplicaState {
  node: number;
  topic: string;
  partition: number;
  role: string;
  leader: number;
  leaderEpoch: number;
  highWatermark: number;
  logEndOffset: number;
  logStartOffset: number;
}

export interface CheckInput {
  ops: readonly Op[];
  topic: string;
  partitions: number;
  finalReads: readonly FinalRead[];
  replicas: readonly ReplicaState[];
  /** The replicas agreed (same leader, epoch, high watermark and log end) before the deadline. */
  converged: boolean;
  /** Topics still present on some node after healing (from /v1/partitions). */
  topicsPresent: readonly string[];
  /** A send slower than this counts as unavailable in the unavailability windows. */
  slowMs: number;
  /** The offline comparison of the stopped replicas' Raft logs (absent: not done). */
  replicaLogs?: ReplicaLogComparison;
}

export interface CheckResult {
  name: string;
  /** A violation of this check fails the run. */
  safety: boolean;
  count: number;
  /** Up to MAX_DETAILS examples. */
  details: string[];
}

export interface Unavailability {
  faultIndex: number;
  kind: string;
  description: string;
  appliedMs: number;
  healedMs: number | undefined;
  /** Longest span an acks=all writer could not write some partition, from this fault to the next. */
  windowMs: number;
  partition: number | undefined;
}

export interface CheckOutcome {
  checks: CheckResult[];
  unavailability: Unavailability[];
  longestUnavailabilityMs: number;
  valid: boolean;
  stats: {
    sends: Record<string, { ok: number; info: number; fail: number }>;
    polls: number;
    commits: { ok: number; info: number };
    finalRecords: number;
    churn: { created: number; deleted: number; failed: number };
    /** Longest time the consumer group polled nothing while writers were acknowledging records. */
    longestPollGapMs: number;
    longestPollGapAtMs: number;
  };
}

const MAX_DETAILS = 20;

class Check {
  count = 0;
  readonly details: string[] = [];
  constructor(
    readonly name: string,
    readonly safety: boolean,
  ) {}
  add(detail: string): void {
    this.count++;
    if (this.details.length < MAX_DETAILS) this.details.push(detail);
  }
  result(): CheckResult {
    return { name: this.name, safety: this.safety, count: this.count, details: this.details };
  }
}

const key = (p: number, o: number): string => `${p}:${o}`;

/** Every check of the `queue` workload's run: its own (checkQueue) and the cluster's (clusterChecks). */
export function check(input: CheckInput): CheckOutcome {
  const outcome = checkQueue(input);
  const checks = mergeChecks([
    outcome.checks,
    clusterChecks({ ...input, topics: [{ topic: input.topic, partitions: input.partitions }] }),
  ]);
  return { ...outcome, checks, valid: checks.every((r) => !r.safety || r.count === 0) };
}

/** The checks of the `queue` workload's data (the final reads, sends, polls, commits, topics). */
export function checkQueue(input: CheckInput): CheckOutcome {
  const { ops, topic } = input;
  const sends = ops.filter((o): o is SendOp => o.f === 'send' && o.topic === topic);
  const polls = ops.filter((o): o is PollOp => o.f === 'poll' && o.topic === topic);
  const checks = {
    lostWrite: new Check('lost-write', true),
    lostAcks1: new Check('lost-write-acks1', false),
    duplicateIdem: new Check('duplicate', true),
    duplicateOther: new Check('duplicate-non-idempotent', false),
    inconsistent: new Check('inconsistent-offsets', true),
    acks1Reused: new Check('acks1-offset-reused', false),
    unexpected: new Check('unexpected-value', true),
    failedVisible: new Check('failed-write-visible', true),
    nonmonotonic: new Check('nonmonotonic-poll', true),
    skip: new Check('poll-skip', true),
    committed: new Check('committed-offsets-regress', true),
    // Here: the final reads of a partition agree; clusterChecks adds the replicas' own views.
    replicas: new Check('replicas-identical', true),
    finalRead: new Check('final-read-complete', true),
    deleted: new Check('deleted-topic-gone', true),
  };

  // The final log: per partition offset → value, from the first complete read; every read is
  // compared with it.
  const finalLog = new Map<number, Map<number, string>>();
  for (let p = 0; p < input.partitions; p++) {
    const reads = input.finalReads.filter((r) => r.partition === p);
    const good = reads.filter((r) => r.complete);
    if (good.length === 0) {
      checks.finalRead.add(
        `partition ${p}: no complete final read (${reads.map((r) => `${r.via}: ${r.error ?? 'incomplete'}`).join('; ') || 'none'})`,
      );
      continue;
    }
    const log = new Map<number, string>();
    for (const r of (good[0] as FinalRead).records) log.set(r.offset, r.value);
    finalLog.set(p, log);
    // The read must be gap-free from the log start to the high watermark the replicas report.
    const leaderState = input.replicas.find(
      (s) => s.topic === topic && s.partition === p && s.role === 'leader',
    );
    if (leaderState) {
      for (let o = leaderState.logStartOffset; o < leaderState.highWatermark; o++)
        if (!log.has(o)) {
          checks.finalRead.add(
            `partition ${p}: offset ${o} below the high watermark ${leaderState.highWatermark} missing from the final read`,
          );
          break;
        }
      const beyond = [...log.keys()].filter((o) => o >= leaderState.highWatermark);
      if (beyond.length > 0)
        checks.finalRead.add(
          `partition ${p}: final read returned offsets ≥ high watermark ${leaderState.highWatermark}: ${beyond.slice(0, 5).join(',')}`,
        );
    }
  }

  // inconsistent-offsets: one (partition, offset), two values, across final reads, polls and
  // acks=all acknowledgements.
  const seen = new Map<string, Map<string, string>>(); // key → value → first source
  const note = (p: number, o: number, v: string, source: string): void => {
    const k = key(p, o);
    let m = seen.get(k);
    if (!m) seen.set(k, (m = new Map()));
    if (!m.has(v)) m.set(v, source);
  };
  for (const r of input.finalReads)
    for (const rec of r.records) note(r.partition, rec.offset, rec.value, `final read via ${r.via}`);
  for (const pl of polls)
    pl.offsets.forEach((o, i) =>
      note(pl.partition, o, pl.values[i] ?? '', `poll by ${pl.process} at ${pl.completeMs} ms`),
    );
  for (const s of sends)
    if (s.outcome === 'ok' && s.offset !== undefined) {
      if (s.acks === 'all') note(s.partition, s.offset, s.value, `ack of ${s.process} at ${s.completeMs} ms`);
      else {
        const v = finalLog.get(s.partition)?.get(s.offset);
        if (v !== undefined && v !== s.value)
          checks.acks1Reused.add(
            `${s.value} acked (acks=1) at ${s.partition}:${s.offset}, which now holds ${v}`,
          );
      }
    }
  for (const [k, m] of seen)
    if (m.size > 1)
      checks.inconsistent.add(`${k}: ${[...m].map(([v, src]) => `${v} (${src})`).join(' vs ')}`);

  // The values every writer attempted, to tell unexpected values apart.
  const attempted = new Map<string, SendOp>();
  for (const s of sends) attempted.set(s.value, s);

  // lost-write / duplicate / unexpected-value from the final log.
  const where = new Map<string, Array<[number, number]>>();
  for (const [p, log] of finalLog)
    for (const [o, v] of log) {
      const list = where.get(v) ?? [];
      list.push([p, o]);
      where.set(v, list);
      if (!attempted.has(v)) checks.unexpected.add(`${p}:${o} holds ${v}, which no writer sent`);
    }
  for (const pl of polls)
    pl.values.forEach((v, i) => {
      if (!attempted.has(v))
        checks.unexpected.add(
          `poll by ${pl.process} read ${v} at ${pl.partition}:${pl.offsets[i]}, which no writer sent`,
        );
    });
  for (const s of sends) {
    if (s.outcome === 'fail' && where.has(s.value))
      checks.failedVisible.add(
        `${s.value} (${s.process}) failed for certain at ${s.completeMs} ms but is at ${where
          .get(s.value)
          ?.map(([p, o]) => `${p}:${o}`)
          .join(', ')}`,
      );
    if (s.outcome !== 'ok' || !finalLog.has(s.partition)) continue;
    if (!where.has(s.value)) {
      const d = `${s.value} (${s.process}, acks=${s.acks}, partition ${s.partition}, offset ${s.offset ?? '?'}, acked ${s.invokeMs}-${s.completeMs} ms) missing from the final read`;
      if (s.acks === 'all') checks.lostWrite.add(d);
      else checks.lostAcks1.add(d);
    }
  }
  for (const [v, places] of where) {
    if (places.length < 2) continue;
    const s = attempted.get(v);
    const d = `${v} at ${places.map(([p, o]) => `${p}:${o}`).join(', ')}`;
    if (s?.idempotent) checks.duplicateIdem.add(d);
    else checks.duplicateOther.add(d);
  }

  // nonmonotonic-poll / poll-skip: per consumer and partition, between (re)assignments.
  const lastSeen = new Map<string, number>();
  for (const o of ops) {
    if (o.f === 'assign' && o.topic === topic) {
      for (const k of [...lastSeen.keys()]) if (k.startsWith(`${o.process}/`)) lastSeen.delete(k);
      continue;
    }
    if (o.f !== 'poll' || o.topic !== topic) continue;
    const k = `${o.process}/${o.partition}`;
    let prev = lastSeen.get(k);
    const log = finalLog.get(o.partition);
    for (const off of o.offsets) {
      if (prev !== undefined) {
        if (off <= prev)
          checks.nonmonotonic.add(
            `${o.process} read ${o.partition}:${off} after ${o.partition}:${prev} (at ${o.completeMs} ms)`,
          );
        else if (off > prev + 1 && log !== undefined) {
          const skipped: number[] = [];
          for (let x = prev + 1; x < off && skipped.length < 5; x++) if (log.has(x)) skipped.push(x);
          if (skipped.length > 0)
            checks.skip.add(
              `${o.process} jumped from ${o.partition}:${prev} to ${o.partition}:${off} (at ${o.completeMs} ms), skipping ${skipped.join(',')}`,
            );
        }
      }
      prev = off;
    }
    if (prev !== undefined) lastSeen.set(k, prev);
  }

  // committed offsets never go backwards across observations.
  const committedSeen = new Map<string, { offset: number; at: number }>();
  for (const o of ops) {
    if (o.f !== 'committed' || o.outcome !== 'ok' || o.topic !== topic) continue;
    for (const [p, off] of Object.entries((o as CommittedOp).offsets)) {
      const prev = committedSeen.get(p);
      if (prev !== undefined && off < prev.offset)
        checks.committed.add(
          `partition ${p}: committed offset ${off} at ${o.completeMs} ms after ${prev.offset} at ${prev.at} ms`,
        );
      if (prev === undefined || off >= prev.offset) committedSeen.set(p, { offset: off, at: o.completeMs });
    }
    for (const [p, off] of Object.entries((o as CommittedOp).offsets)) {
      const hw = input.replicas.find(
        (s) => s.topic === topic && s.partition === Number(p) && s.role === 'leader',
      )?.highWatermark;
      if (hw !== undefined && off > hw)
        checks.committed.add(`partition ${p}: committed offset ${off} beyond the final high watermark ${hw}`);
    }
  }

  // Every complete final read of a partition is the same log.
  for (let p = 0; p < input.partitions; p++) {
    const good = input.finalReads.filter((r) => r.partition === p && r.complete);
    const first = good[0];
    for (const r of good.slice(1)) {
      if (first === undefined) break;
      const a = first.records.map((x) => `${x.offset}=${x.value}`).join(',');
      const b = r.records.map((x) => `${x.offset}=${x.value}`).join(',');
      if (a !== b)
        checks.replicas.add(
          `partition ${p}: final read via ${first.via} (${first.records.length} records) differs from the read via ${r.via} (${r.records.length})`,
        );
    }
  }

  // Topics whose deletion was acknowledged are gone everywhere.
  const topicOps = ops.filter((o): o is TopicOp => o.f === 'create-topic' || o.f === 'delete-topic');
  for (const t of topicOps)
    if (t.f === 'delete-topic' && t.outcome === 'ok' && input.topicsPresent.includes(t.topic))
      checks.deleted.add(
        `${t.topic}: deletion acknowledged at ${t.completeMs} ms, still has replicas after healing`,
      );

  const unavailability = unavailabilityWindows(ops, topic, input.slowMs);
  const stats: CheckOutcome['stats'] = {
    sends: {},
    polls: polls.length,
    commits: { ok: 0, info: 0 },
    finalRecords: [...finalLog.values()].reduce((n, l) => n + l.size, 0),
    ...pollGap(polls, sends),
    churn: {
      created: topicOps.filter((t) => t.f === 'create-topic' && t.outcome === 'ok').length,
      deleted: topicOps.filter((t) => t.f === 'delete-topic' && t.outcome === 'ok').length,
      failed: topicOps.filter((t) => t.outcome !== 'ok').length,
    },
  };
  for (const s of sends) {
    const k = `acks=${s.acks}${s.idempotent ? ' idempotent' : ''}`;
    const e = (stats.sends[k] ??= { ok: 0, info: 0, fail: 0 });
    e[s.outcome]++;
  }
  for (const o of ops) if (o.f === 'commit') stats.commits[o.outcome === 'ok' ? 'ok' : 'info']++;
  const results = Object.values(checks).map((c) => c.result());
  return {
    checks: results,
    unavailability,
    longestUnavailabilityMs: unavailability.reduce((m, u) => Math.max(m, u.windowMs), 0),
    valid: results.every((r) => !r.safety || r.count === 0),
    stats,
  };
}

export interface ClusterCheckInput {
  ops: readonly Op[];
  replicas: readonly ReplicaState[];
  converged: boolean;
  replicaLogs?: ReplicaLogComparison;
  /** The workloads' topics, whose replicas must agree. */
  topics: ReadonlyArray<{ topic: string; partitions: number }>;
}

/**
 * The checks of the cluster itself, whatever the workload: fault-expectations, replicas-identical
 * (every replica of the topics agrees after healing) and replica-logs-identical.
 */
export function clusterChecks(input: ClusterCheckInput): CheckResult[] {
  const faultExpectations = new Check('fault-expectations', true);
  const replicas = new Check('replicas-identical', true);
  const replicaLogs = new Check('replica-logs-identical', true);
  for (const f of input.ops)
    if (f.f === 'fault' && f.expectation !== undefined && !f.expectation.met)
      faultExpectations.add(
        `fault ${f.index} (${f.description}): ${f.expectation.what} — ${f.expectation.detail}`,
      );

  if (!input.converged)
    replicas.add('replicas did not converge (leader, epoch, high watermark, log end) before the deadline');
  for (const { topic, partitions } of input.topics)
    for (let p = 0; p < partitions; p++) {
      const states = input.replicas.filter((s) => s.topic === topic && s.partition === p);
      if (states.length === 0) {
        replicas.add(`${topic}-${p}: no replica reported`);
        continue;
      }
      const fields = (s: ReplicaState): string =>
        `hw ${s.highWatermark} leo ${s.logEndOffset} start ${s.logStartOffset} epoch ${s.leaderEpoch} leader ${s.leader}`;
      const distinct = new Set(states.map(fields));
      if (distinct.size > 1)
        replicas.add(`${topic}-${p}: ${states.map((s) => `node ${s.node}: ${fields(s)}`).join('; ')}`);
      for (const s of states)
        if (s.logEndOffset !== s.highWatermark)
          replicas.add(
            `${topic}-${p} on node ${s.node}: log end ${s.logEndOffset} ≠ high watermark ${s.highWatermark} after healing`,
          );
    }

  // The stopped replicas' Raft logs agree up to the smallest commit index.
  if (input.replicaLogs) {
    for (const m of input.replicaLogs.mismatches) replicaLogs.add(m);
    for (let i = input.replicaLogs.mismatches.length; i < input.replicaLogs.mismatchCount; i++)
      replicaLogs.add('(more differing entries)');
    for (const e of input.replicaLogs.errors) replicaLogs.add(`unreadable: ${e}`);
  }
  return [replicas.result(), replicaLogs.result(), faultExpectations.result()];
}

/** Lists of check results as one: results of the same name add up (in the order names first appear). */
export function mergeChecks(lists: ReadonlyArray<readonly CheckResult[]>): CheckResult[] {
  const out = new Map<string, CheckResult>();
  for (const list of lists)
    for (const c of list) {
      const m = out.get(c.name);
      if (m === undefined) out.set(c.name, { ...c, details: [...c.details] });
      else {
        m.count += c.count;
        m.safety ||= c.safety;
        m.details = [...m.details, ...c.details].slice(0, MAX_DETAILS);
      }
    }
  return [...out.values()];
}

/**
 * For each fault: the longest span, over acks=all writers and partitions, that a writer could not
 * write a partition. A span is a run of consecutive bad sends on one (writer, partition) stream
 * (failed, unknown, or slower than `slowMs`), from the first one's invocation to the completion of
 * the next good send; it belongs to the latest fault applied before its first bad send completed.
 */
export function unavailabilityWindows(ops: readonly Op[], topic: string, slowMs: number): Unavailability[] {
  const streams = new Map<string, StreamOp[]>();
  for (const o of ops)
    if (o.f === 'send' && o.topic === topic && o.acks === 'all') {
      const k = `${o.process}/${o.partition}`;
      const list = streams.get(k) ?? [];
      list.push({
        invokeMs: o.invokeMs,
        completeMs: o.completeMs,
        bad: o.outcome !== 'ok' || o.completeMs - o.invokeMs > slowMs,
        partition: o.partition,
      });
      streams.set(k, list);
    }
  return faultWindows(ops, streams.values());
}

/** One operation of a stream of operations that should keep succeeding (see `faultWindows`). */
export interface StreamOp {
  invokeMs: number;
  completeMs: number;
  /** Failed, unknown or too slow. */
  bad: boolean;
  partition?: number;
}

/**
 * For each fault of `ops`: the longest run of consecutive bad operations on one stream, from the
 * first one's invocation to the completion of the next good one (or of the last bad one), charged
 * to the latest fault applied before its first bad operation completed.
 */
export function faultWindows(ops: readonly Op[], streams: Iterable<readonly StreamOp[]>): Unavailability[] {
  const faults = ops.filter((o): o is FaultOp => o.f === 'fault').sort((a, b) => a.invokeMs - b.invokeMs);
  const out: Unavailability[] = faults.map((f) => ({
    faultIndex: f.index,
    kind: f.kind,
    description: f.description,
    appliedMs: f.completeMs,
    healedMs: f.healedMs,
    windowMs: 0,
    partition: undefined,
  }));
  const owner = (atMs: number): number => {
    let k = -1;
    for (let i = 0; i < faults.length && (faults[i] as FaultOp).invokeMs <= atMs; i++) k = i;
    return k;
  };
  for (const stream of streams) {
    const list = [...stream].sort((a, b) => a.invokeMs - b.invokeMs);
    for (let i = 0; i < list.length; i++) {
      const first = list[i] as StreamOp;
      if (!first.bad) continue;
      let j = i;
      while (j < list.length && (list[j] as StreamOp).bad) j++;
      const lastBad = list[j - 1] as StreamOp;
      const end = j < list.length ? (list[j] as StreamOp).completeMs : lastBad.completeMs;
      const u = out[owner(first.completeMs)];
      if (u !== undefined && end - first.invokeMs > u.windowMs) {
        u.windowMs = end - first.invokeMs;
        u.partition = first.partition;
      }
      i = j;
    }
  }
  return out;
}

/** The longest span without a poll, between the first poll and the last acknowledged send (of the given topic's ops). */
export function pollGap(
  polls: readonly PollOp[],
  sends: readonly SendOp[],
): { longestPollGapMs: number; longestPollGapAtMs: number } {
  const times = polls.map((p) => p.completeMs).sort((a, b) => a - b);
  const lastAck = sends.reduce((m, s) => (s.outcome === 'ok' ? Math.max(m, s.completeMs) : m), 0);
  let best = 0;
  let at = 0;
  for (let i = 0; i < times.length; i++) {
    const from = times[i] as number;
    if (from > lastAck) break;
    const to = Math.min(times[i + 1] ?? lastAck, lastAck);
    if (to - from > best) {
      best = to - from;
      at = from;
    }
  }
  return { longestPollGapMs: best, longestPollGapAtMs: at };
}
