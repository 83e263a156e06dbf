/**
 * The YCSB core workloads (A-F) as YCSB's CoreWorkload defines them: records of 10 fields of 100
 * bytes under hashed keys ("user" + FNV-1a 64 of the record number), key choice by YCSB's scrambled
 * zipfian (constant 0.99) or "latest" for D, updates that write one field, scans of 1-100 records.
 *
 * Every operation of a cell is generated before the cell starts (generation is not measured), from a
 * fixed seed, so every peer runs the same sequence of operations on the same keys.
 */

export type OpKind = 'read' | 'update' | 'insert' | 'scan' | 'rmw';
export const OP_KINDS: readonly OpKind[] = ['read', 'update', 'insert', 'scan', 'rmw'];

export type WorkloadName = 'A' | 'B' | 'C' | 'D' | 'E' | 'F';

export interface Workload {
  readonly name: WorkloadName;
  readonly title: string;
  /** Proportions of each operation kind; they sum to 1. */
  readonly mix: Readonly<Partial<Record<OpKind, number>>>;
  readonly distribution: 'zipfian' | 'latest';
}

export const WORKLOADS: readonly Workload[] = [
  { name: 'A', title: 'update heavy: 50% read, 50% update', mix: { read: 0.5, update: 0.5 }, distribution: 'zipfian' },
  { name: 'B', title: 'read mostly: 95% read, 5% update', mix: { read: 0.95, update: 0.05 }, distribution: 'zipfian' },
  { name: 'C', title: 'read only', mix: { read: 1 }, distribution: 'zipfian' },
  { name: 'D', title: 'read latest: 95% read, 5% insert', mix: { read: 0.95, insert: 0.05 }, distribution: 'latest' },
  { name: 'E', title: 'short scans: 95% scan (1-100 records), 5% insert', mix: { scan: 0.95, insert: 0.05 }, distribution: 'zipfian' },
  { name: 'F', title: 'read-modify-write: 50% read, 50% read-modify-write', mix: { read: 0.5, rmw: 0.5 }, distribution: 'zipfian' },
];

export const FIELD_COUNT = 10;
export const FIELD_BYTES = 100;
export const SCAN_LENGTH_MAX = 100;
export const FIELD_NAMES: readonly string[] = Array.from({ length: FIELD_COUNT }, (_, i) => `field${i}`);
export type Fields = Record<string, string>;

const ZIPFIAN_CONSTANT = 0.99;
/** YCSB's ScrambledZipfianGenerator draws from 10 billion items with this precomputed zeta, then hashes into the key range. */
const SCRAMBLED_ITEMS = 10_000_000_000;
const SCRAMBLED_ZETAN = 26.46902820178302;

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;

/** YCSB's Utils.fnvhash64: FNV-1a over the 8 bytes of the value, low byte first, as a non-negative long. */
export function fnvhash64(value: number): bigint {
  let v = BigInt(value);
  let hash = FNV_OFFSET;
  for (let i = 0; i < 8; i++) {
    hash ^= v & 0xffn;
    hash = (hash * FNV_PRIME) & MASK64;
    v >>= 8n;
  }
  // Java's Math.abs on the signed long.
  return hash >= 1n << 63n ? (1n << 64n) - hash : hash;
}

