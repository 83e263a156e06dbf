/**
 * `spacekv get|put|del|mutate|search|count|add-space|add-index|rm-index|rm-space|spaces|describe`: the client library on the
 * command line. Output is JSON on stdout; errors are JSON on stderr; the exit code tells scripts
 * what happened (see EXIT_CODES).
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { type SpacekvClient, SpacekvError, connect } from '@spacekv/client';
import { type ErrorCode, parseJson, stringifyJson } from '@spacekv/core';

export const EXIT_CODES = { ok: 0, invalid: 1, notFound: 2, conditionFailed: 3, unavailable: 4, failed: 5, denied: 6 } as const;

const EXIT_HELP = `
Exit codes: 0 done; 1 invalid input or usage; 2 not found (object or space); 3 condition failed
(exists, cmp_fail); 4 server unreachable, overloaded or outcome unknown; 5 any other error;
6 not allowed (no token, a token refused, or one without the right; see --token).`;

/** A key argument is text; the server reads it as the space's key type wants. */
const KEY_HELP = 'the key (digits for an int-keyed space, a number such as 1.5 or -2e-3 for a float-keyed one)';

export function exitCodeOf(code: ErrorCode): number {
  switch (code) {
    case 'unauthenticated':
    case 'forbidden':
    case 'forbidden_origin':
    case 'forbidden_host':
    case 'rate_limited':
      return EXIT_CODES.denied;
    case 'not_found':
    case 'unknown_space':
      return EXIT_CODES.notFound;
    case 'exists':
    case 'cmp_fail':
    case 'tx_failed':
    case 'conflict':
      return EXIT_CODES.conditionFailed;
    case 'unavailable':
    case 'overloaded':
    case 'shutting_down':
    case 'storage_full':
    case 'outcome_unknown':
      return EXIT_CODES.unavailable;
    case 'internal':
    case 'overflow':
    case 'division_by_zero':
      return EXIT_CODES.failed;
    default:
      return EXIT_CODES.invalid;
  }
}

/** A JSON argument, or `@file` to read it from a file. */
function jsonArgument(text: string, what: string): unknown {
  const source = text.startsWith('@') ? readFileSync(text.slice(1), 'utf8') : text;
  try {
    return parseJson(source);
  } catch {
    throw new SpacekvError('bad_request', `${what} must be JSON (or @file), got: ${text.slice(0, 60)}`);
  }
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new SpacekvError('bad_request', `expected a non-negative integer, got '${value}'`);
  return n;
}

/** `--url`: one server, or a comma-separated list of servers sharing a store, to fail over between. */
export function serverUrls(text: string): string[] {
  return text.split(',').map((url) => url.trim()).filter((url) => url.length > 0);
}

type Action = (client: SpacekvClient, ...args: never[]) => Promise<unknown>;

/** Print a command's result (JSON on stdout) and set the exit code; null means not found. */
export function printResult(result: unknown): void {
  process.stdout.write(`${stringifyJson(result ?? null)}\n`);
  process.exitCode = result === null ? EXIT_CODES.notFound : EXIT_CODES.ok;
}

/** Print a command's failure (JSON on stderr) and set the exit code of its error code. */
export function printFailure(err: unknown): void {
  const error = err instanceof SpacekvError ? err : new SpacekvError('internal', (err as Error).message);
  process.stderr.write(`${stringifyJson({ error: error.toWire() })}\n`);
  process.exitCode = exitCodeOf(error.code);
}

/** Connect, run, print, exit with the code of the outcome. */
function run(program: Command, action: Action) {
  return async (...args: unknown[]): Promise<void> => {
    const { url, token } = program.opts<{ url: string; token?: string }>();
    let client: SpacekvClient | undefined;
    try {
      client = await connect(serverUrls(url), { connectTimeoutMs: 5_000, ...(token ? { token } : {}) });
      printResult(await action(client, ...(args as never[])));
    } catch (err) {
      printFailure(err);
    } finally {
      await client?.close();
    }
  };
}

