/**
 * Agreement study helpers (notebook 03): how far models agree with each other on the same faces
 * (Fleiss' κ among models, pairwise Cohen's κ, per-category κ), how far the FER+ crowd agrees
 * (Fleiss' κ of the ten votes per image: the reference for attainable agreement), and whether an
 * ensemble that abstains when its members disagree buys accuracy (coverage against accuracy).
 */
import {
  ABSTAIN,
  type BootstrapInterval,
  cohenKappa,
  coverageAccuracyCurve,
  type CoveragePoint,
  fleissKappaFromCounts,
  fleissStatistic,
  krippendorffAlpha,
  majorityVote,
  meanProbability,
  ratersToItems,
  selectiveAccuracy,
} from "../metrics/mod.ts";
import { type JoinedPredictions, joinPredictions } from "../predictions.ts";
import type { Sample } from "../sample.ts";
import { type Emotion, EMOTIONS } from "../taxonomy.ts";
import { ciPair, type Finding } from "../findings.ts";
import { gridDataset, gridModel, type StudyGrid } from "./grid.ts";
import { restrictToModel, studyInterval } from "./scoring.ts";
import { clusterInterval, clusterKeys } from "./clusters.ts";
import { isBenchmarked } from "./models.ts";
import { distinctFaces } from "./transfer.ts";

/** Per-item category counts (items × EMOTIONS) of raters' class ids. Pure. */
export function countsPerItem(raters: readonly Int32Array[]): number[][] {
  return ratersToItems(raters).map((row) => {
    const counts = new Array<number>(EMOTIONS.length).fill(0);
    for (const c of row) counts[c]++;
    return counts;
  });
}

/** Per-category κ (category against the rest) of a count table, for categories used. */
export interface CategoryKappa {
  category: Emotion | "other";
  kappa: number;
  /** Share of all ratings in the category. */
  proportion: number;
}

/** Agreement among models on one dataset. */
export interface ModelAgreement {
  names: string[];
  items: number;
  /** Fleiss' κ among the models with a percentile bootstrap interval over items. */
  fleiss: BootstrapInterval;
  perCategory: CategoryKappa[];
  /** Nominal Krippendorff's α among the models. */
  krippendorff: number;
  /** Unweighted Cohen's κ of every pair of models (symmetric; 1 on the diagonal). */
  pairwise: number[][];
  /** Share of items on which every model gives the same class. */
  unanimous: number;
}

/**
 * Fleiss' κ (with bootstrap interval over items, or over whole `clusters`, one key per joined
 * item), per-category κ, Krippendorff's α, pairwise Cohen's κ and
 * the unanimous share among the joined models. Needs at least two models.
 */
export function modelAgreement(
  joined: JoinedPredictions,
  opts: { resamples?: number; seed?: number; clusters?: readonly string[] } = {},
): ModelAgreement {
  const m = joined.preds.length;
  if (m < 2) throw new Error("agreement among models needs at least two models");
  const counts = countsPerItem(joined.preds);
  const { clusters, ...boot } = opts;
  const fleiss = clusters
    ? clusterInterval(clusters, fleissStatistic(counts), boot)
    : studyInterval(counts.length, fleissStatistic(counts), boot);
  const full = fleissKappaFromCounts(counts);
  const perCategory: CategoryKappa[] = full.categories
    .filter((c) => c.proportion > 0)
    .map((c) => ({ category: EMOTIONS[c.category], kappa: c.kappa, proportion: c.proportion }));
  const pairwise = joined.preds.map((a) => joined.preds.map((b) => cohenKappa(a, b)));
  let unanimous = 0;
  for (const row of counts) if (row.includes(m)) unanimous++;
  return {
    names: joined.names,
    items: counts.length,
    fleiss,
    perCategory,
    krippendorff: krippendorffAlpha(ratersToItems(joined.preds)),
    pairwise,
    unanimous: unanimous / counts.length,
  };
}

/** Columns of the human vote table: the eight emotions, then unknown / not-a-face. */
export const VOTE_CATEGORIES: readonly (Emotion | "other")[] = [...EMOTIONS, "other"];

/**
 * The crowd's count table (items × VOTE_CATEGORIES) from samples' `votes` (FER+: ten votes per
 * image), in sample order. Throws naming the first sample without votes.
 */
