/**
 * The input key of a notebook run: one SHA-256 over everything that can change the outputs of a
 * notebook executed by the report, so that a rebuild can keep an executed copy whose inputs did
 * not change (lib/report/site.ts) instead of starting a kernel again.
 *
 * The key is built from named parts, each a SHA-256 (hex) of its own, so that a rebuild can say
 * which input changed:
 * - `notebook`: the notebook file's bytes;
 * - `lib`: every file the kernel can import or read as the kit's source: `lib/**` (the notebook
 *   runner lib/notebook/* included), `deno.json`, `deno.lock`, and every file of the notebooks
 *   folder that is not a notebook (helpers a notebook may import);
 * - `models`: every file of the model registry (`FER_MODELS_DIR`, else models/: cards, the kit's
 *   own ONNX files, recipes), of the project's models/ folder, and of the converted models under
 *   the cache (`<FER_CACHE>/models`: ONNX files and their `.sha256`);
 * - `detectors`: every file of the face-detector folder (`FER_DETECTORS`, see lib/detect/card.ts);
 * - `data`: every file under the data root (`FER_DATA`): images, label files, vote files, and
 *   anything else there (more than the datasets' own hashes cover: those leave out FER+ votes);
 * - `splits`: every file of the saved split manifests (`FER_SPLITS_DIR`, else data/splits);
 * - `env`: the values of the environment settings the runs read ({@link keyEnv});
 * - `runtime`: the Deno, V8 and TypeScript versions, the onnxruntime-node version and the target;
 * - `options`: the report options that change an execution (kernel, per-cell limit, the
 *   notebook's path, which is also the kernel's working folder).
 *
 * The kit's sources and the notebook are hashed by content (a checkout that rewrites a file with
 * the same bytes keeps the key). The data, models, detectors and splits folders are hashed by
 * their files' stat lines ({@link statDigest}: path, size, mtime, ctime, inode, the evidence the
 * kit's persisted image-hash index trusts too), so an unchanged data root costs one `stat` per
 * file and no read, and any write to any file there changes the key.
 * The prediction and study caches are not part of the key: their entries are keyed by the hashes
 * of the models and data they come from (the cache folder's path is, through `FER_CACHE`).
 */
import { createHash } from "node:crypto";
import { join, relative, resolve } from "node:path";
import { cacheRoot, dataRoot, PROJECT_ROOT } from "../config.ts";
import { defaultSplitsDir } from "../datasets/split.ts";
import { detectorsDir } from "../detect/card.ts";
import { modelsDir } from "../models/registry.ts";
import { RACY_MS } from "../datasets/content.ts";
import { sha256Hex } from "../fsutil.ts";
import { onnxruntimeVersion } from "./provenance.ts";

/** Version of the recipe below; bump it when the parts or their hashing change. */
export const INPUT_KEY_VERSION = "fer-kit-notebook-inputs-v1";

/**
 * Environment settings the notebooks read through lib/ (every `Deno.env.get` there), listed in
 * one place: each is part of the key, set or not. Every other `FER_*` variable present is added
 * too (a setting added later is covered before this list learns of it), and so are the locale
 * and time zone, which number and date formatting may follow.
 */
export const EXECUTION_ENV: readonly string[] = [
  "FER_DATA", // data root (lib/config.ts)
  "FER_CACHE", // cache folder: converted models, predictions (lib/config.ts)
  "FER_MODELS", // model subset of the study grid (lib/studies/grid.ts, pitfalls)
  "FER_MODELS_DIR", // model registry (lib/models/registry.ts)
  "FER_DETECTORS", // face-detector folder (lib/detect/card.ts)
  "FER_SPLITS_DIR", // saved split manifests (lib/datasets/split.ts)
  "FER_MAX_PIXELS", // image size limit (lib/image.ts)
  "FER_PROVIDER", // execution provider (lib/provider.ts)
  "FER_PROVIDER_STRICT", // fallback or stop (lib/provider.ts)
  "TZ",
  "LANG",
  "LC_ALL",
];

