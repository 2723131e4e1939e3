/** Bootstrap intervals of the headline classification metrics and the ECE, in one pass. */
import {
  type BootstrapInterval,
  type BootstrapOptions,
  bootstrapSettings,
  bootstrapStrata,
  intervalFromValues,
} from "./bootstrap.ts";
import { clusterStrata } from "./cluster_bootstrap.ts";
import { confidenceBin, DEFAULT_ECE_BINS, topClassOutcomes } from "./calibration.ts";
import { headlineFromCounts, type HeadlineScores } from "./classification.ts";
import {
  type ConfusionCounts,
  countConfusion,
  type LabelArray,
  type LabelOptions,
  resolveLabels,
} from "./confusion.ts";
import type { ScoreInput } from "./scores.ts";

/** Options of bootstrapClassification. */
export interface ClassificationBootstrapOptions extends BootstrapOptions, LabelOptions {
  /** Probability rows: when given, the ECE is bootstrapped too. */
  probs?: ScoreInput;
  /** Class id of each probability column (default 0..cols-1). */
  classes?: ArrayLike<number>;
  /** ECE bins (default 15). */
  bins?: number;
  /**
   * Cluster key of each item (subjects, source photographs): when given, resamples draw whole
   * clusters (clusterStrata, lib/metrics/cluster_bootstrap.ts) instead of items.
   */
  clusters?: ArrayLike<string | number>;
}

/** Intervals of the headline metrics (and the ECE when probabilities were given). */
export type ClassificationIntervals = Record<keyof HeadlineScores, BootstrapInterval> & {
  ece?: BootstrapInterval;
};

/** ECE from per-bin count, hit count and confidence sum (as expectedCalibrationError sums it). */
function eceFromBins(count: Float64Array, hits: Float64Array, confSum: Float64Array): number {
  let total = 0;
  for (let b = 0; b < count.length; b++) total += count[b];
  let ece = 0;
  for (let b = 0; b < count.length; b++) {
    const c = count[b];
    if (c > 0) ece += (c / total) * Math.abs(hits[b] / c - confSum[b] / c);
  }
  return ece;
}

/**
 * Percentile bootstrap intervals of accuracy, balanced accuracy, macro F1, weighted F1 and Cohen's
 * kappa (and the ECE with `probs`), all from the same resamples. Each item's stratum is its
 * confusion cell, key = label·K + pred (K = largest class id + 1), times (2·bins) plus
 * bin·2 + top-class-correct when probabilities are given; each resample draws the counts of these
 * cells (multinomial, bootstrapStrata), not items, so its cost does not grow with n
 * (bench/metrics.ts). With `clusters`, each resample draws whole clusters instead (clusterStrata),
 * as clustered items need. The label set is fixed over all resamples (`labels`, default the ids
 * present in the full sample).
 */
export function bootstrapClassification(
  yTrue: LabelArray,
  yPred: LabelArray,
  opts: ClassificationBootstrapOptions = {},
): ClassificationIntervals {
  const settings = bootstrapSettings(opts);
  const r = classificationResamples(yTrue, yPred, opts);
  const out = {} as ClassificationIntervals;
  for (const name of HEADLINE_NAMES) {
    out[name] = intervalFromValues(r.estimates[name], r.values[name], settings);
  }
  if (r.ece !== undefined) out.ece = intervalFromValues(r.ece.estimate, r.ece.values, settings);
  return out;
}

/** The headline metrics bootstrapped by bootstrapClassification. */
const HEADLINE_NAMES: readonly (keyof HeadlineScores)[] = [
  "accuracy",
  "balancedAccuracy",
  "macroF1",
  "weightedF1",
  "cohenKappa",
];

/** Full-sample estimates and per-resample values of the bootstrapped metrics. */
export interface ClassificationResamples {
  estimates: HeadlineScores;
  /** values[metric][b]: the metric on resample b (NaN where undefined). */
  values: Record<keyof HeadlineScores, Float64Array>;
  /** The ECE, when probabilities were given. */
  ece?: { estimate: number; values: Float64Array };
}

/**
 * The resampled values behind bootstrapClassification (same options, same draws): for intervals
 * of other kinds or for checking the resampling distribution itself.
 */
export function classificationResamples(
  yTrue: LabelArray,
  yPred: LabelArray,
  opts: ClassificationBootstrapOptions = {},
): ClassificationResamples {
  const settings = bootstrapSettings(opts);
  const full = countConfusion(yTrue, yPred);
  const k = full.size;
  const labels = resolveLabels([yTrue, yPred], opts.labels);
  const n = full.total;
  const bins = opts.bins ?? DEFAULT_ECE_BINS;
  const withEce = opts.probs !== undefined;
  const outcomes = withEce ? topClassOutcomes(yTrue, opts.probs as ScoreInput, opts.classes) : null;
  const per = withEce ? 2 * bins : 1;
  const keys = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let key = yTrue[i] * k + yPred[i];
    if (outcomes !== null) {
      key = key * per + confidenceBin(outcomes.confidence[i], bins) * 2 + outcomes.correct[i];
    }
    keys[i] = key;
  }
  const values = HEADLINE_NAMES.map(() => new Float64Array(settings.resamples));
  const eceValues = new Float64Array(withEce ? settings.resamples : 0);
  const cc: ConfusionCounts = { size: k, counts: new Float64Array(k * k), total: n };
  const count = new Float64Array(bins);
  const hits = new Float64Array(bins);
  const confSum = new Float64Array(bins);
  const visit = (counts: Float64Array, sums: Float64Array, r: number) => {
    cc.counts.fill(0);
    cc.total = 0;
    if (withEce) {
      count.fill(0);
      hits.fill(0);
      confSum.fill(0);
    }
    for (let key = 0; key < counts.length; key++) {
      const v = counts[key];
      if (v === 0) continue;
      cc.total += v;
      if (withEce) {
        const rest = key % per;
        const bin = rest >> 1;
        cc.counts[(key - rest) / per] += v;
        count[bin] += v;
        if (rest & 1) hits[bin] += v;
        confSum[bin] += sums[key];
      } else {
        cc.counts[key] += v;
      }
    }
    const h = headlineFromCounts(cc, labels);
    for (let m = 0; m < HEADLINE_NAMES.length; m++) values[m][r] = h[HEADLINE_NAMES[m]];
    if (withEce) eceValues[r] = eceFromBins(count, hits, confSum);
  };
  const strata = { ...settings, values: outcomes?.confidence };
  if (opts.clusters !== undefined) clusterStrata(keys, k * k * per, opts.clusters, strata, visit);
  else bootstrapStrata(keys, k * k * per, strata, visit);
  const out: ClassificationResamples = {
    estimates: headlineFromCounts(full, labels),
    values: Object.fromEntries(HEADLINE_NAMES.map((name, m) => [name, values[m]])) as Record<
      keyof HeadlineScores,
      Float64Array
    >,
  };
  if (outcomes !== null) {
    const count0 = new Float64Array(bins);
    const hits0 = new Float64Array(bins);
    const conf0 = new Float64Array(bins);
    for (let i = 0; i < n; i++) {
      const b = confidenceBin(outcomes.confidence[i], bins);
      count0[b]++;
      hits0[b] += outcomes.correct[i];
      conf0[b] += outcomes.confidence[i];
    }
    out.ece = { estimate: eceFromBins(count0, hits0, conf0), values: eceValues };
  }
  return out;
}
