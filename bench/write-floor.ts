/**
 * `node bench/dist/write-floor.js [rounds]`: what a durable update costs below spacekv, on this
 * machine, so that spacekv's YCSB write cells can be read against a floor rather than a hope.
 *
 * 1. One durable update at a time (YCSB A, B and F at one in flight):
 *    - Redis `appendfsync always`, one HSET of one field per round trip over ioredis: the peer's
 *      whole update, network and server included;
 *    - appending a 1.1 KB record to a file and `fdatasync`ing it, in process: what an append-only
 *      log pays the disk;
 *    - raw better-sqlite3, one update per transaction (WAL, synchronous=FULL), in process, with
 *      spacekv's own tables: the object's row rewritten and the change logged, as spacekv's writer does.
 * 2. Many updates per commit (YCSB A and F at 64 and 1,024 in flight), raw better-sqlite3 with spacekv's
 *    tables, 25 and 490 updates per commit, two write paths:
 *    - `page`: today's, each commit rewrites every updated object's row (so its 8 KiB page) and
 *      logs the change;
 *    - `log`: a commit appends only the change-log rows (which already hold each object whole);
 *      the objects' rows are written later in a transaction without its own fsync, every 5,000 or
 *      20,000 updates, each object once however often it changed in between (hot keys coalesce).
 *      What such a store would still owe (reads of objects not yet written back, searches, crash
 *      replay) is not built here: this is the most that write path could save.
 * Keys are YCSB's scrambled zipfian over 20,000 records of ten 100-byte fields; each update writes
 * one field. The cases run in turn within each round, rounds in alternating order; the medians print.
 */
import Database from 'better-sqlite3';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { durablePeer, killRedisChildren, redisClient } from './lib/redis-peer.js';
import { median } from './lib/stats.js';
import { FIELD_COUNT, FIELD_NAMES, Keyspace, Random, ScrambledZipfian, fieldValue, recordOf } from './lib/ycsb/workload.js';

const RECORDS = 20_000;
const LONE_UPDATES = 2_000;

interface Cost {
  /** Wall time per update, µs. */
  readonly wallUs: number;
  /** This process's CPU per update (user and system), µs; for Redis, the client's only. */
  readonly cpuUs: number;
}

async function measure(updates: number, run: () => void | Promise<void>): Promise<Cost> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await run();
  const wallUs = ((performance.now() - start) * 1000) / updates;
  const used = process.cpuUsage(cpu);
  return { wallUs, cpuUs: (used.user + used.system) / updates };
}

/** A store laid out as spacekv's SQLite writer lays it out (layout.ts), loaded with the records. */
class RawStore {
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly keys = new Keyspace();
  private readonly zipfian = new ScrambledZipfian(RECORDS);
  private readonly random = new Random(7);
  private seq = 0;
  private written = 0;
  /** Objects changed and not yet written back (the `log` path): key -> [version, attrs]. */
  private readonly unwritten = new Map<string, [number, string]>();

  constructor(dir: string) {
    this.db = new Database(join(dir, 'floor.sqlite'));
    // The writer's own settings (pragmas.ts).
    for (const pragma of ['page_size = 8192', 'journal_mode = WAL', 'synchronous = FULL', 'cache_size = -65536', 'wal_autocheckpoint = 4000', 'temp_store = MEMORY']) this.db.pragma(pragma);
    this.db.exec(`CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
      INSERT INTO meta VALUES ('last_seq', 0), ('written_seq', 0);
      CREATE TABLE objects (space_id INTEGER NOT NULL, key ANY NOT NULL, version INTEGER NOT NULL, expires_at INTEGER, attrs TEXT NOT NULL, PRIMARY KEY (space_id, key)) STRICT, WITHOUT ROWID;
      CREATE INDEX objects_expiry ON objects (expires_at) WHERE expires_at IS NOT NULL;
      CREATE TABLE changes (seq INTEGER NOT NULL, idx INTEGER NOT NULL, space TEXT NOT NULL, key ANY NOT NULL, op TEXT NOT NULL, attrs TEXT,
        committed_at INTEGER NOT NULL, expires_at INTEGER, schema TEXT, PRIMARY KEY (seq, idx)) STRICT, WITHOUT ROWID;`);
    const insert = this.db.prepare('INSERT INTO objects (space_id, key, version, attrs) VALUES (1, ?, 1, ?)');
    this.db.transaction(() => {
      for (let n = 0; n < RECORDS; n++) insert.run(this.keys.key(n), JSON.stringify(recordOf(n)));
    })();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.stmts = {
      begin: this.db.prepare('BEGIN IMMEDIATE'),
      commit: this.db.prepare('COMMIT'),
      read: this.db.prepare('SELECT version, attrs FROM objects WHERE space_id = 1 AND key = ?').raw(true),
      write: this.db.prepare('UPDATE objects SET version = ?, attrs = ? WHERE space_id = 1 AND key = ?'),
      log: this.db.prepare("INSERT INTO changes (seq, idx, space, key, op, attrs, committed_at) VALUES (?, 0, 'usertable', ?, 'put', ?, ?)"),
      readSeq: this.db.prepare("SELECT value FROM meta WHERE name = 'last_seq'").pluck(),
      writeSeq: this.db.prepare("UPDATE meta SET value = ? WHERE name = 'last_seq'"),
      writtenSeq: this.db.prepare("UPDATE meta SET value = ? WHERE name = 'written_seq'"),
    };
  }

