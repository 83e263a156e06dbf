/**
 * An Elle-style checker for list-append transactions (Kingsbury & Alvaro, "Elle: inferring
 * isolation anomalies from experimental observations"). Each transaction appends unique values to
 * lists and reads lists back; because every read shows a whole prefix of a key's history, the reads
 * reveal the order of versions, and from it the dependencies between transactions:
 * - ww: T1 appended the version of a key right before T2's;
 * - wr: T2 read a list whose last element T1 appended;
 * - rw: T1 read a list and T2 appended the next version (T1 did not see it).
 * A cycle in that graph is an anomaly, classified as Adya does: G0 (only ww), G1c (ww and wr),
 * G-single (exactly one rw: read skew, lost update), G2 (several rw: write skew). Without a cycle,
 * reads can still be wrong: G1a (a value of a failed transaction), G1b (an intermediate value of
 * another transaction), incompatible orders, duplicates, values nobody appended. spacekv's tx are
 * linearizable, so a read must also include every append acknowledged before the read began
 * (`stale-read`).
 */
import type { HistoryOp } from './history.js';

export type MicroOp =
  | readonly ['append', string, number]
  | readonly ['r', string, readonly number[] | null];

/** A transaction as recorded: input = what it meant to do (reads with null), output = what it saw. */
export type Txn = HistoryOp<readonly MicroOp[], readonly MicroOp[]>;

export type AnomalyType =
  | 'G0' | 'G1a' | 'G1b' | 'G1c' | 'G-single' | 'G2'
  | 'incompatible-order' | 'duplicate-elements' | 'garbage-read' | 'stale-read';

export interface Anomaly {
  readonly type: AnomalyType;
  /** History indexes of the transactions involved (for a cycle, in cycle order). */
  readonly txns: readonly number[];
  readonly message: string;
}

export interface ElleVerdict {
  readonly valid: boolean;
  readonly anomalies: readonly Anomaly[];
  /** Transactions and dependency edges considered, for run summaries. */
  readonly txns: number;
  readonly edges: number;
}

type EdgeType = 'ww' | 'wr' | 'rw';

interface Write {
  readonly txn: Txn;
  /** Whether this is the transaction's last append to the key. */
  readonly final: boolean;
}

const REPORTED_PER_TYPE_MAX = 5;

export function checkListAppend(history: readonly Txn[]): ElleVerdict {
  const anomalies: Anomaly[] = [];
  const report = (type: AnomalyType, txns: readonly Txn[], message: string): void => {
    if (anomalies.filter((a) => a.type === type).length < REPORTED_PER_TYPE_MAX) anomalies.push({ type, txns: txns.map((t) => t.index), message });
  };
  const writes = indexWrites(history);
  const committed = history.filter((t) => t.outcome === 'ok');
  checkReads(committed, writes, report);
  const orders = versionOrders(committed, report);
  const graph = dependencyGraph(committed, writes, orders);
  findCycles(graph, report);
  checkRealTime(committed, report);
  return { valid: anomalies.length === 0, anomalies, txns: graph.nodes.size, edges: graph.edgeCount };
}

function appendsOf(txn: Txn): readonly (readonly ['append', string, number])[] {
  return (txn.output ?? txn.input).filter((m): m is readonly ['append', string, number] => m[0] === 'append');
}

function readsOf(txn: Txn): readonly (readonly ['r', string, readonly number[]])[] {
  return (txn.output ?? []).filter((m): m is readonly ['r', string, readonly number[]] => m[0] === 'r' && m[2] !== null);
}

/** Who appended each (key, value); values are unique per key by construction of the workload. */
function indexWrites(history: readonly Txn[]): Map<string, Map<number, Write>> {
  const writes = new Map<string, Map<number, Write>>();
  for (const txn of history) {
    if (txn.outcome === undefined) continue;
    const appends = appendsOf(txn);
    appends.forEach(([, key, value], i) => {
      let byValue = writes.get(key);
      if (!byValue) writes.set(key, (byValue = new Map()));
      if (byValue.has(value)) throw new Error(`value ${value} appended twice to ${key}: the workload must append unique values`);
      const final = !appends.slice(i + 1).some(([, k]) => k === key);
      byValue.set(value, { txn, final });
    });
  }
  return writes;
}

type Report = (type: AnomalyType, txns: readonly Txn[], message: string) => void;

