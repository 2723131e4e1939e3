/**
 * Statistics of bootstrap resamples: each takes the item indices a resample drew and returns the
 * statistic on them, so lib/metrics/bootstrap.ts can resample any of them (accuracy, macro-F1,
 * one class's recall, accuracy from counts; Fleiss' κ of a count table is `fleissStatistic` in
 * agreement.ts, next to the κ it resamples), plus the interval of a difference between two
 * independent samples. Pure functions.
 */
import {
  type BootstrapInterval,
  bootstrapInterval,
  bootstrapSettings,
  bootstrapValues,
  intervalFromValues,
} from "./bootstrap.ts";
import { averageF1, perClassFromCounts } from "./classification.ts";
import { countConfusion } from "./confusion.ts";
import { type Emotion, emotionIndex, EMOTIONS } from "../taxonomy.ts";

/** An estimate with the bounds of its interval (a BootstrapInterval, or read from a summary). */
export type Interval = Pick<BootstrapInterval, "estimate" | "lower" | "upper">;

/** A statistic of a resample, given the item indices drawn. */
export type IndexStatistic = (indices: Int32Array) => number;

/** Accuracy of the items at `indices` (0..1). */
export function accuracyStatistic(yTrue: Int32Array, yPred: Int32Array): IndexStatistic {
  return (idx) => {
    let hits = 0;
    for (let i = 0; i < idx.length; i++) if (yTrue[idx[i]] === yPred[idx[i]]) hits++;
    return hits / idx.length;
  };
}

/** Macro-F1 over `classes` of the items at `indices` (scikit-learn, zero_division 0). */
export function macroF1Statistic(
  yTrue: Int32Array,
  yPred: Int32Array,
  classes: readonly Emotion[],
): IndexStatistic {
  const labels = Int32Array.from(classes, emotionIndex);
  const t = new Int32Array(yTrue.length);
  const p = new Int32Array(yTrue.length);
  return (idx) => {
    const n = idx.length;
    // Cluster resamples may hold more items than the sample: then use fresh buffers.
    const tt = n === t.length ? t : n < t.length ? t.subarray(0, n) : new Int32Array(n);
    const pp = n === p.length ? p : n < p.length ? p.subarray(0, n) : new Int32Array(n);
    for (let i = 0; i < n; i++) {
      tt[i] = yTrue[idx[i]];
      pp[i] = yPred[idx[i]];
    }
    return averageF1(perClassFromCounts(countConfusion(tt, pp, EMOTIONS.length), labels));
  };
}

/** Recall of one class over the items at `indices` (NaN when the resample holds none of it). */
export function recallStatistic(
  yTrue: Int32Array,
  yPred: Int32Array,
  cls: Emotion,
): IndexStatistic {
  const c = emotionIndex(cls);
  return (idx) => {
    let support = 0;
    let hits = 0;
    for (let i = 0; i < idx.length; i++) {
      if (yTrue[idx[i]] !== c) continue;
      support++;
      if (yPred[idx[i]] === c) hits++;
    }
    return support === 0 ? NaN : hits / support;
  };
}

/**
 * Percentile bootstrap interval of `statA − statB` for two independent samples (a model on two
 * different test sets): resample b draws each sample on its own (seeds `seed` and `seed + 1`)
 * and the interval is taken over the differences. Estimate: the difference on the full samples.
 * Defaults: 1000 resamples, seed 0, level 0.95.
 */
export function independentDifference(
  nA: number,
  statA: IndexStatistic,
  nB: number,
  statB: IndexStatistic,
  opts: { resamples?: number; seed?: number; level?: number } = {},
): BootstrapInterval {
  const settings = bootstrapSettings(opts);
  const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
  const estimate = statA(all(nA)) - statB(all(nB));
  const a = bootstrapValues(nA, statA, settings);
  const b = bootstrapValues(nB, statB, { ...settings, seed: (settings.seed + 1) >>> 0 });
  const diff = a.map((v, i) => v - b[i]);
  return intervalFromValues(estimate, diff, settings);
}

/**
 * Accuracy of a resample of n items of which the first `hits` are correct: resampling n items
 * with `hits` correct has the same distribution whichever items they are, so a cell's accuracy
 * can be bootstrapped from its counts alone (the probe matrix keeps only scores).
 */
export function hitsStatistic(hits: number): IndexStatistic {
  return (idx) => {
    let h = 0;
    for (let i = 0; i < idx.length; i++) if (idx[i] < hits) h++;
    return h / idx.length;
  };
}

/** The number of correct items behind an accuracy over n items (rounded). */
export function hitsOf(accuracy: number, n: number): number {
  return Math.round(accuracy * n);
}

/**
 * Percentile bootstrap interval of an accuracy from its counts (hitsStatistic; equal to the
 * bootstrap of the per-item outcomes), 1000 resamples, seed 0, level 0.95 unless given.
 */
export function accuracyIntervalFromCounts(
  hits: number,
  n: number,
  opts: { resamples?: number; seed?: number; level?: number } = {},
): BootstrapInterval {
  if (!Number.isInteger(hits) || !Number.isInteger(n) || hits < 0 || hits > n || n < 1) {
    throw new Error(`accuracy interval: ${hits} hits of ${n} items is not a count`);
  }
  return bootstrapInterval(n, hitsStatistic(hits), opts);
}
