// One consumer group: its members and their assignments, the committed offset, high watermark and
// lag of each partition, and the total lag over time (polled every 2 s, the last 10 minutes kept
// while the console is open).
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { TimeChart } from '../components/chart.js';
import { Card, ErrorBox, Freshness, Loading } from '../components/ui.js';
import { formatCount } from '../format.js';
import { History, usePoll } from '../poll.js';
import { href } from '../router.js';
import type { GroupDetail } from '../types.js';
import { stateBadge } from './groups.js';

const SAMPLE_MS = 2000;
const MAX_SAMPLES = 300;
/** Groups whose lag history is kept (the least recently opened dropped first). */
const MAX_GROUPS = 20;
const histories = new Map<string, History>();

function historyOf(id: string): History {
  let h = histories.get(id);
  if (h === undefined) {
    h = new History(['total lag'], MAX_SAMPLES);
    histories.set(id, h);
    if (histories.size > MAX_GROUPS) histories.delete(histories.keys().next().value as string);
  }
  return h;
}

function memberOf(g: GroupDetail, memberId: string | null): string {
  if (memberId === null) return '—';
  const m = g.members.find((x) => x.memberId === memberId);
  return m === undefined ? memberId : `${m.clientId} (${m.clientHost})`;
}

export function GroupPage({ id }: { id: string }) {
  const [version, setVersion] = useState(0);
  const history = historyOf(id);
  const group = usePoll(
    () => api.group(id),
    SAMPLE_MS,
    `group:${id}`,
    (g, atMs) => {
      history.push(atMs, [Number(g.totalLag)]);
      setVersion((v) => v + 1);
    },
  );
  const g = group.data;
  return (
    <section>
      <header class="page-head">
        <h1>
          <a href="#/groups" class="muted">
            Consumer groups
          </a>{' '}
          / <span id="group-id">{id}</span>
        </h1>
        <Freshness atMs={group.atMs} error={group.error} />
      </header>
      <ErrorBox error={group.error} />
      {g === undefined ? (
        group.error === undefined ? (
          <Loading what="the group" />
        ) : null
      ) : (
        <>
          <div class="cards">
            <Card
              title="State"
              value={stateBadge(g.state)}
              detail={`${g.groupType === 'consumer' ? 'consumer protocol (KIP-848)' : `classic · ${g.protocolType || '—'}`}${g.protocol !== '' ? ` · ${g.protocol}` : ''}`}
            />
            <Card title="Members" value={g.members.length} />
            <Card
              title="Total lag"
              value={<span id="total-lag">{formatCount(g.totalLag)}</span>}
              kind={g.totalLag === '0' ? 'ok' : 'warn'}
              detail="records not yet committed"
            />
            <Card title="Coordinator" value={`node ${g.coordinator}`} />
          </div>
          <h2>Lag over time</h2>
          <TimeChart
            history={history}
            version={version}
            format={(v) => formatCount(v)}
            label="total lag"
            height={180}
          />
          <h2>Partitions</h2>
          <table class="table" id="group-partitions">
            <thead>
              <tr>
                <th>topic</th>
                <th class="num">partition</th>
                <th class="num">committed</th>
                <th class="num">high watermark</th>
                <th class="num">lag</th>
                <th>member</th>
              </tr>
            </thead>
            <tbody>
              {g.partitions.map((p) => (
                <tr key={`${p.topic}/${p.partition}`} data-partition={`${p.topic}-${p.partition}`}>
                  <td>
                    <a href={href('topics', p.topic)}>{p.topic}</a>
                  </td>
                  <td class="num">{p.partition}</td>
                  <td class="num">{formatCount(p.committedOffset)}</td>
                  <td class="num">{formatCount(p.highWatermark)}</td>
                  <td class="num" data-lag>
                    {formatCount(p.lag)}
                    {p.error !== undefined ? (
                      <span class="bad small" title={p.message}>
                        {' '}
                        {p.error}
                      </span>
                    ) : null}
                  </td>
                  <td class="small">{memberOf(g, p.memberId)}</td>
                </tr>
              ))}
              {g.partitions.length === 0 ? (
                <tr>
                  <td colSpan={6} class="muted">
                    Nothing committed or assigned.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
          <h2>Members</h2>
          <table class="table" id="members">
            <thead>
              <tr>
                <th>client</th>
                <th>host</th>
                <th>member id</th>
                <th>assignment</th>
              </tr>
            </thead>
            <tbody>
              {g.members.map((m) => (
                <tr key={m.memberId}>
                  <td>{m.clientId}</td>
                  <td>{m.clientHost}</td>
                  <td class="small mono">
                    {m.memberId}
                    {m.groupInstanceId !== null ? ` (instance ${m.groupInstanceId})` : ''}
                  </td>
                  <td class="small">
                    {m.assignment.map((a) => `${a.topic}-${a.partition}`).join(', ') || '—'}
                  </td>
                </tr>
              ))}
              {g.members.length === 0 ? (
                <tr>
                  <td colSpan={4} class="muted">
                    No members.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
