/**
 * One entry to every dataset: `loadDataset(spec)` with spec a registered name (fer2013, ferplus,
 * ckplus, expw, rafdb, affectnet, resolved under the data root), a folder (a publisher layout,
 * detected, or a class-per-folder tree) or a CSV file (the FER2013 Kaggle format, or a manifest
 * `path,label[,split]`). Layouts and label rules: docs/datasets.md.
 */
import { basename, join, resolve } from "node:path";
import { dataRoot } from "../config.ts";
import type { Sample } from "../sample.ts";
import { LabelError } from "../taxonomy.ts";
import { forEachSampleImage, type UnreadableFile } from "../image.ts";
import { isDir, isFile } from "./common.ts";
import { datasetHash } from "./hash.ts";
import { loadFer2013Csv, loadFer2013Folder } from "./fer2013.ts";
import { isKaggleFer2013, loadFer2013Kaggle } from "./fer2013_kaggle.ts";
import { FERPLUS_FOLDERS, loadFerplus } from "./ferplus.ts";
import { loadCkplus } from "./ckplus.ts";
import { loadExpw } from "./expw.ts";
import { loadRafdb, RAFDB_LABELS } from "./rafdb.ts";
import { AFFECTNET_LISTS, loadAffectnet } from "./affectnet.ts";
import { loadFolderTree } from "./folder.ts";
import { loadManifest } from "./manifest.ts";
import type { DatasetFormat, LoadedDataset, LoaderResult, LoadOptions } from "./types.ts";

export type {
  DatasetFormat,
  Fer2013Split,
  FerplusLabelRule,
  LoadedDataset,
  LoadOptions,
} from "./types.ts";
export { FER2013_SPLITS } from "./types.ts";
export type { UnreadableFile } from "../image.ts";
export { datasetHash } from "./hash.ts";
export {
  DEFAULT_SPLIT_SEED,
  groupKFold,
  mulberry32,
  SPLITS_DIR,
  stratifiedGroupSplit,
  stratifiedSplit,
  writeSplitManifest,
} from "./split.ts";
export { ferplusLabel, votesRecord } from "./ferplus.ts";
export { type DatasetSummary, type SplitCounts, summarizeDataset } from "./summary.ts";

/** Registered dataset names, each the folder it lives in under the data root. */
export const REGISTERED: Readonly<Record<string, string>> = {
  fer2013: "fer2013",
  ferplus: "ferplus",
  ckplus: "ckplus",
  expw: "expw",
  rafdb: "rafdb",
  affectnet: "affectnet",
};

/** Where a spec resolves: the path, and the format detected there (null: unknown). */
export interface ResolvedSpec {
  name: string;
  path: string;
  format: DatasetFormat | null;
}

