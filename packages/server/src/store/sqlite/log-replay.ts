/**
 * Point-in-time restore's engine room: replay the change log of one data directory into a database
 * file restored from a backup of the same store, from the backup's seq through a chosen seq. Each
 * logged change is the object's whole new state (attributes and expiry) or its deletion, or a space
 * created (with its schema) or removed, or an index added or removed (with the schema after), so
 * replaying them in seq order rebuilds exactly the state
 * at that seq: objects at their versions, index entries, the log itself. It runs on a file no
 * server has open (the restore's work file), in one transaction: it all happens or none of it.
 */
import Database from 'better-sqlite3';
import { type Attributes, type Change, type OpName, type SpaceSchema, SpacekvError, largeValueIds, parseJson } from '@spacekv/core';
import { WriterCatalog } from './catalog.js';
import { ChangeLogWriter } from './change-log-writer.js';
import { IndexBuilder } from './index-builder.js';
import { LargeValueCopier } from './large-value-copy.js';
import { migrate } from './layout.js';
import { Purger } from './purger.js';
import { configureReader, configureWriter } from './pragmas.js';
import { keyOf } from './search-executor.js';

/** The first format whose log holds each write's expiry and each new space's schema. */
const REPLAYABLE_FORMAT = 4;
/** Objects indexed per step when an index added after the backup is built. */
const INDEX_FILL_ROWS = 10_000;

/** Where to stop: through a seq, or through the last seq committed at or before an instant. */
export type ReplayUntil = { readonly seq: number } | { readonly timeMs: number } | 'end';

export interface ReplayOutcome {
  /** The backup's seq: the replay started after it. */
  readonly fromSeq: number;
  /** The seq the file is at now. */
  readonly seq: number;
  readonly changes: number;
}

type LogRow = [seq: bigint, idx: bigint, space: string, key: string | bigint, op: string, attrs: string | null, committedAt: bigint, expiresAt: bigint | null, schema: string | null];

function changeOf(row: LogRow): Change {
  return {
    seq: Number(row[0]), space: row[2], key: keyOf(row[3]), op: row[4] as OpName, attributesJson: row[5], committedAtMs: Number(row[6]),
    expiresAtMs: row[7] === null ? null : Number(row[7]), ...(row[8] === null ? {} : { schemaJson: row[8] }),
  };
}

/** Replay into `dbPath` the changes logged in `logPath` after the file's seq, through `until`. */
export function replayChangeLog(dbPath: string, logPath: string, until: ReplayUntil): ReplayOutcome {
  const log = new Database(logPath, { readonly: true, fileMustExist: true });
  const db = new Database(dbPath, { fileMustExist: true });
  try {
    configureReader(log);
    configureWriter(db);
    migrate(db);
    log.exec('BEGIN'); // one snapshot of the log, however long the replay takes
    const meta = (name: string, from: Database.Database): number => from.prepare('SELECT value FROM meta WHERE name = ?').pluck().get(name) as number;
    const fromSeq = meta('last_seq', db);
    const throughSeq = targetSeq(log, fromSeq, until, meta('last_seq', log), meta('log_floor_seq', log));
    const rows = log.prepare('SELECT seq, idx, space, key, op, attrs, committed_at, expires_at, schema FROM changes WHERE seq > ? AND seq <= ? ORDER BY seq, idx')
      .raw(true).safeIntegers(true);
    let changes = 0;
    db.transaction(() => {
      const purger = new Purger(db);
      purger.abandonBuilds(); // a build the backup caught midway: its entries go, the log says whether it finished
      const catalog = new WriterCatalog(db);
      const writer = new ChangeLogWriter(db);
      const indexes = new IndexBuilder(db, catalog, purger, writer);
      const large = new LargeValueCopier(db, log);
      let group: Change[] = [];
      for (const row of rows.iterate(fromSeq, throughSeq) as IterableIterator<LogRow>) {
        const change = changeOf(row);
        if (group.length > 0 && (group[0] as Change).seq !== change.seq) {
          writer.append(group);
          group = [];
        }
        apply(catalog, indexes, large, change);
        group.push(change);
        changes++;
      }
      writer.append(group);
      db.prepare("UPDATE meta SET value = ? WHERE name = 'last_seq'").run(Math.max(fromSeq, throughSeq));
      catchUpIndexes(catalog, indexes, log);
    }).immediate();
    db.pragma('journal_mode = DELETE'); // everything into the one file, which the restore then moves into place
    return { fromSeq, seq: Math.max(fromSeq, throughSeq), changes };
  } finally {
    if (log.inTransaction) log.exec('COMMIT');
    log.close();
    db.close();
  }
}

