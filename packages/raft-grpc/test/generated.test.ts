// The committed stubs in src/generated must be exactly what `pnpm gen` produces from proto/.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const pkg = path.resolve(__dirname, '..');

describe('generated protobuf stubs', () => {
  it('match a fresh regeneration from proto/raft.proto', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'chronik-proto-'));
    try {
      const r = spawnSync('bash', ['scripts/gen.sh', out], { cwd: pkg, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const committed = path.join(pkg, 'src', 'generated');
      expect(readdirSync(out).sort()).toEqual(readdirSync(committed).sort());
      for (const file of readdirSync(out)) {
        expect(readFileSync(path.join(out, file), 'utf8')).toBe(
          readFileSync(path.join(committed, file), 'utf8'),
        );
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
