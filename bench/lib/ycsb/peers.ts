/** Every YCSB peer, in the order the report lists them: spacekv first, then the others. */
import type { SectionContext } from '../section.js';
import { denoKvPeer } from './peers/denokv.js';
import { etcdPeer } from './peers/etcd.js';
import { postgresPeer } from './peers/postgres.js';
import { redisPeers } from './peers/redis.js';
import { sqlitePeer } from './peers/sqlite.js';
import type { ServerVariant } from '../variants.js';
import { type SpacekvPeerOptions, spacekvPeer } from './peers/spacekv.js';
import type { YcsbPeer } from './store.js';

/** The id of spacekv on its embedded store: the peer every ratio is taken against. */
export const SPACEKV = 'spacekv';

/** The spacekv peers: the ones --variants applies to. */
function spacekvPeers(c: SectionContext): SpacekvPeerOptions[] {
  const { problems } = c;
  return [
    { id: SPACEKV, name: 'spacekv (SQLite)', problems },
    { id: 'spacekv-pg', name: 'spacekv (PostgreSQL)', storeUrl: c.options.ycsb.postgresUrl, problems },
  ];
}

/** The same spacekv peer with its server started as each variant says; none for the other peers. */
export function variantPeers(c: SectionContext, peer: YcsbPeer): { variant: ServerVariant; peer: YcsbPeer }[] {
  const options = spacekvPeers(c).find((o) => o.id === peer.id);
  if (options === undefined) return [];
  return c.options.variants.map((variant) => ({ variant, peer: spacekvPeer({ ...options, name: `${options.name}, ${variant.label}`, variant }) }));
}

export function allPeers(c: SectionContext): YcsbPeer[] {
  const { problems } = c;
  const y = c.options.ycsb;
  return [
    ...spacekvPeers(c).map(spacekvPeer),
    ...redisPeers(problems),
    postgresPeer({ url: y.postgresUrl, connections: y.postgresConnections, problems }),
    sqlitePeer(),
    denoKvPeer(),
    etcdPeer(problems),
  ];
}

/** The peers --peers names (all when it names none); an unknown id is an error, not a silent omission. */
export function selectedPeers(c: SectionContext): YcsbPeer[] {
  const peers = allPeers(c);
  const wanted = c.options.ycsb.peers;
  if (wanted === undefined) return peers;
  const unknown = [...wanted].filter((id) => !peers.some((p) => p.id === id));
  if (unknown.length > 0) throw new Error(`--peers names no peer '${unknown.join("', '")}'; peers: ${peers.map((p) => p.id).join(', ')}`);
  return peers.filter((p) => wanted.has(p.id));
}

/**
 * A spacekv peer (`spacekv` or `spacekv-pg`) under node --cpu-prof, for where its time goes: a pass
 * of its own after the measured ones, so the profiler's cost never touches a figure in the tables.
 * Its profiles are named after the peer (`spacekv-pg-ycsb-A.thread0.cpuprofile`).
 */
export function profiledSpacekv(c: SectionContext, id: string, cpuProfDir: string): YcsbPeer | undefined {
  const options = spacekvPeers(c).find((o) => o.id === id);
  return options && spacekvPeer({ ...options, name: options.name.replace(/\)$/, ', profiled pass)'), cpuProfDir });
}
