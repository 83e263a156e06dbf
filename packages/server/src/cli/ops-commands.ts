/**
 * `spacekv backup|restore|export|import`: moving a store's data in and out (docs/operations.md).
 * Results are one JSON line on stdout, errors JSON on stderr, with the client commands' exit codes;
 * progress goes to stderr.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Command, Option } from 'commander';
import { connect } from '@spacekv/client';
import { SpacekvError, stringifyJson } from '@spacekv/core';
import { DEFAULT_CONFIG } from '../config.js';
import { backupFromDataDir, backupFromPostgres, backupFromServer } from '../ops/backup.js';
import { exportNdjson } from '../ops/export.js';
import { importNdjson, progressFileOf } from '../ops/import.js';
import { progressOn } from '../ops/progress.js';
import { restoreBackup, restoreIntoServer } from '../ops/restore.js';
import type { ExportSource } from '../store/export-source.js';
import { openPostgresExport } from '../store/postgres/export-source.js';
import { openSqliteExport } from '../store/sqlite/export-source.js';
import { EXIT_CODES, exitCodeOf, serverUrls } from './client-commands.js';

/** Objects per import transaction, and its bytes of NDJSON at most (well under requestBytesMax). */
const IMPORT_BATCH_OBJECTS = 500;
const IMPORT_BATCH_BYTES = 1024 * 1024;
/** Import transactions in flight at once: enough to keep the server committing while the next batch is parsed. */
const IMPORT_IN_FLIGHT = 4;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new SpacekvError('bad_request', `expected a positive integer, got '${value}'`);
  return n;
}

/** An instant: ISO 8601 or epoch milliseconds. */
function instant(value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isSafeInteger(ms)) throw new SpacekvError('bad_request', `expected an ISO 8601 time or epoch milliseconds, got '${value}'`);
  return ms;
}

