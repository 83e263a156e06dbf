/**
 * The few helpers the examples share: where the server is, how a script knows it was run directly,
 * how to start from a clean space, and how to read values out of untyped results without `any`.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type SpaceObject, type SpacekvClient, UnknownSpaceError } from '@spacekv/client';

export const DEFAULT_URL = 'http://127.0.0.1:7640';

/** The server URL: the first argument, else $SPACEKV_URL, else the default port on localhost. */
export function serverUrl(argv: readonly string[] = process.argv): string {
  return argv[2] ?? process.env['SPACEKV_URL'] ?? DEFAULT_URL;
}

/** Run `run` if the module at `moduleUrl` is the script node was started with (not when imported). */
export function runIfMain(moduleUrl: string, run: () => Promise<unknown>): void {
  const script = process.argv[1];
  if (script === undefined) return;
  let scriptUrl: string;
  try {
    scriptUrl = pathToFileURL(realpathSync(script)).href;
  } catch {
    return;
  }
  if (scriptUrl !== moduleUrl) return;
  run().then(
    () => undefined,
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}

/** Remove a space if it exists (a previous run's leftovers); true if there was one. */
export async function dropSpace(client: SpacekvClient, name: string): Promise<boolean> {
  try {
    await client.rmSpace(name);
    return true;
  } catch (error) {
    if (error instanceof UnknownSpaceError) return false;
    throw error;
  }
}

export function isSpaceObject(value: unknown): value is SpaceObject {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { version?: unknown; attributes?: unknown };
  return typeof candidate.version === 'number' && typeof candidate.attributes === 'object' && candidate.attributes !== null;
}

/** The object an untyped get resolved with; throws if it was absent. */
export function objectOf(value: unknown, what: string): SpaceObject {
  if (!isSpaceObject(value)) throw new Error(`expected ${what} to exist, got ${JSON.stringify(value)}`);
  return value;
}

export function stringOf(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`expected ${what} to be a string, got ${JSON.stringify(value)}`);
  return value;
}

export function stringsOf(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string')) {
    throw new Error(`expected ${what} to be a list of strings, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function numberOf(value: unknown, what: string): number {
  if (typeof value !== 'number') throw new Error(`expected ${what} to be a number, got ${JSON.stringify(value)}`);
  return value;
}

/** Strings as Python prints a list of them: `['Brian', 'John', 'John']`. */
export function pyList(items: readonly string[]): string {
  return `[${items.map((item) => `'${item}'`).join(', ')}]`;
}
