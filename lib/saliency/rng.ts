/**
 * Seeded pseudo-random numbers for the saliency methods (RISE masks, weight shuffling): the
 * kit's Mulberry32 generator (lib/random.ts), per-stream seeds and normal draws.
 */
import { mulberry32, type Rng, shuffleInPlace } from "../random.ts";

/** The kit's seeded generator (Mulberry32) and typed-array shuffle, from lib/random.ts. */
export { mulberry32, type Rng, shuffleInPlace };

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
