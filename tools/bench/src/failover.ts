// Leader failover (issue 9's unavailability target): a 3-node cluster, continuous acks=all produce
// to one partition, kill -9 of the partition's leader (found through the admin API), and the time
// from the kill until the first successful acks=all produce after it; then the old leader is
// started again and the time until it rejoined and caught up is measured too. Repeated a few times.
//
// The prober behaves like a Kafka client: one Produce in flight to the leader it learned from
// Metadata; on a connection error, a timeout or a retriable error it refreshes metadata from any
// node that answers and tries again after a short backoff (much shorter than a client's default
// 100 ms, so the measurement resolves what the server does, not the client's backoff).
import * as http from 'node:http';
import { ApiKey, ErrorCode, buildRecordBatch, decodeResponseFrame } from '@chronik/protocol';
import type { ProduceRequest } from '@chronik/protocol';
import type { ChronikDeployment } from './chronik.js';
import { BenchError, errorMessage } from './errors.js';
import { KafkaConnection, PRODUCE_VERSION, errorName, prebuildRequest, topicLayout } from './kafka.js';
import type { BrokerAddress } from './kafka.js';
import { sleep } from './procs.js';
import { median, percentileOfSorted } from './stats.js';

/** One replica as GET /v1/partitions reports it. */
export interface AdminPartition {
  topic: string;
  partition: number;
  role: string;
  leader: number;
  leaderEpoch: number;
  highWatermark: number;
  logEndOffset: number;
  replicas: number[];
  isr: number[];
}

