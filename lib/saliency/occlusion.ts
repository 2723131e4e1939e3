/**
 * Occlusion sensitivity (Zeiler & Fergus 2014, "Visualizing and Understanding Convolutional
 * Networks"): slide a square patch over the image, replace the pixels under it with a fill,
 * and record how much the class probability drops. A pixel's saliency is the mean drop over
 * all patch positions that cover it (positive: hiding it lowers the class score).
 */
import type { BatchScorer } from "./scorer.ts";
import { checkClassIndices, scoreVariants } from "./scorer.ts";
import type { BaselineKind, SaliencyMap } from "./tensor.ts";
import { blendInto, checkTensor, makeBaseline } from "./tensor.ts";

/** Options for `occlusionMap`. */
export interface OcclusionOptions {
  /** Index of the explained class in the model's output order. */
  classIndex: number;
  /** Side of the square patch in input pixels; default round(width / 6) (8 for 48x48). */
  patchSize?: number;
  /** Step between patch positions in pixels; default patchSize / 2. */
  stride?: number;
  /**
   * What the patch holds: "mean" (the image's mean per channel, default), "zero" (black
   * pixels under the model's normalisation) or "blur" (a Gaussian-blurred copy of the image,
   * sigma = patchSize / 2).
   */
  fill?: BaselineKind;
}

/** Patch start positions along one axis: every `stride`, plus one flush with the far edge. */
export function patchStarts(length: number, patch: number, stride: number): number[] {
  if (patch >= length) return [0];
  const starts: number[] = [];
  for (let s = 0; s + patch <= length; s += stride) starts.push(s);
  if (starts[starts.length - 1] + patch < length) starts.push(length - patch);
  return starts;
}

/**
 * Occlusion sensitivity maps of several classes of one input tensor `x` (model-input
 * resolution) from the same forward passes: one per patch position plus one for the intact
 * image, in batches. Values are probability drops, in [-1, 1].
 */
export async function occlusionMaps(
  scorer: BatchScorer,
  x: Float32Array,
  classIndices: readonly number[],
  opts: Omit<OcclusionOptions, "classIndex"> = {},
): Promise<SaliencyMap[]> {
  const shape = scorer.shape;
  checkTensor(x, shape);
  const { width: w, height: h } = shape;
  checkClassIndices(scorer, classIndices, "occlusion");
  const k = scorer.classes.length;
  const patch = Math.max(1, Math.round(opts.patchSize ?? Math.max(1, Math.round(w / 6))));
  const stride = Math.max(1, Math.round(opts.stride ?? Math.max(1, Math.floor(patch / 2))));
  const fill = opts.fill ?? "mean";
  const baseline = makeBaseline(x, shape, {
    kind: fill,
    black: scorer.black,
    blurSigma: patch / 2,
  });
  const ys = patchStarts(h, patch, stride);
  const xs = patchStarts(w, patch, stride);
  const positions = ys.flatMap((y0) => xs.map((x0) => [y0, x0] as const));
  const keep = new Float32Array(w * h);
  const probs = new Float32Array((positions.length + 1) * k);
  await scoreVariants(scorer, positions.length + 1, 0, (buf, off, i) => {
    if (i === 0) {
      buf.set(x, off);
      return;
    }
    const [y0, x0] = positions[i - 1];
    keep.fill(1);
    for (let y = y0; y < Math.min(h, y0 + patch); y++) {
      keep.fill(0, y * w + x0, y * w + Math.min(w, x0 + patch));
    }
    blendInto(buf, off, x, baseline, keep, shape);
  }, probs);
  const count = new Float32Array(w * h);
  for (const [y0, x0] of positions) {
    for (let y = y0; y < Math.min(h, y0 + patch); y++) {
      for (let xx = x0; xx < Math.min(w, x0 + patch); xx++) count[y * w + xx] += 1;
    }
  }
  return classIndices.map((c) => {
    const sum = new Float32Array(w * h);
    positions.forEach(([y0, x0], i) => {
      const drop = probs[c] - probs[(i + 1) * k + c];
      for (let y = y0; y < Math.min(h, y0 + patch); y++) {
        for (let xx = x0; xx < Math.min(w, x0 + patch); xx++) sum[y * w + xx] += drop;
      }
    });
    for (let p = 0; p < w * h; p++) sum[p] = count[p] > 0 ? sum[p] / count[p] : 0;
    return { width: w, height: h, data: sum };
  });
}

/** Occlusion sensitivity map of class `opts.classIndex` for one input (see `occlusionMaps`). */
export async function occlusionMap(
  scorer: BatchScorer,
  x: Float32Array,
  opts: OcclusionOptions,
): Promise<SaliencyMap> {
  const { classIndex, ...rest } = opts;
  return (await occlusionMaps(scorer, x, [classIndex], rest))[0];
}
