import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LOCK_FILE, META_FILE, openDataDir } from '../src/datadir.js';
import { isServerError } from '../src/errors.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-datadir-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('data directory', () => {
  test('formats a new directory with meta.properties and a lock', () => {
    const h = openDataDir(path.join(dir, 'd'), 3, () => 'id-1');
    expect(fs.readFileSync(path.join(dir, 'd', META_FILE), 'utf8')).toMatch(/node\.id=3/);
    expect(fs.readFileSync(path.join(dir, 'd', LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    h.release();
    expect(fs.existsSync(path.join(dir, 'd', LOCK_FILE))).toBe(false);
    const again = openDataDir(path.join(dir, 'd'), 3, () => 'id-2');
    expect(again.meta.directoryId).toBe('id-1');
    again.release();
  });

  test('a directory written by another node id is refused', () => {
    openDataDir(dir, 1, () => 'a').release();
    expect(() => openDataDir(dir, 2, () => 'b')).toThrow(/belongs to node 1/);
    try {
      openDataDir(dir, 2, () => 'b');
    } catch (e) {
      expect(isServerError(e, 'DATA_DIR_NODE_MISMATCH')).toBe(true);
    }
    // the failed attempt did not leave a lock behind
    openDataDir(dir, 1, () => 'a').release();
  });

  test('a lock held by a live process is refused; a stale lock is taken over', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(path.join(dir, LOCK_FILE), `${child.pid}\n`);
      expect(() => openDataDir(dir, 1, () => 'a')).toThrow(/in use by another chronik-server process/);
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    const h = openDataDir(dir, 1, () => 'a'); // owner is dead now
    h.release();
  });

  test('an unwritable location is a clear error', () => {
    const file = path.join(dir, 'file');
    fs.writeFileSync(file, 'x');
    expect(() => openDataDir(path.join(file, 'sub'), 1, () => 'a')).toThrow(/not writable/);
  });
});
