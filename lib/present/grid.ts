/**
 * Views of the prediction grid the study notebooks start from: what is missing, provenance,
 * the scoring rule, what the model cards say, and score matrices of every model on every test
 * set. Every view accepts an empty grid and then says what is missing.
 */
import type { Missing, StudyGrid } from "../studies/grid.ts";
import { type CellScore, SCORING_RULE, STUDY_BOOTSTRAP } from "../studies/scoring.ts";
import { shortModelName } from "../studies/models.ts";
import type { Interval } from "../metrics/mod.ts";
import { show, showMarkdown, showTable } from "./display.ts";
import { emitProvenance } from "./emit.ts";
import { datasetProvenance, modelProvenance } from "../findings.ts";
import { intervalText, listText } from "./format.ts";
import { CLUSTER_UNITS } from "../studies/clusters.ts";
import { heatmap } from "./plots.ts";

/** Markdown list of missing things with reasons ("" when none). Pure. */
export function missingMarkdown(title: string, missing: readonly Missing[]): string {
  if (missing.length === 0) return "";
  return `**${title}:**\n\n` +
    missing.map((m) => `- \`${m.id}\`: ${m.reason.replaceAll("\n", " ")}`).join("\n");
}

/** A provenance record (SHA-256) for each model and dataset split of the grid. */
export async function emitGridProvenance(grid: StudyGrid): Promise<void> {
  for (const m of grid.models) await emitProvenance(modelProvenance(m));
  for (const d of grid.datasets) await emitProvenance(datasetProvenance(d, grid.split));
}

/** What the grid lacks (models, datasets, failed cells); shows nothing when complete. */
export async function showGridGaps(grid: StudyGrid): Promise<void> {
  const gaps = [
    missingMarkdown("Models not available", grid.missingModels),
    missingMarkdown("Datasets not found", grid.missingDatasets),
    missingMarkdown(
      "Predictions that failed",
      grid.failed.map((f) => ({ id: `${f.model} on ${f.dataset}`, reason: f.reason })),
    ),
  ].filter((s) => s !== "");
  if (gaps.length > 0) await showMarkdown(gaps.join("\n\n"));
}

/**
 * Start of a study notebook: what the grid lacks (models, datasets, failed cells), a provenance
 * record (SHA-256) for each model and dataset split used, and either the scoring rule and the
 * interval settings or, without a single prediction, how to get data and models.
 */
export async function showGrid(grid: StudyGrid): Promise<void> {
  await showGridGaps(grid);
  await emitGridProvenance(grid);
  const names = grid.datasets.map((d) => d.name);
  await showMarkdown(
    grid.cells.length > 0
      ? `**Scoring rule.** ${SCORING_RULE}\n\n**Intervals** are ${bootstrapSettingsText()} ` +
        `that resample ${resamplingUnits(names)}` +
        (names.some((d) => d in CLUSTER_UNITS)
          ? ": images of one cluster are not independent, so resampling them one by one would " +
            "make the intervals too narrow."
          : ".")
      : `**No predictions** (data root \`${grid.dataRoot}\`; ${grid.models.length} model(s), ` +
        `${grid.datasets.length} dataset(s) found). Set \`FER_DATA\` to the data and run ` +
        "`deno task setup` for the models; the cells below say what they would show.",
  );
}

/** The studies' interval settings in words: "95 % percentile bootstrap intervals (1000 ...)". */
export function bootstrapSettingsText(): string {
  const b = STUDY_BOOTSTRAP;
  return `${100 * b.level} % percentile bootstrap intervals (${b.resamples} resamples, ` +
    `seed ${b.seed})`;
}

/**
 * What the intervals resample on these datasets, in words: test images, except whole clusters
 * where a dataset's images come in clusters (lib/studies/clusters.ts).
 */
export function resamplingUnits(datasets: readonly string[]): string {
  const clustered = datasets.filter((d) => d in CLUSTER_UNITS).map((d) =>
    `whole ${CLUSTER_UNITS[d]}s on ${d}`
  );
  return clustered.length === 0 ? "test images" : `test images, except ${listText(clustered)}`;
}

