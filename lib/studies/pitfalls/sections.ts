/**
 * The pitfalls notebook's sections as typed results: each section function gathers its data
 * from the prediction grid (every model on every test split, cached) or the data root, runs its
 * study, and returns either the result or the reason it could not (a dataset or model missing),
 * so the notebook's cells never branch: lib/present/pitfalls.ts shows either. Each result
 * carries the key findings it implies (findings.ts), with no value and the reason when missing.
 */
import { join } from "node:path";
import { dataRoot as defaultDataRoot } from "../../config.ts";
import type { Finding } from "../../findings.ts";
import { loadDataset } from "../../datasets/mod.ts";
import { DEFAULT_SPLIT_SEED, stratifiedSplit } from "../../datasets/split.ts";
import { EXPW_TEST_FRACTION } from "../../datasets/expw.ts";
import type { LoadedDataset } from "../../datasets/types.ts";
import { clusterBootstrapInterval } from "../../metrics/mod.ts";
import { type ContaminationRow, gridContamination } from "../contamination.ts";
import { isBenchmarked } from "../models.ts";
import type { PredictionTable } from "../../predictions.ts";
import type { Sample } from "../../sample.ts";
import { type Emotion, EMOTIONS } from "../../taxonomy.ts";
import {
  defaultModelIds,
  gridCell,
  gridDataset,
  modelsOnDatasets,
  type StudyGrid,
} from "../grid.ts";
import { listModels, type ResolvedModel } from "../../models/registry.ts";
import { accuracyStatistic } from "../../metrics/mod.ts";
import { labelArrays, restrictToModel, studyInterval } from "../scoring.ts";
import { type CroppingResult, croppingStudy, singleFaceSamples } from "./cropping.ts";
import {
  type DuplicatePair,
  findDuplicates,
  groupLeak,
  hashDataset,
  type HashedImage,
  leakShare,
} from "./duplicates.ts";
import { labelChanges, scoreUnderRules, type VotedImage, votedImages } from "./labels.ts";
import {
  calibration,
  constantPredictions,
  imagesForDifference,
  majorityClass,
  metricPanel,
  pairedImagesForDifference,
  thresholdSweep,
} from "./measures.ts";
import {
  PREPROCESSING_VARIANTS,
  type PreprocessingOptions,
  type PreprocessingResult,
  preprocessingStudy,
} from "./preprocessing.ts";
import { seededSubset } from "./runs.ts";
import {
  calibrationFindings,
  contaminationSectionFindings,
  croppingFindings,
  duplicatesFindings,
  labelRulesFindings,
  metricChoiceFindings,
  photoLeakFindings,
  preprocessingFindings,
  smallTestFindings,
} from "./findings.ts";
import type {
  CalibrationSectionResult,
  DuplicatesResult,
  LabelRulesResult,
  MetricChoiceResult,
  MetricChoiceRow,
  Outcome,
  PhotoLeakResult,
  Section,
  SizeRow,
  SmallTestResult,
} from "./results.ts";

function ok<T>(value: T): Outcome<T> {
  return { value, missing: null };
}
function missing<T>(why: string): Outcome<T> {
  return { value: null, missing: why };
}
function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** What every section starts from. */
export interface PitfallsContext {
  dataRoot: string;
  /** Every available model on every available test split (cached predictions). */
  grid: StudyGrid;
}

/**
 * Load the prediction grid (every registered model with its ONNX file on every test split under
 * the data root; FER_MODELS restricts the models); showContext emits its provenance records.
 */
export async function pitfallsContext(opts: { dataRoot?: string } = {}): Promise<PitfallsContext> {
  const dataRoot = opts.dataRoot ?? defaultDataRoot();
  const grid = await modelsOnDatasets({ dataRoot, models: await pitfallsModelIds() });
  return { dataRoot, grid };
}

/**
 * The models the notebook studies: FER_MODELS when set (as every study), else the benchmark's
 * models (isBenchmarked: not the kit's training-matrix and training-size networks, many small
 * CNNs that would multiply the preprocessing and cropping runs without a new lesson).
 */
