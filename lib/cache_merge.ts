/**
 * Merging and verifying the kit's content-keyed caches, for runs split into shards
 * (lib/shard.ts) on several machines: predictions (lib/prediction_cache.ts), embeddings
 * (lib/embedding_cache.ts) and saliency maps and curves (lib/saliency_cache.ts).
 *
 * Each cache is a folder of model-key folders (`<64 hex>/`), each holding `meta.json` and
 * content-addressed chunk files; a folder's kind (predictions, embeddings or saliency) is read
 * from its `meta.json`. Merging is a union of files: a chunk is copied when the target has no file of that
 * name (same name, same bytes). Before anything is written, every source chunk is verified
 * (checksum, model key, entries) and every `meta.json` must describe its folder's key (the key
 * recomputed from it equals the folder name); entries for the same image that disagree (between
 * sources, or with the target) are conflicts. Any problem stops the merge with nothing written.
 *
 * Verifying checks the same for one cache, plus, for a given model key, that every required
 * image key is present.
 */
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { writeFileAtomic } from "./fsutil.ts";
import { modelKey } from "./predict.ts";
import {
  type CachedPrediction,
  PREDICTION_CACHE_VERSION,
  readPredictionCache,
} from "./prediction_cache.ts";
import {
  decodeVector,
  EMBEDDING_CACHE_VERSION,
  type EmbeddingEntry,
  embeddingModelKey,
  readEmbeddingCache,
} from "./embedding_cache.ts";
import { SALIENCY_CACHE_VERSION, saliencyModelKey } from "./saliency_cache.ts";
import { canonicalJson } from "./studies/cache.ts";

const KEY_NAME = /^[0-9a-f]{64}$/;

/** The kinds of content-keyed cache, by the name of their folder under a kit cache root. */
export type CacheKind = "predictions" | "embeddings" | "saliency";
export const CACHE_KINDS: readonly CacheKind[] = ["predictions", "embeddings", "saliency"];

/** One model-key folder found in a cache. */
export interface ModelFolder {
  /** The model key (the folder's name). */
  key: string;
  dir: string;
}

/** A problem found while merging or verifying; `file` is the file or folder it concerns. */
export interface CacheProblem {
  file: string;
  problem: string;
}

/** One image's entry, of either kind. */
type Entry = CachedPrediction | EmbeddingEntry;

/** What one kind of cache needs to be merged and verified. */
interface KindOps {
  /** The format version this code reads (`v` in meta.json). */
  version: number;
  /** The key `meta` describes, or undefined when it lacks what the key is made of. */
  keyOf(meta: Record<string, unknown>): Promise<string | undefined>;
  read(
    dir: string,
    key: string,
    meta: Record<string, unknown>,
  ): Promise<{ chunks: string[]; bad: { file: string; reason: string }[] }>;
  same(a: Entry, b: Entry, tolerance: number): boolean;
  show(e: Entry): string;
}

const OPS: Record<CacheKind, KindOps> = {
  predictions: {
    version: PREDICTION_CACHE_VERSION,
    keyOf: async (meta) => {
      const output = meta.output as { classes?: unknown } | undefined;
      if (!Array.isArray(output?.classes) || typeof meta.modelSha256 !== "string") {
        return undefined;
      }
      return await modelKey({
        modelSha256: meta.modelSha256,
        output: meta.output,
        preprocess: JSON.stringify(meta.preprocess),
        detect: (meta.detect ?? null) as string | null,
        detectThreshold: (meta.detectThreshold ?? null) as number | null,
      });
    },
    read: async (dir, key, meta) => {
      const classes = (meta.output as { classes: unknown[] }).classes.length;
      return await readPredictionCache(dir, key, classes, { quarantine: false });
    },
    same: (a, b, tolerance) => sameResult(a as CachedPrediction, b as CachedPrediction, tolerance),
    show: (e) => {
      const r = e as CachedPrediction;
      return r.status === "ok"
        ? `[${(r.probs ?? []).map((x) => x.toFixed(6)).join(", ")}]`
        : r.status;
    },
  },
  embeddings: {
    version: EMBEDDING_CACHE_VERSION,
    keyOf: async (meta) => {
      if (typeof meta.modelSha256 !== "string" || typeof meta.tensor !== "string") {
        return undefined;
      }
      return await embeddingModelKey({
        modelSha256: meta.modelSha256,
        preprocess: JSON.stringify(meta.preprocess),
        tensor: meta.tensor,
      });
    },
    read: async (dir, key) => await readEmbeddingCache(dir, key, { quarantine: false }),
    same: (a, b, tolerance) => sameVector(a as EmbeddingEntry, b as EmbeddingEntry, tolerance),
    show: showVector,
  },
  // Saliency folders hold embedding-format chunks (lib/saliency_cache.ts) under their own keys.
  saliency: {
    version: SALIENCY_CACHE_VERSION,
    keyOf: async (meta) => {
      if (typeof meta.modelSha256 !== "string" || meta.what === undefined) return undefined;
      return await saliencyModelKey({
        modelSha256: meta.modelSha256,
        output: meta.output,
        preprocess: JSON.stringify(meta.preprocess),
        what: canonicalJson(meta.what),
      });
    },
    read: async (dir, key) => await readEmbeddingCache(dir, key, { quarantine: false }),
    same: (a, b, tolerance) => sameVector(a as EmbeddingEntry, b as EmbeddingEntry, tolerance),
    show: showVector,
  },
};

