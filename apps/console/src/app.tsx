// The console's frame: the navigation, which node answers, and the page of the route.
import { api } from './api.js';
import { usePoll } from './poll.js';
import { ClusterPage } from './pages/cluster.js';
import { GroupPage } from './pages/group.js';
import { GroupsPage } from './pages/groups.js';
import { OverviewPage } from './pages/overview.js';
import { TopicPage } from './pages/topic.js';
import { TopicsPage } from './pages/topics.js';
import type { Route } from './router.js';
import { useRoute } from './router.js';

const NAV: Array<{ label: string; hash: string; pages: Array<Route['page']> }> = [
  { label: 'Overview', hash: '#/', pages: ['overview'] },
  { label: 'Topics', hash: '#/topics', pages: ['topics', 'topic'] },
  { label: 'Consumer groups', hash: '#/groups', pages: ['groups', 'group'] },
  { label: 'Cluster', hash: '#/cluster', pages: ['cluster'] },
];

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'overview':
      return <OverviewPage />;
    case 'topics':
      return <TopicsPage />;
    case 'topic':
      return <TopicPage name={route.name} />;
    case 'groups':
      return <GroupsPage />;
    case 'group':
      return <GroupPage id={route.id} />;
    case 'cluster':
      return <ClusterPage />;
    case 'missing':
      return (
        <section>
          <h1>Not found</h1>
          <p>
            There is no page <code>{route.path}</code>. <a href="#/">Back to the overview</a>.
          </p>
        </section>
      );
  }
}

export function App() {
  const route = useRoute();
  const cluster = usePoll(api.cluster, 10_000, 'cluster');
  const c = cluster.data;
  return (
    <div class="layout">
      <nav class="sidebar" aria-label="Pages">
        <div class="brand">Chronik</div>
        <ul>
          {NAV.map((n) => (
            <li key={n.hash}>
              <a href={n.hash} class={n.pages.includes(route.page) ? 'active' : ''}>
                {n.label}
              </a>
            </li>
          ))}
        </ul>
        <div class="node-info" data-node={c?.nodeId}>
          {c !== undefined ? (
            <>
              <div>
                node <strong>{c.nodeId}</strong> · {c.mode}
              </div>
              <div class="muted small" title="cluster id">
                {c.clusterId}
              </div>
            </>
          ) : cluster.error !== undefined ? (
            <div class="bad">node not answering</div>
          ) : null}
          <div class="muted small">read-only</div>
        </div>
      </nav>
      <main>
        <Page route={route} />
      </main>
    </div>
  );
}
