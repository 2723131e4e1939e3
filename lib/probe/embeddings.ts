/**
 * Embeddings: the pooled features a FER model computes before its classifier (the card's
 * `embedding.tensor`, or any inner tensor named by the caller), one row per sample, for linear
 * probes. The tensor is exposed as an extra graph output (lib/onnx `exposeOutput`, done by the
 * engine's `extraOutputs`) and read out of the same run that preprocesses the image exactly as
 * `predict` does (lib/preprocess.ts, the card's face crop when the sample has a box).
 *
 * Cache (lib/embedding_cache.ts): `<cacheRoot()>/embeddings/<model key>/`, model key = SHA-256
 * of (cache version, model file hash, preprocessing key, tensor name). Vectors are stored per
 * image, keyed by the image's content hash and face box, in checksummed chunks written as they
 * are computed, so a killed run resumes, the same image in two datasets is computed once, and
 * shards of a run (`shard`) fill caches that `kit cache merge` joins.
 */
import { join } from "node:path";
import { cacheRoot } from "../config.ts";
import { sourceTags } from "../datasets/content.ts";
import {
  decodeVector,
  EMBEDDING_CACHE_VERSION,
  type EmbeddingEntry,
  embeddingModelKey,
  encodeVector,
  readEmbeddingCache,
  writeEmbeddingChunk,
} from "../embedding_cache.ts";
import { Engine, type EngineOptions } from "../engine.ts";
import { exists, writeFileAtomic } from "../fsutil.ts";
import {
  ImageError,
  type RawImage,
  readSampleImage,
  sourceName,
  type UnreadableFile,
} from "../image.ts";
import { ModelCardError, type ResolvedModel } from "../models/registry.ts";
import { imageKey } from "../prediction_cache.ts";
import { preprocessKey } from "../preprocess.ts";
import type { FeatureMatrix } from "./matrix.ts";
import { createProgress } from "../progress.ts";
import type { FaceBox, Sample } from "../sample.ts";
import { inShard, type Shard } from "../shard.ts";
import type { Emotion } from "../taxonomy.ts";

export { EMBEDDING_CACHE_VERSION };

/** Tag of a file that could not be stat-ed (lib/datasets/content.ts). */
const MISSING_TAG = "file:missing";

/** Options of extractEmbeddings. */
export interface EmbeddingOptions {
  /** Inner tensor to read (default: the card's `embedding.tensor`). */
  tensor?: string;
  /** Samples per engine run (default 32). */
  batchSize?: number;
  /** Vectors per cache chunk file (default 256). */
  chunkSize?: number;
  /** Read and write the disk cache (default true). */
  cache?: boolean;
  /** Cache folder (default `<cacheRoot()>/embeddings`). */
  cacheDir?: string;
  /** Engine settings (provider, threads); `extraOutputs` and `batchSize` are set here. */
  engine?: Omit<EngineOptions, "extraOutputs" | "batchSize">;
  /** Label for progress lines on stderr (default "<model> embeddings"); null: silent. */
  progress?: string | null;
  /** Images decoded at once (default 8). */
  decodeConcurrency?: number;
  /**
   * Only this shard of the samples (lib/shard.ts, by image key): the result and the cache entries
   * written cover the shard's samples alone.
   */
  shard?: Shard;
}

/** Embeddings of the samples that decoded, in input order. */
export interface Embeddings {
  modelId: string;
  tensor: string;
  /** Floats per sample. */
  dim: number;
  /** Ids and labels of the rows of `features`. */
  ids: string[];
  labels: Emotion[];
  /** rows x dim, row-major. */
  features: Float32Array;
  /** Samples whose image could not be read (skipped, not in `features`). */
  unreadable: UnreadableFile[];
  /** Cache key (the model key, hex) and folder. */
  cacheKey: string;
  cacheDir: string | null;
  /** Samples whose vector (or unreadable mark) came from the cache. */
  cachedRows: number;
  /** Samples run through the model in this call (distinct images). */
  computed: number;
}

interface ChunkMeta {
  rows: number;
  /** Row indices within the chunk whose image was unreadable (their rows are NaN). */
  unreadable: { index: number; file: string; reason: string }[];
}

/** A matrix view of embeddings, for lib/probe. */
export function embeddingMatrix(e: Embeddings): FeatureMatrix {
  return { rows: e.ids.length, cols: e.dim, data: e.features };
}

