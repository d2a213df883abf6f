// Reads of the admin API of the node that served the console (same origin, GET only).
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

async function get(path: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, {
      headers: { accept: 'application/json' },
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