function showVector(e: Entry): string {
  const v = e as EmbeddingEntry;
  return "unreadable" in v ? "unreadable" : `a vector (${v.f32.slice(0, 12)}...)`;
}

/**
 * Whether two prediction results for one image agree: same status and face box, and (status ok)
 * every probability within `tolerance` (0: bit-identical). Reasons of unreadable images are not
 * compared (they may name machine-specific paths).
 */
export function sameResult(a: CachedPrediction, b: CachedPrediction, tolerance = 0): boolean {
  if (a.status !== b.status) return false;
  if (JSON.stringify(a.box ?? null) !== JSON.stringify(b.box ?? null)) return false;
  if (a.status !== "ok") return true;
  return withinTolerance(a.probs ?? [], b.probs ?? [], tolerance);
}

/** Whether two embedding entries agree: both unreadable, or vectors within `tolerance`. */
export function sameVector(a: EmbeddingEntry, b: EmbeddingEntry, tolerance = 0): boolean {
  if ("unreadable" in a || "unreadable" in b) return "unreadable" in a && "unreadable" in b;
  if (a.f32 === b.f32) return true;
  const dim = Buffer.byteLength(a.f32, "base64") / 4;
  const p = decodeVector(a.f32, dim);
  const q = decodeVector(b.f32, dim);
  return p !== undefined && q !== undefined && withinTolerance(p, q, tolerance);
}

function withinTolerance(p: ArrayLike<number>, q: ArrayLike<number>, tolerance: number): boolean {
  if (p.length !== q.length) return false;
  for (let i = 0; i < p.length; i++) if (!(Math.abs(p[i] - q[i]) <= tolerance)) return false;
  return true;
}

