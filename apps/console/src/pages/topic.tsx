// One topic: its partitions (leader, replicas, ISR, offsets and size from each leader), its
// configs, and the message browser.
import { api } from '../api.js';
import { Badge, ErrorBox, Freshness, Loading, Nodes } from '../components/ui.js';
import { formatBytes, formatCount } from '../format.js';
import { usePoll } from '../poll.js';
import type { TopicDetail } from '../types.js';
import { MessageBrowser } from './browser.js';

function PartitionTable({ topic }: { topic: TopicDetail }) {
  return (
    <table class="table" id="partitions">
      <thead>
        <tr>
          <th class="num">partition</th>
          <th class="num">leader</th>
          <th>replicas</th>
          <th>ISR</th>
          <th class="num">log start</th>
          <th class="num">high watermark</th>
          <th class="num">records</th>
          <th class="num">size</th>
          <th>state</th>
        </tr>
      </thead>
      <tbody>
        {topic.partitions.map((p) => {
          const count =
            p.highWatermark !== undefined && p.logStartOffset !== undefined
              ? (BigInt(p.highWatermark) - BigInt(p.logStartOffset)).toString()
              : undefined;
          return (
            <tr key={p.partition} data-partition={p.partition}>
              <td class="num">{p.partition}</td>
              <td class="num">{p.leader < 0 ? '—' : p.leader}</td>
              <td>
                <Nodes ids={p.replicas} />
              </td>
              <td>
                <Nodes ids={p.isr} />
              </td>
              <td class="num">{formatCount(p.logStartOffset)}</td>
              <td class="num" data-hw>
                {formatCount(p.highWatermark)}
              </td>
              <td class="num">{formatCount(count)}</td>
              <td class="num">{formatBytes(p.sizeBytes)}</td>
              <td>
                {p.offline ? (
                  <Badge kind="bad">offline</Badge>
                ) : p.underReplicated ? (
                  <Badge kind="warn">under-replicated</Badge>
                ) : (
                  <Badge kind="ok">in sync</Badge>
                )}
                {p.error !== undefined ? (
                  <span class="bad small" title={p.message}>
                    {' '}
                    {p.error}
                  </span>
                ) : null}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function TopicPage({ name }: { name: string }) {
  const topic = usePoll(() => api.topic(name), 5000, `topic:${name}`);
  const t = topic.data;
  return (
    <section>
      <header class="page-head">
        <h1>
          <a href="#/topics" class="muted">
            Topics
          </a>{' '}
          / <span id="topic-name">{name}</span>
        </h1>
        <Freshness atMs={topic.atMs} error={topic.error} />
      </header>
      <ErrorBox error={topic.error} />
      {t === undefined ? (
        topic.error === undefined ? (
          <Loading what="the topic" />
        ) : null
      ) : (
        <>
          <p class="muted small">
            id {t.topicId}
            {t.internal ? ' · internal' : ''} · {t.partitions.length} partitions
          </p>
          <h2>Partitions</h2>
          <PartitionTable topic={t} />
          <h2>Messages</h2>
          <MessageBrowser topic={t} />
          <h2>Configs</h2>
          <details>
            <summary>
              {t.configs.filter((c) => !c.isDefault).length} set on the topic or the broker,{' '}
              {t.configs.length} in all
            </summary>
            <table class="table" id="configs">
              <thead>
                <tr>
                  <th>name</th>
                  <th>value</th>
                  <th>source</th>
                </tr>
              </thead>
              <tbody>
                {t.configs.map((c) => (
                  <tr key={c.name} class={c.isDefault ? 'muted' : ''} data-config={c.name}>
                    <td>{c.name}</td>
                    <td>{c.sensitive ? '(sensitive)' : (c.value ?? '—')}</td>
                    <td class="small">{c.source}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </>
      )}
    </section>
  );
}
