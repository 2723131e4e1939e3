/**
 * Notebook 01's steps (Jamróz et al. 2024): the accuracy a model loses from its own training
 * data's test split to other test sets, and the trained-on × tested-on matrix of linear probes on
 * frozen backbones. Each step returns typed data plus the findings it implies.
 */
import { ciPair, type Finding } from "../findings.ts";
import { accuracyStatistic, type BootstrapInterval, macroF1Statistic } from "../metrics/mod.ts";
import { modelsWithRole, trainingDatasetOf } from "../models/registry.ts";
import { gridModel, type Missing, type StudyGrid } from "./grid.ts";
import { type ProbeStudy, probeStudy } from "./probes.ts";
import { type CellScore, labelArrays } from "./scoring.ts";
import { clusteredDifference, clusterUnit } from "./clusters.ts";
import { flaggedModels, gridContamination } from "./contamination.ts";

/** One model's drop from its training dataset's test split to another test set. */
export interface Drop {
  model: string;
  /** The dataset the card says the model was trained on. */
  home: string;
  other: string;
  /** Accuracy on home − accuracy on other (each test set resampled by its own clusters). */
  accuracy: BootstrapInterval;
  /** Macro-F1 on home − macro-F1 on other. */
  macroF1: BootstrapInterval;
  homeAccuracy: number;
  otherAccuracy: number;
  /**
   * The contamination audit flags the model (it likely saw its home test split), so its home
   * accuracy is no in-domain baseline: the drop is shown, not counted (no finding, no claim).
   */
  flagged: boolean;
}

/** The drops of every model whose card names its training data. */
export interface DropStudy {
  drops: Drop[];
  /** Models whose card does not state the training data (no drop computed). */
  noHome: string[];
  /** Models whose own-test baseline the contamination audit flags. */
  flagged: string[];
  /** The largest accuracy drop among the unflagged ones, or null when there is none. */
  largest: Drop | null;
  findings: Finding[];
}

/**
 * The test sets a drop goes to: FER2013 and FER+ hold the same faces under two label sets, so
 * they count once (as FER2013); CK+ and ExpW are other faces.
 */
export const DROP_TEST_SETS: readonly string[] = ["fer2013", "ckplus", "expw"];

/** Test sets holding the same images under other labels (FER+ relabels FER2013 test). */
export const SAME_IMAGES: readonly (readonly [string, string])[] = [["fer2013", "ferplus"]];

/** True when test sets `a` and `b` are one set of faces (the same, or relabelled). Pure. */
export function sameFaces(a: string, b: string): boolean {
  return a === b || SAME_IMAGES.some(([x, y]) => (x === a && y === b) || (x === b && y === a));
}

/** What a drop needs of a scored cell (lib/studies/scoring.ts CellScore). */
export type DropCell = Pick<CellScore, "model" | "dataset" | "scored" | "clusters">;

/**
 * Drops from each model's training dataset (card `training.dataset`) to every test set of
 * DROP_TEST_SETS holding other faces (never to the same faces relabelled: FER2013 ↔ FER+ is a
 * label change, shown by the contamination audit). The two test sets are independent samples,
 * each resampled by its own clusters (CK+ subjects, ExpW source photographs). Models in
 * `flagged` (default: those the contamination audit of the grid flags) get their drops marked
 * and no finding.
 */
export function crossDatasetDrops(
  grid: StudyGrid,
  scores: readonly DropCell[],
  opts: { flagged?: ReadonlySet<string> } = {},
): DropStudy {
  const flagged = opts.flagged ?? flaggedModels(gridContamination(grid));
  const score = (m: string, d: string) => scores.find((s) => s.model === m && s.dataset === d);
  const drops: Drop[] = [];
  for (const m of grid.models) {
    const home = trainingDatasetOf(m.card);
    const own = home === null ? undefined : score(m.card.id, home);
    if (home === null || own === undefined) continue;
    const a = labelArrays(own.scored.table);
    const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
    const homeAcc = accuracyStatistic(a.yTrue, a.yPred);
    for (const otherName of DROP_TEST_SETS.filter((d) => !sameFaces(d, home))) {
      const other = score(m.card.id, otherName);
      if (other === undefined) continue;
      const b = labelArrays(other.scored.table);
      const otherAcc = accuracyStatistic(b.yTrue, b.yPred);
      drops.push({
        model: m.card.id,
        home,
        other: otherName,
        accuracy: clusteredDifference(own.clusters, homeAcc, other.clusters, otherAcc),
        macroF1: clusteredDifference(
          own.clusters,
          macroF1Statistic(a.yTrue, a.yPred, own.scored.classes),
          other.clusters,
          macroF1Statistic(b.yTrue, b.yPred, other.scored.classes),
        ),
        homeAccuracy: homeAcc(all(a.yTrue.length)),
        otherAccuracy: otherAcc(all(b.yTrue.length)),
        flagged: flagged.has(m.card.id),
      });
    }
  }
  const counted = drops.filter((x) => !x.flagged);
  const findings = counted.map((x): Finding => ({
    id: `cross.drop.${x.model}.${x.home}-${x.other}`,
    label: `${x.model}: accuracy drop ${x.home} → ${x.other}`,
    value: x.accuracy.estimate,
    ci: ciPair(x.accuracy),
    unit: "accuracy",
    group: "Cross-dataset drops",
    note: `own test ${x.homeAccuracy.toFixed(3)}, ${x.other} test ${
      x.otherAccuracy.toFixed(3)
    }; independent bootstrap 95 % CI, ${x.other} resampled by ${clusterUnit(x.other)}`,
  }));
  return {
    drops,
    noHome: grid.models.filter((m) => trainingDatasetOf(m.card) === null).map((m) => m.card.id),
    flagged: [...new Set(drops.filter((x) => x.flagged).map((x) => x.model))],
    largest: counted.reduce<Drop | null>(
      (a, b) => (a === null || b.accuracy.estimate > a.accuracy.estimate ? b : a),
      null,
    ),
    findings: findings.length > 0 ? findings : [{
      id: "cross.drop",
      label: "Cross-dataset accuracy drop",
      value: null,
      group: "Cross-dataset drops",
      note: "no unflagged model with a stated training dataset and a test set of other faces",
    }],
  };
}

