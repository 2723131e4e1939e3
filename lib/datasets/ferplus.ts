/**
 * FER+ (Barsoum et al. 2016, https://github.com/microsoft/FERPlus): the FER2013 images re-labelled
 * by 10 crowd votes each. Reads the per-split folders `FER2013Train/`, `FER2013Valid/`,
 * `FER2013Test/` (PNGs + header-less `label.csv`: `name,"(0, 0, 48, 48)",<10 votes>`), or, when a
 * folder has no `label.csv`, the votes of `fer2013new.csv` (`Usage,Image name,<10 votes>`).
 */
import { join } from "node:path";
import { parseCsv } from "../csv.ts";
import type { Sample, Split } from "../sample.ts";
import {
  DATASET_CODES,
  type Emotion,
  EMOTIONS,
  FERPLUS_VOTE_COLUMNS,
  LabelError,
} from "../taxonomy.ts";
import { dropMissingFiles, isFile, parseCount, readText, splitFromName } from "./common.ts";
import {
  countExcluded,
  type FerplusLabelRule,
  type LoaderResult,
  type LoadOptions,
} from "./types.ts";

/** FER+ split folders and the FER2013 split each holds. */
export const FERPLUS_FOLDERS: Readonly<Record<Split, string>> = {
  train: "FER2013Train",
  val: "FER2013Valid",
  test: "FER2013Test",
};

/** One image's votes, in FERPLUS_VOTE_COLUMNS order (10 counts). */
export interface FerplusVotes {
  name: string;
  /** FER2013 split (from the folder or the Usage column). */
  split: Split;
  votes: number[];
  /** Where the record was read: file and 1-based line. */
  file: string;
  line: number;
}

/** Index of the unknown and not-a-face columns in FERPLUS_VOTE_COLUMNS. */
const UNKNOWN = 8, NOT_FACE = 9;

/** Each vote column's canonical emotion (null for unknown / NF). */
const COLUMN_EMOTION: readonly (Emotion | null)[] = FERPLUS_VOTE_COLUMNS.map((c) =>
  DATASET_CODES.ferplus[c]
);

/**
 * Parse a split folder's `label.csv` (no header; `name,"(x, y, w, h)",<10 votes>`).
 * Throws LabelError naming file and line for a wrong field count or a vote that is not a count.
 */
export function parseFerplusLabelCsv(text: string, file: string, split: Split): FerplusVotes[] {
  return parseCsv(text, file).map((r) => {
    if (r.fields.length !== 12) {
      throw new LabelError(
        `expected 12 fields (name, face box, 10 votes), found ${r.fields.length}`,
        { file, line: r.line },
      );
    }
    if (!/^\(\s*\d+\s*,\s*\d+\s*,\s*\d+\s*,\s*\d+\s*\)$/.test(r.fields[1].trim())) {
      throw new LabelError(`face box "${r.fields[1]}" is not "(x, y, w, h)"`, {
        file,
        line: r.line,
        field: "2",
      });
    }
    const votes = r.fields.slice(2).map((v, i) =>
      parseCount(v, file, r.line, FERPLUS_VOTE_COLUMNS[i])
    );
    return { name: r.fields[0].trim(), split, votes, file, line: r.line };
  });
}

/**
 * Parse `fer2013new.csv` (header `Usage,Image name,<10 vote columns>`, FER2013 row order).
 * Rows without an image name (images FER+ dropped) are returned with name "".
 */
export function parseFer2013New(text: string, file: string): FerplusVotes[] {
  const records = parseCsv(text, file);
  const want = ["Usage", "Image name", ...FERPLUS_VOTE_COLUMNS];
  const header = records[0]?.fields.map((h) => h.trim()) ?? [];
  if (header.join(",") !== want.join(",")) {
    throw new LabelError(`expected header "${want.join(",")}"`, { file, line: 1 });
  }
  return records.slice(1).map((r) => {
    if (r.fields.length !== 12) {
      throw new LabelError(`expected 12 fields, found ${r.fields.length}`, { file, line: r.line });
    }
    const split = splitFromName(r.fields[0]);
    if (split === undefined) {
      throw new LabelError(`unknown Usage "${r.fields[0]}"`, {
        file,
        line: r.line,
        field: "Usage",
      });
    }
    const votes = r.fields.slice(2).map((v, i) =>
      parseCount(v, file, r.line, FERPLUS_VOTE_COLUMNS[i])
    );
    return { name: r.fields[1].trim(), split, votes, file, line: r.line };
  });
}

/** Outcome of a label rule: a label, or the reason the image is excluded. */
export type VoteOutcome = { label: Emotion } | { excluded: string };

/**
 * Apply a FER+ label rule to 10 votes (FERPLUS_VOTE_COLUMNS order); pure. See FerplusLabelRule
 * for the rules. Exclusion reasons: "no-majority", "tie", "below-threshold", "winner-unknown",
 * "winner-not-face", "no-votes".
 */