/** Variables never part of the key: the build's own session log, a new file per build. */
export const KEY_ENV_EXCLUDED: readonly string[] = ["FER_SESSION_LOG"];

/** The parts of an input key, in the order they are hashed. */
export const INPUT_PARTS = [
  "notebook",
  "lib",
  "models",
  "detectors",
  "data",
  "splits",
  "env",
  "runtime",
  "options",
] as const;

/** One part's name. */
export type InputPart = typeof INPUT_PARTS[number];

/** A notebook run's input key, as recorded in the executed notebook (`metadata.ferkit.inputs`). */
export interface InputKey {
  version: string;
  /** SHA-256 (hex) over the parts. */
  key: string;
  /** SHA-256 (hex) of each part. */
  parts: Record<InputPart, string>;
  /** The environment settings hashed in `env`, by name (null: not set). */
  env: Record<string, string | null>;
  /** The runtime versions hashed in `runtime`. */
  runtime: Record<string, string | null>;
}

/** What the key of one notebook depends on besides the notebook itself. */
export interface KeyContext {
  /** Environment the kernel gets: this process's, with the build's settings over it. */
  env: Record<string, string>;
  /** Kernelspec name. */
  kernel: string;
  /** Per-cell time limit in seconds. */
  cellTimeoutS: number;
  /** Folder of the notebooks (their non-notebook files are part of `lib`). */
  notebooksDir: string;
  /**
   * The kit's folder: `lib/`, `deno.json`, `deno.lock`, and the default models/, data/raw/ and
   * data/splits/ (default: the project root; the tests point it at a small copy).
   */
  kitRoot?: string;
  /** Racy window in ms (default {@link RACY_MS}; the tests set 0 to compare keys at once). */
  racyMs?: number;
}

/** The environment settings of the key, by name, from a kernel's environment. */
export function keyEnv(env: Readonly<Record<string, string>>): Record<string, string | null> {
  const names = new Set(EXECUTION_ENV);
  for (const k of Object.keys(env)) if (k.startsWith("FER_")) names.add(k);
  for (const k of KEY_ENV_EXCLUDED) names.delete(k);
  const out: Record<string, string | null> = {};
  for (const k of [...names].sort()) out[k] = env[k] ?? null;
  return out;
}

/** Files modified less than RACY_MS before a key is computed make it racy (see statDigest). */
export { RACY_MS };

/**
 * Every file under `root` (symbolic links followed, each folder once), as paths relative to
 * `root`, sorted; `keep` filters by relative path. An absent root gives no files.
 */
export async function listFiles(
  root: string,
  keep: (rel: string) => boolean = () => true,
  folders = false,
): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    let real: string;
    try {
      real = await Deno.realPath(dir);
    } catch {
      return;
    }
    if (seen.has(real)) return;
    seen.add(real);
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      let isDir = e.isDirectory;
      if (e.isSymlink) {
        try {
          isDir = Deno.statSync(path).isDirectory; // follows the link
        } catch { /* dangling: listed as a file, read as missing */ }
      }
      if (isDir) {
        if (folders && keep(relative(root, path))) out.push(`${relative(root, path)}/`);
        await walk(path);
      } else {
        const rel = relative(root, path);
        if (keep(rel)) out.push(rel);
      }
    }
  };
  await walk(root);
  return out.sort();
}

/** SHA-256 (hex) over the named files' bytes (`relative path \t SHA-256 of the bytes` lines). */
export async function contentDigest(root: string, rels: readonly string[]): Promise<string> {
  const h = createHash("sha256");
  h.update(`content\t${root}\t${rels.length}\n`);
  for (const rel of rels) {
    const bytes = await Deno.readFile(join(root, rel)).catch(() => null);
    h.update(`${rel}\t${bytes === null ? "missing" : await sha256Hex(bytes)}\n`);
  }
  return h.digest("hex");
}

