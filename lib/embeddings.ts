/**
 * Embeddings: the pooled features a FER model computes before its classifier (the card's
 * `embedding.tensor`, or any inner tensor named by the caller), one row per sample, for linear
 * probes. The tensor is exposed as an extra graph output (lib/onnx `exposeOutput`, done by the
 * engine's `extraOutputs`) and read out of the same run that preprocesses the image exactly as
 * `predict` does (lib/preprocess.ts, the card's face crop when the sample has a box).
 *
 * Cache: `<cacheRoot()>/embeddings/<key>/`, key = SHA-256 of (model file hash, dataset hash of
 * the samples, their order, preprocessing key, tensor name). Rows are written in chunks
 * (`chunk-000000.f32` + `chunk-000000.json`, each written atomically, the JSON last), so a run
 * that is killed resumes at the first missing chunk.
 */
import { join } from "node:path";
import { cacheRoot } from "./config.ts";
import { datasetHash } from "./datasets/hash.ts";
import { Engine, type EngineOptions } from "./engine.ts";
import { exists, sha256Hex, writeFileAtomic } from "./fsutil.ts";
import { ImageError, type RawImage, readSampleImage, type UnreadableFile } from "./image.ts";
import { ModelCardError, type ResolvedModel } from "./models/registry.ts";
import { preprocessKey } from "./preprocess.ts";
import type { FeatureMatrix } from "./probe/matrix.ts";
import { createProgress } from "./progress.ts";
import type { FaceBox, Sample } from "./sample.ts";
import type { Emotion } from "./taxonomy.ts";

/** Version of the cache layout and key recipe; bump when either changes. */
export const EMBEDDING_CACHE_VERSION = 1;

/** Options of extractEmbeddings. */
export interface EmbeddingOptions {
  /** Inner tensor to read (default: the card's `embedding.tensor`). */
  tensor?: string;
  /** Samples per engine run (default 32). */
  batchSize?: number;
  /** Samples per cache chunk (default 256); an existing cache keeps its own. */
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
  /** Cache key (hex) and folder. */
  cacheKey: string;
  cacheDir: string | null;
  /** Rows read from the cache (the rest were computed in this call). */
  cachedRows: number;
}

/** The parts of the cache key. */
export interface EmbeddingKeyParts {
  modelSha256: string;
  datasetHash: string;
  /** SHA-256 of the sample ids in order (rows are stored in this order). */
  orderHash: string;
  preprocess: string;
  tensor: string;
}

/** Cache key: SHA-256 (hex) of the key parts with the cache version. */
export async function embeddingCacheKey(parts: EmbeddingKeyParts): Promise<string> {
  return await sha256Hex(JSON.stringify({ v: EMBEDDING_CACHE_VERSION, ...parts }));
}

interface ChunkMeta {
  rows: number;
  /** Row indices within the chunk whose image was unreadable (NaN rows in the .f32 file). */
  unreadable: { index: number; file: string; reason: string }[];
}

interface CacheMeta {
  version: number;
  modelId: string;
  tensor: string;
  dim: number;
  samples: number;
  chunkSize: number;
}

function chunkName(i: number): string {
  return `chunk-${String(i).padStart(6, "0")}`;
}

/** A matrix view of embeddings, for lib/probe. */
export function embeddingMatrix(e: Embeddings): FeatureMatrix {
  return { rows: e.ids.length, cols: e.dim, data: e.features };
}

/**
 * Embeddings of `samples` from `model` (any ONNX model the engine runs). Unreadable images are
 * skipped and listed in `unreadable`. Throws ModelCardError when no tensor is named and the card
 * has no `embedding`, or when the tensor's size per sample differs from the card's
 * `embedding.dim`; throws naming the tensor when the model does not have it.
 */
