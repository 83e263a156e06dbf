/**
 * wrpme's conflict rules, narrated with two clients A and B (two connections) on one spacekv server.
 *
 *   wrpme          spacekv
 *   put            putIfNotExist   fails with ExistsError if the entry exists
 *   update         put             always succeeds; the last write wins
 *   get_update     getAndPut       writes, answering with the previous value
 *   compare_and_swap compareAndSwap writes only at the given version; CmpFailError carries the current one
 *
 *     node examples/dist/wrpme-conflicts.js [url]
 */
import { CmpFailError, ExistsError, connect } from '@spacekv/client';
import { dropSpace, numberOf, objectOf, runIfMain, serverUrl, stringOf } from './common.js';

export const SPACE = 'wrpme';
export const WRPME_DSL = `
space wrpme
key entry
attributes
   string value,
   float price
`;

export type Who = 'A' | 'B';

export interface Step {
  readonly n: number;
  readonly who: Who;
  readonly action: string;
  readonly outcome: string;
}

export interface ConflictsSummary {
  readonly url: string;
  /** Every step as narrated, in order. */
  readonly steps: readonly Step[];
  readonly putIfNotExist: {
    /** A's putIfNotExist created "car". */
    readonly created: boolean;
    /** B's putIfNotExist on "car": the error's class and code. */
    readonly errorClass: string;
    readonly errorCode: string;
    /** The version the exists error carried, if any. */
    readonly errorVersion: number | undefined;
    /** A's read afterwards: still 'roadster', at the version A created it with. */
    readonly value: string;
    readonly unchangedVersion: boolean;
  };
  readonly lastWins: {
    readonly aWrote: number;
    readonly bWrote: number;
    /** Both puts succeeded (neither rejected). */
    readonly bothSucceeded: boolean;
    /** What A read afterwards: B's 504.5. */
    readonly aRead: number;
  };
  readonly getAndPut: {
    /** A's getAndPut(stock3, 505): the previous price, 504.5. */
    readonly previous: number | null;
    readonly now: number;
    /** getAndPut on an absent entry: previous is null. */
    readonly previousOfAbsent: null | number;
    /**
     * A and B getAndPut stock3 at the same time: each previous value is a different one of
     * {505, A's value, B's value}, so the two writes were serialized, neither lost.
     */
    readonly concurrentPrevious: readonly number[];
    readonly concurrentChained: boolean;
  };
  readonly compareAndSwap: {
    /** The version A read "car" at. */
    readonly readVersion: number;
    /** B's swap at that version succeeded, giving this version. */
    readonly bVersion: number;
    /** A's swap at the stale version: the error's class, code and the version it carried. */
    readonly staleErrorClass: string;
    readonly staleErrorCode: string;
    readonly staleErrorVersion: number | undefined;
    /** The value A's failed swap left: B's. */
    readonly valueAfterStale: string;
    /** A's retry at the current version succeeded, giving this version. */
    readonly retryVersion: number;
    readonly finalValue: string;
  };
}

