/**
 * etcd as a YCSB peer: a private etcd (Debian's etcd-server) the bench starts on free ports with its
 * data in the peer's directory, driven by etcd3 (gRPC). A record is one value (the fields as JSON)
 * under `usertable/<key>`; etcd has no partial update, so an update reads and puts the record whole;
 * a scan is a range read from the key on. Every write is a Raft commit fsynced to its WAL (one
 * member). Skipped, with the reason, when no etcd binary is on PATH.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { type ChildServer, startChild } from '../../child-server.js';
import { freePort } from '../../redis-peer.js';
import { type YcsbPeer, type YcsbStore, firstLine } from '../store.js';
import type { Fields } from '../workload.js';

const PREFIX = 'usertable/';
/** The first key after every `usertable/...` key. */
const PREFIX_END = 'usertable0';
const LOAD_CHUNK = 500;

export function etcdPeer(problems: string[]): YcsbPeer {
  return {
    id: 'etcd',
    name: 'etcd',
    durability: 'own etcd process, one member, WAL fsynced before every reply',
    open: (dir) => open(dir, problems),
  };
}

function etcdVersion(): string | undefined {
  try {
    return /etcd Version: (\S+)/.exec(execFileSync('etcd', ['--version'], { encoding: 'utf8' }))?.[1];
  } catch {
    return undefined;
  }
}

async function open(dir: string, problems: string[]): Promise<YcsbStore | { skipped: string }> {
  const version = etcdVersion();
  if (version === undefined) return { skipped: 'no etcd on PATH (Debian: apt-get install etcd-server)' };
  let server: ChildServer | undefined;
  let lastError = '';
  for (let attempt = 0; attempt < 3 && server === undefined; attempt++) {
    const [client, peer] = [await freePort(), await freePort()];
    const clientUrl = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    try {
      server = await startChild({
        name: 'etcd',
        command: 'etcd',
        args: ['--name', 'bench', '--data-dir', join(dir, 'etcd'), '--logger', 'zap', '--log-outputs', 'stderr',
          '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
          '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `bench=${peerUrl}`],
        readyOn: 'stderr',
        readyUrl: (line) => (line.msg === 'serving client traffic insecurely; this is strongly discouraged!' || line.msg === 'ready to serve client requests' ? clientUrl : undefined),
      });
    } catch (err) {
      lastError = firstLine(err);
    }
  }
  if (server === undefined) return { skipped: `etcd ${version} would not start: ${lastError}` };
  const running = server;
  const etcd = new Etcd3({ hosts: running.url });
  await etcd.put(`${PREFIX}__probe`).value('1');
  await etcd.delete().key(`${PREFIX}__probe`);
  const read = async (key: string): Promise<Fields | null> => {
    const text = await etcd.get(PREFIX + key).string();
    return text === null ? null : (JSON.parse(text) as Fields);
  };
  return {
    detail: `etcd ${version} started by the bench at ${running.url} (one member, data on ${dir}), etcd3 client`,
    scanUnsupported: undefined,
    serverPids: () => Promise.resolve([running.pid]),
    async load(records) {
      for (let i = 0; i < records.length; i += LOAD_CHUNK) {
        await Promise.all(records.slice(i, i + LOAD_CHUNK).map(([key, fields]) => etcd.put(PREFIX + key).value(JSON.stringify(fields))));
      }
    },
    read,
    async update(key, field, value) {
      const found = await read(key);
      await etcd.put(PREFIX + key).value(JSON.stringify({ ...found, [field]: value }));
    },
    async insert(key, fields) {
      await etcd.put(PREFIX + key).value(JSON.stringify(fields));
    },
    async scan(startKey, count) {
      const found = await etcd.getAll().inRange({ start: PREFIX + startKey, end: PREFIX_END }).limit(count).strings();
      return Object.keys(found).length;
    },
    async close() {
      etcd.close();
      const exit = await running.stop();
      // etcd ends by re-raising SIGTERM once it has closed cleanly.
      if (exit.code !== 0 && exit.signal !== 'SIGTERM') problems.push(`etcd did not shut down cleanly (code ${exit.code}, signal ${exit.signal})\n${exit.stderrTail}`);
    },
  };
}
