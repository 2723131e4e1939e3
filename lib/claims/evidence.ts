/**
 * The findings that test the registered claims, computed from the prediction grid (every model
 * on the FER2013, FER+, CK+ and ExpW test splits, read from the prediction cache) and, for the
 * probe claim, from probe matrices. Ids: `claim.<claim id>.<what>`. Intervals are 95 %
 * percentile bootstraps (1000 resamples, seed 0); on CK+ and ExpW they resample clusters
 * (subjects, photographs: lib/studies/clusters.ts).
 *
 * The same functions feed `deno task kit claims` and the notebooks' closing verdict cells, so
 * the CLI and the report compute the same verdicts from the same numbers.
 */
import { loadDataset } from "../datasets/mod.ts";
import type { LoadedDataset } from "../datasets/types.ts";
import { ciPair, type Finding } from "../findings.ts";
import {
  accuracyStatistic,
  type BootstrapInterval,
  countConfusion,
  type IndexStatistic,
  macroF1Statistic,
  meanProbability,
  modeWithFallback,
  perClassFromCounts,
  recallStatistic,
  spearman,
} from "../metrics/mod.ts";
import type { ResolvedModel } from "../models/registry.ts";
import { type Emotion, emotionIndex, EMOTIONS } from "../taxonomy.ts";
import { clusterInterval, clusterKeys, clusterUnit } from "../studies/clusters.ts";
import {
  contaminationFindings,
  type ContaminationStudy,
  gridContamination,
} from "../studies/contamination.ts";
import {
  crossDatasetDrops,
  type DropCell,
  probeColumnGaps,
  probeTransfer as probeMatrices,
} from "../studies/transfer.ts";
import {
  gridCell,
  gridDataset,
  gridModel,
  modelsOnDatasets,
  type StudyGrid,
} from "../studies/grid.ts";
import { type AgreementByDataset, agreementByDataset } from "../studies/agreement.ts";
import { trainingDatasetOf } from "../studies/models.ts";
import type { ProbeStudy } from "../studies/probes.ts";
import { labelArrays, restrictToModel, type ScoredTable } from "../studies/scoring.ts";

/** Everything the claims' findings are computed from. */
export interface EvidenceInputs {
  grid: StudyGrid;
  /** FER2013 training images per class (for the imbalance claim); null when not at hand. */
  fer2013TrainCounts: Partial<Record<Emotion, number>> | null;
  /** Probe matrices (notebook 01), when computed. */
  probes: readonly ProbeStudy[];
}

/** Test sets the claims use: FER2013 and FER+ hold the same faces, so FER+ only for labels. */
export const CLAIM_DATASETS: readonly string[] = ["fer2013", "ferplus", "ckplus", "expw"];

/**
 * Load the grid (cached predictions) and the FER2013 training class counts. `probes`: the probe
 * matrices notebook 01 computed, or "compute" to compute them here as notebook 01 does
 * (lib/studies/transfer.ts probeTransfer on the same grid: the same cache entries, so a file read
 * after a notebook 01 run, minutes on a cold cache).
 */
export async function gatherEvidence(
  opts: {
    dataRoot?: string;
    models?: readonly string[];
    probes?: readonly ProbeStudy[] | "compute";
  } = {},
): Promise<EvidenceInputs> {
  const grid = await modelsOnDatasets({
    datasets: CLAIM_DATASETS,
    ...(opts.dataRoot ? { dataRoot: opts.dataRoot } : {}),
    ...(opts.models ? { models: opts.models } : {}),
  });
  const probes = opts.probes === "compute" ? (await probeMatrices(grid)).probes : opts.probes ?? [];
  let fer2013TrainCounts: EvidenceInputs["fer2013TrainCounts"] = null;
  try {
    const train = await loadDataset("fer2013", { split: "train", dataRoot: grid.dataRoot });
    fer2013TrainCounts = {};
    for (const s of train.samples) {
      fer2013TrainCounts[s.label] = (fer2013TrainCounts[s.label] ?? 0) + 1;
    }
  } catch {
    fer2013TrainCounts = null;
  }
  return { grid, fer2013TrainCounts, probes };
}

