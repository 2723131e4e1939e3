/**
 * The trained-on × tested-on matrix of the networks the kit trains itself (Jamróz et al. 2024's
 * design): every registered model with the role `training-matrix` (one architecture trained on
 * one dataset by models/recipes/train_epochs.py) scored on every study dataset's test split.
 *
 * Scores per cell, under the studies' scoring rule (lib/studies/scoring.ts SCORING_RULE):
 * accuracy and macro-F1; and the accuracy on the shared classes (test items whose label the
 * training set also has, the model's choice restricted to those classes: argmax of its
 * probabilities over the shared classes). Intervals: percentile bootstrap (STUDY_BOOTSTRAP);
 * clustered (whole clusters resampled, lib/metrics/cluster_bootstrap.ts) when every test item
 * has a cluster (`Sample.group`: CK+ subject, ExpW photograph), item-level otherwise.
 */
import type { Finding } from "./findings.ts";
import type { BootstrapInterval } from "./metrics/bootstrap.ts";
import { clusterBootstrapInterval } from "./metrics/cluster_bootstrap.ts";
import { modelsWithRole } from "./models/registry.ts";
import type { PredictionTable } from "./predictions.ts";
import {
  accuracyStatistic,
  argmaxAmong,
  type IndexStatistic,
  macroF1Statistic,
} from "./metrics/mod.ts";
import { labelArrays, restrictToModel, STUDY_BOOTSTRAP, studyInterval } from "./studies/scoring.ts";
import { type GridOptions, modelsOnDatasets, STUDY_DATASETS } from "./studies/grid.ts";
import type { Missing } from "./studies/grid.ts";
import { type Emotion, EMOTIONS } from "./taxonomy.ts";

/** The role that puts a model in the matrix. */
export const MATRIX_ROLE = "training-matrix";

/** [lower, upper] of a 95 % percentile interval. */
export type Interval = [number, number];

/** One network on one test set. */
export interface MatrixCell {
  model: string;
  arch: string;
  /** Training dataset (card `training.dataset`). */
  train: string;
  /** Test dataset (its test split). */
  test: string;
  in_domain: boolean;
  /** Test items scored (labels the model can output). */
  n: number;
  accuracy: number;
  macro_f1: number;
  /** Items whose label both the training and the test set have; choice restricted to them. */
  shared: { classes: Emotion[]; n: number; accuracy: number };
  ci: {
    accuracy: Interval;
    macro_f1: Interval;
    shared_accuracy: Interval;
    /** "cluster" (whole clusters resampled) or "item". */
    method: "cluster" | "item";
    /** Clusters resampled (cluster method only). */
    clusters?: number;
  };
}

/** The matrix of one architecture, plus how its in-domain cells compare. */
export interface ArchMatrix {
  arch: string;
  train: string[];
  test: string[];
  cells: MatrixCell[];
  /**
   * Per test set with an in-domain cell: how many cross-domain cells of that column have a lower
   * accuracy than the in-domain one, out of how many.
   */
  inDomain: { test: string; below: number; of: number }[];
}

/** How one network of the matrix was trained (from its card's `training`). */
export interface MatrixNetwork {
  model: string;
  arch: string;
  train: string;
  epochs: number | null;
  budget: "cpu" | "gpu" | null;
  device: string | null;
}

/** `kit matrix` result. */
export interface TrainedMatrix {
  archs: ArchMatrix[];
  networks: MatrixNetwork[];
  bootstrap: { resamples: number; seed: number; level: number };
  missingModels: Missing[];
  missingDatasets: Missing[];
  failed: { model: string; dataset: string; reason: string }[];
}

/** Options of trainedMatrix. */
export interface MatrixOptions extends Pick<GridOptions, "dataRoot" | "progress" | "cache"> {
  /** Only this architecture. */
  arch?: string;
  /** Test datasets (default STUDY_DATASETS). */
  datasets?: readonly string[];
  resamples?: number;
  seed?: number;
}

/** The architecture of a matrix model: its id `matrix-<dataset>-<arch>` less the prefix. */
export function matrixArch(id: string, dataset: string): string {
  const prefix = `matrix-${dataset}-`;
  return id.startsWith(prefix) ? id.slice(prefix.length) : id;
}

/** Accuracy over `classes` only: items labelled in them, argmax of probs over them. */
export function sharedAccuracyStatistic(
  table: PredictionTable,
  classes: readonly Emotion[],
): { n: number; stat: IndexStatistic; rows: number[] } {
  const cols = classes.map((c) => table.classes.indexOf(c));
  if (cols.some((c) => c < 0)) throw new Error("shared classes missing from the table");
  const rows: number[] = [];
  const hit: number[] = [];
  table.rows.forEach((r, i) => {
    const k = classes.indexOf(r.label);
    if (k < 0) return;
    const best = argmaxAmong(r.probs, cols);
    rows.push(i);
    hit.push(best === k ? 1 : 0);
  });
  const stat: IndexStatistic = (idx) => {
    let s = 0;
    for (let i = 0; i < idx.length; i++) s += hit[idx[i]];
    return s / idx.length;
  };
  return { n: rows.length, stat, rows };
}

