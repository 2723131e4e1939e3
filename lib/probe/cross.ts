/**
 * Trained on A, tested on B: one linear probe per training part (a frozen backbone's embeddings,
 * lib/probe/embeddings.ts; a multinomial L2 logistic regression, lib/probe/mod.ts), each scored on every test
 * part. The label rule when label sets differ is `LABEL_RULE` (docs/probes.md).
 */
import { loadDataset } from "../datasets/mod.ts";
import { sourceTags } from "../datasets/content.ts";
import { InputError } from "../errors.ts";
import { imageKey } from "../prediction_cache.ts";
import { embeddingMatrix, type Embeddings, extractEmbeddings } from "./embeddings.ts";
import { accuracy, averageF1, perClassScores } from "../metrics/classification.ts";
import { loadCard } from "../models/registry.ts";
import {
  DEFAULT_LAMBDA,
  type LinearProbe,
  probePredict,
  stratifiedSubsample,
  trainProbe,
} from "./mod.ts";
import type { Sample, Split } from "../sample.ts";
import type { Shard } from "../shard.ts";
import { type Emotion, emotionIndex, EMOTIONS } from "../taxonomy.ts";

/** The label rule every cell follows, also written into the JSON. */
export const LABEL_RULE =
  "A probe outputs only the classes of its training part. accuracy counts every test item " +
  "(an item whose class the probe cannot output is wrong); macro_f1 and per_class_f1 are over " +
  "the test part's classes (a class the probe cannot output has F1 0; predictions of classes " +
  "the test part lacks are errors). `shared` restricts both to the classes the training and " +
  "test parts have in common.";

/** Default cap on training items per part (seeded stratified subsample); 0 = all. */
export const DEFAULT_MAX_TRAIN = 4000;

/** Default seed of the training subsample. */
export const DEFAULT_SEED = 2024;

/** One dataset part: a registered dataset (or path) and a split. */
export interface PartSpec {
  dataset: string;
  split: Split;
}

/** Parse `name[:split]` (split train, val or test; default `defaultSplit`). */
export function parsePartSpec(text: string, defaultSplit: Split): PartSpec {
  const t = text.trim();
  const i = t.lastIndexOf(":");
  const name = i < 0 ? t : t.slice(0, i);
  if (name === "") throw new Error(`bad dataset part "${text}" (expected name[:train|val|test])`);
  if (i < 0) return { dataset: name, split: defaultSplit };
  const split = t.slice(i + 1);
  if (split !== "train" && split !== "val" && split !== "test") {
    throw new Error(`bad split "${split}" in "${text}" (expected train, val or test)`);
  }
  return { dataset: name, split };
}

/** "dataset:split". */
export function partLabel(p: PartSpec): string {
  return `${p.dataset}:${p.split}`;
}

/** Settings of a matrix run. */
export interface CrossSettings {
  /** Cap on items per training part (seeded stratified subsample); 0 = all [4000]. */
  maxTrain?: number;
  /** Cap on items per test part (seeded stratified subsample); 0 = all [0]. */
  maxTest?: number;
  /** Subsample seed [2024]. */
  seed?: number;
  /** Probe L2 strength (mean-loss scale) [lib/probe DEFAULT_LAMBDA]. */
  lambda?: number;
  /** Probe class weights ["balanced"]. */
  classWeight?: "balanced" | "none";
  /** Data root (default FER_DATA / data/raw). */
  dataRoot?: string;
  /** Engine batch size [32]. */
  batchSize?: number;
  /** Use the embedding cache [true]. */
  cache?: boolean;
  /** Embedding cache folder (default `<cacheRoot()>/embeddings`). */
  cacheDir?: string;
  /** Progress lines on stderr [true]. */
  progress?: boolean;
  /**
   * Keep each cell's per-image outcome (`correct`) and each test part's image ids (`test_ids`),
   * for intervals that resample clusters of images or pair two cells [false].
   */
  perItem?: boolean;
}

/** Scores of one probe on one test part. */
export interface CellScores {
  accuracy: number;
  macro_f1: number;
  /** F1 per class of the test part. */
  per_class_f1: Partial<Record<Emotion, number>>;
  n_test: number;
  /** Test items whose class the probe cannot output (counted wrong). */
  n_unpredictable: number;
  /** The same scores over the classes both parts have. */
  shared: { classes: Emotion[]; n: number; accuracy: number; macro_f1: number };
}

/** One cell of the matrix. */
export interface CrossCell extends CellScores {
  train: string;
  test: string;
  n_train: number;
  /** Same dataset on both sides. */
  in_domain: boolean;
  /** Test images (content and box) that are also in the training part; absent when none. */
  shared_images?: number;
  /**
   * With `perItem`: "1" where the probe is right, "0" where wrong, one character per image of
   * the test part in `test_ids` order.
   */
  correct?: string;
}

