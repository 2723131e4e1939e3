/**
 * Seeded bootstrap: the random stream, resample indices, percentile intervals (numpy's default
 * linear interpolation) and an engine that draws per-resample counts of item strata by sufficient
 * statistics (multinomial counts by exact binomial draws, bootstrapStrata).
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

  /** A uniform double in [0, 1) with 53 random bits (two outputs, as numpy's next_double). */
  nextDouble(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
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
 * Exact binomial draw Bin(n, p) from `rng` (numpy's legacy algorithm): inversion when
 * n·min(p, 1−p) ≤ 30, otherwise BTPE (Kachitvichyanukul & Schmeiser 1988, "Binomial random
 * variate generation", CACM 31(2)). n is an integer ≥ 0, p in [0, 1].
 */
export function drawBinomial(rng: Xoshiro128, n: number, p: number): number {
  if (n === 0 || p <= 0) return 0;
  if (p >= 1) return n;
  const flip = p > 0.5;
  const r = flip ? 1 - p : p;
  const x = n * r <= 30 ? binomialInversion(rng, n, r) : binomialBtpe(rng, n, r);
  return flip ? n - x : x;
}

function binomialInversion(rng: Xoshiro128, n: number, p: number): number {
  const q = 1 - p;
  const qn = Math.exp(n * Math.log(q));
  const np = n * p;
  const bound = Math.min(n, np + 10 * Math.sqrt(np * q + 1));
  let x = 0;
  let px = qn;
  let u = rng.nextDouble();
  while (u > px) {
    x++;
    if (x > bound) {
      x = 0;
      px = qn;
      u = rng.nextDouble();
    } else {
      u -= px;
      px = ((n - x + 1) * p * px) / (x * q);
    }
  }
  return x;
}

/** Stirling-series correction terms of BTPE's final acceptance test. */
function stirlingTail(v: number): number {
  const v2 = v * v;
  return (13680 - (462 - (132 - (99 - 140 / v2) / v2) / v2) / v2) / v / 166320;
}

function binomialBtpe(rng: Xoshiro128, n: number, p: number): number {
  const r = p;
  const q = 1 - r;
  const fm = n * r + r;
  const m = Math.floor(fm);
  const p1 = Math.floor(2.195 * Math.sqrt(n * r * q) - 4.6 * q) + 0.5;
  const xm = m + 0.5;
  const xl = xm - p1;
  const xr = xm + p1;
  const c = 0.134 + 20.5 / (15.3 + m);
  let a = (fm - xl) / (fm - xl * r);
  const laml = a * (1 + a / 2);
  a = (xr - fm) / (xr * q);
  const lamr = a * (1 + a / 2);
  const p2 = p1 * (1 + 2 * c);
  const p3 = p2 + c / laml;
  const p4 = p3 + c / lamr;
  const nrq = n * r * q;
  for (;;) {
    const u = rng.nextDouble() * p4;
    let v = rng.nextDouble();
    let y: number;
    if (u <= p1) return Math.floor(xm - p1 * v + u); // triangular region: accepted at once
    if (u <= p2) {
      const x = xl + (u - p1) / c;
      v = v * c + 1 - Math.abs(m - x + 0.5) / p1;
      if (v > 1) continue;
      y = Math.floor(x);
    } else if (u <= p3) {
      y = Math.floor(xl + Math.log(v) / laml);
      if (y < 0 || v === 0) continue;
      v = v * (u - p2) * laml;
    } else {
      y = Math.floor(xr - Math.log(v) / lamr);
      if (y > n || v === 0) continue;
      v = v * (u - p3) * lamr;
    }
    const k = Math.abs(y - m);
    if (!(k > 20 && k < nrq / 2 - 1)) {
      // explicit evaluation of f(y)/f(m)
      const s = r / q;
      const aa = s * (n + 1);
      let f = 1;
      if (m < y) { for (let i = m + 1; i <= y; i++) f *= aa / i - s; }
      else if (m > y) { for (let i = y + 1; i <= m; i++) f /= aa / i - s; }
      if (v > f) continue;
      return y;
    }
    // squeeze on log f(y), then the final acceptance test with Stirling's series
    const rho = (k / nrq) * ((k * (k / 3 + 0.625) + 0.1666666666666) / nrq + 0.5);
    const t = -k * k / (2 * nrq);
    const logV = Math.log(v);
    if (logV < t - rho) return y;
    if (logV > t + rho) continue;
    const x1 = y + 1;
    const f1 = m + 1;
    const z = n + 1 - m;
    const w = n - y + 1;
    const bound = xm * Math.log(f1 / x1) + (n - m + 0.5) * Math.log(z / w) +
      (y - m) * Math.log(w * r / (x1 * q)) + stirlingTail(f1) + stirlingTail(z) +
      stirlingTail(x1) + stirlingTail(w);
    if (logV > bound) continue;
    return y;
  }
}

/** A standard normal draw (Box–Muller on two 53-bit uniforms). */
export function drawNormal(rng: Xoshiro128): number {
  const u = 1 - rng.nextDouble(); // (0, 1]
  const v = rng.nextDouble();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * A multinomial draw of `n` items over categories whose probabilities are `weights[k] / Σ weights`
 * (integer weights: item counts), by conditional binomials; written into `out` (0 where the weight
 * is 0). `order` lists the categories to visit (those with weight > 0).
 */
export function drawMultinomial(
  rng: Xoshiro128,
  n: number,
  weights: ArrayLike<number>,
  out: Float64Array,
  order: ArrayLike<number> = Array.from({ length: weights.length }, (_, k) => k),
): Float64Array {
  out.fill(0);
  let left = n;
  let weightLeft = 0;
  for (let i = 0; i < order.length; i++) weightLeft += weights[order[i]];
  for (let i = 0; i < order.length && left > 0; i++) {
    const k = order[i];
    const w = weights[k];
    const c = w >= weightLeft ? left : drawBinomial(rng, left, w / weightLeft);
    out[k] = c;
    left -= c;
    weightLeft -= w;
  }
  return out;
}

/**
 * A stratum drawn at most this many times gets its values' sum from exact draws of its items; a
 * larger draw count uses the normal limit of the sum (see bootstrapStrata).
 */
export const EXACT_SUM_DRAWS = 64;

/**
 * Bootstrap over item strata by sufficient statistics (the resampling unit is the item). Every
 * statistic of per-key counts (confusion cells, cells × confidence bins) depends on a resample only
 * through how many drawn items fall in each key, and under item resampling those counts are
 * multinomial: Mult(n, n_k / n). So resample b draws the counts directly, by conditional binomials
 * over the keys present (drawBinomial, exact), in O(keys) instead of O(n): `visit` receives the
 * counts per key (`counts`) and, when `values` is given, the sum of the drawn items' values per key
 * (`sums`). Buffers are reused between calls.
 *
 * Sums: given its count m, a key's sum is that of m items drawn with replacement from the key's
 * items. It is drawn exactly when m ≤ EXACT_SUM_DRAWS, and from its normal limit N(m·μ, m·σ²)
 * (μ, σ² the mean and variance of the key's values) above that; for ECE keys the values are
 * confidences within one bin (a spread ≤ 1/bins), so this part of the variance is small and the
 * normal limit at m > 64 changes intervals by far less than their Monte Carlo error
 * (tests/metrics_bootstrap_test.ts compares with item resampling).
 *
 * Random stream: one Xoshiro128 from `seed`; the same seed gives the same resamples on every
 * machine, but not the same resamples as ResampleStream (a different draw, equal in distribution).
 * Clustered resampling (items not independent: subjects, source images) is not multinomial over
 * keys and must resample clusters instead.
 */
export function bootstrapStrata(
  keys: ArrayLike<number>,
  numKeys: number,
  opts: { resamples: number; seed: number; values?: ArrayLike<number> },
  visit: (counts: Float64Array, sums: Float64Array, b: number) => void,
): void {
  const n = checkCount(keys.length);
  const size = new Float64Array(numKeys);
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    if (!Number.isInteger(k) || k < 0 || k >= numKeys) {
      throw new Error(`bootstrap: key ${k} of item ${i} out of range`);
    }
    size[k]++;
  }
  // Keys present, largest first (fewer binomial steps before the items run out).
  const present = Int32Array.from(
    Array.from({ length: numKeys }, (_, k) => k).filter((k) => size[k] > 0),
  ).sort((a, b) => size[b] - size[a] || a - b);
  const values = opts.values;
  // Per key: its items' values in item order (start offsets), mean and variance.
  const start = new Int32Array(numKeys + 1);
  const sorted = new Float64Array(values === undefined ? 0 : n);
  const mean = new Float64Array(numKeys);
  const variance = new Float64Array(numKeys);
  if (values !== undefined) {
    const order = stableKeyOrder(keys, numKeys);
    for (let k = 0; k < numKeys; k++) start[k + 1] = start[k] + size[k];
    for (let i = 0; i < n; i++) sorted[i] = values[order[i]];
    for (const k of present) {
      let s = 0;
      for (let j = start[k]; j < start[k + 1]; j++) s += sorted[j];
      const mu = s / size[k];
      let ss = 0;
      for (let j = start[k]; j < start[k + 1]; j++) ss += (sorted[j] - mu) ** 2;
      mean[k] = mu;
      variance[k] = ss / size[k];
    }
  }
  const rng = new Xoshiro128(opts.seed);
  const counts = new Float64Array(numKeys);
  const sums = new Float64Array(numKeys);
  for (let b = 0; b < opts.resamples; b++) {
    drawMultinomial(rng, n, size, counts, present);
    if (values !== undefined) {
      for (const k of present) {
        const m = counts[k];
        if (m === 0) {
          sums[k] = 0;
        } else if (variance[k] === 0) {
          sums[k] = m * mean[k];
        } else if (m <= EXACT_SUM_DRAWS) {
          let s = 0;
          for (let d = 0; d < m; d++) s += sorted[start[k] + rng.nextIndex(size[k])];
          sums[k] = s;
        } else {
          sums[k] = m * mean[k] + Math.sqrt(m * variance[k]) * drawNormal(rng);
        }
      }
    }
    visit(counts, sums, b);
  }
}