/** One file's stat line: relative path, size, mtime and ctime (seconds), inode. */
interface StatLine {
  rel: string;
  line: string;
  /** Latest of mtime and ctime, in ms since the epoch. */
  changedMs: number;
}

/**
 * Stat lines of every entry under `root` by GNU find (fast): a folder as its path and "/" (an
 * empty class folder changes what a loader finds), anything else with its stats. Null when find
 * is missing or fails (a find without -printf, an unreadable entry, a missing root): the walk
 * in Deno then lists the tree instead, so a failing find never hides a change.
 */
async function findStats(root: string): Promise<StatLine[] | null> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("find", {
      args: ["-L", root, "-mindepth", "1", "-printf", "%P\\0%y %s %T@ %C@ %i\\0"],
      stdout: "piped",
      stderr: "null",
    }).output();
  } catch {
    return null; // no find here
  }
  if (!out.success) return null;
  const fields = new TextDecoder().decode(out.stdout).split("\0");
  const lines: StatLine[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [type, size, m, c, ino] = fields[i + 1].split(" ");
    lines.push(
      type === "d" ? { rel: `${fields[i]}/`, line: `${fields[i]}/`, changedMs: 0 } : {
        rel: fields[i],
        line: `${fields[i]}\t${size} ${m} ${c} ${ino}`,
        changedMs: Math.max(Number(m), Number(c)) * 1000,
      },
    );
  }
  return lines;
}

/** The same lines from a walk in Deno (where GNU find is missing); times in ms. */
async function walkStats(root: string): Promise<StatLine[]> {
  const lines: StatLine[] = [];
  for (const rel of await listFiles(root, () => true, true)) {
    if (rel.endsWith("/")) {
      lines.push({ rel, line: rel, changedMs: 0 });
      continue;
    }
    let st: Deno.FileInfo | null = null;
    try {
      st = Deno.statSync(join(root, rel));
    } catch { /* dangling link */ }
    const m = st?.mtime?.getTime() ?? 0;
    const c = st?.ctime?.getTime() ?? 0;
    lines.push({
      rel,
      line: st ? `${rel}\t${st.size} ${m} ${c} ${st.ino ?? 0}` : `${rel}\tmissing`,
      changedMs: Math.max(m, c),
    });
  }
  return lines;
}

/**
 * SHA-256 (hex) over the stat lines of every file under `root` (relative path, size, mtime,
 * ctime, inode): the same evidence the kit's persisted hash index trusts (lib/datasets/content.ts),
 * without reading a byte. Writing a file changes its mtime and ctime (ctime cannot be set back),
 * adding, removing or renaming one changes the list. As in git, a file changed less than
 * {@link RACY_MS} before now could be written again within the clock's resolution unseen: the
 * digest then includes the current time, so that the next build's key differs (it runs again).
 */
export async function statDigest(root: string, racyMs = RACY_MS): Promise<string> {
  const now = Date.now();
  const found = await findStats(root);
  const lines = found ?? await walkStats(root);
  lines.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const h = createHash("sha256");
  h.update(`stat\t${found ? "find" : "walk"}\t${root}\t${lines.length}\n`);
  for (const l of lines) h.update(l.line + "\n");
  if (lines.some((l) => now - l.changedMs < racyMs)) h.update(`racy\t${now}\n`);
  return h.digest("hex");
}

/** The folders and values shared by every notebook of one build (all but `notebook`, `options`). */
export interface SharedInputs {
  parts: Omit<Record<InputPart, string>, "notebook" | "options">;
  env: Record<string, string | null>;
  runtime: Record<string, string | null>;
}

