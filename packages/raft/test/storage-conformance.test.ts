import { MemoryStorage, storageConformanceCases } from '../src/index.js';

describe('MemoryStorage passes the storage conformance suite', () => {
  for (const c of storageConformanceCases()) {
    it(c.name, async () => {
      await c.run(() => new MemoryStorage());
    });
  }
});

describe('the conformance suite can fail', () => {
  it('catches a storage that forgets term(firstIndex() - 1) after compaction', () => {
    class Forgetful extends MemoryStorage {
      override term(index: number): number {
        if (index === this.firstIndex() - 1 && index > 0) throw new Error('forgot');
        return super.term(index);
      }
    }
    const failing = storageConformanceCases().filter((c) => {
      try {
        void c.run(() => new Forgetful());
        return false;
      } catch {
        return true;
      }
    });
    expect(failing.length).toBeGreaterThan(0);
  });
});
