// Proves a server hears of every catalog change and commit another server makes on the same schema,
// including those made in the first moments after it opened, before its first poll of the meta row.
// The poll once took whatever it first read as its baseline: a space created by another server in
// that window (about 100 ms) was never heard of, and the server answered unknown_space for it
// until restarted (CI: "timed out waiting for server b to know the space").
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DEFAULT_LIMITS, type WriteOp, parseSchemaDsl } from '@spacekv/core';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { dropSchema, postgresMissing, storeUrl, uniqueSchema } from '../helpers/postgres.js';
import { withTimeout } from '../helpers/timeout.js';

const missing = await postgresMissing();
const schema = uniqueSchema('poll');
after(async () => {
  if (!missing) await dropSchema(schema);
});

test('a space created and written by another server right after this one opened is heard of', { skip: missing }, async () => {
  const a = new PostgresStore(storeUrl(schema), DEFAULT_LIMITS, { poolSize: 2 });
  const b = new PostgresStore(storeUrl(schema), DEFAULT_LIMITS, { poolSize: 2 });
  await a.open();
  try {
    const known = await b.open();
    // At once, inside b's first poll interval.
    const catalogHeard = new Promise<void>((resolve) => b.sharedCatalog.onChange(resolve));
    const commitHeard = new Promise<void>((resolve) => b.onForeignCommit(resolve));
    const [added] = await a.commit([{ op: { op: 'add_space', schema: parseSchemaDsl('space early key k attributes int n', DEFAULT_LIMITS) } as WriteOp }]);
    assert.ok(added && 'result' in added, JSON.stringify(added));
    assert.deepEqual(known.map((s) => s.schema.name), [], 'b opened before the space existed');
    await withTimeout(catalogHeard, 5_000, 'b to hear of the space a created');
    await withTimeout(commitHeard, 5_000, 'b to hear of the commit a made');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
