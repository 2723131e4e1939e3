/**
 * The saliency study of notebook 04 (FER2013 CNNs): centred RISE maps (Petsiuk et al. 2018, with
 * the mean score subtracted as a control variate, lib/saliency/rise.ts `centered`) for a
 * stratified sample of test faces, class-conditional mean maps, representative cases, the
 * deletion/insertion faithfulness of RISE against occlusion and a random map, and the
 * model-randomisation sanity check (Adebayo et al. 2018). Everything runs through lib/saliency on
 * the real model; the result is plain JSON, cached under `<cacheRoot()>/studies/saliency/`
 * keyed by the ONNX hash, the dataset hash and the settings, so a warm run is a file read.
 */
import { base64Bytes } from "../bytes.ts";
import type { LoadedDataset } from "../datasets/types.ts";
import { Buffer } from "node:buffer";
import { sourceTags } from "../datasets/content.ts";
import { ImageError, readSampleImage } from "../image.ts";
import type { ResolvedModel } from "../models/registry.ts";
import { imageKey } from "../prediction_cache.ts";
import { preprocess } from "../preprocess.ts";
import { mulberry32, shuffled } from "../random.ts";
import type { Sample } from "../sample.ts";
import {
  SaliencyCache,
  type SaliencyCacheStats,
  saliencyEntryKey,
  vectorHash,
} from "../saliency_cache.ts";
import { inShard, type Shard } from "../shard.ts";
import { EngineScorer } from "../saliency/engine_scorer.ts";
import type {
  explainMaps as ExplainMapsFn,
  MethodName,
  MethodOptions,
} from "../saliency/explain.ts";
import type { OcclusionOptions } from "../saliency/occlusion.ts";
import {
  type ClassCases,
  type ClassMeanMap,
  curvesFromScores,
  type DeletionInsertion,
  deletionInsertion,
  type ExplainedFace,
  explainedFace,
  explainFace,
  explainMaps,
  faceCases,
  faceMeanMaps,
  type FacePixels,
  occlusionMaps,
  predictFaces,
  randomizationCheck,
  type RandomizationResult,
  randomMap,
  riseMap,
  type SaliencyMap,
} from "../saliency/mod.ts";
import type { Emotion } from "../taxonomy.ts";
import { cachedJson, canonicalJson } from "./cache.ts";
import type { StudyGrid } from "./grid.ts";

/** Settings of a saliency study (all have defaults sized for a 2-core machine). */
export interface SaliencySettings {
  /**
   * How faces are drawn (seeded): `perClass` takes up to `perClass` faces of each class the
   * model outputs, `random` a random subset of `limit` faces [perClass].
   */
  sampling: "perClass" | "random";
  /** Faces drawn by `random` sampling [300]. */
  limit: number;
  /** Test faces per true class (seeded random choice) [20]. */
  perClass: number;
  /** Method of the maps (mean maps, cases, randomisation check) [rise]. */
  method: MethodName;
  /** RISE: subtract the mean score over the masks (control variate) [true]. */
  centered: boolean;
  /** RISE mask cell size in pixels [input size / 8] and keep probability [0.5]. */
  riseCell?: number;
  riseKeep?: number;
  /** Occlusion patch and stride in pixels [size / 6, patch / 2] and fill [mean]. */
  occlusion?: Omit<OcclusionOptions, "classIndex">;
  /** Score deletion/insertion faithfulness [true]. */
  faithfulness: boolean;
  /** Model-randomisation check: cascading, full, or none [cascading]. */
  randomization: "cascading" | "full" | "none";
  /** RISE masks per face [200]. */
  riseN: number;
  /** RISE seed [0]. */
  seed: number;
  /** Faces per class in the faithfulness scores [2]. */
  faithfulnessPerClass: number;
  /** RISE masks of the maps scored for faithfulness (more than `riseN`: one face, not a mean) [500]. */
  faithfulnessRiseN: number;
  /** Deletion/insertion steps [32]. */
  steps: number;
  /** Faces in the randomisation check [6]. */
  randomizationImages: number;
  /** Cascading steps of the randomisation check [3]. */
  randomizationSteps: number;
  /** Cases per kind and class [2]. */
  casesPerClass: number;
  /** Images per forward pass [64]. */
  batchSize: number;
  /** onnxruntime threads per operator [onnxruntime's default]. */
  threads?: number;
}

