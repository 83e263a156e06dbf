/**
 * Online index builds, run by the writer between group-commit batches (one bounded step per
 * message), so writes keep committing while an index fills:
 * 1. start: a purge of the attribute's entries still pending (the index was just removed) is
 *    worked off first, one slice per step; then the build is recorded (layout.ts `index_builds`,
 *    so a restart purges what it wrote) and from then on every write maintains its entries;
 * 2. fill: one transaction indexes the next `indexBuildBatchRowsMax` objects in key order; a write
 *    that already indexed an object left the same entries (INSERT OR IGNORE);
 * 3. finish: the attribute joins the schema's `indexes` and the change is logged (op `add_index`,
 *    key '', the new schema), at a seq of its own, so a point-in-time restore replays it; planners
 *    start to use it.
 * A build that fails midway is aborted: writes stop maintaining the attribute and its entries are
 * purged, so the space can build an index again.
 */
import type Database from 'better-sqlite3';
import { type Attributes, type Key, type SpaceSchema, fail, parseJson } from '@spacekv/core';
import type { CatalogEntry, WriterCatalog } from './catalog.js';
import type { ChangeLogWriter } from './change-log-writer.js';
import type { Purger } from './purger.js';
import type { IndexStart } from './writer-messages.js';

type Row = [key: Key, expiresAt: number | null, attrs: string];

export class IndexBuilder {
  private readonly stmts;

  constructor(private readonly db: Database.Database, private readonly catalog: WriterCatalog, private readonly purger: Purger, private readonly log: ChangeLogWriter) {
    this.stmts = {
      record: db.prepare('INSERT OR IGNORE INTO index_builds (space_id, attr) VALUES (?, ?)'),
      forget: db.prepare('DELETE FROM index_builds WHERE space_id = ? AND attr = ?'),
      purge: db.prepare('INSERT OR IGNORE INTO purges (space_id, attr) VALUES (?, ?)'),
      readSeq: db.prepare("SELECT value FROM meta WHERE name = 'last_seq'").pluck(),
      writeSeq: db.prepare("UPDATE meta SET value = ? WHERE name = 'last_seq'"),
    };
  }

  /** Begin building (`started`), or say the attribute is indexed already, or that its old entries are still being purged (call again). */
  start(space: string, createdSeq: number, attribute: string, rowsMax: number): IndexStart {
    const entry = this.entry(space, createdSeq);
    if (entry.space.isIndexed(attribute)) return 'indexed';
    const other = this.catalog.building.get(entry.id);
    if (other !== undefined) throw fail('overloaded', `space '${space}' is already building an index on '${other}'; retry when it is done`);
    if (this.purger.stepOf(entry.id, attribute, rowsMax)) return 'purging';
    this.db.transaction(() => this.stmts.record.run(entry.id, attribute)).immediate();
    this.catalog.building.set(entry.id, attribute);
    entry.indexes.maintained.add(attribute);
    return 'started';
  }

  /** Index up to `rowsMax` objects after `after`; returns the last key indexed, null when done. */
  fill(space: string, createdSeq: number, attribute: string, after: Key | null, rowsMax: number): { last: Key | null; rows: number } {
    const entry = this.entry(space, createdSeq);
    const sql = `SELECT key, expires_at, attrs FROM objects WHERE space_id = ?${after === null ? '' : ' AND key > ?'} ORDER BY key LIMIT ${rowsMax}`;
    const stmt = this.db.prepare(sql).raw(true).safeIntegers(entry.space.schema.key.type === 'int');
    return this.db.transaction(() => {
      const rows = (after === null ? stmt.all(entry.id) : stmt.all(entry.id, after)) as Row[];
      for (const [key, expiresAt, attrs] of rows) {
        entry.indexes.add(attribute, key, parseJson(attrs) as Attributes, expiresAt === null ? null : Number(expiresAt));
      }
      const last = rows.length === rowsMax ? (rows[rows.length - 1] as Row)[0] : null;
      return { last, rows: rows.length };
    }).immediate();
  }

  /** Make the index part of the schema, logged at a seq of its own; returns the new schema. */
  finish(space: string, createdSeq: number, attribute: string): SpaceSchema {
    const entry = this.entry(space, createdSeq);
    const schema: SpaceSchema = { ...entry.space.schema, indexes: [...(entry.space.schema.indexes ?? []), attribute] };
    try {
      this.db.transaction(() => {
        const seq = (this.stmts.readSeq.get() as number) + 1;
        this.catalog.setSchema(entry, schema);
        this.stmts.forget.run(entry.id, attribute);
        this.log.append([{ seq, space, key: '', op: 'add_index', attributesJson: null, committedAtMs: Date.now(), schemaJson: JSON.stringify(schema) }]);
        this.stmts.writeSeq.run(seq);
      }).immediate();
    } catch (err) {
      this.catalog.reload(); // the schema in memory must not run ahead of the file
      throw err;
    }
    this.catalog.building.delete(entry.id);
    return schema;
  }

  /**
   * Build an index whole, in the caller's transaction, without logging it: a replay's (log-replay.ts),
   * on a file no server has open, whose log already holds the add_index it replays.
   */
  buildNow(space: string, attribute: string, rowsMax: number): void {
    const entry = this.catalog.get(space);
    if (!entry) throw fail('unknown_space', `no space named '${space}'`);
    const { createdSeq } = entry.space;
    while (this.purger.stepOf(entry.id, attribute, rowsMax));
    let after = this.fill(space, createdSeq, attribute, null, rowsMax).last;
    while (after !== null) after = this.fill(space, createdSeq, attribute, after, rowsMax).last;
    this.catalog.setSchema(entry, { ...entry.space.schema, indexes: [...(entry.space.schema.indexes ?? []), attribute] });
  }

  /** Give up a build that failed: its entries are purged (a space removed meanwhile has nothing to undo). */
  abort(space: string, attribute: string): void {
    const entry = this.catalog.get(space);
    if (!entry || this.catalog.building.get(entry.id) !== attribute) return;
    this.catalog.building.delete(entry.id);
    entry.indexes.maintained.delete(attribute);
    this.db.transaction(() => {
      this.stmts.forget.run(entry.id, attribute);
      this.stmts.purge.run(entry.id, attribute);
    }).immediate();
  }

  private entry(space: string, createdSeq: number): CatalogEntry {
    const entry = this.catalog.get(space);
    if (!entry || entry.space.createdSeq !== createdSeq) throw fail('unknown_space', `no space named '${space}'`);
    return entry;
  }
}
