// Small shared pieces of the console's pages.
import type { ComponentChildren } from 'preact';
import { ApiError } from '../api.js';

export function ErrorBox({ error }: { error: Error | undefined }) {
  if (error === undefined) return null;
  const code = error instanceof ApiError ? error.code : 'ERROR';
  return (
    <div class="error" role="alert">
      <strong>{code}</strong> {error.message}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <p class="muted">Loading {what}…</p>;
}

export function Badge({
  kind,
  children,
}: {
  kind: 'ok' | 'warn' | 'bad' | 'info' | 'muted';
  children: ComponentChildren;
}) {
  return <span class={`badge badge-${kind}`}>{children}</span>;
}

export function Card({
  title,
  value,
  detail,
  kind,
}: {
  title: string;
  value: ComponentChildren;
  detail?: ComponentChildren | undefined;
  kind?: 'ok' | 'warn' | 'bad' | undefined;
}) {
  return (
    <div class={`card${kind !== undefined ? ` card-${kind}` : ''}`} data-card={title}>
      <div class="card-title">{title}</div>
      <div class="card-value">{value}</div>
      {detail !== undefined ? <div class="card-detail">{detail}</div> : null}
    </div>
  );
}

export function Nodes({ ids }: { ids: readonly number[] }) {
  return <span class="nodes">{ids.length === 0 ? '—' : ids.join(', ')}</span>;
}

/** When the data on the page was read, and from which node. */
export function Freshness({ atMs, error }: { atMs: number | undefined; error: Error | undefined }) {
  if (atMs === undefined) return null;
  return (
    <span class={`freshness${error !== undefined ? ' stale' : ''}`}>
      {error !== undefined ? 'stale — ' : ''}updated {new Date(atMs).toLocaleTimeString()}
    </span>
  );
}