function pair(iv: BootstrapInterval): Interval {
  return [iv.lower, iv.upper];
}

/**
 * Score one network's predictions on one test set (see the module comment). `groups[i]` is the
 * cluster of `table.rows[i]` (undefined: item-level intervals).
 */
export function scoreMatrixCell(
  meta: { model: string; arch: string; train: string; test: string },
  table: PredictionTable,
  modelClasses: readonly Emotion[],
  testClasses: readonly Emotion[],
  groups: readonly (string | undefined)[] | undefined,
  opts: { resamples?: number; seed?: number } = {},
): MatrixCell {
  const boot = { ...STUDY_BOOTSTRAP, ...opts };
  const clustered = groups !== undefined && groups.every((g) => g !== undefined);
  const interval = (rowIdx: readonly number[], stat: IndexStatistic) =>
    clustered
      ? clusterBootstrapInterval(rowIdx.map((i) => groups![i]!), stat, boot)
      : studyInterval(rowIdx.length, stat, boot);
  // Scoring rule: rows whose label the model can output.
  const keep: number[] = [];
  table.rows.forEach((r, i) => {
    if (modelClasses.includes(r.label)) keep.push(i);
  });
  const scored = restrictToModel(table, modelClasses, testClasses);
  const { yTrue, yPred } = labelArrays(scored.table);
  const acc = accuracyStatistic(yTrue, yPred);
  const f1 = macroF1Statistic(yTrue, yPred, scored.classes);
  const all = Int32Array.from({ length: yTrue.length }, (_, i) => i);
  const accIv = interval(keep, acc);
  const f1Iv = interval(keep, f1);
  const sharedClasses = EMOTIONS.filter((e) => modelClasses.includes(e) && testClasses.includes(e));
  const sh = sharedAccuracyStatistic(table, sharedClasses);
  const shIv = interval(sh.rows, sh.stat);
  const ci: MatrixCell["ci"] = {
    accuracy: pair(accIv),
    macro_f1: pair(f1Iv),
    shared_accuracy: pair(shIv),
    method: clustered ? "cluster" : "item",
  };
  if (clustered) ci.clusters = new Set(keep.map((i) => groups![i])).size;
  return {
    ...meta,
    in_domain: meta.train === meta.test,
    n: yTrue.length,
    accuracy: acc(all),
    macro_f1: f1(all),
    shared: {
      classes: sharedClasses,
      n: sh.n,
      accuracy: sh.stat(Int32Array.from({ length: sh.n }, (_, i) => i)),
    },
    ci,
  };
}

/** How each column's in-domain cell compares with that column's cross-domain cells. */
export function inDomainComparison(cells: readonly MatrixCell[]): ArchMatrix["inDomain"] {
  const out: ArchMatrix["inDomain"] = [];
  for (const test of [...new Set(cells.map((c) => c.test))]) {
    const own = cells.find((c) => c.test === test && c.in_domain);
    if (own === undefined) continue;
    const cross = cells.filter((c) => c.test === test && !c.in_domain);
    out.push({
      test,
      below: cross.filter((c) => c.accuracy < own.accuracy).length,
      of: cross.length,
    });
  }
  return out;
}

/**
 * The trained matrix: predictions of every `training-matrix` model on every test set (cached,
 * lib/predict.ts), scored per cell. Missing models, datasets and failed cells are listed, never
 * thrown.
 */
export async function trainedMatrix(opts: MatrixOptions = {}): Promise<TrainedMatrix> {
  const listed = (await modelsWithRole(MATRIX_ROLE)).filter((m) =>
    m.card.training?.dataset !== undefined &&
    (opts.arch === undefined || matrixArch(m.id, m.card.training.dataset) === opts.arch)
  );
  const tests = opts.datasets ?? STUDY_DATASETS;
  const grid = await modelsOnDatasets({
    models: listed.map((m) => m.id),
    datasets: tests,
    split: "test",
    ...(opts.dataRoot ? { dataRoot: opts.dataRoot } : {}),
    progress: opts.progress ?? false,
    cache: opts.cache ?? true,
  });
  const cells: MatrixCell[] = [];
  for (const cell of grid.cells) {
    const model = grid.models.find((m) => m.card.id === cell.model)!;
    const dataset = grid.datasets.find((d) => d.name === cell.dataset)!;
    const groupOf = new Map(dataset.samples.map((s) => [s.id, s.group]));
    const groups = cell.table.rows.map((r) => groupOf.get(r.id));
    const train = model.card.training!.dataset;
    cells.push(scoreMatrixCell(
      { model: cell.model, arch: matrixArch(cell.model, train), train, test: cell.dataset },
      cell.table,
      model.card.output.classes,
      dataset.classes,
      groups,
      opts,
    ));
  }
  const archs: ArchMatrix[] = [];
  for (const arch of [...new Set(cells.map((c) => c.arch))].sort()) {
    const own = cells.filter((c) => c.arch === arch);
    const order = (names: string[]) =>
      [...new Set(names)].sort((a, b) => tests.indexOf(a) - tests.indexOf(b));
    archs.push({
      arch,
      train: order(own.map((c) => c.train)),
      test: order(own.map((c) => c.test)),
      cells: own,
      inDomain: inDomainComparison(own),
    });
  }
  const networks: MatrixNetwork[] = grid.models.map((m) => {
    const t = m.card.training!;
    return {
      model: m.card.id,
      arch: matrixArch(m.card.id, t.dataset),
      train: t.dataset,
      epochs: t.epochs ?? null,
      budget: t.budget ?? null,
      device: t.device ?? null,
    };
  });
  return {
    archs,
    networks,
    bootstrap: {
      resamples: opts.resamples ?? STUDY_BOOTSTRAP.resamples,
      seed: opts.seed ?? STUDY_BOOTSTRAP.seed,
      level: STUDY_BOOTSTRAP.level,
    },
    missingModels: grid.missingModels,
    missingDatasets: grid.missingDatasets,
    failed: grid.failed,
  };
}

