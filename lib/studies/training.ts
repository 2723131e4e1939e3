/**
 * Studies of the networks the kit trains itself (notebook 04): Tao's Kaggle split (test = the
 * whole Kaggle test folder, PublicTest + PrivateTest) and the training-size curve (the self-built
 * CNN on 1/8, 1/4, 1/2 and all of FER2013 training). Models come from card roles (`tao-split`,
 * `training-size`); intervals are the studies' percentile bootstrap (STUDY_BOOTSTRAP).
 */
import { dataRoot as defaultDataRoot } from "../config.ts";
import { loadDataset } from "../datasets/mod.ts";
import type { BootstrapInterval } from "../metrics/bootstrap.ts";
import { loadCard, modelsWithRole } from "../models/registry.ts";
import { predictDataset } from "../predict.ts";
import type { PredictionTable } from "../predictions.ts";
import { BASIC7, type Emotion, emotionIndex } from "../taxonomy.ts";
import {
  datasetProvenance,
  type Finding,
  modelProvenance,
  type ProvenanceRecord,
} from "../findings.ts";
import type { ResolvedModel } from "../models/registry.ts";
import { accuracyStatistic, recallStatistic } from "../metrics/mod.ts";
import { labelArrays, studyInterval } from "./scoring.ts";

/** Precision of one class over the items at `indices` (NaN when it is never predicted). */
function precisionStatistic(yTrue: Int32Array, yPred: Int32Array, cls: Emotion) {
  const c = emotionIndex(cls);
  return (idx: Int32Array): number => {
    let predicted = 0, hits = 0;
    for (let i = 0; i < idx.length; i++) {
      if (yPred[idx[i]] !== c) continue;
      predicted++;
      if (yTrue[idx[i]] === c) hits++;
    }
    return predicted === 0 ? NaN : hits / predicted;
  };
}

/** Share of the items at `indices` predicted as `cls`. */
function predictedShareStatistic(yPred: Int32Array, cls: Emotion) {
  const c = emotionIndex(cls);
  return (idx: Int32Array): number => {
    let n = 0;
    for (let i = 0; i < idx.length; i++) if (yPred[idx[i]] === c) n++;
    return n / idx.length;
  };
}

/** One class's figures for one model, each with a bootstrap interval. */
export interface ClassFigures {
  recall: BootstrapInterval;
  precision: BootstrapInterval;
  /** Share of all test items predicted as this class. */
  predictedShare: BootstrapInterval;
  /** Share of all test items labelled as this class. */
  trueShare: number;
}

/** A model's accuracy and per-class figures on one test set. */
export interface ModelClassFigures {
  model: string;
  /** The model's ONNX file hash, for the report's provenance. */
  provenance: ProvenanceRecord;
  n: number;
  accuracy: BootstrapInterval;
  /** Per class of FER2013 (BASIC7). */
  classes: Record<string, ClassFigures>;
  /** Classes ranked by recall, lowest first. */
  byRecall: Emotion[];
}

/** Figures of a prediction table on FER2013 classes. */
function classFigures(
  resolved: ResolvedModel,
  table: PredictionTable,
  opts: { resamples?: number; seed?: number },
): ModelClassFigures {
  const model = resolved.card.id;
  const { yTrue, yPred } = labelArrays(table);
  const n = yTrue.length;
  const classes: Record<string, ClassFigures> = {};
  for (const c of BASIC7) {
    const ci = emotionIndex(c);
    classes[c] = {
      recall: studyInterval(n, recallStatistic(yTrue, yPred, c), opts),
      precision: studyInterval(n, precisionStatistic(yTrue, yPred, c), opts),
      predictedShare: studyInterval(n, predictedShareStatistic(yPred, c), opts),
      trueShare: yTrue.filter((t) => t === ci).length / n,
    };
  }
  const byRecall = [...BASIC7].sort((a, b) =>
    classes[a].recall.estimate - classes[b].recall.estimate
  );
  return {
    model,
    provenance: modelProvenance(resolved),
    n,
    accuracy: studyInterval(n, accuracyStatistic(yTrue, yPred), opts),
    classes,
    byRecall,
  };
}