/** Detect the layout of a folder or file; null when it is none the kit knows. */
export async function detectFormat(path: string): Promise<DatasetFormat | null> {
  if (await isFile(path)) {
    if (!path.toLowerCase().endsWith(".csv")) return null;
    const head = await firstLine(path);
    const cols = head.replace(/^\uFEFF/, "").split(",").map((c) => c.trim().replace(/"/g, ""));
    const lower = cols.map((c) => c.toLowerCase());
    if (lower.includes("emotion") && lower.includes("pixels") && lower.includes("usage")) {
      return "fer2013-csv";
    }
    return "manifest";
  }
  if (!(await isDir(path))) return null;
  if (await isFile(join(path, "fer2013.csv"))) return "fer2013-csv";
  if (await isFile(join(path, "fer2013-original-labels.csv"))) return "fer2013-folder";
  if (await isKaggleFer2013(path)) return "fer2013-kaggle";
  for (const folder of Object.values(FERPLUS_FOLDERS)) {
    if (await isDir(join(path, folder))) return "ferplus";
  }
  if (await isFile(join(path, "fer2013new.csv"))) return "ferplus";
  if (await isDir(join(path, "CK+48")) || basename(path) === "CK+48") return "ckplus";
  if (await isFile(join(path, "label.lst"))) return "expw";
  if (await isFile(join(path, RAFDB_LABELS))) return "rafdb";
  if (await isDir(join(path, AFFECTNET_LISTS))) return "affectnet";
  return "folder";
}

async function firstLine(path: string): Promise<string> {
  const f = await Deno.open(path);
  try {
    const buf = new Uint8Array(4096);
    const n = (await f.read(buf)) ?? 0;
    return new TextDecoder().decode(buf.subarray(0, n)).split(/\r?\n/)[0];
  } finally {
    f.close();
  }
}

/**
 * Resolve a spec: a registered name → `<data root>/<folder>`; anything else is a path. A name
 * that is neither registered nor an existing path is a LabelError listing the registered names.
 */
export async function resolveSpec(spec: string, opts: LoadOptions = {}): Promise<ResolvedSpec> {
  if (Object.hasOwn(REGISTERED, spec)) {
    const path = join(opts.dataRoot ?? dataRoot(), REGISTERED[spec]);
    if (!(await isDir(path))) {
      throw new LabelError(
        `dataset "${spec}" not found (set --data or FER_DATA to the folder holding ${
          REGISTERED[spec]
        }/; see docs/datasets.md)`,
        { file: path },
      );
    }
    let format = await detectFormat(path);
    // The registered name fixes what is meant: fer2013 = original labels, ferplus = votes.
    if (spec === "ferplus") format = "ferplus";
    if (spec === "fer2013" && !FER2013_FORMATS.includes(format as DatasetFormat)) format = null;
    return { name: spec, path, format };
  }
  const path = resolve(spec);
  if (!(await isFile(path)) && !(await isDir(path))) {
    throw new LabelError(
      `no such dataset: not a registered name (${Object.keys(REGISTERED).join(", ")}) nor a path`,
      { file: spec },
    );
  }
  const name = basename(path).replace(/\.csv$/i, "");
  return { name, path, format: await detectFormat(path) };
}

/** The layouts that hold FER2013 with its original labels (fer2013Split applies to them). */
export const FER2013_FORMATS: readonly DatasetFormat[] = [
  "fer2013-csv",
  "fer2013-folder",
  "fer2013-kaggle",
];

/** Run the loader of a format on a path. */
function runLoader(format: DatasetFormat, path: string, opts: LoadOptions): Promise<LoaderResult> {
  switch (format) {
    case "fer2013-csv":
      return loadFer2013Csv(
        path.toLowerCase().endsWith(".csv") ? path : join(path, "fer2013.csv"),
        opts,
      );
    case "fer2013-folder":
      return loadFer2013Folder(path, opts);
    case "fer2013-kaggle":
      return loadFer2013Kaggle(path, opts);
    case "ferplus":
      return loadFerplus(path, opts);
    case "ckplus":
      return loadCkplus(path, opts);
    case "expw":
      return loadExpw(path, opts);
    case "rafdb":
      return loadRafdb(path, opts);
    case "affectnet":
      return loadAffectnet(path, opts);
    case "folder":
      return loadFolderTree(path, opts);
    case "manifest":
      return loadManifest(path, opts);
  }
}

/**
 * Load a dataset. `spec`: a registered name, a folder or a CSV file (see the module comment).
 * With `opts.split` only that split is kept; with `opts.checkImages` every image is decoded and
 * the unreadable ones are moved to `unreadable`. The hash covers the samples returned.
 * Throws LabelError (naming file and line) for a missing dataset or a malformed label file.
 */
export async function loadDataset(spec: string, opts: LoadOptions = {}): Promise<LoadedDataset> {
  const r = await resolveSpec(spec, opts);
  if (r.format === null) {
    throw new LabelError(`no known dataset layout here (see docs/datasets.md)`, { file: r.path });
  }
  const kaggle = opts.fer2013Split === "kaggle" && FER2013_FORMATS.includes(r.format);
  // The Kaggle split moves PublicTest into test, so the loader must not filter by split first.
  const res = await runLoader(r.format, r.path, kaggle ? { ...opts, split: undefined } : opts);
  let samples = res.samples;
  if (kaggle) {
    samples = samples.map((s) => (s.split === "val" ? { ...s, split: "test" } : s));
  }
  if (opts.split !== undefined) samples = samples.filter((s) => s.split === opts.split);
  const unreadable = res.unreadable.slice();
  if (opts.checkImages) {
    const bad = await checkImages(samples);
    unreadable.push(...bad);
    const badFiles = new Set(bad.map((u) => u.file));
    samples = samples.filter((s) => s.source.kind !== "file" || !badFiles.has(s.source.path));
  }
  return {
    name: r.name,
    format: r.format,
    root: r.path,
    samples,
    excluded: res.excluded,
    unreadable,
    classes: res.classes,
    hash: await datasetHash(samples),
  };
}

/**
 * Decode every distinct image file of `samples` (each file once, even when it holds several
 * faces) and list the ones that fail; `known` caches outcomes across calls (file → reason, or
 * null when it decoded).
 */
export async function checkImages(
  samples: readonly Sample[],
  known: Map<string, string | null> = new Map(),
): Promise<UnreadableFile[]> {
  const todo: Sample[] = [];
  const queued = new Set<string>();
  for (const s of samples) {
    if (s.source.kind !== "file") continue;
    const p = s.source.path;
    if (known.has(p) || queued.has(p)) continue;
    queued.add(p);
    todo.push({ ...s, box: undefined });
  }
  const { unreadable } = await forEachSampleImage(todo, (s) => {
    if (s.source.kind === "file") known.set(s.source.path, null);
  });
  for (const u of unreadable) known.set(u.file, u.reason);
  const out: UnreadableFile[] = [];
  const listed = new Set<string>();
  for (const s of samples) {
    if (s.source.kind !== "file" || listed.has(s.source.path)) continue;
    const reason = known.get(s.source.path);
    if (reason) {
      out.push({ file: s.source.path, reason });
      listed.add(s.source.path);
    }
  }
  return out;
}

/** A dataset found under a data root: the spec to load it and its detected format. */
export interface FoundDataset {
  name: string;
  spec: string;
  format: DatasetFormat;
}

/**
 * Every dataset under a data root: the registered folders present (in registry order), plus any
 * other FER2013-format CSV in the fer2013 folder (such as fer2013-sample.csv, named by its stem).
 */
export async function findDatasets(root: string): Promise<FoundDataset[]> {
  const out: FoundDataset[] = [];
  for (const name of Object.keys(REGISTERED)) {
    const path = join(root, REGISTERED[name]);
    if (!(await isDir(path))) continue;
    const r = await resolveSpec(name, { dataRoot: root });
    if (r.format !== null) out.push({ name, spec: name, format: r.format });
  }
  const ferDir = join(root, REGISTERED.fer2013);
  if (await isDir(ferDir)) {
    const extra: string[] = [];
    for await (const e of Deno.readDir(ferDir)) {
      if (e.isFile && e.name.toLowerCase().endsWith(".csv") && e.name !== "fer2013.csv") {
        extra.push(e.name);
      }
    }
    for (const f of extra.sort()) {
      const path = join(ferDir, f);
      if ((await detectFormat(path)) === "fer2013-csv") {
        out.push({ name: f.replace(/\.csv$/i, ""), spec: path, format: "fer2013-csv" });
      }
    }
  }
  return out;
}
