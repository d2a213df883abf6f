// Overview: the nodes (up or down as this node sees them, the metadata leader, its Raft term and
// commit index), topic and partition counts by state, and this node's throughput from its own
// counters (/metrics), polled every 2 s and kept for the last 5 minutes while the page is open.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { TimeChart } from '../components/chart.js';
import { Badge, Card, ErrorBox, Freshness, Loading } from '../components/ui.js';
import { formatCount, formatRate } from '../format.js';
import type { Scrape } from '../metrics.js';
import { THROUGHPUT_COUNTERS, parseMetrics, rates } from '../metrics.js';
import { History, usePoll } from '../poll.js';
import type { ClusterStatus, RaftView } from '../types.js';

const SAMPLE_MS = 2000;
/** 5 minutes of samples. */
const MAX_SAMPLES = 150;

// Kept beside the page, so going to another page and back keeps the chart.
const bytes = new History(['in', 'out'], MAX_SAMPLES);
const records = new History(['records produced'], MAX_SAMPLES);
let lastScrape: Scrape | undefined;
let lastRates: Map<string, number> | undefined;

function onScrape(text: string, atMs: number): void {
  const scrape = { atMs, values: parseMetrics(text) };
  if (lastScrape !== undefined) {
    const r = rates(lastScrape, scrape, Object.values(THROUGHPUT_COUNTERS));
    lastRates = r;
    bytes.push(atMs, [r.get(THROUGHPUT_COUNTERS.bytesIn) ?? 0, r.get(THROUGHPUT_COUNTERS.bytesOut) ?? 0]);
    records.push(atMs, [r.get(THROUGHPUT_COUNTERS.records) ?? 0]);
  }
  lastScrape = scrape;
}

interface NodeRow {
  nodeId: number;
  address: string;
  up: boolean | undefined;
  self: boolean;
  metadataLeader: boolean;
}

/** Every node the cluster knows: the metadata group's voters, registered brokers and Raft peers. */
export function nodeRows(c: ClusterStatus, raft: RaftView | undefined): NodeRow[] {
  const ids = new Set<number>([c.nodeId, ...c.metadataGroup.voters, ...c.brokers.map((b) => b.nodeId)]);
  for (const p of raft?.peers ?? []) ids.add(p.nodeId);
  return [...ids]
    .sort((a, b) => a - b)
    .map((nodeId) => {
      const b = c.brokers.find((x) => x.nodeId === nodeId);
      const peer = raft?.peers.find((p) => p.nodeId === nodeId);
      return {
        nodeId,
        address: b !== undefined ? `${b.host}:${b.port}` : '—',
        up: nodeId === c.nodeId ? true : peer !== undefined ? peer.connected : undefined,
        self: nodeId === c.nodeId,
        metadataLeader: nodeId === c.metadataGroup.leaderId,
      };
    });
}

export function OverviewPage() {
  const [version, setVersion] = useState(0);
  const cluster = usePoll(api.cluster, 3000, 'overview-cluster');
  const raft = usePoll(api.raft, 3000, 'overview-raft');
  const topics = usePoll(api.topics, 5000, 'overview-topics');
  usePoll(api.metrics, SAMPLE_MS, 'overview-metrics', (text, atMs) => {
    onScrape(text, atMs);
    setVersion((v) => v + 1);
  });
  const c = cluster.data;
  const t = topics.data;
  const rows = c !== undefined ? nodeRows(c, raft.data) : [];
  const up = rows.filter((r) => r.up === true).length;
  const userTopics = t?.topics.filter((x) => !x.internal).length;
  const p = t?.partitions;
  return (
    <section>
      <header class="page-head">
        <h1>Overview</h1>
        <Freshness atMs={cluster.atMs} error={cluster.error} />
      </header>
      <ErrorBox error={cluster.error ?? topics.error} />
      <div class="cards">
        <Card
          title="Nodes"
          value={c === undefined ? '…' : `${up} / ${rows.length} up`}
          kind={c === undefined ? undefined : up === rows.length ? 'ok' : 'bad'}
          detail={c?.mode}
        />
        <Card
          title="Metadata leader"
          value={
            c === undefined
              ? '…'
              : c.metadataGroup.leaderId >= 0
                ? `node ${c.metadataGroup.leaderId}`
                : 'none'
          }
          kind={c === undefined ? undefined : c.metadataGroup.leaderId >= 0 ? 'ok' : 'bad'}
          detail={
            c === undefined
              ? undefined
              : `term ${c.metadataGroup.term} · commit ${formatCount(c.metadataGroup.commitIndex)}`
          }
        />
        <Card
          title="Topics"
          value={userTopics === undefined ? '…' : formatCount(userTopics)}
          detail={t === undefined ? undefined : `${t.topics.length - (userTopics ?? 0)} internal`}
        />
        <Card
          title="Partitions"
          value={p === undefined ? '…' : `${formatCount(p.online)} online`}
          kind={p === undefined ? undefined : p.offline > 0 ? 'bad' : p.underReplicated > 0 ? 'warn' : 'ok'}
          detail={
            p === undefined ? undefined : (
              <>
                <span data-count="under-replicated">{formatCount(p.underReplicated)} under-replicated</span> ·{' '}
                <span data-count="offline">{formatCount(p.offline)} offline</span>
              </>
            )
          }
        />
        <Card
          title="Throughput (this node)"
          value={lastRates === undefined ? '…' : formatRate(lastRates.get(THROUGHPUT_COUNTERS.bytesIn) ?? 0)}
          detail={
            lastRates === undefined
              ? 'measuring'
              : `in · ${formatRate(lastRates.get(THROUGHPUT_COUNTERS.bytesOut) ?? 0)} out · ${formatCount(lastRates.get(THROUGHPUT_COUNTERS.records) ?? 0)} records/s`
          }
        />
      </div>

      <h2>Throughput of this node</h2>
      <p class="muted small">
        Kafka request bytes in and response bytes out, from <code>/metrics</code> every {SAMPLE_MS / 1000} s;
        the last {(MAX_SAMPLES * SAMPLE_MS) / 60_000} minutes while this page is open.
      </p>
      <TimeChart
        history={bytes}
        version={version}
        format={formatRate}
        minTop={10 * 1024}
        label="bytes in and out per second"
      />
      <TimeChart
        history={records}
        version={version}
        format={(v) => `${formatCount(v)}/s`}
        height={140}
        label="records produced per second"
      />

      <h2>Nodes</h2>
      {c === undefined ? (
        <Loading what="nodes" />
      ) : (
        <table class="table" id="nodes">
          <thead>
            <tr>
              <th>node</th>
              <th>Kafka address</th>
              <th>state</th>
              <th>role</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.nodeId} data-node={r.nodeId}>
                <td>
                  {r.nodeId}
                  {r.self ? <span class="muted"> (this node)</span> : null}
                </td>
                <td>{r.address}</td>
                <td>
                  {r.up === true ? (
                    <Badge kind="ok">up</Badge>
                  ) : r.up === false ? (
                    <Badge kind="bad">down</Badge>
                  ) : (
                    <Badge kind="muted">unknown</Badge>
                  )}
                </td>
                <td>{r.metadataLeader ? <Badge kind="info">metadata leader</Badge> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="muted small">
        Up or down as node {c?.nodeId ?? '…'} sees its peers over Raft. Metadata: term{' '}
        {c?.metadataGroup.term ?? '…'}, commit index {formatCount(c?.metadataGroup.commitIndex)}, applied here{' '}
        {formatCount(c?.metadataGroup.appliedIndex)}.
      </p>
    </section>
  );
}