export function ferplusLabel(
  votes: readonly number[],
  rule: FerplusLabelRule = "majority",
): VoteOutcome {
  if (votes.length !== 10) throw new RangeError(`expected 10 votes, got ${votes.length}`);
  let winner: number;
  if (rule === "majority" || rule === "plurality") {
    // Valid votes: a class with a single vote is discarded (FERPlus reference outlier removal).
    const valid = votes.map((v) => (v <= 1 ? 0 : v));
    const total = valid.reduce((a, b) => a + b, 0);
    if (total === 0) return { excluded: "no-votes" };
    if (rule === "majority") {
      const best = argmaxFirst(valid);
      if (2 * valid[best] <= total) return { excluded: "no-majority" };
      winner = best;
    } else {
      const top = Math.max(...valid);
      const tied = valid.flatMap((v, i) => (v === top ? [i] : []));
      const emotions = tied.filter((i) => COLUMN_EMOTION[i] !== null);
      if (emotions.length === 0) winner = tied[0];
      else {
        winner = emotions.reduce((a, b) =>
          EMOTIONS.indexOf(COLUMN_EMOTION[a]!) <= EMOTIONS.indexOf(COLUMN_EMOTION[b]!) ? a : b
        );
      }
    }
  } else {
    const k = rule.atLeast;
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`atLeast must be >= 1, got ${k}`);
    const top = Math.max(...votes);
    if (top < k) return { excluded: "below-threshold" };
    const tied = votes.flatMap((v, i) => (v === top ? [i] : []));
    if (tied.length > 1) return { excluded: "tie" };
    winner = tied[0];
  }
  if (winner === UNKNOWN) return { excluded: "winner-unknown" };
  if (winner === NOT_FACE) return { excluded: "winner-not-face" };
  return { label: COLUMN_EMOTION[winner]! };
}

/** Votes as the Sample `votes` record: all eight canonical classes plus `other` (unknown + NF). */
export function votesRecord(votes: readonly number[]): Partial<Record<Emotion | "other", number>> {
  const out: Partial<Record<Emotion | "other", number>> = {};
  for (const e of EMOTIONS) out[e] = 0;
  out.other = 0;
  votes.forEach((v, i) => {
    const e = COLUMN_EMOTION[i];
    if (e === null) out.other! += v;
    else out[e]! += v;
  });
  return out;
}

/**
 * Read the votes of a FER+ folder: each split folder's `label.csv`, or, for folders without
 * one, the rows of `fer2013new.csv` for that split (named rows only). `dropped` counts, per
 * split, the fer2013new.csv rows without an image name.
 */
export async function readFerplusVotes(
  dir: string,
): Promise<{ records: FerplusVotes[]; dropped: Partial<Record<Split, number>> }> {
  const records: FerplusVotes[] = [];
  const need: Split[] = [];
  for (const split of ["train", "val", "test"] as Split[]) {
    const file = join(dir, FERPLUS_FOLDERS[split], "label.csv");
    if (await isFile(file)) {
      records.push(...parseFerplusLabelCsv(await readText(file), file, split));
    } else need.push(split);
  }
  const dropped: Partial<Record<Split, number>> = {};
  if (need.length > 0) {
    const file = join(dir, "fer2013new.csv");
    if (!(await isFile(file))) {
      if (need.length === 3) {
        throw new LabelError(
          "no FER+ votes: neither FER2013{Train,Valid,Test}/label.csv nor fer2013new.csv found",
          { file: dir },
        );
      }
      return { records, dropped };
    }
    for (const r of parseFer2013New(await readText(file), file)) {
      if (!need.includes(r.split)) continue;
      if (r.name === "") dropped[r.split] = (dropped[r.split] ?? 0) + 1;
      else records.push(r);
    }
  }
  return { records, dropped };
}

/** Load FER+ from its folder (`<root>/ferplus`); images are `<split folder>/<name>`. */
export async function loadFerplus(dir: string, opts: LoadOptions = {}): Promise<LoaderResult> {
  const rule = opts.ferplusLabel ?? "majority";
  const { records, dropped } = await readFerplusVotes(dir);
  const excluded: Record<string, number> = {};
  for (const [split, n] of Object.entries(dropped)) {
    if (opts.split === undefined || split === opts.split) {
      countExcluded(excluded, "dropped-by-ferplus", n);
    }
  }
  const seen = new Set<string>();
  let samples: Sample[] = [];
  for (const r of records) {
    if (seen.has(r.name)) {
      // fer2013new.csv names four images twice: the first record is the one label.csv has.
      if (r.file.endsWith("fer2013new.csv")) {
        if (opts.split === undefined || r.split === opts.split) {
          countExcluded(excluded, "duplicate-name");
        }
        continue;
      }
      throw new LabelError(`duplicate image name "${r.name}"`, { file: r.file, line: r.line });
    }
    seen.add(r.name);
    if (opts.split !== undefined && r.split !== opts.split) continue;
    const outcome = ferplusLabel(r.votes, rule);
    if ("excluded" in outcome) {
      countExcluded(excluded, outcome.excluded);
      continue;
    }
    samples.push({
      id: r.name,
      source: { kind: "file", path: join(dir, FERPLUS_FOLDERS[r.split], r.name) },
      label: outcome.label,
      split: r.split,
      votes: votesRecord(r.votes),
    });
  }
  const unreadable: LoaderResult["unreadable"] = [];
  samples = await dropMissingFiles(samples, unreadable, opts.split);
  return { samples, excluded, unreadable, classes: [...EMOTIONS] };
}

function argmaxFirst(a: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}
