/**
 * RISE: Randomized Input Sampling for Explanation (Petsiuk, Das & Saenko 2018, BMVC,
 * arXiv:1806.07421). N random binary grids of `cellSize`-pixel cells, each cell kept with
 * probability p, are upsampled bilinearly to (grid + 1) cells and cropped at a random shift of
 * 0..cellSize-1 pixels (as in the paper), giving smooth masks M_i at the input's resolution.
 * The saliency of class c is S_c = sum_i f_c(x masked by M_i) * M_i / (N * p), where masking
 * blends each pixel towards a baseline (black by default): x_i = b + M_i (x - b).
 * Masks depend only on (N, cell size, p, seed, input size), are generated from a seeded
 * per-mask stream and are cached, so every image of a run reuses them.
 */
import { mulberry32 } from "../random.ts";
import { streamSeed } from "./rng.ts";
import { type BatchScorer, checkClassIndices } from "./scorer.ts";
import type { BaselineKind, SaliencyMap } from "./tensor.ts";
import { blendInto, checkTensor, makeBaseline, tensorSize } from "./tensor.ts";

/** Options for `riseMap`. */
export interface RiseOptions {
  /** Index of the explained class in the model's output order. */
  classIndex: number;
  /** Number of random masks (forward passes); default 2000. */
  n?: number;
  /** Mask cell size in input pixels; default ceil(min(width, height) / 8) (6 for 48x48). */
  cellSize?: number;
  /** Probability that a cell is kept; default 0.5. */
  keepProb?: number;
  /** Seed of the mask generator; default 0. The same seed gives the same masks and map. */
  seed?: number;
  /** What masked-out pixels become: "zero" (black, default), "mean" or "blur". */
  baseline?: BaselineKind;
  /**
   * Subtract the mean score over the N masks before combining (a control variate):
   * S_c = sum_i (f_c,i - mean f_c) M_i / (N p). The paper's uncentred map carries the mask set's
   * own per-pixel density noise, scaled by the mean score; centring removes it, which matters
   * when maps made with one seed are compared (randomisation check). Default false (paper).
   */
  centered?: boolean;
}

/** Mask-set parameters, resolved. */
export interface RiseMaskSpec {
  n: number;
  width: number;
  height: number;
  cellSize: number;
  keepProb: number;
  seed: number;
}

/** Masks kept in memory across calls, at most this many float values in all (256 MB). */
const CACHE_LIMIT = 64 * 1024 * 1024;
const cache = new Map<string, Float32Array>();

function cacheKey(s: RiseMaskSpec): string {
  return `${s.n}/${s.width}x${s.height}/${s.cellSize}/${s.keepProb}/${s.seed}`;
}

/**
 * Write mask `index` of the set `spec` (height x width values in [0, 1]) into `out` at
 * `offset`. Pure: depends only on the spec and the index.
 */
export function generateMask(
  spec: RiseMaskSpec,
  index: number,
  out: Float32Array,
  offset = 0,
): void {
  const { width: w, height: h, cellSize: cell, keepProb } = spec;
  const gh = Math.ceil(h / cell);
  const gw = Math.ceil(w / cell);
  const rng = mulberry32(streamSeed(spec.seed, index));
  const grid = new Float32Array(gh * gw);
  for (let i = 0; i < grid.length; i++) grid[i] = rng() < keepProb ? 1 : 0;
  const dy = Math.floor(rng() * cell);
  const dx = Math.floor(rng() * cell);
  // Upsample gh x gw -> (gh + 1) cell x (gw + 1) cell, bilinear with half-pixel centres,
  // then read the window starting at (dy, dx).
  const uh = (gh + 1) * cell;
  const uw = (gw + 1) * cell;
  const x0s = new Int32Array(w);
  const x1s = new Int32Array(w);
  const wxs = new Float32Array(w);
  for (let x = 0; x < w; x++) {
    const f = Math.min(gw - 1, Math.max(0, (x + dx + 0.5) * (gw / uw) - 0.5));
    x0s[x] = Math.floor(f);
    x1s[x] = Math.min(gw - 1, x0s[x] + 1);
    wxs[x] = f - x0s[x];
  }
  for (let y = 0; y < h; y++) {
    const f = Math.min(gh - 1, Math.max(0, (y + dy + 0.5) * (gh / uh) - 0.5));
    const y0 = Math.floor(f);
    const y1 = Math.min(gh - 1, y0 + 1);
    const wy = f - y0;
    const r0 = y0 * gw;
    const r1 = y1 * gw;
    const o = offset + y * w;
    for (let x = 0; x < w; x++) {
      const a = grid[r0 + x0s[x]] + wxs[x] * (grid[r0 + x1s[x]] - grid[r0 + x0s[x]]);
      const b = grid[r1 + x0s[x]] + wxs[x] * (grid[r1 + x1s[x]] - grid[r1 + x0s[x]]);
      out[o + x] = a + wy * (b - a);
    }
  }
}