export function addClientCommands(program: Command): void {
  program.addOption(new Option('--url <url>', 'server to talk to (client commands, backup, import); a comma-separated list of servers sharing a store fails over between them').env('SPACEKV_URL').default('http://127.0.0.1:7640'));
  program.addOption(new Option('--token <token>', 'token for a server that requires one (client, token, backup and import commands)').env('SPACEKV_TOKEN'));
  program.addHelpText('after', EXIT_HELP);

  program.command('get').description('read an object (prints {key, version, attributes}; exit 2 if absent)')
    .argument('<space>').argument('<key>', KEY_HELP)
    .option('--select <attributes>', 'comma-separated attributes to read (get_partial)')
    .action(run(program, (c, space: string, key: string, options: { select?: string }) =>
      options.select ? c.getPartial(space, key, options.select.split(',')) : c.get(space, key)));

  program.command('put').description('write attributes (upsert; --if-not-exist creates only; --if-version compares and swaps)')
    .argument('<space>').argument('<key>', KEY_HELP).argument('<attributes>', 'JSON object of attributes, or @file')
    .option('--if-not-exist', 'fail (exit 3) if the key exists')
    .option('--if-version <version>', 'write only if the object is at this version (compare-and-swap; exit 3 otherwise)', nonNegativeInt)
    .option('--expire-in <seconds>', 'seconds until the object expires', Number)
    .action(run(program, (c, space: string, key: string, text: string, options: { ifNotExist?: boolean; ifVersion?: number; expireIn?: number }) => {
      const attributes = jsonArgument(text, 'attributes') as Record<string, unknown>;
      const write = options.expireIn === undefined ? {} : { expireIn: options.expireIn };
      if (options.ifNotExist) return c.putIfNotExist(space, key, attributes, write);
      if (options.ifVersion !== undefined) return c.compareAndSwap(space, key, options.ifVersion, attributes, write);
      return c.put(space, key, attributes, write);
    }));

  program.command('del').description('delete an object (exit 2 if absent)')
    .argument('<space>').argument('<key>', KEY_HELP)
    .option('--if-version <version>', 'delete only at this version (exit 3 otherwise)', nonNegativeInt)
    .action(run(program, (c, space: string, key: string, options: { ifVersion?: number }) =>
      c.del(space, key, options.ifVersion === undefined ? {} : { version: options.ifVersion })));

  program.command('mutate').description('apply mutations atomically, e.g. \'[{"add": {"visits": 1}}]\'')
    .argument('<space>').argument('<key>', KEY_HELP).argument('<mutations>', 'JSON list of mutations, or @file')
    .option('--if <condition>', 'JSON condition that must hold (exit 3 otherwise)')
    .action(run(program, (c, space: string, key: string, text: string, options: { if?: string }) =>
      c.mutate(space, key, jsonArgument(text, 'mutations') as never, options.if ? { if: jsonArgument(options.if, 'the condition') as never } : {})));

  program.command('search').description('objects satisfying a condition, e.g. \'{"last": "Smith", "age": {"gte": 18}}\' (prints a JSON list of every page)')
    .argument('<space>').argument('[where]', 'JSON condition, or @file; default: every object', '{}')
    .option('--select <attributes>', 'comma-separated attributes to print')
    .option('--sort-by <attribute>', 'order by this attribute (sorted_search) and print the first --limit')
    .option('--desc', 'with --sort-by: largest first')
    .option('--limit <n>', 'with --sort-by: how many (default 100); else objects per page', nonNegativeInt)
    .action(run(program, async (c, space: string, text: string, options: { select?: string; sortBy?: string; desc?: boolean; limit?: number }) => {
      const where = jsonArgument(text, 'the condition') as Record<string, unknown>;
      const narrow = { ...(options.select === undefined ? {} : { select: options.select.split(',') }), ...(options.limit === undefined ? {} : { limit: options.limit }) };
      if (options.sortBy !== undefined) return c.sortedSearch(space, where, options.sortBy, { ...narrow, order: options.desc ? 'desc' : 'asc' });
      const found = [];
      for await (const object of c.search(space, where, narrow)) found.push(object);
      return found;
    }));

  program.command('count').description('how many objects satisfy a condition').argument('<space>').argument('[where]', 'JSON condition, or @file', '{}')
    .action(run(program, async (c, space: string, text: string) => ({ count: await c.count(space, jsonArgument(text, 'the condition') as Record<string, unknown>) })));

  program.command('add-index').description('build a secondary index on an attribute, online (returns once it is in use)')
    .argument('<space>').argument('<attribute>')
    .action(run(program, (c, space: string, attribute: string) => c.addIndex(space, attribute)));

  program.command('rm-index').description('drop the secondary index on an attribute (or a document path such as info.name), online')
    .argument('<space>').argument('<attribute>')
    .action(run(program, (c, space: string, attribute: string) => c.rmIndex(space, attribute)));

  program.command('add-space').description("create a space from DSL text (or @file), e.g. 'space users key name attributes int age'")
    .argument('<schema>')
    .action(run(program, (c, text: string) => c.addSpace(text.startsWith('@') ? readFileSync(text.slice(1), 'utf8') : text)));

  program.command('rm-space').description('remove a space and every object in it').argument('<space>')
    .action(run(program, async (c, space: string) => {
      await c.rmSpace(space);
      return { removed: space };
    }));

  program.command('spaces').description('list the spaces').action(run(program, (c) => c.listSpaces()));

  program.command('describe').description('describe a space').argument('<space>')
    .action(run(program, (c, space: string) => c.describeSpace(space)));
}
