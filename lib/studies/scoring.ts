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
  type ClassSummary,
  clusterBootstrapInterval,
  type IndexStatistic,
  type Interval,
  macroF1Statistic,
  type MetricsSummary,
  summarizePredictions,
} from "../metrics/mod.ts";
import type { PredictionTable } from "../predictions.ts";
import { gridDataset, gridModel, type StudyGrid } from "./grid.ts";
import { type Emotion, emotionIndex, EMOTIONS } from "../taxonomy.ts";
import { clusterKeys, clusterUnit, STUDY_BOOTSTRAP } from "./clusters.ts";

/** The rule every score in the study notebooks follows (printed in the notebooks). */
export const SCORING_RULE =
  "Each model is scored on the classes it can output that the dataset defines. Test images " +
  "whose label the model cannot output (contempt, for 7-class models) are left out and counted; " +
  "a prediction of a class the dataset lacks (neutral on CK+) stays in and is an error. " +
  "Macro-F1 is the unweighted mean of the per-class F1 over the scored classes.";

/** The studies' bootstrap settings (defined with the cluster intervals that use them). */
export { STUDY_BOOTSTRAP };

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

/**
 * A cell's lib/metrics summary with camelCase keys (the snake_case of MetricsSummary stays at the
 * JSON edge, `kit metrics --json`). Undefined values are null, as in MetricsSummary.
 */
export interface StudySummary {
  /** Items scored. */
  n: number;
  accuracy: number;
  balancedAccuracy: number;
  macroF1: number;
  weightedF1: number;
  /** Unweighted Cohen's kappa between labels and predictions. */
  cohenKappa: number | null;
  /** Expected calibration error of the probability columns. */
  ece: number;
  /** Mean negative log-likelihood (nats); null when some label has no probability column. */
  nll: number | null;
  /** Multiclass Brier score. */
  brier: number;
  /** Per-class scores of the classes reported. */
  perClass: Partial<Record<Emotion, ClassSummary>>;
  /** Counts; rows = true class, columns = predicted class, in `labels` order. */
  confusion: { labels: Emotion[]; matrix: number[][] };
}

/** A model's scores on a dataset under the scoring rule. */
export interface CellScore {
  model: string;
  dataset: string;
  scored: ScoredTable;
  /** lib/metrics summary of the scored items (camelCase). */
  summary: StudySummary;
  /** Accuracy with its percentile bootstrap interval. */
  accuracy: Interval;
  /** Macro-F1 over the scored classes with its percentile bootstrap interval. */
  macroF1: Interval;
  /**
   * Cluster key of each scored row (the resampling unit of every interval of the cell: the row's
   * id where items are independent, its subject or source photograph on CK+ and ExpW).
   */
  clusters: string[];
  /** What one cluster is: "image", "subject" or "source photograph". */
  unit: string;
}

/** The interval of one summary metric (NaN bounds when the summary has no intervals). */
function summaryInterval(summary: MetricsSummary, metric: "accuracy" | "macro_f1"): Interval {
  const [lower, upper] = summary.ci?.[metric] ?? [null, null];
  return { estimate: summary[metric], lower: lower ?? NaN, upper: upper ?? NaN };
}

/** MetricsSummary (JSON keys) as a StudySummary. */
function studySummary(m: MetricsSummary): StudySummary {
  return {
    n: m.n,
    accuracy: m.accuracy,
    balancedAccuracy: m.balanced_accuracy,
    macroF1: m.macro_f1,
    weightedF1: m.weighted_f1,
    cohenKappa: m.cohen_kappa,
    ece: m.ece,
    nll: m.nll,
    brier: m.brier,
    perClass: m.per_class as Partial<Record<Emotion, ClassSummary>>,
    confusion: m.confusion,
  };
}

/**
 * Every cell of a grid scored under the scoring rule (model-major order, as the grid's cells),
 * its intervals resampling the dataset's clusters (CK+ subjects, ExpW source photographs).
 */
export function scoreGrid(grid: StudyGrid): CellScore[] {
  return grid.cells.map((c) => {
    const d = gridDataset(grid, c.dataset)!;
    return scoreTable(c.table, {
      model: c.model,
      dataset: c.dataset,
      modelClasses: gridModel(grid, c.model)!.card.output.classes,
      datasetClasses: d.classes,
      clusters: { keys: (ids) => clusterKeys(d, ids), unit: clusterUnit(d.name) },
    });
  });
}

/** How a scored table's rows cluster: their keys (from the row ids) and what a cluster is. */
export interface ClusterSpec {
  keys: (ids: readonly string[]) => string[];
  unit: string;
}

/** Options of scoreTable (keyword options, as scikit-learn's metric functions take). */
export interface ScoreOptions {
  /** The model's name, in the result and in errors. */
  model: string;
  /** The dataset's name, in the result and in errors. */
  dataset: string;
  /** Classes the model can output [the table's probability columns]. */
  modelClasses?: readonly Emotion[];
  /** Classes the dataset defines [EMOTIONS]. */
  datasetClasses?: readonly Emotion[];
  /** Bootstrap resamples [STUDY_BOOTSTRAP.resamples]. */
  resamples?: number;
  /** Bootstrap seed [STUDY_BOOTSTRAP.seed]. */
  seed?: number;
  /** How the rows cluster (CK+ subjects, ExpW photographs) [one image a cluster]. */
  clusters?: ClusterSpec;
}

/**
 * Score a prediction table under the scoring rule, with bootstrap intervals of accuracy and
 * macro-F1 (STUDY_BOOTSTRAP unless given; resampling `clusters` when given, else images), e.g.
 * `scoreTable(table, { model, dataset, modelClasses: card.output.classes, datasetClasses })`.
 */
export function scoreTable(table: PredictionTable, opts: ScoreOptions): CellScore {
  const { model, dataset } = opts;
  const scored = restrictToModel(
    table,
    opts.modelClasses ?? table.classes,
    opts.datasetClasses ?? EMOTIONS,
  );
  if (scored.table.rows.length === 0) {
    throw new Error(`${model} on ${dataset}: no test item has a label the model can output`);
  }
  const ids = scored.table.rows.map((r) => r.id);
  const clusters = opts.clusters?.keys(ids) ?? ids;
  const summary = summarizePredictions(scored.table, {
    labels: scored.classes,
    ci: opts.resamples ?? STUDY_BOOTSTRAP.resamples,
    seed: opts.seed ?? STUDY_BOOTSTRAP.seed,
    ...(opts.clusters ? { clusters } : {}),
  });
  return {
    model,
    dataset,
    scored,
    summary: studySummary(summary),
    accuracy: summaryInterval(summary, "accuracy"),
    macroF1: summaryInterval(summary, "macro_f1"),
    clusters,
    unit: opts.clusters?.unit ?? "image",
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
 * same resamples; whole clusters when `clusters`, one key per row, is given): how much a
 * headline accuracy hides about the small classes.
 */
export function accuracyMacroGap(
  scored: ScoredTable,
  opts: { resamples?: number; seed?: number; level?: number; clusters?: readonly string[] } = {},
): BootstrapInterval {
  const { yTrue, yPred } = labelArrays(scored.table);
  const acc = accuracyStatistic(yTrue, yPred);
  const f1 = macroF1Statistic(yTrue, yPred, scored.classes);
  const { clusters, ...rest } = opts;
  const stat: IndexStatistic = (idx) => acc(idx) - f1(idx);
  return clusters
    ? clusterBootstrapInterval(clusters, stat, { ...STUDY_BOOTSTRAP, ...rest })
    : studyInterval(yTrue.length, stat, rest);
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
