/**
 * Deno KV for Node as a YCSB peer: `@deno/kv`'s local backend (SQLite, in its native module inside
 * the bench process), a record is one value (the fields object) under ['usertable', key]. Deno KV
 * has no partial update, so an update reads the record and sets it whole, as a program using it
 * would; a scan is a list from the key on.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { openKv } from '@deno/kv';
import type { YcsbPeer, YcsbStore } from '../store.js';
import type { Fields } from '../workload.js';

const TABLE = 'usertable';
/** Deno KV bounds the mutations of one atomic commit; the load stays well under. */
const LOAD_CHUNK = 100;

export function denoKvPeer(): YcsbPeer {
  return {
    id: 'denokv',
    name: 'Deno KV (in process)',
    durability: 'in the bench process, its SQLite backend (settings as @deno/kv chooses)',
    open: (dir) => open(dir),
  };
}

async function open(dir: string): Promise<YcsbStore | { skipped: string }> {
  let kv: Awaited<ReturnType<typeof openKv>>;
  try {
    kv = await openKv(join(dir, 'ycsb.denokv'));
  } catch (err) {
    return { skipped: `@deno/kv would not open a local database: ${(err as Error).message}` };
  }
  const version = packageVersion();
  const read = async (key: string): Promise<Fields | null> => (await kv.get<Fields>([TABLE, key])).value;
  return {
    detail: `@deno/kv ${version}, local SQLite backend`,
    scanUnsupported: undefined,
    serverPids: () => Promise.resolve([]),
    async load(records) {
      for (let i = 0; i < records.length; i += LOAD_CHUNK) {
        const atomic = kv.atomic();
        for (const [key, fields] of records.slice(i, i + LOAD_CHUNK)) atomic.set([TABLE, key], fields);
        const committed = await atomic.commit();
        if (!committed.ok) throw new Error('Deno KV refused a load commit');
      }
    },
    read,
    async update(key, field, value) {
      const found = await read(key);
      await kv.set([TABLE, key], { ...found, [field]: value });
    },
    async insert(key, fields) {
      await kv.set([TABLE, key], fields);
    },
    async scan(startKey, count) {
      let n = 0;
      for await (const _entry of kv.list<Fields>({ prefix: [TABLE], start: [TABLE, startKey] }, { limit: count, batchSize: count })) n++;
      return n;
    },
    close() {
      kv.close();
      return Promise.resolve();
    },
  };
}

/** @deno/kv exports no package.json: read it from the package's directory. */
function packageVersion(): string {
  const entry = fileURLToPath(import.meta.resolve('@deno/kv'));
  const dir = /^(.*node_modules\/@deno\/kv)\//.exec(entry)?.[1];
  if (dir === undefined) return 'unknown';
  return (JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as { version?: string }).version ?? 'unknown';
}
