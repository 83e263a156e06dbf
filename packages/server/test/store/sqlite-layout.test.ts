// Proves the embedded store's shared-table layout (layout.ts, format 5): catalog operations run no
// DDL whatever the number of spaces (SQLite's schema cookie and sqlite_schema stay as they are, so no
// connection re-parses the schema); a removed space or index is invisible at once and its rows are
// purged in bounded slices while writes go on, even when the space is re-created under its name at
// once; the purge resumes after a kill -9; a format-4 file (a table per space) opens with every
// object, version, expiry and index entry.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { DEFAULT_LIMITS, Space, indexKeysOfName, makeLimits, parseSchemaDsl } from '@spacekv/core';
import { DATA_FILE } from '../../src/store/sqlite/sqlite-store.js';
import { ENTRIES_OF_KEY_DELETE, asBlob } from '../../src/store/sqlite/index-entries.js';
import { DATA_FORMAT } from '../../src/store/sqlite/layout.js';
import { pageObjects } from '../conformance/fixture.js';
import { killAllChildren, spawnServer } from '../helpers/process.js';
import { TempDirs } from '../helpers/temp.js';
import { sleep, withTimeout } from '../helpers/timeout.js';
import { LayoutFixture, PURGE_CHILD, countOf, fill, inFile, leftOf, spaceIdOf } from './layout-fixture.js';

const dirs = new TempDirs();
after(async () => {
  await killAllChildren();
  dirs.removeAll();
});

const SPACES = 10_000;

/** What DDL would change: the schema cookie and the schema's objects. */
function schemaState(path: string): { cookie: number; objects: number } {
  return inFile(path, (db) => ({
    cookie: db.pragma('schema_version', { simple: true }) as number,
    objects: db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number,
  }));
}

test(`with ${SPACES} spaces, add_space, rm_space, add_index and rm_index change neither schema_version nor sqlite_schema`, { timeout: 300_000 }, async () => {
  const fx = await LayoutFixture.open(dirs.make('layout-many'), makeLimits({ spacesMax: SPACES + 10 }));
  try {
    for (let from = 0; from < SPACES; from += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, i) => fx.run({ op: 'add_space', schema: `space s${from + i} key k attributes int n` })));
    }
    assert.equal(inFile(fx.store.path, (db) => db.prepare('SELECT count(*) FROM spaces').pluck().get()), SPACES);
    const before = schemaState(fx.store.path);
    await fx.run({ op: 'add_space', schema: 'space extra key k attributes int n, string tag index tag' });
    await fx.run({ op: 'put', space: 'extra', key: 'a', attributes: { n: 1, tag: 'x' } });
    await fx.run({ op: 'add_index', space: 'extra', attribute: 'n' });
    await fx.run({ op: 'rm_index', space: 'extra', attribute: 'tag' });
    await fx.run({ op: 'rm_space', space: 's17' });
    await fx.run({ op: 'rm_space', space: 'extra' });
    await fx.run({ op: 'add_space', schema: 'space s17 key k attributes int n' });
    await fx.purgeAll();
    assert.deepEqual(schemaState(fx.store.path), before, 'a catalog operation changed the schema (it ran DDL)');
  } finally {
    await fx.close();
  }
});

test("a write to an indexed space finds the object's old entries through the (space, key) index, not by scanning the space's entries", async () => {
  const fx = await LayoutFixture.open(dirs.make('layout-by-key'), DEFAULT_LIMITS);
  try {
    await fx.run({ op: 'add_space', schema: 'space people key k attributes int n index n' });
    await fill(fx, 'people', 2_000);
    const id = spaceIdOf(fx.store.path, 'people');
    const plan = inFile(fx.store.path, (db) => (db.prepare(`EXPLAIN QUERY PLAN ${ENTRIES_OF_KEY_DELETE}`).all(id, 'k1') as { detail: string }[]).map((row) => row.detail));
    assert.deepEqual(plan, ['SEARCH index_entries USING INDEX index_entries_by_key (space_id=? AND key=?)']);
  } finally {
    await fx.close();
  }
});

