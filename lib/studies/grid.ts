/**
 * Every model on every dataset: the prediction grid the study notebooks start from. Each cell is
 * `predictDataset` (lib/predict.ts) on the dataset's test split, so it comes from the on-disk
 * prediction cache when `deno task kit predict` (or an earlier notebook run) filled it. Models
 * whose ONNX file is missing and datasets that are not under the data root are listed with the
 * reason instead of failing the notebook.
 */
import { isTrainingSizePoint } from "./models.ts";
import { dataRoot as defaultDataRoot } from "../config.ts";
import { loadDataset } from "../datasets/mod.ts";
import type { LoadedDataset } from "../datasets/types.ts";
import { listModels, loadCard, type ResolvedModel } from "../models/registry.ts";
import { predictDataset, type PredictStats } from "../predict.ts";
import type { PredictionTable } from "../predictions.ts";
import type { Split } from "../sample.ts";

/** The datasets the studies use, in the order tables and heat maps show them. */
export const STUDY_DATASETS: readonly string[] = ["fer2013", "ferplus", "ckplus", "expw"];

/** Something a study wanted but could not use, and why. */
export interface Missing {
  id: string;
  reason: string;
}

/** One model on one dataset. */
export interface GridCell {
  model: string;
  dataset: string;
  table: PredictionTable;
  stats: PredictStats;
}

/** Predictions of every available model on every available dataset. */
export interface StudyGrid {
  dataRoot: string;
  split: Split;
  /** Models used, in the order asked for. */
  models: ResolvedModel[];
  /** Datasets used (the split only), in the order asked for. */
  datasets: LoadedDataset[];
  missingModels: Missing[];
  missingDatasets: Missing[];
  /** Cells in model-major order; a cell whose prediction failed is in `failed` instead. */
  cells: GridCell[];
  failed: { model: string; dataset: string; reason: string }[];
}

/** Options of modelsOnDatasets. */
export interface GridOptions {
  /**
   * Model ids (default: the comma-separated ids in the FER_MODELS environment variable when set,
   * else every registered FER model, sorted by id).
   */
  models?: readonly string[];
  /** Dataset names or paths (default STUDY_DATASETS). */
  datasets?: readonly string[];
  /** Split to predict (default "test"). */
  split?: Split;
  /** Data root (default FER_DATA, then data/raw). */
  dataRoot?: string;
  /** Progress display while predicting (default false: notebooks stay quiet). */
  progress?: boolean;
  /** Engine batch size (default the engine's). */
  batchSize?: number;
  /** Use and fill the prediction cache (default true). */
  cache?: boolean;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The model ids a study uses when none are given: FER_MODELS (comma-separated) when set and not
 * empty, else every registered FER model (listModels order) except the points of the
 * training-size curve (role `training-size`, studied on their own in notebook 04).
 */
export async function defaultModelIds(): Promise<string[]> {
  let env: string | undefined;
  try {
    env = Deno.env.get("FER_MODELS");
  } catch {
    env = undefined; // no --allow-env: fall back to the registry
  }
  const chosen = (env ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (chosen.length > 0) return chosen;
  return (await listModels()).filter((m) => !isTrainingSizePoint(m.card)).map((m) => m.id);
}

/** Load the models that can run; the others go to `missing` with the reason. */
export async function availableModels(
  ids?: readonly string[],
): Promise<{ models: ResolvedModel[]; missing: Missing[] }> {
  const wanted = ids ?? await defaultModelIds();
  const models: ResolvedModel[] = [];
  const missing: Missing[] = [];
  for (const id of wanted) {
    try {
      models.push(await loadCard(id));
    } catch (e) {
      missing.push({ id, reason: message(e) });
    }
  }
  return { models, missing };
}

/** Load the datasets' split; those missing under the data root go to `missing`. */
export async function availableDatasets(
  names: readonly string[],
  split: Split,
  root: string,
): Promise<{ datasets: LoadedDataset[]; missing: Missing[] }> {
  const datasets: LoadedDataset[] = [];
  const missing: Missing[] = [];
  for (const name of names) {
    try {
      const d = await loadDataset(name, { split, dataRoot: root });
      if (d.samples.length === 0) missing.push({ id: name, reason: `no ${split} samples` });
      else datasets.push(d);
    } catch (e) {
      missing.push({ id: name, reason: message(e) });
    }
  }
  return { datasets, missing };
}

/**
 * Predictions of every model on every dataset's split (cached on disk by lib/predict.ts).
 * Never throws for a missing model, dataset or a failed cell: they are listed in the result.
 */
export async function modelsOnDatasets(opts: GridOptions = {}): Promise<StudyGrid> {
  const root = opts.dataRoot ?? defaultDataRoot();
  const split = opts.split ?? "test";
  const { models, missing: missingModels } = await availableModels(opts.models);
  const { datasets, missing: missingDatasets } = await availableDatasets(
    opts.datasets ?? STUDY_DATASETS,
    split,
    root,
  );
  const cells: GridCell[] = [];
  const failed: StudyGrid["failed"] = [];
  for (const model of models) {
    for (const dataset of datasets) {
      try {
        const r = await predictDataset(model, dataset, {
          progress: opts.progress ?? false,
          cache: opts.cache ?? true,
          ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
        });
        if (r.rows.length === 0) {
          failed.push({ model: model.card.id, dataset: dataset.name, reason: "no readable image" });
          continue;
        }
        cells.push({
          model: model.card.id,
          dataset: dataset.name,
          table: { classes: r.classes, rows: r.rows },
          stats: r.stats,
        });
      } catch (e) {
        failed.push({ model: model.card.id, dataset: dataset.name, reason: message(e) });
      }
    }
  }
  return { dataRoot: root, split, models, datasets, missingModels, missingDatasets, cells, failed };
}

/** The cell of a model on a dataset, or undefined. */
export function gridCell(grid: StudyGrid, model: string, dataset: string): GridCell | undefined {
  return grid.cells.find((c) => c.model === model && c.dataset === dataset);
}

/** The loaded dataset of a name, or undefined. */
export function gridDataset(grid: StudyGrid, name: string): LoadedDataset | undefined {
  return grid.datasets.find((d) => d.name === name);
}

/** The resolved model of an id, or undefined. */
export function gridModel(grid: StudyGrid, id: string): ResolvedModel | undefined {
  return grid.models.find((m) => m.card.id === id);
}
