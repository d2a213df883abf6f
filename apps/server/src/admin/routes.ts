// The console's admin routes (GET only), over views.ts. Answers are JSON in which every Kafka int64
// (offsets, timestamps, lag) is a string, so nothing beyond 2^53 loses digits; failures are
// `{ "error": KAFKA_ERROR_NAME, "message": sentence }` with 400 (bad parameters), 403 (records, when
// --admin-records keeps them off), 404 (no such topic, partition or route) or 503 (the leader or
// coordinator cannot answer now).
//
//   /v1/topics                                        every topic, partition counts by state
//   /v1/topics/:name                                  partitions (leader, replicas, ISR, offsets, size), configs
//   /v1/topics/:name/partitions/:p/records            ?offset= | ?timestamp= (ms), &limit= (≤ 500), &maxBytes= (≤ 4 MiB)
//   /v1/groups                                        every coordinator's groups
//   /v1/groups/:id                                    members, assignment, committed offsets, lag
//   /v1/raft                                          this node's Raft groups (?limit=, ≤ 2,000) and peers
//   /v1/leader-changes                                partition leader changes this node applied
import { KafkaError } from '../errors.js';
import type { AdminViews, RecordsQuery } from './views.js';
import {
  ViewRefused,
  DEFAULT_READ_BYTES,
  DEFAULT_RECORDS,
  MAX_RAFT_GROUPS,
  MAX_READ_BYTES,
  MAX_RECORDS,
} from './views.js';

export interface RouteAnswer {
  status: number;
  body: unknown;
}

/** The route prefixes routes.ts answers. */
export function isViewRoute(pathname: string): boolean {
  return (
    pathname === '/v1/topics' ||
    pathname.startsWith('/v1/topics/') ||
    pathname === '/v1/groups' ||
    pathname.startsWith('/v1/groups/') ||
    pathname === '/v1/raft' ||
    pathname === '/v1/leader-changes'
  );
}

/** JSON text of an answer: bigints as decimal strings. */
export function viewJson(body: unknown): string {
  return JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

class BadRequest extends Error {}

function intParam(q: URLSearchParams, name: string, min: number, max: number, fallback: number): number {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new BadRequest(`${name} must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new BadRequest(`${name} must be in ${min}..${max}, got ${n}`);
  return n;
}

function int64Param(q: URLSearchParams, name: string): bigint | undefined {
  const raw = q.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^\d{1,19}$/.test(raw)) throw new BadRequest(`${name} must be a whole number ≥ 0, got "${raw}"`);
  const n = BigInt(raw);
  if (n > 0x7fffffffffffffffn) throw new BadRequest(`${name} is past the largest int64`);
  return n;
}

function recordsQuery(q: URLSearchParams): RecordsQuery {
  const offset = int64Param(q, 'offset');
  const timestampMs = int64Param(q, 'timestamp');
  if (offset !== undefined && timestampMs !== undefined)
    throw new BadRequest('give offset or timestamp, not both');
  return {
    ...(offset !== undefined ? { offset } : {}),
    ...(timestampMs !== undefined ? { timestampMs } : {}),
    limit: intParam(q, 'limit', 1, MAX_RECORDS, DEFAULT_RECORDS),
    maxBytes: intParam(q, 'maxBytes', 1024, MAX_READ_BYTES, DEFAULT_READ_BYTES),
  };
}

/** Kafka errors an answer may carry, by HTTP status. */
function statusOf(e: KafkaError): number {
  switch (e.code) {
    case 'UNKNOWN_TOPIC_OR_PARTITION':
    case 'UNKNOWN_TOPIC_ID':
    case 'GROUP_ID_NOT_FOUND':
      return 404;
    case 'OFFSET_OUT_OF_RANGE':
    case 'INVALID_REQUEST':
      return 400;
    default:
      return 503;
  }
}

function segment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new BadRequest(`bad escape in "${s}"`);
  }
}

async function answer(views: AdminViews, url: URL): Promise<unknown> {
  const parts = url.pathname.split('/').slice(2); // '', 'v1', ...
  const [kind, name, sub, p, leaf, ...rest] = parts;
  if (kind === 'topics') {
    if (name === undefined) return views.topics();
    if (sub === undefined) return views.topic(segment(name));
    if (sub === 'partitions' && p !== undefined && leaf === 'records' && rest.length === 0) {
      if (!/^\d{1,9}$/.test(p)) throw new BadRequest(`partition must be a whole number, got "${p}"`);
      return views.records(segment(name), Number(p), recordsQuery(url.searchParams));
    }
  } else if (kind === 'groups') {
    if (name === undefined) return views.groups();
    if (sub === undefined) return views.group(segment(name));
  } else if (kind === 'raft' && name === undefined) {
    return views.raft(intParam(url.searchParams, 'limit', 1, MAX_RAFT_GROUPS, MAX_RAFT_GROUPS));
  } else if (kind === 'leader-changes' && name === undefined) {
    return views.leaderChangesView();
  }
  return undefined;
}

/** Answers a GET of one of the view routes (isViewRoute). */
export async function viewRoute(views: AdminViews, url: URL): Promise<RouteAnswer> {
  try {
    const body = await answer(views, url);
    if (body === undefined)
      return { status: 404, body: { error: 'NOT_FOUND', message: `no route ${url.pathname}` } };
    return { status: 200, body };
  } catch (e) {
    if (e instanceof BadRequest)
      return { status: 400, body: { error: 'INVALID_REQUEST', message: e.message } };
    if (e instanceof ViewRefused)
      return { status: 403, body: { error: 'RECORDS_DISABLED', message: e.message } };
    if (e instanceof KafkaError) return { status: statusOf(e), body: { error: e.code, message: e.message } };
    throw e;
  }
}
