/**
 * Notebook 02's views: accuracy against macro-F1, per-class F1 (a danfojs pivot of model ×
 * class), each cell's weakest class, class size against F1, normalised confusion matrices and
 * the most confused pairs.
 */
import * as dfd from "danfojs-node";
import type { StudyGrid } from "../studies/grid.ts";
import type {
  CellConfusion,
  ClassSizeStudy,
  GapStudy,
  NamedConfusions,
  WeakestClasses,
} from "../studies/minority.ts";
import { shortModelName } from "../studies/models.ts";
import type { CellScore } from "../studies/scoring.ts";
import { show, showMarkdown, showTable } from "./display.ts";
import { intervalText, listText, pct, pp } from "./format.ts";
import { resamplingUnits } from "./grid.ts";
import { barChart, heatmap, scatter } from "./plots.ts";

/** Scatter of accuracy against macro-F1, the gap table, and the gap in words. */
export async function showAccuracyMacroGaps(study: GapStudy): Promise<void> {
  const { gaps, widest, narrowest } = study;
  if (widest === null || narrowest === null) {
    return showMarkdown("No scores: the accuracy/macro-F1 comparison is skipped.");
  }
  await show(
    scatter(
      gaps.map(({ score: s }) => ({
        x: s.macroF1.estimate,
        y: s.accuracy.estimate,
        label: shortModelName(s.model),
        group: s.dataset,
      })),
      {
        title: "Accuracy against macro-F1 (one point per model and test set)",
        xLabel: "macro-F1",
        yLabel: "accuracy",
        diagonal: true,
        xDomain: [0, 1],
        yDomain: [0, 1],
      },
    ),
    "accuracy against macro-F1",
  );
  await showTable(
    gaps.map(({ score: s, gap }) => ({
      model: s.model,
      dataset: s.dataset,
      "accuracy − macro-F1": intervalText(gap),
    })),
    {
      caption: "The gap, with a paired 95 % bootstrap interval (resampling " +
        `${resamplingUnits([...new Set(gaps.map((g) => g.score.dataset))])})`,
    },
  );
  const w = widest.score, n = narrowest.score;
  await showMarkdown(
    `In ${study.positive} of ${gaps.length} model–dataset cells accuracy exceeds macro-F1 with ` +
      `the whole interval above zero. The widest gap is ${w.model} on ${w.dataset} ` +
      `(${pp(widest.gap.estimate)}: accuracy ${pct(w.accuracy.estimate)}, macro-F1 ` +
      `${pct(w.macroF1.estimate)}); the narrowest is ${n.model} on ${n.dataset} ` +
      `(${pp(narrowest.gap.estimate)}).`,
  );
}

/**
 * Per-class F1 as a long danfojs DataFrame (model, dataset, class, F1), selected per test set and
 * per model with `query` into one model × class heat map per test set. (danfojs 1.1 has no
 * `pivot`, so the pivot is the two selections; see docs/notebooks.md.)
 */
export async function showPerClassF1(grid: StudyGrid, scores: readonly CellScore[]): Promise<void> {
  if (scores.length === 0) {
    return showMarkdown("No scores: the per-class F1 heat maps are skipped.");
  }
  const long = new dfd.DataFrame(scores.flatMap((s) =>
    s.scored.classes.map((cls) => ({
      model: shortModelName(s.model),
      dataset: s.dataset,
      cls,
      f1: s.summary.perClass[cls]?.f1 ?? NaN,
    }))
  ));
  for (const d of grid.datasets.filter((x) => scores.some((s) => s.dataset === x.name))) {
    const mine = long.query(long["dataset"].eq(d.name)).resetIndex();
    const models = mine["model"].unique().values as string[];
    const matrix = models.map((m) => {
      const rows = mine.query(mine["model"].eq(m));
      const f1 = rows["f1"].values as number[];
      const byClass = new Map((rows["cls"].values as string[]).map((c, i) => [c, f1[i]]));
      return d.classes.map((c) => byClass.get(c) ?? NaN);
    });
    await show(
      heatmap(matrix, models, d.classes, {
        title: `Per-class F1 on ${d.name} ${grid.split}`,
        domain: [0, 1],
        legendLabel: "F1",
        scheme: "viridis",
      }),
      `per-class F1 on ${d.name}`,
    );
  }
}