function checkReads(committed: readonly Txn[], writes: Map<string, Map<number, Write>>, report: Report): void {
  for (const txn of committed) {
    for (const [, key, list] of readsOf(txn)) {
      if (new Set(list).size !== list.length) report('duplicate-elements', [txn], `read of ${key} has a value twice: ${JSON.stringify(list)}`);
      for (const value of list) {
        const write = writes.get(key)?.get(value);
        if (!write) report('garbage-read', [txn], `read ${value} in ${key}, which no transaction appended`);
        else if (write.txn.outcome === 'fail') report('G1a', [write.txn, txn], `read ${value} in ${key}, appended by a transaction that failed`);
      }
      const last = list.at(-1);
      const write = last === undefined ? undefined : writes.get(key)?.get(last);
      if (write && write.txn !== txn && !write.final) report('G1b', [write.txn, txn], `read ${key} ending at ${last}, an intermediate append of its transaction`);
    }
  }
}

/** Each key's version order: its longest read; every other read must be a prefix of it. */
function versionOrders(committed: readonly Txn[], report: Report): Map<string, readonly number[]> {
  const orders = new Map<string, readonly number[]>();
  const reads: { readonly txn: Txn; readonly key: string; readonly list: readonly number[] }[] = [];
  for (const txn of committed) for (const [, key, list] of readsOf(txn)) reads.push({ txn, key, list });
  for (const { key, list } of reads) if (list.length > (orders.get(key)?.length ?? -1)) orders.set(key, list);
  for (const { txn, key, list } of reads) {
    const order = orders.get(key)!;
    if (list.some((value, i) => order[i] !== value)) {
      report('incompatible-order', [txn], `read of ${key} ${JSON.stringify(list)} is not a prefix of ${JSON.stringify(order)}`);
    }
  }
  return orders;
}

interface Graph {
  readonly nodes: Map<number, Txn>;
  /** from → to → the dependency types between them. */
  readonly out: Map<number, Map<number, Set<EdgeType>>>;
  edgeCount: number;
}

function dependencyGraph(committed: readonly Txn[], writes: Map<string, Map<number, Write>>, orders: Map<string, readonly number[]>): Graph {
  const graph: Graph = { nodes: new Map(), out: new Map(), edgeCount: 0 };
  const writer = (key: string, value: number | undefined): Txn | undefined => {
    const write = value === undefined ? undefined : writes.get(key)?.get(value);
    return write && write.txn.outcome !== 'fail' ? write.txn : undefined;
  };
  const edge = (from: Txn | undefined, to: Txn | undefined, type: EdgeType): void => {
    if (!from || !to || from === to) return;
    graph.nodes.set(from.index, from);
    graph.nodes.set(to.index, to);
    let targets = graph.out.get(from.index);
    if (!targets) graph.out.set(from.index, (targets = new Map()));
    let types = targets.get(to.index);
    if (!types) targets.set(to.index, (types = new Set()));
    if (!types.has(type)) graph.edgeCount++;
    types.add(type);
  };
  for (const [key, order] of orders) for (let i = 1; i < order.length; i++) edge(writer(key, order[i - 1]), writer(key, order[i]), 'ww');
  for (const txn of committed) {
    graph.nodes.set(txn.index, txn);
    for (const [, key, list] of readsOf(txn)) {
      // What the transaction saw of others: its own appends, at the end of its read, are not a dependency.
      let seen = list.length;
      while (seen > 0 && writer(key, list[seen - 1]) === txn) seen--;
      edge(writer(key, list[seen - 1]), txn, 'wr');
      const order = orders.get(key) ?? [];
      if (list.every((value, i) => order[i] === value)) edge(txn, writer(key, order[seen]), 'rw');
    }
  }
  return graph;
}