/** Markdown tables, one per architecture: rows = training set, columns = test set. */
export function matrixMarkdown(
  m: TrainedMatrix,
  metric: "accuracy" | "macro_f1" = "accuracy",
): string {
  const out: string[] = [];
  const fmt = (v: number) => (100 * v).toFixed(1);
  for (const a of m.archs) {
    out.push(`### ${a.arch}: ${metric === "accuracy" ? "accuracy" : "macro-F1"} (%), 95 % CI`, "");
    out.push(`| trained on \\ tested on | ${a.test.join(" | ")} |`);
    out.push(`|---|${a.test.map(() => "---").join("|")}|`);
    for (const t of a.train) {
      const row = a.test.map((x) => {
        const c = a.cells.find((c) => c.train === t && c.test === x);
        if (c === undefined) return "–";
        const iv = metric === "accuracy" ? c.ci.accuracy : c.ci.macro_f1;
        const v = metric === "accuracy" ? c.accuracy : c.macro_f1;
        const s = `${fmt(v)} [${fmt(iv[0])}, ${fmt(iv[1])}]`;
        return c.in_domain ? `**${s}**` : s;
      });
      out.push(`| ${t} | ${row.join(" | ")} |`);
    }
    out.push("");
    const below = a.inDomain.reduce((s, d) => s + d.below, 0);
    const of = a.inDomain.reduce((s, d) => s + d.of, 0);
    if (metric === "accuracy" && of > 0) {
      out.push(
        `In ${below} of ${of} cross-domain cells the accuracy is below that of the network ` +
          "trained on the test set's own dataset (bold, same column).",
        "",
      );
    }
    const nets = m.networks.filter((n) => n.arch === a.arch);
    if (nets.length > 0) {
      const text = nets.map((n) =>
        `${n.train} ${n.epochs ?? "?"} epochs (${n.budget?.toUpperCase() ?? "unstated"} budget)`
      );
      out.push(`Training: ${text.join("; ")}.`, "");
    }
  }
  return out.join("\n");
}

/**
 * Findings of the matrix (lib/findings.ts records): per network, its in-domain accuracy; per
 * architecture, the share of cross-domain cells whose accuracy is below their column's in-domain
 * cell (the paper's claim: in-domain beats cross-domain).
 */
export function matrixFindings(m: TrainedMatrix): Finding[] {
  const out: Finding[] = [];
  for (const a of m.archs) {
    for (const c of a.cells.filter((c) => c.in_domain)) {
      out.push({
        id: `matrix.in-domain.${c.arch}.${c.train}`,
        label: `${c.arch} trained on ${c.train}: accuracy on ${c.test} test`,
        value: c.accuracy,
        ci: c.ci.accuracy,
        unit: "accuracy",
        group: "Trained networks: in-domain accuracy",
        note: `${c.n} test items; ${c.ci.method}-level bootstrap` +
          (c.ci.clusters !== undefined ? ` over ${c.ci.clusters} clusters` : ""),
      });
    }
    const below = a.inDomain.reduce((s, d) => s + d.below, 0);
    const of = a.inDomain.reduce((s, d) => s + d.of, 0);
    out.push({
      id: `matrix.in-domain-wins.${a.arch}`,
      label: `${a.arch}: share of cross-domain cells below their column's in-domain cell`,
      value: of === 0 ? null : below / of,
      unit: "share",
      digits: 2,
      group: "Trained networks: in-domain vs cross-domain",
      note: `${below} of ${of} cells (accuracy point estimates); ` +
        a.inDomain.map((d) => `${d.test}: ${d.below}/${d.of}`).join(", "),
    });
  }
  return out;
}
