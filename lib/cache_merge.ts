/**
 * Merging and verifying prediction caches (lib/prediction_cache.ts), for runs split into shards
 * (lib/shard.ts) on several machines.
 *
 * A prediction cache is a folder of model-key folders (`<64 hex>/`), each holding `meta.json`
 * and content-addressed chunk files. Merging is a union of files: a chunk is copied when the
 * target has no file of that name (same name, same bytes). Before anything is written, every
 * source chunk is verified (checksum, model key, entries) and every source `meta.json` must
 * describe its folder's key; entries for the same image that disagree (between sources, or with
 * the target) are conflicts. Any problem stops the merge with nothing written.
 *
 * Verifying checks the same for one cache, plus, for a given model key, that every required
 * image key is present.
 */
import { join } from "node:path";
import { writeFileAtomic } from "./fsutil.ts";
import { modelKey } from "./predict.ts";
import { type CachedPrediction, readPredictionCache } from "./prediction_cache.ts";

const KEY_NAME = /^[0-9a-f]{64}$/;

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

/**
 * The prediction-cache root that `dir` names: `dir/predictions` when `dir` is a kit cache root
 * (FER_CACHE) holding one, else `dir` itself.
 */
export async function predictionRoot(dir: string): Promise<string> {
  const inner = join(dir, "predictions");
  try {
    if ((await Deno.stat(inner)).isDirectory) return inner;
  } catch {
    // not a kit cache root
  }
  return dir;
}

/** The model-key folders of a prediction-cache root (none when it does not exist). */
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

/** What `meta.json` says about a model folder, as far as checking needs it. */
interface FolderMeta {
  classes: number;
}

/**
 * Read a folder's `meta.json` and check that it describes the folder's key (the key recomputed
 * from its fields equals the folder name). Returns the number of model classes, or a problem.
 */
async function readMeta(folder: ModelFolder): Promise<FolderMeta | CacheProblem> {
  const file = join(folder.dir, "meta.json");
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(await Deno.readTextFile(file));
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "missing" : "not valid JSON";
    return { file, problem: `meta.json ${why}: the folder's model is unknown` };
  }
  const output = meta.output as { classes?: unknown } | undefined;
  if (!Array.isArray(output?.classes) || typeof meta.modelSha256 !== "string") {
    return { file, problem: "meta.json lacks modelSha256 or output.classes" };
  }
  const key = await modelKey({
    modelSha256: meta.modelSha256,
    output: meta.output,
    preprocess: JSON.stringify(meta.preprocess),
    detect: (meta.detect ?? null) as string | null,
    detectThreshold: (meta.detectThreshold ?? null) as number | null,
  });
  if (key !== folder.key) {
    return { file, problem: `meta.json describes model key ${key}, not its folder's` };
  }
  return { classes: output.classes.length };
}

/** Entries of one model folder, every chunk verified (nothing renamed), with its problems. */
interface FolderContents {
  dir: string;
  meta?: FolderMeta;
  entries: Map<string, CachedPrediction>;
  /** Chunk file name → path, for chunks that passed. */
  chunks: Map<string, string>;
  problems: CacheProblem[];
  /** Same image key, different results, within this folder. */
  conflicts: CacheProblem[];
}

async function readFolder(folder: ModelFolder, tolerance: number): Promise<FolderContents> {
  const meta = await readMeta(folder);
  if ("problem" in meta) return { ...emptyFolder(folder.dir), problems: [meta] };
  const out: FolderContents = {
    dir: folder.dir,
    meta,
    entries: new Map(),
    chunks: new Map(),
    problems: [],
    conflicts: [],
  };
  const c = await readPredictionCache(folder.dir, folder.key, meta.classes, { quarantine: false });
  for (const b of c.bad) out.problems.push({ file: b.file, problem: b.reason });
  for (const path of c.chunks) out.chunks.set(path.slice(path.lastIndexOf("/") + 1), path);
  // readPredictionCache keeps the last chunk's entry for a key; find disagreements among chunks.
  for (const path of c.chunks) {
    const chunk = JSON.parse(await Deno.readTextFile(path)) as {
      entries: Record<string, CachedPrediction>;
    };
    for (const [k, v] of Object.entries(chunk.entries)) {
      const have = out.entries.get(k);
      if (have === undefined) out.entries.set(k, v);
      else if (!sameResult(have, v, tolerance)) {
        out.conflicts.push({ file: path, problem: conflictText(k, have, v) });
      }
    }
  }
  return out;
}

/**
 * Whether two results for one image agree: same status and face box, and (status ok) every
 * probability within `tolerance` (0: bit-identical). Reasons of unreadable images are not
 * compared (they may name machine-specific paths).
 */
