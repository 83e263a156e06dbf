/**
 * spacekv as a YCSB peer: `spacekv serve` in its own process (SQLite in `dir`, or the store a URL
 * names, e.g. PostgreSQL), driven over WebSocket by @spacekv/client, one connection. A record is an
 * object of space `usertable` with ten string attributes; update is a `put` of one attribute (put
 * keeps the others); scan is the `list` operation (a key range), when the server has it.
 *
 * Both capabilities that later issues bring are detected at run time from the server's own answer,
 * never assumed: a server that refuses `--store <url>` makes the peer "skipped", and one that
 * answers `list` with "unknown operation" makes workload E skipped for spacekv, with its words.
 * On PostgreSQL each opening gets a fresh schema, dropped at close: runs (and the scaling section's
 * several loads) never meet each other's data in the shared database.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { type SpacekvClient, connect } from '@spacekv/client';
import type { ChildServer } from '../../child-server.js';
import { backendPids, dropSchemas, withSchema } from '../../postgres.js';
import { serverCounters } from '../../rest-fixtures.js';
import { DEFAULT_SERVER, type ServerVariant } from '../../variants.js';
import { type YcsbPeer, type YcsbStore, firstLine } from '../store.js';
import { FIELD_NAMES, type Fields } from '../workload.js';

const SPACE = 'usertable';
const SCHEMA = `space ${SPACE} key ycsb_key attributes ${FIELD_NAMES.map((f) => `string ${f}`).join(', ')}`;

export interface SpacekvPeerOptions {
  readonly id: string;
  readonly name: string;
  /** `--store` for the server; undefined = the embedded SQLite store in the peer's directory. */
  readonly storeUrl?: string;
  /** How the server starts (a build, its flags, a token); this build's default server unless given. */
  readonly variant?: ServerVariant;
  /** Run the server under node --cpu-prof, writing its profile here when it stops. */
  readonly cpuProfDir?: string;
  /** Collects what went wrong that makes figures untrustworthy (an unclean shutdown). */
  readonly problems: string[];
  /** Set per opening on PostgreSQL: removes that opening's schema. */
  readonly dropSchema?: () => Promise<void>;
  /** Set per opening on PostgreSQL: the backends serving the server `pid`. */
  readonly backendsOf?: (pid: number) => Promise<readonly number[]>;
}

/** The client's generic request path: a YCSB scan is one page of the wire `list` (the client's list() iterates every page), and the probe needs the server's own refusal. */
interface WireCall {
  call<T>(op: Readonly<Record<string, unknown>> & { op: string }, decode: (reply: Readonly<Record<string, unknown>>) => T): Promise<T>;
}

export function spacekvPeer(o: SpacekvPeerOptions): YcsbPeer {
  const durability = o.storeUrl === undefined
    ? 'own process, SQLite WAL synchronous=FULL, group commit; every write durable before its reply'
    : 'own process, PostgreSQL store; every write durable before its reply';
  return {
    id: o.id,
    name: o.name,
    durability,
    async open(dir: string) {
      const schema = `ycsb_${process.pid}_${randomBytes(4).toString('hex')}`;
      const opened = o.storeUrl === undefined ? o : {
        ...o, storeUrl: withSchema(o.storeUrl, schema), dropSchema: () => dropSchemas(o.storeUrl as string, [schema]), backendsOf: (pid: number) => backendPids([pid], o.storeUrl as string),
      };
      let running: Running;
      try {
        running = await start(join(dir, 'data'), opened);
      } catch (err) {
        if (o.storeUrl === undefined) throw err;
        const said = /unknown store[^\n]*|store[^\n]*/i.exec(err instanceof Error ? err.message : String(err))?.[0] ?? firstLine(err);
        return { skipped: `the server did not start with --store ${redact(o.storeUrl)} (it said: ${redact(said.trim())})` };
      }
      try {
        await running.client.addSpace(SCHEMA);
        return await storeOf(running, join(dir, 'data'), opened);
      } catch (err) {
        await stop(running, opened);
        await opened.dropSchema?.();
        throw err;
      }
    },
  };
}

interface Running {
  readonly server: ChildServer;
  readonly client: SpacekvClient;
}

