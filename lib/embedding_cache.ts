/**
 * The on-disk embedding cache: per-image feature vectors of one (model, preprocessing, tensor),
 * content-addressed and verified, laid out as the prediction cache is (lib/prediction_cache.ts),
 * so shards of a run can fill their own caches and `kit cache merge` can join them.
 *
 * Layout: `<cacheRoot()>/embeddings/<model key>/`, model key = SHA-256 of (cache version, ONNX
 * SHA-256, preprocessing spec, tensor name); the folder holds `meta.json` (what the key stands
 * for) and chunk files `chunk-<SHA-256 hex of the file's bytes>.json`, each an
 * {@link EmbeddingChunk}: entries keyed by image key (content tag and face box, as for
 * predictions), each the vector as base64 of little-endian float32 bytes, or why the image could
 * not be read. A chunk is trusted only when its bytes hash to its name, its version and key match
 * and every entry is well formed (the right number of finite floats).
 */
import { Buffer } from "node:buffer";
import { readChecksummedChunk, readChunkFolder, writeChecksummedChunk } from "./chunk_file.ts";
import { sha256Hex } from "./fsutil.ts";

/** Version of the layout and key recipe; part of the model key. */
export const EMBEDDING_CACHE_VERSION = 2;

/** One image's entry: its vector (base64 float32 LE) or why it could not be read. */
export type EmbeddingEntry = { f32: string } | { unreadable: string };

/** One chunk file. */
export interface EmbeddingChunk {
  v: number;
  key: string;
  /** Floats per vector. */
  dim: number;
  entries: Record<string, EmbeddingEntry>;
}

/** What a model key stands for (as meta.json records it, `preprocess` as JSON text). */
export interface EmbeddingKeyFields {
  modelSha256: string;
  /** preprocessKey(card). */
  preprocess: string;
  tensor: string;
}

/** The model key of an embedding cache folder. */
export async function embeddingModelKey(f: EmbeddingKeyFields): Promise<string> {
  return await sha256Hex(JSON.stringify({
    v: EMBEDDING_CACHE_VERSION,
    model: f.modelSha256,
    preprocess: f.preprocess,
    tensor: f.tensor,
  }));
}

/** A vector as stored in an entry. */
export function encodeVector(v: Float32Array): string {
  const le = new Float32Array(v); // a copy that owns its whole buffer
  return Buffer.from(le.buffer, 0, le.byteLength).toString("base64");
}

/** A stored vector, or undefined when it is not `dim` finite floats. */
export function decodeVector(b64: string, dim: number): Float32Array | undefined {
  const bytes = Buffer.from(b64, "base64");
  if (bytes.byteLength !== dim * 4) return undefined;
  const out = new Float32Array(dim);
  new Uint8Array(out.buffer).set(bytes);
  for (const x of out) if (!Number.isFinite(x)) return undefined;
  return out;
}

/** Verify one chunk file (checksum and JSON: lib/chunk_file.ts; version, key, entries). */
export async function verifyEmbeddingChunk(
  path: string,
  key: string,
): Promise<{ chunk: EmbeddingChunk } | { reason: string }> {
  const read = await readChecksummedChunk(path);
  if ("reason" in read) return read;
  const chunk = read.json as EmbeddingChunk;
  if (chunk?.v !== EMBEDDING_CACHE_VERSION) return { reason: `format version ${chunk?.v}` };
  if (chunk.key !== key) return { reason: "belongs to another model key" };
  if (!Number.isInteger(chunk.dim) || chunk.dim <= 0) return { reason: "no vector size" };
  if (chunk.entries === null || typeof chunk.entries !== "object") return { reason: "no entries" };
  for (const e of Object.values(chunk.entries)) {
    if (e !== null && typeof e === "object" && "unreadable" in e) continue;
    if (
      e === null || typeof e !== "object" || typeof e.f32 !== "string" ||
      decodeVector(e.f32, chunk.dim) === undefined
    ) {
      return { reason: `an entry is not ${chunk.dim} finite floats` };
    }
  }
  return { chunk };
}

/** Everything an embedding cache folder holds. */
export interface EmbeddingCacheContents {
  entries: Map<string, EmbeddingEntry>;
  /** Vector size (0 when no chunk holds one). */
  dim: number;
  chunks: string[];
  bad: { file: string; reason: string }[];
}

/**
 * Read every chunk of an embedding cache folder (missing folder: empty). Chunks that fail
 * verification, or hold vectors of another size than the others, are listed in `bad` and, unless
 * `quarantine` is false, renamed `bad-<name>`.
 */
export async function readEmbeddingCache(
  dir: string,
  key: string,
  opts: { quarantine?: boolean } = {},
): Promise<EmbeddingCacheContents> {
  const out: EmbeddingCacheContents = { entries: new Map(), dim: 0, chunks: [], bad: [] };
  out.bad = await readChunkFolder(dir, (path) => verifyEmbeddingChunk(path, key), (path, chunk) => {
    if (out.dim !== 0 && chunk.dim !== out.dim) {
      return `vectors of ${chunk.dim} floats where the others have ${out.dim}`;
    }
    out.dim = chunk.dim;
    out.chunks.push(path);
    for (const [k, v] of Object.entries(chunk.entries)) out.entries.set(k, v);
    return undefined;
  }, opts);
  return out;
}

/** Write one chunk atomically as `chunk-<sha256>.json` in `dir`; returns its path. */
export async function writeEmbeddingChunk(dir: string, chunk: EmbeddingChunk): Promise<string> {
  return await writeChecksummedChunk(dir, chunk);
}
