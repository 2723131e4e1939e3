/**
 * The kit's seeded pseudo-random generator for everything but the bootstrap, and the helpers
 * built on it: dataset splits, training subsamples, notebook montages, saliency masks and test
 * fixtures draw from `mulberry32`, so a seed means the same sequence everywhere. The bootstrap
 * has its own stream (xoshiro128**, lib/metrics/bootstrap.ts), chosen for its longer period.
 */

/** A seeded generator of uniform numbers in [0, 1). */
export type Rng = () => number;

/**
 * Mulberry32 (Tommy Ettinger, 2017, public domain): a generator of uniform numbers in [0, 1)
 * started from a 32-bit integer seed. 32-bit state, period 2^32; the same seed gives the same
 * sequence on every machine and JavaScript engine. Fast and good enough for splits, masks and
 * permutations; not for cryptography.
 */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fisher-Yates shuffle of `values` in place, driven by `rand`: for i from the last index down
 * to 1, swap item i with item floor(rand() · (i + 1)). Works on arrays and typed arrays.
 */
export function shuffleInPlace<T>(values: { length: number; [i: number]: T }, rand: Rng): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = values[i];
    values[i] = values[j];
    values[j] = t;
  }
}

/** Fisher-Yates shuffle (as `shuffleInPlace`) of a copy of `items` driven by `rand`. */
export function shuffled<T>(items: readonly T[], rand: Rng): T[] {
  const a = items.slice();
  shuffleInPlace(a, rand);
  return a;
}

/** `n` values lo + (hi − lo) · rand(), i.e. uniform in [lo, hi), as a Float32Array. */
export function uniformFloat32(n: number, lo: number, hi: number, rand: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
}
