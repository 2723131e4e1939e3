/**
 * Do models trained on the same data agree more than models trained on different data
 * (notebook 03; the explanation offered for why the kit's FER2013-trained models agree more than
 * the nine-model benchmark's)? On each test set, every pair of models whose cards name their
 * training data gets Cohen's κ on the classes both can output (each model's top class among
 * them). Pairs fall in three kinds: trained on the same dataset, on the same faces with other
 * labels (FER2013 and FER+), and on different datasets. The mean κ of each kind and the
 * difference same − different carry percentile bootstrap intervals from one set of resamples
 * (CK+ subjects and ExpW photographs resampled whole).
 */
import { ciPair, type Finding } from "../findings.ts";
import {
  argmaxAmong,
  type BootstrapInterval,
  bootstrapSettings,
  clusterBootstrapValues,
  intervalFromValues,
  pairKappaStatistic,
  type RaterPair,
} from "../metrics/mod.ts";
import type { JoinedPredictions } from "../predictions.ts";
import { joinPredictions } from "../predictions.ts";
import { type Emotion, EMOTIONS } from "../taxonomy.ts";
import { clusterKeys, clusterUnit, STUDY_BOOTSTRAP } from "./clusters.ts";
import { gridModel, type StudyGrid } from "./grid.ts";
import { isTrainingSizePoint, trainingDatasetOf } from "./models.ts";
import { distinctFaces, sameFaces } from "./transfer.ts";

/** How the training data of two models relate. */
export type TrainingRelation = "same dataset" | "same faces, other labels" | "different datasets";

/** The relations, in the order tables and charts show them. */
export const TRAINING_RELATIONS: readonly TrainingRelation[] = [
  "same dataset",
  "same faces, other labels",
  "different datasets",
];

/** The relation of two training datasets (FER2013 and FER+ hold the same faces). */
export function trainingRelation(a: string, b: string): TrainingRelation {
  return a === b
    ? "same dataset"
    : sameFaces(a, b)
    ? "same faces, other labels"
    : "different datasets";
}

/** One pair of models on one test set. */
export interface ModelPairKappa {
  a: string;
  b: string;
  trainA: string;
  trainB: string;
  relation: TrainingRelation;
  /** Classes both models can output: each model's prediction is its top class among them. */
  classes: Emotion[];
  /** Cohen's κ on all the test set's joined items. */
  kappa: number;
}

/** Mean pairwise κ of one kind of pair on one test set. */
export interface RelationKappa {
  relation: TrainingRelation;
  pairs: number;
  kappa: BootstrapInterval;
}

/** One test set. */
export interface TrainingAgreementDataset {
  dataset: string;
  /** Items every model was predicted on. */
  items: number;
  /** What one resample draws: "image", "subject" or "source photograph". */
  unit: string;
  models: { id: string; train: string }[];
  pairs: ModelPairKappa[];
  byRelation: RelationKappa[];
  /** Mean κ(same dataset) − mean κ(different datasets), paired; null without both kinds. */
  sameMinusDifferent: BootstrapInterval | null;
}

/** The study: per test set (each set of faces once), and the models it could not use. */
export interface TrainingAgreement {
  datasets: TrainingAgreementDataset[];
  /** Models of the grid left out, and why (training data unstated). */
  leftOut: { id: string; why: string }[];
  findings: Finding[];
}

/** Each model's top class among `classes`, per item, from the joined probabilities. */
function topAmong(probs: Float64Array, items: number, classes: readonly Emotion[]): Int32Array {
  const cols = classes.map((c) => EMOTIONS.indexOf(c));
  const k = EMOTIONS.length;
  return Int32Array.from({ length: items }, (_, i) => cols[argmaxAmong(probs, cols, i * k)]);
}

/**
 * Pairwise κ of the joined models (`train[m]`: model m's training dataset; `classesOf[m]`: the
 * classes it can output) and the mean κ per relation, resampling `clusters` (one key per item).
 */
