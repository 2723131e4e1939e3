/**
 * Notebook 02's steps: what accuracy hides about the small classes (accuracy − macro-F1),
 * each model's weakest class, whether a class's F1 follows its size, and which classes the
 * models confuse, against the confusions the FER literature names. Typed data plus findings.
 */
import {
  type BootstrapInterval,
  type ConfusedPair,
  confusedPairs,
  confusionShare,
  type ConfusionTable,
  confusionTable,
  spearman,
} from "../metrics/mod.ts";
import { ciPair, type Finding } from "../findings.ts";
import { type Emotion, EMOTIONS } from "../taxonomy.ts";
import { gridModel, type StudyGrid } from "./grid.ts";
import { accuracyMacroGap, type CellScore, NAMED_CONFUSIONS } from "./scoring.ts";

/** Accuracy − macro-F1 of one cell, with a paired bootstrap interval. */
export interface GapCell {
  score: CellScore;
  gap: BootstrapInterval;
}

/** The accuracy/macro-F1 gaps of every cell. */
export interface GapStudy {
  gaps: GapCell[];
  /** Cells whose whole interval lies above zero. */
  positive: number;
  widest: GapCell | null;
  narrowest: GapCell | null;
  findings: Finding[];
}

/** Accuracy − macro-F1 of every cell; findings for the FER2013 cells. */
export function accuracyMacroGaps(scores: readonly CellScore[]): GapStudy {
  const gaps = scores.map((score) => ({
    score,
    gap: accuracyMacroGap(score.scored, { clusters: score.clusters }),
  }));
  const findings = gaps.filter((g) => g.score.dataset === "fer2013").map(({ score: s, gap }) => ({
    id: `minority.gap.${s.model}.${s.dataset}`,
    label: `${s.model} on FER2013 test: accuracy − macro-F1`,
    value: gap.estimate,
    ci: ciPair(gap),
    unit: "accuracy − macro-F1",
    group: "Accuracy against macro-F1",
    note: `accuracy ${s.summary.accuracy.toFixed(3)}, macro-F1 ${
      s.summary.macroF1.toFixed(3)
    }; n = ${s.summary.n}; paired bootstrap 95 % CI`,
  }));
  const pick = (better: (a: GapCell, b: GapCell) => boolean) =>
    gaps.reduce<GapCell | null>((a, b) => (a === null || better(b, a) ? b : a), null);
  return {
    gaps,
    positive: gaps.filter((g) => g.gap.lower > 0).length,
    widest: pick((b, a) => b.gap.estimate > a.gap.estimate),
    narrowest: pick((b, a) => b.gap.estimate < a.gap.estimate),
    findings: gaps.length > 0 ? findings : [{
      id: "minority.gap",
      label: "Accuracy − macro-F1 on FER2013 test",
      value: null,
      group: "Accuracy against macro-F1",
      note: "no predictions (data or models missing)",
    }],
  };
}

/** One cell's weakest class by F1. */
export interface WeakestClass {
  model: string;
  dataset: string;
  cls: Emotion;
  f1: number;
  support: number;
}

/** Each cell's weakest class, and how often each class is the weakest (most often first). */
export interface WeakestClasses {
  cells: WeakestClass[];
  ranking: { cls: Emotion; cells: number }[];
}

/** The class with the lowest F1 in every cell, among the scored classes. Pure. */
export function weakestClasses(scores: readonly CellScore[]): WeakestClasses {
  const cells = scores.map((s): WeakestClass => {
    const entries = Object.entries(s.summary.perClass)
      .filter(([c]) => s.scored.classes.includes(c as Emotion));
    const [cls, v] = entries.reduce((a, b) => (b[1].f1 < a[1].f1 ? b : a));
    return {
      model: s.model,
      dataset: s.dataset,
      cls: cls as Emotion,
      f1: v.f1,
      support: v.support,
    };
  });
  const counts = new Map<Emotion, number>();
  for (const w of cells) counts.set(w.cls, (counts.get(w.cls) ?? 0) + 1);
  const ranking = [...counts].map(([cls, n]) => ({ cls, cells: n }))
    .sort((a, b) => b.cells - a.cells);
  return { cells, ranking };
}

/** One class of one cell: its share of the test images and its F1. */
export interface ClassSizePoint {
  dataset: string;
  model: string;
  cls: Emotion;
  share: number;
  f1: number;
}

