// PeerLiveness: a peer is alive while its acknowledged-batch total grows; a restart of the peer
// (a new stream) does not make it look dead.
import { PeerLiveness } from '../../src/cluster/peer-liveness.js';

test('a peer is alive while its total grows and dead after a silent window', () => {
  const l = new PeerLiveness(4000);
  l.observe([{ nodeId: 2, totalAckedBatches: 10 }], 0);
  expect(l.alive(2, 0)).toBe(true);
  l.observe([{ nodeId: 2, totalAckedBatches: 25 }], 2000);
  expect(l.alive(2, 5000)).toBe(true);
  l.observe([{ nodeId: 2, totalAckedBatches: 25 }], 7000); // nothing new for 5 s
  expect(l.alive(2, 7000)).toBe(false);
  expect(l.alive(3, 7000)).toBe(false); // never heard
});

test('a peer that restarted is alive as soon as its new stream acknowledges, and counts as newly alive', () => {
  const l = new PeerLiveness(4000);
  l.observe([{ nodeId: 2, totalAckedBatches: 100_000 }], 0);
  // The peer was killed: no acknowledgements for 20 s.
  l.observe([{ nodeId: 2, totalAckedBatches: 100_000 }], 20_000);
  expect(l.alive(2, 20_000)).toBe(false);
  // It is back: the new stream acknowledged 3 batches (the transport's total only grows).
  l.observe([{ nodeId: 2, totalAckedBatches: 100_003 }], 21_000);
  expect(l.alive(2, 21_000)).toBe(true);
  expect(l.aliveSince(2)).toBe(21_000);
});

test('a first sighting with nothing acknowledged is not alive', () => {
  const l = new PeerLiveness(4000);
  l.observe([{ nodeId: 2, totalAckedBatches: 0 }], 1000);
  expect(l.alive(2, 1000)).toBe(false);
  l.observe([{ nodeId: 2, totalAckedBatches: 1 }], 1500);
  expect(l.alive(2, 1500)).toBe(true);
});
