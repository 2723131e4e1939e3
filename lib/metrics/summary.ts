/**
 * One summary of a predictions table: the object `deno task kit metrics --json` prints and the
 * notebooks use (one code path for both).
 */
import type { PredictionTable } from "../predictions.ts";
import { type Emotion, emotionIndex, EMOTIONS } from "../taxonomy.ts";
import {
  brierScore,
  DEFAULT_ECE_BINS,
  expectedCalibrationError,
  negativeLogLikelihood,
} from "./calibration.ts";
import { bootstrapClassification } from "./classification_ci.ts";
import { headlineFromCounts, perClassFromCounts } from "./classification.ts";
import { countConfusion, resolveLabels, selectConfusion, toRows } from "./confusion.ts";
import type { ScoreMatrix } from "./scores.ts";

/** Precision, recall, F1 and support of one class. */
export interface ClassSummary {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/**
 * The metrics summary. Undefined values (e.g. kappa when labels and predictions are all one
 * class) are null. Metric definitions: lib/metrics/classification.ts, agreement.ts, calibration.ts.
 */
export interface MetricsSummary {
  /** Items scored. */
  n: number;
  accuracy: number;
  balanced_accuracy: number;
  macro_f1: number;
  weighted_f1: number;
  /** Unweighted Cohen's kappa between labels and predictions. */
  cohen_kappa: number | null;
  /** Expected calibration error of the probability columns (`bins` equal-width bins). */
  ece: number;
  /** Mean negative log-likelihood (nats); null when some label has no probability column. */
  nll: number | null;
  /** Multiclass Brier score (sum over classes, range 0..2). */
  brier: number;
  per_class: Record<string, ClassSummary>;
  /** Counts; rows = true class, columns = predicted class, in `labels` order. */
  confusion: { labels: Emotion[]; matrix: number[][] };
  /** Percentile bootstrap intervals [lower, upper] (with `ci`). */
  ci?: Record<string, [number | null, number | null]>;
  /** How the intervals were made (with `ci`). */
  bootstrap?: {
    resamples: number;
    seed: number;
    level: number;
    bins: number;
    /** Number of clusters resampled (with `clusters`; absent: items were resampled). */
    clusters?: number;
  };
}

/** Options of summarizePredictions. */
export interface SummaryOptions {
  /** Bootstrap resamples for confidence intervals (none when absent or 0). */
  ci?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
  /** Interval level (default 0.95). */
  level?: number;
  /** ECE bins (default 15). */
  bins?: number;
  /** Classes to report, in this order (default: classes present in labels or predictions). */
  labels?: readonly Emotion[];
  /** Cluster key of each row: intervals resample whole clusters (see bootstrapClassification). */
  clusters?: ArrayLike<string | number>;
}

function orNull(x: number): number | null {
  return Number.isNaN(x) ? null : x;
}

/**
 * Summarise a predictions table (lib/predictions.ts): accuracy, balanced accuracy, macro and
 * weighted F1, Cohen's kappa, ECE, NLL, Brier, per-class scores and the confusion matrix, with
 * bootstrap intervals when `opts.ci` > 0. Class ids are EMOTIONS indices; the probability columns
 * are `table.classes`.
 */
export function summarizePredictions(
  table: PredictionTable,
  opts: SummaryOptions = {},
): MetricsSummary {
  if (table.rows.length === 0) throw new Error("metrics: the predictions table has no rows");
  const n = table.rows.length;
  const yTrue = new Int32Array(n);
  const yPred = new Int32Array(n);
  const cols = table.classes.length;
  const probs: ScoreMatrix = { rows: n, cols, data: new Float64Array(n * cols) };
  table.rows.forEach((r, i) => {
    yTrue[i] = emotionIndex(r.label);
    yPred[i] = emotionIndex(r.pred);
    probs.data.set(r.probs, i * cols);
  });
  const classes = table.classes.map(emotionIndex);
  const labels = resolveLabels([yTrue, yPred], opts.labels?.map(emotionIndex));
  const bins = opts.bins ?? DEFAULT_ECE_BINS;
  const counts = countConfusion(yTrue, yPred, EMOTIONS.length);
  const head = headlineFromCounts(counts, labels);
  const perClass: Record<string, ClassSummary> = {};
  for (const s of perClassFromCounts(counts, labels)) {
    perClass[EMOTIONS[s.label]] = {
      precision: s.precision,
      recall: s.recall,
      f1: s.f1,
      support: s.support,
    };
  }
  const hasAllColumns = yTrue.every((t) => classes.includes(t));
  const summary: MetricsSummary = {
    n,
    accuracy: head.accuracy,
    balanced_accuracy: head.balancedAccuracy,
    macro_f1: head.macroF1,
    weighted_f1: head.weightedF1,
    cohen_kappa: orNull(head.cohenKappa),
    ece: expectedCalibrationError(yTrue, probs, { classes, bins }),
    nll: hasAllColumns ? negativeLogLikelihood(yTrue, probs, { classes }) : null,
    brier: brierScore(yTrue, probs, { classes }),
    per_class: perClass,
    confusion: {
      labels: Array.from(labels, (l) => EMOTIONS[l]),
      matrix: toRows(selectConfusion(counts, labels), labels.length),
    },
  };
  if (opts.ci !== undefined && opts.ci > 0) {
    const iv = bootstrapClassification(yTrue, yPred, {
      resamples: opts.ci,
      seed: opts.seed ?? 0,
      level: opts.level ?? 0.95,
      labels,
      probs,
      classes,
      bins,
      ...(opts.clusters !== undefined ? { clusters: opts.clusters } : {}),
    });
    const pair = (x: { lower: number; upper: number }): [number | null, number | null] => [
      orNull(x.lower),
      orNull(x.upper),
    ];
    summary.ci = {
      accuracy: pair(iv.accuracy),
      balanced_accuracy: pair(iv.balancedAccuracy),
      macro_f1: pair(iv.macroF1),
      weighted_f1: pair(iv.weightedF1),
      cohen_kappa: pair(iv.cohenKappa),
    };
    if (iv.ece !== undefined) summary.ci.ece = pair(iv.ece);
    summary.bootstrap = {
      resamples: opts.ci,
      seed: opts.seed ?? 0,
      level: opts.level ?? 0.95,
      bins,
    };
    if (opts.clusters !== undefined) {
      summary.bootstrap.clusters = new Set(Array.from(opts.clusters)).size;
    }
  }
  return summary;
}

function fmt(x: number | null, digits = 4): string {
  return x === null ? "n/a" : x.toFixed(digits);
}

/** A readable text rendering of a summary (what `kit metrics` prints without --json). */
export function formatSummary(s: MetricsSummary): string {
  const ci = (key: string): string => {
    const iv = s.ci?.[key];
    return iv === undefined ? "" : `  [${fmt(iv[0])}, ${fmt(iv[1])}]`;
  };
  const lines: string[] = [];
  lines.push(`items              ${s.n}`);
  const rows: [string, string, number | null][] = [
    ["accuracy", "accuracy", s.accuracy],
    ["balanced accuracy", "balanced_accuracy", s.balanced_accuracy],
    ["macro F1", "macro_f1", s.macro_f1],
    ["weighted F1", "weighted_f1", s.weighted_f1],
    ["Cohen's kappa", "cohen_kappa", s.cohen_kappa],
    ["ECE", "ece", s.ece],
    ["NLL", "nll", s.nll],
    ["Brier", "brier", s.brier],
  ];
  for (const [label, key, v] of rows) lines.push(`${label.padEnd(18)} ${fmt(v)}${ci(key)}`);
  if (s.bootstrap !== undefined) {
    lines.push(
      `(${
        Math.round(s.bootstrap.level * 100)
      } % percentile bootstrap, ${s.bootstrap.resamples} resamples, seed ${s.bootstrap.seed})`,
    );
  }
  lines.push(
    "",
    `${"class".padEnd(10)} ${"precision".padStart(9)} ${"recall".padStart(9)} ${"F1".padStart(9)} ${
      "support".padStart(8)
    }`,
  );
  for (const [name, c] of Object.entries(s.per_class)) {
    lines.push(
      `${name.padEnd(10)} ${fmt(c.precision).padStart(9)} ${fmt(c.recall).padStart(9)} ${
        fmt(c.f1).padStart(9)
      } ${String(c.support).padStart(8)}`,
    );
  }
  const names = s.confusion.labels;
  const w = Math.max(
    ...names.map((x) => x.length + 1),
    ...s.confusion.matrix.flat().map((v) => String(v).length + 1),
  );
  lines.push("", "confusion (rows = true, columns = predicted)");
  lines.push(`${"".padEnd(10)}${names.map((x) => x.padStart(w)).join("")}`);
  s.confusion.matrix.forEach((row, i) => {
    lines.push(`${names[i].padEnd(10)}${row.map((v) => String(v).padStart(w)).join("")}`);
  });
  return lines.join("\n");
}
