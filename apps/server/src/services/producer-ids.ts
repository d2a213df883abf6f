// Producer ids for idempotent producers (InitProducerId): handed out from blocks the metadata
// allocates to this broker (allocateProducerIds), so ids never repeat across brokers or restarts.
import { KafkaError } from '../errors.js';
import type { MetadataStore } from './metadata-store.js';
import { commitOk } from './metadata-store.js';

/** The largest producer epoch before an idempotent producer must get a new id. */
const MAX_PRODUCER_EPOCH = 32766;

export class ProducerIds {
  private block: { next: number; end: number } = { next: 0, end: 0 };
  /** One allocation at a time. */
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: MetadataStore,
    private readonly nodeId: number,
    private readonly blockSize = 1000,
  ) {}

  /** A new producer id (idempotent producers), or a bumped epoch when producerId/epoch are given (KIP-360). */
  initProducerId(req: {
    transactionalId: string | null;
    transactionTimeoutMs: number;
    producerId: bigint;
    producerEpoch: number;
  }): Promise<{ producerId: bigint; producerEpoch: number }> {
    if (req.transactionalId !== null)
      return Promise.reject(
        new KafkaError(
          'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
          'transactions are not supported by this broker yet',
        ),
      );
    if (req.producerId >= 0n && req.producerEpoch >= 0 && req.producerEpoch < MAX_PRODUCER_EPOCH)
      return Promise.resolve({ producerId: req.producerId, producerEpoch: req.producerEpoch + 1 });
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
      return { producerId: BigInt(this.block.next++), producerEpoch: 0 };
    });
    this.lock = run.catch(() => undefined);
    return run;
  }
}
