/**
 * The kit's one label taxonomy, and the mapping of every dataset's own codes and names onto it.
 *
 * Canonical order (index = class id everywhere in the kit):
 * angry, disgust, fear, happy, sad, surprise, neutral, contempt.
 * The first seven are FER2013's classes in FER2013's own order; contempt is appended (CK+,
 * FER+, AffectNet have it).
 */

/** Canonical emotion names, in the kit's class order. */
export const EMOTIONS = [
  "angry",
  "disgust",
  "fear",
  "happy",
  "sad",
  "surprise",
  "neutral",
  "contempt",
] as const;

/** One canonical emotion name. */
export type Emotion = typeof EMOTIONS[number];

/** The seven basic classes (FER2013's), without contempt. */
export const BASIC7: readonly Emotion[] = EMOTIONS.slice(0, 7);

/** Synonyms, lower case, for each canonical name (matched case-insensitively). */
export const SYNONYMS: Readonly<Record<Emotion, readonly string[]>> = {
  angry: ["angry", "anger", "angered", "mad"],
  disgust: ["disgust", "disgusted", "disgusting"],
  fear: ["fear", "fearful", "afraid", "scared"],
  happy: ["happy", "happiness", "happily", "joy", "joyful"],
  sad: ["sad", "sadness"],
  surprise: ["surprise", "surprised"],
  neutral: ["neutral", "neutrality", "calm"],
  contempt: ["contempt", "contemptuous"],
};

const synonymIndex: ReadonlyMap<string, Emotion> = new Map(
  EMOTIONS.flatMap((e) => SYNONYMS[e].map((s) => [s, e] as [string, Emotion])),
);

/** FER2013 `emotion` codes 0..6; ExpW's `label.lst` last column uses the same codes. */
const FER2013_CODES: Readonly<Record<string, Emotion>> = {
  "0": "angry",
  "1": "disgust",
  "2": "fear",
  "3": "happy",
  "4": "sad",
  "5": "surprise",
  "6": "neutral",
};

/**
 * Dataset code tables: the publisher's own integer codes or names, mapped onto the taxonomy.
 * `null` marks a code that is not an emotion (FER+ unknown / not-a-face, AffectNet none,
 * uncertain, no-face): loaders exclude those samples and count them.
 */
export const DATASET_CODES: Readonly<Record<string, Readonly<Record<string, Emotion | null>>>> = {
  /** FER2013 `emotion` column. */
  fer2013: FER2013_CODES,
  /** ExpW `label.lst` last column: the FER2013 codes. */
  expw: FER2013_CODES,
  /** FER+ vote columns, in `fer2013new.csv` / `label.csv` order. */
  ferplus: {
    "neutral": "neutral",
    "happiness": "happy",
    "surprise": "surprise",
    "sadness": "sad",
    "anger": "angry",
    "disgust": "disgust",
    "fear": "fear",
    "contempt": "contempt",
    "unknown": null,
    "NF": null,
  },
  /** RAF-DB basic `list_patition_label.txt`. */
  rafdb: {
    "1": "surprise",
    "2": "fear",
    "3": "disgust",
    "4": "happy",
    "5": "sad",
    "6": "angry",
    "7": "neutral",
  },
  /** AffectNet `expression` column. */
  affectnet: {
    "0": "neutral",
    "1": "happy",
    "2": "sad",
    "3": "surprise",
    "4": "fear",
    "5": "disgust",
    "6": "angry",
    "7": "contempt",
    "8": null,
    "9": null,
    "10": null,
  },
  /** CK+48 folder names. */
  ckplus: {
    "anger": "angry",
    "contempt": "contempt",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happy",
    "sadness": "sad",
    "surprise": "surprise",
  },
};

/** FER+ vote column order, as published (10 columns). */
export const FERPLUS_VOTE_COLUMNS = [
  "neutral",
  "happiness",
  "surprise",
  "sadness",
  "anger",
  "disgust",
  "fear",
  "contempt",
  "unknown",
  "NF",
] as const;

/** Where a label came from, for error messages: file and 1-based line (or field). */
export interface LabelOrigin {
  file: string;
  line?: number;
  field?: string;
}

/** An unknown or malformed label or record; the message names the file and line. */
export class LabelError extends Error {
  constructor(message: string, readonly origin: LabelOrigin) {
    super(`${originText(origin)}: ${message}`);
    this.name = "LabelError";
  }
}

/** "file:line (field)" text for an origin. */
export function originText(origin: LabelOrigin): string {
  let s = origin.file;
  if (origin.line !== undefined) s += `:${origin.line}`;
  if (origin.field !== undefined) s += ` (field ${origin.field})`;
  return s;
}

/** True when `name` is a canonical emotion name. */
export function isEmotion(name: string): name is Emotion {
  return (EMOTIONS as readonly string[]).includes(name);
}

/** Canonical class id (index into EMOTIONS) of an emotion. */
export function emotionIndex(e: Emotion): number {
  return EMOTIONS.indexOf(e);
}

/**
 * Map a free-text label (any case, any synonym) onto the taxonomy.
 * Throws LabelError naming `origin` when the label is unknown.
 */
export function normalizeLabel(raw: string, origin: LabelOrigin): Emotion {
  const e = synonymIndex.get(raw.trim().toLowerCase());
  if (e === undefined) {
    throw new LabelError(
      `unknown label "${raw}" (expected one of ${EMOTIONS.join(", ")} or a synonym)`,
      origin,
    );
  }
  return e;
}

/**
 * Map a dataset's own code (e.g. FER2013 "3", RAF-DB "4") onto the taxonomy.
 * Returns null for codes that mean "not an emotion" (see DATASET_CODES).
 * Throws LabelError naming `origin` for a code the dataset does not define.
 */
export function mapDatasetCode(
  dataset: keyof typeof DATASET_CODES,
  code: string,
  origin: LabelOrigin,
): Emotion | null {
  const table = DATASET_CODES[dataset];
  if (table === undefined) throw new Error(`no code table for dataset "${dataset}"`);
  const key = code.trim();
  if (!Object.hasOwn(table, key)) {
    throw new LabelError(
      `unknown ${dataset} label code "${code}" (expected one of ${Object.keys(table).join(", ")})`,
      origin,
    );
  }
  return table[key];
}