/** What each model's card says about its training data. */
export async function showTrainingData(grid: StudyGrid): Promise<void> {
  if (grid.models.length === 0) return;
  await showTable(
    grid.models.map((m) => ({
      model: m.card.id,
      classes: m.card.output.classes.length,
      "trained on (card)": m.card.training
        ? `${m.card.training.dataset} (${m.card.training.split})`
        : "not stated",
      "the card's words": m.card.trainingData,
    })),
    { caption: "The models and what their cards say about their training data" },
  );
}

/** Every cell's sample, exclusions, accuracy and macro-F1 with intervals. */
export async function showScores(grid: StudyGrid, scores: readonly CellScore[]): Promise<void> {
  if (scores.length === 0) return showMarkdown("No scores to show.");
  await showTable(
    scores.map((s) => ({
      model: s.model,
      dataset: s.dataset,
      images: s.summary.n,
      resampled: `${new Set(s.clusters).size} ${s.unit}s`,
      "left out": Object.entries(s.scored.leftOut).map(([c, n]) => `${n} ${c}`).join(", "),
      accuracy: intervalText(s.accuracy),
      "macro-F1": intervalText(s.macroF1),
      "balanced accuracy": s.summary.balancedAccuracy,
    })),
    {
      caption: `Every model on every ${grid.split} split (95 % bootstrap intervals; ` +
        `resampled: the units the bootstrap draws)`,
    },
  );
}

/** Rows: models, columns: datasets; NaN where a model was not scored on a dataset. */
function matrix(
  models: readonly string[],
  datasets: readonly string[],
  scores: readonly CellScore[],
  pick: (s: CellScore) => number,
): number[][] {
  return models.map((m) =>
    datasets.map((d) => {
      const s = scores.find((x) => x.model === m && x.dataset === d);
      return s ? pick(s) : NaN;
    })
  );
}

/** A table of intervals, models × datasets. */
function intervalTable(
  models: readonly string[],
  datasets: readonly string[],
  scores: readonly CellScore[],
  pick: (s: CellScore) => Interval,
) {
  return models.map((m) =>
    Object.fromEntries([
      ["model", m],
      ...datasets.map((d) => {
        const s = scores.find((x) => x.model === m && x.dataset === d);
        return [d, s ? intervalText(pick(s), 2) : undefined];
      }),
    ])
  );
}

/** Accuracy and macro-F1 of every model on every test set: heat maps and interval tables. */
export async function showScoreMatrices(
  grid: StudyGrid,
  scores: readonly CellScore[],
): Promise<void> {
  if (scores.length === 0) return showMarkdown("No scores: no heat maps.");
  const models = grid.models.map((m) => m.card.id);
  const datasets = grid.datasets.map((d) => d.name);
  const labels = models.map(shortModelName);
  const opts = { domain: [0, 1] as [number, number], format: 2, xLabel: "tested on" };
  await show(
    heatmap(matrix(models, datasets, scores, (s) => s.accuracy.estimate), labels, datasets, {
      ...opts,
      title: "Accuracy (rows: model, columns: test set)",
      legendLabel: "accuracy",
    }),
    "accuracy heat map",
  );
  await show(
    heatmap(matrix(models, datasets, scores, (s) => s.macroF1.estimate), labels, datasets, {
      ...opts,
      title: "Macro-F1 (rows: model, columns: test set)",
      legendLabel: "macro-F1",
      scheme: "greens",
    }),
    "macro-F1 heat map",
  );
  const units = resamplingUnits(datasets);
  await showTable(intervalTable(models, datasets, scores, (s) => s.accuracy), {
    caption: `Accuracy with 95 % bootstrap intervals (resampling ${units})`,
  });
  await showTable(intervalTable(models, datasets, scores, (s) => s.macroF1), {
    caption: `Macro-F1 with 95 % bootstrap intervals (resampling ${units})`,
  });
}
