/**
 * Notebook 00's views: the datasets found, their counts, class shares, imbalance, the FER2013
 * against FER+ label comparison and face montages. Every view accepts empty input and then says
 * what is missing instead of drawing.
 */
import type { DatasetSummary } from "../datasets/mod.ts";
import type { LoadedDataset } from "../datasets/types.ts";
import type { DatasetInventory, ImbalanceStudy, LabelComparison } from "../studies/datasets.ts";
import { EMOTIONS } from "../taxonomy.ts";
import { show, showMarkdown, showTable } from "./display.ts";
import { emitProvenance } from "./emit.ts";
import { intervalText, listText } from "./format.ts";
import { montageSvg, pickPerClass } from "./montage.ts";
import { barChart, heatmap } from "./plots.ts";
import { summarizeDataset } from "../datasets/mod.ts";

/** The datasets found under the data root (or how to point the kit at data). */
export async function showDatasetsFound(inv: DatasetInventory): Promise<void> {
  if (inv.found.length === 0) {
    return showMarkdown(
      `**No datasets found under \`${inv.root}\`.** Point the kit at your data with ` +
        "`deno task report --data DIR` or `FER_DATA=DIR` (see docs/datasets.md for the layouts). " +
        "The cells below say what they would show.",
    );
  }
  await showTable(
    inv.found.map((f) => ({ dataset: f.name, layout: f.format, "read from": f.spec })),
    { caption: `Datasets found under ${inv.root}` },
  );
  for (const f of inv.failed) await showMarkdown(`${f.id}: could not be loaded: ${f.reason}`);
}

/** Faces per split, exclusions and imbalance of each loaded dataset; a provenance record each. */
export async function showDatasetSummaries(summaries: readonly DatasetSummary[]): Promise<void> {
  if (summaries.length === 0) return showMarkdown("No dataset loaded: nothing to summarise.");
  await showTable(
    summaries.map((s) => ({
      dataset: s.name,
      faces: s.all.total,
      classes: s.classes.length,
      train: s.splits.train?.total,
      val: s.splits.val?.total,
      test: s.splits.test?.total,
      "left out": s.excludedTotal,
      unreadable: s.unreadable.length,
      "imbalance (max/min)": s.all.imbalanceRatio,
      "sha-256": s.hash.slice(0, 12),
    })),
    {
      caption: "What was loaded (faces per split; records left out by the label rules)",
      formats: { "imbalance (max/min)": 1 },
    },
  );
  for (const s of summaries) {
    await emitProvenance({
      kind: "dataset",
      id: s.name,
      sha256: s.hash,
      detail: `${s.all.total} faces, ${s.format}`,
    });
  }
}

/** Heat map and table of each dataset's class shares (a dash: class not defined). */
export async function showClassShares(summaries: readonly DatasetSummary[]): Promise<void> {
  if (summaries.length === 0) return showMarkdown("No data: the class-share heat map is skipped.");
  const shares = summaries.map((s) =>
    EMOTIONS.map((e) => s.classes.includes(e) ? (s.all.perClass[e] ?? 0) / s.all.total : NaN)
  );
  await show(
    heatmap(shares, summaries.map((s) => s.name), [...EMOTIONS], {
      title: "Share of each class (all splits)",
      format: "percent",
      domain: [0, 0.4],
      legendLabel: "share of the dataset's faces",
    }),
    "class shares per dataset",
  );
  await showTable(
    summaries.map((s) =>
      Object.fromEntries([["dataset", s.name], ...EMOTIONS.map((e) => [e, s.all.perClass[e]])])
    ),
    { caption: "Faces per class (a dash: class not defined by the dataset)" },
  );
}

/** Bar chart of the imbalance ratios. */
export async function showImbalance(study: ImbalanceStudy): Promise<void> {
  if (study.rows.length === 0) return showMarkdown("No data: no imbalance ratios.");
  await show(
    barChart(
      study.rows.filter((r) => r.ratio !== null).map((r) => ({
        label: `${r.name} (${r.split})`,
        value: r.ratio!,
      })),
      { title: "Imbalance ratio: largest class / smallest class", xLabel: "ratio", format: 1 },
    ),
    "imbalance ratios",
  );
}

/** Agreement and κ of the two label sources, where each label goes, and what was left out. */
export async function showLabelComparison(c: LabelComparison): Promise<void> {
  if (c.agreement === null || c.kappa === null || c.transitions === null) {
    return showMarkdown(
      `${c.a} and ${c.b} are not both available: the label comparison is skipped.`,
    );
  }
  const t = c.transitions;
  await showMarkdown(
    `On the ${c.images} images with both labels, the ${c.a} label equals the ${c.b} label on ` +
      `${intervalText(c.agreement)} of them (95 % percentile bootstrap over images, ` +
      `${c.bootstrap.agreement.resamples} resamples, seed ${c.bootstrap.agreement.seed}); ` +
      `Cohen's κ is ${intervalText(c.kappa)} (${c.bootstrap.kappa.resamples} resamples).`,
  );
  await show(
    heatmap(t.values, t.rows, t.cols, {
      title: `Where each ${c.a} label goes under ${c.b} (row shares)`,
      xLabel: `${c.b} label`,
      yLabel: `${c.a} label`,
      domain: [0, 1],
      legendLabel: `share of the ${c.a} class`,
    }),
    `${c.a} vs ${c.b} label transitions`,
  );
  await showTable(
    Object.entries(c.excludedB).map(([reason, n]) => ({
      [`${c.b} images left out`]: reason,
      images: n,
    })),
    { caption: `${c.b} images without a label under its label rule` },
  );
}

/** Montage settings: faces per class, seed of the draw, tile size in pixels. */
export interface MontageSettings {
  perClass: number;
  seed: number;
  tile?: number;
}

/** A montage of randomly drawn faces per class for each named dataset that is loaded. */
export async function showMontages(
  loaded: readonly LoadedDataset[],
  names: readonly string[],
  settings: MontageSettings,
): Promise<void> {
  const absent = names.filter((n) => !loaded.some((d) => d.name === n));
  if (absent.length > 0) await showMarkdown(`Not available, no montage: ${listText(absent)}.`);
  for (const d of loaded.filter((x) => names.includes(x.name))) {
    const picked = pickPerClass(d.samples, d.classes, settings.perClass, settings.seed);
    const counts = summarizeDataset(d).all.perClass;
    const { svg, unreadable } = await montageSvg(
      d.classes.map((c) => ({ label: `${c} (${counts[c]})`, samples: picked.get(c) ?? [] })),
      {
        tile: settings.tile ?? 56,
        title: `${d.name}: ${settings.perClass} faces per class drawn with seed ${settings.seed} ` +
          "(class size in brackets)",
      },
    );
    await show(svg, `${d.name} montage`);
    if (unreadable.length) {
      await showMarkdown(`${d.name}: ${unreadable.length} unreadable images skipped`);
    }
  }
}