/** Version of the study's method; part of the cache key (bump when the computation changes). */
export const SALIENCY_STUDY_VERSION = 2;

/** The defaults of SaliencySettings. */
export const DEFAULT_SALIENCY_SETTINGS: SaliencySettings = {
  sampling: "perClass",
  limit: 300,
  perClass: 20,
  method: "rise",
  centered: true,
  faithfulness: true,
  randomization: "cascading",
  riseN: 200,
  seed: 0,
  faithfulnessPerClass: 2,
  faithfulnessRiseN: 500,
  steps: 32,
  randomizationImages: 6,
  randomizationSteps: 3,
  casesPerClass: 2,
  batchSize: 64,
};

/** One explained face (no pixels: those are kept for the mean maps and cases only). */
export interface StudyItem {
  id: string;
  label: Emotion;
  pred: Emotion;
  /** Probability of the predicted class. */
  confidence: number;
}

/** A class-conditional mean map and the mean face it was averaged over. */
export interface StudyMeanMap {
  className: string;
  count: number;
  /** Mean min-max-scaled map, row-major width × height, rounded to 1e-4. */
  map: number[];
  /** Mean face, 8-bit gray, base64. */
  face: string;
}

/** A face and its map, compact: face 8-bit (channels as the model sees it), map 8-bit min-max. */
export interface StudyTile {
  face: string;
  channels: 1 | 3;
  map: string;
}

/** Per-image deletion/insertion areas of one kind of map. */
export interface FaithfulnessScores {
  deletion: number[];
  insertion: number[];
  /** Mean curves (fraction of pixels changed → class probability). */
  deletionCurve: { x: number; y: number }[];
  insertionCurve: { x: number; y: number }[];
}

/** Everything notebook 04 shows about one model's saliency. */
export interface SaliencyStudy {
  model: string;
  modelSha256: string;
  dataset: string;
  datasetHash: string;
  width: number;
  height: number;
  settings: SaliencySettings;
  items: StudyItem[];
  unreadable: { id: string; reason: string }[];
  /** Mean maps of the true class's map, grouped by true label. */
  byLabel: StudyMeanMap[];
  /** Mean maps of the predicted class's map, grouped by prediction. */
  byPred: StudyMeanMap[];
  cases: ClassCases[];
  /** Face and predicted-class map of every case, by id. */
  tiles: Record<string, StudyTile>;
  /** Faithfulness of the predicted class's maps, per kind of map, on the same faces. */
  faithfulness: {
    images: string[];
    rise: FaithfulnessScores;
    occlusion: FaithfulnessScores;
    random: FaithfulnessScores;
  };
  randomization: RandomizationResult | null;
  /** Why the randomisation check did not run, when it did not. */
  randomizationError?: string;
  seconds: { rise: number; faithfulness: number; randomization: number };
}

/** Seeded choice of up to `k` samples of each class in `classes` (dataset order kept within). */
export function choosePerClass(
  samples: readonly Sample[],
  classes: readonly Emotion[],
  k: number,
  seed: number,
): Sample[] {
  const order = shuffled(samples, mulberry32(seed));
  const taken = new Map<Emotion, number>();
  const out: Sample[] = [];
  for (const s of order) {
    if (!classes.includes(s.label)) continue;
    const n = taken.get(s.label) ?? 0;
    if (n >= k) continue;
    taken.set(s.label, n + 1);
    out.push(s);
  }
  return out;
}

/** A map min-max scaled to 8 bits (what an overlay with range "minmax" shows). */
export function quantizeMap(map: SaliencyMap): Uint8Array {
  let lo = Infinity, hi = -Infinity;
  for (const v of map.data) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const span = hi - lo;
  return Uint8Array.from(map.data, (v) => (span > 0 ? Math.round((255 * (v - lo)) / span) : 0));
}

/** A StudyTile back to face pixels and a map (map values 0..1). */
export function tileParts(
  tile: StudyTile,
  width: number,
  height: number,
): { face: FacePixels; map: SaliencyMap } {
  const map = base64Bytes(tile.map);
  return {
    face: { width, height, channels: tile.channels, data: base64Bytes(tile.face) },
    map: { width, height, data: Float32Array.from(map, (v) => v / 255) },
  };
}