export async function pitfallsModelIds(): Promise<string[]> {
  let env = "";
  try {
    env = Deno.env.get("FER_MODELS") ?? "";
  } catch {
    env = ""; // no --allow-env: the registry decides
  }
  if (env.trim() !== "") return await defaultModelIds();
  const ids = new Set(await defaultModelIds());
  return (await listModels()).filter((m) => ids.has(m.id) && isBenchmarked(m.card)).map((m) =>
    m.id
  );
}

/** Models whose input is at least this many pixels count as slow (DenseNet-121 at 224×224). */
export const SLOW_INPUT_PIXELS = 150 * 150;

/** Per-model image limits: `slowLimit` for models with a large input, none for the others. */
export function slowModelLimits(models: readonly ResolvedModel[], slowLimit: number) {
  return Object.fromEntries(
    models.filter((m) => m.card.input.width * m.card.input.height >= SLOW_INPUT_PIXELS)
      .map((m) => [m.card.id, slowLimit]),
  );
}

function need(grid: StudyGrid, name: string): LoadedDataset {
  const d = gridDataset(grid, name);
  if (d === undefined) {
    const why = grid.missingDatasets.find((m) => m.id === name)?.reason ?? "not loaded";
    throw new Error(`${name} test split missing (${why.split("\n")[0]})`);
  }
  if (grid.models.length === 0) throw new Error("no model available (run deno task setup)");
  return d;
}

/** Run a section's study (an error becomes the reason there is no result), then its findings. */
async function section<T>(
  what: string,
  findings: (o: Outcome<T>) => Finding[],
  fn: () => Promise<T>,
): Promise<Section<T>> {
  let o: Outcome<T>;
  try {
    o = ok(await fn());
  } catch (e) {
    o = missing(`${what}: ${message(e)}`);
  }
  return { ...o, findings: findings(o) };
}

/** Settings of the preprocessing section (sizes of the seeded samples). */
export interface PreprocessingSettings {
  fer2013Sample: number;
  expwSample: number;
  seed: number;
  /** Images for slow models (the first part of each sample). */
  slowLimit: number;
}

/** Section 1: preprocessing variants on a FER2013 test sample and on ExpW test faces. */
export async function preprocessingSection(
  ctx: PitfallsContext,
  s: PreprocessingSettings,
): Promise<{ fer2013: Section<PreprocessingResult>; expw: Section<PreprocessingResult> }> {
  const limits = slowModelLimits(ctx.grid.models, s.slowLimit);
  const sample = (name: string, dataset: string, size: number, opts: PreprocessingOptions) =>
    section(name, (o) => preprocessingFindings(name, o), async () =>
      await preprocessingStudy(
        ctx.grid.models,
        await seededSubset(need(ctx.grid, dataset), size, s.seed),
        opts,
      ));
  return {
    fer2013: await sample("FER2013", "fer2013", s.fer2013Sample, {
      colour: false,
      imageSize: 48,
      limits,
    }),
    expw: await sample("ExpW", "expw", s.expwSample, {
      colour: true,
      limits,
      variants: PREPROCESSING_VARIANTS.filter((v) => v.colourOnly),
    }),
  };
}

/** Section 2: cropping conditions on ExpW test faces from single-face photographs. */
export async function croppingSection(
  ctx: PitfallsContext,
  s: { sample: number; seed: number; slowLimit: number },
): Promise<Section<CroppingResult & { faces: Sample[] }>> {
  return await section("ExpW", croppingFindings, async () => {
    const expw = need(ctx.grid, "expw");
    const single = { ...expw, samples: singleFaceSamples(expw.samples) };
    const data = await seededSubset(single, s.sample, s.seed);
    const result = await croppingStudy(ctx.grid.models, data, {
      limits: slowModelLimits(ctx.grid.models, s.slowLimit),
    });
    return { ...result, faces: data.samples.slice(0, 6) };
  });
}

async function fer2013Votes(ctx: PitfallsContext): Promise<Map<string, VotedImage>> {
  return await votedImages(need(ctx.grid, "fer2013"), join(ctx.dataRoot, "ferplus"));
}

/** FER2013-test prediction tables of every model, with the classes each can output. */
function fer2013Tables(grid: StudyGrid) {
  return grid.models.flatMap((m) => {
    const c = gridCell(grid, m.card.id, "fer2013");
    return c ? [{ model: m.card.id, classes: m.card.output.classes, table: c.table }] : [];
  });
}

