/**
 * FER-2013 as the Kaggle download lays it out (the "folders of JPEGs" version most people use,
 * and Tao 2023's): `train/<class>/*.jpg` and `test/<class>/*.jpg`, class folders `angry disgust
 * fear happy neutral sad surprise`, file names `Training_<n>.jpg` (train), `PublicTest_<n>.jpg`
 * and `PrivateTest_<n>.jpg` (test). The file name says the FER2013 Usage: Training = train,
 * PublicTest = val, PrivateTest = test by default; with `fer2013Split: "kaggle"` (applied by
 * loadDataset) the whole test folder is the test split, as Tao did. Ids: the file name without
 * extension (`PublicTest_123`).
 */
import { join } from "node:path";
import type { Sample, Split } from "../sample.ts";
import { BASIC7, type Emotion, LabelError } from "../taxonomy.ts";
import { isDir, isImageFile, listDirs, listFiles } from "./common.ts";
import type { LoaderResult, LoadOptions } from "./types.ts";

/** The Kaggle class folders and the kit's name for each. */
export const KAGGLE_CLASS_FOLDERS: Readonly<Record<string, Emotion>> = {
  angry: "angry",
  disgust: "disgust",
  fear: "fear",
  happy: "happy",
  neutral: "neutral",
  sad: "sad",
  surprise: "surprise",
};

/** The two top folders of the layout. */
export const KAGGLE_FOLDERS = ["train", "test"] as const;

const NAME = /^(Training|PublicTest|PrivateTest)_(\d+)\.(jpe?g|png)$/i;

/** FER2013 Usage in a file name → the kit's default split. */
const USAGE_SPLIT: Readonly<Record<string, Split>> = {
  training: "train",
  publictest: "val",
  privatetest: "test",
};

/**
 * True when `dir` holds `train/` and `test/` whose sub-folders are all Kaggle class folders and
 * whose first image is named `<Usage>_<n>.jpg` (so a generic class-per-folder tree is not taken
 * for this layout).
 */
export async function isKaggleFer2013(dir: string): Promise<boolean> {
  for (const top of KAGGLE_FOLDERS) {
    if (!(await isDir(join(dir, top)))) return false;
    const classes = await listDirs(join(dir, top));
    if (classes.length === 0) return false;
    if (!classes.every((c) => Object.hasOwn(KAGGLE_CLASS_FOLDERS, c.toLowerCase()))) return false;
  }
  const first = join(dir, "train", (await listDirs(join(dir, "train")))[0]);
  const names = [...(await listFiles(first))].filter(isImageFile).sort();
  return names.length > 0 && NAME.test(names[0]);
}

/**
 * Load the Kaggle folder layout. A class folder that is not one of the seven, a file name not of
 * the form `<Usage>_<n>.jpg`, a Training file under test/ (or a test file under train/) or an id
 * seen twice is a LabelError naming the file.
 */
export async function loadFer2013Kaggle(
  dir: string,
  _opts: LoadOptions = {},
): Promise<LoaderResult> {
  const samples: Sample[] = [];
  const seen = new Map<string, string>();
  for (const top of KAGGLE_FOLDERS) {
    const topDir = join(dir, top);
    if (!(await isDir(topDir))) {
      throw new LabelError(`no ${top}/ folder (expected train/<class>/ and test/<class>/)`, {
        file: topDir,
      });
    }
    for (const folder of await listDirs(topDir)) {
      const label = KAGGLE_CLASS_FOLDERS[folder.toLowerCase()];
      if (label === undefined) {
        throw new LabelError(
          `unknown class folder (expected ${Object.keys(KAGGLE_CLASS_FOLDERS).join(", ")})`,
          { file: join(topDir, folder) },
        );
      }
      const names = [...(await listFiles(join(topDir, folder)))].filter(isImageFile).sort();
      for (const name of names) {
        const file = join(topDir, folder, name);
        const m = NAME.exec(name);
        if (m === null) {
          throw new LabelError("file name is not Training_<n>, PublicTest_<n> or PrivateTest_<n>", {
            file,
          });
        }
        const split = USAGE_SPLIT[m[1].toLowerCase()];
        if ((top === "train") !== (split === "train")) {
          throw new LabelError(`a ${m[1]} image under ${top}/`, { file });
        }
        const id = name.slice(0, name.lastIndexOf("."));
        const other = seen.get(id);
        if (other !== undefined) throw new LabelError(`id "${id}" also in ${other}`, { file });
        seen.set(id, file);
        samples.push({ id, source: { kind: "file", path: file }, label, split });
      }
    }
  }
  return { samples, excluded: {}, unreadable: [], classes: [...BASIC7] };
}
