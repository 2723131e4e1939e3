/**
 * CK+ (Lucey et al. 2010, "The Extended Cohn-Kanade Dataset (CK+)", CVPR workshops), as the
 * 48x48 peak-frame crops `CK+48/<class>/S<subject>_<sequence>_<frame>.png` (981 images, 7 classes:
 * no neutral). No official split: the kit uses subject-disjoint folds (groupKFold), fold
 * `testFold` = test, the others = train, saved in `data/splits/ckplus.csv`.
 */
import { basename, join } from "node:path";
import type { Sample } from "../sample.ts";
import { DATASET_CODES, type Emotion, EMOTIONS, LabelError, mapDatasetCode } from "../taxonomy.ts";
import { isDir, isImageFile, listDirs, listFiles } from "./common.ts";
import { assignKitSplits, DEFAULT_SPLIT_SEED, groupKFold } from "./split.ts";
import type { LoaderResult, LoadOptions } from "./types.ts";

/** Default number of CK+ folds and the default test fold. */
export const CKPLUS_FOLDS = 10, CKPLUS_TEST_FOLD = 0;

/** The CK+48 image folder of a CK+ root (the root itself when it is named CK+48). */
export async function ckplusImageDir(dir: string): Promise<string> {
  if (await isDir(join(dir, "CK+48"))) return join(dir, "CK+48");
  return dir;
}

const NAME = /^(S\d+)_(\d+)_(\d+)\.png$/i;

/**
 * Load CK+48. Class folders are CK+'s own names (anger, contempt, disgust, fear, happy, sadness,
 * surprise); an unknown folder or a file name not of the form S<subject>_<seq>_<frame>.png is a
 * LabelError naming it. Ids: the file name without extension; group: the subject ("S005").
 */
export async function loadCkplus(dir: string, opts: LoadOptions = {}): Promise<LoaderResult> {
  const imageDir = await ckplusImageDir(dir);
  const samples: Sample[] = [];
  const seen = new Map<string, string>();
  const folders = await listDirs(imageDir);
  if (folders.length === 0) {
    throw new LabelError("no class folders (expected CK+48/<class>/*.png)", { file: imageDir });
  }
  for (const folder of folders) {
    const label = mapDatasetCode("ckplus", folder.toLowerCase(), { file: join(imageDir, folder) });
    const names = [...(await listFiles(join(imageDir, folder)))].filter(isImageFile).sort();
    for (const name of names) {
      const file = join(imageDir, folder, name);
      const m = NAME.exec(name);
      if (m === null) {
        throw new LabelError(`file name is not S<subject>_<sequence>_<frame>.png`, { file });
      }
      const id = basename(name, name.slice(name.lastIndexOf(".")));
      const other = seen.get(id);
      if (other !== undefined) throw new LabelError(`id "${id}" also in ${other}`, { file });
      seen.set(id, file);
      samples.push({
        id,
        source: { kind: "file", path: file },
        label: label!,
        split: "train",
        group: m[1].toUpperCase(),
      });
    }
  }
  samples.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const folds = opts.folds ?? CKPLUS_FOLDS;
  const testFold = opts.testFold ?? CKPLUS_TEST_FOLD;
  const seed = opts.seed ?? DEFAULT_SPLIT_SEED;
  if (!Number.isInteger(testFold) || testFold < 0 || testFold >= folds) {
    throw new RangeError(`testFold must be an integer in 0..${folds - 1}, got ${testFold}`);
  }
  const defaults = folds === CKPLUS_FOLDS && testFold === CKPLUS_TEST_FOLD &&
    seed === DEFAULT_SPLIT_SEED;
  await assignKitSplits(
    "ckplus",
    samples,
    () => {
      const fold = groupKFold(samples.map((s) => s.group!), folds, seed);
      return fold.map((f) => (f === testFold ? "test" : "train"));
    },
    opts.splitsDir,
    defaults,
  );
  const classes: Emotion[] = EMOTIONS.filter((e) =>
    Object.values(DATASET_CODES.ckplus).includes(e)
  );
  return { samples, excluded: {}, unreadable: [], classes };
}
