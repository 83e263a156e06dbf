// Proves two servers never open one data directory: a second store over a directory in use fails
// to open with `unavailable` (and harms nothing), and the directory is free again once the first
// store closes. (The lock is the kernel's, so a killed process frees it too: the process tests
// restart servers after kill -9 on the same directory.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LIMITS, SpacekvError } from '@spacekv/core';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { makeTempDir, removeDir } from './helpers/temp.js';

test('a second store over a data directory in use is refused until the first closes', async () => {
  const dir = makeTempDir('dir-lock');
  try {
    const first = new SqliteStore(dir, DEFAULT_LIMITS);
    await first.open();
    const second = new SqliteStore(dir, DEFAULT_LIMITS);
    await assert.rejects(second.open(), (err: unknown) => err instanceof SpacekvError && err.code === 'unavailable' && /another spacekv server/.test(err.message));
    assert.equal(await first.readCursor('x'), 0, 'the first store is unharmed');
    await first.close();
    const third = new SqliteStore(dir, DEFAULT_LIMITS);
    await third.open();
    await third.close();
  } finally {
    removeDir(dir);
  }
});
