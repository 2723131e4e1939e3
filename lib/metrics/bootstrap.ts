/**
 * Seeded bootstrap: the random stream, resample indices, percentile intervals (numpy's default
 * linear interpolation) and a fast engine that draws per-resample counts of item strata.
 *
 * Random stream: xoshiro128** (Blackman & Vigna 2018) whose four state words come from the seed
 * (an integer in 0..2^32-1) through four SplitMix32 steps (Weyl increment 0x9e3779b9, then
 * murmur3's fmix32 finaliser). An index in 0..n-1 is drawn with Lemire's (2019) multiply-shift and
 * rejection, so it is exactly uniform. Resample b takes the next n draws of the stream (b = 0, 1,
 * ...): the same seed gives the same resamples on every machine.
 */

const TWO32 = 4294967296;
const INV_TWO32 = 2.3283064365386963e-10;

/** Options shared by bootstrap functions. */
export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  resamples?: number;
  /** Seed, an integer in 0..2^32-1 (default 0). */
  seed?: number;
  /** Confidence level of the interval (default 0.95). */
  level?: number;
}

/** A percentile bootstrap interval around a point estimate. */
export interface BootstrapInterval {
  /** The statistic on the full sample. */
  estimate: number;
  /** Lower and upper percentile bounds (numpy.percentile, linear), NaN if every resample was. */
  lower: number;
  upper: number;
  level: number;
  resamples: number;
  seed: number;
  /** Resamples on which the statistic was undefined (NaN); they are left out of the percentiles. */
  undefinedResamples: number;
}

function checkSeed(seed: number): number {
  if (!Number.isInteger(seed) || seed < 0 || seed >= TWO32) {
    throw new Error(`bootstrap: seed ${seed} is not an integer in 0..2^32-1`);
  }
  return seed;
}

/** Resolved bootstrap options; throws for a bad count, seed or level. */
export function bootstrapSettings(
  opts: BootstrapOptions,
): { resamples: number; seed: number; level: number } {
  const resamples = opts.resamples ?? 1000;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new Error(`bootstrap: resamples = ${resamples} is not a positive integer`);
  }
  const level = opts.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new Error(`bootstrap: level ${level} is not in (0, 1)`);
  return { resamples, seed: checkSeed(opts.seed ?? 0), level };
}

/** The four xoshiro128** state words (signed 32-bit) for `seed`, via SplitMix32. */
export function seedState(seed: number): Int32Array {
  let x = checkSeed(seed) >>> 0;
  const s = new Int32Array(4);
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    s[i] = z ^ (z >>> 16);
  }
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  return s;
}

/** xoshiro128**: a small, fast 32-bit generator with 2^128 − 1 period. */
export class Xoshiro128 {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  /** A generator seeded from `seed` (0..2^32-1), or from four explicit state words. */
  constructor(seed: number | ArrayLike<number>) {
    const s = typeof seed === "number" ? seedState(seed) : Int32Array.from(seed);
    if ((s[0] | s[1] | s[2] | s[3]) === 0) {
      throw new Error("xoshiro128**: the state must not be all zero");
    }
    this.#s0 = s[0] | 0;
    this.#s1 = s[1] | 0;
    this.#s2 = s[2] | 0;
    this.#s3 = s[3] | 0;
  }