/** Section 3: FER2013 test under FER2013's labels and FER+ vote rules. */
export async function labelRulesSection(ctx: PitfallsContext): Promise<Section<LabelRulesResult>> {
  return await section("FER2013 + FER+ votes", labelRulesFindings, async () => {
    const images = await fer2013Votes(ctx);
    return {
      changes: labelChanges([...images.values()]),
      scores: scoreUnderRules(fer2013Tables(ctx.grid), images, [...EMOTIONS]),
    };
  });
}

/** Section 4a: exact and near duplicates within and across FER2013's splits. */
export async function duplicatesSection(
  ctx: PitfallsContext,
  s: { maxDistance: number; examples: number },
): Promise<Section<DuplicatesResult>> {
  return await section("FER2013 (all splits)", duplicatesFindings, async () => {
    const all = await loadDataset("fer2013", { dataRoot: ctx.dataRoot });
    const { images } = await hashDataset(all);
    const summary = duplicateSummary(images, findDuplicates(images, s.maxDistance), s);
    const wanted = new Set(summary.examples.flatMap((p) => [p.a, p.b]));
    return { ...summary, exampleSamples: all.samples.filter((x) => wanted.has(x.id)) };
  });
}

/** Counts, leak shares and examples of found pairs. Pure. */
export function duplicateSummary(
  images: readonly HashedImage[],
  pairs: readonly DuplicatePair[],
  s: { maxDistance: number; examples: number },
): Omit<DuplicatesResult, "exampleSamples"> {
  const counts = new Map<string, number>();
  for (const p of pairs) {
    counts.set(`${p.kind}|${p.splits}`, (counts.get(`${p.kind}|${p.splits}`) ?? 0) + 1);
  }
  const pairCounts = [...counts].map(([k, n]) => {
    const [kind, splits] = k.split("|");
    return { kind, splits, pairs: n };
  }).sort((a, b) => a.kind.localeCompare(b.kind) || a.splits.localeCompare(b.splits));
  const leaks = (["test", "val"] as const).flatMap((split) =>
    (["exact", "exact or near"] as const).map((kind) =>
      leakShare(images, pairs, split, "train", kind)
    )
  );
  const cross = pairs.filter((p) => p.splits === "test/train");
  const examples = [
    ...cross.filter((p) => p.kind === "exact").slice(0, s.examples),
    ...cross.filter((p) => p.kind === "near").sort((a, b) => b.distance - a.distance)
      .slice(0, s.examples),
  ];
  return { images: images.length, maxDistance: s.maxDistance, pairCounts, leaks, examples };
}

/** Section 4b: the kit's ExpW split against a face-level split of the same faces. */
export async function photoLeakSection(ctx: PitfallsContext): Promise<Section<PhotoLeakResult>> {
  return await section("ExpW", photoLeakFindings, async () => {
    const all = await loadDataset("expw", { dataRoot: ctx.dataRoot });
    const faceLevel = stratifiedSplit(
      all.samples.map((x) => x.label),
      EXPW_TEST_FRACTION,
      DEFAULT_SPLIT_SEED,
    );
    const byFace: Sample[] = all.samples.map((x, i) => ({ ...x, split: faceLevel[i] }));
    return { kit: groupLeak(all.samples), byFace: groupLeak(byFace) };
  });
}

/**
 * Section 4c: the kit's contamination audit (lib/studies/contamination.ts, the one the claims
 * use) of every model on FER2013 test: original labels against the FER+ majority, with the
 * kit's own CNNs trained on FER2013 Training as clean references.
 */
export async function contaminationSection(
  ctx: PitfallsContext,
): Promise<Section<ContaminationRow[]>> {
  return await section("FER2013 + FER+ test", contaminationSectionFindings, () => {
    need(ctx.grid, "fer2013");
    need(ctx.grid, "ferplus");
    const study = gridContamination(ctx.grid);
    if (study === null) throw new Error("no model has FER2013 test predictions");
    return Promise.resolve(study.rows);
  });
}

