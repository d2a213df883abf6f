// Small helpers shared by handlers.
import { topicNameProblem } from '@chronik/metadata';

/** Why a topic name is invalid, or null. */
export function topicNameProblemOf(name: string): string | null {
  return topicNameProblem(name);
}

/** Groups items by a key, keeping first-seen order. */
export function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}
