/**
 * `spacekv backup|restore|export|import`: moving a store's data in and out (docs/operations.md).
 * Results are one JSON line on stdout, errors JSON on stderr, with the client commands' exit codes;
 * progress goes to stderr.
 */
import { Command, Option } from 'commander';
import { SpacekvError, stringifyJson } from '@spacekv/core';
import { backupFromDataDir, backupFromServer } from '../ops/backup.js';
import { restoreBackup } from '../ops/restore.js';
import { EXIT_CODES, exitCodeOf } from './client-commands.js';

/** Run an operation command: print its result, or its error with the matching exit code. */
function report<A extends unknown[]>(action: (...args: A) => Promise<unknown>) {
  return async (...args: A): Promise<void> => {
    try {
      process.stdout.write(`${stringifyJson((await action(...args)) ?? null)}\n`);
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
    .action(report(async (options: { to: string; data?: string }) => {
      const manifest = options.data === undefined
        ? await backupFromServer(program.opts<{ url: string }>().url, options.to)
        : await backupFromDataDir(options.data, options.to);
      return { backup: options.to, ...manifest };
    }));

  program.command('restore')
    .description('rebuild a data directory from a backup file; the checksum is verified first, and a damaged backup is refused (exit 1)')
    .requiredOption('--from <file>', 'the backup file')
    .requiredOption('--data <dir>', 'the data directory to create (must hold no store)')
    .action(report(async (options: { from: string; data: string }) => ({ restored: options.data, ...(await restoreBackup(options.from, options.data)) })));
}
