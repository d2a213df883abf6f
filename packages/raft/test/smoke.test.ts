import { Cluster } from './support/network.js';

describe('smoke', () => {
  it('elects, replicates, applies', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.propose(1, 'a');
    c.propose(1, 'b');
    for (const id of [1, 2, 3]) expect(c.get(id).appliedData()).toEqual(['a', 'b']);
    expect(() => c.get(2).node.propose(Buffer.from('x'))).toThrow(
      expect.objectContaining({ code: 'NotLeader', leaderId: 1 }),
    );
  });
});
