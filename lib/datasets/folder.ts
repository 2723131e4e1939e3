/**
 * Any dataset as a class-per-folder tree: `<root>/<label>/**\/<image>`, or with a split level on
 * top, `<root>/<split>/<label>/**\/<image>` (split folders: train/training, val/valid/validation,
 * test/testing). Labels are folder names, mapped through normalizeLabel (synonyms, any case).
 * Without split folders every image is in "test" (a folder brought to be evaluated).
 */
import { join, relative, sep } from "node:path";
import type { Sample, Split } from "../sample.ts";
import { type Emotion, EMOTIONS, LabelError, normalizeLabel } from "../taxonomy.ts";
import { isImageFile, listDirs, splitFromName } from "./common.ts";
import type { LoaderResult, LoadOptions } from "./types.ts";

/** Image files under `dir`, recursively, as paths relative to `root` with forward slashes. */
async function imagesUnder(dir: string, root: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.name.startsWith(".")) continue;
    const path = join(dir, e.name);
    if (e.isDirectory) out.push(...(await imagesUnder(path, root)));
    else if (isImageFile(e.name)) out.push(relative(root, path).split(sep).join("/"));
  }
  return out.sort();
}

/** True when every sub-folder of `dir` is a split name (and there is at least one). */
export async function hasSplitFolders(dir: string): Promise<boolean> {
  const dirs = await listDirs(dir);
  return dirs.length > 0 && dirs.every((d) => splitFromName(d) !== undefined);
}

/**
 * Load a class-per-folder tree. A folder name that is no emotion is a LabelError naming the
 * folder. Ids: image paths relative to the root (`happy/img1.png`, `test/happy/img1.png`).
 */
export async function loadFolderTree(root: string, _opts: LoadOptions = {}): Promise<LoaderResult> {
  const levels: { dir: string; split: Split }[] = [];
  if (await hasSplitFolders(root)) {
    for (const d of await listDirs(root)) {
      levels.push({ dir: join(root, d), split: splitFromName(d)! });
    }
  } else levels.push({ dir: root, split: "test" });
  const samples: Sample[] = [];
  const present = new Set<Emotion>();
  for (const { dir, split } of levels) {
    const classDirs = await listDirs(dir);
    if (classDirs.length === 0) {
      throw new LabelError("no class folders (expected <label>/<image> under it)", { file: dir });
    }
    for (const c of classDirs) {
      const label = normalizeLabel(c, { file: join(dir, c), field: "folder name" });
      present.add(label);
      for (const rel of await imagesUnder(join(dir, c), root)) {
        samples.push({
          id: rel,
          source: { kind: "file", path: join(root, ...rel.split("/")) },
          label,
          split,
        });
      }
    }
  }
  if (samples.length === 0) throw new LabelError("no images found", { file: root });
  return {
    samples,
    excluded: {},
    unreadable: [],
    classes: EMOTIONS.filter((e) => present.has(e)),
  };
}