async function start(dataDir: string, o: SpacekvPeerOptions): Promise<Running> {
  const serveArgs = o.storeUrl === undefined ? [] : ['--store', o.storeUrl];
  const nodeArgs = o.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir];
  const { server, token } = await (o.variant ?? DEFAULT_SERVER).start(dataDir, { nodeArgs, serveArgs }, [SPACE]);
  try {
    return { server, client: await connect(server.url, { reconnect: false, ...(token === undefined ? {} : { token }) }) };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

async function stop(running: Running, o: SpacekvPeerOptions): Promise<void> {
  await running.client.close();
  const exit = await running.server.stop();
  if (exit.code !== 0) o.problems.push(`${o.name}: the server did not shut down cleanly (code ${exit.code}, signal ${exit.signal})\n${exit.stderrTail}`);
}

async function storeOf(first: Running, dataDir: string, o: SpacekvPeerOptions): Promise<YcsbStore> {
  // Replaced when a profile is cut (a new server process on the same data).
  let running = first;
  const list = (start: string, limit: number): Promise<number> =>
    (running.client as unknown as WireCall).call({ op: 'list', space: SPACE, start, limit }, listedCount);
  const scanUnsupported = await probeList(list);
  const health = await fetch(`${first.server.url}/healthz`).then((r) => r.json() as Promise<Record<string, unknown>>).catch((): Record<string, unknown> => ({}));
  const profiles = o.cpuProfDir;
  return {
    detail: `spacekv server (${typeof health.detail === 'string' ? health.detail : 'store unknown'}), @spacekv/client over WebSocket, one connection`,
    scanUnsupported,
    // On PostgreSQL the server's backends count too: the work a point read costs is split between them.
    serverPids: async () => [running.server.pid, ...(await o.backendsOf?.(running.server.pid) ?? [])],
    async load(records) {
      const { client } = running;
      await Promise.all(records.map(([key, fields]) => client.put(SPACE, key, fields)));
    },
    async read(key) {
      const found = await running.client.get(SPACE, key);
      return found === null ? null : (found.attributes as Fields);
    },
    async update(key, field, value) {
      await running.client.put(SPACE, key, { [field]: value });
    },
    async insert(key, fields) {
      await running.client.put(SPACE, key, fields);
    },
    scan: list,
    serverCounters: () => serverCounters(running.server.url),
    ...(profiles === undefined ? {} : {
      async cutProfile(label: string) {
        mkdirSync(profiles, { recursive: true });
        const before = new Set(readdirSync(profiles));
        await stop(running, o);
        // node --cpu-prof writes one file per thread: CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile, the main thread's id 0.
        const written = readdirSync(profiles).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
        if (written.length === 0) throw new Error(`the spacekv server wrote no .cpuprofile into ${profiles}`);
        const threadOf = (file: string): number => Number(file.split('.').at(-3));
        const paths = written.sort((a, b) => threadOf(a) - threadOf(b)).map((file) => {
          const path = join(profiles, `${o.id}-${label}.thread${threadOf(file)}.cpuprofile`);
          renameSync(join(profiles, file), path);
          return path;
        });
        running = await start(dataDir, o);
        return paths;
      },
    }),
    async close() {
      await stop(running, o);
      await o.dropSchema?.();
    },
  };
}

/** How many objects a `list` reply carries; a refusal (`ok: false`) becomes an error with the server's code. */
function listedCount(reply: Readonly<Record<string, unknown>>): number {
  if (reply.ok === false) {
    const error = (reply.error ?? {}) as { code?: unknown; message?: unknown };
    throw Object.assign(new Error(String(error.message ?? 'list refused')), { code: error.code });
  }
  return Array.isArray(reply.objects) ? reply.objects.length : 0;
}

/** Undefined when the server runs `list`; else the reason workload E is skipped, in the server's words. */
async function probeList(list: (start: string, limit: number) => Promise<number>): Promise<string | undefined> {
  try {
    await list('user', 1);
    return undefined;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // The server lists every operation it knows after a ';': the reason needs only the first clause.
    const said = `${typeof code === 'string' ? `${code}: ` : ''}${firstLine(err).split(';')[0]}`;
    if (/unknown operation/i.test(said)) return `this build has no list/search operation (the server answered ${said})`;
    return `the server refused the bench's list request (${said})`;
  }
}

/** A store URL may carry a password: the report names the host and database only. */
function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}
