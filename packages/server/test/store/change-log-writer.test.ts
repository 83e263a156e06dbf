// The writer logs a batch's changes with multi-row INSERTs (src/store/sqlite/change-log-writer.ts):
// every change must land as its own row, in order, with the idx of its place in its member (a tx's
// changes share one seq), whatever the batch's size and however it splits into statements.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Change } from '@spacekv/core';
import { ChangeLogWriter } from '../../src/store/sqlite/change-log-writer.js';
import { migrate } from '../../src/store/sqlite/layout.js';
import { configureWriter } from '../../src/store/sqlite/pragmas.js';

describe('the change log writer', () => {
  test('logs each change of a batch as one row, in order, across multi-row statements', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spacekv-log-'));
    const db = new Database(join(dir, 'data.db'));
    try {
      configureWriter(db);
      migrate(db);
      const log = new ChangeLogWriter(db);
      // 64 + 8 + 8 + 1 rows' worth and more: every statement size, and a tx of three changes astride two statements.
      const members: Change[][] = [];
      let seq = 0;
      for (let i = 0; i < 90; i++) {
        seq++;
        const changes = i === 62 ? 3 : 1;
        members.push(Array.from({ length: changes }, (_, n): Change => ({
          seq, space: 's', key: i % 2 === 0 ? `k${i}-${n}` : i, op: 'put', attributesJson: `{"n":${i}}`, committedAtMs: 1_000 + i,
          expiresAtMs: i % 3 === 0 ? 5_000 : null,
        })));
      }
      db.transaction(() => log.appendMembers(members))();
      const rows = db.prepare('SELECT seq, idx, space, key, op, attrs, committed_at, expires_at, schema FROM changes ORDER BY seq, idx').raw(true).all();
      const expected = members.flatMap((changes) => changes.map((c, idx) => [c.seq, idx, c.space, c.key, c.op, c.attributesJson, c.committedAtMs, c.expiresAtMs, null]));
      assert.equal(rows.length, 92);
      assert.deepEqual(rows, expected);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