/** A StudyMeanMap back to a mean face and map. */
export function meanParts(
  m: StudyMeanMap,
  width: number,
  height: number,
): { face: FacePixels; map: SaliencyMap } {
  return {
    face: { width, height, channels: 1, data: base64Bytes(m.face) },
    map: { width, height, data: Float32Array.from(m.map) },
  };
}

/**
 * Share of a map's mass above its own mean that lies in the upper half of the face (eyes and
 * brows on aligned crops such as FER2013's); the rest lies in the lower half (nose and mouth).
 * Measured above the mean so that a map's flat offset does not pull the share towards one half.
 * NaN for a constant map. Pure.
 */
export function upperShare(map: SaliencyMap): number {
  let upper = 0, total = 0;
  const half = map.height / 2;
  let mean = 0;
  for (const v of map.data) mean += v / map.data.length;
  for (let y = 0; y < map.height; y++) {
    for (let x = 0; x < map.width; x++) {
      const v = Math.max(0, map.data[y * map.width + x] - mean);
      total += v;
      if (y + 0.5 < half) upper += v;
    }
  }
  return total > 0 ? upper / total : NaN;
}

function curve(fr: number[], ys: number[][]): { x: number; y: number }[] {
  return fr.map((x, i) => ({ x, y: ys.reduce((a, s) => a + s[i], 0) / ys.length }));
}

/** Settings added after the first cached studies: left out of the key while at their defaults. */
const LATER_SETTINGS = [
  "sampling",
  "limit",
  "method",
  "centered",
  "riseCell",
  "riseKeep",
  "occlusion",
  "faithfulness",
  "randomization",
  "threads",
] as const;

/**
 * The settings part of a study's cache key: every setting, except that those added later are
 * left out while they keep their default (so studies cached before they existed stay valid).
 * `threads` changes speed, not results, and is never part of the key.
 */
export function cacheKeySettings(s: SaliencySettings): Record<string, unknown> {
  const key: Record<string, unknown> = { ...s };
  const defaults = DEFAULT_SALIENCY_SETTINGS as unknown as Record<string, unknown>;
  for (const k of LATER_SETTINGS) {
    if (k === "threads" || canonicalJson(key[k] ?? null) === canonicalJson(defaults[k] ?? null)) {
      delete key[k];
    }
  }
  return key;
}

/** The lib/saliency method options that study settings describe. */
export function methodOptionsOf(s: SaliencySettings): MethodOptions {
  return {
    rise: {
      n: s.riseN,
      seed: s.seed,
      centered: s.centered,
      ...(s.riseCell !== undefined ? { cellSize: s.riseCell } : {}),
      ...(s.riseKeep !== undefined ? { keepProb: s.riseKeep } : {}),
    },
    occlusion: s.occlusion,
  };
}

/** Options of saliencyStudy. */
export interface SaliencyStudyOptions {
  settings?: Partial<SaliencySettings>;
  /** Use the study cache (default true). */
  cache?: boolean;
  /** Study cache folder (default `<cacheRoot()>/studies`). */
  cacheDir?: string;
  /**
   * Folder of the per-image saliency cache (lib/saliency_cache.ts; default
   * `<cacheRoot()>/saliency`); null: none. Off when `cache` is false.
   */
  mapCacheDir?: string | null;
  /** Progress lines (default none). */
  log?: (line: string) => void;
}

/** A saliency study, whether it came from the study cache, and the seconds spent. */
export interface SaliencyRun {
  study: SaliencyStudy;
  cacheHit: boolean;
  seconds: number;
  /** Per-image vectors read from the saliency cache and computed (absent on a study-cache hit). */
  maps?: SaliencyCacheStats;
}

/**
 * Lighter settings for the second and later networks of notebook 04, so that each first
 * (uncached) run fits the report's per-cell time limit on two cores.
 */
export const LIGHT_SALIENCY_SETTINGS: Partial<SaliencySettings> = {
  perClass: 12,
  faithfulnessPerClass: 1,
  randomizationImages: 4,
  randomizationSteps: 2,
};

