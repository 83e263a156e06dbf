/**
 * SQLite raw as a YCSB peer: better-sqlite3 inside the bench process, WAL, synchronous=FULL, one
 * row per record, prepared statements; each write its own transaction (one fsync), as a program
 * using SQLite directly would do without a group-commit layer. It is synchronous: operations run one
 * at a time whatever the in-flight level, with no network or process hop (the ceiling for spacekv's
 * embedded store on reads; on writes, the cost of one commit per write).
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { YcsbPeer, YcsbStore } from '../store.js';
import { FIELD_NAMES, type Fields } from '../workload.js';

export function sqlitePeer(): YcsbPeer {
  return {
    id: 'sqlite',
    name: 'SQLite (raw, in process)',
    durability: 'in the bench process, WAL synchronous=FULL, one transaction per write',
    open: (dir) => Promise.resolve(open(dir)),
  };
}

function open(dir: string): YcsbStore {
  const db = new Database(join(dir, 'ycsb.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`create table usertable (ycsb_key text primary key, ${FIELD_NAMES.map((f) => `${f} text not null`).join(', ')}) without rowid`);
  const version = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
  const insert = db.prepare(`insert into usertable values (@ycsb_key, ${FIELD_NAMES.map((f) => `@${f}`).join(', ')})`);
  const select = db.prepare('select * from usertable where ycsb_key = ?');
  const scan = db.prepare('select * from usertable where ycsb_key >= ? order by ycsb_key limit ?');
  const updates = new Map(FIELD_NAMES.map((f) => [f, db.prepare(`update usertable set ${f} = ? where ycsb_key = ?`)]));
  const loadMany = db.transaction((records: readonly (readonly [string, Fields])[]) => {
    for (const [key, fields] of records) insert.run({ ycsb_key: key, ...fields });
  });
  // Each call runs synchronously to completion; the promise only gives the driver its common shape.
  return {
    detail: `SQLite ${version} via better-sqlite3, WAL, synchronous=FULL`,
    scanUnsupported: undefined,
    serverPids: () => Promise.resolve([]),
    load: (records) => Promise.resolve(loadMany(records)),
    read(key) {
      const row = select.get(key) as Record<string, string> | undefined;
      if (row === undefined) return Promise.resolve(null);
      const { ycsb_key: _key, ...fields } = row;
      return Promise.resolve(fields);
    },
    update(key, field, value) {
      updates.get(field)?.run(value, key);
      return Promise.resolve();
    },
    insert(key, fields) {
      insert.run({ ycsb_key: key, ...fields });
      return Promise.resolve();
    },
    scan: (startKey, count) => Promise.resolve(scan.all(startKey, count).length),
    close() {
      db.close();
      return Promise.resolve();
    },
  };
}
