/**
 * Seeded, replayable randomness for the reliability runs: every run draws from one seed, printed
 * when it fails; `SPACEKV_SEED=<n>` replays it. A run of many rounds derives each round's seed
 * from the run's, so one number replays everything.
 */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

/** mulberry32: small, fast, and good enough to schedule tests. */
export function rngOf(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (items) => items[Math.floor(next() * items.length)] as (typeof items)[number],
    chance: (p) => next() < p,
  };
}

/** The run's seed: SPACEKV_SEED when set, else a fresh one. */
export function runSeed(): number {
  const fixed = process.env.SPACEKV_SEED;
  if (fixed !== undefined && fixed !== '') {
    const seed = Number(fixed);
    if (!Number.isSafeInteger(seed)) throw new Error(`SPACEKV_SEED must be an integer, got '${fixed}'`);
    return seed;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

/** The seed of round `round` of a run seeded `seed`. */
export function roundSeed(seed: number, round: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 31) + round * 0x85ebca6b) >>> 0;
}

/** Whether this is the long run (`npm run test:jepsen`), which takes the targets. */
export const LONG_RUN = process.env.SPACEKV_JEPSEN === 'long';

/** The short-run or the long-run value of a size. */
export function scaled(short: number, long: number): number {
  return LONG_RUN ? long : short;
}