/** The parts every notebook of a build shares, computed once per build. */
export async function sharedInputs(ctx: KeyContext): Promise<SharedInputs> {
  const env = ctx.env;
  const kit = ctx.kitRoot ?? PROJECT_ROOT;
  // The folders the kit's own lookups give for this build's settings (lib/config.ts and the
  // registry, split and detector modules), so the key hashes what the kernels will read.
  const from = { env: (name: string) => env[name] || undefined, kitRoot: kit };
  const cache = cacheRoot(from);
  const notNotebook = (rel: string) => !rel.endsWith(".ipynb");
  const projectModels = join(kit, "models");
  const registry = modelsDir(from);
  const detectors = await detectorsDir(from);
  const data = dataRoot(undefined, from);
  const splits = defaultSplitsDir(from);
  const runtime: Record<string, string | null> = {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    onnxruntime: await onnxruntimeVersion(),
    target: Deno.build.target,
  };
  const keyed = keyEnv(env);
  const libDir = join(kit, "lib");
  const combine = (digests: string[]) => sha256Hex(digests.join("\n"));
  const stat = (root: string) => statDigest(root, ctx.racyMs);
  const [lib, models, dets, dataPart, splitsPart] = await Promise.all([
    Promise.all([
      listFiles(libDir).then((rels) => contentDigest(libDir, rels)),
      contentDigest(kit, ["deno.json", "deno.lock"]),
      listFiles(ctx.notebooksDir, notNotebook).then((rels) =>
        contentDigest(ctx.notebooksDir, rels)
      ),
    ]).then(combine),
    Promise.all([...new Set([registry, projectModels, join(cache, "models")])].map(stat))
      .then(combine),
    stat(resolve(detectors)),
    stat(data),
    stat(splits),
  ]);
  return {
    parts: {
      lib,
      models,
      detectors: dets,
      data: dataPart,
      splits: splitsPart,
      env: await sha256Hex(JSON.stringify(keyed)),
      runtime: await sha256Hex(JSON.stringify(runtime)),
    },
    env: keyed,
    runtime,
  };
}

/** The input key of the notebook at `notebookPath` in a build whose shared parts are `shared`. */
export async function notebookInputKey(
  notebookPath: string,
  shared: SharedInputs,
  ctx: KeyContext,
): Promise<InputKey> {
  const parts: Record<InputPart, string> = {
    notebook: await sha256Hex(await Deno.readFile(notebookPath)),
    ...shared.parts,
    options: await sha256Hex(JSON.stringify({
      kernel: ctx.kernel,
      cellTimeoutS: ctx.cellTimeoutS,
      notebook: resolve(notebookPath),
    })),
  };
  const h = createHash("sha256");
  h.update(`${INPUT_KEY_VERSION}\n`);
  for (const p of INPUT_PARTS) h.update(`${p}\t${parts[p]}\n`);
  return {
    version: INPUT_KEY_VERSION,
    key: h.digest("hex"),
    parts,
    env: shared.env,
    runtime: shared.runtime,
  };
}

/** Why a run cannot be reused, in a few words, comparing its recorded key with the current one. */
export function keyChange(recorded: unknown, current: InputKey): string | null {
  if (typeof recorded !== "object" || recorded === null) return "no input key recorded";
  const r = recorded as Partial<InputKey>;
  if (r.version !== current.version) return "input key recipe changed";
  if (r.key === current.key) return null;
  const changed = INPUT_PARTS.filter((p) => r.parts?.[p] !== current.parts[p]);
  if (changed.length === 0) return "input key differs";
  return changed.map((p) => {
    if (p === "env") {
      const names = [...new Set([...Object.keys(r.env ?? {}), ...Object.keys(current.env)])]
        .filter((k) => (r.env?.[k] ?? null) !== (current.env[k] ?? null)).sort();
      return `env changed${names.length ? ` (${names.join(", ")})` : ""}`;
    }
    if (p === "runtime") {
      const names = Object.keys(current.runtime)
        .filter((k) => (r.runtime?.[k] ?? null) !== current.runtime[k]);
      return `runtime changed${names.length ? ` (${names.join(", ")})` : ""}`;
    }
    return `${p} changed`;
  }).join(", ");
}
