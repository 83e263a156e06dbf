/**
 * Many rows of one table written with few statements: a busy batch writes hundreds of rows, and
 * each statement call costs the writer thread a fixed price on top of its rows (better-sqlite3
 * builds a result object with two properties, about 2.8k instructions, and SQLite opens and closes
 * a statement, about 1.5k: callgrind, 1024 puts in flight), which a 64-row statement pays once for
 * 64 rows. Used by the change log and by the batch's held object writes (catalog.ts).
 */
import type Database from 'better-sqlite3';

/**
 * Rows per statement, largest first; the rows of a call go out in as few statements as these make.
 * A statement call per row cost about 0.8 µs more per change than one call per 64 rows.
 */
const ROWS_PER_STATEMENT = [64, 8, 1] as const;

/**
 * A multi-row statement and the parameter array it is bound from (filled in place, never
 * reallocated). The array is spread into the call rather than passed whole: better-sqlite3 reads
 * an array argument element by element through V8's generic property lookup, about 430
 * instructions per value (3,900 per logged put, 8% of the writer thread at 1024 puts in flight,
 * callgrind), where arguments are read off the call's frame.
 */
interface RowsStatement {
  readonly rows: number;
  readonly stmt: Database.Statement;
  readonly params: unknown[];
}

export class MultiRowInsert {
  private readonly statements: readonly RowsStatement[];

  /**
   * `head` is the statement up to VALUES (`INSERT INTO t (a, b) VALUES`), `columns` the values per
   * row, `tail` anything after the rows (an ON CONFLICT clause).
   */
  constructor(db: Database.Database, head: string, private readonly columns: number, tail = '') {
    const row = `(${new Array(columns).fill('?').join(', ')})`;
    this.statements = ROWS_PER_STATEMENT.map((rows) => ({
      rows,
      stmt: db.prepare(`${head} ${new Array(rows).fill(row).join(', ')}${tail}`),
      params: new Array<unknown>(rows * columns),
    }));
  }

  /**
   * Write `count` rows, in order (a later row of a key replaces an earlier one as it would with a
   * statement each). `fill(row, params, at)` puts row `row`'s values in `params` from index `at`.
   */
  run(count: number, fill: (row: number, params: unknown[], at: number) => void): void {
    let next = 0;
    for (const statement of this.statements) {
      for (; count - next >= statement.rows; next += statement.rows) {
        for (let row = 0; row < statement.rows; row++) fill(next + row, statement.params, row * this.columns);
        statement.stmt.run(...statement.params);
      }
    }
  }
}