/** Each cell's weakest class, and which classes are weakest most often. */
export async function showWeakestClasses(w: WeakestClasses): Promise<void> {
  if (w.cells.length === 0) return showMarkdown("No scores: no weakest classes.");
  await showTable(
    w.cells.map((c) => ({
      model: c.model,
      dataset: c.dataset,
      "weakest class": c.cls,
      F1: c.f1,
      "test images": c.support,
    })),
    { caption: "Each model's weakest class on each test set", formats: { F1: 3 } },
  );
  await showMarkdown(
    `The weakest class is ${
      listText(w.ranking.map((r) => `*${r.cls}* in ${r.cells} cell${r.cells > 1 ? "s" : ""}`))
    } (of ${w.cells.length} model–dataset cells).`,
  );
}

/** Scatter of class share against F1 and the rank correlation per test set. */
export async function showClassSize(study: ClassSizeStudy): Promise<void> {
  if (study.points.length === 0) {
    return showMarkdown("No scores: class size against F1 is skipped.");
  }
  await show(
    scatter(
      study.points.map((p) => ({
        x: p.share,
        y: p.f1,
        group: p.dataset,
        label: p.cls.slice(0, 3),
      })),
      {
        title: "Share of the test set against per-class F1",
        xLabel: "share of the test images",
        yLabel: "F1",
        yDomain: [0, 1],
      },
    ),
    "class share against F1",
  );
  await showTable(
    study.byDataset.map((r) => ({
      dataset: r.dataset,
      points: r.points,
      "Spearman ρ (share, F1)": r.spearman,
      "smallest class": r.smallest ?? "— (balanced)",
      "largest class": r.largest ?? "— (balanced)",
    })),
    {
      caption: "Rank correlation of class share and F1, per test set (all models pooled; — when " +
        "every class has the same size)",
      formats: { "Spearman ρ (share, F1)": 2 },
    },
  );
}

/** One row-normalised confusion heat map per cell, grouped by test set. */
export async function showConfusions(confusions: readonly CellConfusion[]): Promise<void> {
  if (confusions.length === 0) return showMarkdown("No scores: no confusion matrices.");
  const datasets = [...new Set(confusions.map((c) => c.dataset))];
  for (const c of datasets.flatMap((d) => confusions.filter((x) => x.dataset === d))) {
    await show(
      heatmap(c.table.values, c.table.rows, c.table.cols, {
        title: `${c.model} on ${c.dataset}: row-normalised confusion`,
        xLabel: "predicted",
        yLabel: "true",
        domain: [0, 1],
        legendLabel: "share of the true class",
        cellSize: 38,
      }),
      `confusion of ${c.model} on ${c.dataset}`,
    );
  }
}

/** Top three confusions per cell, the named pairs' shares, and the most frequent confusions. */
export async function showNamedConfusions(n: NamedConfusions): Promise<void> {
  if (n.cells === 0) return showMarkdown("No confusion matrices: no confused pairs.");
  await showTable(
    n.top.map((t) => ({
      model: t.model,
      dataset: t.dataset,
      ...Object.fromEntries(
        t.pairs.map((p, i) => [`#${i + 1}`, `${p.from} → ${p.to} (${pct(p.share, 0)})`]),
      ),
    })),
    { caption: "Top three confusions (share of the true class sent to the predicted class)" },
  );
  const cellName = (s: { model: string; dataset: string }) =>
    `${shortModelName(s.model)} @ ${s.dataset}`;
  await showTable(
    n.named.map((x) => ({
      pair: `${x.from} → ${x.to}`,
      ...Object.fromEntries(x.shares.map((s) => [cellName(s), s.share])),
    })),
    {
      caption: "Share of the true class predicted as the named class (— where a test set lacks " +
        "one of the two)",
      digits: 2,
    },
  );
  await showMarkdown(
    (n.namedInTop.length > 0
      ? `Of the named confusions, ${
        listText(n.namedInTop.map((x) =>
          `${x.from} → ${x.to} is in the top three of ${x.cells} cell${x.cells > 1 ? "s" : ""}`
        ))
      } (of ${n.cells}). `
      : `None of the named confusions is in the top three of any of the ${n.cells} cells. `) +
      `Across all cells the most frequent top-three confusions are ${
        listText(n.common.map((c) => `${c.pair} (${c.cells})`))
      }.`,
  );
  await show(
    barChart(n.common.map((c) => ({ label: c.pair, value: c.cells })), {
      title: "How often a confusion is among a cell's top three",
      xLabel: "model–dataset cells",
      format: 0,
    }),
    "most frequent confusions",
  );
}
