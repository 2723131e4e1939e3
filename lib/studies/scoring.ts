/**
 * Scoring one model on one dataset when their label sets differ, and the bootstrap intervals the
 * study notebooks report.
 *
 * Scoring rule (`SCORING_RULE`): a model is scored on the classes it can output that the dataset
 * defines. Test items whose label the model cannot output (contempt for a 7-class model on FER+
 * or CK+) are left out and counted; predictions of a class the dataset lacks (neutral on CK+)
 * stay in and count as errors. Macro-F1 averages the per-class F1 over the scored classes.
 */
import {
  type BootstrapInterval,
  bootstrapInterval,
  bootstrapSettings,
  bootstrapValues,
  countConfusion,
  intervalFromValues,
  macroF1FromScores,
  type MetricsSummary,
  perClassFromCounts,
  summarizePredictions,
} from "../metrics/mod.ts";
import type { PredictionTable } from "../predictions.ts";
import { type Emotion, emotionIndex, EMOTIONS } from "../taxonomy.ts";

/** The rule every score in the study notebooks follows (printed in the notebooks). */
export const SCORING_RULE =
  "Each model is scored on the classes it can output that the dataset defines. Test images " +
  "whose label the model cannot output (contempt, for 7-class models) are left out and counted; " +
  "a prediction of a class the dataset lacks (neutral on CK+) stays in and is an error. " +
  "Macro-F1 is the unweighted mean of the per-class F1 over the scored classes.";

/** Default bootstrap settings of the studies: 1000 resamples, seed 0, 95 % percentile. */
export const STUDY_BOOTSTRAP = { resamples: 1000, seed: 0, level: 0.95 } as const;

/** A prediction table restricted to the items a model can be scored on. */
export interface ScoredTable {
  table: PredictionTable;
  /** Classes scored, in the kit's order. */
  classes: Emotion[];
  /** Items left out per class (labels the model cannot output). */
  leftOut: Partial<Record<Emotion, number>>;
}

/**
 * Apply the scoring rule: keep the rows whose label is one of `modelClasses`; the scored classes
 * are `datasetClasses` ∩ `modelClasses`. Pure.
 */
export function restrictToModel(
  table: PredictionTable,
  modelClasses: readonly Emotion[],
  datasetClasses: readonly Emotion[],
): ScoredTable {
  const can = new Set(modelClasses);
  const leftOut: Partial<Record<Emotion, number>> = {};
  const rows = table.rows.filter((r) => {
    if (can.has(r.label)) return true;
    leftOut[r.label] = (leftOut[r.label] ?? 0) + 1;
    return false;
  });
  const classes = EMOTIONS.filter((e) => can.has(e) && datasetClasses.includes(e));
  return { table: { classes: table.classes, rows }, classes, leftOut };
}

/** A model's scores on a dataset under the scoring rule. */
export interface CellScore {
  model: string;
  dataset: string;
  scored: ScoredTable;
  /** lib/metrics summary with percentile bootstrap intervals (`ci`). */
  summary: MetricsSummary;
}

/**
 * Score a prediction table under the scoring rule, with bootstrap intervals of accuracy,
 * balanced accuracy, macro-F1, weighted F1 and Cohen's κ (STUDY_BOOTSTRAP unless given).
 */
export function scoreTable(
  model: string,
  dataset: string,
  table: PredictionTable,
  modelClasses: readonly Emotion[],
  datasetClasses: readonly Emotion[],
  opts: { resamples?: number; seed?: number } = {},
): CellScore {
  const scored = restrictToModel(table, modelClasses, datasetClasses);
  if (scored.table.rows.length === 0) {
    throw new Error(`${model} on ${dataset}: no test item has a label the model can output`);
  }
  const summary = summarizePredictions(scored.table, {
    labels: scored.classes,
    ci: opts.resamples ?? STUDY_BOOTSTRAP.resamples,
    seed: opts.seed ?? STUDY_BOOTSTRAP.seed,
  });
  return { model, dataset, scored, summary };
}

/** Class ids of a table's labels and predictions. */
export function labelArrays(table: PredictionTable): { yTrue: Int32Array; yPred: Int32Array } {
  const yTrue = Int32Array.from(table.rows, (r) => emotionIndex(r.label));
  const yPred = Int32Array.from(table.rows, (r) => emotionIndex(r.pred));
  return { yTrue, yPred };
}

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
    return macroF1FromScores(perClassFromCounts(countConfusion(tt, pp, EMOTIONS.length), labels));
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
 */
