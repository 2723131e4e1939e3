/**
 * Seeded pseudo-random numbers for the saliency methods (RISE masks, weight shuffling).
 * Mulberry32 (Tommy Ettinger, public domain): 32-bit state, period 2^32, fast and good enough
 * for masks and permutations; not for cryptography.
 */

/** A seeded generator of uniform numbers in [0, 1). */
export type Rng = () => number;

/** A Mulberry32 generator started from a 32-bit integer seed. */
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
 * A 32-bit seed derived from a base seed and a stream index (SplitMix32-style mixing),
 * so stream i of seed s is the same whatever order the streams are drawn in.
 */
export function streamSeed(seed: number, index: number): number {
  let z = ((seed >>> 0) + Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** A standard normal draw (Box-Muller) from a uniform generator. */
export function normal(rng: Rng): number {
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Fisher-Yates shuffle of a typed array in place. */
export function shuffleInPlace(values: Float32Array | Float64Array, rng: Rng): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = values[i];
    values[i] = values[j];
    values[j] = t;
  }
}