/**
 * All N masks of a set (N x height x width), from the cache when present. Sets larger than
 * the cache limit are not kept (callers generate those per batch instead).
 */
export function riseMasks(spec: RiseMaskSpec): Float32Array {
  const key = cacheKey(spec);
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const hw = spec.width * spec.height;
  const masks = new Float32Array(spec.n * hw);
  for (let i = 0; i < spec.n; i++) generateMask(spec, i, masks, i * hw);
  if (masks.length <= CACHE_LIMIT) {
    let total = masks.length;
    for (const v of cache.values()) total += v.length;
    for (const [k, v] of cache) {
      if (total <= CACHE_LIMIT) break;
      cache.delete(k);
      total -= v.length;
    }
    cache.set(key, masks);
  }
  return masks;
}

/** Resolve RISE options against an input size. */
export function riseSpec(
  width: number,
  height: number,
  opts: Omit<RiseOptions, "classIndex">,
): RiseMaskSpec {
  const n = Math.round(opts.n ?? 2000);
  const cellSize = Math.round(opts.cellSize ?? Math.ceil(Math.min(width, height) / 8));
  const keepProb = opts.keepProb ?? 0.5;
  if (!(n >= 1)) throw new Error(`RISE: n must be at least 1 (got ${opts.n})`);
  if (!(cellSize >= 1)) throw new Error(`RISE: cellSize must be at least 1 (got ${opts.cellSize})`);
  if (!(keepProb > 0 && keepProb <= 1)) {
    throw new Error(`RISE: keepProb must be in (0, 1] (got ${opts.keepProb})`);
  }
  return { n, width, height, cellSize, keepProb, seed: (opts.seed ?? 0) >>> 0 };
}

/**
 * RISE saliency maps of several classes of one input tensor from the same N forward passes
 * (model-input resolution). Values estimate E[f_c(masked x) | pixel kept], in probability units.
 */
export async function riseMaps(
  scorer: BatchScorer,
  x: Float32Array,
  classIndices: readonly number[],
  opts: Omit<RiseOptions, "classIndex"> = {},
): Promise<SaliencyMap[]> {
  const shape = scorer.shape;
  checkTensor(x, shape);
  const { width: w, height: h } = shape;
  checkClassIndices(scorer, classIndices, "RISE");
  const k = scorer.classes.length;
  const spec = riseSpec(w, h, opts);
  const hw = w * h;
  const baseline = makeBaseline(x, shape, { kind: opts.baseline ?? "zero", black: scorer.black });
  const cached = spec.n * hw <= CACHE_LIMIT ? riseMasks(spec) : undefined;
  const size = tensorSize(shape);
  const b = Math.max(1, Math.min(scorer.batchSize, spec.n));
  const batch = new Float32Array(b * size);
  const batchMasks = cached ? undefined : new Float32Array(b * hw);
  const sums = classIndices.map(() => new Float64Array(hw));
  const scoreSums = new Float64Array(classIndices.length);
  const density = opts.centered ? new Float64Array(hw) : undefined;
  for (let start = 0; start < spec.n; start += b) {
    const m = Math.min(b, spec.n - start);
    const masks = cached ?? batchMasks!;
    const base = cached ? start * hw : 0;
    for (let j = 0; j < m; j++) {
      if (!cached) generateMask(spec, start + j, batchMasks!, j * hw);
      const mask = masks.subarray(base + j * hw, base + (j + 1) * hw);
      blendInto(batch, j * size, x, baseline, mask, shape);
    }
    const probs = await scorer.predict(m === b ? batch : batch.subarray(0, m * size), m);
    if (density) {
      for (let j = 0; j < m; j++) {
        const o = base + j * hw;
        for (let p = 0; p < hw; p++) density[p] += masks[o + p];
      }
    }
    for (let ci = 0; ci < classIndices.length; ci++) {
      const sum = sums[ci];
      const c = classIndices[ci];
      for (let j = 0; j < m; j++) {
        const s = probs[j * k + c];
        scoreSums[ci] += s;
        const o = base + j * hw;
        for (let p = 0; p < hw; p++) sum[p] += s * masks[o + p];
      }
    }
  }
  const norm = 1 / (spec.n * spec.keepProb);
  return sums.map((sum, ci) => {
    const data = new Float32Array(hw);
    const meanScore = scoreSums[ci] / spec.n;
    if (density) {
      for (let p = 0; p < hw; p++) data[p] = (sum[p] - meanScore * density[p]) * norm;
    } else for (let p = 0; p < hw; p++) data[p] = sum[p] * norm;
    return { width: w, height: h, data };
  });
}

/** RISE saliency map of class `opts.classIndex` for one input tensor (see `riseMaps`). */
export async function riseMap(
  scorer: BatchScorer,
  x: Float32Array,
  opts: RiseOptions,
): Promise<SaliencyMap> {
  const { classIndex, ...rest } = opts;
  return (await riseMaps(scorer, x, [classIndex], rest))[0];
}