/**
 * The seq to replay through, checked against what the log holds: every change after the backup's
 * seq (none removed by retention, none logged before the log kept expiries and schemas).
 */
function targetSeq(log: Database.Database, fromSeq: number, until: ReplayUntil, headSeq: number, floorSeq: number): number {
  const format = log.pragma('user_version', { simple: true }) as number;
  if (format < REPLAYABLE_FORMAT) throw new SpacekvError('bad_request', `the log's store has format ${format}; a point-in-time restore needs format ${REPLAYABLE_FORMAT} or later (start a server on it once)`);
  const replayableAfter = log.prepare("SELECT value FROM meta WHERE name = 'replayable_after_seq'").pluck().get() as number;
  if (replayableAfter > fromSeq) {
    throw new SpacekvError('bad_request', `the log holds replayable changes only after seq ${replayableAfter} (when this spacekv first opened the store), but the backup is at seq ${fromSeq}: use a backup taken after seq ${replayableAfter}`);
  }
  if (floorSeq > fromSeq) {
    throw new SpacekvError('compacted', `the log starts after seq ${floorSeq}, but the backup is at seq ${fromSeq}: log retention removed the changes in between. Use a backup taken after seq ${floorSeq}, or keep the log longer (--log-retention-ms, --log-retention-seqs)`);
  }
  if (headSeq < fromSeq) throw new SpacekvError('bad_request', `the log ends at seq ${headSeq}, before the backup's seq ${fromSeq}: it is not the log of the store the backup was taken of, or it is older`);
  let seq: number;
  if (until === 'end') seq = headSeq;
  else if ('seq' in until) seq = until.seq;
  else seq = Number((log.prepare('SELECT max(seq) FROM changes WHERE seq > ? AND committed_at <= ?').pluck().get(fromSeq, until.timeMs) as number | null) ?? fromSeq);
  if (seq < fromSeq) throw new SpacekvError('bad_request', `the backup is at seq ${fromSeq}, past seq ${seq}: restore from an older backup`);
  if (seq > headSeq) throw new SpacekvError('bad_request', `the log reaches seq ${headSeq} only, not ${seq}`);
  return seq;
}

function apply(catalog: WriterCatalog, indexes: IndexBuilder, large: LargeValueCopier, change: Change): void {
  if (change.op === 'add_space') {
    if (change.schemaJson === undefined) throw new SpacekvError('bad_request', `the log lacks the schema of space '${change.space}' (seq ${change.seq}), logged before format ${REPLAYABLE_FORMAT}`);
    catalog.create(JSON.parse(change.schemaJson) as SpaceSchema, change.seq);
    return;
  }
  if (change.op === 'rm_space') {
    catalog.remove(change.space);
    return;
  }
  const entry = catalog.get(change.space);
  if (!entry) throw new SpacekvError('bad_request', `the log changes space '${change.space}' at seq ${change.seq}, which the backup does not hold: the log is not of the backup's store`);
  if (change.op === 'rm_index' || change.op === 'add_index') {
    if (change.schemaJson === undefined) throw new SpacekvError('bad_request', `the log lacks the schema of space '${change.space}' after its ${change.op} (seq ${change.seq})`);
    const schema = JSON.parse(change.schemaJson) as SpaceSchema;
    if (change.op === 'rm_index') catalog.dropIndexes(entry, schema);
    else {
      for (const attribute of schema.indexes ?? []) if (!entry.space.isIndexed(attribute)) indexes.buildNow(change.space, attribute, INDEX_FILL_ROWS);
      catalog.setSchema(catalog.get(change.space) ?? entry, schema); // the logged schema, as it was written
    }
    return;
  }
  if (change.attributesJson === null) {
    entry.rows.remove(change.key);
    return;
  }
  const attributes = parseJson(change.attributesJson) as Attributes;
  large.copyMissing(largeValueIds(change.attributesJson, attributes), change.seq);
  entry.rows.write(change.key, change.seq, change.expiresAtMs ?? null, change.attributesJson, attributes);
}

/**
 * Before format 5 an index built online was not logged: a space the log's store still has, in the
 * same incarnation, gets any index it has there that the replay did not build.
 */
function catchUpIndexes(catalog: WriterCatalog, indexes: IndexBuilder, log: Database.Database): void {
  const now = log.prepare('SELECT schema, created_seq FROM spaces').all() as { schema: string; created_seq: number }[];
  for (const row of now) {
    const schema = JSON.parse(row.schema) as SpaceSchema;
    const entry = catalog.get(schema.name);
    if (!entry || entry.space.createdSeq !== row.created_seq) continue;
    for (const attribute of schema.indexes ?? []) if (!entry.space.isIndexed(attribute)) indexes.buildNow(schema.name, attribute, INDEX_FILL_ROWS);
  }
}
