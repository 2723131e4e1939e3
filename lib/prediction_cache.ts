/**
 * The on-disk prediction cache: per-image results of one model, content-addressed and verified.
 *
 * Layout: `<cacheRoot()>/predictions/<model key>/`, model key = SHA-256 of (cache version, ONNX
 * SHA-256, output spec, preprocessing spec, detector and its threshold); see lib/predict.ts
 * `predictionCacheKey`. The folder holds `meta.json` (what the key stands for; informational) and
 * chunk files `chunk-<SHA-256 hex of the file's bytes>.json`, each a {@link PredictionChunk}:
 * results keyed by image key = the image's content tag (lib/datasets/content.ts) and its face
 * box. Datasets that hold the same images (FER2013 test and FER+ test) share the entries.
 *
 * A chunk is trusted only when its bytes hash to its name, its version and model key match and
 * every entry is well formed; any other chunk is moved aside (`bad-chunk-*.json`) with a warning
 * and its images are recomputed. Chunks are written atomically and never rewritten, so two runs
 * on one cache, a killed run or merged shard caches (copy the chunk files) stay consistent.
 */
import { readChecksummedChunk, readChunkFolder, writeChecksummedChunk } from "./chunk_file.ts";
import type { FaceBox } from "./sample.ts";
import { probabilityProblem } from "./predictions.ts";

/** Version of the chunk format; part of the model key. */
export const PREDICTION_CACHE_VERSION = 2;

/** The result of one image under one model. */
export interface CachedPrediction {
  status: "ok" | "unreadable" | "noface";
  /** Model-order probabilities (status ok). */
  probs?: number[];
  /** Why the image could not be used (status unreadable). */
  reason?: string;
  /** The face box the detector chose (with a detector). */
  box?: FaceBox;
}

/** What produced a chunk; not part of any key. */
export interface ChunkProducer {
  /** ISO time the chunk was written. */
  created: string;
  /** Execution provider that ran the model (cpu, cuda, ...). */
  provider: string;
  /** onnxruntime version that ran it (absent in chunks written before it was recorded). */
  onnxruntime?: string;
}

/** One chunk file. */
export interface PredictionChunk {
  v: number;
  /** The model key of the folder it belongs to. */
  key: string;
  producer: ChunkProducer;
  /** Image key → result. */
  entries: Record<string, CachedPrediction>;
}

/** The key of one image within a model's cache: content tag and face box. */
export function imageKey(contentTag: string, box: FaceBox | undefined): string {
  return box === undefined
    ? contentTag
    : `${contentTag}@${box.x},${box.y},${box.width},${box.height}`;
}

/** A chunk that was not used, and why. */
export interface BadChunk {
  file: string;
  reason: string;
}

/** Everything a model's cache folder holds. */
export interface CacheContents {
  entries: Map<string, CachedPrediction>;
  /** What produced each entry (its chunk's producer). */
  producers: Map<string, ChunkProducer>;
  /** Chunk files read and trusted. */
  chunks: string[];
  /** Chunk files that failed verification (moved aside unless `quarantine: false`). */
  bad: BadChunk[];
}

/** Why `entry` is not a valid result for a model with `classes` outputs (undefined when valid). */
function entryProblem(entry: CachedPrediction, classes: number): string | undefined {
  if (entry === null || typeof entry !== "object") return "an entry is not an object";
  if (entry.status === "ok") {
    const p = entry.probs;
    if (!Array.isArray(p) || p.length !== classes) {
      return `an entry has no ${classes} probabilities`;
    }
    const why = probabilityProblem(p);
    return why === undefined ? undefined : `an entry's ${why}`;
  }
  if (entry.status === "unreadable" || entry.status === "noface") return undefined;
  return `unknown status ${JSON.stringify((entry as { status: unknown }).status)}`;
}

/**
 * Verify one chunk file: its bytes hash to its name and it parses (lib/chunk_file.ts), its
 * version and key match and every entry is well formed. Returns the chunk, or the reason it cannot be used.
 */
export async function verifyChunk(
  path: string,
  key: string,
  classes: number,
): Promise<{ chunk: PredictionChunk } | { reason: string }> {
  const read = await readChecksummedChunk(path);
  if ("reason" in read) return read;
  const chunk = read.json as PredictionChunk;
  if (chunk?.v !== PREDICTION_CACHE_VERSION) return { reason: `format version ${chunk?.v}` };
  if (chunk.key !== key) return { reason: "belongs to another model key" };
  if (chunk.entries === null || typeof chunk.entries !== "object") return { reason: "no entries" };
  for (const e of Object.values(chunk.entries)) {
    const why = entryProblem(e, classes);
    if (why !== undefined) return { reason: why };
  }
  return { chunk };
}

/**
 * Read every chunk of a model's cache folder (missing folder: empty). Chunks that fail
 * {@link verifyChunk} are listed in `bad` and, unless `quarantine` is false, renamed to
 * `bad-<name>` so they are not read again.
 */
export async function readPredictionCache(
  dir: string,
  key: string,
  classes: number,
  opts: { quarantine?: boolean } = {},
): Promise<CacheContents> {
  const out: CacheContents = { entries: new Map(), producers: new Map(), chunks: [], bad: [] };
  out.bad = await readChunkFolder(dir, (path) => verifyChunk(path, key, classes), (path, chunk) => {
    out.chunks.push(path);
    for (const [k, v] of Object.entries(chunk.entries)) {
      out.entries.set(k, v);
      out.producers.set(k, chunk.producer);
    }
    return undefined;
  }, opts);
  return out;
}

/** Write one chunk atomically as `chunk-<sha256>.json` in `dir`; returns its path. */
export async function writePredictionChunk(dir: string, chunk: PredictionChunk): Promise<string> {
  return await writeChecksummedChunk(dir, chunk);
}
