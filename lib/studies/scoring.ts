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
  accuracyStatistic,
  type BootstrapInterval,
  bootstrapInterval,
  type IndexStatistic,
  type Interval,
  macroF1Statistic,
  type MetricsSummary,
  summarizePredictions,
} from "../metrics/mod.ts";
import type { PredictionTable } from "../predictions.ts";
import { gridDataset, gridModel, type StudyGrid } from "./grid.ts";
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
  /** Accuracy with its percentile bootstrap interval (from `summary`). */
  accuracy: Interval;
  /** Macro-F1 over the scored classes with its percentile bootstrap interval. */
  macroF1: Interval;
}

/** The interval of one summary metric (NaN bounds when the summary has no intervals). */
function summaryInterval(summary: MetricsSummary, metric: "accuracy" | "macro_f1"): Interval {
  const [lower, upper] = summary.ci?.[metric] ?? [null, null];
  return { estimate: summary[metric], lower: lower ?? NaN, upper: upper ?? NaN };
}

/** Every cell of a grid scored under the scoring rule (model-major order, as the grid's cells). */
export function scoreGrid(grid: StudyGrid): CellScore[] {
  return grid.cells.map((c) =>
    scoreTable(
      c.model,
      c.dataset,
      c.table,
      gridModel(grid, c.model)!.card.output.classes,
      gridDataset(grid, c.dataset)!.classes,
    )
  );
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
  return {
    model,
    dataset,
    scored,
    summary,
    accuracy: summaryInterval(summary, "accuracy"),
    macroF1: summaryInterval(summary, "macro_f1"),
  };
}

/** Class ids of a table's labels and predictions. */
export function labelArrays(table: PredictionTable): { yTrue: Int32Array; yPred: Int32Array } {
  const yTrue = Int32Array.from(table.rows, (r) => emotionIndex(r.label));
  const yPred = Int32Array.from(table.rows, (r) => emotionIndex(r.pred));
  return { yTrue, yPred };
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

/** The confusions the FER literature names (each direction is looked up separately). */
export const NAMED_CONFUSIONS: readonly (readonly [Emotion, Emotion])[] = [
  ["fear", "surprise"],
  ["surprise", "fear"],
  ["disgust", "angry"],
  ["angry", "disgust"],
  ["sad", "neutral"],
  ["neutral", "sad"],
];
