/**
 * Are two models different on the same items? McNemar's test on their paired correctness and a
 * paired bootstrap of the difference of a metric.
 */
import {
  type BootstrapOptions,
  bootstrapSettings,
  bootstrapStrata,
  percentileInterval,
} from "./bootstrap.ts";
import {
  classIdBound,
  type ConfusionCounts,
  type LabelArray,
  type LabelOptions,
  pairedLength,
  resolveLabels,
} from "./confusion.ts";
import { headlineFromCounts, type HeadlineScores } from "./classification.ts";
import { binomialCdf, chiSquareSurvival } from "./special.ts";

/** 2×2 table of paired outcomes: [[both right, only A right], [only B right, both wrong]]. */
export type PairedTable = [[number, number], [number, number]];

/** Paired correctness table of models A and B against the same labels. */
export function mcnemarTable(yTrue: LabelArray, predA: LabelArray, predB: LabelArray): PairedTable {
  const n = pairedLength(yTrue, predA, "y_true/pred_a");
  pairedLength(yTrue, predB, "y_true/pred_b");
  const t: PairedTable = [[0, 0], [0, 0]];
  for (let i = 0; i < n; i++) {
    const a = predA[i] === yTrue[i] ? 0 : 1;
    const b = predB[i] === yTrue[i] ? 0 : 1;
    t[a][b]++;
  }
  return t;
}

/** McNemar's test result. */
export interface McNemarResult {
  /** Exact: min(b, c). Chi-square: (|b − c| − correction)² / (b + c). */
  statistic: number;
  pValue: number;
  /** Discordant counts: b = only A right, c = only B right. */
  b: number;
  c: number;
  exact: boolean;
}

/**
 * McNemar's test on a paired table (statsmodels `contingency_tables.mcnemar`). `exact` (default
 * true): two-sided binomial test, p = min(1, 2 · P(Bin(b + c, 1/2) ≤ min(b, c))). Otherwise the
 * chi-square statistic (|b − c| − 1)² / (b + c) with Edwards' continuity correction (`correction`,
 * default true; without it (b − c)² / (b + c)), p from chi-square with 1 degree of freedom.
 * With no discordant pair (b + c = 0) the statistic is 0 and p = 1 (statsmodels divides by zero).
 */
export function mcnemar(
  table: PairedTable,
  opts: { exact?: boolean; correction?: boolean } = {},
): McNemarResult {
  const exact = opts.exact ?? true;
  const b = table[0][1];
  const c = table[1][0];
  for (const v of [b, c]) {
    if (!Number.isInteger(v) || v < 0) {
      throw new Error(`McNemar: discordant count ${v} is not a count`);
    }
  }
  if (b + c === 0) return { statistic: 0, pValue: 1, b, c, exact };
  if (exact) {
    const statistic = Math.min(b, c);
    return { statistic, pValue: Math.min(1, 2 * binomialCdf(statistic, b + c, 0.5)), b, c, exact };
  }
  const corr = (opts.correction ?? true) ? 1 : 0;
  const d = Math.abs(b - c) - corr;
  const statistic = d * d / (b + c);
  return { statistic, pValue: chiSquareSurvival(statistic, 1), b, c, exact };
}

/** McNemar's test of two models' predictions against the same labels. */
export function mcnemarTest(
  yTrue: LabelArray,
  predA: LabelArray,
  predB: LabelArray,
  opts: { exact?: boolean; correction?: boolean } = {},
): McNemarResult {
  return mcnemar(mcnemarTable(yTrue, predA, predB), opts);
}

/** Metrics the paired bootstrap can compare (computed from confusion counts). */
export type PairedMetric =
  | "accuracy"
  | "balanced_accuracy"
  | "macro_f1"
  | "weighted_f1"
  | "cohen_kappa";

const METRIC_FIELD: Readonly<Record<PairedMetric, keyof HeadlineScores>> = {
  accuracy: "accuracy",
  balanced_accuracy: "balancedAccuracy",
  macro_f1: "macroF1",
  weighted_f1: "weightedF1",
  cohen_kappa: "cohenKappa",
};