/** Which of a grid's models gridSaliencies runs, and with which settings. */
export interface GridSaliencyOptions {
  /** First model (index into the grid's models) [0]. */
  from?: number;
  /** One past the last model [all]. */
  to?: number;
  settings?: Partial<SaliencySettings>;
}

/**
 * The saliency studies of the grid's models `from` .. `to` − 1 on its dataset `dataset`; none
 * when the grid lacks the dataset or the models (so a notebook cell needs no branch). Separate
 * ranges let a notebook put each first (uncached) run in its own cell, under the time limit.
 */
export async function gridSaliencies(
  grid: Pick<StudyGrid, "models" | "datasets">,
  dataset: string,
  opts: GridSaliencyOptions = {},
): Promise<SaliencyRun[]> {
  const data = grid.datasets.find((d) => d.name === dataset);
  const models = grid.models.slice(opts.from ?? 0, opts.to ?? grid.models.length);
  const runs: SaliencyRun[] = [];
  for (const m of data ? models : []) {
    runs.push(await saliencyStudy(m, data!, { settings: opts.settings ?? {} }));
  }
  return runs;
}

/**
 * Run (or read from the cache) the saliency study of `model` on `dataset` (a test split of aligned
 * faces: FER2013 / FER+). Unreadable faces are skipped and listed. Returns the study and whether
 * it came from the cache.
 */
export async function saliencyStudy(
  model: ResolvedModel,
  dataset: LoadedDataset,
  opts: SaliencyStudyOptions = {},
): Promise<SaliencyRun> {
  const settings: SaliencySettings = { ...DEFAULT_SALIENCY_SETTINGS, ...opts.settings };
  const maps = new SaliencyCache(model, opts.cache === false ? null : opts.mapCacheDir);
  const r = await cachedJson(
    "saliency",
    {
      version: SALIENCY_STUDY_VERSION,
      model: model.sha256,
      card: model.card.input,
      dataset: dataset.hash,
      settings: cacheKeySettings(settings),
    },
    () => computeStudy(model, dataset, settings, maps, opts.log ?? (() => {})),
    { useCache: opts.cache, root: opts.cacheDir },
  );
  return {
    study: r.value,
    cacheHit: r.hit,
    seconds: r.seconds,
    ...(r.hit ? {} : { maps: maps.stats }),
  };
}

/** The faces of a study: chosen (seeded), decoded and preprocessed, with their image keys. */
interface StudyFaces {
  work: ExplainedFace[];
  /** Image key (content tag and face box) of each face of `work`. */
  keys: string[];
  unreadable: SaliencyStudy["unreadable"];
}

async function studyFaces(
  model: ResolvedModel,
  dataset: LoadedDataset,
  s: SaliencySettings,
): Promise<StudyFaces> {
  const card = model.card;
  const classes = card.output.classes;
  const chosen = s.sampling === "random"
    ? shuffled(dataset.samples.filter((x) => classes.includes(x.label)), mulberry32(s.seed))
      .slice(0, s.limit)
    : choosePerClass(dataset.samples, classes, s.perClass, s.seed);
  const tags = await sourceTags(chosen.map((x) => x.source));
  const out: StudyFaces = { work: [], keys: [], unreadable: [] };
  for (let i = 0; i < chosen.length; i++) {
    const sample = chosen[i];
    try {
      const img = await readSampleImage(sample, { useBox: false });
      const x = preprocess(img, card, sample.box);
      out.work.push(explainedFace(sample, x, card.input, classes.indexOf(sample.label)));
      out.keys.push(imageKey(tags[i], sample.box));
    } catch (e) {
      if (!(e instanceof ImageError)) throw e;
      out.unreadable.push({ id: sample.id, reason: e.message });
    }
  }
  if (out.work.length === 0) throw new Error(`saliency study: no readable face in ${dataset.name}`);
  return out;
}

/** Indices (into `work`) of the faces scored for faithfulness: the first of each class. */
function faithfulFaces(work: readonly ExplainedFace[], s: SaliencySettings): number[] {
  if (!s.faithfulness) return [];
  const perClassCount = new Map<number, number>();
  return work.flatMap((w, i) => {
    const n = perClassCount.get(w.label) ?? 0;
    perClassCount.set(w.label, n + 1);
    return n < s.faithfulnessPerClass ? [i] : [];
  });
}

