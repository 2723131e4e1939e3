/**
 * Notebook 04's steps before the saliency maps (Tao 2023's question): the FER2013-trained CNNs
 * on FER2013 test, and the "neutral" weakness in numbers (its recall and rank, where the missed
 * neutral faces go, and what the FER+ crowd says about them). Typed data plus findings.
 */
import { ciPair, type Finding } from "../findings.ts";
import {
  type BootstrapInterval,
  type ConfusionTable,
  confusionTable,
  normalizeCounts,
  recallStatistic,
} from "../metrics/mod.ts";
import { modelsWithRole } from "../models/registry.ts";
import { type Emotion, EMOTIONS } from "../taxonomy.ts";
import { gridDataset, type GridOptions, modelsOnDatasets, type StudyGrid } from "./grid.ts";
import { type CellScore, labelArrays, scoreGrid, studyInterval } from "./scoring.ts";

/** The `fer2013-cnn` models on FER2013 test, scored. */
export interface Fer2013Cnns {
  grid: StudyGrid;
  scores: CellScore[];
}

/** Every registered `fer2013-cnn` model on FER2013's test split (missing ones listed). */
export async function fer2013Cnns(opts: Omit<GridOptions, "models" | "datasets"> = {}) {
  const ids = (await modelsWithRole("fer2013-cnn")).map((m) => m.id);
  const grid = await modelsOnDatasets({ ...opts, models: ids, datasets: ["fer2013"] });
  return { grid, scores: scoreGrid(grid) };
}

/** A share of some faces going to (or coming from) a class. */
export interface ClassShare {
  cls: Emotion;
  share: number;
}

/** One network's neutral class in numbers. */
export interface NeutralWeakness {
  model: string;
  /** Neutral recall with a bootstrap interval. */
  recall: BootstrapInterval;
  /** Neutral recall − mean recall of the other classes (paired interval). */
  gap: BootstrapInterval;
  /** Rank of neutral's recall among the classes (1 = lowest). */
  rank: number;
  classes: number;
  /** Neutral test faces. */
  neutralFaces: number;
  /** Where missed neutral faces go, largest first. */
  missedGoTo: ClassShare[];
  /** The true classes of faces wrongly called neutral, largest first. */
  calledNeutral: ClassShare[];
  /** Missed neutral faces with FER+ votes, and the shares where the crowd's top vote is the
   * network's answer, or neutral (NaN without votes). */
  missedWithVotes: number;
  crowdAgreesWithNetwork: number;
  crowdSaysNeutral: number;
  /** Row-normalised confusion table over the scored classes. */
  confusion: ConfusionTable;
  /** Recall of every scored class (the confusion table's row order). */
  recalls: number[];
}

/** The neutral weakness of every network, and one finding each. */
export interface NeutralStudy {
  networks: NeutralWeakness[];
  findings: Finding[];
}

/** The crowd's most voted emotion of a sample's votes (first in EMOTIONS order on ties). */
function crowdTop(votes: Partial<Record<string, number>> | undefined): Emotion | null {
  if (!votes) return null;
  let best: Emotion | null = null;
  for (const e of EMOTIONS) if ((votes[e] ?? 0) > (best ? votes[best] ?? 0 : 0)) best = e;
  return best;
}

function neutralOf(s: CellScore, grid: StudyGrid): NeutralWeakness {
  const { yTrue, yPred } = labelArrays(s.scored.table);
  const neutral = recallStatistic(yTrue, yPred, "neutral");
  const others = s.scored.classes.filter((c) => c !== "neutral")
    .map((c) => recallStatistic(yTrue, yPred, c));
  const recall = studyInterval(yTrue.length, neutral);
  const gap = studyInterval(
    yTrue.length,
    (idx) => neutral(idx) - others.reduce((a, f) => a + f(idx), 0) / others.length,
  );
  const recalls = s.scored.classes.map((c) => ({ c, r: s.summary.perClass[c]?.recall ?? NaN }))
    .sort((a, b) => a.r - b.r);
  const c = confusionTable(s.scored.table.rows, { rows: s.scored.classes, normalize: "true" });
  const i = c.rows.indexOf("neutral");
  const byRow = normalizeCounts(c.counts, "true");
  const byCol = normalizeCounts(c.counts, "pred");
  const missedGoTo = c.cols.map((cls, j) => ({ cls, share: byRow[i][j] }))
    .filter((d) => d.cls !== "neutral").sort((a, b) => b.share - a.share);
  const calledNeutral = c.rows.map((cls, k) => ({ cls, share: byCol[k][i] }))
    .filter((d) => d.cls !== "neutral").sort((a, b) => b.share - a.share);
  const byId = new Map(gridDataset(grid, s.dataset)!.samples.map((x) => [x.id, x]));
  const missed = s.scored.table.rows.filter((r) => r.label === "neutral" && r.pred !== "neutral")
    .map((r) => ({ pred: r.pred, crowd: crowdTop(byId.get(r.id)?.votes) }))
    .filter((r) => r.crowd !== null);
  return {
    model: s.model,
    recall,
    gap,
    rank: recalls.findIndex((x) => x.c === "neutral") + 1,
    classes: s.scored.classes.length,
    neutralFaces: c.counts[i].reduce((a, b) => a + b, 0),
    missedGoTo,
    calledNeutral,
    missedWithVotes: missed.length,
    crowdAgreesWithNetwork: missed.filter((r) => r.crowd === r.pred).length / missed.length,
    crowdSaysNeutral: missed.filter((r) => r.crowd === "neutral").length / missed.length,
    confusion: c,
    recalls: c.rows.map((cls) => s.summary.perClass[cls]?.recall ?? NaN),
  };
}

/** Neutral's recall, rank and errors for every network scored on FER2013 test. */
export function neutralWeakness(cnns: Fer2013Cnns): NeutralStudy {
  const networks = cnns.scores.map((s) => neutralOf(s, cnns.grid));
  const findings = networks.map((n): Finding => ({
    id: `fer2013cnn.neutral-recall.${n.model}`,
    label: `${n.model}: neutral recall on FER2013 test`,
    value: n.recall.estimate,
    ci: ciPair(n.recall),
    unit: "recall",
    group: "FER2013 CNNs",
    note: `${n.neutralFaces} neutral test faces; neutral − mean recall of the other classes ${
      n.gap.estimate.toFixed(3)
    }; bootstrap 95 % CI`,
  }));
  return {
    networks,
    findings: findings.length > 0 ? findings : [{
      id: "fer2013cnn.neutral-recall",
      label: "Neutral recall of FER2013 CNNs",
      value: null,
      group: "FER2013 CNNs",
      note: "no FER2013 CNN or no FER2013 data",
    }],
  };
}