  /** The next 32-bit output, as an unsigned integer. */
  nextUint32(): number {
    const r = Math.imul(this.#s1, 5);
    const result = Math.imul((r << 7) | (r >>> 25), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = (this.#s3 << 11) | (this.#s3 >>> 21);
    return result;
  }

  /** An exactly uniform integer in 0..n-1 (Lemire's multiply-shift with rejection), n in 1..2^31-1. */
  nextIndex(n: number): number {
    const threshold = (TWO32 - n) % n;
    for (;;) {
      const x = this.nextUint32();
      if (n <= 2097152) {
        const m = x * n; // < 2^53: exact
        const hi = Math.floor(m * INV_TWO32);
        if (m - hi * TWO32 >= threshold) return hi;
      } else {
        // x·n split at 2^16 so every product stays exact (see mulHiLo)
        const xh = Math.floor(x / 65536);
        const b = (x - xh * 65536) * n;
        const bHi = Math.floor(b / 65536);
        const c = xh * n + bHi;
        const hi = Math.floor(c / 65536);
        if ((c - hi * 65536) * 65536 + (b - bHi * 65536) >= threshold) return hi;
      }
    }
  }
}

/** High and low 32-bit halves of x·n (x < 2^32, n < 2^32), computed exactly in doubles. */
export function mulHiLo(x: number, n: number): [number, number] {
  const xh = Math.floor(x / 65536);
  const xl = x - xh * 65536;
  const b = xl * n;
  const bHi = Math.floor(b / 65536);
  const bLo = b - bHi * 65536;
  const c = xh * n + bHi;
  const cHi = Math.floor(c / 65536);
  return [cHi, (c - cHi * 65536) * 65536 + bLo];
}

function checkCount(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 0x7fffffff) {
    throw new Error(`bootstrap: ${n} items; need an integer in 1..2^31-1`);
  }
  return n;
}

/**
 * The stream of bootstrap resamples of n items: each `next()` fills n indices drawn uniformly
 * with replacement (resample 0, 1, ... of the seed).
 */
export class ResampleStream {
  readonly n: number;
  #rng: Xoshiro128;

  constructor(n: number, seed: number) {
    this.n = checkCount(n);
    this.#rng = new Xoshiro128(seed);
  }

  /** The next resample's indices, written into `out` (allocated when absent) and returned. */
  next(out: Int32Array = new Int32Array(this.n)): Int32Array {
    if (out.length !== this.n) {
      throw new Error(`resample buffer holds ${out.length}, need ${this.n}`);
    }
    for (let i = 0; i < this.n; i++) out[i] = this.#rng.nextIndex(this.n);
    return out;
  }
}

/**
 * Quantile `q` (0..1) of ascending `sorted` values by numpy's default "linear" method:
 * virtual index (m−1)q, then numpy's two-sided lerp between its neighbours.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const m = sorted.length;
  if (m === 0) return NaN;
  const v = (m - 1) * q;
  if (v >= m - 1) return sorted[m - 1];
  if (v < 0) return sorted[0];
  const prev = Math.floor(v);
  const a = sorted[prev];
  const b = sorted[prev + 1];
  const t = v - prev;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * Percentile interval of bootstrap values at `level`: numpy.nanquantile(values, [(1−level)/2,
 * 1 − (1−level)/2]) (NaN values left out). Returns [lower, upper, NaN count].
 */
export function percentileInterval(
  values: ArrayLike<number>,
  level = 0.95,
): [number, number, number] {
  const kept: number[] = [];
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) kept.push(values[i]);
  const sorted = Float64Array.from(kept).sort();
  const alpha = (1 - level) / 2;
  return [
    quantileSorted(sorted, alpha),
    quantileSorted(sorted, 1 - alpha),
    values.length - kept.length,
  ];
}

/**
 * The statistic on every resample of n items: `statistic(indices)` receives resample b's indices
 * (a reused buffer: copy it to keep it) and returns a number (NaN when undefined there).
 */
export function bootstrapValues(
  n: number,
  statistic: (indices: Int32Array) => number,
  opts: BootstrapOptions = {},
): Float64Array {
  const { resamples, seed } = bootstrapSettings(opts);
  const stream = new ResampleStream(n, seed);
  const buf = new Int32Array(n);
  const out = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) out[b] = statistic(stream.next(buf));
  return out;
}

/**
 * Percentile bootstrap interval of any statistic of n items (Efron & Tibshirani 1993, ch. 13):
 * the estimate is `statistic(0..n-1)`, the bounds are percentiles of the resampled values.
 */
export function bootstrapInterval(
  n: number,
  statistic: (indices: Int32Array) => number,
  opts: BootstrapOptions = {},
): BootstrapInterval {
  const settings = bootstrapSettings(opts);
  const identity = Int32Array.from({ length: checkCount(n) }, (_, i) => i);
  const estimate = statistic(identity);
  const values = bootstrapValues(n, statistic, settings);
  const [lower, upper, undef] = percentileInterval(values, settings.level);
  return { estimate, lower, upper, ...settings, undefinedResamples: undef };
}

/** Interval from precomputed resample values and an estimate. */
export function intervalFromValues(
  estimate: number,
  values: ArrayLike<number>,
  settings: { resamples: number; seed: number; level: number },
): BootstrapInterval {
  const [lower, upper, undef] = percentileInterval(values, settings.level);
  return { estimate, lower, upper, ...settings, undefinedResamples: undef };
}

/**
 * Stable order of items by stratum key: the permutation that sorts `keys` ascending, ties kept in
 * item order (numpy `argsort(keys, kind="stable")`).
 */
export function stableKeyOrder(keys: ArrayLike<number>, numKeys: number): Int32Array {
  const start = new Int32Array(numKeys + 1);
  for (let i = 0; i < keys.length; i++) start[keys[i] + 1]++;
  for (let k = 0; k < numKeys; k++) start[k + 1] += start[k];
  const order = new Int32Array(keys.length);
  for (let i = 0; i < keys.length; i++) order[start[keys[i]]++] = i;
  return order;
}

/**
 * Fast bootstrap over item strata. Items are put in stableKeyOrder; resample b draws n positions
 * in that order from the seed's stream (the same positions ResampleStream gives) and `visit`
 * receives, per key, how many drawn items have it (`counts`) and, when `values` is given, the sum
 * of their values (`sums`). Buffers are reused between calls. Any statistic of per-key counts
 * (confusion matrices) needs only this; the resample distribution is that of the plain bootstrap.
 *
 * Speed: without values a draw costs one generator step and a look-up in a small block table
 * (the key of each run of 2^s sorted positions). With values, draws only count each position's
 * multiplicity (a byte array) and one sequential pass per resample sums counts and values per key,
 * which avoids a random read of the values on every draw.
 */