/** The three kinds of map scored for faithfulness. */
const FAITHFUL_KINDS = ["rise", "occlusion", "random"] as const;
type FaithfulKind = typeof FAITHFUL_KINDS[number];

/**
 * A study's per-face computations through the saliency cache (lib/saliency_cache.ts): maps of
 * (image, class) under a method and its options, and deletion/insertion curves of (image, class,
 * map); each read from the cache when there, else computed and stored.
 */
class FaceMaps {
  constructor(
    readonly scorer: EngineScorer,
    readonly cache: SaliencyCache,
    readonly s: SaliencySettings,
    readonly width: number,
    readonly height: number,
  ) {}

  /** `explainMaps` for the image with key `key`, each class's map cached. */
  maps(key: string): typeof ExplainMapsFn {
    const hw = this.width * this.height;
    return async (scorer, x, classIndices, method, opts = {}) => {
      const options = (method === "rise" ? opts.rise : opts.occlusion) ?? {};
      const what = { kind: "map", method, options, batch: this.s.batchSize };
      const missing: number[] = [];
      for (const c of classIndices) {
        if (!(await this.cache.has(what, saliencyEntryKey(key, c), hw))) missing.push(c);
      }
      const fresh = missing.length > 0 ? await explainMaps(scorer, x, missing, method, opts) : [];
      const out: SaliencyMap[] = [];
      for (const c of classIndices) {
        const data = await this.cache.vector(
          what,
          saliencyEntryKey(key, c),
          hw,
          () => Promise.resolve(fresh[missing.indexOf(c)].data),
        );
        out.push({ width: this.width, height: this.height, data });
      }
      return out;
    };
  }

  /**
   * Deletion/insertion of the predicted class of face `w` (image key `key`, `j`-th face scored)
   * for its fine RISE map, its occlusion map and a seeded random map.
   */
  async faithfulness(
    w: ExplainedFace,
    key: string,
    j: number,
  ): Promise<Record<FaithfulKind, DeletionInsertion>> {
    const s = this.s;
    const mapsOf = this.maps(key);
    const rise = methodOptionsOf(s).rise!;
    const [occlusion] = await mapsOf(this.scorer, w.x, [w.pred], "occlusion", {
      occlusion: s.occlusion,
    });
    const [riseFine] = await mapsOf(this.scorer, w.x, [w.pred], "rise", {
      rise: { ...rise, n: s.faithfulnessRiseN },
    });
    const maps: Record<FaithfulKind, SaliencyMap> = {
      rise: riseFine,
      occlusion,
      random: randomMap(this.width, this.height, s.seed * 100003 + j),
    };
    const steps = Math.max(1, Math.round(s.steps));
    const what = { kind: "deletion-insertion", steps, batch: s.batchSize };
    const hw = this.width * this.height;
    const out = {} as Record<FaithfulKind, DeletionInsertion>;
    for (const kind of FAITHFUL_KINDS) {
      const entry = saliencyEntryKey(key, w.pred, await vectorHash(maps[kind].data));
      const scores = await this.cache.vector(what, entry, 2 * (steps + 1), async () => {
        const di = await deletionInsertion(this.scorer, w.x, maps[kind], {
          classIndex: w.pred,
          steps,
        });
        return Float32Array.from([...di.deletion.scores, ...di.insertion.scores]);
      });
      out[kind] = curvesFromScores(scores, steps, hw);
    }
    return out;
  }
}

/** Options of saliencyShard. */
export interface SaliencyShardOptions {
  settings?: Partial<SaliencySettings>;
  /** Folder of the saliency cache this shard fills (default `<cacheRoot()>/saliency`). */
  mapCacheDir?: string;
  log?: (line: string) => void;
}

/** What one shard of a saliency study did. */
export interface SaliencyShardRun {
  shard: Shard;
  /** Faces of the study (readable), and how many fell in the shard. */
  faces: number;
  inShard: number;
  /** Faces of the shard scored for faithfulness. */
  faithful: number;
  maps: SaliencyCacheStats;
  seconds: number;
}

