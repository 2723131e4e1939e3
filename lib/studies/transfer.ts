/**
 * Notebook 01's steps (Jamróz et al. 2024): the accuracy a model loses from its own training
 * data's test split to other test sets, and the trained-on × tested-on matrix of linear probes on
 * frozen backbones. Each step returns typed data plus the findings it implies.
 */
import { ciPair, type Finding } from "../findings.ts";
import { accuracyStatistic, type BootstrapInterval, macroF1Statistic } from "../metrics/mod.ts";
import { modelsWithRole, trainingDatasetOf } from "../models/registry.ts";
import { gridModel, type Missing, type StudyGrid } from "./grid.ts";
import { cellOutcomes, type ProbeStudy, probeStudy, type StoredInterval } from "./probes.ts";
import { type CellScore, labelArrays } from "./scoring.ts";
import { clusteredDifference, clusterInterval, clusterUnit } from "./clusters.ts";
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

/** The items whose faces no earlier item holds (FER+ after FER2013 is left out), in order. */
export function distinctFaces<T>(items: readonly T[], name: (item: T) => string): T[] {
  return items.filter((d, i) => !items.slice(0, i).some((e) => sameFaces(name(e), name(d))));
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

/**
 * Within one test set's column of a probe matrix: the probe trained on the test set's own dataset
 * minus the probe trained on another dataset, both scored on the same test faces. Rows of the
 * matrix are not comparable with one another (each column is its own test set; ExpW's is
 * class-balanced), so transfer is read down a column (docs/probes.md).
 */
export interface ProbeColumnGap {
  backbone: string;
  /** The test set (the column). */
  test: string;
  /** The other training dataset. */
  train: string;
  /** Accuracy on `test` of the probe trained on `test`, and of the one trained on `train`. */
  ownAccuracy: number;
  otherAccuracy: number;
  /**
   * ownAccuracy − otherAccuracy. Paired: both cells score the same images, so each resample
   * draws the test part's clusters (CK+ subjects, ExpW photographs; else images) once for both.
   * A matrix without per-image outcomes falls back on a conservative interval from the two
   * cells' intervals, [own.lower − other.upper, own.upper − other.lower].
   */
  gap: StoredInterval;
  /** How the interval was made. */
  method: "paired cluster bootstrap" | "conservative";
}

/** The probe matrices of every available probe backbone. */
export interface ProbeTransfer {
  probes: ProbeStudy[];
  /** Every within-column gap of every probe matrix (probeColumnGaps). */
  gaps: ProbeColumnGap[];
  /** Backbones that could not be used, and why. */
  skipped: Missing[];
  findings: Finding[];
}

/**
 * Every within-column gap of a probe matrix: for each test set of DROP_TEST_SETS (FER2013 and
 * FER+ counted once), the probe trained on it against each probe trained on a dataset of other
 * faces. Pure.
 */
export function probeColumnGaps(p: ProbeStudy): ProbeColumnGap[] {
  const cell = (train: string, test: string) => {
    const i = p.result.cells.findIndex((c) =>
      c.train === `${train}:train` && c.test === `${test}:test`
    );
    return i < 0 ? null : {
      cell: p.result.cells[i],
      iv: p.intervals[i].accuracy,
      x: cellOutcomes(p.result.cells[i]),
    };
  };
  const out: ProbeColumnGap[] = [];
  for (const test of DROP_TEST_SETS) {
    const own = cell(test, test);
    if (own === null) continue;
    for (const train of DROP_TEST_SETS.filter((d) => !sameFaces(d, test))) {
      const other = cell(train, test);
      if (other === null) continue;
      const keys = p.clusters?.[`${test}:test`];
      const a = own.x, b = other.x;
      const paired = a !== null && b !== null && keys !== undefined &&
        keys.length === a.length && a.length === b.length;
      let gap: StoredInterval;
      if (paired) {
        const iv = clusterInterval(keys, (idx) => {
          let d = 0;
          for (let k = 0; k < idx.length; k++) d += a[idx[k]] - b[idx[k]];
          return d / idx.length;
        });
        gap = { estimate: iv.estimate, lower: iv.lower, upper: iv.upper };
      } else {
        gap = {
          estimate: own.iv.estimate - other.iv.estimate,
          lower: own.iv.lower - other.iv.upper,
          upper: own.iv.upper - other.iv.lower,
        };
      }
      out.push({
        backbone: p.backbone,
        test,
        train,
        ownAccuracy: own.cell.accuracy,
        otherAccuracy: other.cell.accuracy,
        gap,
        method: paired ? "paired cluster bootstrap" : "conservative",
      });
    }
  }
  return out;
}

function gapFindings(g: ProbeColumnGap): Finding {
  return {
    id: `cross.probe.${g.backbone}.${g.test}-vs-${g.train}`,
    label:
      `${g.backbone} probes on ${g.test} test: trained on ${g.test} minus trained on ${g.train}`,
    value: g.gap.estimate,
    ci: ciPair(g.gap),
    unit: "accuracy",
    group: "Cross-dataset drops",
    note: `same test faces; accuracy ${g.ownAccuracy.toFixed(3)} against ${
      g.otherAccuracy.toFixed(3)
    }; 95 % ${g.method} interval (${g.test} resampled by ${clusterUnit(g.test)})`,
  };
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
  const gaps = probes.flatMap(probeColumnGaps);
  const findings = gaps.map(gapFindings);
  return {
    probes,
    gaps,
    skipped,
    findings: findings.length > 0 ? findings : [{
      id: "cross.probe",
      label: "Probe trained on the test set's dataset minus one trained on another",
      value: null,
      group: "Cross-dataset drops",
      note: "no probe backbone or datasets available",
    }],
  };
}