/** The model-key folders directly in `root` (none when it does not exist). */
export async function modelFolders(root: string): Promise<ModelFolder[]> {
  try {
    const found: ModelFolder[] = [];
    for await (const e of Deno.readDir(root)) {
      if (e.isDirectory && KEY_NAME.test(e.name)) {
        found.push({ key: e.name, dir: join(root, e.name) });
      }
    }
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/**
 * The model-key folders `dir` holds: under `dir/predictions`, `dir/embeddings` and `dir/saliency`
 * when it is a kit cache root (FER_CACHE), else directly in `dir` (a `--cache-dir` of one kind).
 */
export async function cacheFolders(dir: string): Promise<ModelFolder[]> {
  const inner = await Promise.all(CACHE_KINDS.map((k) => modelFolders(join(dir, k))));
  const nested = inner.flat();
  return nested.length > 0 ? nested : await modelFolders(dir);
}

/** A folder's kind and its meta.json, or the problem with it, or that it is of an older format. */
async function readMeta(
  folder: ModelFolder,
): Promise<
  { kind: CacheKind; meta: Record<string, unknown> } | CacheProblem | { stale: string }
> {
  const file = join(folder.dir, "meta.json");
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(await Deno.readTextFile(file));
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "missing" : "not valid JSON";
    return { file, problem: `meta.json ${why}: the folder's model is unknown` };
  }
  const kind: CacheKind = meta.kind === "saliency"
    ? "saliency"
    : typeof meta.tensor === "string"
    ? "embeddings"
    : "predictions";
  // Folders of an older format are never read by this version of the kit: not merged, not errors.
  if (meta.v !== OPS[kind].version) return { stale: folder.dir };
  const key = await OPS[kind].keyOf(meta);
  if (key === undefined) return { file, problem: `meta.json lacks what a ${kind} key is made of` };
  if (key !== folder.key) {
    return { file, problem: `meta.json describes model key ${key}, not its folder's` };
  }
  return { kind, meta };
}

/** One model folder, every chunk verified (nothing renamed), with its problems. */
interface FolderContents {
  dir: string;
  kind?: CacheKind;
  /** A folder of an older cache format (skipped). */
  stale?: boolean;
  entries: Map<string, Entry>;
  /** Chunk file name → path, for chunks that passed. */
  chunks: Map<string, string>;
  /** Verification problems and conflicts within the folder. */
  problems: CacheProblem[];
}

function emptyFolder(dir: string): FolderContents {
  return { dir, entries: new Map(), chunks: new Map(), problems: [] };
}

async function readFolder(folder: ModelFolder, tolerance: number): Promise<FolderContents> {
  const m = await readMeta(folder);
  if ("stale" in m) return { ...emptyFolder(folder.dir), stale: true };
  if ("problem" in m) return { ...emptyFolder(folder.dir), problems: [m] };
  const out: FolderContents = { ...emptyFolder(folder.dir), kind: m.kind };
  const ops = OPS[m.kind];
  const c = await ops.read(folder.dir, folder.key, m.meta);
  for (const b of c.bad) out.problems.push({ file: b.file, problem: b.reason });
  for (const path of c.chunks) {
    out.chunks.set(path.slice(path.lastIndexOf("/") + 1), path);
    // Entries chunk by chunk, to find two chunks that disagree about one image.
    const chunk = JSON.parse(await Deno.readTextFile(path)) as { entries: Record<string, Entry> };
    for (const [k, v] of Object.entries(chunk.entries)) {
      const have = out.entries.get(k);
      if (have === undefined) out.entries.set(k, v);
      else if (!ops.same(have, v, tolerance)) {
        out.problems.push({ file: path, problem: conflictText(ops, k, have, v) });
      }
    }
  }
  return out;
}

function conflictText(ops: KindOps, key: string, a: Entry, b: Entry): string {
  return `image ${key}: conflicting results ${ops.show(a)} and ${ops.show(b)}`;
}

/** What a merge did (or would have done, when it found problems). */
export interface MergeReport {
  /** Model keys present in the sources. */
  models: number;
  /** Chunk files copied into the target. */
  copied: number;
  /** Source chunk files the target already had (same name, same bytes). */
  alreadyPresent: number;
  /** Distinct images per model key in the target after the merge: key → count. */
  images: Record<string, number>;
  /** Kind of each model key. */
  kinds: Record<string, CacheKind>;
  /** Source folders of older cache formats, skipped. */
  stale: string[];
  /** Verification problems and conflicts; when any, nothing was written. */
  problems: CacheProblem[];
}

/** Options of mergeCaches. */
export interface MergeOptions {
  /** Largest difference still taken as the same result (default 0: equal). */
  tolerance?: number;
}

/**
 * Merge the caches `sources` (kit cache roots, or `--cache-dir` folders of one kind) into the
 * kit cache root `target` (prediction folders into `target/predictions`, embedding folders into
 * `target/embeddings`, saliency folders into `target/saliency`). Verifies everything first; on any problem returns the report with
 * `problems` and writes nothing.
 */
export async function mergeCaches(
  sources: readonly string[],
  target: string,
  opts: MergeOptions = {},
): Promise<MergeReport> {
  const tolerance = opts.tolerance ?? 0;
  const problems: CacheProblem[] = [];
  const stale: string[] = [];
  const plan = new Map<string, { target: FolderContents; sources: FolderContents[] }>();
  for (const src of sources) {
    const folders = await cacheFolders(src);
    if (folders.length === 0) {
      problems.push({ file: src, problem: "holds no cache (no model-key folders)" });
    }
    for (const f of folders) {
      const contents = await readFolder(f, tolerance);
      problems.push(...contents.problems);
      if (contents.stale) stale.push(f.dir);
      if (contents.kind === undefined) continue;
      let p = plan.get(f.key);
      if (p === undefined) {
        const dir = join(target, contents.kind, f.key);
        // A target folder that does not exist yet is not a problem.
        const found = await isDir(dir) ? await readFolder({ key: f.key, dir }, tolerance) : null;
        // A target folder of an older format under the same key cannot be: keys carry versions.
        const existing = found?.stale ? null : found;
        p = { target: existing ?? { ...emptyFolder(dir), kind: contents.kind }, sources: [] };
        problems.push(...p.target.problems);
        plan.set(f.key, p);
      }
      p.sources.push(contents);
    }
  }
  // Conflicts across folders: each source against the target and the sources before it.
  const images: Record<string, number> = {};
  const kinds: Record<string, CacheKind> = {};
  for (const [key, p] of plan) {
    const ops = OPS[p.target.kind!];
    const union = new Map(p.target.entries);
    for (const s of p.sources) {
      for (const [img, r] of s.entries) {
        const have = union.get(img);
        if (have === undefined) union.set(img, r);
        else if (!ops.same(have, r, tolerance)) {
          problems.push({ file: p.target.dir, problem: conflictText(ops, img, have, r) });
        }
      }
    }
    images[key] = union.size;
    kinds[key] = p.target.kind!;
  }
  const report: MergeReport = {
    models: plan.size,
    copied: 0,
    alreadyPresent: 0,
    images,
    kinds,
    stale,
    problems,
  };
  if (problems.length > 0) return report;

  for (const p of plan.values()) {
    const dir = p.target.dir;
    await Deno.mkdir(dir, { recursive: true });
    // Every source folder passed readMeta, so each meta.json describes this key: copy one.
    if (!(await isFile(join(dir, "meta.json")))) {
      await writeFileAtomic(
        join(dir, "meta.json"),
        await Deno.readFile(join(p.sources[0].dir, "meta.json")),
      );
    }
    for (const s of p.sources) {
      for (const [name, path] of s.chunks) {
        if (p.target.chunks.has(name) || (await isFile(join(dir, name)))) {
          report.alreadyPresent++;
          continue;
        }
        await writeFileAtomic(join(dir, name), await Deno.readFile(path));
        report.copied++;
      }
    }
  }
  return report;
}

async function isDir(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isDirectory, () => false);
}