export async function extractEmbeddings(
  model: ResolvedModel,
  samples: readonly Sample[],
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
  const n = samples.length;
  const useCache = opts.cache ?? true;
  const key = await embeddingCacheKey({
    modelSha256: model.sha256,
    datasetHash: await datasetHash(samples),
    orderHash: await sha256Hex(samples.map((s) => s.id).join("\n")),
    preprocess: preprocessKey(card),
    tensor,
  });
  const dir = useCache ? join(opts.cacheDir ?? join(cacheRoot(), "embeddings"), key) : null;

  let chunkSize = Math.max(1, Math.floor(opts.chunkSize ?? 256));
  let dim = expectedDim ?? 0;
  if (dir !== null) {
    const metaPath = join(dir, "meta.json");
    if (await exists(metaPath)) {
      const meta = JSON.parse(await Deno.readTextFile(metaPath)) as CacheMeta;
      if (meta.version === EMBEDDING_CACHE_VERSION && meta.samples === n && meta.dim > 0) {
        chunkSize = meta.chunkSize;
        dim = meta.dim;
      }
    }
  }
  const numChunks = Math.ceil(n / chunkSize);
  const chunks: (Float32Array | null)[] = new Array(numChunks).fill(null);
  const metas: (ChunkMeta | null)[] = new Array(numChunks).fill(null);
  let cachedRows = 0;
  if (dir !== null && dim > 0) {
    for (let c = 0; c < numChunks; c++) {
      const m = await readChunk(dir, c, dim, Math.min(chunkSize, n - c * chunkSize));
      if (m !== null) {
        chunks[c] = m.data;
        metas[c] = m.meta;
        cachedRows += m.meta.rows;
      }
    }
  }

  const label = opts.progress === undefined ? `${card.id} embeddings` : opts.progress;
  const progress = label === null ? null : createProgress(label, n);
  progress?.set(cachedRows);
  let engine: Engine | null = null;
  try {
    for (let c = 0; c < numChunks; c++) {
      if (chunks[c] !== null) continue;
      if (engine === null) {
        engine = await Engine.create(model, {
          ...opts.engine,
          extraOutputs: [tensor],
          batchSize: opts.batchSize ?? 32,
        });
      }
      const part = samples.slice(c * chunkSize, Math.min(n, (c + 1) * chunkSize));
      const { data, meta, dim: got } = await computeChunk(
        engine,
        part,
        tensor,
        dim,
        opts.decodeConcurrency ?? 8,
      );
      if (got === 0) {
        // Every image of the chunk unreadable and the size not known yet: nothing to store.
        chunks[c] = data;
        metas[c] = meta;
        progress?.tick(part.length);
        continue;
      }
      if (dim === 0) dim = got;
      if (got !== dim) {
        throw new ModelCardError(
          `tensor "${tensor}" holds ${got} values per sample, the card says ${dim}`,
          model.cardPath,
          "embedding.dim",
        );
      }
      chunks[c] = data;
      metas[c] = meta;
      if (dir !== null) {
        const metaPath = join(dir, "meta.json");
        if (!(await exists(metaPath))) {
          const cm: CacheMeta = {
            version: EMBEDDING_CACHE_VERSION,
            modelId: card.id,
            tensor,
            dim,
            samples: n,
            chunkSize,
          };
          await writeFileAtomic(metaPath, JSON.stringify(cm, null, 1) + "\n");
        }
        await writeFileAtomic(
          join(dir, `${chunkName(c)}.f32`),
          new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        );
        await writeFileAtomic(join(dir, `${chunkName(c)}.json`), JSON.stringify(meta) + "\n");
      }
      progress?.tick(part.length);
    }
  } finally {
    await engine?.dispose();
  }
  progress?.finish(cachedRows > 0 ? `${cachedRows} rows from cache` : undefined);

  // Assemble the readable rows in input order.
  const bad = new Set<number>();
  const unreadable: UnreadableFile[] = [];
  metas.forEach((m, c) => {
    for (const u of m!.unreadable) {
      bad.add(c * chunkSize + u.index);
      unreadable.push({ file: u.file, reason: u.reason });
    }
  });
  const rows = n - bad.size;
  const features = new Float32Array(rows * dim);
  const ids: string[] = [];
  const labels: Emotion[] = [];
  let r = 0;
  for (let i = 0; i < n; i++) {
    if (bad.has(i)) continue;
    const c = Math.floor(i / chunkSize);
    const o = (i - c * chunkSize) * dim;
    features.set(chunks[c]!.subarray(o, o + dim), r * dim);
    ids.push(samples[i].id);
    labels.push(samples[i].label);
    r++;
  }
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
  };
}

/** A complete cached chunk, or null when it is missing or does not have the expected size. */
async function readChunk(
  dir: string,
  c: number,
  dim: number,
  rows: number,
): Promise<{ data: Float32Array; meta: ChunkMeta } | null> {
  let meta: ChunkMeta;
  let bytes: Uint8Array;
  try {
    meta = JSON.parse(await Deno.readTextFile(join(dir, `${chunkName(c)}.json`))) as ChunkMeta;
    bytes = await Deno.readFile(join(dir, `${chunkName(c)}.f32`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof SyntaxError) return null;
    throw e;
  }
  if (meta.rows !== rows || bytes.byteLength !== rows * dim * 4) return null;
  const data = new Float32Array(rows * dim);
  new Uint8Array(data.buffer).set(bytes);
  return { data, meta };
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
