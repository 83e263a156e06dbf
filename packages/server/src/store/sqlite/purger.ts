/**
 * The writer's purge of rows nobody can see any more (layout.ts `purges`): the objects and index
 * entries of a removed space, the entries of a removed index or of an index build that never
 * finished. Removing them at once would hold the writer for the whole delete (a million rows:
 * seconds in which no write commits), so the catalog change is immediate and the rows go here, one
 * bounded transaction per step, each step a message of its own between group-commit batches. The
 * pending purges live in the file, so a restart resumes them.
 *
 * Nothing reads a purged row meanwhile: a removed space's id is never reused (a space re-created
 * under its name has a new id), and a removed index is out of the schema, so no plan names it.
 */
import type Database from 'better-sqlite3';
import type { PurgeOutcome } from '../store.js';
import { WHOLE_SPACE } from './layout.js';

export class Purger {
  private readonly stmts;

  constructor(private readonly db: Database.Database) {
    this.stmts = {
      next: db.prepare('SELECT space_id, attr FROM purges ORDER BY space_id, attr LIMIT 1').raw(true),
      pending: db.prepare('SELECT 1 FROM purges WHERE space_id = ? AND attr = ?').pluck(),
      done: db.prepare('DELETE FROM purges WHERE space_id = ? AND attr = ?'),
      spaceEntries: db.prepare(`DELETE FROM index_entries WHERE (space_id, attr, value, key) IN
        (SELECT space_id, attr, value, key FROM index_entries WHERE space_id = @id LIMIT @rows)`),
      attributeEntries: db.prepare(`DELETE FROM index_entries WHERE (space_id, attr, value, key) IN
        (SELECT space_id, attr, value, key FROM index_entries WHERE space_id = @id AND attr = @attr LIMIT @rows)`),
      objects: db.prepare('DELETE FROM objects WHERE space_id = @id AND key IN (SELECT key FROM objects WHERE space_id = @id LIMIT @rows)'),
      builds: db.prepare('INSERT OR IGNORE INTO purges (space_id, attr) SELECT space_id, attr FROM index_builds'),
      clearBuilds: db.prepare('DELETE FROM index_builds'),
      anyBuild: db.prepare('SELECT 1 FROM index_builds LIMIT 1').pluck(),
    };
  }

  /**
   * Builds a restart cut short (their writer died with them) become purges of what they wrote.
   * Run when the writer opens the file, before any build can start. Nothing is written when no
   * build was cut short: a server must open, and serve reads, on a full disk.
   */
  abandonBuilds(): void {
    if (this.stmts.anyBuild.get() === undefined) return;
    this.db.transaction(() => {
      this.stmts.builds.run();
      this.stmts.clearBuilds.run();
    }).immediate();
  }

  /** Delete up to `rowsMax` rows of the oldest pending purge, in one transaction. */
  step(rowsMax: number): PurgeOutcome {
    return this.db.transaction((): PurgeOutcome => {
      const next = this.stmts.next.get() as [spaceId: number, attr: string] | undefined;
      if (!next) return { removed: 0, more: false };
      const removed = this.purge(next[0], next[1], rowsMax);
      return { removed, more: removed === rowsMax || this.stmts.next.get() !== undefined };
    }).immediate();
  }

  /**
   * One step of the purge of `attribute`'s entries in space `spaceId`, if one is pending (an index
   * built again right after its removal waits for it); returns whether it is still pending.
   */
  stepOf(spaceId: number, attribute: string, rowsMax: number): boolean {
    return this.db.transaction((): boolean => {
      if (this.stmts.pending.get(spaceId, attribute) === undefined) return false;
      return this.purge(spaceId, attribute, rowsMax) === rowsMax;
    }).immediate();
  }

  private purge(spaceId: number, attr: string, rowsMax: number): number {
    const removed = this.slice(spaceId, attr, rowsMax);
    if (removed < rowsMax) this.stmts.done.run(spaceId, attr);
    return removed;
  }

  /** Run every pending purge through: only where no one waits for the writer (a restore's work file). */
  drain(rowsMax: number): void {
    while (this.step(rowsMax).more);
  }

  /** Up to `rowsMax` rows: of a space, entries first, then objects; fewer than `rowsMax` means none are left. */
  private slice(spaceId: number, attr: string, rowsMax: number): number {
    if (attr !== WHOLE_SPACE) return this.stmts.attributeEntries.run({ id: spaceId, attr, rows: rowsMax }).changes;
    const entries = this.stmts.spaceEntries.run({ id: spaceId, rows: rowsMax }).changes;
    if (entries === rowsMax) return entries;
    return entries + this.stmts.objects.run({ id: spaceId, rows: rowsMax - entries }).changes;
  }
}