export function bootstrapStrata(
  keys: ArrayLike<number>,
  numKeys: number,
  opts: { resamples: number; seed: number; values?: ArrayLike<number> },
  visit: (counts: Float64Array, sums: Float64Array, b: number) => void,
): void {
  const n = checkCount(keys.length);
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    if (!Number.isInteger(k) || k < 0 || k >= numKeys) {
      throw new Error(`bootstrap: key ${k} of item ${i} out of range`);
    }
  }
  const order = stableKeyOrder(keys, numKeys);
  const sortedKeys = new Int32Array(n);
  for (let i = 0; i < n; i++) sortedKeys[i] = keys[order[i]];
  const start = new Int32Array(numKeys + 1);
  for (let i = 0; i < n; i++) start[sortedKeys[i] + 1]++;
  for (let k = 0; k < numKeys; k++) start[k + 1] += start[k];
  const values = opts.values;
  const hasValues = values !== undefined;
  const sortedValues = new Float64Array(hasValues ? n : 0);
  if (hasValues) { for (let i = 0; i < n; i++) sortedValues[i] = values[order[i]]; }
  // Block table: the key of every block of 2^shift sorted positions, or -1 when it holds several.
  let shift = 0;
  while ((n >>> shift) > 16384) shift++;
  const blocks = (n >>> shift) + 1;
  const table = new Int32Array(blocks);
  for (let blk = 0; blk < blocks; blk++) {
    const first = blk << shift;
    const last = Math.min(n, (blk + 1) << shift) - 1;
    table[blk] = first < n && sortedKeys[first] === sortedKeys[last] ? sortedKeys[first] : -1;
  }
  const counts = new Float64Array(numKeys);
  const sums = new Float64Array(numKeys);
  const intCounts = new Int32Array(numKeys);
  // Multiplicity of each sorted position in the current resample (values mode). A byte wraps
  // past 255; `overflow` keeps the lost multiples of 256 (practically never used).
  const mult = new Uint8Array(hasValues ? n : 0);
  const overflow = new Map<number, number>();
  const threshold = (TWO32 - n) % n;
  const small = n <= 2097152; // x·n < 2^53: exact in one multiplication
  const state = seedState(opts.seed);
  let s0 = state[0], s1 = state[1], s2 = state[2], s3 = state[3];
  for (let b = 0; b < opts.resamples; b++) {
    // Three copies of the draw loop (hot paths kept free of branches): xoshiro128** step, then
    // Lemire's multiply-shift; a rejected draw (low word < threshold) is simply redrawn.
    if (small && !hasValues) {
      intCounts.fill(0);
      let i = 0;
      while (i < n) {
        const r = Math.imul(s1, 5);
        const x = Math.imul((r << 7) | (r >>> 25), 9) >>> 0;
        const t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        const m = x * n;
        const j = (m * INV_TWO32) >>> 0;
        if (m - j * TWO32 < threshold) continue;
        let key = table[j >>> shift];
        if (key < 0) key = sortedKeys[j];
        intCounts[key]++;
        i++;
      }
      for (let k = 0; k < numKeys; k++) counts[k] = intCounts[k];
    } else if (small) {
      let i = 0;
      while (i < n) {
        const r = Math.imul(s1, 5);
        const x = Math.imul((r << 7) | (r >>> 25), 9) >>> 0;
        const t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        const m = x * n;
        const j = (m * INV_TWO32) >>> 0;
        if (m - j * TWO32 < threshold) continue;
        if (++mult[j] === 0) overflow.set(j, (overflow.get(j) ?? 0) + 256);
        i++;
      }
    } else {
      if (!hasValues) counts.fill(0);
      let i = 0;
      while (i < n) {
        const r = Math.imul(s1, 5);
        const x = Math.imul((r << 7) | (r >>> 25), 9) >>> 0;
        const t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        // x·n split at 2^16 so every product stays exact (see mulHiLo)
        const xh = Math.floor(x / 65536);
        const bb = (x - xh * 65536) * n;
        const bHi = Math.floor(bb / 65536);
        const c = xh * n + bHi;
        const j = Math.floor(c / 65536);
        if ((c - j * 65536) * 65536 + (bb - bHi * 65536) < threshold) continue;
        if (hasValues) {
          if (++mult[j] === 0) overflow.set(j, (overflow.get(j) ?? 0) + 256);
        } else {
          let key = table[j >>> shift];
          if (key < 0) key = sortedKeys[j];
          counts[key]++;
        }
        i++;
      }
    }
    if (hasValues) {
      for (let k = 0; k < numKeys; k++) {
        let c = 0;
        let sum = 0;
        for (let j = start[k]; j < start[k + 1]; j++) {
          const m = mult[j];
          c += m;
          sum += m * sortedValues[j];
        }
        counts[k] = c;
        sums[k] = sum;
      }
      for (const [j, extra] of overflow) {
        counts[sortedKeys[j]] += extra;
        sums[sortedKeys[j]] += extra * sortedValues[j];
      }
      mult.fill(0);
      overflow.clear();
    }
    visit(counts, sums, b);
  }
}