/** Tao's setup: the `tao-split` models on FER2013's Kaggle test folder. */
export interface TaoSplitStudy {
  /** Test images (PublicTest + PrivateTest). */
  n: number;
  /** The test set's provenance (null when it was not found). */
  dataset: ProvenanceRecord | null;
  models: ModelClassFigures[];
}

/** Options of the training studies. */
export interface TrainingStudyOptions {
  dataRoot?: string;
  cache?: boolean;
  resamples?: number;
  seed?: number;
}

/** Run every `tao-split` model on FER2013 with `fer2013Split: "kaggle"` (cached predictions). */
export async function taoSplitStudy(opts: TrainingStudyOptions = {}): Promise<TaoSplitStudy> {
  const networks = await modelsWithRole("tao-split");
  const ds = networks.length === 0 ? null : await loadDataset("fer2013", {
    dataRoot: opts.dataRoot ?? defaultDataRoot(),
    split: "test",
    fer2013Split: "kaggle",
  }).catch(() => null);
  if (ds === null) return { n: 0, dataset: null, models: [] };
  const models: ModelClassFigures[] = [];
  for (const m of networks) {
    const model = await loadCard(m.id);
    const r = await predictDataset(model, ds, { progress: false, cache: opts.cache ?? true });
    models.push(classFigures(model, r, opts));
  }
  return { n: ds.samples.length, dataset: datasetProvenance(ds, "test (kaggle split)"), models };
}

/** One point of the training-size curve. */
export interface SizePoint extends ModelClassFigures {
  /** Fraction of FER2013 training used (card `training.fraction`, 1 when absent). */
  fraction: number;
}

/**
 * The `training-size` models (the FER2013 self-built CNN on fractions of its training part) on
 * FER2013 test, sorted by training fraction; none without such models or without FER2013.
 */
export async function trainingSizeCurve(opts: TrainingStudyOptions = {}): Promise<SizePoint[]> {
  const networks = await modelsWithRole("training-size");
  const ds = networks.length === 0 ? null : await loadDataset("fer2013", {
    dataRoot: opts.dataRoot ?? defaultDataRoot(),
    split: "test",
  }).catch(() => null);
  if (ds === null) return [];
  const out: SizePoint[] = [];
  for (const m of networks) {
    const model = await loadCard(m.id);
    const r = await predictDataset(model, ds, { progress: false, cache: opts.cache ?? true });
    out.push({ fraction: m.card.training?.fraction ?? 1, ...classFigures(model, r, opts) });
  }
  return out.sort((a, b) => a.fraction - b.fraction);
}

/** Findings of Tao's split: per model, accuracy and the class's recall, precision, share. */
export function taoFindings(study: TaoSplitStudy, cls: Emotion = "neutral"): Finding[] {
  return study.models.flatMap((m) => {
    const note = `FER2013 Kaggle test folder (PublicTest + PrivateTest), ${m.n} images; ` +
      `item bootstrap; ${cls} recall rank ${m.byRecall.indexOf(cls) + 1} of 7 (1 = lowest)`;
    const f = (what: string, iv: BootstrapInterval): Finding => ({
      id: `tao-split.${m.model}.${what.replaceAll(" ", "-")}`,
      label: `${m.model} on Tao's split: ${what}`,
      value: iv.estimate,
      ci: [iv.lower, iv.upper],
      group: "Tao's Kaggle split",
      note,
    });
    return [
      f("accuracy", m.accuracy),
      f(`${cls} recall`, m.classes[cls].recall),
      f(`${cls} precision`, m.classes[cls].precision),
      f(`share predicted ${cls}`, m.classes[cls].predictedShare),
    ];
  });
}

/** Findings of the curve: accuracy per training fraction. */
export function sizeFindings(points: readonly SizePoint[]): Finding[] {
  return points.map((p) => ({
    id: `training-size.${p.fraction}`,
    label: `self-built CNN on ${p.fraction} of FER2013 training: accuracy on FER2013 test`,
    value: p.accuracy.estimate,
    ci: [p.accuracy.lower, p.accuracy.upper],
    unit: "accuracy",
    group: "Training-size curve",
    note: `${p.model}; ${p.n} test images; item bootstrap`,
  }));
}