/** Find and classify the cycles: the most specific class each strongly connected component holds. */
function findCycles(graph: Graph, report: Report): void {
  for (const component of stronglyConnected(graph)) {
    if (component.size < 2) continue;
    const g0 = cycleThrough(graph, component, ['ww']);
    if (g0) {
      report('G0', g0.map((i) => graph.nodes.get(i)!), `write cycle: ${describe(graph, g0)}`);
      continue;
    }
    const g1c = cycleThrough(graph, component, ['ww', 'wr']);
    if (g1c) {
      report('G1c', g1c.map((i) => graph.nodes.get(i)!), `circular information flow: ${describe(graph, g1c)}`);
      continue;
    }
    let single: number[] | undefined;
    for (const [from, targets] of graph.out) {
      if (!component.has(from) || single) continue;
      for (const [to, types] of targets) {
        if (!component.has(to) || !types.has('rw')) continue;
        const back = path(graph, component, to, from, ['ww', 'wr']);
        if (back) {
          single = [from, ...back.slice(0, -1)];
          break;
        }
      }
    }
    if (single) {
      report('G-single', single.map((i) => graph.nodes.get(i)!), `one anti-dependency in a cycle (read skew, lost update): ${describe(graph, single)}`);
      continue;
    }
    const g2 = cycleThrough(graph, component, ['ww', 'wr', 'rw'])!;
    report('G2', g2.map((i) => graph.nodes.get(i)!), `anti-dependency cycle (write skew): ${describe(graph, g2)}`);
  }
}

/** A cycle inside `component` using only edges with one of `types`, or undefined. */
function cycleThrough(graph: Graph, component: ReadonlySet<number>, types: readonly EdgeType[]): number[] | undefined {
  for (const start of component) {
    for (const [to, edgeTypes] of graph.out.get(start) ?? []) {
      if (!component.has(to) || ![...edgeTypes].some((t) => types.includes(t))) continue;
      const back = path(graph, component, to, start, types);
      if (back) return [start, ...back.slice(0, -1)];
    }
  }
  return undefined;
}

/** Breadth-first path from `from` to `to` (both included) over edges of `types` inside `component`. */
function path(graph: Graph, component: ReadonlySet<number>, from: number, to: number, types: readonly EdgeType[]): number[] | undefined {
  const parent = new Map<number, number>([[from, from]]);
  const queue = [from];
  while (queue.length > 0) {
    const node = queue.shift()!;
    if (node === to) {
      const out = [to];
      for (let at = to; at !== from; ) out.unshift((at = parent.get(at)!));
      return out;
    }
    for (const [next, edgeTypes] of graph.out.get(node) ?? []) {
      if (parent.has(next) || !component.has(next) || ![...edgeTypes].some((t) => types.includes(t))) continue;
      parent.set(next, node);
      queue.push(next);
    }
  }
  return undefined;
}

function describe(graph: Graph, cycle: readonly number[]): string {
  return cycle.map((from, i) => {
    const to = cycle[(i + 1) % cycle.length]!;
    return `T${from} -${[...graph.out.get(from)!.get(to)!].join('/')}-> `;
  }).join('') + `T${cycle[0]}`;
}

/** Tarjan's strongly connected components, iterative (histories have thousands of transactions). */
function stronglyConnected(graph: Graph): Set<number>[] {
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const onStack = new Set<number>();
  const stack: number[] = [];
  const components: Set<number>[] = [];
  let counter = 0;
  for (const root of graph.nodes.keys()) {
    if (index.has(root)) continue;
    const work: { node: number; targets: Iterator<number> }[] = [];
    const enter = (node: number): void => {
      index.set(node, counter);
      low.set(node, counter++);
      stack.push(node);
      onStack.add(node);
      work.push({ node, targets: (graph.out.get(node) ?? new Map()).keys() });
    };
    enter(root);
    while (work.length > 0) {
      const frame = work.at(-1)!;
      const next = frame.targets.next();
      if (!next.done) {
        const to = next.value;
        if (!index.has(to)) enter(to);
        else if (onStack.has(to)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        continue;
      }
      work.pop();
      const parent = work.at(-1);
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component = new Set<number>();
        let member: number;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.add(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}

/** A read that began after an append was acknowledged must include it (tx are linearizable). */
function checkRealTime(committed: readonly Txn[], report: Report): void {
  const appends = committed.flatMap((txn) => appendsOf(txn).map(([, key, value]) => ({ txn, key, value })));
  for (const reader of committed) {
    for (const [, key, list] of readsOf(reader)) {
      const missed = appends.find((a) => a.key === key && a.txn !== reader && a.txn.completedAt! < reader.invokedAt && !list.includes(a.value));
      if (missed) report('stale-read', [missed.txn, reader], `read of ${key} began after the append of ${missed.value} was acknowledged, and misses it`);
    }
  }
}