  /** `commits` commits of `perCommit` updates each on the `page` or `log` path; `writeBackEvery`: updates between write-backs (log). */
  run(path: 'page' | 'log', commits: number, perCommit: number, writeBackEvery: number): void {
    const { stmts } = this;
    let sinceWriteBack = 0;
    for (let c = 0; c < commits; c++) {
      stmts.begin.run();
      this.seq = stmts.readSeq.get() as number;
      const now = Date.now();
      for (let u = 0; u < perCommit; u++) {
        const key = this.keys.key(this.zipfian.next(this.random));
        const [version, attrs] = (path === 'log' ? this.unwritten.get(key) : undefined) ?? (stmts.read.get(key) as [number, string]);
        const object = JSON.parse(attrs) as Record<string, string>;
        const field = this.random.below(FIELD_COUNT);
        object[FIELD_NAMES[field] as string] = fieldValue(++this.written, field, 1);
        const next = JSON.stringify(object);
        this.seq++;
        if (path === 'log') this.unwritten.set(key, [version + 1, next]);
        else stmts.write.run(version + 1, next, key);
        stmts.log.run(this.seq, key, next, now);
      }
      stmts.writeSeq.run(this.seq);
      stmts.commit.run();
      sinceWriteBack += perCommit;
      if (path === 'log' && sinceWriteBack >= writeBackEvery) {
        this.writeBack();
        sinceWriteBack = 0;
      }
    }
    if (path === 'log') this.writeBack();
  }

  /**
   * The objects changed since the last write-back, each once, in a transaction that does not fsync
   * (WAL with synchronous=NORMAL): the next durable commit's fsync covers its frames, and until
   * then the log holds every change it writes.
   */
  private writeBack(): void {
    if (this.unwritten.size === 0) return;
    this.db.pragma('synchronous = NORMAL');
    this.stmts.begin.run();
    for (const [key, [version, attrs]] of this.unwritten) this.stmts.write.run(version, attrs, key);
    this.stmts.writtenSeq.run(this.seq);
    this.stmts.commit.run();
    this.db.pragma('synchronous = FULL');
    this.unwritten.clear();
  }

  close(): void {
    this.db.close();
  }
}

/** Append a 1.1 KB record and fdatasync it, `updates` times: the disk's part of an append-only log's durable write. */
function appendAndSync(dir: string, updates: number): void {
  const fd = openSync(join(dir, 'append.log'), 'a');
  const record = Buffer.from(`${JSON.stringify(recordOf(1))}\n`);
  try {
    for (let u = 0; u < updates; u++) {
      writeSync(fd, record);
      fdatasyncSync(fd);
    }
  } finally {
    closeSync(fd);
  }
}

const rounds = Number(process.argv[2] ?? '3');
if (!Number.isSafeInteger(rounds) || rounds < 1) {
  console.error('usage: node bench/dist/write-floor.js [rounds >= 1]');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'spacekv-write-floor-'));
process.on('exit', killRedisChildren);
const redisPeer = await durablePeer(join(dir, 'redis'));
if ('skipped' in redisPeer) console.log(`Redis appendfsync always: not measured (${redisPeer.skipped})`);
const redis = 'peer' in redisPeer ? redisClient(redisPeer.peer.host, redisPeer.peer.port) : undefined;
await redis?.connect();

/** Each case: a label and one measured run; run in turn each round. */
const cases: { readonly label: string; readonly run: () => Promise<Cost>; readonly costs: Cost[] }[] = [];
function add(label: string, run: () => Promise<Cost>): void {
  cases.push({ label, run, costs: [] });
}

if (redis) {
  const keys = new Keyspace();
  await Promise.all(Array.from({ length: 1_000 }, (_, n) => redis.hset(keys.key(n), recordOf(n))));
  add('1 in flight: Redis appendfsync always, HSET round trip', () => measure(LONE_UPDATES, async () => {
    for (let u = 0; u < LONE_UPDATES; u++) await redis.hset(keys.key(u % 1_000), FIELD_NAMES[u % FIELD_COUNT] as string, fieldValue(u, u % FIELD_COUNT, 2));
  }));
}
add('1 in flight: append 1.1 KB + fdatasync, in process', () => measure(LONE_UPDATES, () => appendAndSync(dir, LONE_UPDATES)));
const store = new RawStore(dir);
add('1 in flight: raw SQLite, 1 update per commit', () => measure(LONE_UPDATES, () => store.run('page', LONE_UPDATES, 1, 0)));
for (const perCommit of [25, 490]) {
  const commits = Math.ceil(40_000 / perCommit);
  const updates = commits * perCommit;
  add(`${perCommit} per commit: raw SQLite, page path (today)`, () => measure(updates, () => store.run('page', commits, perCommit, 0)));
  for (const every of [5_000, 20_000]) {
    add(`${perCommit} per commit: raw SQLite, log path, write-back every ${every}`, () => measure(updates, () => store.run('log', commits, perCommit, every)));
  }
}

try {
  for (let round = 0; round < rounds; round++) {
    for (const c of round % 2 === 0 ? cases : [...cases].reverse()) c.costs.push(await c.run());
  }
  console.log(`write floor, ${rounds} rounds (medians), ${RECORDS} YCSB records, data in ${dir}`);
  for (const c of cases) {
    const wall = median(c.costs.map((x) => x.wallUs));
    const cpu = median(c.costs.map((x) => x.cpuUs));
    console.log(`  ${c.label.padEnd(62)} ${wall.toFixed(1).padStart(7)} µs/update wall, ${cpu.toFixed(1).padStart(6)} µs CPU in this process`);
  }
} finally {
  store.close();
  redis?.disconnect();
  if ('peer' in redisPeer) await redisPeer.peer.stop();
  rmSync(dir, { recursive: true, force: true });
}
