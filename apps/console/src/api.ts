// Reads of the admin API of the node that served the console (same origin, GET only). When the
// admin port wants a bearer token (--admin-token-file), the console asks the user for it once
// (app.tsx) and keeps it in the tab's sessionStorage (gone when the tab closes; never in a URL or
// in localStorage), sent as `Authorization: Bearer` with every read.
import type {
  ClusterStatus,
  GroupDetail,
  GroupList,
  LeaderChanges,
  LocalPartition,
  RaftView,
  RecordsAnswer,
  TopicDetail,
  TopicList,
} from './types.js';

/** A failed request: the admin API's Kafka error name (or HTTP status) and its sentence. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Longest wait for one answer. */
const TIMEOUT_MS = 10_000;

const TOKEN_KEY = 'chronik.adminToken';

/** The admin token this tab was given, if any. */
export function adminToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** Keeps `token` for this tab (null forgets it). */
export function setAdminToken(token: string | null): void {
  if (token === null || token === '') sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

/** Whether `error` is the admin port asking for a (valid) token. */
export function needsToken(error: Error | undefined): boolean {
  return error instanceof ApiError && error.status === 401;
}

async function get(path: string): Promise<Response> {
  let res: Response;
  const token = adminToken();
  try {
    res = await fetch(path, {
      headers: {
        accept: 'application/json',
        ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
      },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (e) {
    throw new ApiError(
      0,
      'NETWORK',
      `the node did not answer ${path}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (!res.ok) {
    let code = `HTTP ${res.status}`;
    let message = res.statusText;
    try {
      const body = (await res.json()) as { error?: string; message?: string };
      if (body.message !== undefined) {
        code = body.error ?? code;
        message = body.message;
      } else if (body.error !== undefined) message = body.error;
    } catch {
      // not JSON: keep the status
    }
    throw new ApiError(res.status, code, message);
  }
  return res;
}

async function json<T>(path: string): Promise<T> {
  return (await (await get(path)).json()) as T;
}

const enc = encodeURIComponent;

export const api = {
  cluster: () => json<ClusterStatus>('/v1/cluster'),
  partitions: () => json<LocalPartition[]>('/v1/partitions'),
  topics: () => json<TopicList>('/v1/topics'),
  topic: (name: string) => json<TopicDetail>(`/v1/topics/${enc(name)}`),
  records: (name: string, partition: number, query: Record<string, string>) =>
    json<RecordsAnswer>(
      `/v1/topics/${enc(name)}/partitions/${partition}/records?${new URLSearchParams(query).toString()}`,
    ),
  groups: () => json<GroupList>('/v1/groups'),
  group: (id: string) => json<GroupDetail>(`/v1/groups/${enc(id)}`),
  raft: () => json<RaftView>('/v1/raft?limit=500'),
  leaderChanges: () => json<LeaderChanges>('/v1/leader-changes'),
  metrics: async () => (await get('/metrics')).text(),
};