/**
 * Embeddings of `samples` from `model` (any ONNX model the engine runs), in input order.
 * Unreadable images are skipped and listed in `unreadable`. Throws ModelCardError when no tensor
 * is named and the card has no `embedding`, or when the tensor's size per sample differs from the
 * card's `embedding.dim` (or from the vectors already cached); throws naming the tensor when the
 * model does not have it.
 */
export async function extractEmbeddings(
  model: ResolvedModel,
  allSamples: readonly Sample[],
  opts: EmbeddingOptions = {},
): Promise<Embeddings> {
  const card = model.card;
  const tensor = opts.tensor ?? card.embedding?.tensor;
  if (tensor === undefined) {
    throw new ModelCardError(
      "the card declares no embedding tensor; name one (e.g. --tensor <name>) or add " +
        '"embedding": {"tensor": ..., "dim": ...} to the card',
      model.cardPath,
      "embedding",
    );
  }
  const expectedDim = card.embedding !== undefined && card.embedding.tensor === tensor
    ? card.embedding.dim
    : undefined;
  const useCache = opts.cache ?? true;
  const chunkSize = Math.max(1, Math.floor(opts.chunkSize ?? 256));
  const allTags = await sourceTags(allSamples.map((s) => s.source));
  const allKeys = allSamples.map((s, i) => imageKey(allTags[i], s.box));
  const kept = opts.shard === undefined
    ? undefined
    : allKeys.flatMap((k, i) => (inShard(k, opts.shard!) ? [i] : []));
  const samples = kept === undefined ? allSamples : kept.map((i) => allSamples[i]);
  const tags = kept === undefined ? allTags : kept.map((i) => allTags[i]);
  const keys = kept === undefined ? allKeys : kept.map((i) => allKeys[i]);
  const n = samples.length;
  const preprocess = preprocessKey(card);
  const key = await embeddingModelKey({ modelSha256: model.sha256, preprocess, tensor });
  const dir = useCache ? join(opts.cacheDir ?? join(cacheRoot(), "embeddings"), key) : null;

  let dim = expectedDim ?? 0;
  const entries = new Map<string, EmbeddingEntry>();
  if (dir !== null) {
    const cached = await readEmbeddingCache(dir, key);
    for (const b of cached.bad) {
      console.error(
        `warning: embedding cache chunk ${b.file} not used (${b.reason}); ` +
          `its images are computed again`,
      );
    }
    if (cached.dim !== 0) {
      if (dim !== 0 && cached.dim !== dim) {
        throw new ModelCardError(
          `tensor "${tensor}" holds ${cached.dim} values per sample (cached in ${dir}), ` +
            `the card says ${dim}`,
          model.cardPath,
          "embedding.dim",
        );
      }
      dim = cached.dim;
      for (const [k, v] of cached.entries) entries.set(k, v);
    }
  }
  // Samples to run: one per distinct image not in the cache (missing files are not run).
  const todo: number[] = [];
  const queued = new Set<string>();
  let cachedRows = 0;
  samples.forEach((_, i) => {
    if (tags[i] === MISSING_TAG) return;
    if (entries.has(keys[i])) cachedRows++;
    else if (!queued.has(keys[i])) {
      queued.add(keys[i]);
      todo.push(i);
    }
  });

  const label = opts.progress === undefined ? `${card.id} embeddings` : opts.progress;
  const progress = label === null ? null : createProgress(label, n);
  progress?.set(n - todo.length);
  let engine: Engine | null = null;
  try {
    for (let c = 0; c < todo.length; c += chunkSize) {
      if (engine === null) {
        engine = await Engine.create(model, {
          ...opts.engine,
          extraOutputs: [tensor],
          batchSize: opts.batchSize ?? 32,
        });
      }
      const idx = todo.slice(c, c + chunkSize);
      const part = idx.map((i) => samples[i]);
      const { data, meta, dim: got } = await computeChunk(
        engine,
        part,
        tensor,
        dim,
        opts.decodeConcurrency ?? 8,
      );
      if (got !== 0 && dim === 0) dim = got;
      if (got !== 0 && got !== dim) {
        throw new ModelCardError(
          `tensor "${tensor}" holds ${got} values per sample, the card says ${dim}`,
          model.cardPath,
          "embedding.dim",
        );
      }
      const bad = new Map(meta.unreadable.map((u) => [u.index, u.reason]));
      const written: Record<string, EmbeddingEntry> = {};
      idx.forEach((i, r) => {
        const reason = bad.get(r);
        const e: EmbeddingEntry = reason !== undefined
          ? { unreadable: reason }
          : { f32: encodeVector(data.subarray(r * dim, (r + 1) * dim)) };
        entries.set(keys[i], e);
        written[keys[i]] = e;
      });
      // A chunk of unreadable images only, before any vector size is known, is not stored.
      if (dir !== null && dim !== 0) {
        await writeMeta(dir, model, preprocess, tensor, dim);
        await writeEmbeddingChunk(dir, {
          v: EMBEDDING_CACHE_VERSION,
          key,
          dim,
          entries: written,
        });
      }
      progress?.tick(part.length);
    }
  } finally {
    await engine?.dispose();
  }
  progress?.finish(cachedRows > 0 ? `${cachedRows} rows from cache` : undefined);

  // Assemble the readable rows in input order.
  const unreadable: UnreadableFile[] = [];
  const rowsOf: Float32Array[] = [];
  const ids: string[] = [];
  const labels: Emotion[] = [];
  samples.forEach((s, i) => {
    const e = tags[i] === MISSING_TAG ? undefined : entries.get(keys[i]);
    if (e === undefined || "unreadable" in e) {
      unreadable.push({
        file: sourceName(s.source),
        reason: e === undefined ? "file not found" : e.unreadable,
      });
      return;
    }
    rowsOf.push(decodeVector(e.f32, dim)!);
    ids.push(s.id);
    labels.push(s.label);
  });
  const features = new Float32Array(rowsOf.length * dim);
  rowsOf.forEach((r, j) => features.set(r, j * dim));
  return {
    modelId: card.id,
    tensor,
    dim,
    ids,
    labels,
    features,
    unreadable,
    cacheKey: key,
    cacheDir: dir,
    cachedRows,
    computed: todo.length,
  };
}