/** How one probe was fitted. */
export interface ProbeSummary {
  train: string;
  classes: Emotion[];
  n_train: number;
  /** Items in the training part before subsampling (readable or not). */
  n_available: number;
  iterations: number;
  evaluations: number;
  gradient_norm: number;
  gradient_max_abs: number;
  objective: number;
  converged: boolean;
  stop: string;
  fit_seconds: number;
}

/** A full matrix run, as `--json` prints it. */
export interface CrossResult {
  kind: "fer-kit-cross";
  version: 1;
  backbone: string;
  model_sha256: string;
  tensor: string;
  dim: number;
  train_parts: string[];
  test_parts: string[];
  label_rule: string;
  settings: {
    max_train: number;
    max_test: number;
    seed: number;
    lambda: number;
    class_weight: "balanced" | "none";
    standardize: "train-part mean and population std";
    solver: "L-BFGS (lib/probe), gradient tolerance 1e-6 max-abs";
  };
  probes: ProbeSummary[];
  cells: CrossCell[];
  unreadable: { part: string; file: string; reason: string }[];
  /** With `perItem`: the ids of each test part's scored images, in cell order (`correct`). */
  test_ids?: Record<string, string[]>;
  notes: string[];
  seconds: { embeddings: number; probes: number };
}

/**
 * Score predictions against the truth under LABEL_RULE. `probeClasses` are the classes the probe
 * can output. Pure; uses lib/metrics (scikit-learn semantics, zero_division = 0).
 */
export function scoreProbe(
  truth: readonly Emotion[],
  pred: readonly Emotion[],
  probeClasses: readonly Emotion[],
): CellScores {
  if (truth.length !== pred.length) {
    throw new Error(`scoreProbe: ${truth.length} labels, ${pred.length} predictions`);
  }
  if (truth.length === 0) throw new Error("scoreProbe: empty test part");
  const yTrue = Int32Array.from(truth, emotionIndex);
  const yPred = Int32Array.from(pred, emotionIndex);
  const testClasses = EMOTIONS.filter((e) => truth.includes(e));
  const ids = Int32Array.from(testClasses, emotionIndex);
  const per = perClassScores(yTrue, yPred, { labels: ids });
  const perClass: Partial<Record<Emotion, number>> = {};
  per.forEach((s, i) => (perClass[testClasses[i]] = s.f1));
  const can = new Set(probeClasses);
  const sharedClasses = testClasses.filter((c) => can.has(c));
  const keep: number[] = [];
  truth.forEach((t, i) => {
    if (can.has(t)) keep.push(i);
  });
  let shared = { classes: sharedClasses, n: 0, accuracy: NaN, macro_f1: NaN };
  if (keep.length > 0) {
    const st = Int32Array.from(keep, (i) => yTrue[i]);
    const sp = Int32Array.from(keep, (i) => yPred[i]);
    const sharedIds = Int32Array.from(sharedClasses, emotionIndex);
    shared = {
      classes: sharedClasses,
      n: keep.length,
      accuracy: accuracy(st, sp),
      macro_f1: averageF1(perClassScores(st, sp, { labels: sharedIds })),
    };
  }
  return {
    accuracy: accuracy(yTrue, yPred),
    macro_f1: averageF1(per),
    per_class_f1: perClass,
    n_test: truth.length,
    n_unpredictable: truth.length - keep.length,
    shared,
  };
}

interface LoadedPart {
  spec: PartSpec;
  /** The dataset's name (registered name, or a path's base name). */
  name: string;
  label: string;
  samples: Sample[];
  available: number;
}

/** Load a part, subsampled (seeded, stratified) to `max` items when max > 0. */
async function loadPart(
  spec: PartSpec,
  max: number,
  seed: number,
  dataRoot: string | undefined,
): Promise<LoadedPart> {
  const ds = await loadDataset(spec.dataset, { split: spec.split, dataRoot });
  if (ds.samples.length === 0) {
    const counts = new Map<string, number>();
    for (const s of (await loadDataset(spec.dataset, { dataRoot })).samples) {
      counts.set(s.split, (counts.get(s.split) ?? 0) + 1);
    }
    const have = [...counts].map(([split, n]) => `${split} ${n}`).join(", ") || "none";
    throw new InputError(
      `${partLabel(spec)}: the ${spec.split} split of ${ds.name} is empty (its splits: ${have})`,
      `name a split that has images, e.g. ${spec.dataset}:${counts.keys().next().value ?? "test"}`,
    );
  }
  const samples = max > 0
    ? stratifiedSubsample(ds.samples.map((s) => s.label), max, seed).map((i) => ds.samples[i])
    : ds.samples;
  return {
    spec,
    name: ds.name,
    label: `${ds.name}:${spec.split}`,
    samples,
    available: ds.samples.length,
  };
}

