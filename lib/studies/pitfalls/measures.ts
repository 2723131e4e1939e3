/**
 * Pitfalls 5-7: what the numbers themselves hide.
 * - Metric choice under imbalance: accuracy, balanced accuracy, macro-F1 and Cohen's κ of the
 *   same predictions, beside a majority-class baseline that looks respectable on accuracy alone.
 * - Calibration and thresholds: reliability diagrams, the ECE with an interval, and what a
 *   confidence threshold does to coverage and to each class's share of kept images.
 * - Small test sets: how many test faces a difference of a few points needs (the interval by
 *   subject uses lib/metrics clusterBootstrapInterval).
 */
import {
  bootstrapClassification,
  type BootstrapInterval,
  type ReliabilityBin,
  reliabilityDiagram,
} from "../../metrics/mod.ts";
import type { PredictionTable } from "../../predictions.ts";
import { type Emotion, emotionIndex, EMOTIONS } from "../../taxonomy.ts";
import { labelArrays, STUDY_BOOTSTRAP } from "../scoring.ts";

/** The four headline metrics of one set of predictions, each with a bootstrap interval. */
export interface MetricPanel {
  n: number;
  accuracy: BootstrapInterval;
  balancedAccuracy: BootstrapInterval;
  macroF1: BootstrapInterval;
  cohenKappa: BootstrapInterval;
}

/**
 * Accuracy, balanced accuracy, macro-F1 (over `classes`) and Cohen's κ of a table, from the same
 * bootstrap resamples (lib/metrics bootstrapClassification; STUDY_BOOTSTRAP).
 */
export function metricPanel(table: PredictionTable, classes: readonly Emotion[]): MetricPanel {
  const { yTrue, yPred } = labelArrays(table);
  const iv = bootstrapClassification(yTrue, yPred, {
    ...STUDY_BOOTSTRAP,
    labels: Int32Array.from(classes, emotionIndex),
  });
  return {
    n: yTrue.length,
    accuracy: iv.accuracy,
    balancedAccuracy: iv.balancedAccuracy,
    macroF1: iv.macroF1,
    cohenKappa: iv.cohenKappa,
  };
}

/** The most frequent label of a table (ties: the kit's class order). */
export function majorityClass(table: PredictionTable): Emotion {
  const count = new Map<Emotion, number>();
  for (const r of table.rows) count.set(r.label, (count.get(r.label) ?? 0) + 1);
  return EMOTIONS.reduce((best, e) => ((count.get(e) ?? 0) > (count.get(best) ?? 0) ? e : best));
}

/** The table with every prediction replaced by `cls` (probability 1): the majority baseline. */
export function constantPredictions(table: PredictionTable, cls: Emotion): PredictionTable {
  const j = table.classes.indexOf(cls);
  return {
    classes: table.classes,
    rows: table.rows.map((r) => {
      const probs = new Float64Array(table.classes.length);
      if (j >= 0) probs[j] = 1;
      return { ...r, pred: cls, probs };
    }),
  };
}

/** Calibration of one model's top-class probability. */
export interface CalibrationResult {
  n: number;
  bins: ReliabilityBin[];
  /** Expected calibration error (15 equal-width bins), bootstrap interval. */
  ece: BootstrapInterval;
}

/** Top-class probabilities and labels of a table as class-id arrays (columns = table.classes). */
function probsOf(table: PredictionTable): { yTrue: Int32Array; probs: Float64Array[] } {
  return {
    yTrue: Int32Array.from(table.rows, (r) => emotionIndex(r.label)),
    probs: table.rows.map((r) => r.probs),
  };
}

/** Reliability diagram and ECE (with its bootstrap interval) of a table. */
export function calibration(table: PredictionTable, bins = 15): CalibrationResult {
  const { yTrue, probs } = probsOf(table);
  const classes = Int32Array.from(table.classes, emotionIndex);
  const { yPred } = labelArrays(table);
  const iv = bootstrapClassification(yTrue, yPred, { ...STUDY_BOOTSTRAP, probs, classes, bins });
  return {
    n: yTrue.length,
    bins: reliabilityDiagram(yTrue, probs, { classes, bins }),
    ece: iv.ece!,
  };
}