test('a space removed and created again under its name sees nothing of the old incarnation while the purge is pending', async () => {
  const fx = await LayoutFixture.open(dirs.make('layout-reborn'), DEFAULT_LIMITS);
  try {
    const schema = 'space p key k attributes int n index n';
    await fx.run({ op: 'add_space', schema });
    await fill(fx, 'p', 300);
    const oldId = spaceIdOf(fx.store.path, 'p');
    await fx.run({ op: 'rm_space', space: 'p' });
    await fx.run({ op: 'add_space', schema });
    assert.deepEqual(leftOf(fx.store.path, oldId), { objects: 300, entries: 300, purges: 1 }, 'the old rows wait for the purge');
    assert.notEqual(spaceIdOf(fx.store.path, 'p'), oldId);
    const old = await fx.run({ op: 'get', space: 'p', key: 'k7' });
    assert.ok(!old.ok && old.code === 'not_found', `a get read the old incarnation: ${JSON.stringify(old)}`);
    assert.equal(countOf(await fx.run({ op: 'count', space: 'p' })), 0);
    assert.equal(countOf(await fx.run({ op: 'count', space: 'p', where: { n: { gte: 0 } } })), 0, 'an indexed count');
    const listed = await fx.run({ op: 'list', space: 'p', limit: 10 });
    assert.equal(pageObjects(listed).length, 0, 'a list');
    await fx.run({ op: 'put', space: 'p', key: 'k7', attributes: { n: 70 } });
    assert.ok(await fx.purgeAll() >= 1);
    assert.deepEqual(leftOf(fx.store.path, oldId), { objects: 0, entries: 0, purges: 0 });
    assert.equal(countOf(await fx.run({ op: 'count', space: 'p', where: { n: 70 } })), 1, 'the new incarnation keeps its own object');
    const got = await fx.run({ op: 'get', space: 'p', key: 'k7' });
    assert.ok(got.ok && got.kind === 'object' && got.version > 0);
  } finally {
    await fx.close();
  }
});

/**
 * Purge `fx` to the end while another writer puts objects one at a time; the order in which the
 * slices and the writes were answered.
 */
async function purgeWhileWriting(fx: LayoutFixture, space: string): Promise<{ events: string[]; removed: number[] }> {
  const events: string[] = [];
  const removed: number[] = [];
  let purging = true;
  const writer = (async () => {
    for (let i = 0; purging; i++) {
      const result = await fx.run({ op: 'put', space, key: `w${i}`, attributes: { n: i } });
      assert.ok(result.ok);
      events.push('write');
    }
  })();
  try {
    for (let more = true; more;) {
      const step = await fx.store.purgeRemoved();
      removed.push(step.removed);
      events.push('slice');
      more = step.more;
    }
  } finally {
    purging = false;
    await writer;
  }
  return { events, removed };
}

/** Whether a write was answered after the first slice and before the last: the delete did not hold the writer throughout. */
function writesBetweenSlices(events: readonly string[]): boolean {
  const first = events.indexOf('slice');
  const last = events.lastIndexOf('slice');
  return events.slice(first, last).includes('write');
}

test('a removed space of many rows is purged in slices of purgeBatchRowsMax, writes answered between them', async () => {
  const slice = 200;
  const fx = await LayoutFixture.open(dirs.make('layout-slices'), makeLimits({ purgeBatchRowsMax: slice }));
  try {
    await fx.run({ op: 'add_space', schema: 'space big key k attributes int n index n' });
    await fx.run({ op: 'add_space', schema: 'space other key k attributes int n' });
    await fill(fx, 'big', 5000);
    const id = spaceIdOf(fx.store.path, 'big');
    const gone = await fx.run({ op: 'rm_space', space: 'big' });
    assert.ok(gone.ok);
    const { events, removed } = await purgeWhileWriting(fx, 'other');
    assert.equal(removed.reduce((a, b) => a + b, 0), 10_000, 'every object and index entry purged');
    assert.ok(removed.every((n) => n <= slice), `a slice deleted more than purgeBatchRowsMax: ${removed}`);
    assert.ok(removed.length >= 10_000 / slice, `${removed.length} slices`);
    assert.ok(writesBetweenSlices(events), 'no write was answered while the purge ran');
    assert.deepEqual(leftOf(fx.store.path, id), { objects: 0, entries: 0, purges: 0 });
  } finally {
    await fx.close();
  }
});

test('rm_index of a large index is immediate, its entries purged in slices while writes go on; the index built again at once is exact', async () => {
  const slice = 250;
  const fx = await LayoutFixture.open(dirs.make('layout-rm-index'), makeLimits({ purgeBatchRowsMax: slice }));
  try {
    await fx.run({ op: 'add_space', schema: 'space big key k attributes int n, int m index n' });
    await fill(fx, 'big', 4000);
    const id = spaceIdOf(fx.store.path, 'big');
    const dropped = await fx.run({ op: 'rm_index', space: 'big', attribute: 'n' });
    assert.ok(dropped.ok && dropped.kind === 'space' && !(dropped.schema.indexes ?? []).includes('n'));
    assert.equal(countOf(await fx.run({ op: 'count', space: 'big', where: { n: { lt: 100 } } })), 100, 'a scan answers at once');
    const { events, removed } = await purgeWhileWriting(fx, 'big');
    assert.equal(removed.reduce((a, b) => a + b, 0), 4000);
    assert.ok(removed.length > 1 && writesBetweenSlices(events), `slices: ${removed.length}`);
    assert.equal(leftOf(fx.store.path, id).entries, 0);
    // Removed and built again before any purge ran: the build works off the old entries first.
    await fx.run({ op: 'add_index', space: 'big', attribute: 'm' });
    await fx.run({ op: 'rm_index', space: 'big', attribute: 'm' });
    await fx.run({ op: 'put', space: 'big', key: 'k1', attributes: { n: 1, m: -5 } });
    const rebuilt = await fx.run({ op: 'add_index', space: 'big', attribute: 'm' });
    assert.ok(rebuilt.ok && rebuilt.kind === 'space' && (rebuilt.schema.indexes ?? []).includes('m'));
    const objects = countOf(await fx.run({ op: 'count', space: 'big' }));
    assert.equal(leftOf(fx.store.path, id).entries, objects, 'one entry per object, none left of the removed index');
    assert.equal(countOf(await fx.run({ op: 'count', space: 'big', where: { m: -5 } })), 1);
  } finally {
    await fx.close();
  }
});