export function relationKappas(
  joined: Pick<JoinedPredictions, "ids" | "names" | "probs">,
  train: readonly string[],
  classesOf: readonly (readonly Emotion[])[],
  clusters: readonly string[],
  opts: { resamples?: number; seed?: number } = {},
): Pick<TrainingAgreementDataset, "pairs" | "byRelation" | "sameMinusDifferent"> {
  const n = joined.ids.length;
  const pairs: ModelPairKappa[] = [];
  const raters: RaterPair[] = [];
  for (let a = 0; a < joined.names.length; a++) {
    for (let b = a + 1; b < joined.names.length; b++) {
      const classes = EMOTIONS.filter((e) => classesOf[a].includes(e) && classesOf[b].includes(e));
      if (classes.length < 2) continue;
      const pair: RaterPair = [
        topAmong(joined.probs[a], n, classes),
        topAmong(joined.probs[b], n, classes),
      ];
      raters.push(pair);
      pairs.push({
        a: joined.names[a],
        b: joined.names[b],
        trainA: train[a],
        trainB: train[b],
        relation: trainingRelation(train[a], train[b]),
        classes,
        kappa: NaN, // filled from the full-sample pass below
      });
    }
  }
  // One bootstrap pass: each resample's pair κs give every relation's mean and the gap.
  const kappas = pairKappaStatistic(raters, EMOTIONS.length);
  const groups = TRAINING_RELATIONS.map((r) =>
    pairs.flatMap((p, i) => (p.relation === r ? [i] : []))
  );
  const means = (k: Float64Array) =>
    groups.map((g) => (g.length === 0 ? NaN : g.reduce((sum, i) => sum + k[i], 0) / g.length));
  const full = kappas(Int32Array.from({ length: n }, (_, i) => i));
  full.forEach((k, i) => (pairs[i].kappa = k));
  const estimates = means(full);
  const settings = bootstrapSettings({ ...STUDY_BOOTSTRAP, ...opts });
  const perResample = groups.map(() => new Float64Array(settings.resamples));
  const [same, different] = [0, 2];
  let b = 0;
  const gaps = clusterBootstrapValues(clusters, (idx) => {
    const m = means(kappas(idx));
    m.forEach((v, g) => (perResample[g][b] = v));
    b++;
    return m[same] - m[different];
  }, settings);
  const byRelation: RelationKappa[] = TRAINING_RELATIONS.flatMap((relation, g) =>
    groups[g].length === 0 ? [] : [{
      relation,
      pairs: groups[g].length,
      kappa: intervalFromValues(estimates[g], perResample[g], settings),
    }]
  );
  const sameMinusDifferent = groups[same].length > 0 && groups[different].length > 0
    ? intervalFromValues(estimates[same] - estimates[different], gaps, settings)
    : null;
  return { pairs, byRelation, sameMinusDifferent };
}

/**
 * Agreement by training data on every test set of the grid (a set of faces once: FER+ holds
 * FER2013's faces, so it is measured as FER2013), for the grid's models whose cards state their
 * training data. A test set needs models from at least two training datasets.
 */
export function agreementByTrainingData(
  grid: StudyGrid,
  opts: { resamples?: number; seed?: number } = {},
): TrainingAgreement {
  const leftOut: TrainingAgreement["leftOut"] = [];
  const trainOf = new Map<string, string>();
  for (const m of grid.models) {
    const t = trainingDatasetOf(m.card);
    if (t === null) {
      leftOut.push({ id: m.card.id, why: "its card does not state its training data" });
    } else if (isTrainingSizePoint(m.card)) {
      leftOut.push({
        id: m.card.id,
        why: "a point of the training-size curve (a subset of FER2013)",
      });
    } else trainOf.set(m.card.id, t);
  }
  const datasets: TrainingAgreementDataset[] = [];
  for (const d of distinctFaces(grid.datasets, (x) => x.name)) {
    const cells = grid.cells.filter((c) => c.dataset === d.name && trainOf.has(c.model));
    const train = cells.map((c) => trainOf.get(c.model)!);
    if (new Set(train).size < 2) continue;
    const joined = joinPredictions(cells.map((c) => ({ name: c.model, table: c.table })));
    if (joined.ids.length === 0) continue;
    const classesOf = cells.map((c) => gridModel(grid, c.model)!.card.output.classes);
    datasets.push({
      dataset: d.name,
      items: joined.ids.length,
      unit: clusterUnit(d.name),
      models: cells.map((c, i) => ({ id: c.model, train: train[i] })),
      ...relationKappas(joined, train, classesOf, clusterKeys(d, joined.ids), opts),
    });
  }
  return { datasets, leftOut, findings: trainingAgreementFindings(datasets) };
}

/** Findings: per test set, the mean κ of same- and different-dataset pairs and their gap. */
function trainingAgreementFindings(datasets: readonly TrainingAgreementDataset[]): Finding[] {
  if (datasets.length === 0) {
    return [{
      id: "agreement.training.gap",
      label: "Mean κ, same training data − different training data",
      value: null,
      group: "Agreement and training data",
      note: "no test set with models from two training datasets",
    }];
  }
  return datasets.flatMap((d) => {
    const note = (pairs: number) =>
      `${pairs} model pairs, ${d.items} images; bootstrap 95 % CI resampling ${d.unit}s`;
    const rows: Finding[] = d.byRelation
      .filter((r) => r.relation !== "same faces, other labels")
      .map((r) => ({
        id: `agreement.training.${
          r.relation === "same dataset" ? "same" : "different"
        }.${d.dataset}`,
        label: `Mean Cohen's κ of models trained on ${
          r.relation === "same dataset" ? "the same dataset" : "different datasets"
        }, ${d.dataset} test`,
        value: r.kappa.estimate,
        ci: ciPair(r.kappa),
        unit: "κ",
        group: "Agreement and training data",
        note: note(r.pairs),
      }));
    if (d.sameMinusDifferent !== null) {
      rows.push({
        id: `agreement.training.gap.${d.dataset}`,
        label: `Mean κ, same training data − different training data, ${d.dataset} test`,
        value: d.sameMinusDifferent.estimate,
        ci: ciPair(d.sameMinusDifferent),
        unit: "κ",
        group: "Agreement and training data",
        note: `paired bootstrap 95 % CI resampling ${d.unit}s`,
      });
    }
    return rows;
  });
}