/** What keeping only confident predictions does. */
export interface ThresholdPoint {
  threshold: number;
  /** Share of images whose top-class probability is at least the threshold. */
  coverage: number;
  /** Accuracy on the kept images (NaN when none). */
  accuracy: number;
  /** Per true class: share of its images kept. */
  classCoverage: Partial<Record<Emotion, number>>;
}

/** Coverage, accuracy of the kept images and per-class coverage at each threshold. Pure. */
export function thresholdSweep(
  table: PredictionTable,
  thresholds: readonly number[],
): ThresholdPoint[] {
  const conf = table.rows.map((r) => Math.max(...r.probs));
  return thresholds.map((t) => {
    let kept = 0, hits = 0;
    const support = new Map<Emotion, number>(), keptBy = new Map<Emotion, number>();
    table.rows.forEach((r, i) => {
      support.set(r.label, (support.get(r.label) ?? 0) + 1);
      if (conf[i] < t) return;
      kept++;
      if (r.pred === r.label) hits++;
      keptBy.set(r.label, (keptBy.get(r.label) ?? 0) + 1);
    });
    const classCoverage: Partial<Record<Emotion, number>> = {};
    for (const [c, n] of support) classCoverage[c] = (keptBy.get(c) ?? 0) / n;
    return {
      threshold: t,
      coverage: table.rows.length === 0 ? NaN : kept / table.rows.length,
      accuracy: kept === 0 ? NaN : hits / kept,
      classCoverage,
    };
  });
}

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9 after refinement). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p = ${p} is not in (0, 1)`);
  const a = [
    -39.69683028665376,
    220.9460984245205,
    -275.9285104469687,
    138.357751867269,
    -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406,
    161.5858368580409,
    -155.6989798598866,
    66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293,
    -0.3223964580411365,
    -2.400758277161838,
    -2.549732539343734,
    4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  const tail = (q: number) =>
    (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < lo) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - lo) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/**
 * Test images per model needed to detect an accuracy difference `delta` between two models
 * scored on separate test sets of equal size (two-sided z-test of two proportions, normal
 * approximation): n = (z_{1−α/2} + z_{power})² · (p₁(1−p₁) + p₂(1−p₂)) / δ², p₂ = p₁ + δ, rounded up.
 */
export function imagesForDifference(
  accuracy: number,
  delta: number,
  opts: { alpha?: number; power?: number } = {},
): number {
  const za = normalQuantile(1 - (opts.alpha ?? 0.05) / 2), zb = normalQuantile(opts.power ?? 0.8);
  const p2 = accuracy + delta;
  const v = accuracy * (1 - accuracy) + p2 * (1 - p2);
  return Math.ceil(((za + zb) ** 2 * v) / (delta * delta));
}

/**
 * Test images needed when both models are scored on the same images (McNemar's test, Connor
 * 1987): with discordance ψ (share of images exactly one model gets right) and difference δ,
 * n = (z_{1−α/2}·√ψ + z_{power}·√(ψ − δ²))² / δ², rounded up.
 */
export function pairedImagesForDifference(
  discordance: number,
  delta: number,
  opts: { alpha?: number; power?: number } = {},
): number {
  if (!(discordance > delta * delta)) {
    throw new RangeError(`discordance ${discordance} must exceed δ² = ${delta * delta}`);
  }
  const za = normalQuantile(1 - (opts.alpha ?? 0.05) / 2), zb = normalQuantile(opts.power ?? 0.8);
  return Math.ceil(
    (za * Math.sqrt(discordance) + zb * Math.sqrt(discordance - delta * delta)) ** 2 /
      (delta * delta),
  );
}
