// Cluster: the Raft groups of this node (the metadata group and one per partition replica here):
// role, term, commit and applied index, and on a leader each follower's match index and lag; the
// links to its peers; the partition leader changes it applied since it started. Every node serves
// its own view: open another node's console for its groups.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Badge, ErrorBox, Freshness, Loading, Nodes } from '../components/ui.js';
import { formatCount, formatTime } from '../format.js';
import { usePoll } from '../poll.js';
import { href } from '../router.js';
import type { RaftGroup } from '../types.js';

function roleBadge(role: string) {
  return <Badge kind={role === 'Leader' ? 'info' : role === 'Follower' ? 'muted' : 'warn'}>{role}</Badge>;
}

function Followers({ g }: { g: RaftGroup }) {
  if (g.followers.length === 0) return <span class="muted">—</span>;
  return (
    <span class="followers">
      {g.followers.map((f) => (
        <span
          key={f.nodeId}
          class={f.lag > 0 || !f.recentActive ? 'warn' : ''}
          title={`${f.state}, match ${f.match}`}
        >
          {f.nodeId}: {f.lag === 0 ? 'caught up' : `${formatCount(f.lag)} behind`}
          {f.recentActive ? '' : ' (silent)'}
        </span>
      ))}
    </span>
  );
}

export function ClusterPage() {
  const [search, setSearch] = useState('');
  const [leadersOnly, setLeadersOnly] = useState(false);
  const raft = usePoll(api.raft, 3000, 'raft');
  const changes = usePoll(api.leaderChanges, 5000, 'leader-changes');
  const local = usePoll(api.partitions, 5000, 'local-partitions');
  const r = raft.data;
  const needle = search.trim().toLowerCase();
  const groups = (r?.groups ?? []).filter(
    (g) => (!leadersOnly || g.role === 'Leader') && (needle === '' || g.name.toLowerCase().includes(needle)),
  );
  const problems = (local.data ?? []).filter((p) => p.state !== 'online');
  return (
    <section>
      <header class="page-head">
        <h1>Cluster</h1>
        <Freshness atMs={raft.atMs} error={raft.error} />
      </header>
      <ErrorBox error={raft.error} />
      {r === undefined ? (
        <Loading what="Raft groups" />
      ) : r.mode !== 'raft-cluster' ? (
        <p>
          This node runs <strong>{r.mode}</strong>: a single node with no Raft groups. Its partitions are on
          the <a href="#/topics">topics</a> pages.
        </p>
      ) : (
        <>
          <h2>Peers of node {r.nodeId}</h2>
          <table class="table" id="peers">
            <thead>
              <tr>
                <th>node</th>
                <th>Raft link</th>
              </tr>
            </thead>
            <tbody>
              {r.peers.map((p) => (
                <tr key={p.nodeId} data-node={p.nodeId}>
                  <td>{p.nodeId}</td>
                  <td>
                    {p.connected ? (
                      <Badge kind="ok">answering</Badge>
                    ) : (
                      <Badge kind="bad">not answering</Badge>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Raft groups on node {r.nodeId}</h2>
          <div class="toolbar">
            <input
              type="search"
              placeholder="Filter by partition"
              aria-label="Filter Raft groups"
              value={search}
              onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
            />
            <label>
              <input
                type="checkbox"
                checked={leadersOnly}
                onChange={(e) => setLeadersOnly((e.target as HTMLInputElement).checked)}
              />{' '}
              led here only
            </label>
            <span class="muted">
              {groups.length} of {r.total}
              {r.total > r.groups.length ? ` (the first ${r.groups.length} listed)` : ''}
            </span>
          </div>
          <table class="table" id="raft-groups">
            <thead>
              <tr>
                <th>group</th>
                <th>role</th>
                <th class="num">leader</th>
                <th class="num">term</th>
                <th class="num">commit</th>
                <th class="num">applied</th>
                <th class="num">last</th>
                <th>voters</th>
                <th>followers (on the leader)</th>
              </tr>
            </thead>
            <tbody>
              {groups.map((g) => (
                <tr key={g.groupId} data-group={g.name}>
                  <td title={`group ${g.groupId}`}>
                    {g.name === 'metadata' || g.name === '' ? (
                      <strong>{g.name || g.groupId}</strong>
                    ) : (
                      <a href={href('topics', g.name.slice(0, g.name.lastIndexOf('-')))}>{g.name}</a>
                    )}
                    {g.failure !== undefined ? (
                      <span class="bad small" title={g.failure}>
                        {' '}
                        stopped
                      </span>
                    ) : null}
                  </td>
                  <td>{roleBadge(g.role)}</td>
                  <td class="num">{g.leaderId >= 0 ? g.leaderId : '—'}</td>
                  <td class="num">{g.term}</td>
                  <td class="num">{formatCount(g.commitIndex)}</td>
                  <td class="num">{formatCount(g.appliedIndex)}</td>
                  <td class="num">{formatCount(g.lastIndex)}</td>
                  <td>
                    <Nodes ids={g.voters} />
                    {g.learners.length > 0 ? (
                      <span class="muted"> + learners {g.learners.join(', ')}</span>
                    ) : null}
                  </td>
                  <td class="small">
                    <Followers g={g} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <h2>Replicas of this node that do not serve fully</h2>
      {problems.length === 0 ? (
        <p class="muted">None{local.data === undefined ? ' known yet' : ''}.</p>
      ) : (
        <table class="table" id="replica-problems">
          <thead>
            <tr>
              <th>partition</th>
              <th>state</th>
              <th>error</th>
            </tr>
          </thead>
          <tbody>
            {problems.map((p) => (
              <tr key={`${p.topic}-${p.partition}`}>
                <td>
                  {p.topic}-{p.partition}
                </td>
                <td>
                  <Badge kind="bad">{p.state}</Badge>
                </td>
                <td class="small">{p.error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Recent leader changes</h2>
      <ErrorBox error={changes.error} />
      {changes.data === undefined ? null : changes.data.changes.length === 0 ? (
        <p class="muted">None since node {changes.data.nodeId} started.</p>
      ) : (
        <table class="table" id="leader-changes">
          <thead>
            <tr>
              <th>applied here at</th>
              <th>partition</th>
              <th class="num">from</th>
              <th class="num">to</th>
              <th class="num">epoch</th>
            </tr>
          </thead>
          <tbody>
            {changes.data.changes.map((c) => (
              <tr key={`${c.metadataIndex}-${c.topic}-${c.partition}`}>
                <td class="small nowrap">{formatTime(c.atMs)}</td>
                <td>
                  <a href={href('topics', c.topic)}>
                    {c.topic}-{c.partition}
                  </a>
                </td>
                <td class="num">{c.previousLeader < 0 ? '—' : c.previousLeader}</td>
                <td class="num">{c.leader < 0 ? 'none' : c.leader}</td>
                <td class="num">{c.leaderEpoch}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