test('add_index is logged with the schema it gives, like rm_index', async () => {
  const fx = await LayoutFixture.open(dirs.make('layout-log'), DEFAULT_LIMITS);
  try {
    await fx.run({ op: 'add_space', schema: 'space s key k attributes int n' });
    await fx.run({ op: 'add_index', space: 's', attribute: 'n' });
    const { changes, headSeq } = await fx.store.readChanges(0, 10);
    const added = changes.find((c) => c.op === 'add_index');
    assert.ok(added, `no add_index in ${JSON.stringify(changes)}`);
    assert.equal(added.seq, headSeq);
    assert.equal(added.key, '');
    const logged = inFile(fx.store.path, (db) => db.prepare("SELECT schema FROM changes WHERE op = 'add_index'").pluck().get() as string);
    assert.deepEqual(JSON.parse(logged).indexes, ['n'], 'the schema after, for a point-in-time restore to replay');
  } finally {
    await fx.close();
  }
});

test('a purge cut by kill -9 resumes when the server starts again', { timeout: 120_000 }, async () => {
  const dir = dirs.make('layout-kill');
  const child = spawn(process.execPath, [fileURLToPath(new URL('./purge-child.js', import.meta.url)), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await withTimeout(new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (text: string) => text.includes('purging') && resolve());
    child.once('exit', (code) => reject(new Error(`the child exited (${code}) before its purge`)));
  }), 60_000, 'the child to start purging');
  child.kill('SIGKILL');
  await exited;
  const path = join(dir, DATA_FILE);
  const id = 1;
  const cut = leftOf(path, id);
  const total = PURGE_CHILD.rows * 2; // each object has one index entry
  assert.equal(total - cut.objects - cut.entries, PURGE_CHILD.sliceRows * PURGE_CHILD.steps, 'the killed process purged its slices, no more');
  assert.equal(cut.purges, 1);
  const server = await spawnServer(['--port', '0', '--data', dir]);
  try {
    await withTimeout((async () => {
      while (leftOf(path, id).purges > 0) await sleep(100);
    })(), 60_000, 'the restarted server to finish the purge');
    assert.deepEqual(leftOf(path, id), { objects: 0, entries: 0, purges: 0 });
  } finally {
    await server.kill();
  }
});

/** A format-4 data file, made with the DDL of format 4 (a table per space), holding `spaces`. */
function writeFormat4(path: string, spaces: readonly { schema: string; rows: readonly [key: string | bigint, version: number, expiresAt: number | null, attrs: object][] }[]): void {
  const db = new Database(path);
  try {
    db.exec(`CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
      CREATE TABLE spaces (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, schema TEXT NOT NULL, created_seq INTEGER NOT NULL) STRICT;
      CREATE TABLE changes (seq INTEGER NOT NULL, idx INTEGER NOT NULL, space TEXT NOT NULL, key ANY NOT NULL, op TEXT NOT NULL, attrs TEXT,
        committed_at INTEGER NOT NULL, expires_at INTEGER, schema TEXT, PRIMARY KEY (seq, idx)) STRICT, WITHOUT ROWID;
      CREATE TABLE cursors (name TEXT PRIMARY KEY, seq INTEGER NOT NULL) STRICT;`);
    let seq = 0;
    spaces.forEach(({ schema: text, rows }, i) => {
      const schema = parseSchemaDsl(text, DEFAULT_LIMITS);
      const space = new Space(schema, ++seq);
      const id = i + 1;
      const keyColumn = schema.key.type === 'int' ? 'INTEGER' : 'TEXT';
      db.prepare('INSERT INTO spaces (id, name, schema, created_seq) VALUES (?, ?, ?, ?)').run(id, schema.name, JSON.stringify(schema), space.createdSeq);
      db.exec(`CREATE TABLE s_${id} (key ${keyColumn} PRIMARY KEY NOT NULL, version INTEGER NOT NULL, expires_at INTEGER, attrs TEXT NOT NULL) STRICT, WITHOUT ROWID;
        CREATE INDEX s_${id}_expiry ON s_${id} (expires_at) WHERE expires_at IS NOT NULL;
        CREATE TABLE x_${id} (attr TEXT NOT NULL, value BLOB NOT NULL, key ${keyColumn} NOT NULL, expires_at INTEGER, PRIMARY KEY (attr, value, key)) STRICT, WITHOUT ROWID;
        CREATE INDEX x_${id}_by_key ON x_${id} (key);`);
      for (const [key, version, expiresAt, attrs] of rows) {
        db.prepare(`INSERT INTO s_${id} VALUES (?, ?, ?, ?)`).run(key, version, expiresAt, JSON.stringify(attrs));
        for (const attribute of schema.indexes ?? []) {
          for (const entry of indexKeysOfName(space, attribute, attrs as never)) db.prepare(`INSERT OR IGNORE INTO x_${id} VALUES (?, ?, ?, ?)`).run(attribute, asBlob(entry), key, expiresAt);
        }
        seq = Math.max(seq, version);
      }
    });
    db.prepare("INSERT INTO meta VALUES ('last_seq', ?), ('log_floor_seq', 0), ('replayable_after_seq', 0)").run(seq);
    db.pragma('user_version = 4');
  } finally {
    db.close();
  }
}