/** A scored cell with the cluster key of each of its rows. */
interface Scored {
  model: ResolvedModel;
  dataset: LoadedDataset;
  scored: ScoredTable;
  yTrue: Int32Array;
  yPred: Int32Array;
  clusters: string[];
}

function scoredCell(grid: StudyGrid, model: string, dataset: string): Scored | undefined {
  const cell = gridCell(grid, model, dataset);
  const m = gridModel(grid, model);
  const d = gridDataset(grid, dataset);
  if (!cell || !m || !d) return undefined;
  const scored = restrictToModel(cell.table, m.card.output.classes, d.classes);
  if (scored.table.rows.length === 0) return undefined;
  const { yTrue, yPred } = labelArrays(scored.table);
  const clusters = clusterKeys(d, scored.table.rows.map((r) => r.id));
  return { model: m, dataset: d, scored, yTrue, yPred, clusters };
}

function finding(
  id: string,
  label: string,
  iv: Pick<BootstrapInterval, "estimate" | "lower" | "upper">,
  note: string,
  unit = "accuracy",
): Finding {
  return {
    id,
    label,
    value: Number.isFinite(iv.estimate) ? iv.estimate : null,
    ci: ciPair(iv),
    unit,
    group: "Claims",
    note,
  };
}

function unitNote(dataset: string): string {
  const unit = clusterUnit(dataset);
  return unit === "image" ? "bootstrap by image" : `cluster bootstrap by ${unit}`;
}