/** Per test set: Spearman's ρ of class share and F1 over all models' classes. */
export interface SizeCorrelation {
  dataset: string;
  points: number;
  /** NaN when every class has the same size. */
  spearman: number;
  /** Null when every class has the same size. */
  smallest: Emotion | null;
  largest: Emotion | null;
}

/** Class size against F1: the points and their rank correlation per test set. */
export interface ClassSizeStudy {
  points: ClassSizePoint[];
  byDataset: SizeCorrelation[];
}

/** Does a class's F1 follow its share of the test set? Pure. */
export function classSizeAgainstF1(scores: readonly CellScore[]): ClassSizeStudy {
  const points = scores.flatMap((s) =>
    s.scored.classes.map((cls) => ({
      dataset: s.dataset,
      model: s.model,
      cls,
      share: (s.summary.perClass[cls]?.support ?? 0) / s.summary.n,
      f1: s.summary.perClass[cls]?.f1 ?? NaN,
    }))
  );
  const datasets = [...new Set(scores.map((s) => s.dataset))];
  const byDataset = datasets.map((dataset): SizeCorrelation => {
    const pts = points.filter((p) => p.dataset === dataset && Number.isFinite(p.f1));
    const varied = new Set(pts.map((p) => p.share.toFixed(4))).size > 1;
    return {
      dataset,
      points: pts.length,
      spearman: varied ? spearman(pts.map((p) => p.share), pts.map((p) => p.f1)) : NaN,
      smallest: varied ? pts.reduce((a, b) => (b.share < a.share ? b : a)).cls : null,
      largest: varied ? pts.reduce((a, b) => (b.share > a.share ? b : a)).cls : null,
    };
  });
  return { points, byDataset };
}

/** A cell's confusion table: rows the scored classes, columns every class the model outputs. */
export interface CellConfusion {
  model: string;
  dataset: string;
  table: ConfusionTable;
}

/** Row-normalised confusion tables of every scored cell. */
export function cellConfusions(grid: StudyGrid, scores: readonly CellScore[]): CellConfusion[] {
  return scores.map((s) => {
    const outputs = gridModel(grid, s.model)?.card.output.classes ?? s.scored.classes;
    return {
      model: s.model,
      dataset: s.dataset,
      table: confusionTable(s.scored.table.rows, {
        rows: s.scored.classes,
        cols: EMOTIONS.filter((e) => outputs.includes(e)),
        normalize: "true",
      }),
    };
  });
}

/** Top confusions per cell and the named ones of the literature. */
export interface NamedConfusions {
  /** Per cell, its three largest confusions. */
  top: { model: string; dataset: string; pairs: ConfusedPair[] }[];
  /** Per named pair, its share in every cell (NaN where a test set lacks a class). */
  named: {
    from: Emotion;
    to: Emotion;
    shares: { model: string; dataset: string; share: number }[];
  }[];
  /** Named pairs in some cell's top three, with the number of cells. */
  namedInTop: { from: Emotion; to: Emotion; cells: number }[];
  /** The confusions most often in a cell's top three, with the number of cells. */
  common: { pair: string; cells: number }[];
  cells: number;
}

/** The confusions models make, against fear/surprise, disgust/anger and sad/neutral. Pure. */
export function namedConfusions(confusions: readonly CellConfusion[]): NamedConfusions {
  const top = confusions.map((c) => ({
    model: c.model,
    dataset: c.dataset,
    pairs: confusedPairs(c.table).slice(0, 3),
  }));
  const named = NAMED_CONFUSIONS.map(([from, to]) => ({
    from,
    to,
    shares: confusions.map((c) => ({
      model: c.model,
      dataset: c.dataset,
      share: confusionShare(c.table, from, to),
    })),
  }));
  const namedInTop = NAMED_CONFUSIONS.map(([from, to]) => ({
    from,
    to,
    cells: top.filter((t) => t.pairs.some((p) => p.from === from && p.to === to)).length,
  })).filter((x) => x.cells > 0).sort((a, b) => b.cells - a.cells);
  const all = new Map<string, number>();
  for (const t of top) {
    for (const p of t.pairs) {
      all.set(`${p.from} → ${p.to}`, (all.get(`${p.from} → ${p.to}`) ?? 0) + 1);
    }
  }
  const common = [...all].sort((a, b) => b[1] - a[1]).slice(0, 3)
    .map(([pair, cells]) => ({ pair, cells }));
  return { top, named, namedInTop, common, cells: confusions.length };
}
