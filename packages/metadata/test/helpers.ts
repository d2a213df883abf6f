import { MetadataStateMachine, prepareCreateTopic, topicIdFromBytes } from '@chronik/metadata';
import type {
  ApplyResult,
  CreateTopicCommand,
  CreateTopicRequest,
  MetadataCommand,
  RegisterBrokerCommand,
} from '@chronik/metadata';

/** Deterministic topic ids: 16 bytes derived from a counter. */
export function topicIds(seed = 1): () => string {
  let n = seed;
  return () => {
    const bytes = new Uint8Array(16);
    let v = n++;
    for (let i = 15; i >= 0 && v > 0; i--) {
      bytes[i] = v & 0xff;
      v = Math.floor(v / 256);
    }
    bytes[0] = 0x5a; // never one of the reserved ids
    return topicIdFromBytes(bytes);
  };
}

export function broker(
  brokerId: number,
  rack: string | null = null,
  incarnation = `inc-${brokerId}`,
): RegisterBrokerCommand {
  return {
    type: 'registerBroker',
    brokerId,
    host: `host${brokerId}`,
    port: 9092 + brokerId,
    rack,
    raftAddress: `host${brokerId}:${9192 + brokerId}`,
    incarnation,
  };
}

/** A state machine with a log index counter. */
export class Node {
  readonly sm: MetadataStateMachine;
  index = 0;
  readonly newTopicId: () => string;

  constructor(sm = new MetadataStateMachine(), seed = 1) {
    this.sm = sm;
    this.index = sm.appliedIndex;
    this.newTopicId = topicIds(seed);
  }

  apply(command: MetadataCommand): ApplyResult {
    this.index += 1;
    return this.sm.applyCommand(this.index, command);
  }

  ok(command: MetadataCommand): ApplyResult {
    const r = this.apply(command);
    if (!r.ok) throw new Error(`expected ${command.type} to succeed: ${r.error.code} ${r.error.message}`);
    return r;
  }

  registerBrokers(ids: readonly number[], racks?: readonly (string | null)[]): void {
    ids.forEach((id, i) => this.ok(broker(id, racks?.[i] ?? null)));
  }

  /** Prepares and applies a topic; returns the command. */
  createTopic(
    name: string,
    numPartitions: number,
    replicationFactor: number,
    extra: Partial<CreateTopicRequest> = {},
  ): CreateTopicCommand {
    const prepared = prepareCreateTopic(
      this.sm,
      { name, numPartitions, replicationFactor, ...extra },
      { defaultPartitions: 1, defaultReplicationFactor: 1, newTopicId: this.newTopicId },
    );
    if (!prepared.ok)
      throw new Error(`prepare ${name} failed: ${prepared.error.code} ${prepared.error.message}`);
    this.ok(prepared.command);
    return prepared.command;
  }
}

/** Everything the state holds except the applied index, as plain data (for equality checks). */
export function stateOf(sm: MetadataStateMachine): unknown {
  const brokerIds = [
    null,
    ...sm.brokers().map((b) => b.brokerId),
    ...Array.from({ length: 12 }, (_, i) => i),
  ];
  return {
    clusterId: sm.clusterId(),
    brokers: sm.brokers(),
    topics: sm.topics(),
    brokerConfigs: brokerIds.map((id) => [id, sm.brokerConfigOverrides(id)]),
    nextProducerId: sm.nextProducerId(),
    totalPartitions: sm.totalPartitionCount(),
  };
}