export function sameResult(a: CachedPrediction, b: CachedPrediction, tolerance = 0): boolean {
  if (a.status !== b.status) return false;
  if (JSON.stringify(a.box ?? null) !== JSON.stringify(b.box ?? null)) return false;
  if (a.status !== "ok") return true;
  const p = a.probs ?? [];
  const q = b.probs ?? [];
  if (p.length !== q.length) return false;
  for (let i = 0; i < p.length; i++) if (!(Math.abs(p[i] - q[i]) <= tolerance)) return false;
  return true;
}

function conflictText(key: string, a: CachedPrediction, b: CachedPrediction): string {
  const show = (r: CachedPrediction) =>
    r.status === "ok" ? `[${(r.probs ?? []).map((x) => x.toFixed(6)).join(", ")}]` : r.status;
  return `image ${key}: conflicting results ${show(a)} and ${show(b)}`;
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
  /** Verification problems and conflicts; when any, nothing was written. */
  problems: CacheProblem[];
}

/** Options of mergePredictionCaches. */
export interface MergeOptions {
  /** Largest probability difference still taken as the same result (default 0). */
  tolerance?: number;
}

/**
 * Merge the prediction caches `sources` (prediction-cache roots or kit cache roots) into the
 * prediction-cache root `target`. Verifies everything first; on any problem returns the report
 * with `problems` and writes nothing.
 */
export async function mergePredictionCaches(
  sources: readonly string[],
  target: string,
  opts: MergeOptions = {},
): Promise<MergeReport> {
  const tolerance = opts.tolerance ?? 0;
  const problems: CacheProblem[] = [];
  // Model key → contents of the target folder and of each source folder.
  const plan = new Map<string, { target: FolderContents; sources: FolderContents[] }>();
  for (const src of sources) {
    const root = await predictionRoot(src);
    const folders = await modelFolders(root);
    if (folders.length === 0) {
      problems.push({ file: src, problem: "holds no prediction cache (no model-key folders)" });
    }
    for (const f of folders) {
      let p = plan.get(f.key);
      if (p === undefined) {
        const dir = join(target, f.key);
        // A target folder that does not exist yet is not a problem.
        const existing = await isDir(dir) ? await readFolder({ key: f.key, dir }, tolerance) : null;
        p = { target: existing ?? emptyFolder(dir), sources: [] };
        problems.push(...p.target.problems, ...p.target.conflicts);
        plan.set(f.key, p);
      }
      const contents = await readFolder(f, tolerance);
      problems.push(...contents.problems, ...contents.conflicts);
      p.sources.push(contents);
    }
  }
  // Conflicts across folders: each source against the target and the sources before it.
  const images: Record<string, number> = {};
  for (const [key, p] of plan) {
    const union = new Map(p.target.entries);
    for (const s of p.sources) {
      for (const [img, r] of s.entries) {
        const have = union.get(img);
        if (have === undefined) union.set(img, r);
        else if (!sameResult(have, r, tolerance)) {
          problems.push({ file: join(target, key), problem: conflictText(img, have, r) });
        }
      }
    }
    images[key] = union.size;
  }
  const report: MergeReport = { models: plan.size, copied: 0, alreadyPresent: 0, images, problems };
  if (problems.length > 0) return report;

  for (const [key, p] of plan) {
    const dir = join(target, key);
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

function emptyFolder(dir: string): FolderContents {
  return { dir, entries: new Map(), chunks: new Map(), problems: [], conflicts: [] };
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
  problems: CacheProblem[];
  /** With `require`: the required image keys the cache does not hold. */
  missing: string[];
}

/** Options of verifyPredictionCache. */
export interface VerifyOptions {
  tolerance?: number;
  /** Image keys that must be present under model key `key`. */
  require?: { key: string; images: readonly string[] };
}

/**
 * Verify the prediction-cache root `root`: every chunk's checksum, key and entries, every
 * `meta.json` against its folder, no conflicting results for one image, and with `require`,
 * every required image present.
 */
export async function verifyPredictionCache(
  root: string,
  opts: VerifyOptions = {},
): Promise<VerifyReport> {
  const report: VerifyReport = { models: 0, chunks: 0, images: {}, problems: [], missing: [] };
  const folders = await modelFolders(root);
  let required: Map<string, CachedPrediction> | undefined;
  for (const f of folders) {
    const c = await readFolder(f, opts.tolerance ?? 0);
    report.models++;
    report.chunks += c.chunks.size;
    report.images[f.key] = c.entries.size;
    report.problems.push(...c.problems, ...c.conflicts);
    if (f.key === opts.require?.key) required = c.entries;
  }
  if (opts.require !== undefined) {
    const have = required ?? new Map();
    report.missing = [...new Set(opts.require.images)].filter((k) => !have.has(k));
  }
  return report;
}
