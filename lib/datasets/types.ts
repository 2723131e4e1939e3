/** Types shared by every dataset loader: options in, loaded dataset out. */
import type { Emotion } from "../taxonomy.ts";
import type { Sample, Split } from "../sample.ts";
import type { UnreadableFile } from "../image.ts";

/** The layouts the kit reads. */
export type DatasetFormat =
  | "fer2013-csv"
  | "fer2013-folder"
  | "fer2013-kaggle"
  | "ferplus"
  | "ckplus"
  | "expw"
  | "rafdb"
  | "affectnet"
  | "folder"
  | "manifest";

/**
 * How a FER+ image's label is drawn from its 10 crowd votes (see docs/datasets.md):
 * - "majority": the FER+ authors' rule. Classes with a single vote are discarded as noise
 *   (as Microsoft's FERPlus reference code does); the winner must hold strictly more than half of
 *   the remaining (valid) votes. 5 of 10 is not a majority; no tie is possible.
 * - "plurality": the class with the most valid votes (single votes discarded, as above); a tie is
 *   broken in favour of an emotion over unknown / not-a-face, then by the kit's class order
 *   (angry, disgust, fear, happy, sad, surprise, neutral, contempt).
 * - `{ atLeast: k }`: the class with the most raw votes, when it has at least k votes and no
 *   other class has as many (a tie at the top excludes the image).
 */
export type FerplusLabelRule = "majority" | "plurality" | { atLeast: number };

/** How FER2013's three Usages become splits (see LoadOptions.fer2013Split). */
export type Fer2013Split = "default" | "kaggle";

/** Every Fer2013Split value. */
export const FER2013_SPLITS: readonly Fer2013Split[] = ["default", "kaggle"];

/** Options every loader accepts (each uses the ones that concern it). */
export interface LoadOptions {
  /** Data root for registered names (default: lib/config.ts dataRoot(), i.e. FER_DATA). */
  dataRoot?: string;
  /** Keep only this split. */
  split?: Split;
  /** FER+ label rule (default "majority"). */
  ferplusLabel?: FerplusLabelRule;
  /**
   * FER2013 (any layout): "default" = Training / PublicTest / PrivateTest as train / val / test;
   * "kaggle" = the Kaggle download's split, test = the whole test folder (PublicTest and
   * PrivateTest), no val (Tao 2023's setup).
   */
  fer2013Split?: Fer2013Split;
  /** FER2013 folder layout: exclude the 200 images whose original label is uncertain. */
  excludeUncertain?: boolean;
  /** Seed for the kit's own splits (ExpW 80/20, CK+ folds); default 2024. */
  seed?: number;
  /** CK+: number of subject-disjoint folds (default 10). */
  folds?: number;
  /** CK+: the fold used as test split (default 0); the other folds are train. */
  testFold?: number;
  /** ExpW: fraction of each class put in the test split (default 0.2). */
  testFraction?: number;
  /**
   * Folder of saved split manifests (`<format>.csv`, `id,split`); default `data/splits` in the
   * project. `null`: never use saved splits, always compute them. Saved splits are only used when
   * seed, folds, testFold and testFraction are left at their defaults.
   */
  splitsDir?: string | null;
  /** Decode every image and move unreadable ones from `samples` to `unreadable`. */
  checkImages?: boolean;
  /** FER2013 CSV: match rows to FER+ image names by pixel content when the CSV is partial. */
  matchFerplusNames?: boolean;
}

/** A dataset as every part of the kit sees it. */
export interface LoadedDataset {
  /** Registered name (fer2013, ferplus, ...) or the folder / file base name. */
  name: string;
  format: DatasetFormat;
  /** Folder or file the dataset was read from (absolute). */
  root: string;
  samples: Sample[];
  /** Records left out on purpose: reason → count (e.g. FER+ "no-majority"). */
  excluded: Record<string, number>;
  /** Images listed by the labels but missing or (with checkImages) undecodable. */
  unreadable: UnreadableFile[];
  /** The classes this dataset defines, in the kit's order. */
  classes: Emotion[];
  /** datasetHash(samples): identity of the loaded samples (see lib/datasets/hash.ts). */
  hash: string;
}

/** What a format loader returns; loadDataset adds name, format, root and hash. */
export interface LoaderResult {
  samples: Sample[];
  excluded: Record<string, number>;
  unreadable: UnreadableFile[];
  classes: Emotion[];
}

/** Add one to `counts[reason]`. */
export function countExcluded(counts: Record<string, number>, reason: string, n = 1): void {
  counts[reason] = (counts[reason] ?? 0) + n;
}
