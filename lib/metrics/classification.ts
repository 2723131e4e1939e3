/**
 * Classification metrics over class ids, equal to scikit-learn 1.2's with `zero_division=0`:
 * a precision whose class is never predicted, a recall whose class never occurs, and an F1 whose
 * precision and recall are both 0 are all 0 (not NaN).
 */
import { cohenKappaFromMatrix } from "./agreement.ts";
import {
  type ConfusionCounts,
  countConfusion,
  type LabelArray,
  type LabelOptions,
  pairedLength,
  resolveLabels,
  selectConfusion,
} from "./confusion.ts";
import { columnClasses, type ScoreInput, toScoreMatrix } from "./scores.ts";

/** Precision, recall, F1 and support of one class. */
export interface ClassScores {
  /** Class id. */
  label: number;
  /** tp / (tp + fp); 0 when the class is never predicted. */
  precision: number;
  /** tp / (tp + fn); 0 when the class never occurs. */
  recall: number;
  /** 2PR / (P + R); 0 when P + R = 0. */
  f1: number;
  /** Items whose true label is this class. */
  support: number;
}

/** The headline numbers of a confusion matrix. */
export interface HeadlineScores {
  accuracy: number;
  balancedAccuracy: number;
  macroF1: number;
  weightedF1: number;
  cohenKappa: number;
}

/** Share of items predicted correctly (all items count, whatever `labels` is, as scikit-learn). */
export function accuracyFromCounts(c: ConfusionCounts): number {
  let hits = 0;
  let total = 0;
  for (let t = 0; t < c.size; t++) {
    for (let p = 0; p < c.size; p++) total += c.counts[t * c.size + p];
    hits += c.counts[t * c.size + t];
  }
  return hits / total;
}

/**
 * Mean recall over the classes that occur in y_true (scikit-learn `balanced_accuracy_score`:
 * classes that are only predicted are ignored).
 */
export function balancedAccuracyFromCounts(c: ConfusionCounts): number {
  let sum = 0;
  let classes = 0;
  for (let t = 0; t < c.size; t++) {
    let row = 0;
    for (let p = 0; p < c.size; p++) row += c.counts[t * c.size + p];
    if (row === 0) continue;
    sum += c.counts[t * c.size + t] / row;
    classes++;
  }
  return sum / classes;
}

/**
 * Per-class scores over `labels` (in that order). Every item counts towards its class's support
 * and its prediction's column, also when the other side lies outside `labels` (scikit-learn's
 * `precision_recall_fscore_support(labels=)`).
 */
export function perClassFromCounts(c: ConfusionCounts, labels: Int32Array): ClassScores[] {
  const out: ClassScores[] = [];
  for (const label of labels) {
    let tp = 0;
    let support = 0;
    let predicted = 0;
    if (label < c.size) {
      tp = c.counts[label * c.size + label];
      for (let j = 0; j < c.size; j++) {
        support += c.counts[label * c.size + j];
        predicted += c.counts[j * c.size + label];
      }
    }
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = support === 0 ? 0 : tp / support;
    const denom = precision + recall;
    const f1 = denom === 0 ? 0 : 2 * precision * recall / denom;
    out.push({ label, precision, recall, f1, support });
  }
  return out;
}

/**
 * How per-class F1 scores are averaged (scikit-learn's `average`): "macro", their unweighted mean
 * over the labels (a label with no items or predictions counts as 0); "weighted", their mean
 * weighted by support (0 when no item's label is among the labels).
 */
export type F1Average = "macro" | "weighted";

/** Per-class F1 scores averaged as `average` ("macro" unless given). */
export function averageF1(scores: readonly ClassScores[], average: F1Average = "macro"): number {
  let s = 0;
  let w = 0;
  for (const c of scores) {
    const weight = average === "macro" ? 1 : c.support;
    s += c.f1 * weight;
    w += weight;
  }
  return average === "weighted" && w === 0 ? 0 : s / w;
}

/**
 * Accuracy, balanced accuracy, macro and weighted F1 (over `labels`) and unweighted Cohen's kappa
 * between labels and predictions (over `labels`), from one confusion count matrix.
 */
export function headlineFromCounts(c: ConfusionCounts, labels: Int32Array): HeadlineScores {
  const per = perClassFromCounts(c, labels);
  return {
    accuracy: accuracyFromCounts(c),
    balancedAccuracy: balancedAccuracyFromCounts(c),
    macroF1: averageF1(per, "macro"),
    weightedF1: averageF1(per, "weighted"),
    cohenKappa: cohenKappaFromMatrix(selectConfusion(c, labels), labels.length, "none"),
  };
}

/** Accuracy: share of items with pred = label (scikit-learn `accuracy_score`). */
export function accuracy(yTrue: LabelArray, yPred: LabelArray): number {
  return accuracyFromCounts(countConfusion(yTrue, yPred));
}

/** Balanced accuracy: mean per-class recall over classes present in y_true (scikit-learn). */
export function balancedAccuracy(yTrue: LabelArray, yPred: LabelArray): number {
  return balancedAccuracyFromCounts(countConfusion(yTrue, yPred));
}

/**
 * Per-class precision, recall, F1 and support over `opts.labels` (default: sorted union of ids in
 * y_true and y_pred), as scikit-learn `precision_recall_fscore_support(average=None,
 * zero_division=0)`.
 */
export function perClassScores(
  yTrue: LabelArray,
  yPred: LabelArray,
  opts: LabelOptions = {},
): ClassScores[] {
  return perClassFromCounts(
    countConfusion(yTrue, yPred),
    resolveLabels([yTrue, yPred], opts.labels),
  );
}

/**
 * F1 over `opts.labels` averaged as `opts.average` ("macro" unless given), as scikit-learn
 * `f1_score(y_true, y_pred, labels=..., average=..., zero_division=0)`.
 */
export function f1Score(
  yTrue: LabelArray,
  yPred: LabelArray,
  opts: LabelOptions & { average?: F1Average } = {},
): number {
  return averageF1(perClassScores(yTrue, yPred, opts), opts.average);
}

/**
 * Top-k accuracy (scikit-learn `top_k_accuracy_score(y_true, scores, k=k, labels=classes)`): share
 * of items whose label is among the k highest-scoring columns. `classes` gives each column's class
 * id (default 0..cols-1). Ties follow scikit-learn: among equal scores the later column ranks
 * higher. Throws when a label has no score column.
 */
export function topKAccuracy(
  yTrue: LabelArray,
  scores: ScoreInput,
  k: number,
  opts: { classes?: ArrayLike<number> } = {},
): number {
  const m = toScoreMatrix(scores);
  pairedLength(yTrue, { length: m.rows }, "y_true/scores");
  if (!Number.isInteger(k) || k < 1) {
    throw new Error(`top-k accuracy: k = ${k} is not a positive integer`);
  }
  const classes = columnClasses(m.cols, opts.classes);
  const column = new Map<number, number>();
  classes.forEach((c, j) => column.set(c, j));
  let hits = 0;
  for (let i = 0; i < m.rows; i++) {
    const j = classes[yTrue[i]] === yTrue[i] ? yTrue[i] : column.get(yTrue[i]);
    if (j === undefined) {
      throw new Error(`top-k accuracy: y_true[${i}] = ${yTrue[i]} has no score column`);
    }
    const base = i * m.cols;
    const s = m.data[base + j];
    let rank = 0;
    for (let l = 0; l < m.cols; l++) {
      const v = m.data[base + l];
      if (v > s || (v === s && l > j)) rank++;
    }
    if (rank < k) hits++;
  }
  return hits / m.rows;
}
