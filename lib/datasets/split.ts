/**
 * The kit's own splits for datasets whose publishers give none (ExpW, CK+), as pure seeded
 * functions, and the saved split manifests (`data/splits/<format>.csv`, `id,split`, ids only)
 * that pin them down for everyone.
 */
import { join, resolve } from "node:path";
import { PROCESS_SETTINGS, PROJECT_ROOT, type SettingsSource } from "../config.ts";
import { formatCsv, parseCsv } from "../csv.ts";
import { writeFileAtomic } from "../fsutil.ts";
import type { Sample, Split } from "../sample.ts";
import { LabelError } from "../taxonomy.ts";
import { mulberry32, shuffled } from "../random.ts";

/** Default seed of the kit's splits. */
export const DEFAULT_SPLIT_SEED = 2024;

/** Folder of the saved split manifests in the project. */
export const SPLITS_DIR: string = join(PROJECT_ROOT, "data", "splits");

/**
 * Folder of the saved split manifests loaders read: `FER_SPLITS_DIR` when set (another copy of
 * the data needs its own manifests), else SPLITS_DIR.
 */
export function defaultSplitsDir(from: SettingsSource = PROCESS_SETTINGS): string {
  const env = from.env("FER_SPLITS_DIR");
  return env ? resolve(env) : join(from.kitRoot, "data", "splits");
}

/** The kit's seeded generator and shuffle, from lib/random.ts (re-exported for callers here). */
export { mulberry32, shuffled };

/**
 * Seeded stratified train/test split: within each label, a shuffled round(n × fraction) of the
 * items go to "test", the rest to "train". Labels are visited in sorted order with one
 * Mulberry32 stream, so the result depends only on (labels, fraction, seed).
 * Returns one split per item, in input order.
 */
export function stratifiedSplit(
  labels: readonly string[],
  fraction: number,
  seed: number,
): ("train" | "test")[] {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`fraction ${fraction} not in [0, 1]`);
  const rand = mulberry32(seed);
  const byLabel = new Map<string, number[]>();
  labels.forEach((l, i) => {
    const list = byLabel.get(l);
    if (list) list.push(i);
    else byLabel.set(l, [i]);
  });
  const out: ("train" | "test")[] = labels.map(() => "train");
  for (const label of [...byLabel.keys()].sort()) {
    const idx = shuffled(byLabel.get(label)!, rand);
    const nTest = Math.round(idx.length * fraction);
    for (let i = 0; i < nTest; i++) out[idx[i]] = "test";
  }
  return out;
}

/**
 * Seeded stratified split by group: every group (e.g. the ExpW photograph several faces come
 * from) goes whole to "train" or "test", and each label's test count stays at or below its
 * stratified quota round(n_label × fraction). Groups are shuffled (Mulberry32, `seed`), then
 * stably sorted by size, largest first; each goes to "test" when all its items fit in their
 * labels' remaining quotas, else to "train". Singleton groups come last and fill the quotas
 * exactly whenever each label has enough of them. Returns one split per item, in input order.
 */
export function stratifiedGroupSplit(
  labels: readonly string[],
  groups: readonly string[],
  fraction: number,
  seed: number,
): ("train" | "test")[] {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`fraction ${fraction} not in [0, 1]`);
  if (groups.length !== labels.length) {
    throw new RangeError(`${labels.length} labels but ${groups.length} groups`);
  }
  const quota = new Map<string, number>();
  for (const l of labels) quota.set(l, (quota.get(l) ?? 0) + 1);
  for (const [l, n] of quota) quota.set(l, Math.round(n * fraction));
  const members = new Map<string, number[]>();
  groups.forEach((g, i) => {
    const list = members.get(g);
    if (list) list.push(i);
    else members.set(g, [i]);
  });
  const order = shuffled([...members.keys()].sort(), mulberry32(seed));
  order.sort((a, b) => members.get(b)!.length - members.get(a)!.length);
  const out: ("train" | "test")[] = labels.map(() => "train");
  for (const g of order) {
    const need = new Map<string, number>();
    for (const i of members.get(g)!) need.set(labels[i], (need.get(labels[i]) ?? 0) + 1);
    if ([...need].every(([l, n]) => n <= quota.get(l)!)) {
      for (const [l, n] of need) quota.set(l, quota.get(l)! - n);
      for (const i of members.get(g)!) out[i] = "test";
    }
  }
  return out;
}

/**
 * Seeded group k-fold: every group (e.g. a CK+ subject) goes whole into one of k folds.
 * Groups are shuffled (Mulberry32, `seed`), then stably sorted by size, largest first, and each
 * is given to the fold holding the fewest items so far (lowest fold index on ties), so fold sizes differ by
 * at most the largest group's size. Returns the fold (0..k-1) of each item.
 */
