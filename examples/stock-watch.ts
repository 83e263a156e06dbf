/**
 * Reacting to changes instead of polling: a warehouse service watches the `stock` space for items
 * running low while a shop service sells them, two clients (two connections) on one spacekv
 * server. The watch is filtered on the server (`count < 3`) and resumes from the seq it stopped at,
 * so a watcher that goes away and comes back misses nothing.
 *
 *     node examples/dist/stock-watch.js [url]
 */
import { type ChangeEvent, connect } from '@spacekv/client';
import { dropSpace, numberOf, runIfMain, serverUrl } from './common.js';

export const SPACE = 'stock';
const ITEMS = ['apples', 'pears', 'plums'] as const;

export interface StockSummary {
  /** Low-stock alerts seen while watching, as `item: count`, in the order they happened. */
  readonly alerts: readonly string[];
  /** Alerts seen after the warehouse came back, resuming from its last seq: the ones it was away for. */
  readonly resumedAlerts: readonly string[];
  /** Every seq the warehouse saw, both sessions together: strictly increasing, none repeated. */
  readonly seqs: readonly number[];
}

/** Take `n` events from a watch. */
async function take(watch: AsyncIterator<ChangeEvent>, n: number): Promise<ChangeEvent[]> {
  const events: ChangeEvent[] = [];
  while (events.length < n) {
    const next = await watch.next();
    if (next.done) break;
    events.push(next.value);
  }
  return events;
}

function alert(event: ChangeEvent): string {
  const attributes = event.attributes as { readonly count?: unknown };
  return `${String(event.key)}: ${numberOf(attributes.count, 'count')}`;
}

export async function main(url = serverUrl(), out: { log(line: string): void } = console): Promise<StockSummary> {
  const shop = await connect(url);
  const warehouse = await connect(url);
  try {
    await dropSpace(shop, SPACE);
    await shop.addSpace(`space ${SPACE} key item attributes int count`);
    let stocked = 0;
    for (const item of ITEMS) stocked = (await shop.put(SPACE, item, { count: 5 })).version;

    // The warehouse watches for low stock from the moment the shelves were stocked (`since`: not
    // "from now", which would race the first sales); the server filters: only items under 3 come.
    const low = warehouse.watch({ space: SPACE, filter: { count: { lt: 3 } }, ops: ['mutate'], since: stocked });
    const sell = (item: string) => shop.mutate(SPACE, item, [{ sub: { count: 1 } }]);
    await Promise.all([sell('apples'), sell('apples'), sell('apples'), sell('pears'), sell('apples')]); // apples 5 → 1
    const first = await take(low, 2);
    const alerts = first.map(alert);
    for (const line of alerts) out.log(`warehouse: low stock, ${line}`);

    // The warehouse goes away; sales go on; it comes back and resumes after the last seq it saw.
    const lastSeen = low.seq;
    await low.return();
    await Promise.all([sell('plums'), sell('plums'), sell('plums'), sell('pears'), sell('pears')]); // plums 5 → 2, pears 4 → 2
    const resumed = warehouse.watch({ space: SPACE, filter: { count: { lt: 3 } }, ops: ['mutate'], since: lastSeen });
    const later = await take(resumed, 2);
    await resumed.return();
    const resumedAlerts = later.map(alert);
    for (const line of resumedAlerts) out.log(`warehouse (resumed after seq ${lastSeen}): low stock, ${line}`);
    await shop.rmSpace(SPACE); // leave the server as we found it
    return { alerts, resumedAlerts, seqs: [...first, ...later].map((e) => e.seq) };
  } finally {
    await warehouse.close();
    await shop.close();
  }
}

runIfMain(import.meta.url, () => main());