async function isFile(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isFile, () => false);
}

/** What verifying a cache found. */
export interface VerifyReport {
  models: number;
  chunks: number;
  /** Distinct images per model key. */
  images: Record<string, number>;
  kinds: Record<string, CacheKind>;
  /** Folders of older cache formats, not checked (this version never reads them). */
  stale: string[];
  problems: CacheProblem[];
  /** With `require`: the required image keys the cache does not hold. */
  missing: string[];
}

/** Options of verifyCache. */
export interface VerifyOptions {
  tolerance?: number;
  /** Image keys that must be present under model key `key`. */
  require?: { key: string; images: readonly string[] };
}

/**
 * Verify the cache `root` (a kit cache root, or a folder of one kind): every chunk's checksum,
 * key and entries, every `meta.json` against its folder, no conflicting results for one image,
 * and with `require`, every required image present.
 */
export async function verifyCache(root: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const report: VerifyReport = {
    models: 0,
    chunks: 0,
    images: {},
    kinds: {},
    stale: [],
    problems: [],
    missing: [],
  };
  let required: Map<string, Entry> | undefined;
  for (const f of await cacheFolders(root)) {
    const c = await readFolder(f, opts.tolerance ?? 0);
    if (c.stale) {
      report.stale.push(f.dir);
      continue;
    }
    report.models++;
    report.chunks += c.chunks.size;
    report.images[f.key] = c.entries.size;
    if (c.kind !== undefined) report.kinds[f.key] = c.kind;
    report.problems.push(...c.problems);
    if (f.key === opts.require?.key) required = c.entries;
  }
  if (opts.require !== undefined) {
    const have = required ?? new Map();
    report.missing = [...new Set(opts.require.images)].filter((k) => !have.has(k));
  }
  return report;
}