/** Notes worth printing with a matrix over these parts. */
function notesFor(parts: readonly PartSpec[]): string[] {
  const names = new Set(parts.map((p) => p.dataset));
  const notes: string[] = [];
  if (names.has("fer2013") && names.has("ferplus")) {
    notes.push(
      "fer2013 and ferplus hold the same images (FER+ re-labelled FER2013 by 10 crowd votes): " +
        "their off-diagonal cells measure label noise and label-rule differences, not a domain shift.",
    );
  }
  if (names.has("ckplus")) {
    notes.push(
      "ckplus has contempt and no neutral; its test part is one subject-disjoint fold (about 100 " +
        "faces), so its cells carry wide sampling error.",
    );
  }
  if (names.has("ferplus")) {
    notes.push("ferplus labels follow the FER+ majority rule; it adds contempt.");
  }
  return notes;
}

/** Content keys (image content tag and face box) of a part's samples. */
async function partImageKeys(part: LoadedPart): Promise<string[]> {
  const tags = await sourceTags(part.samples.map((s) => s.source));
  return part.samples.map((s, i) => imageKey(tags[i], s.box));
}

/**
 * Train one probe per training part on `backbone`'s embeddings and score it on every test part.
 * Parts are loaded with lib/datasets (FER_DATA or `settings.dataRoot`); embeddings are cached.
 */
/** One part's embedding step in a shard (see embedShard). */
export interface ShardPartEmbeddings {
  part: string;
  /** Items of the part (after subsampling), and how many fell in the shard. */
  items: number;
  inShard: number;
  /** Of those, vectors found in the cache and images run through the model. */
  cached: number;
  computed: number;
  unreadable: number;
}

/**
 * The embedding step of `runCross` for one shard: the same parts, subsampled the same way, but
 * only the images of `shard` (lib/shard.ts) are embedded and cached, and no probe is fitted.
 * Run every shard, merge their caches (`kit cache merge`), and `runCross` with the same
 * settings then finds every embedding in the cache.
 */
export async function embedShard(
  backbone: string,
  trainParts: readonly PartSpec[],
  testParts: readonly PartSpec[],
  shard: Shard,
  settings: CrossSettings = {},
): Promise<ShardPartEmbeddings[]> {
  const seed = settings.seed ?? DEFAULT_SEED;
  const model = await loadCard(backbone);
  const out: ShardPartEmbeddings[] = [];
  const done = new Set<string>();
  const parts = [
    ...trainParts.map((spec) => ({ spec, max: settings.maxTrain ?? DEFAULT_MAX_TRAIN })),
    ...testParts.map((spec) => ({ spec, max: settings.maxTest ?? 0 })),
  ];
  for (const { spec, max } of parts) {
    const part = await loadPart(spec, max, seed, settings.dataRoot);
    const key = `${part.label}#${part.samples.length}`;
    if (done.has(key)) continue;
    done.add(key);
    const e = await extractEmbeddings(model, part.samples, {
      batchSize: settings.batchSize,
      cache: true,
      cacheDir: settings.cacheDir,
      shard,
      progress: settings.progress === false
        ? null
        : `${backbone} ${part.label} embeddings, shard ${shard.index}/${shard.count}`,
    });
    out.push({
      part: part.label,
      items: part.samples.length,
      inShard: e.ids.length + e.unreadable.length,
      cached: e.cachedRows,
      computed: e.computed,
      unreadable: e.unreadable.length,
    });
  }
  return out;
}

