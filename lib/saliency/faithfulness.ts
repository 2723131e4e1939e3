/**
 * Faithfulness of a saliency map: the deletion and insertion metrics of Petsiuk, Das & Saenko
 * (2018, "RISE", section 4.1). Deletion removes pixels in order of decreasing saliency (they
 * become the baseline, black by default) and records the class probability after each step:
 * a faithful map makes it fall fast (low area under the curve). Insertion starts from a blurred
 * image and puts the original pixels back in the same order: a faithful map makes the
 * probability rise fast (high area). Areas use the trapezoid rule over the fraction of pixels
 * changed, 0..1, so they are in probability units.
 */
import type { BatchScorer } from "./scorer.ts";
import { scoreVariants } from "./scorer.ts";
import type { BaselineKind, SaliencyMap } from "./tensor.ts";
import { blendInto, checkTensor, makeBaseline } from "./tensor.ts";
import { type MeanSd, meanSd } from "../metrics/descriptive.ts";

/** Options for `deletionInsertion`. */
export interface DeletionInsertionOptions {
  /** Index of the class whose probability is tracked (usually the explained class). */
  classIndex: number;
  /** Number of steps from 0 to all pixels changed; default 48 (so 49 points per curve). */
  steps?: number;
  /** What deleted pixels become; default "zero" (black) as in the paper. */
  deletionBaseline?: BaselineKind;
  /** The image insertion starts from; default "blur" as in the paper. */
  insertionBaseline?: BaselineKind;
  /** Blur standard deviation in pixels for a "blur" baseline; default width / 16. */
  blurSigma?: number;
}

/** One curve: class probability after changing a fraction of the pixels. */
export interface FaithfulnessCurve {
  /** Fraction of pixels changed at each point, 0..1 (steps + 1 points). */
  fractions: number[];
  /** Class probability at each point. */
  scores: number[];
  /** Area under the curve (trapezoid rule over `fractions`). */
  auc: number;
}

/** Both curves for one image and map. */
export interface DeletionInsertion {
  deletion: FaithfulnessCurve;
  insertion: FaithfulnessCurve;
}

/**
 * Pixel indices ordered by decreasing saliency (ties: lower index first), as an array of
 * ranks: rank[p] = position of pixel p in that order.
 */
export function saliencyRanks(map: SaliencyMap): Int32Array {
  const n = map.data.length;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => (map.data[b] - map.data[a]) || (a - b));
  const rank = new Int32Array(n);
  for (let i = 0; i < n; i++) rank[order[i]] = i;
  return rank;
}

/** Area under a curve by the trapezoid rule. */
export function trapezoidArea(xs: readonly number[], ys: readonly number[]): number {
  let a = 0;
  for (let i = 1; i < xs.length; i++) a += (xs[i] - xs[i - 1]) * (ys[i] + ys[i - 1]) / 2;
  return a;
}

/** Number of pixels changed at step j of `steps` over `total` pixels (evenly spread). */
export function pixelsAtStep(j: number, steps: number, total: number): number {
  return Math.min(total, Math.round((j * total) / steps));
}

/**
 * Deletion and insertion curves and their areas for one input tensor and one saliency map
 * (map at the model-input resolution). Runs 2 (steps + 1) forward passes in batches.
 */
export async function deletionInsertion(
  scorer: BatchScorer,
  x: Float32Array,
  map: SaliencyMap,
  opts: DeletionInsertionOptions,
): Promise<DeletionInsertion> {
  const shape = scorer.shape;
  checkTensor(x, shape);
  const hw = shape.width * shape.height;
  if (map.width !== shape.width || map.height !== shape.height) {
    throw new Error(
      `saliency map is ${map.width}x${map.height}; the model input is ${shape.width}x${shape.height}`,
    );
  }
  const steps = Math.max(1, Math.round(opts.steps ?? 48));
  const rank = saliencyRanks(map);
  const del = makeBaseline(x, shape, {
    kind: opts.deletionBaseline ?? "zero",
    black: scorer.black,
    blurSigma: opts.blurSigma,
  });
  const ins = makeBaseline(x, shape, {
    kind: opts.insertionBaseline ?? "blur",
    black: scorer.black,
    blurSigma: opts.blurSigma,
  });
  const keep = new Float32Array(hw);
  const points = steps + 1;
  const scores = await scoreVariants(scorer, 2 * points, opts.classIndex, (buf, off, i) => {
    const insertion = i >= points;
    const count = pixelsAtStep(insertion ? i - points : i, steps, hw);
    for (let p = 0; p < hw; p++) {
      const changed = rank[p] < count;
      keep[p] = insertion ? (changed ? 1 : 0) : (changed ? 0 : 1);
    }
    blendInto(buf, off, x, insertion ? ins : del, keep, shape);
  });
  return curvesFromScores(scores, steps, hw);
}

/**
 * The deletion and insertion curves of `deletionInsertion` from its 2 (steps + 1) class
 * probabilities (deletion points, then insertion points) over an image of `pixels` pixels:
 * what a cache keeps of them.
 */
export function curvesFromScores(
  scores: Float32Array,
  steps: number,
  pixels: number,
): DeletionInsertion {
  const points = steps + 1;
  if (scores.length !== 2 * points) {
    throw new Error(`deletion/insertion: ${scores.length} scores, expected ${2 * points}`);
  }
  const fractions = Array.from(
    { length: points },
    (_, j) => pixelsAtStep(j, steps, pixels) / pixels,
  );
  const d = Array.from(scores.subarray(0, points));
  const s = Array.from(scores.subarray(points));
  return {
    deletion: { fractions, scores: d, auc: trapezoidArea(fractions, d) },
    insertion: { fractions, scores: s, auc: trapezoidArea(fractions, s) },
  };
}

/** Deletion/insertion results averaged over images. */
export interface FaithfulnessSummary {
  images: number;
  deletionAuc: MeanSd;
  insertionAuc: MeanSd;
  /** Pointwise mean curves (all results must share the same fractions). */
  deletion: { fractions: number[]; scores: number[] };
  insertion: { fractions: number[]; scores: number[] };
}

/**
 * Average per-image deletion/insertion results: mean and SD of the areas, and the mean curves.
 * Throws when the list is empty or the curves have different step counts.
 */
export function summarizeFaithfulness(results: readonly DeletionInsertion[]): FaithfulnessSummary {
  if (results.length === 0) throw new Error("no deletion/insertion results to summarise");
  const fractions = results[0].deletion.fractions;
  const meanCurve = (pick: (r: DeletionInsertion) => FaithfulnessCurve) => {
    const acc = new Array<number>(fractions.length).fill(0);
    for (const r of results) {
      const c = pick(r);
      if (c.scores.length !== fractions.length) {
        throw new Error("deletion/insertion curves with different step counts cannot be averaged");
      }
      c.scores.forEach((v, i) => acc[i] += v / results.length);
    }
    return { fractions: [...fractions], scores: acc };
  };
  return {
    images: results.length,
    deletionAuc: meanSd(results.map((r) => r.deletion.auc)),
    insertionAuc: meanSd(results.map((r) => r.insertion.auc)),
    deletion: meanCurve((r) => r.deletion),
    insertion: meanCurve((r) => r.insertion),
  };
}
