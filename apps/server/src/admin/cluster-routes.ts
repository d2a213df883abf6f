// Admin HTTP routes of cluster operations (JSON, camelCase). Partition reassignments:
// - GET /v1/reassignments: every reassignment in progress in this node's metadata (the merged
//   replica set, target, adding and removing replicas), with `progress` for the moves this node
//   leads (the step it waits for, the learners' Raft match indexes against the leader's last and
//   commit index: cluster/partition-mover.ts). `?topic=t` narrows it to a topic.
// - POST /v1/reassignments `{"partitions": [{"topic": "t", "partition": 0, "replicas": [1, 2, 4]}]}`
//   starts them (`"replicas": null` cancels): 200 with one result per partition, `error` null or
//   `{code, message}` (Kafka's error names, as AlterPartitionReassignments answers); 400 for a body
//   that is not such a list.
import { kafkaErrorName } from '../error-map.js';
import type { PartitionReassignments, ReassignRequest } from '../services/reassignments.js';
import type { AdminRoute } from './http.js';

/** A move's progress as the leader of its partition reports it. */
export interface MoveProgress {
  topic: string;
  partition: number;
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** The body of POST /v1/reassignments, or a description of what is wrong with it. */
export function parseReassignBody(body: unknown): ReassignRequest[] | string {
  const list = (body as { partitions?: unknown } | null)?.partitions;
  if (!Array.isArray(list) || list.length === 0)
    return 'expected {"partitions": [{"topic": "...", "partition": N, "replicas": [ids] | null}, ...]}';
  const out: ReassignRequest[] = [];
  for (const [i, item] of list.entries()) {
    const o = item as { topic?: unknown; partition?: unknown; replicas?: unknown } | null;
    if (o === null || typeof o !== 'object') return `partitions[${i}] is not an object`;
    if (typeof o.topic !== 'string' || o.topic === '') return `partitions[${i}].topic must be a topic name`;
    if (!isInt(o.partition) || o.partition < 0) return `partitions[${i}].partition must be a partition index`;
    if (o.replicas !== null && !(Array.isArray(o.replicas) && o.replicas.every(isInt)))
      return `partitions[${i}].replicas must be a list of broker ids, or null to cancel`;
    out.push({ topic: o.topic, partition: o.partition, replicas: o.replicas === null ? null : o.replicas });
  }
  return out;
}

export function reassignmentRoutes(
  reassignments: PartitionReassignments,
  progress: () => readonly MoveProgress[] = () => [],
): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/v1/reassignments',
      handle: (_body, query) => {
        const topic = query.get('topic');
        const led = new Map(progress().map((p) => [`${p.topic}\u0000${p.partition}`, p]));
        const list = reassignments
          .list(null)
          .filter((r) => topic === null || r.topic === topic)
          .map((r) => {
            const p = led.get(`${r.topic}\u0000${r.partition}`);
            return p === undefined ? r : { ...r, progress: p };
          });
        return { status: 200, body: { reassignments: list } };
      },
    },
    {
      method: 'POST',
      path: '/v1/reassignments',
      handle: async (body) => {
        const requests = parseReassignBody(body);
        if (typeof requests === 'string') return { status: 400, body: { error: requests } };
        const outcomes = await reassignments.alter(requests);
        return {
          status: 200,
          body: {
            results: outcomes.map((o) => ({
              topic: o.topic,
              partition: o.partition,
              error: o.error === null ? null : { code: kafkaErrorName(o.error), message: o.error.message },
            })),
          },
        };
      },
    },
  ];
}
