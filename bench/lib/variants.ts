/**
 * Server variants (`--variants`): other ways to run the spacekv server while the bench's client and
 * everything else stay the same, each measured beside this build's default server in the same
 * rounds (paired.ts). A variant only says how its server starts and how the client authenticates;
 * the sections decide what to measure on it.
 *
 *  - `bounds-off`: this build with every bound of the limits module switched off, but for the three
 *    that size a performance mechanism (bounds-off.ts);
 *    `bounds-off=<name>+<name>` only the named ones, to find which bound a cost comes from;
 *    `new-bounds-off` those added since issue 13 was filed (the others were in its figures);
 *  - `auth-on`: this build requiring tokens, the client holding one scoped to the bench's spaces;
 *  - `build=<dir>[:label]`: the server CLI of another built checkout (its packages/server/dist),
 *    e.g. main before a change, built in a git worktree.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type LimitName, NEW_BOUNDS, boundsOffArgs, isLimitName } from './bounds-off.js';
import { type ChildServer, type SpacekvLaunch, startSpacekvServer } from './child-server.js';

/** The least throughput ratio an issue allows: the variant over this build, or this build over a baseline. */
export interface VariantTarget {
  readonly min: number;
  readonly issue: string;
}

export interface ServerVariant {
  /** As written in --variants (`auth-on`, `build=/dir:old`). */
  readonly id: string;
  /** Short name for printed lines: `bounds off`, `auth on`, `old-layout`. */
  readonly label: string;
  readonly target?: VariantTarget;
  /**
   * The variant is the reference (an older build, or this build with its bounds off): ratios are
   * then this build over it, so that a figure below 1 always means the side being judged (this build
   * against a baseline, the variant otherwise) is the slower.
   */
  readonly baseline?: boolean;
  /** Start a server of this variant; `tokenSpaces` are the spaces a token (where one is needed) must cover, with admin to create them. */
  start(dataDir: string, launch: SpacekvLaunch, tokenSpaces: readonly string[]): Promise<VariantServer>;
}

export interface VariantServer {
  readonly server: ChildServer;
  /** The token every request must carry; undefined when the server requires none. */
  readonly token?: string;
}

/** This build as an operator starts it: what every variant is compared with. */
export const DEFAULT_SERVER: ServerVariant = {
  id: 'default',
  label: 'this build',
  start: async (dataDir, launch) => ({ server: await startSpacekvServer(dataDir, launch) }),
};

/** The root secret of the auth-on servers (loopback only, gone with the run). */
const BENCH_ROOT_SECRET = 'bench-root-secret-not-for-production-0123456789';

const AUTH_ON: ServerVariant = {
  id: 'auth-on',
  label: 'auth on',
  target: { min: 0.95, issue: 'issue 15' },
  /**
   * `--auth on` (metrics public, so the bench reads its commit counters as for the other servers)
   * and a token of the scope a real application would hold: read, write, watch and admin on the
   * bench's spaces only. Every measured request carries it, so the figures include verifying it (once,
   * then the cache) and checking the scope of every operation.
   */
  async start(dataDir, launch, tokenSpaces) {
    const server = await startSpacekvServer(dataDir, {
      ...launch, serveArgs: [...(launch.serveArgs ?? []), '--auth', 'on', '--public-metrics'], env: { ...launch.env, SPACEKV_ROOT_TOKEN: BENCH_ROOT_SECRET },
    });
    const response = await fetch(`${server.url}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BENCH_ROOT_SECRET}`, 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'bench', ops: ['read', 'write', 'watch', 'admin'], spaces: tokenSpaces }),
    });
    if (!response.ok) {
      await server.stop();
      throw new Error(`creating the bench token answered ${response.status}: ${await response.text()}`);
    }
    return { server, token: ((await response.json()) as { token: string }).token };
  },
};

/** This build with the bounds `names` switched off (those of the whole bounds-off unless given). */
function boundsOffVariant(id: string, label: string, names?: readonly LimitName[]): ServerVariant {
  return {
    id,
    label,
    // Issue 13 judges the bounds: this build (bounds on) may be at most 5% slower than without them.
    target: { min: 0.95, issue: 'issue 13' },
    baseline: true,
    start: async (dataDir, launch) => ({ server: await startSpacekvServer(dataDir, { ...launch, serveArgs: [...(launch.serveArgs ?? []), ...boundsOffArgs(names)] }) }),
  };
}

const BOUNDS_OFF = boundsOffVariant('bounds-off', 'bounds off');
const NEW_BOUNDS_OFF = boundsOffVariant('new-bounds-off', 'new bounds off', NEW_BOUNDS);

/** `bounds-off=<name>+<name>`: only the named limits off ('+', since --variants is comma-separated). */
function someBoundsOff(spec: string): ServerVariant {
  const names = spec.slice('bounds-off='.length).split('+').map((n) => n.trim());
  const unknown = names.filter((n) => !isLimitName(n));
  if (unknown.length > 0) {
    throw new Error(`--variants: '${spec}' is not bounds-off=<limit>[+<limit>...]; unknown limit${unknown.length === 1 ? '' : 's'}: ${unknown.map((n) => `'${n}'`).join(', ')}`);
  }
  return boundsOffVariant(spec, `off: ${names.join('+')}`, names as LimitName[]);
}

/** The CLI script of a built checkout. */
export function cliOfBuild(dir: string): string {
  return join(resolve(dir), 'packages', 'server', 'dist', 'src', 'cli', 'main.js');
}

/** `build=<dir>[:label]`: another checkout's server; the label defaults to the directory's last part. */
function buildVariant(spec: string): ServerVariant {
  const value = spec.slice('build='.length);
  const colon = value.lastIndexOf(':');
  const dir = colon > 0 ? value.slice(0, colon) : value;
  const label = colon > 0 ? value.slice(colon + 1) : (resolve(dir).split('/').pop() ?? dir);
  if (dir === '' || label === '') throw new Error(`--variants: '${spec}' is not build=<dir>[:label]`);
  const cli = cliOfBuild(dir);
  if (!existsSync(cli)) throw new Error(`--variants: ${spec}: no built server at ${cli} (build that checkout first: npm ci && npm run build)`);
  return {
    id: spec,
    label,
    // Issue 21: the portable PostgreSQL layout may be at most 10% slower than the build it replaced.
    target: { min: 0.9, issue: 'issue 21' },
    baseline: true,
    start: async (dataDir, launch) => ({ server: await startSpacekvServer(dataDir, { ...launch, cli }) }),
  };
}

export const VARIANT_NAMES = ['bounds-off', 'bounds-off=<limit>[+<limit>...]', 'new-bounds-off', 'auth-on', 'build=<dir>[:label]'] as const;

/** The variants a comma-separated --variants list names, in its order; an unknown one is an error. */
export function parseVariants(raw: readonly string[]): ServerVariant[] {
  const variants = raw.map((item) => {
    if (item === AUTH_ON.id) return AUTH_ON;
    if (item === BOUNDS_OFF.id) return BOUNDS_OFF;
    if (item === NEW_BOUNDS_OFF.id) return NEW_BOUNDS_OFF;
    if (item.startsWith('build=')) return buildVariant(item);
    if (item.startsWith('bounds-off=')) return someBoundsOff(item);
    throw new Error(`--variants takes ${VARIANT_NAMES.join(', ')}; got '${item}'`);
  });
  const seen = new Set<string>();
  for (const v of variants) {
    if (seen.has(v.label)) throw new Error(`--variants names '${v.label}' twice; give builds distinct labels (build=<dir>:label)`);
    seen.add(v.label);
  }
  return variants;
}