export function voteTable(samples: readonly Sample[]): number[][] {
  return samples.map((s) => {
    if (s.votes === undefined) {
      throw new Error(`sample "${s.id}" has no annotator votes (FER+ keeps them; others do not)`);
    }
    return VOTE_CATEGORIES.map((c) => s.votes?.[c] ?? 0);
  });
}

/** Agreement among human annotators. */
export interface HumanAgreement {
  items: number;
  /** Mean number of votes per item. */
  votesPerItem: number;
  fleiss: BootstrapInterval;
  perCategory: CategoryKappa[];
}

/**
 * Fleiss' κ of the annotators' votes (each item's own number of votes; Fleiss 1971 with
 * per-item n_i, see lib/metrics FleissRaters "variable"), with a bootstrap interval over items,
 * and per-category κ.
 */
export function humanAgreement(
  votes: readonly number[][],
  opts: { resamples?: number; seed?: number } = {},
): HumanAgreement {
  if (votes.length === 0) throw new Error("human agreement: no items");
  const full = fleissKappaFromCounts(votes, { raters: "variable" });
  const fleiss = studyInterval(votes.length, fleissStatistic(votes), opts);
  const total = votes.reduce((a, r) => a + r.reduce((x, y) => x + y, 0), 0);
  return {
    items: votes.length,
    votesPerItem: total / votes.length,
    fleiss,
    perCategory: full.categories
      .filter((c) => c.proportion > 0)
      .map((c) => ({
        category: VOTE_CATEGORIES[c.category],
        kappa: c.kappa,
        proportion: c.proportion,
      })),
  };
}

/**
 * Paired bootstrap interval of κ(humans) − κ(models) over the same items (the same resample
 * indices for both): `votes` and the models' count table must list the same items in order.
 */
export function humanModelGap(
  votes: readonly number[][],
  modelCounts: readonly number[][],
  opts: { resamples?: number; seed?: number } = {},
): BootstrapInterval {
  if (votes.length !== modelCounts.length) {
    throw new Error(`human/model gap: ${votes.length} voted items, ${modelCounts.length} rated`);
  }
  const human = fleissStatistic(votes);
  const models = fleissStatistic(modelCounts);
  return studyInterval(votes.length, (idx) => human(idx) - models(idx), opts);
}

/** A coverage-against-accuracy curve under a name. */
export interface NamedCurve {
  name: string;
  points: CoveragePoint[];
}

/** Ensemble and single-model selective-prediction results on joined predictions. */
export interface EnsembleStudy {
  /** Mean-probability ensemble, confidence = mean probability of its class. */
  meanProb: NamedCurve;
  /** Each model alone, confidence = its top probability. */
  single: NamedCurve[];
  /**
   * Plurality vote (ties: lowest class id) that abstains unless at least `minVotes` models give
   * the winning class, for minVotes = 1 (never abstains) .. all models (unanimity).
   */
  votes: { minVotes: number; coverage: number; accuracy: number }[];
  /** Accuracy of the mean-probability ensemble with no abstention, and of each model. */
  fullAccuracy: { name: string; accuracy: number }[];
}

/**
 * Selective prediction on joined predictions: the mean-probability ensemble's and each model's
 * coverage-against-accuracy curve, and the majority vote with abstention at every vote count.
 */
export function ensembleStudy(joined: JoinedPredictions): EnsembleStudy {
  const n = joined.ids.length;
  const m = joined.preds.length;
  if (n === 0) throw new Error("ensemble: no items");
  const k = EMOTIONS.length;
  const mats = joined.probs.map((data) => ({ rows: n, cols: k, data }));
  const mean = meanProbability(mats);
  const meanCurve = coverageAccuracyCurve(joined.labels, mean.pred, mean.confidence);
  const single = joined.preds.map((pred, j) => {
    const conf = new Float64Array(n);
    for (let i = 0; i < n; i++) conf[i] = joined.probs[j][i * k + pred[i]];
    return { name: joined.names[j], points: coverageAccuracyCurve(joined.labels, pred, conf) };
  });
  const votes: EnsembleStudy["votes"] = [];
  const vote = majorityVote(joined.preds, { ties: "lowest" });
  for (let need = 1; need <= m; need++) {
    const pred = vote.pred.map((p, i) => (vote.confidence[i] * m + 1e-9 >= need ? p : ABSTAIN));
    const s = selectiveAccuracy(joined.labels, pred);
    votes.push({ minVotes: need, coverage: s.coverage, accuracy: s.accuracy });
  }
  const acc = (pred: ArrayLike<number>) => {
    let hits = 0;
    for (let i = 0; i < n; i++) if (pred[i] === joined.labels[i]) hits++;
    return hits / n;
  };
  return {
    meanProb: { name: "mean-probability ensemble", points: meanCurve },
    single,
    votes,
    fullAccuracy: [
      { name: "mean-probability ensemble", accuracy: acc(mean.pred) },
      ...joined.preds.map((p, j) => ({ name: joined.names[j], accuracy: acc(p) })),
    ],
  };
}

