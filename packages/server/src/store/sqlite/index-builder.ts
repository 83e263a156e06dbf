/**
 * Online index builds, run by the writer between group-commit batches (one bounded step per
 * message), so writes keep committing while an index fills:
 * 1. start: the attribute's leftover entries (of a build a restart cut short) are dropped, and from
 *    then on every write maintains its entries;
 * 2. fill: one transaction indexes the next `indexBuildBatchRowsMax` objects in key order; a write
 *    that already indexed an object left the same entries (INSERT OR IGNORE);
 * 3. finish: the attribute joins the schema's `indexes`, and planners start to use it.
 * A build that fails midway is aborted: writes stop maintaining the attribute and its entries go,
 * so the space can build an index again.
 */
import type Database from 'better-sqlite3';
import { type Attributes, type Key, type SpaceSchema, fail, parseJson } from '@spacekv/core';
import type { CatalogEntry, WriterCatalog } from './catalog.js';
import { spaceTable } from './layout.js';

type Row = [key: Key, expiresAt: number | null, attrs: string];

export class IndexBuilder {
  private readonly updateSchema: Database.Statement;

  constructor(private readonly db: Database.Database, private readonly catalog: WriterCatalog) {
    this.updateSchema = db.prepare('UPDATE spaces SET schema = ? WHERE id = ?');
  }

  /** Begin building; returns false when the attribute is indexed already (nothing to do). */
  start(space: string, createdSeq: number, attribute: string): boolean {
    const entry = this.entry(space, createdSeq);
    if (entry.space.isIndexed(attribute)) return false;
    const other = this.catalog.building.get(entry.id);
    if (other !== undefined) throw fail('overloaded', `space '${space}' is already building an index on '${other}'; retry when it is done`);
    this.db.transaction(() => entry.indexes.clear(attribute)).immediate();
    this.catalog.building.set(entry.id, attribute);
    entry.indexes.maintained.add(attribute);
    return true;
  }

  /** Index up to `rowsMax` objects after `after`; returns the last key indexed, null when done. */
  fill(space: string, createdSeq: number, attribute: string, after: Key | null, rowsMax: number): { last: Key | null; rows: number } {
    const entry = this.entry(space, createdSeq);
    const sql = `SELECT key, expires_at, attrs FROM ${spaceTable(entry.id)}${after === null ? '' : ' WHERE key > ?'} ORDER BY key LIMIT ${rowsMax}`;
    const stmt = this.db.prepare(sql).raw(true).safeIntegers(entry.space.schema.key.type === 'int');
    return this.db.transaction(() => {
      const rows = (after === null ? stmt.all() : stmt.all(after)) as Row[];
      for (const [key, expiresAt, attrs] of rows) {
        entry.indexes.add(attribute, key, parseJson(attrs) as Attributes, expiresAt === null ? null : Number(expiresAt));
      }
      const last = rows.length === rowsMax ? (rows[rows.length - 1] as Row)[0] : null;
      return { last, rows: rows.length };
    }).immediate();
  }

  /** Make the index part of the schema; returns the new schema. */
  finish(space: string, createdSeq: number, attribute: string): SpaceSchema {
    const entry = this.entry(space, createdSeq);
    const schema: SpaceSchema = { ...entry.space.schema, indexes: [...(entry.space.schema.indexes ?? []), attribute] };
    this.db.transaction(() => this.updateSchema.run(JSON.stringify(schema), entry.id)).immediate();
    this.catalog.building.delete(entry.id);
    this.catalog.add(entry.id, schema, createdSeq);
    return schema;
  }

  /** Give up a build that failed: nothing of it stays (a space removed meanwhile has nothing to undo). */
  abort(space: string, attribute: string): void {
    const entry = this.catalog.get(space);
    if (!entry || this.catalog.building.get(entry.id) !== attribute) return;
    this.catalog.building.delete(entry.id);
    entry.indexes.maintained.delete(attribute);
    this.db.transaction(() => entry.indexes.clear(attribute)).immediate();
  }

  private entry(space: string, createdSeq: number): CatalogEntry {
    const entry = this.catalog.get(space);
    if (!entry || entry.space.createdSeq !== createdSeq) throw fail('unknown_space', `no space named '${space}'`);
    return entry;
  }
}
