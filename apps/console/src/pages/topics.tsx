// Topics: every topic of the cluster (from the replicated metadata) with a search box.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Badge, ErrorBox, Freshness, Loading } from '../components/ui.js';
import { usePoll } from '../poll.js';
import { href } from '../router.js';

export function TopicsPage() {
  const [search, setSearch] = useState('');
  const [internal, setInternal] = useState(false);
  const topics = usePoll(api.topics, 5000, 'topics');
  const all = topics.data?.topics ?? [];
  const needle = search.trim().toLowerCase();
  const shown = all.filter((t) => (internal || !t.internal) && t.name.toLowerCase().includes(needle));
  return (
    <section>
      <header class="page-head">
        <h1>Topics</h1>
        <Freshness atMs={topics.atMs} error={topics.error} />
      </header>
      <ErrorBox error={topics.error} />
      <div class="toolbar">
        <input
          type="search"
          placeholder="Search topics"
          aria-label="Search topics"
          value={search}
          onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
        />
        <label>
          <input
            type="checkbox"
            checked={internal}
            onChange={(e) => setInternal((e.target as HTMLInputElement).checked)}
          />{' '}
          internal topics
        </label>
        <span class="muted">
          {shown.length} of {all.length}
        </span>
      </div>
      {topics.data === undefined ? (
        <Loading what="topics" />
      ) : (
        <table class="table" id="topics">
          <thead>
            <tr>
              <th>topic</th>
              <th class="num">partitions</th>
              <th class="num">replication</th>
              <th>state</th>
              <th class="num">config overrides</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((t) => (
              <tr key={t.name} data-topic={t.name}>
                <td>
                  <a href={href('topics', t.name)}>{t.name}</a>
                  {t.internal ? <span class="muted"> (internal)</span> : null}
                </td>
                <td class="num">{t.partitions}</td>
                <td class="num">{t.replicationFactor}</td>
                <td>
                  {t.offline > 0 ? <Badge kind="bad">{t.offline} offline</Badge> : null}
                  {t.underReplicated > 0 ? (
                    <Badge kind="warn">{t.underReplicated} under-replicated</Badge>
                  ) : null}
                  {t.offline === 0 && t.underReplicated === 0 ? <Badge kind="ok">healthy</Badge> : null}
                </td>
                <td class="num">{t.configOverrides}</td>
              </tr>
            ))}
            {shown.length === 0 ? (
              <tr>
                <td colSpan={5} class="muted">
                  No topic matches.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      )}
    </section>
  );
}