export function groupKFold(groups: readonly string[], k: number, seed: number): number[] {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`k must be an integer >= 2, got ${k}`);
  const sizes = new Map<string, number>();
  for (const g of groups) sizes.set(g, (sizes.get(g) ?? 0) + 1);
  if (sizes.size < k) throw new RangeError(`${sizes.size} groups cannot fill ${k} folds`);
  const order = shuffled([...sizes.keys()].sort(), mulberry32(seed));
  order.sort((a, b) => sizes.get(b)! - sizes.get(a)!);
  const load = new Array<number>(k).fill(0);
  const foldOf = new Map<string, number>();
  for (const g of order) {
    let best = 0;
    for (let f = 1; f < k; f++) if (load[f] < load[best]) best = f;
    foldOf.set(g, best);
    load[best] += sizes.get(g)!;
  }
  return groups.map((g) => foldOf.get(g)!);
}

/** Read a saved split manifest (`id,split` with that header) into id → split. */
export async function readSplitManifest(path: string): Promise<Map<string, Split>> {
  const text = await Deno.readTextFile(path);
  const records = parseCsv(text, path);
  if (records.length === 0 || records[0].fields.join(",") !== "id,split") {
    throw new LabelError(`expected header "id,split"`, { file: path, line: 1 });
  }
  const out = new Map<string, Split>();
  for (const r of records.slice(1)) {
    const origin = { file: path, line: r.line };
    if (r.fields.length !== 2) {
      throw new LabelError(`expected 2 fields, found ${r.fields.length}`, origin);
    }
    const [id, split] = r.fields;
    if (split !== "train" && split !== "val" && split !== "test") {
      throw new LabelError(`unknown split "${split}" (train, val or test)`, origin);
    }
    if (out.has(id)) throw new LabelError(`duplicate id "${id}"`, origin);
    out.set(id, split);
  }
  return out;
}

/** Write a split manifest (`id,split`, rows sorted by id) atomically. */
export async function writeSplitManifest(
  path: string,
  samples: readonly Pick<Sample, "id" | "split">[],
): Promise<void> {
  const rows = samples.map((s) => [s.id, s.split]).sort((a, b) => cmp(a[0], b[0]));
  await writeFileAtomic(path, formatCsv([["id", "split"], ...rows]));
}

/**
 * Give `samples` the splits of a saved manifest. The manifest must list exactly the samples'
 * ids: an id missing on either side is an error naming the manifest (the data changed, or the
 * manifest belongs to another copy of the dataset: regenerate it with
 * `deno task kit datasets --write-splits`).
 */
export function applySplitManifest(
  samples: Sample[],
  manifest: ReadonlyMap<string, Split>,
  file: string,
): void {
  const missing: string[] = [];
  const seen = new Set<string>();
  for (const s of samples) {
    const split = manifest.get(s.id);
    if (split === undefined) missing.push(s.id);
    else {
      s.split = split;
      seen.add(s.id);
    }
  }
  const extra = [...manifest.keys()].filter((id) => !seen.has(id));
  if (missing.length > 0 || extra.length > 0) {
    const parts: string[] = [];
    if (missing.length > 0) {
      parts.push(
        `${missing.length} sample id(s) not in it (e.g. ${missing.slice(0, 3).join(", ")})`,
      );
    }
    if (extra.length > 0) {
      parts.push(`${extra.length} id(s) not in the data (e.g. ${extra.slice(0, 3).join(", ")})`);
    }
    throw new LabelError(
      `saved split manifest does not match the data: ${parts.join("; ")}. ` +
        "Regenerate it with `deno task kit datasets --write-splits`, or load with splitsDir: null.",
      { file },
    );
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Give `samples` their kit-defined splits: from the saved manifest `<splitsDir>/<name>.csv` when
 * it exists and `usesDefaults` (the caller's split options are the defaults the manifest was
 * written with), else from `compute()` (one split per sample, in order). Returns where the splits
 * came from: the manifest path, or "computed".
 */
export async function assignKitSplits(
  name: string,
  samples: Sample[],
  compute: () => Split[],
  splitsDir: string | null | undefined,
  usesDefaults: boolean,
): Promise<string> {
  const dir = splitsDir === undefined ? defaultSplitsDir() : splitsDir;
  if (dir !== null && usesDefaults) {
    const file = join(dir, `${name}.csv`);
    let manifest: Map<string, Split> | null = null;
    try {
      manifest = await readSplitManifest(file);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (manifest !== null) {
      applySplitManifest(samples, manifest, file);
      return file;
    }
  }
  const splits = compute();
  samples.forEach((s, i) => (s.split = splits[i]));
  return "computed";
}