/** GET /v1/partitions of one node's admin API; throws on any failure. */
export function adminPartitions(port: number, timeoutMs = 1000): Promise<AdminPartition[]> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/v1/partitions', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes > 16 * 1024 * 1024)
          req.destroy(new BenchError('BrokerError', 'admin response over 16 MiB'));
        else chunks.push(c);
      });
      res.on('end', () => {
        if (res.statusCode !== 200)
          return reject(new BenchError('BrokerError', `GET /v1/partitions: HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdminPartition[]);
        } catch (e) {
          reject(new BenchError('BrokerError', `GET /v1/partitions: ${errorMessage(e)}`, { cause: e }));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () =>
      req.destroy(new BenchError('Timeout', `GET /v1/partitions on port ${port} timed out`)),
    );
    req.on('error', (e) =>
      reject(
        e instanceof BenchError
          ? e
          : new BenchError('ConnectionFailed', `GET /v1/partitions on port ${port}: ${e.message}`, {
              cause: e,
            }),
      ),
    );
  });
}

export interface FailoverKill {
  /** The partition leader that was killed. */
  killedNode: number;
  /** Leader epoch before the kill. */
  epochBefore: number;
  /** Kill → a surviving node reports itself leader with a higher leader epoch (admin API, polled every 10 ms). */
  electedMs?: number;
  /** The node that answered the first successful produce after the kill. */
  newLeader?: number;
  /** Kill → first successful acks=all produce sent after the kill. */
  unavailableMs?: number;
  /** Last successful produce before the kill → kill (shows that the load was running). */
  lastOkBeforeKillMs?: number;
  /** Kill → the restarted node reports the partition as a follower of the current leader. */
  rejoinedMs?: number;
  /** Kill → the restarted node's log end offset reached the leader's high watermark (sampled just before). */
  caughtUpMs?: number;
  /** Kill → the leader's ISR no longer lists the killed node (undefined: never seen out of it). */
  leftIsrMs?: number;
  /** Kill → the leader lists the restarted node in the ISR again (only when it was seen out of it). */
  inIsrMs?: number;
  /** Restart → caught up (the process start is part of it). */
  restartToCaughtUpMs?: number;
  error?: string;
}

export interface FailoverResult {
  ok: boolean;
  topic: string;
  recordBytes: number;
  recordsPerRequest: number;
  kills: FailoverKill[];
  /** Records acknowledged (acks=all) by the prober during the whole scenario. */
  ackedRecords: number;
  /** Produce attempts that failed, by reason (connection refused, NOT_LEADER_OR_FOLLOWER, ...). */
  failedAttempts: Record<string, number>;
  /** Leadership moves the prober saw that no kill caused (e.g. preferred-leader transfers back). */
  otherLeaderMoves: number;
  /** The longest gap between successful produces outside the kill windows. */
  otherMaxGapMs?: number;
  /** The prober's acks=all request latency (sent → acknowledged) outside the kill windows: a light-load figure. */
  steadyLatencyMs?: { p50: number; p99: number; max: number; n: number };
  error?: string;
  command: string;
}

export interface FailoverSpec {
  deployment: ChronikDeployment;
  topic: string;
  kills: number;
  recordBytes?: number;
  recordsPerRequest?: number;
  /** Retry backoff of the prober (default 20 ms). */
  backoffMs?: number;
  /** A kill whose partition is not writable again after this long fails (default 30 s). */
  recoveryTimeoutMs?: number;
  /** Pause between the caught-up old leader and the next kill (default 1 s). */
  settleMs?: number;
  /** Wait this long after the first successful produce before restarting the old leader (default 0). */
  restartDelayMs?: number;
  log?: (line: string) => void;
  nowMs?: () => number;
}

interface Success {
  sentAt: number;
  ackedAt: number;
  node: number;
}

const MAX_SUCCESSES = 1_000_000;
const MAX_REASONS = 50;

/** Continuous acks=all produce to partition 0 of a topic, following the leader like a client. */
class Prober {
  readonly successes: Success[] = [];
  readonly failures: Record<string, number> = {};
  acked = 0;
  private running = true;
  private conn: KafkaConnection | undefined;
  private connNode = -1;
  private rotate = 0;
  private done: Promise<void> | undefined;

  constructor(
    private readonly d: ChronikDeployment,
    private readonly topic: string,
    private readonly req: ReturnType<typeof prebuildRequest>,
    private readonly recordsPerRequest: number,
    private readonly backoffMs: number,
    private readonly now: () => number,
  ) {}

  start(): void {
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    this.conn?.close();
  }

  /** Successful produces sent at or after `t`: the first one. */
  firstSuccessSentAfter(t: number): Success | undefined {
    for (let i = this.successes.length - 1; i >= 0; i--) {
      const s = this.successes[i]!;
      if (s.sentAt < t) return this.successes[i + 1];
    }
    return this.successes[0] !== undefined && this.successes[0].sentAt >= t ? this.successes[0] : undefined;
  }

  lastSuccessBefore(t: number): Success | undefined {
    for (let i = this.successes.length - 1; i >= 0; i--)
      if (this.successes[i]!.ackedAt < t) return this.successes[i];
    return undefined;
  }

  private fail(reason: string): void {
    const key = reason.replace(/\d+\.\d+\.\d+\.\d+:\d+/g, 'host:port').slice(0, 120);
    if (this.failures[key] !== undefined || Object.keys(this.failures).length < MAX_REASONS)
      this.failures[key] = (this.failures[key] ?? 0) + 1;
  }

  private drop(): void {
    this.conn?.close();
    this.conn = undefined;
    this.connNode = -1;
  }

  /** Metadata from the first node that answers (rotating), then a connection to the leader. */
  private async connectLeader(): Promise<void> {
    const brokers = this.d.nodes.map((n) => n.kafka);
    let lastError = 'no node answered Metadata';
    for (let k = 0; k < brokers.length; k++) {
      const b: BrokerAddress = brokers[(this.rotate + k) % brokers.length]!;
      let c: KafkaConnection | undefined;
      try {
        c = await KafkaConnection.connect(b, 500);
        const layout = await withTimeout(topicLayout(c, this.topic), 1000, 'Metadata');
        const leader = layout.leaders[0] ?? -1;
        const addr = layout.brokers.get(leader);
        if (leader < 0 || addr === undefined)
          throw new BenchError('BrokerError', 'partition 0 has no leader in Metadata');
        this.conn = await KafkaConnection.connect(addr, 500);
        this.connNode = leader;
        return;
      } catch (e) {
        lastError = errorMessage(e);
        this.rotate++;
      } finally {
        c?.close();
      }
    }
    throw new BenchError('ConnectionFailed', lastError);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        if (this.conn === undefined) await this.connectLeader();
        const sentAt = this.now();
        const frame = await withTimeout(this.conn!.sendPrebuilt(this.req), 3000, 'Produce');
        const res = decodeResponseFrame(ApiKey.Produce, PRODUCE_VERSION, frame).body;
        const p = res.responses[0]?.partitionResponses[0];
        if (p === undefined) throw new BenchError('BrokerError', 'Produce response without the partition');
        if (p.errorCode === ErrorCode.NONE) {
          this.acked += this.recordsPerRequest;
          if (this.successes.length < MAX_SUCCESSES)
            this.successes.push({ sentAt, ackedAt: this.now(), node: this.connNode });
          continue;
        }
        this.fail(errorName(p.errorCode));
        this.drop(); // refresh metadata, as a client does on a leader error
      } catch (e) {
        this.fail(errorMessage(e));
        this.drop();
      }
      await sleep(this.backoffMs);
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new BenchError('Timeout', `${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The replica of partition 0 of `topic` on every node whose admin API answers. */
async function statuses(d: ChronikDeployment, topic: string): Promise<Map<number, AdminPartition>> {
  const out = new Map<number, AdminPartition>();
  await Promise.all(
    d.nodes.map(async (n) => {
      if (n.adminPort === undefined || !n.service.running) return;
      try {
        const p = (await adminPartitions(n.adminPort, 500)).find(
          (x) => x.topic === topic && x.partition === 0,
        );
        if (p !== undefined) out.set(n.nodeId, p);
      } catch {
        // a node that does not answer has no say
      }
    }),
  );
  return out;
}

/** The leader's own report (role leader), if any node claims it. */
function leaderOf(s: Map<number, AdminPartition>): AdminPartition | undefined {
  let best: AdminPartition | undefined;
  for (const [node, p] of s)
    if (p.role === 'leader' && p.leader === node && (best === undefined || p.leaderEpoch > best.leaderEpoch))
      best = p;
  return best;
}

/**
 * Runs the failover scenario on a started 3-node deployment with admin ports. The topic (1
 * partition, RF 3) must exist. Never throws for a broker problem: failures are in the result.
 */
export async function runFailover(spec: FailoverSpec): Promise<FailoverResult> {
  const d = spec.deployment;
  const now = spec.nowMs ?? (() => performance.now());
  const log = spec.log ?? ((): void => undefined);
  const recordBytes = spec.recordBytes ?? 256;
  const perRequest = spec.recordsPerRequest ?? 16;
  const recoveryMs = spec.recoveryTimeoutMs ?? 30_000;
  const value = Buffer.alloc(recordBytes, 0x61);
  const body: ProduceRequest = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [
      {
        name: spec.topic,
        partitionData: [
          {
            index: 0,
            records: buildRecordBatch({ records: Array.from({ length: perRequest }, () => ({ value })) }),
          },
        ],
      },
    ],
  };
  const command = `# failover: continuous acks=all Produce v9 to ${spec.topic} partition 0 (RF 3), ${perRequest} records of ${recordBytes} B per request, one in flight, ${spec.backoffMs ?? 20} ms retry backoff; ${spec.kills} × (kill -9 of the leader found with GET /v1/partitions, restart it once produce works again, wait until it caught up)`;
  const result: FailoverResult = {
    ok: false,
    topic: spec.topic,
    recordBytes,
    recordsPerRequest: perRequest,
    kills: [],
    ackedRecords: 0,
    failedAttempts: {},
    otherLeaderMoves: 0,
    command,
  };
  if (d.nodes.some((n) => n.adminPort === undefined)) {
    result.error = 'the deployment has no admin API';
    return result;
  }
  const prober = new Prober(
    d,
    spec.topic,
    prebuildRequest(ApiKey.Produce, PRODUCE_VERSION, body),
    perRequest,
    spec.backoffMs ?? 20,
    now,
  );
  prober.start();
  const windows: { from: number; to: number }[] = [];
  try {
    // Steady state first: the load runs and every replica is in the ISR.
    const ready = await until(recoveryMs, async () => {
      const l = leaderOf(await statuses(d, spec.topic));
      return l !== undefined && l.isr.length === 3 && prober.successes.length > 10 ? l : undefined;
    });
    if (ready === undefined)
      throw new BenchError(
        'Timeout',
        `no steady leader with 3 in-sync replicas and a working produce within ${recoveryMs} ms`,
      );
    for (let k = 0; k < spec.kills; k++) {
      const leader = await until(recoveryMs, async () => {
        const l = leaderOf(await statuses(d, spec.topic));
        return l !== undefined && l.isr.length === 3 ? l : undefined;
      });
      if (leader === undefined)
        throw new BenchError(
          'Timeout',
          `kill ${k + 1}: no leader with 3 in-sync replicas within ${recoveryMs} ms`,
        );
      const victim = leader.leader;
      const kill: FailoverKill = { killedNode: victim, epochBefore: leader.leaderEpoch };
      result.kills.push(kill);
      const tKill = now();
      await d.kill(victim);
      const last = prober.lastSuccessBefore(tKill);
      if (last !== undefined) kill.lastOkBeforeKillMs = tKill - last.ackedAt;
      // Meanwhile: when did a survivor become leader (the election), as opposed to produce working again?
      let stopAt = tKill + recoveryMs;
      const election = (async (): Promise<void> => {
        while (now() < stopAt) {
          const l = leaderOf(await statuses(d, spec.topic));
          if (l !== undefined && !l.isr.includes(victim)) kill.leftIsrMs ??= now() - tKill;
          if (l !== undefined && l.leader !== victim && l.leaderEpoch > leader.leaderEpoch) {
            kill.electedMs = now() - tKill;
            return;
          }
          await sleep(10);
        }
      })();
      const first = await until(recoveryMs, () => Promise.resolve(prober.firstSuccessSentAfter(tKill)), 5);
      // The watcher may be between two polls: give it a moment to see the new leader.
      stopAt = Math.min(stopAt, now() + 2000);
      await election;
      if (first === undefined) {
        kill.error = `no successful acks=all produce within ${recoveryMs} ms of the kill`;
        windows.push({ from: tKill, to: now() });
        d.restart(victim);
        break;
      }
      kill.unavailableMs = first.ackedAt - tKill;
      kill.newLeader = first.node;
      windows.push({ from: tKill, to: first.ackedAt });
      // A client that recovers more slowly than the prober (librdkafka beside it) is not to meet the
      // old leader restarting meanwhile.
      if (spec.restartDelayMs !== undefined) await sleep(spec.restartDelayMs);
      const tRestart = now();
      d.restart(victim);
      // Rejoined, caught up, back in the ISR (polled; the first time each holds).
      const caught = await until(
        Math.max(recoveryMs, 60_000),
        async () => {
          const s = await statuses(d, spec.topic);
          const l = leaderOf(s);
          const mine = s.get(victim);
          const t = now();
          if (mine !== undefined && mine.role === 'follower' && l !== undefined && mine.leader === l.leader)
            kill.rejoinedMs ??= t - tKill;
          if (
            l !== undefined &&
            mine !== undefined &&
            kill.rejoinedMs !== undefined &&
            mine.logEndOffset >= l.highWatermark
          )
            kill.caughtUpMs ??= t - tKill;
          if (l !== undefined && !l.isr.includes(victim)) kill.leftIsrMs ??= t - tKill;
          if (l !== undefined && l.isr.includes(victim) && kill.leftIsrMs !== undefined)
            kill.inIsrMs ??= t - tKill;
          // Done once caught up and in the ISR (again, or still: the leader may not have dropped it).
          const inIsr = l !== undefined && l.isr.includes(victim);
          return kill.caughtUpMs !== undefined && inIsr ? true : undefined;
        },
        50,
      );
      if (kill.caughtUpMs !== undefined) kill.restartToCaughtUpMs = kill.caughtUpMs - (tRestart - tKill);
      if (caught === undefined) {
        kill.error = `node ${victim} did not ${kill.rejoinedMs === undefined ? 'rejoin' : kill.caughtUpMs === undefined ? 'catch up' : 'return to the ISR'} within ${Math.max(recoveryMs, 60_000)} ms of its restart`;
        break;
      }
      log(
        `  failover ${k + 1}/${spec.kills}: killed node ${victim}, new leader elected after ${kill.electedMs?.toFixed(0) ?? '?'} ms, produce ok again after ${kill.unavailableMs.toFixed(0)} ms (leader ${first.node}), caught up after ${kill.caughtUpMs?.toFixed(0)} ms`,
      );
      await sleep(spec.settleMs ?? 1000);
    }
    result.ok = result.kills.length === spec.kills && result.kills.every((x) => x.error === undefined);
  } catch (e) {
    result.error = errorMessage(e);
  } finally {
    await prober.stop();
  }
  // Gaps and leadership moves outside the kill windows.
  const inWindow = (t: number): boolean => windows.some((w) => t >= w.from && t <= w.to + 1);
  let maxGap = 0;
  const ss = prober.successes;
  for (let i = 1; i < ss.length; i++) {
    const a = ss[i - 1]!;
    const b = ss[i]!;
    if (windows.some((w) => a.ackedAt <= w.to && b.ackedAt >= w.from)) continue;
    maxGap = Math.max(maxGap, b.ackedAt - a.ackedAt);
    if (a.node !== b.node && !inWindow(b.ackedAt)) result.otherLeaderMoves++;
  }
  if (ss.length > 1) result.otherMaxGapMs = maxGap;
  const steady = ss
    .filter((x) => !windows.some((w) => x.sentAt <= w.to && x.ackedAt >= w.from))
    .map((x) => x.ackedAt - x.sentAt)
    .sort((a, b) => a - b);
  if (steady.length > 0) {
    result.steadyLatencyMs = {
      p50: percentileOfSorted(steady, 0.5),
      p99: percentileOfSorted(steady, 0.99),
      max: steady[steady.length - 1]!,
      n: steady.length,
    };
  }
  result.ackedRecords = prober.acked;
  Object.assign(result.failedAttempts, prober.failures);
  if (result.error === undefined) {
    const bad = result.kills.find((x) => x.error !== undefined);
    if (bad?.error !== undefined) result.error = bad.error;
  }
  return result;
}

/** Polls `check` until it returns a value (or the time runs out: undefined). */
async function until<T>(
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  everyMs = 100,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) return undefined;
    await sleep(everyMs);
  }
}

/** min / median / max of the kills' values of one field (only kills that have it). */
export function failoverStats(
  kills: readonly FailoverKill[],
  field: 'unavailableMs' | 'electedMs' | 'rejoinedMs' | 'caughtUpMs' | 'inIsrMs' | 'restartToCaughtUpMs',
): { min: number; median: number; max: number; n: number } | undefined {
  const v = kills.map((k) => k[field]).filter((x): x is number => x !== undefined && Number.isFinite(x));
  if (v.length === 0) return undefined;
  return { min: Math.min(...v), median: median(v), max: Math.max(...v), n: v.length };
}