export async function runCross(
  backbone: string,
  trainParts: readonly PartSpec[],
  testParts: readonly PartSpec[],
  settings: CrossSettings = {},
): Promise<CrossResult> {
  const maxTrain = settings.maxTrain ?? DEFAULT_MAX_TRAIN;
  const maxTest = settings.maxTest ?? 0;
  const seed = settings.seed ?? DEFAULT_SEED;
  const lambda = settings.lambda ?? DEFAULT_LAMBDA;
  const classWeight = settings.classWeight ?? "balanced";
  const model = await loadCard(backbone);
  const showProgress = settings.progress ?? true;
  const log = (s: string) => {
    if (showProgress) console.error(s);
  };
  const embedCache = new Map<string, Embeddings>();
  const unreadable: CrossResult["unreadable"] = [];
  let embedSeconds = 0;
  const embed = async (part: LoadedPart): Promise<Embeddings> => {
    const key = `${part.label}#${part.samples.length}`;
    const hit = embedCache.get(key);
    if (hit) return hit;
    const t0 = performance.now();
    const e = await extractEmbeddings(model, part.samples, {
      batchSize: settings.batchSize,
      cache: settings.cache,
      cacheDir: settings.cacheDir,
      progress: showProgress ? `${backbone} ${part.label} embeddings` : null,
    });
    embedSeconds += (performance.now() - t0) / 1000;
    for (const u of e.unreadable) unreadable.push({ part: part.label, ...u });
    embedCache.set(key, e);
    return e;
  };

  const probes: { part: LoadedPart; probe: LinearProbe; keys: Set<string> }[] = [];
  const summaries: ProbeSummary[] = [];
  let probeSeconds = 0;
  for (const spec of trainParts) {
    const part = await loadPart(spec, maxTrain, seed, settings.dataRoot);
    const e = await embed(part);
    log(`${backbone}: fitting the probe on ${part.label} (${e.ids.length} x ${e.dim})`);
    const probe = trainProbe(embeddingMatrix(e), e.labels, { lambda, classWeight });
    probeSeconds += probe.fit.seconds;
    probes.push({ part, probe, keys: new Set(await partImageKeys(part)) });
    summaries.push({
      train: part.label,
      classes: probe.classes,
      n_train: probe.nTrain,
      n_available: part.available,
      iterations: probe.fit.iterations,
      evaluations: probe.fit.evaluations,
      gradient_norm: probe.fit.gradientNorm,
      gradient_max_abs: probe.fit.gradientMaxAbs,
      objective: probe.fit.objective,
      converged: probe.fit.converged,
      stop: probe.fit.stop,
      fit_seconds: probe.fit.seconds,
    });
    log(
      `${backbone}: ${part.label} probe: ${probe.fit.iterations} iterations, |grad| ` +
        `${probe.fit.gradientNorm.toExponential(2)}, ${probe.fit.stop}, ${
          probe.fit.seconds.toFixed(1)
        } s`,
    );
  }
  let dim = 0;
  const cells: CrossCell[] = [];
  const testLabels: string[] = [];
  const testIds: Record<string, string[]> = {};
  for (const spec of testParts) {
    const part = await loadPart(spec, maxTest, seed, settings.dataRoot);
    testLabels.push(part.label);
    const e = await embed(part);
    dim = e.dim;
    const x = embeddingMatrix(e);
    if (settings.perItem) testIds[part.label] = e.ids;
    const testKeys = await partImageKeys(part);
    for (const { part: trainPart, probe, keys } of probes) {
      const shared = testKeys.filter((k) => keys.has(k)).length;
      if (shared > 0 && shared === testKeys.length) {
        throw new InputError(
          `every one of the ${shared} images of the test part ${part.label} is also in the ` +
            `training part ${trainPart.label}: the probe would be scored on its own training data`,
          "test on another split or dataset (e.g. --test " + `${part.name}:test)`,
        );
      }
      if (shared > 0) {
        console.error(
          `warning: ${shared} of the ${testKeys.length} images of test part ${part.label} are ` +
            `also in training part ${trainPart.label} (same content); its scores are optimistic`,
        );
      }
      const pred = probePredict(probe, x);
      cells.push({
        train: trainPart.label,
        test: part.label,
        n_train: probe.nTrain,
        in_domain: trainPart.name === part.name,
        ...(shared > 0 ? { shared_images: shared } : {}),
        ...scoreProbe(e.labels, pred, probe.classes),
        ...(settings.perItem
          ? { correct: pred.map((p, i) => (p === e.labels[i] ? "1" : "0")).join("") }
          : {}),
      });
    }
  }
  const tensor = model.card.embedding?.tensor ?? "";
  return {
    kind: "fer-kit-cross",
    version: 1,
    backbone: model.card.id,
    model_sha256: model.sha256,
    tensor,
    dim: dim || (model.card.embedding?.dim ?? 0),
    train_parts: probes.map((p) => p.part.label),
    test_parts: testLabels,
    label_rule: LABEL_RULE,
    settings: {
      max_train: maxTrain,
      max_test: maxTest,
      seed,
      lambda,
      class_weight: classWeight,
      standardize: "train-part mean and population std",
      solver: "L-BFGS (lib/probe), gradient tolerance 1e-6 max-abs",
    },
    probes: summaries,
    cells,
    unreadable,
    ...(settings.perItem ? { test_ids: testIds } : {}),
    notes: notesFor([...trainParts, ...testParts]),
    seconds: { embeddings: embedSeconds, probes: probeSeconds },
  };
}