/** Result of a paired bootstrap of metric(A) − metric(B). */
export interface PairedBootstrapResult {
  metric: PairedMetric;
  a: number;
  b: number;
  /** a − b on the full sample. */
  difference: number;
  /** Percentile interval of the resampled differences. */
  lower: number;
  upper: number;
  /**
   * Two-sided bootstrap p-value: 2 · min(share of resampled differences ≤ 0, share ≥ 0), capped
   * at 1 (resamples where the difference is undefined are left out).
   */
  pValue: number;
  level: number;
  resamples: number;
  seed: number;
  undefinedResamples: number;
}

/**
 * Paired bootstrap (Efron & Tibshirani 1993; Koehn 2004) of metric(A) − metric(B): both models are
 * scored on the same resampled items. Items are stratified by (label, pred A, pred B) and drawn as
 * bootstrapStrata does (key = (label·K + predA)·K + predB, K = largest class id + 1). The label
 * set is fixed over all resamples (`labels`, default the ids present in the full sample).
 */
export function pairedBootstrap(
  yTrue: LabelArray,
  predA: LabelArray,
  predB: LabelArray,
  opts: BootstrapOptions & LabelOptions & { metric?: PairedMetric } = {},
): PairedBootstrapResult {
  const metric = opts.metric ?? "accuracy";
  const field = METRIC_FIELD[metric];
  if (field === undefined) throw new Error(`paired bootstrap: unknown metric "${metric}"`);
  const settings = bootstrapSettings(opts);
  const n = pairedLength(yTrue, predA, "y_true/pred_a");
  pairedLength(yTrue, predB, "y_true/pred_b");
  const k = Math.max(
    classIdBound(yTrue, "y_true"),
    classIdBound(predA, "pred_a"),
    classIdBound(predB, "pred_b"),
  );
  const labels = resolveLabels([yTrue, predA, predB], opts.labels);
  const keys = new Int32Array(n);
  for (let i = 0; i < n; i++) keys[i] = (yTrue[i] * k + predA[i]) * k + predB[i];
  const ca: ConfusionCounts = { size: k, counts: new Float64Array(k * k), total: 0 };
  const cb: ConfusionCounts = { size: k, counts: new Float64Array(k * k), total: 0 };
  const fill = (counts: ArrayLike<number>) => {
    ca.counts.fill(0);
    cb.counts.fill(0);
    for (let key = 0; key < counts.length; key++) {
      const v = counts[key];
      if (v === 0) continue;
      const b = key % k;
      const rest = (key - b) / k;
      const a = rest % k;
      const t = (rest - a) / k;
      ca.counts[t * k + a] += v;
      cb.counts[t * k + b] += v;
    }
    ca.total = cb.total = n;
  };
  const full = new Float64Array(k * k * k);
  for (let i = 0; i < n; i++) full[keys[i]]++;
  fill(full);
  const a = headlineFromCounts(ca, labels)[field];
  const b = headlineFromCounts(cb, labels)[field];
  const diffs = new Float64Array(settings.resamples);
  bootstrapStrata(keys, k * k * k, settings, (counts, _sums, r) => {
    fill(counts);
    diffs[r] = headlineFromCounts(ca, labels)[field] - headlineFromCounts(cb, labels)[field];
  });
  const [lower, upper, undef] = percentileInterval(diffs, settings.level);
  let below = 0;
  let above = 0;
  for (const d of diffs) {
    if (Number.isNaN(d)) continue;
    if (d <= 0) below++;
    if (d >= 0) above++;
  }
  const defined = settings.resamples - undef;
  const pValue = defined === 0 ? NaN : Math.min(1, 2 * Math.min(below, above) / defined);
  return {
    metric,
    a,
    b,
    difference: a - b,
    lower,
    upper,
    pValue,
    ...settings,
    undefinedResamples: undef,
  };
}
