/**
 * The on-disk saliency cache: per-image float vectors (saliency maps, deletion/insertion curves)
 * of one model and one computation, content-keyed like the prediction and embedding caches, so
 * the shards of a `saliency --dataset` run (lib/shard.ts) fill their own folders and
 * `kit cache merge` joins them (lib/cache_merge.ts).
 *
 * Layout: `<cacheRoot()>/saliency/<key>/`, key = SHA-256 of (cache version, chunk format, ONNX
 * SHA-256, output spec, preprocessing spec, the computation `what`: method, its parameters, seed,
 * batch size). The folder holds `meta.json` (what the key stands for, read back by
 * `kit cache verify`) and chunk files in the embedding cache's format (lib/embedding_cache.ts:
 * checksummed, one vector size per folder), read and written by that module's functions. Entry
 * keys start with the image key (content tag and face box, lib/prediction_cache.ts `imageKey`),
 * then `#` and what the entry is of (a class index, a map's hash), so the shard of an entry is the
 * shard of its image.
 */
import { join } from "node:path";
import { cacheRoot } from "./config.ts";
import {
  decodeVector,
  EMBEDDING_CACHE_VERSION,
  type EmbeddingEntry,
  encodeVector,
  readEmbeddingCache,
  writeEmbeddingChunk,
} from "./embedding_cache.ts";
import { exists, sha256Hex, writeFileAtomic } from "./fsutil.ts";
import type { ResolvedModel } from "./models/registry.ts";
import { preprocessKey } from "./preprocess.ts";
import { canonicalJson } from "./studies/cache.ts";

/** Version of the key recipe and meta.json; part of every key. */
export const SALIENCY_CACHE_VERSION = 1;

/** What a saliency cache key stands for (`preprocess` and `what` as canonical JSON text). */
export interface SaliencyKeyFields {
  modelSha256: string;
  output: unknown;
  /** preprocessKey(card). */
  preprocess: string;
  /** canonicalJson of the computation (e.g. `{kind: "map", method, options, batch}`). */
  what: string;
}

/** The key of a saliency cache folder. */
export async function saliencyModelKey(f: SaliencyKeyFields): Promise<string> {
  return await sha256Hex(JSON.stringify({
    v: SALIENCY_CACHE_VERSION,
    chunks: EMBEDDING_CACHE_VERSION,
    kind: "saliency",
    model: f.modelSha256,
    output: f.output,
    preprocess: f.preprocess,
    what: f.what,
  }));
}

/** The entry key of `part` (a class index, a hash) of the image with key `imageKey`. */
export function saliencyEntryKey(imageKey: string, ...part: (string | number)[]): string {
  return [imageKey, ...part].join("#");
}

/** Hex SHA-256 of a vector's float32 bytes (to key entries computed from a map). */
export async function vectorHash(v: Float32Array): Promise<string> {
  return await sha256Hex(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
}

/** One computation's folder, loaded. */
interface Folder {
  key: string;
  dir: string;
  what: unknown;
  dim: number;
  entries: Map<string, EmbeddingEntry>;
  /** Entries computed in this process and not yet written. */
  pending: Record<string, EmbeddingEntry>;
  pendingCount: number;
}

/** Counts of a store's lookups. */
export interface SaliencyCacheStats {
  /** Vectors read from the cache. */
  hits: number;
  /** Vectors computed (and written, with a folder). */
  computed: number;
}

/**
 * The saliency cache of one model: `vector(what, entry, dim, compute)` returns the cached vector
 * or computes, keeps and (every `chunkSize` new entries per computation, and on `flush`) writes
 * it. With `dir` null nothing is read or written (the counts still are kept).
 */
export class SaliencyCache {
  readonly stats: SaliencyCacheStats = { hits: 0, computed: 0 };
  readonly #folders = new Map<string, Folder>();
  readonly #model: ResolvedModel;
  readonly #dir: string | null;
  readonly #chunkSize: number;

  /** `dir`: the cache folder (default `<cacheRoot()>/saliency`); null: no disk cache. */
  constructor(model: ResolvedModel, dir?: string | null, opts: { chunkSize?: number } = {}) {
    this.#model = model;
    this.#dir = dir === null ? null : dir ?? join(cacheRoot(), "saliency");
    this.#chunkSize = Math.max(1, Math.floor(opts.chunkSize ?? 64));
  }

  async #folder(what: unknown, dim: number): Promise<Folder> {
    const text = canonicalJson(what);
    const have = this.#folders.get(text);
    if (have !== undefined) return have;
    const card = this.#model.card;
    const key = await saliencyModelKey({
      modelSha256: this.#model.sha256,
      output: card.output,
      preprocess: preprocessKey(card),
      what: text,
    });
    const dir = this.#dir === null ? "" : join(this.#dir, key);
    const f: Folder = { key, dir, what, dim, entries: new Map(), pending: {}, pendingCount: 0 };
    if (this.#dir !== null) {
      const cached = await readEmbeddingCache(dir, key);
      for (const b of cached.bad) {
        console.error(
          `warning: saliency cache chunk ${b.file} not used (${b.reason}); its maps are ` +
            `computed again`,
        );
      }
      if (cached.dim === dim) f.entries = cached.entries;
    }
    this.#folders.set(text, f);
    return f;
  }

  /**
   * The vector `entry` of the computation `what` (`dim` floats): from the cache, or `compute()`d
   * and stored. A cached vector of another size is not used.
   */
  async vector(
    what: unknown,
    entry: string,
    dim: number,
    compute: () => Promise<Float32Array>,
  ): Promise<Float32Array> {
    const f = await this.#folder(what, dim);
    const e = f.entries.get(entry);
    const hit = e !== undefined && "f32" in e ? decodeVector(e.f32, dim) : undefined;
    if (hit !== undefined) {
      this.stats.hits++;
      return hit;
    }
    const v = await compute();
    if (v.length !== dim) throw new Error(`saliency cache: ${v.length} values, expected ${dim}`);
    this.stats.computed++;
    const stored: EmbeddingEntry = { f32: encodeVector(v) };
    f.entries.set(entry, stored);
    f.pending[entry] = stored;
    if (++f.pendingCount >= this.#chunkSize) await this.#write(f);
    return v;
  }

  /** Whether `entry` of `what` is cached (read from disk or computed in this process). */
  async has(what: unknown, entry: string, dim: number): Promise<boolean> {
    return (await this.#folder(what, dim)).entries.has(entry);
  }

  async #write(f: Folder): Promise<void> {
    if (this.#dir === null || f.pendingCount === 0) {
      f.pending = {};
      f.pendingCount = 0;
      return;
    }
    await Deno.mkdir(f.dir, { recursive: true });
    const meta = join(f.dir, "meta.json");
    if (!(await exists(meta))) {
      const card = this.#model.card;
      await writeFileAtomic(
        meta,
        JSON.stringify(
          {
            v: SALIENCY_CACHE_VERSION,
            kind: "saliency",
            model: card.id,
            modelSha256: this.#model.sha256,
            output: card.output,
            preprocess: JSON.parse(preprocessKey(card)),
            what: f.what,
            dim: f.dim,
            created: new Date().toISOString(),
          },
          null,
          2,
        ) + "\n",
      );
    }
    await writeEmbeddingChunk(f.dir, {
      v: EMBEDDING_CACHE_VERSION,
      key: f.key,
      dim: f.dim,
      entries: f.pending,
    });
    f.pending = {};
    f.pendingCount = 0;
  }

  /** Write every entry not yet written. */
  async flush(): Promise<void> {
    for (const f of this.#folders.values()) await this.#write(f);
  }
}