/**
 * One shard (lib/shard.ts, by image key) of `saliencyStudy`'s per-face work: the same faces are
 * chosen, but only those of `shard` are predicted, explained and (with faithfulness) scored, into
 * the saliency cache; no study is assembled and the randomisation check (a few faces, on
 * weight-randomised copies of the model) is left to the final run. Run every shard, merge their
 * caches (`kit cache merge`), then `saliencyStudy` with the same settings reads every map from the
 * cache and gives the unsharded study.
 */
export async function saliencyShard(
  model: ResolvedModel,
  dataset: LoadedDataset,
  shard: Shard,
  opts: SaliencyShardOptions = {},
): Promise<SaliencyShardRun> {
  const t0 = performance.now();
  const s: SaliencySettings = { ...DEFAULT_SALIENCY_SETTINGS, ...opts.settings };
  const log = opts.log ?? (() => {});
  const { work, keys } = await studyFaces(model, dataset, s);
  const mine = work.flatMap((_, i) => (inShard(keys[i], shard) ? [i] : []));
  const faithful = faithfulFaces(work, s);
  const cache = new SaliencyCache(model, opts.mapCacheDir);
  const faithfulMine = faithful.flatMap((i, j) => (inShard(keys[i], shard) ? [[i, j]] : []));
  if (mine.length > 0) {
    const engine = { batchSize: s.batchSize, ...(s.threads ? { intraOpThreads: s.threads } : {}) };
    const scorer = await EngineScorer.open(model, engine, s.batchSize);
    try {
      const fm = new FaceMaps(scorer, cache, s, model.card.input.width, model.card.input.height);
      await predictFaces(scorer, mine.map((i) => work[i]));
      const methodOptions = methodOptionsOf(s);
      for (let n = 0; n < mine.length; n++) {
        const i = mine[n];
        await explainFace(scorer, work[i], s.method, methodOptions, fm.maps(keys[i]));
        if ((n + 1) % 25 === 0) log(`${s.method} ${n + 1}/${mine.length}`);
      }
      for (const [i, j] of faithfulMine) await fm.faithfulness(work[i], keys[i], j);
    } finally {
      await cache.flush();
      await scorer.dispose();
    }
  }
  return {
    shard,
    faces: work.length,
    inShard: mine.length,
    faithful: faithfulMine.length,
    maps: cache.stats,
    seconds: (performance.now() - t0) / 1000,
  };
}