test('a format-4 data file (a table per space) opens in the newest format with every object, version, expiry and index entry', async () => {
  const dir = dirs.make('layout-format4');
  const path = join(dir, DATA_FILE);
  const future = Date.now() + 3_600_000;
  const past = Date.now() - 1000;
  const big = 2n ** 53n + 1n;
  writeFormat4(path, [
    { schema: 'space users key name attributes int age, string city index age', rows: [
      ['ann', 10, null, { age: 31, city: 'Oslo' }], ['bob', 11, future, { age: 45, city: 'Rome' }], ['cy', 12, past, { age: 31, city: 'Lima' }],
      ['\u{1F600}', 13, null, { age: 5, city: 'X' }], ['\uFFFD', 14, null, { age: 6, city: 'Y' }],
    ] },
    { schema: 'space nums key int n attributes string s', rows: [[big, 20, null, { s: 'big' }], [-3n, 21, null, { s: 'neg' }], [7n, 22, future, { s: 'seven' }]] },
  ]);
  const entriesBefore = inFile(path, (db) => db.prepare('SELECT attr, hex(value) AS value, key, expires_at FROM x_1 ORDER BY attr, value, key').all());
  const fx = await LayoutFixture.open(dir, DEFAULT_LIMITS);
  try {
    inFile(path, (db) => {
      assert.equal(db.pragma('user_version', { simple: true }), DATA_FORMAT);
      assert.deepEqual(db.prepare("SELECT name FROM sqlite_schema WHERE name GLOB 's_*' OR name GLOB 'x_*'").all(), [], 'the per-space tables are gone');
      assert.deepEqual(db.prepare('SELECT attr, hex(value) AS value, key, expires_at FROM index_entries WHERE space_id = 1 ORDER BY attr, value, key').all(), entriesBefore);
      assert.deepEqual(db.prepare('SELECT typeof(key) AS t, count(*) AS n FROM objects GROUP BY space_id, t ORDER BY space_id').all(), [{ t: 'text', n: 5 }, { t: 'integer', n: 3 }]);
    });
    assert.deepEqual(fx.store.get('users', 'bob', Date.now()), { version: 11, expiresAt: future, attributesJson: '{"age":45,"city":"Rome"}' });
    const cy = await fx.run({ op: 'get', space: 'users', key: 'cy' });
    assert.ok(!cy.ok && cy.code === 'not_found', 'an expired object stays expired');
    assert.deepEqual((await fx.store.expiredObjects(Date.now(), 10)).map((e) => [e.space, e.key, e.version]), [['users', 'cy', 12]]);
    assert.equal(countOf(await fx.run({ op: 'count', space: 'users', where: { age: 31 } })), 1, 'the migrated index answers (the expired one skipped)');
    const users = await fx.run({ op: 'list', space: 'users', limit: 10 });
    assert.deepEqual(pageObjects(users).map((o) => o.key), ['ann', 'bob', '\uFFFD', '\u{1F600}'], 'string keys keep their byte order');
    const nums = await fx.run({ op: 'list', space: 'nums', limit: 10 });
    assert.deepEqual(pageObjects(nums).map((o) => String(o.key)), ['-3', '7', String(big)], 'int keys keep their numeric order, past 2^53 too');
    const added = await fx.run({ op: 'add_space', schema: 'space later key k attributes int n' });
    assert.ok(added.ok);
    assert.ok(spaceIdOf(path, 'later') > 2, 'ids are never reused');
  } finally {
    await fx.close();
  }
});