/**
 * The curve's accuracy at each target coverage (the point with the smallest coverage ≥ target;
 * NaN beyond the curve's end), for plotting and tables. Pure.
 */
export function accuracyAtCoverage(
  points: readonly CoveragePoint[],
  targets: readonly number[],
): { coverage: number; accuracy: number }[] {
  return targets.map((t) => {
    const p = points.find((q) => q.coverage >= t - 1e-12);
    return { coverage: t, accuracy: p ? p.accuracy : NaN };
  });
}

/** The models' joined predictions and their agreement on one dataset. */
export interface DatasetAgreement {
  dataset: string;
  joined: JoinedPredictions;
  agreement: ModelAgreement;
  /** Images of the dataset left out (labels some model cannot output, or unreadable). */
  leftOut: number;
}

/** Agreement among the models on every dataset that at least two models were run on. */
export interface AgreementByDataset {
  datasets: DatasetAgreement[];
  /**
   * Datasets sorted by Fleiss' κ, highest first, each set of faces once (FER+ holds FER2013's
   * faces: the models' κ there is theirs on FER2013, so FER+ is kept only for the crowd).
   */
  ranked: DatasetAgreement[];
  /** Highest and lowest per-category κ over all datasets (null when none is defined). */
  highestCategory: (CategoryKappa & { dataset: string }) | null;
  lowestCategory: (CategoryKappa & { dataset: string }) | null;
}

/**
 * Join the benchmarked models' predictions (isBenchmarked: not the kit's matrix and
 * training-size networks) per dataset on the images every model can be scored on (labels all of
 * them can output, so agreement, accuracy and the human reference use the same faces), and
 * measure their agreement; Fleiss' κ resamples CK+ subjects and ExpW photographs.
 */
export function agreementByDataset(grid: StudyGrid): AgreementByDataset {
  const datasets: DatasetAgreement[] = [];
  for (const d of grid.datasets) {
    const cells = grid.cells.filter((c) =>
      c.dataset === d.name && isBenchmarked(gridModel(grid, c.model)!.card)
    );
    if (cells.length < 2) continue;
    const common = EMOTIONS.filter((e) =>
      cells.every((c) => gridModel(grid, c.model)!.card.output.classes.includes(e))
    );
    const joined = joinPredictions(cells.map((c) => ({
      name: c.model,
      table: restrictToModel(c.table, common, d.classes).table,
    })));
    datasets.push({
      dataset: d.name,
      joined,
      agreement: modelAgreement(joined, { clusters: clusterKeys(d, joined.ids) }),
      leftOut: d.samples.length - joined.ids.length,
    });
  }
  const flat = datasets.flatMap((d) =>
    d.agreement.perCategory.map((c) => ({ dataset: d.dataset, ...c }))
  ).filter((c) => Number.isFinite(c.kappa));
  const pick = (better: (a: number, b: number) => boolean) =>
    flat.reduce<(typeof flat)[number] | null>(
      (a, b) => (a === null || better(b.kappa, a.kappa) ? b : a),
      null,
    );
  return {
    datasets,
    ranked: distinctFaces(datasets, (d) => d.dataset).sort((a, b) =>
      b.agreement.fleiss.estimate - a.agreement.fleiss.estimate
    ),
    highestCategory: pick((b, a) => b > a),
    lowestCategory: pick((b, a) => b < a),
  };
}