/** xorshift128+: fast, seedable, good enough for choosing keys and operations. */
export class Random {
  private s0: number;
  private s1: number;
  constructor(seed: number) {
    this.s0 = (seed ^ 0x9e3779b9) >>> 0 || 1;
    this.s1 = (Math.imul(seed, 0x85ebca6b) ^ 0xc2b2ae35) >>> 0 || 2;
    for (let i = 0; i < 8; i++) this.next();
  }
  /** A float in [0, 1). */
  next(): number {
    let x = this.s0;
    const y = this.s1;
    this.s0 = y;
    x ^= x << 23;
    x ^= x >>> 17;
    x ^= y ^ (y >>> 26);
    this.s1 = x >>> 0;
    return ((this.s0 + this.s1) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** YCSB's ZipfianGenerator (Gray et al., "Quickly generating billion-record synthetic databases"). */
export class Zipfian {
  private readonly alpha: number;
  private readonly eta: number;
  private readonly half: number;

  constructor(private readonly items: number, private readonly zetan = zeta(items, ZIPFIAN_CONSTANT)) {
    const theta = ZIPFIAN_CONSTANT;
    const zeta2 = zeta(2, theta);
    this.alpha = 1 / (1 - theta);
    this.eta = (1 - (2 / items) ** (1 - theta)) / (1 - zeta2 / this.zetan);
    this.half = 1 + 0.5 ** theta;
  }

  /** 0 is the most popular item. */
  next(random: Random): number {
    const u = random.next();
    const uz = u * this.zetan;
    if (uz < 1) return 0;
    if (uz < this.half) return 1;
    return Math.floor(this.items * (this.eta * u - this.eta + 1) ** this.alpha);
  }
}

function zeta(n: number, theta: number): number {
  let sum = 0;
  for (let i = 1; i <= n; i++) sum += 1 / i ** theta;
  return sum;
}

/** YCSB's ScrambledZipfianGenerator: zipfian popularity, with the popular items spread over the key range. */
export class ScrambledZipfian {
  private readonly zipfian = new Zipfian(SCRAMBLED_ITEMS, SCRAMBLED_ZETAN);
  constructor(private readonly items: number) {}
  next(random: Random): number {
    return Number(fnvhash64(this.zipfian.next(random)) % BigInt(this.items));
  }
}

/** The key of record `n`, YCSB's hashed insert order ("user" + fnvhash64(n)); cached, since building one costs a BigInt hash. */
export class Keyspace {
  private readonly keys: string[] = [];
  key(n: number): string {
    let key = this.keys[n];
    if (key === undefined) {
      key = `user${fnvhash64(n)}`;
      this.keys[n] = key;
    }
    return key;
  }
}

/** Field values are drawn from a fixed pool of random printable strings, so building a record costs no randomness. */
const VALUE_POOL = (() => {
  const random = new Random(42);
  return Array.from({ length: 1021 }, () => {
    let s = '';
    for (let i = 0; i < FIELD_BYTES; i++) s += String.fromCharCode(33 + random.below(94));
    return s;
  });
})();

export function fieldValue(record: number, field: number, version = 0): string {
  return VALUE_POOL[(record * FIELD_COUNT + field + version * 7) % VALUE_POOL.length] as string;
}

export function recordOf(n: number): Fields {
  const fields: Fields = {};
  for (let f = 0; f < FIELD_COUNT; f++) fields[FIELD_NAMES[f] as string] = fieldValue(n, f);
  return fields;
}

/** One cell's operations, generated before it runs. */
export interface OpSequence {
  readonly kinds: Uint8Array;
  /** Record number each operation targets (a scan's first record). */
  readonly records: Float64Array;
  /** Field an update writes; scan length for scans. */
  readonly args: Uint16Array;
  readonly length: number;
}

/**
 * `count` operations of `workload` over `recordCount` loaded records; inserts take record numbers
 * from `insertBase` on (the peer's next fresh record). `latest` favours the most recently inserted.
 */
export function generate(workload: Workload, recordCount: number, insertBase: number, count: number, seed: number): OpSequence {
  const random = new Random(seed);
  const kinds = new Uint8Array(count);
  const records = new Float64Array(count);
  const args = new Uint16Array(count);
  const scrambled = new ScrambledZipfian(recordCount);
  const latest = new Zipfian(recordCount);
  const cumulative: [OpKind, number][] = [];
  let total = 0;
  for (const kind of OP_KINDS) {
    const share = workload.mix[kind];
    if (share === undefined) continue;
    total += share;
    cumulative.push([kind, total]);
  }
  let inserted = 0;
  for (let i = 0; i < count; i++) {
    const u = random.next() * total;
    const kind = (cumulative.find(([, upTo]) => u < upTo) ?? cumulative[cumulative.length - 1])?.[0] ?? 'read';
    kinds[i] = OP_KINDS.indexOf(kind);
    if (kind === 'insert') {
      records[i] = insertBase + inserted++;
      continue;
    }
    if (workload.distribution === 'latest') {
      // YCSB's SkewedLatestGenerator: the newest record is the most popular, among all records so far.
      const newest = insertBase + inserted - 1;
      records[i] = Math.max(0, newest - latest.next(random));
    } else {
      records[i] = scrambled.next(random);
    }
    if (kind === 'update' || kind === 'rmw') args[i] = random.below(FIELD_COUNT);
    else if (kind === 'scan') args[i] = 1 + random.below(SCAN_LENGTH_MAX);
  }
  return { kinds, records, args, length: count };
}