function openExportSource(store: string, dataDir: string): Promise<ExportSource> {
  if (store === 'sqlite') return Promise.resolve(openSqliteExport(dataDir));
  if (/^postgres(ql)?:\/\//.test(store)) return openPostgresExport(store);
  return Promise.reject(new SpacekvError('bad_request', "--store takes 'sqlite' (the embedded store in --data) or a postgres://… URL"));
}

interface ExportOptions { to?: string; data: string; store: string; space?: string[]; quiet?: boolean }

/** Export to a file (under a temporary name until complete) or to stdout. */
async function runExport(options: ExportOptions): Promise<unknown> {
  const source = await openExportSource(options.store, options.data);
  const partial = options.to === undefined ? undefined : `${options.to}.partial`;
  const out: Writable = partial === undefined ? process.stdout : createWriteStream(partial, { flags: 'wx' });
  try {
    const summary = await exportNdjson(source, out, {
      ...(options.space ? { spaces: options.space } : {}),
      progress: (total) => progressOn(process.stderr, { quiet: options.quiet === true, verb: 'export', total }),
    });
    if (partial === undefined || options.to === undefined) return undefined; // stdout carries the data; the summary would corrupt it
    out.end();
    await finished(out);
    await rename(partial, options.to);
    return { exported: options.to, ...summary };
  } catch (err) {
    if (partial !== undefined) {
      out.destroy();
      await rm(partial, { force: true });
    }
    throw err;
  } finally {
    await source.close();
  }
}

/** Run an operation command: print its result, or its error with the matching exit code. */
function report<A extends unknown[]>(action: (...args: A) => Promise<unknown>) {
  return async (...args: A): Promise<void> => {
    try {
      const result = await action(...args);
      if (result !== undefined) process.stdout.write(`${stringifyJson(result)}\n`);
      process.exitCode = EXIT_CODES.ok;
    } catch (err) {
      const error = err instanceof SpacekvError ? err : new SpacekvError('internal', (err as Error).message);
      process.stderr.write(`${stringifyJson({ error: error.toWire() })}\n`);
      process.exitCode = exitCodeOf(error.code);
    }
  };
}

export function addOpsCommands(program: Command): void {
  program.command('backup')
    .description('write a backup file (manifest with seq and SHA-256, then a consistent snapshot) of a live server (--url, while it serves) or of a data directory (--data)')
    .requiredOption('--to <file>', 'the backup file to write (must not exist)')
    .addOption(new Option('--data <dir>', 'back up this data directory directly instead of asking the server at --url (a server may be running on it)'))
    .addOption(new Option('--store <url>', 'back up this PostgreSQL store (postgres://…?schema=…): its export at one seq, in a backup file that `restore --url` imports').conflicts('data'))
    .action(report(async (options: { to: string; data?: string; store?: string }) => {
      if (options.store !== undefined && !/^postgres(ql)?:\/\//.test(options.store)) throw new SpacekvError('bad_request', '--store takes a postgres://… URL (for the embedded store use --data or --url)');
      const manifest = options.store !== undefined
        ? await backupFromPostgres(options.store, options.to)
        : options.data === undefined
          ? await backupFromServer(serverUrls(program.opts<{ url: string }>().url), options.to, program.opts<{ token?: string }>().token)
          : await backupFromDataDir(options.data, options.to);
      return { backup: options.to, ...manifest };
    }));

  program.command('restore')
    .description('rebuild a data directory from a backup file (checksum verified first; a damaged backup is refused, exit 1); with --log, roll it forward with the change log of the store it was taken of, to --to-seq, --to-time or the log\'s end (point-in-time restore); a backup of a PostgreSQL store (backup --store) is imported into the server at --url')
    .requiredOption('--from <file>', 'the backup file')
    .addOption(new Option('--data <dir>', 'the data directory to create (must hold no store); a backup of a PostgreSQL store is imported into the server at --url instead'))
    .addOption(new Option('--log <dir>', 'data directory of the store the backup was taken of, whose change log follows the backup (a server may be running on it)'))
    .addOption(new Option('--to-seq <seq>', 'with --log: the state as of this seq').argParser(positiveInt).conflicts('toTime'))
    .addOption(new Option('--to-time <time>', 'with --log: the state as of this instant (ISO 8601, e.g. 2026-12-05T14:02:00Z, or epoch ms): every seq committed at or before it').argParser(instant))
    .action(report(async (options: { from: string; data?: string; log?: string; toSeq?: number; toTime?: number }) => {
      if (options.data === undefined) {
        if (options.log !== undefined) throw new SpacekvError('bad_request', '--log (point-in-time restore) needs --data: it rolls a backup of the embedded store forward');
        const { url, token } = program.opts<{ url: string; token?: string }>();
        const client = await connect(serverUrls(url), { connectTimeoutMs: 5_000, ...(token ? { token } : {}) });
        try {
          const { manifest, imported } = await restoreIntoServer(options.from, client, { url, batchObjects: IMPORT_BATCH_OBJECTS, batchBytes: IMPORT_BATCH_BYTES, window: IMPORT_IN_FLIGHT });
          return { restored_into: url, seq: manifest.seq, backup: manifest, objects: imported.objects };
        } finally {
          await client.close();
        }
      }
      if (options.log === undefined && (options.toSeq !== undefined || options.toTime !== undefined)) {
        throw new SpacekvError('bad_request', '--to-seq and --to-time need --log: the data directory whose change log follows the backup');
      }
      const until = options.toSeq !== undefined ? { seq: options.toSeq } : options.toTime !== undefined ? { timeMs: options.toTime } : 'end' as const;
      const { manifest, replayed } = await restoreBackup(options.from, options.data, options.log === undefined ? undefined : { logDataDir: options.log, until });
      return { restored: options.data, seq: replayed?.seq ?? manifest.seq, backup: manifest, ...(replayed ? { replayed_changes: replayed.changes } : {}) };
    }));

  program.command('export')
    .description('write every space (schema, indexes) and object of a store as NDJSON, consistent at one seq, while servers keep writing; read straight from the store (--data or --store)')
    .addOption(new Option('--to <file>', 'the file to write (default: stdout)'))
    .addOption(new Option('--data <dir>', 'data directory of the embedded store').env('SPACEKV_DATA').default(DEFAULT_CONFIG.dataDir))
    .addOption(new Option('--store <store>', "'sqlite' (the embedded store in --data) or postgres://user@host:5432/db?schema=name").env('SPACEKV_STORE').default(DEFAULT_CONFIG.store))
    .addOption(new Option('--space <name...>', 'export only these spaces'))
    .option('--quiet', 'no progress on stderr')
    .action(report(runExport));

  program.command('import')
    .description('read an export into the server at --url in batched transactions; idempotent, and resumable: run it again after an interruption and it goes on after the last committed batch')
    .requiredOption('--from <file>', 'the NDJSON export to read')
    .addOption(new Option('--batch-objects <n>', 'objects per transaction').default(IMPORT_BATCH_OBJECTS).argParser(positiveInt))
    .addOption(new Option('--in-flight <n>', 'transactions in flight at once').default(IMPORT_IN_FLIGHT).argParser(positiveInt))
    .option('--restart', `import from the start, ignoring the position saved in <file>.import-progress.json`)
    .option('--quiet', 'no progress on stderr')
    .action(report(async (options: { from: string; batchObjects: number; inFlight: number; restart?: boolean; quiet?: boolean }) => {
      const { url, token } = program.opts<{ url: string; token?: string }>();
      const client = await connect(serverUrls(url), { connectTimeoutMs: 5_000, ...(token ? { token } : {}) });
      try {
        const summary = await importNdjson(client, options.from, {
          url, batchObjects: options.batchObjects, batchBytes: IMPORT_BATCH_BYTES, window: options.inFlight, restart: options.restart === true,
          progress: (total, done) => progressOn(process.stderr, { quiet: options.quiet === true, verb: 'import', total, start: done }),
        });
        return { imported_from: options.from, ...summary };
      } catch (err) {
        if (err instanceof SpacekvError) throw new SpacekvError(err.code, `${err.message} (position saved in ${progressFileOf(options.from)})`, err.details);
        throw err;
      } finally {
        await client.close();
      }
    }));
}