/** The FER+ annotators against the models on the same images. */
export interface HumanReference {
  /** All ten votes per image (eight emotions, unknown and not-a-face as "other"). */
  humans: HumanAgreement;
  /** Only the votes for the seven basic classes. */
  humans7: HumanAgreement;
  models: ModelAgreement;
  /** κ(annotators) − κ(models), paired bootstrap over images. */
  gap: BootstrapInterval;
}

/** What humanReference found: the reference, or null when FER+ or two models are missing. */
export interface HumanReferenceStudy {
  reference: HumanReference | null;
  findings: Finding[];
}

/** Fleiss' κ of the FER+ crowd on exactly the images the models were compared on. */
export function humanReference(
  grid: StudyGrid,
  byDataset: AgreementByDataset,
  dataset = "ferplus",
): HumanReferenceStudy {
  const joined = byDataset.datasets.find((d) => d.dataset === dataset);
  const loaded = gridDataset(grid, dataset);
  if (!joined || !loaded) {
    return {
      reference: null,
      findings: [
        {
          id: "agreement.models.ferplus",
          label: "Fleiss' κ among models, FER+ test",
          value: null,
          group: "Agreement",
          note: "FER+ or models missing",
        },
        {
          id: "agreement.humans.ferplus",
          label: "Fleiss' κ among FER+ annotators",
          value: null,
          group: "Agreement",
          note: "FER+ or models missing",
        },
      ],
    };
  }
  const byId = new Map(loaded.samples.map((s) => [s.id, s]));
  const votes = voteTable(joined.joined.ids.map((id) => byId.get(id)!));
  const humans = humanAgreement(votes);
  const humans7 = humanAgreement(votes.map((row) => row.slice(0, 7)));
  const models = joined.agreement;
  const gap = humanModelGap(votes, countsPerItem(joined.joined.preds));
  return {
    reference: { humans, humans7, models, gap },
    findings: [
      {
        id: "agreement.models.ferplus",
        label: `Fleiss' κ among ${models.names.length} models, FER+ test`,
        value: models.fleiss.estimate,
        ci: ciPair(models.fleiss),
        unit: "κ",
        group: "Agreement",
        note: `${models.items} images; bootstrap 95 % CI`,
      },
      {
        id: "agreement.humans.ferplus",
        label: "Fleiss' κ among FER+ annotators, same images",
        value: humans.fleiss.estimate,
        ci: ciPair(humans.fleiss),
        unit: "κ",
        group: "Agreement",
        note: `${humans.votesPerItem.toFixed(1)} votes per image; bootstrap 95 % CI`,
      },
      {
        id: "agreement.gap.ferplus",
        label: "Annotators' κ − models' κ, FER+ test",
        value: gap.estimate,
        ci: ciPair(gap),
        unit: "κ",
        group: "Agreement",
        note: "paired bootstrap 95 % CI over images",
      },
    ],
  };
}

/** Coverages at which the ensemble curves are read (every 5 %). */
export const COVERAGES: readonly number[] = Array.from({ length: 20 }, (_, i) => (i + 1) / 20);

/** One dataset's ensembles with abstention, and the numbers the notebook quotes. */
export interface DatasetEnsemble {
  dataset: string;
  models: number;
  study: EnsembleStudy;
  /** The best single model with no abstention. */
  best: { name: string; accuracy: number };
  /** Coverage at which `atCoverage` is read (0.8). */
  coverage: number;
  /** Accuracy of the ensemble, and of the best single model, on its surest `coverage` share. */
  ensembleAtCoverage: number;
  bestAtCoverage: number;
  /** The vote that needs every model (unanimity). */
  unanimous: { coverage: number; accuracy: number };
}

/** Mean-probability ensemble and majority vote with abstention on every joined dataset. */
export function ensemblesByDataset(
  byDataset: AgreementByDataset,
  coverage = 0.8,
): DatasetEnsemble[] {
  return byDataset.datasets.map((d) => {
    const study = ensembleStudy(d.joined);
    const best = study.fullAccuracy.slice(1).reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
    const single = study.single.find((s) => s.name === best.name)!;
    return {
      dataset: d.dataset,
      models: d.joined.names.length,
      study,
      best,
      coverage,
      ensembleAtCoverage: accuracyAtCoverage(study.meanProb.points, [coverage])[0].accuracy,
      bestAtCoverage: accuracyAtCoverage(single.points, [coverage])[0].accuracy,
      unanimous: study.votes.at(-1)!,
    };
  });
}