/** Section 5: four metrics of the same predictions, and a majority-class baseline. */
export async function metricChoiceSection(
  ctx: PitfallsContext,
  s: { dataset: string },
): Promise<Section<MetricChoiceResult>> {
  return await section(s.dataset, metricChoiceFindings, () => {
    const d = need(ctx.grid, s.dataset);
    const rows: MetricChoiceRow[] = [];
    let first: PredictionTable | undefined;
    let firstClasses: Emotion[] = [];
    for (const m of ctx.grid.models) {
      const c = gridCell(ctx.grid, m.card.id, s.dataset);
      if (c === undefined) continue;
      const scored = restrictToModel(c.table, m.card.output.classes, d.classes);
      first ??= scored.table;
      firstClasses = firstClasses.length ? firstClasses : scored.classes;
      rows.push({ model: m.card.id, panel: metricPanel(scored.table, scored.classes) });
    }
    if (first === undefined) throw new Error(`no predictions on ${s.dataset}`);
    const baseline = majorityClass(first);
    const base = constantPredictions(first, baseline);
    rows.push({ model: `always "${baseline}"`, panel: metricPanel(base, firstClasses) });
    return Promise.resolve({ dataset: s.dataset, baseline, rows });
  });
}

/** Section 6: reliability, ECE and a confidence-threshold sweep on one test split. */
export async function calibrationSection(
  ctx: PitfallsContext,
  s: { dataset: string; thresholds: readonly number[] },
): Promise<Section<CalibrationSectionResult>> {
  return await section(s.dataset, calibrationFindings, () => {
    need(ctx.grid, s.dataset);
    const rows = ctx.grid.models.flatMap((m) => {
      const c = gridCell(ctx.grid, m.card.id, s.dataset);
      return c
        ? [{
          model: m.card.id,
          calibration: calibration(c.table),
          sweep: thresholdSweep(c.table, s.thresholds),
        }]
        : [];
    });
    if (rows.length === 0) throw new Error(`no predictions on ${s.dataset}`);
    return Promise.resolve({ dataset: s.dataset, rows });
  });
}

/**
 * Section 7: CK+ test accuracy with intervals by image and by subject (cluster bootstrap over
 * subjects), and the FER2013 test images a difference of `delta` needs for the two best models.
 */
export async function smallTestSection(
  ctx: PitfallsContext,
  s: { delta: number },
): Promise<Section<SmallTestResult>> {
  return await section("CK+ / FER2013", smallTestFindings, () => {
    const ck = need(ctx.grid, "ckplus");
    const group = new Map(ck.samples.map((x) => [x.id, x.group ?? x.id]));
    const ckplus = ctx.grid.models.flatMap((m) => {
      const c = gridCell(ctx.grid, m.card.id, "ckplus");
      if (c === undefined) return [];
      const scored = restrictToModel(c.table, m.card.output.classes, ck.classes);
      const { yTrue, yPred } = labelArrays(scored.table);
      const stat = accuracyStatistic(yTrue, yPred);
      const clusters = scored.table.rows.map((r) => group.get(r.id) ?? r.id);
      const bySubject = clusterBootstrapInterval(clusters, stat);
      return [{
        model: m.card.id,
        images: yTrue.length,
        subjects: bySubject.clusters,
        byImage: studyInterval(yTrue.length, stat),
        bySubject,
      }];
    });
    return Promise.resolve({ ckplus, sizes: sizeRows(ctx.grid, s.delta), delta: s.delta });
  });
}

/** The two most accurate models on FER2013 test, and the test sizes `delta` needs there. */
function sizeRows(grid: StudyGrid, delta: number): SizeRow[] {
  const tables = fer2013Tables(grid).map((t) => {
    const { yTrue, yPred } = labelArrays(t.table);
    const byId = new Map(t.table.rows.map((r, i) => [r.id, yPred[i] === yTrue[i]]));
    return {
      model: t.model,
      acc: accuracyStatistic(yTrue, yPred)(Int32Array.from(yTrue, (_, i) => i)),
      byId,
    };
  }).sort((a, b) => b.acc - a.acc);
  if (tables.length < 2) return [];
  const [a, b] = tables;
  let disc = 0, n = 0;
  for (const [id, hit] of a.byId) {
    const other = b.byId.get(id);
    if (other === undefined) continue;
    n++;
    if (hit !== other) disc++;
  }
  const psi = disc / n;
  return [{
    models: `${a.model} vs ${b.model}`,
    accuracy: a.acc,
    discordance: psi,
    independent: imagesForDifference(a.acc - delta, delta),
    paired: pairedImagesForDifference(psi, delta),
  }];
}