export function independentDifference(
  nA: number,
  statA: IndexStatistic,
  nB: number,
  statB: IndexStatistic,
  opts: { resamples?: number; seed?: number; level?: number } = {},
): BootstrapInterval {
  const settings = bootstrapSettings({ ...STUDY_BOOTSTRAP, ...opts });
  const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
  const estimate = statA(all(nA)) - statB(all(nB));
  const a = bootstrapValues(nA, statA, settings);
  const b = bootstrapValues(nB, statB, { ...settings, seed: (settings.seed + 1) >>> 0 });
  const diff = a.map((v, i) => v - b[i]);
  return intervalFromValues(estimate, diff, settings);
}

/**
 * Percentile bootstrap interval of a statistic of one sample (STUDY_BOOTSTRAP unless given);
 * a thin alias of lib/metrics bootstrapInterval with the study defaults.
 */
export function studyInterval(
  n: number,
  stat: IndexStatistic,
  opts: { resamples?: number; seed?: number; level?: number } = {},
): BootstrapInterval {
  return bootstrapInterval(n, stat, { ...STUDY_BOOTSTRAP, ...opts });
}

/**
 * Accuracy minus macro-F1 on the same items, with a paired bootstrap interval (both from the
 * same resamples): how much a headline accuracy hides about the small classes.
 */
export function accuracyMacroGap(
  scored: ScoredTable,
  opts: { resamples?: number; seed?: number; level?: number } = {},
): BootstrapInterval {
  const { yTrue, yPred } = labelArrays(scored.table);
  const acc = accuracyStatistic(yTrue, yPred);
  const f1 = macroF1Statistic(yTrue, yPred, scored.classes);
  return studyInterval(yTrue.length, (idx) => acc(idx) - f1(idx), opts);
}

/** A confusion matrix with separate row (true) and column (predicted) classes. */
export interface ConfusionTable {
  rows: Emotion[];
  cols: Emotion[];
  /** counts[i][j]: items of class rows[i] predicted cols[j]. */
  counts: number[][];
}

/**
 * Confusion counts with rows = the scored classes and columns = every class the model predicts
 * (so CK+ rows show the images sent to neutral, a class CK+ lacks). Pure.
 */
export function confusionTable(
  table: PredictionTable,
  rows: readonly Emotion[],
  cols: readonly Emotion[],
): ConfusionTable {
  const counts = rows.map(() => new Array<number>(cols.length).fill(0));
  for (const r of table.rows) {
    const i = rows.indexOf(r.label);
    const j = cols.indexOf(r.pred);
    if (i >= 0 && j >= 0) counts[i][j]++;
  }
  return { rows: [...rows], cols: [...cols], counts };
}

/** One off-diagonal cell: images of `from` predicted `to`. */
export interface ConfusedPair {
  from: Emotion;
  to: Emotion;
  count: number;
  /** count / images of `from` (the share of the true class sent to `to`). */
  share: number;
}

/** Off-diagonal cells of a confusion table, largest share of the true class first. Pure. */
export function confusedPairs(c: ConfusionTable): ConfusedPair[] {
  const out: ConfusedPair[] = [];
  c.rows.forEach((from, i) => {
    const total = c.counts[i].reduce((a, b) => a + b, 0);
    if (total === 0) return;
    c.cols.forEach((to, j) => {
      if (to === from || c.counts[i][j] === 0) return;
      out.push({ from, to, count: c.counts[i][j], share: c.counts[i][j] / total });
    });
  });
  return out.sort((a, b) => b.share - a.share || b.count - a.count);
}

/** The confusions the FER literature names (each direction is looked up separately). */
export const NAMED_CONFUSIONS: readonly (readonly [Emotion, Emotion])[] = [
  ["fear", "surprise"],
  ["surprise", "fear"],
  ["disgust", "angry"],
  ["angry", "disgust"],
  ["sad", "neutral"],
  ["neutral", "sad"],
];

/** Share of true `from` images predicted `to` (NaN when the table has no `from` row or `to` column). */
export function confusionShare(c: ConfusionTable, from: Emotion, to: Emotion): number {
  const i = c.rows.indexOf(from);
  const j = c.cols.indexOf(to);
  if (i < 0 || j < 0) return NaN;
  const total = c.counts[i].reduce((a, b) => a + b, 0);
  return total === 0 ? NaN : c.counts[i][j] / total;
}