function f1Statistic(yTrue: Int32Array, yPred: Int32Array, classes: readonly Emotion[]) {
  const labels = Int32Array.from(classes, emotionIndex);
  const k = EMOTIONS.length;
  return (idx: Int32Array): number[] => {
    const t = new Int32Array(idx.length);
    const p = new Int32Array(idx.length);
    for (let i = 0; i < idx.length; i++) {
      t[i] = yTrue[idx[i]];
      p[i] = yPred[idx[i]];
    }
    return perClassFromCounts(countConfusion(t, p, k), labels).map((c) => c.f1);
  };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Contamination audit of every model on FER2013 test (null without FER2013 or FER+). */
export function auditOf(inputs: EvidenceInputs): ContaminationStudy | null {
  return gridContamination(inputs.grid);
}

/**
 * jamroz-cross-drop: own test set minus each test set of other faces (lib/studies/transfer.ts
 * crossDatasetDrops, as notebook 01 shows them), uncontaminated baselines only.
 */
function crossDrop(inputs: EvidenceInputs, flagged: ReadonlySet<string>): Finding[] {
  const cells: DropCell[] = inputs.grid.cells.flatMap((c) => {
    const s = scoredCell(inputs.grid, c.model, c.dataset);
    return s
      ? [{ model: c.model, dataset: c.dataset, scored: s.scored, clusters: s.clusters }]
      : [];
  });
  return crossDatasetDrops(inputs.grid, cells, { flagged }).drops.filter((x) => !x.flagged)
    .map((x) =>
      finding(
        `claim.jamroz-cross-drop.${x.model}.${x.home}-${x.other}`,
        `${x.model}: accuracy on ${x.home} test minus on ${x.other} test`,
        x.accuracy,
        `independent resamples; ${x.home}: ${unitNote(x.home)}; ${x.other}: ${unitNote(x.other)}`,
      )
    );
}

/**
 * jamroz-probe-transfer: within a test-set column, the probe trained on the test set's dataset
 * minus one trained on another (lib/studies/transfer.ts probeColumnGaps, as notebook 01 shows).
 */
function probeTransfer(inputs: EvidenceInputs): Finding[] {
  return inputs.probes.flatMap(probeColumnGaps).map((g) =>
    finding(
      `claim.jamroz-probe-transfer.${g.backbone}.${g.test}-vs-${g.train}`,
      `${g.backbone} probes on ${g.test} test: trained on ${g.test} minus trained on ${g.train}`,
      g.gap,
      g.method === "conservative"
        ? "same test faces; conservative interval from the two cells' intervals"
        : `same test faces, paired: ${unitNote(g.test)}`,
    )
  );
}

/** jamroz-weak-classes: mean F1 of fear/sad/disgust minus that of the other four, per model. */
function weakClasses(inputs: EvidenceInputs): Finding[] {
  const weak: Emotion[] = ["fear", "sad", "disgust"];
  return inputs.grid.models.flatMap((m) => {
    const s = scoredCell(inputs.grid, m.card.id, "fer2013");
    if (!s) return [];
    const classes = s.scored.classes;
    const f1 = f1Statistic(s.yTrue, s.yPred, classes);
    const isWeak = classes.map((c) => weak.includes(c));
    const stat: IndexStatistic = (idx) => {
      const v = f1(idx);
      return mean(v.filter((_, i) => isWeak[i])) - mean(v.filter((_, i) => !isWeak[i]));
    };
    return [finding(
      `claim.jamroz-weak-classes.${m.card.id}`,
      `${m.card.id}: mean F1 of fear, sad, disgust minus the other classes (FER2013 test)`,
      clusterInterval(s.clusters, stat),
      "paired bootstrap by image",
      "F1",
    )];
  });
}

/** jamroz-accuracy-hides: accuracy − macro-F1 on FER2013 and CK+, per model. */
function accuracyHides(inputs: EvidenceInputs): Finding[] {
  const out: Finding[] = [];
  for (const m of inputs.grid.models) {
    for (const d of ["fer2013", "ckplus"]) {
      const s = scoredCell(inputs.grid, m.card.id, d);
      if (!s) continue;
      const acc = accuracyStatistic(s.yTrue, s.yPred);
      const f1 = macroF1Statistic(s.yTrue, s.yPred, s.scored.classes);
      out.push(finding(
        `claim.jamroz-accuracy-hides.${m.card.id}.${d}`,
        `${m.card.id}: accuracy minus macro-F1 on ${d} test`,
        clusterInterval(s.clusters, (idx) => acc(idx) - f1(idx)),
        `paired; ${unitNote(s.dataset.name)}`,
      ));
    }
  }
  return out;
}

/** jamroz-related-confusions: share of a class's errors going to its partner, minus 1/6. */
function relatedConfusions(inputs: EvidenceInputs): Finding[] {
  const pairs: [Emotion, Emotion][] = [["fear", "surprise"], ["disgust", "angry"], [
    "sad",
    "neutral",
  ]];
  const yT: number[] = [];
  const yP: number[] = [];
  const img: string[] = [];
  for (const m of inputs.grid.models) {
    const s = scoredCell(inputs.grid, m.card.id, "fer2013");
    if (!s || s.scored.classes.length !== 7) continue;
    s.scored.table.rows.forEach((r, i) => {
      yT.push(s.yTrue[i]);
      yP.push(s.yPred[i]);
      img.push(r.id);
    });
  }
  if (yT.length === 0) return [];
  return pairs.map(([from, to]) => {
    const a = emotionIndex(from);
    const b = emotionIndex(to);
    const stat: IndexStatistic = (idx) => {
      let errors = 0, partner = 0;
      for (let k = 0; k < idx.length; k++) {
        const i = idx[k];
        if (yT[i] !== a || yP[i] === a) continue;
        errors++;
        if (yP[i] === b) partner++;
      }
      return errors === 0 ? NaN : partner / errors - 1 / 6;
    };
    return finding(
      `claim.jamroz-related-confusions.${from}-${to}`,
      `share of ${from} errors predicted ${to}, minus 1/6 (FER2013 test, 7-class models pooled)`,
      clusterInterval(img, stat),
      "cluster bootstrap by image over the models' pooled predictions",
      "share",
    );
  });
}

/** jamroz-imbalance-cause: Spearman ρ(training share, test recall) per FER2013-trained model. */
function imbalanceCause(inputs: EvidenceInputs): Finding[] {
  const counts = inputs.fer2013TrainCounts;
  if (counts === null) return [];
  return inputs.grid.models.flatMap((m) => {
    if (trainingDatasetOf(m.card) !== "fer2013") return [];
    const s = scoredCell(inputs.grid, m.card.id, "fer2013");
    if (!s) return [];
    const classes = s.scored.classes;
    const size = classes.map((c) => counts[c] ?? 0);
    const recalls = classes.map((c) => recallStatistic(s.yTrue, s.yPred, c));
    const stat: IndexStatistic = (idx) => spearman(size, recalls.map((r) => r(idx)));
    return [finding(
      `claim.jamroz-imbalance-cause.${m.card.id}`,
      `${m.card.id}: Spearman ρ of class training size and FER2013-test recall`,
      clusterInterval(s.clusters, stat),
      "bootstrap by test image; training sizes fixed",
      "ρ",
    )];
  });
}

/** Notebook 03's agreement study of each grid (computed once per grid). */
const AGREEMENT = new WeakMap<StudyGrid, AgreementByDataset>();

/**
 * The benchmark claims' models on one dataset, as notebook 03 joins them (agreementByDataset:
 * the open pretrained models and the kit's own FER2013 CNNs, on the images every one of them can
 * be scored on), with cluster keys and the models' Fleiss' κ.
 */
function joined(inputs: EvidenceInputs, dataset: string) {
  let byDataset = AGREEMENT.get(inputs.grid);
  if (byDataset === undefined) {
    byDataset = agreementByDataset(inputs.grid);
    AGREEMENT.set(inputs.grid, byDataset);
  }
  const a = byDataset.datasets.find((x) => x.dataset === dataset);
  const d = gridDataset(inputs.grid, dataset);
  if (!a || !d) return null;
  return { d, j: a.joined, clusters: clusterKeys(d, a.joined.ids), fleiss: a.agreement.fleiss };
}

/** benchmark-low-kappa: Fleiss' κ among the models on FER2013, CK+ and ExpW test. */
function lowKappa(inputs: EvidenceInputs): Finding[] {
  return ["fer2013", "ckplus", "expw"].flatMap((name) => {
    const x = joined(inputs, name);
    if (!x) return [];
    return [finding(
      `claim.benchmark-low-kappa.${name}`,
      `Fleiss' κ among ${x.j.names.length} models on ${name} test`,
      x.fleiss,
      `${x.j.ids.length} images; ${unitNote(x.d.name)}`,
      "κ",
    )];
  });
}

/** Accuracy of a prediction vector on the joined items at `idx`. */
function accOf(labels: Int32Array, pred: Int32Array): IndexStatistic {
  return accuracyStatistic(labels, pred);
}

/** Index of the most accurate model on the joined items. */
function ranking(labels: Int32Array, preds: readonly Int32Array[]): number[] {
  const all = Int32Array.from({ length: labels.length }, (_, i) => i);
  const acc = preds.map((p) => accOf(labels, p)(all));
  return acc.map((_, i) => i).sort((a, b) => acc[b] - acc[a]);
}

/** benchmark-no-dominant-model: largest share of test sets one model leads significantly. */
function noDominant(inputs: EvidenceInputs): Finding[] {
  const leads = new Map<string, number>();
  const notes: string[] = [];
  let sets = 0;
  for (const name of ["fer2013", "ckplus", "expw"]) {
    const x = joined(inputs, name);
    if (!x) continue;
    sets++;
    const [best, second] = ranking(x.j.labels, x.j.preds);
    const a = accOf(x.j.labels, x.j.preds[best]);
    const b = accOf(x.j.labels, x.j.preds[second]);
    const iv = clusterInterval(x.clusters, (idx) => a(idx) - b(idx));
    const leader = x.j.names[best];
    notes.push(
      `${name}: ${leader} leads ${x.j.names[second]} by ${iv.estimate.toFixed(3)} [${
        iv.lower.toFixed(3)
      }, ${iv.upper.toFixed(3)}]`,
    );
    if (iv.lower > 0) leads.set(leader, (leads.get(leader) ?? 0) + 1);
  }
  if (sets === 0) return [];
  const top = Math.max(0, ...leads.values());
  return [{
    id: "claim.benchmark-no-dominant-model.share",
    label: "largest share of test sets one model leads with an interval above 0",
    value: top / sets,
    unit: "share",
    group: "Claims",
    note: notes.join("; "),
  }];
}

/**
 * benchmark-ensemble-*: ensemble accuracy minus the best single model's, per test set. On
 * FER2013 test the models the contamination audit flags are left out of both the ensemble and
 * the bar (their FER2013 test accuracy is no test accuracy), as in the cross-dataset drops.
 */
function ensembles(inputs: EvidenceInputs, flagged: ReadonlySet<string>): Finding[] {
  const out: Finding[] = [];
  const k = EMOTIONS.length;
  for (const name of ["fer2013", "ckplus", "expw"]) {
    const x = joined(inputs, name);
    if (!x) continue;
    const { labels } = x.j;
    const keep = x.j.names.map((_, m) => m)
      .filter((m) => name !== "fer2013" || !flagged.has(x.j.names[m]));
    if (keep.length < 2) continue;
    const preds = keep.map((m) => x.j.preds[m]);
    const probs = keep.map((m) => x.j.probs[m]);
    const names = keep.map((m) => x.j.names[m]);
    const left = x.j.names.filter((_, m) => !keep.includes(m));
    const leftNote = left.length > 0
      ? `; left out as flagged by the contamination audit: ${left.join(", ")}`
      : "";
    const [best] = ranking(labels, preds);
    const single = accOf(labels, preds[best]);
    const mean = meanProbability(probs.map((p) => ({ data: p, rows: labels.length, cols: k })));
    const top = probs.map((p) =>
      Float64Array.from(
        { length: labels.length },
        (_, i) => Math.max(...p.subarray(i * k, i * k + k)),
      )
    );
    const mode = modeWithFallback(preds, top);
    for (const [id, dec] of [["mean", mean.pred], ["mode", mode.pred]] as const) {
      const acc = accOf(labels, dec);
      out.push(finding(
        `claim.benchmark-ensemble-${id}.${name}`,
        `${
          id === "mean" ? "mean-probability" : "mode-with-fallback"
        } ensemble of ${names.length} ` +
          `models minus the best single model (${names[best]}) on ${name} test`,
        clusterInterval(x.clusters, (idx) => acc(idx) - single(idx)),
        `paired; ${unitNote(x.d.name)}${leftNote}`,
      ));
    }
  }
  return out;
}

/** tao-*-60: accuracy of the kit's FER2013 CNNs on FER2013 test. */
function taoAccuracy(inputs: EvidenceInputs, claim: string, model: string): Finding[] {
  const s = scoredCell(inputs.grid, model, "fer2013");
  if (!s) return [];
  return [finding(
    `claim.${claim}.${model}`,
    `${model}: accuracy on FER2013 test`,
    clusterInterval(s.clusters, accuracyStatistic(s.yTrue, s.yPred)),
    "bootstrap by image",
  )];
}

/** The FER2013-trained CNNs (cards naming FER2013 as training data). */
function fer2013Models(inputs: EvidenceInputs): ResolvedModel[] {
  return inputs.grid.models.filter((m) => trainingDatasetOf(m.card) === "fer2013");
}

/** tao-neutral-weakness: neutral recall minus the mean recall of the other classes. */
function neutralWeakness(inputs: EvidenceInputs): Finding[] {
  return fer2013Models(inputs).flatMap((m) => {
    const s = scoredCell(inputs.grid, m.card.id, "fer2013");
    if (!s) return [];
    const neutral = recallStatistic(s.yTrue, s.yPred, "neutral");
    const others = s.scored.classes.filter((c) => c !== "neutral").map((c) =>
      recallStatistic(s.yTrue, s.yPred, c)
    );
    const stat: IndexStatistic = (idx) => neutral(idx) - mean(others.map((o) => o(idx)));
    return [finding(
      `claim.tao-neutral-weakness.${m.card.id}`,
      `${m.card.id}: neutral recall minus mean recall of the other classes (FER2013 test)`,
      clusterInterval(s.clusters, stat),
      "paired bootstrap by image",
      "recall",
    )];
  });
}

/** tao-ambiguous-faces: crowd support of the original label on errors minus on hits. */
function ambiguousFaces(inputs: EvidenceInputs): Finding[] {
  const fer = gridDataset(inputs.grid, "fer2013");
  if (!fer) return [];
  const byId = new Map(fer.samples.map((s) => [s.id, s]));
  return fer2013Models(inputs).flatMap((m) => {
    const s = scoredCell(inputs.grid, m.card.id, "fer2013");
    if (!s) return [];
    const support = s.scored.table.rows.map((r) => {
      const v = byId.get(r.id)?.votes;
      if (!v) return NaN;
      const total = Object.values(v).reduce((a, b) => a + (b ?? 0), 0);
      return total === 0 ? NaN : (v[r.label] ?? 0) / total;
    });
    const stat: IndexStatistic = (idx) => {
      let e = 0, ne = 0, h = 0, nh = 0;
      for (let k = 0; k < idx.length; k++) {
        const i = idx[k];
        if (!Number.isFinite(support[i])) continue;
        if (s.yPred[i] === s.yTrue[i]) {
          h += support[i];
          nh++;
        } else {
          e += support[i];
          ne++;
        }
      }
      return ne === 0 || nh === 0 ? NaN : e / ne - h / nh;
    };
    return [finding(
      `claim.tao-ambiguous-faces.${m.card.id}`,
      `${m.card.id}: FER+ crowd's share of votes for the original label, errors minus hits`,
      clusterInterval(s.clusters, stat),
      "bootstrap by image",
      "share",
    )];
  });
}

/** How the findings of each claim are computed (claims without an entry have none). */
const EVIDENCE: Readonly<
  Record<string, (inputs: EvidenceInputs, flagged: ReadonlySet<string>) => Finding[]>
> = {
  "jamroz-cross-drop": crossDrop,
  "jamroz-probe-transfer": probeTransfer,
  "jamroz-weak-classes": weakClasses,
  "jamroz-accuracy-hides": accuracyHides,
  "jamroz-related-confusions": relatedConfusions,
  "jamroz-imbalance-cause": imbalanceCause,
  "benchmark-low-kappa": lowKappa,
  "benchmark-no-dominant-model": noDominant,
  "benchmark-ensemble-mean": (i, flagged) =>
    ensembles(i, flagged).filter((f) => f.id.includes("-mean.")),
  "benchmark-ensemble-mode": (i, flagged) =>
    ensembles(i, flagged).filter((f) => f.id.includes("-mode.")),
  "tao-mobilenet-60": (i) => taoAccuracy(i, "tao-mobilenet-60", "fer2013-mobilenetv2"),
  "tao-selfbuilt-60": (i) => taoAccuracy(i, "tao-selfbuilt-60", "fer2013-simplecnn"),
  "tao-neutral-weakness": neutralWeakness,
  "tao-ambiguous-faces": ambiguousFaces,
};

/**
 * The findings of the claims `claimIds` (default: every claim with evidence), preceded, when
 * `withAudit` (default true), by the contamination audit's findings, which decide the baselines
 * of the cross-dataset drops.
 */
export function claimFindings(
  inputs: EvidenceInputs,
  claimIds: readonly string[] = Object.keys(EVIDENCE),
  withAudit = true,
): Finding[] {
  const audit = auditOf(inputs);
  const flagged = new Set(audit?.rows.filter((r) => r.flagged).map((r) => r.model) ?? []);
  return [
    ...(audit && withAudit ? contaminationFindings(audit) : []),
    ...claimIds.flatMap((id) => EVIDENCE[id]?.(inputs, flagged) ?? []),
  ];
}