async function computeStudy(
  model: ResolvedModel,
  dataset: LoadedDataset,
  s: SaliencySettings,
  cache: SaliencyCache,
  log: (line: string) => void,
): Promise<SaliencyStudy> {
  const card = model.card;
  const classes = card.output.classes;
  const { width, height } = card.input;
  const { work, keys, unreadable } = await studyFaces(model, dataset, s);
  const engine = { batchSize: s.batchSize, ...(s.threads ? { intraOpThreads: s.threads } : {}) };
  const scorer = await EngineScorer.open(model, engine, s.batchSize);
  const t0 = performance.now();
  let randomization: RandomizationResult | null = null;
  let randomizationError: string | undefined;
  let tFaith = 0, tRand = 0;
  try {
    const fm = new FaceMaps(scorer, cache, s, width, height);
    await predictFaces(scorer, work);
    const methodOptions = methodOptionsOf(s);
    const rise = methodOptions.rise!;
    for (let i = 0; i < work.length; i++) {
      await explainFace(scorer, work[i], s.method, methodOptions, fm.maps(keys[i]));
      if ((i + 1) % 25 === 0) log(`${s.method} ${i + 1}/${work.length}`);
    }
    const tRise = performance.now();

    // Faithfulness: the first faces of each class (choice order), predicted-class maps.
    const faithfulIndex = faithfulFaces(work, s);
    const faithful = faithfulIndex.map((i) => work[i]);
    const scores = {
      rise: [] as number[][],
      occlusion: [] as number[][],
      random: [] as number[][],
    };
    const curves = {
      rise: { d: [] as number[][], i: [] as number[][] },
      occlusion: { d: [] as number[][], i: [] as number[][] },
      random: { d: [] as number[][], i: [] as number[][] },
    };
    let fractions: number[] = [];
    for (let j = 0; j < faithfulIndex.length; j++) {
      const i = faithfulIndex[j];
      const di = await fm.faithfulness(work[i], keys[i], j);
      for (const kind of FAITHFUL_KINDS) {
        scores[kind].push([di[kind].deletion.auc, di[kind].insertion.auc]);
        curves[kind].d.push(di[kind].deletion.scores);
        curves[kind].i.push(di[kind].insertion.scores);
        fractions = di[kind].deletion.fractions;
      }
    }
    await cache.flush();
    const faith = (kind: FaithfulKind): FaithfulnessScores => ({
      deletion: scores[kind].map((p) => p[0]),
      insertion: scores[kind].map((p) => p[1]),
      deletionCurve: curve(fractions, curves[kind].d),
      insertionCurve: curve(fractions, curves[kind].i),
    });
    const tF = performance.now();
    tFaith = (tF - tRise) / 1000;
    log(`faithfulness on ${faithful.length} faces: ${tFaith.toFixed(0)} s`);

    // Randomisation check: spread over classes, the first face of each class in choice order.
    const seen = new Set<number>();
    const randFaces = work.filter((w) => !seen.has(w.label) && seen.add(w.label))
      .slice(0, s.randomizationImages);
    const bytes = model.bytes ??
      (model.onnxPath !== "<inline>" ? await Deno.readFile(model.onnxPath) : undefined);
    if (s.randomization === "none") {
      randomizationError = "not asked for (randomization: none)";
    } else if (bytes === undefined) {
      randomizationError = "the model has no ONNX bytes to randomise";
    } else {
      try {
        randomization = await randomizationCheck({
          model: bytes,
          makeScorer: (b) => EngineScorer.fromBytes(b, card, engine, s.batchSize),
          dispose: (sc) => (sc as EngineScorer).dispose(),
          inputs: randFaces.map((w) => w.x),
          explain: async (sc, x, c) =>
            s.method === "rise"
              ? await riseMap(sc, x, { ...rise, classIndex: c })
              : (await occlusionMaps(sc, x, [c], s.occlusion))[0],
          mode: s.randomization,
          cascadeSteps: s.randomizationSteps,
          seed: s.seed,
        });
      } catch (e) {
        randomizationError = e instanceof Error ? e.message : String(e);
      }
    }
    tRand = (performance.now() - tF) / 1000;

    const order = classes.filter((c) => work.some((w) => classes[w.label] === c));
    const encodeMeans = (means: ClassMeanMap[]): StudyMeanMap[] =>
      means.filter((m) => m.count > 0).map((m) => ({
        className: m.className,
        count: m.count,
        map: Array.from(m.mean.data, (v) => Math.round(v * 1e4) / 1e4),
        face: Buffer.from(m.meanImage ?? new Uint8Array(width * height)).toString("base64"),
      }));
    const means = faceMeanMaps(work, classes, order);
    const byLabel = encodeMeans(means.byLabel);
    const byPred = encodeMeans(means.byPred);
    const cases = faceCases(work, classes, { perClass: s.casesPerClass, classes: order });
    const tiles: Record<string, StudyTile> = {};
    const byId = new Map(work.map((w) => [w.sample.id, w]));
    for (const c of cases) {
      for (const e of [...c.correct, ...c.wrong, ...c.mostConfidentWrong]) {
        const w = byId.get(e.id)!;
        tiles[e.id] = {
          face: Buffer.from(w.face.data).toString("base64"),
          channels: w.face.channels,
          map: Buffer.from(quantizeMap(w.mapPred!)).toString("base64"),
        };
      }
    }
    return {
      model: card.id,
      modelSha256: model.sha256,
      dataset: dataset.name,
      datasetHash: dataset.hash,
      width,
      height,
      settings: s,
      items: work.map((w) => ({
        id: w.sample.id,
        label: classes[w.label],
        pred: classes[w.pred],
        confidence: w.probs[w.pred],
      })),
      unreadable,
      byLabel,
      byPred,
      cases,
      tiles,
      faithfulness: {
        images: faithful.map((w) => w.sample.id),
        rise: faith("rise"),
        occlusion: faith("occlusion"),
        random: faith("random"),
      },
      randomization,
      ...(randomizationError !== undefined ? { randomizationError } : {}),
      seconds: { rise: (tRise - t0) / 1000, faithfulness: tFaith, randomization: tRand },
    };
  } finally {
    await scorer.dispose();
  }
}
