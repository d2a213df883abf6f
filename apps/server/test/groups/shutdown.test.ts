// A broker shutting down answers a JoinGroup that waits for a rebalance at once (NOT_COORDINATOR)
// instead of holding the shutdown until the rebalance would end.
import { ApiKey, decodeResponseFrame } from '@chronik/protocol';
import { removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { subscription } from './helpers.js';

it('answers a waiting JoinGroup NOT_COORDINATOR when the broker stops', async () => {
  const b = await startBroker({}, { groupConfig: { initialRebalanceDelayMs: 60_000 } });
  try {
    const c = await RawClient.connect(b.broker.kafkaPort);
    await c.request(ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: ['slow'] });
    const id = c.send(ApiKey.JoinGroup, 3, {
      groupId: 'slow',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 120_000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from(subscription(['t'])) }],
      reason: null,
    });
    expect(await c.nextFrame(300)).toBeUndefined(); // waiting for the initial rebalance delay
    const started = Date.now();
    const stopping = b.stop();
    const frame = await c.nextFrame(5000);
    expect(frame).toBeDefined();
    const { header, body } = decodeResponseFrame(ApiKey.JoinGroup, 3, frame ?? Buffer.alloc(0));
    expect(header.correlationId).toBe(id);
    expect(body.errorCode).toBe(16); // NOT_COORDINATOR
    await stopping;
    expect(Date.now() - started).toBeLessThan(10_000); // (without the early answer the listener would have cut the connection unanswered)
    c.close();
  } finally {
    await b.stop();
    removeDir(b.dataDir);
  }
});
