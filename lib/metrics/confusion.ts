/**
 * Class-id inputs and confusion matrices.
 *
 * Every metric in lib/metrics takes class ids (indices into EMOTIONS in lib/taxonomy.ts, or any
 * non-negative integers) as an Int32Array, a number[] or any array-like. A `labels` argument fixes
 * the class set and its order exactly as scikit-learn's `labels=` does.
 */
import { type ConfusionNormalize, normalizeCounts } from "./confusion_table.ts";

/** One class id per item (Int32Array, number[] or any array-like of non-negative integers). */
export type LabelArray = ArrayLike<number>;

/** Largest class id the metric functions accept (confusion matrices are dense). */
export const MAX_CLASS_ID = 4095;

/** Options that fix the class set and its order, like scikit-learn's `labels=`. */
export interface LabelOptions {
  /** Class ids to report, in this order; default: the sorted union of ids present in the inputs. */
  labels?: ArrayLike<number>;
}

/**
 * Dense confusion counts over class ids 0..size-1: `counts[t * size + p]` = items whose label is
 * `t` and prediction is `p` (rows = truth, columns = prediction, as scikit-learn).
 */
export interface ConfusionCounts {
  size: number;
  counts: Float64Array;
  total: number;
}

/** A confusion matrix over chosen labels: `matrix[i][j]` = items with label labels[i] predicted labels[j]. */
export interface ConfusionMatrix {
  labels: number[];
  matrix: number[][];
}

/**
 * Check that every value of `values` is a class id (integer in 0..MAX_CLASS_ID) and return
 * max id + 1 (0 for an empty array). Throws an Error naming `name` and the first bad index.
 */
export function classIdBound(values: LabelArray, name: string): number {
  let max = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 0 || v > MAX_CLASS_ID) {
      throw new Error(
        `${name}[${i}] = ${v} is not a class id (an integer in 0..${MAX_CLASS_ID})`,
      );
    }
    if (v > max) max = v;
  }
  return max + 1;
}

/**
 * Check two per-item arrays have the same, non-zero length; returns it. Throws "empty input"
 * for no items (every metric is undefined on nothing) and names both arrays on a length mismatch.
 */
export function pairedLength(a: ArrayLike<unknown>, b: ArrayLike<unknown>, names: string): number {
  if (a.length !== b.length) {
    throw new Error(`${names}: lengths differ (${a.length} and ${b.length})`);
  }
  if (a.length === 0) throw new Error(`${names}: empty input (no items)`);
  return a.length;
}

/**
 * The label set to report: `labels` when given (validated: class ids, no repeats, not empty),
 * else the sorted union of ids present in the arrays (scikit-learn's `unique_labels`).
 */
export function resolveLabels(
  arrays: readonly LabelArray[],
  labels?: ArrayLike<number>,
): Int32Array {
  if (labels !== undefined) {
    if (labels.length === 0) throw new Error("labels: empty label list");
    classIdBound(labels, "labels");
    const seen = new Set<number>();
    for (let i = 0; i < labels.length; i++) {
      if (seen.has(labels[i])) throw new Error(`labels: class id ${labels[i]} listed twice`);
      seen.add(labels[i]);
    }
    return Int32Array.from(labels);
  }
  const present = new Set<number>();
  for (const a of arrays) for (let i = 0; i < a.length; i++) present.add(a[i]);
  return Int32Array.from([...present].sort((x, y) => x - y));
}

/**
 * Count label/prediction pairs into a dense matrix over ids 0..size-1 (size defaults to the
 * largest id present + 1). Throws for empty input, unequal lengths or a value that is not a class id.
 */
export function countConfusion(
  yTrue: LabelArray,
  yPred: LabelArray,
  size?: number,
): ConfusionCounts {
  const n = pairedLength(yTrue, yPred, "y_true/y_pred");
  const bound = Math.max(classIdBound(yTrue, "y_true"), classIdBound(yPred, "y_pred"), size ?? 0);
  const counts = new Float64Array(bound * bound);
  for (let i = 0; i < n; i++) counts[yTrue[i] * bound + yPred[i]]++;
  return { size: bound, counts, total: n };
}

/**
 * The square sub-matrix of `c` over `labels` (row-major Float64Array, labels.length²). Items whose
 * label or prediction is outside `labels` fall out, as in scikit-learn's `confusion_matrix(labels=)`.
 * Ids beyond `c.size` give zero rows and columns.
 */
export function selectConfusion(c: ConfusionCounts, labels: Int32Array): Float64Array {
  const k = labels.length;
  const out = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    const t = labels[i];
    if (t >= c.size) continue;
    for (let j = 0; j < k; j++) {
      const p = labels[j];
      if (p < c.size) out[i * k + j] = c.counts[t * c.size + p];
    }
  }
  return out;
}

/** Row-major Float64Array (k×k) to nested arrays. */
export function toRows(flat: Float64Array, k: number): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < k; i++) rows.push(Array.from(flat.subarray(i * k, (i + 1) * k)));
  return rows;
}

/**
 * Confusion matrix (scikit-learn `confusion_matrix`): rows = true label, columns = prediction,
 * over `opts.labels` in that order (default: sorted union of present ids). Items with a label or
 * prediction outside `labels` are not counted. `normalize` ("true": each row sums to 1, "pred":
 * each column, "all": the whole matrix; default counts) divides as lib/metrics/confusion_table.ts
 * normalizeCounts does; an empty row or column stays 0, as scikit-learn's nan_to_num leaves it.
 */
export function confusionMatrix(
  yTrue: LabelArray,
  yPred: LabelArray,
  opts: LabelOptions & { normalize?: ConfusionNormalize } = {},
): ConfusionMatrix {
  const c = countConfusion(yTrue, yPred);
  const labels = resolveLabels([yTrue, yPred], opts.labels);
  const counts = toRows(selectConfusion(c, labels), labels.length);
  return {
    labels: Array.from(labels),
    matrix: normalizeCounts(counts, opts.normalize ?? "none", 0),
  };
}
