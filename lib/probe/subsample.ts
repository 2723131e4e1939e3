/**
 * Seeded, stratified subsampling of a training part (to bound embedding-extraction cost), drawn
 * from the kit's Mulberry32 generator (lib/random.ts).
 */
import { mulberry32 } from "../random.ts";

/** The seeded generator, from lib/random.ts (re-exported: lib/probe/mod.ts exports it). */
export { mulberry32 };

/**
 * Indices of a seeded stratified subsample of `max` items: each class keeps round(max * count_c
 * / n) items (largest-remainder rounding, so the quotas sum to `max`; a class that would get none
 * keeps one, which can add a few items when classes are tiny), chosen by a seeded Fisher-Yates
 * shuffle within the class. Returns all indices when n <= max; the result is sorted ascending
 * (source order kept).
 */
export function stratifiedSubsample(
  labels: readonly string[],
  max: number,
  seed: number,
): number[] {
  const n = labels.length;
  if (!(Number.isInteger(max) && max > 0)) {
    throw new RangeError(`max must be a positive integer, got ${max}`);
  }
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const byClass = new Map<string, number[]>();
  labels.forEach((l, i) => {
    const list = byClass.get(l);
    if (list) list.push(i);
    else byClass.set(l, [i]);
  });
  const classes = [...byClass.keys()].sort();
  const exact = classes.map((c) => (max * byClass.get(c)!.length) / n);
  const quota = exact.map((q) => Math.max(1, Math.floor(q)));
  let left = max - quota.reduce((a, b) => a + b, 0);
  const order = classes.map((_, i) => i).sort((a, b) =>
    (exact[b] - Math.floor(exact[b])) - (exact[a] - Math.floor(exact[a])) || a - b
  );
  for (let r = 0; left > 0 && r < order.length; r++, left--) quota[order[r]]++;
  const rand = mulberry32(seed);
  const chosen: number[] = [];
  classes.forEach((c, ci) => {
    const idx = byClass.get(c)!.slice();
    const take = Math.min(quota[ci], idx.length);
    for (let i = 0; i < take; i++) {
      const j = i + Math.floor(rand() * (idx.length - i));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    chosen.push(...idx.slice(0, take));
  });
  return chosen.sort((a, b) => a - b);
}
