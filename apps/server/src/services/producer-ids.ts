// Producer ids for idempotent and transactional producers (InitProducerId, the transaction
// coordinator): handed out from blocks the metadata allocates to this broker (allocateProducerIds),
// so ids never repeat across brokers or restarts.
import { KafkaError } from '../errors.js';
import type { MetadataStore } from './metadata-store.js';
import { commitOk } from './metadata-store.js';

const NO_PRODUCER_ID = -1n;
const NO_PRODUCER_EPOCH = -1;

export class ProducerIds {
  private block: { next: number; end: number } = { next: 0, end: 0 };
  /** One allocation at a time. */
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: MetadataStore,
    private readonly nodeId: number,
    private readonly blockSize = 1000,
  ) {}

  /**
   * InitProducerId without a transactional id, as Kafka's TransactionCoordinator answers it: always a
   * newly allocated producer id with epoch 0. A producer id and epoch in the request (v3+, KIP-360)
   * are not trusted and not bumped — they only identify a transactional id's producer, and there is
   * none here; an idempotent producer that must bump its epoch gets a new id instead (a fresh id has
   * no sequence state, which is what a bump needs). Sending only one of the two is INVALID_REQUEST,
   * as in Kafka.
   */
  initProducerId(req: {
    transactionalId: string | null;
    transactionTimeoutMs: number;
    producerId: bigint;
    producerEpoch: number;
  }): Promise<{ producerId: bigint; producerEpoch: number }> {
    if (req.transactionalId !== null)
      return Promise.reject(
        new KafkaError(
          'INVALID_REQUEST',
          'a transactional id belongs to the transaction coordinator (src/txn)',
        ),
      );
    if ((req.producerId === NO_PRODUCER_ID) !== (req.producerEpoch === NO_PRODUCER_EPOCH))
      return Promise.reject(
        new KafkaError(
          'INVALID_REQUEST',
          `producer id ${req.producerId} and epoch ${req.producerEpoch}: give both or neither`,
        ),
      );
    return this.allocate().then((producerId) => ({ producerId, producerEpoch: 0 }));
  }

  /** A producer id never handed out before (from this broker's current block; a new block when it is used up). */
  allocate(): Promise<bigint> {
    const run = this.lock.then(async () => {
      if (this.block.next >= this.block.end) {
        const { changes } = await commitOk(this.store, {
          type: 'allocateProducerIds',
          brokerId: this.nodeId,
          brokerEpoch: -1,
          count: this.blockSize,
        });
        const ch = changes.find((c) => c.type === 'producerIdsAllocated');
        if (ch === undefined || ch.type !== 'producerIdsAllocated')
          throw new KafkaError('UNKNOWN_SERVER_ERROR', 'no producer id block was allocated');
        this.block = { next: ch.block.firstProducerId, end: ch.block.firstProducerId + ch.block.count };
      }
      return BigInt(this.block.next++);
    });
    this.lock = run.catch(() => undefined);
    return run;
  }
}
