// The rule a node with a new Raft directory follows before taking part (cluster/rejoin-check.ts):
// refuse when any peer knows its id; go on once a majority of the voters answered; wait meanwhile.
import { ManualScheduler } from '@chronik/env';
import type { IdentityAnswer } from '@chronik/raft-grpc';
import { silentLogger } from '../../src/logger.js';
import { checkNewNodeMayJoin } from '../../src/cluster/rejoin-check.js';

const NEW: IdentityAnswer = { clusterId: '', askerRegistered: false, metadataApplied: 0 };

function run(answers: (peer: number, round: number) => IdentityAnswer | undefined, voters = [1, 2, 3]) {
  const scheduler = new ManualScheduler();
  let round = 0;
  const asked: number[] = [];
  const done = checkNewNodeMayJoin({
    nodeId: 1,
    directoryId: 'dir-1',
    voters,
    clock: scheduler,
    scheduler,
    logger: silentLogger,
    identify: (peer) => {
      asked.push(peer);
      const a = answers(peer, round);
      return a === undefined ? Promise.reject(new Error('unreachable')) : Promise.resolve(a);
    },
  });
  let outcome: string | undefined;
  done.then(
    () => (outcome = 'joins'),
    (e: unknown) => (outcome = (e as { code?: string }).code),
  );
  const step = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
    round++;
    scheduler.advance(500);
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { outcome: () => outcome, step, asked };
}

test('joins once a majority of the voters answered and none knows it (a cluster being formed)', async () => {
  const r = run((peer, round) => (peer === 2 && round >= 2 ? NEW : undefined));
  await r.step();
  expect(r.outcome()).toBeUndefined(); // nobody answered yet: waits
  await r.step();
  await r.step();
  expect(r.outcome()).toBe('joins');
});

test('joins a cluster formed without it (first start: no peer has a registration of its id)', async () => {
  const r = run(() => ({ clusterId: 'c', askerRegistered: false, metadataApplied: 120 }));
  await r.step();
  expect(r.outcome()).toBe('joins');
});

test('refuses when a peer knows its id: its data directory was wiped or replaced', async () => {
  const r = run((peer) =>
    peer === 3 ? { clusterId: 'c', askerRegistered: true, metadataApplied: 99 } : NEW,
  );
  await r.step();
  expect(r.outcome()).toBe('NODE_STATE_LOST');
});

test('with five voters, one answer is not a majority: it keeps waiting', async () => {
  const r = run((peer) => (peer === 2 ? NEW : undefined), [1, 2, 3, 4, 5]);
  await r.step();
  await r.step();
  expect(r.outcome()).toBeUndefined();
});