/** Web-collected datasets (the rest, CK+, is posed in a lab). */
export const WEB_DATASETS: readonly string[] = ["fer2013", "ferplus", "expw"];

/** How one probe matrix transfers: in-domain against off-diagonal accuracy. */
export interface ProbeTransferSummary {
  backbone: string;
  meanInDomain: number;
  meanTransfer: number;
  transferCells: number;
  /** Mean accuracy of off-diagonal cells between two web datasets, and their number. */
  web: { mean: number; cells: number };
  /** Mean accuracy of off-diagonal cells to or from a lab dataset, and their number. */
  lab: { mean: number; cells: number };
}

/** The probe matrices of every available probe backbone. */
export interface ProbeTransfer {
  probes: ProbeStudy[];
  summaries: ProbeTransferSummary[];
  /** Backbones that could not be used, and why. */
  skipped: Missing[];
  findings: Finding[];
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function summarizeProbe(p: ProbeStudy): ProbeTransferSummary {
  const isWeb = (part: string) => WEB_DATASETS.includes(part.split(":")[0]);
  const diag = p.result.cells.filter((c) => c.in_domain);
  const off = p.result.cells.filter((c) => !c.in_domain);
  const web = off.filter((c) => isWeb(c.train) && isWeb(c.test));
  const lab = off.filter((c) => !isWeb(c.train) || !isWeb(c.test));
  return {
    backbone: p.backbone,
    meanInDomain: mean(diag.map((c) => c.accuracy)),
    meanTransfer: mean(off.map((c) => c.accuracy)),
    transferCells: off.length,
    web: { mean: mean(web.map((c) => c.accuracy)), cells: web.length },
    lab: { mean: mean(lab.map((c) => c.accuracy)), cells: lab.length },
  };
}

function probeFindings(p: ProbeStudy): Finding[] {
  const r = p.result;
  const own = r.cells.find((c) => c.train === "fer2013:train" && c.test === "fer2013:test");
  if (own === undefined) return [];
  return r.cells.flatMap((c, i): Finding[] => {
    const d = p.intervals[i].drop;
    const test = c.test.split(":")[0];
    if (c.train !== "fer2013:train" || d === null || (test !== "expw" && test !== "ckplus")) {
      return [];
    }
    return [{
      id: `cross.probe.${p.backbone}.fer2013-${test}`,
      label: `${p.backbone} probe trained on FER2013: accuracy drop to ${test}`,
      value: d.estimate,
      ci: ciPair(d),
      unit: "accuracy",
      group: "Cross-dataset drops",
      note: `linear probe, ${own.n_train} training faces; in-domain ${
        own.accuracy.toFixed(3)
      }, ${c.test} ${c.accuracy.toFixed(3)}; independent bootstrap 95 % CI`,
    }];
  });
}

/**
 * Linear probes (trained on each dataset's training split, tested on every test split) on every
 * registered `probe-backbone` model the grid could load; cached (lib/studies/probes.ts).
 */
export async function probeTransfer(grid: StudyGrid): Promise<ProbeTransfer> {
  const datasets = grid.datasets.map((d) => d.name);
  const probes: ProbeStudy[] = [];
  const skipped: Missing[] = [];
  for (const b of await modelsWithRole("probe-backbone")) {
    if (!gridModel(grid, b.id) || datasets.length === 0) {
      skipped.push({ id: b.id, reason: "model or datasets not available" });
      continue;
    }
    try {
      probes.push(
        await probeStudy(b.id, datasets, { dataRoot: grid.dataRoot, loaded: grid.datasets }),
      );
    } catch (e) {
      skipped.push({ id: b.id, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  const findings = probes.flatMap(probeFindings);
  return {
    probes,
    summaries: probes.map(summarizeProbe),
    skipped,
    findings: probes.length > 0 ? findings : [{
      id: "cross.probe",
      label: "Probe accuracy drop from FER2013",
      value: null,
      group: "Cross-dataset drops",
      note: "no probe backbone or datasets available",
    }],
  };
}