export async function main(url: string, options: { readonly log?: (line: string) => void } = {}): Promise<ConflictsSummary> {
  const log = options.log ?? ((line: string) => console.log(line));
  const A = await connect(url);
  const B = await connect(url);
  const steps: Step[] = [];
  const step = (who: Who, action: string, outcome: string): void => {
    const entry = { n: steps.length + 1, who, action, outcome };
    steps.push(entry);
    log(`${String(entry.n).padStart(2)}. Client ${who} ${action}: ${outcome}`);
  };
  try {
    await dropSpace(A, SPACE);
    await A.addSpace(WRPME_DSL);

    // ---- put fails if the entry exists (spacekv: putIfNotExist) -----------------------------------
    log('put (putIfNotExist) fails if the entry already exists:');
    const created = await A.putIfNotExist(SPACE, 'car', { value: 'roadster' });
    step('A', `puts "car" = "roadster"`, `created at version ${created.version}`);
    let existsError: ExistsError | undefined;
    try {
      await B.putIfNotExist(SPACE, 'car', { value: 'sedan' });
      step('B', `puts "car" = "sedan"`, 'succeeded (unexpected)');
    } catch (error) {
      if (!(error instanceof ExistsError)) throw error;
      existsError = error;
      step('B', `puts "car" = "sedan"`, `fails: ${error.name} (${error.code}), current version ${String(error.details.version)}`);
    }
    const carAfterPut = objectOf(await A.get(SPACE, 'car'), 'car');
    const carValue = stringOf(carAfterPut.attributes['value'], 'car');
    // (wrpme's page says A then reads "sedan": a slip, since B's put failed. A reads its own value.)
    step('A', `gets "car"`, `"${carValue}" at version ${carAfterPut.version}, unchanged`);

    // ---- update always succeeds, the last one wins (spacekv: put) --------------------------------
    log('update (put) always succeeds; the last write wins:');
    const aPut = await A.put(SPACE, 'stock3', { price: 503.5 });
    step('A', `updates "stock3" to 503.5`, `ok (created: ${aPut.created})`);
    const bPut = await B.put(SPACE, 'stock3', { price: 504.5 });
    step('B', `updates "stock3" to 504.5`, `ok (created: ${bPut.created})`);
    const aRead = numberOf(objectOf(await A.get(SPACE, 'stock3'), 'stock3').attributes['price'], 'stock3 price');
    step('A', `gets "stock3"`, `the newest value ${aRead}`);

    // ---- get_update: write and get the previous value in one atomic step (spacekv: getAndPut) ----
    log('get_update (getAndPut) returns the previous value:');
    const swapped = await A.getAndPut(SPACE, 'stock3', { price: 505 });
    const previous = swapped.previous === null ? null : numberOf(swapped.previous.attributes['price'], 'previous price');
    step('A', `get_updates "stock3" to 505`, `previous ${String(previous)}`);
    const fresh = await B.getAndPut(SPACE, 'stock4', { price: 12.25 });
    const previousOfAbsent = fresh.previous === null ? null : numberOf(fresh.previous.attributes['price'], 'stock4 price');
    step('B', `get_updates absent "stock4" to 12.25`, `previous ${String(previousOfAbsent)} (it did not exist)`);
    // Both at once: the server serializes them, so each sees a distinct previous value.
    const [fromA, fromB] = await Promise.all([
      A.getAndPut(SPACE, 'stock3', { price: 506 }),
      B.getAndPut(SPACE, 'stock3', { price: 507 }),
    ]);
    const concurrentPrevious = [fromA, fromB].map((w) => (w.previous === null ? Number.NaN : numberOf(w.previous.attributes['price'], 'previous price')));
    const [pa, pb] = concurrentPrevious;
    const concurrentChained = (pa === 505 && pb === 506) || (pb === 505 && pa === 507);
    step('A', `get_updates "stock3" to 506 while B get_updates it to 507`, `A saw ${String(pa)}, B saw ${String(pb)}: ${concurrentChained ? 'one after the other, nothing lost' : 'NOT serialized'}`);

    // ---- compare_and_swap on versions (spacekv: compareAndSwap) ----------------------------------
    log('compare_and_swap (compareAndSwap) succeeds only at the current version:');
    const seen = objectOf(await A.get(SPACE, 'car'), 'car');
    step('A', `gets "car"`, `"${stringOf(seen.attributes['value'], 'car')}" at version ${seen.version}`);
    const bSwap = await B.compareAndSwap(SPACE, 'car', seen.version, { value: 'sedan' });
    step('B', `compare_and_swaps "car" at version ${seen.version} to "sedan"`, `ok, now version ${bSwap.version}`);
    let staleError: CmpFailError | undefined;
    try {
      await A.compareAndSwap(SPACE, 'car', seen.version, { value: 'coupe' });
      step('A', `compare_and_swaps "car" at version ${seen.version} to "coupe"`, 'succeeded (unexpected)');
    } catch (error) {
      if (!(error instanceof CmpFailError)) throw error;
      staleError = error;
      step('A', `compare_and_swaps "car" at version ${seen.version} to "coupe"`, `fails: ${error.name} (${error.code}), current version ${String(error.details.version)}`);
    }
    const afterStale = objectOf(await A.get(SPACE, 'car'), 'car');
    const valueAfterStale = stringOf(afterStale.attributes['value'], 'car');
    step('A', `gets "car"`, `"${valueAfterStale}" (B's), version ${afterStale.version}`);
    const retryAt = staleError?.details.version ?? afterStale.version;
    const retry = await A.compareAndSwap(SPACE, 'car', retryAt, { value: 'coupe' });
    step('A', `compare_and_swaps "car" at version ${retryAt} to "coupe"`, `ok, now version ${retry.version}`);
    const finalValue = stringOf(objectOf(await B.get(SPACE, 'car'), 'car').attributes['value'], 'car');
    step('B', `gets "car"`, `"${finalValue}"`);

    log('Rule of thumb: do not mix put (putIfNotExist) and update (put) calls on the same entry.');
    await A.rmSpace(SPACE);
    return {
      url,
      steps,
      putIfNotExist: {
        created: created.created,
        errorClass: existsError?.name ?? 'none',
        errorCode: existsError?.code ?? 'none',
        errorVersion: existsError?.details.version,
        value: carValue,
        unchangedVersion: carAfterPut.version === created.version,
      },
      lastWins: { aWrote: 503.5, bWrote: 504.5, bothSucceeded: true, aRead },
      getAndPut: { previous, now: 505, previousOfAbsent, concurrentPrevious, concurrentChained },
      compareAndSwap: {
        readVersion: seen.version,
        bVersion: bSwap.version,
        staleErrorClass: staleError?.name ?? 'none',
        staleErrorCode: staleError?.code ?? 'none',
        staleErrorVersion: staleError?.details.version,
        valueAfterStale,
        retryVersion: retry.version,
        finalValue,
      },
    };
  } finally {
    await Promise.all([A.close(), B.close()]);
  }
}

runIfMain(import.meta.url, async () => {
  await main(serverUrl());
});
