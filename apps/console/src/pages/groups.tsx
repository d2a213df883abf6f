// Consumer groups: every coordinator's groups (each node is asked for the ones it coordinates).
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Badge, ErrorBox, Freshness, Loading } from '../components/ui.js';
import { usePoll } from '../poll.js';
import { href } from '../router.js';

export function stateBadge(state: string) {
  const kind = state === 'Stable' ? 'ok' : state === 'Empty' ? 'muted' : state === 'Dead' ? 'bad' : 'warn';
  return <Badge kind={kind}>{state}</Badge>;
}

export function GroupsPage() {
  const [search, setSearch] = useState('');
  const groups = usePoll(api.groups, 5000, 'groups');
  const all = groups.data?.groups ?? [];
  const needle = search.trim().toLowerCase();
  const shown = all.filter((g) => g.groupId.toLowerCase().includes(needle));
  return (
    <section>
      <header class="page-head">
        <h1>Consumer groups</h1>
        <Freshness atMs={groups.atMs} error={groups.error} />
      </header>
      <ErrorBox error={groups.error} />
      {groups.data?.errors.map((e) => (
        <div class="warning" key={e.nodeId}>
          Node {e.nodeId} could not list its groups: {e.error} {e.message}
        </div>
      ))}
      <div class="toolbar">
        <input
          type="search"
          placeholder="Search groups"
          aria-label="Search groups"
          value={search}
          onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
        />
        <span class="muted">
          {shown.length} of {all.length}
        </span>
      </div>
      {groups.data === undefined ? (
        <Loading what="groups" />
      ) : (
        <table class="table" id="groups">
          <thead>
            <tr>
              <th>group</th>
              <th>state</th>
              <th>protocol</th>
              <th class="num">coordinator</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((g) => (
              <tr key={g.groupId} data-group={g.groupId}>
                <td>
                  <a href={href('groups', g.groupId)}>{g.groupId}</a>
                </td>
                <td>{stateBadge(g.state)}</td>
                <td>
                  {g.groupType === 'consumer'
                    ? 'consumer (KIP-848)'
                    : `classic${g.protocolType !== '' ? ` · ${g.protocolType}` : ''}`}
                </td>
                <td class="num">{g.coordinator}</td>
              </tr>
            ))}
            {shown.length === 0 ? (
              <tr>
                <td colSpan={4} class="muted">
                  No group.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      )}
    </section>
  );
}