/** Describe the model key once in `<dir>/meta.json` (read back by `kit cache verify`). */
async function writeMeta(
  dir: string,
  model: ResolvedModel,
  preprocess: string,
  tensor: string,
  dim: number,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, "meta.json");
  if (await exists(path)) return;
  await writeFileAtomic(
    path,
    JSON.stringify(
      {
        v: EMBEDDING_CACHE_VERSION,
        model: model.card.id,
        modelSha256: model.sha256,
        preprocess: JSON.parse(preprocess),
        tensor,
        dim,
        created: new Date().toISOString(),
      },
      null,
      2,
    ) + "\n",
  );
}

/** Decode one chunk's images, run them, and return rows x dim floats (NaN rows: unreadable). */
async function computeChunk(
  engine: Engine,
  part: readonly Sample[],
  tensor: string,
  knownDim: number,
  concurrency: number,
): Promise<{ data: Float32Array; meta: ChunkMeta; dim: number }> {
  const images: (RawImage | null)[] = new Array(part.length).fill(null);
  const unreadable: ChunkMeta["unreadable"] = [];
  let next = 0;
  const worker = async () => {
    while (next < part.length) {
      const i = next++;
      try {
        // The box is cropped by the engine's preprocessing, per the card's faceCrop.
        images[i] = await readSampleImage(part[i], { useBox: false });
      } catch (e) {
        if (!(e instanceof ImageError)) throw e;
        unreadable.push({ index: i, file: e.file, reason: e.message.slice(e.file.length + 2) });
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, part.length)) }, worker),
  );
  unreadable.sort((a, b) => a.index - b.index);
  const okIdx: number[] = [];
  images.forEach((img, i) => {
    if (img !== null) okIdx.push(i);
  });
  let dim = knownDim;
  let data = new Float32Array(part.length * dim).fill(NaN);
  if (okIdx.length > 0) {
    const boxes: (FaceBox | undefined)[] = okIdx.map((i) => part[i].box);
    const run = await engine.predictImages(okIdx.map((i) => images[i]!), boxes);
    const flat = run.extra[tensor];
    dim = flat.length / okIdx.length;
    data = new Float32Array(part.length * dim).fill(NaN);
    okIdx.forEach((i, r) => data.set(flat.subarray(r * dim, (r + 1) * dim), i * dim));
  }
  return { data, meta: { rows: part.length, unreadable }, dim };
}
