import { MetadataError } from './errors.js';

/** Kafka's limit on topic name length. */
export const MAX_TOPIC_NAME_LENGTH = 249;
/** The internal topic holding committed offsets and group metadata. */
export const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets';
/** The internal topic holding transaction coordinator state. */
export const TRANSACTION_STATE_TOPIC = '__transaction_state';
/** Topics only the broker itself may create or delete. */
export const INTERNAL_TOPICS: readonly string[] = [CONSUMER_OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC];

const LEGAL_CHARS = /^[a-zA-Z0-9._-]+$/;

/** Returns the reason the name is not a legal Kafka topic name, or null when it is legal. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return "Topic name is illegal, it can't be empty";
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."';
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    return `Topic name is illegal, it can't be longer than ${MAX_TOPIC_NAME_LENGTH} characters, topic name: ${name.slice(0, 40)}...`;
  }
  if (!LEGAL_CHARS.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  }
  return null;
}

/** Throws INVALID_TOPIC_EXCEPTION when the name is not a legal topic name. */
export function validateTopicName(name: string): void {
  const problem = topicNameProblem(name);
  if (problem !== null) throw new MetadataError('INVALID_TOPIC_EXCEPTION', problem);
}

/**
 * Kafka treats '.' and '_' as the same character in metric names, so two topics whose names differ
 * only there collide. This is the key under which such names collide.
 */
export function collisionKey(name: string): string {
  return name.replace(/\./g, '_');
}

/** Whether the name is one of the broker's internal topics. */
export function isInternalTopic(name: string): boolean {
  return INTERNAL_TOPICS.includes(name);
}
