/**
 * FER2013 (Goodfellow et al. 2013, "Challenges in Representation Learning", Kaggle ICML 2013
 * challenge), 7 classes, 48x48 gray, with its original labels. Two layouts:
 * - the Kaggle CSV `fer2013.csv` (`emotion,pixels,Usage`; pixels = 2,304 space-separated
 *   integers, row-major) or any file in that format (e.g. `fer2013-sample.csv`);
 * - the FER+ image folders (`ferplus/FER2013{Train,Valid,Test}/*.png`) with the original labels in
 *   `fer2013/fer2013-original-labels.csv` (`image,Usage,emotion,certain`).
 * Ids are FER+ image names (`fer0000123.png`) wherever they can be known, so predictions made on
 * either layout join.
 */
import { equalBytes } from "../bytes.ts";
import { basename, dirname, join } from "node:path";
import type { PixelSource, Sample, Split } from "../sample.ts";
import { BASIC7, LabelError, mapDatasetCode } from "../taxonomy.ts";
import { decodeImage, ImageError, type RawImage } from "../image.ts";
import {
  dropMissingFiles,
  isDir,
  isFile,
  parseCount,
  readText,
  splitFromName,
  textLines,
} from "./common.ts";
import {
  FERPLUS_FOLDERS,
  type FerplusVotes,
  parseFer2013New,
  readFerplusVotes,
  votesRecord,
} from "./ferplus.ts";
import { countExcluded, type LoaderResult, type LoadOptions } from "./types.ts";

/** One parsed row of a FER2013 CSV. */
export interface Fer2013Row {
  /** 0-based data row (header excluded). */
  row: number;
  line: number;
  code: string;
  split: Split;
  pixels: Uint8Array;
}

/**
 * Parse a FER2013 CSV (`emotion,pixels,Usage`, columns found by header name). Throws LabelError
 * naming file and line for a wrong field count, an unknown emotion code or Usage, or a pixel
 * list that is not 2,304 integers in 0..255.
 */
export function parseFer2013Csv(text: string, file: string): Fer2013Row[] {
  const lines = textLines(text);
  if (lines.length === 0) throw new LabelError("empty file", { file, line: 1 });
  const header = lines[0].text.replace(/^\uFEFF/, "").split(",").map((h) => unquote(h).trim());
  const col = (name: string): number => {
    const i = header.findIndex((h) => h.toLowerCase() === name.toLowerCase());
    if (i < 0) {
      throw new LabelError(`no "${name}" column (expected header emotion,pixels,Usage)`, {
        file,
        line: lines[0].line,
      });
    }
    return i;
  };
  const ie = col("emotion"), ip = col("pixels"), iu = col("Usage");
  const rows: Fer2013Row[] = [];
  for (const { line, text: t } of lines.slice(1)) {
    const f = t.split(",");
    if (f.length !== header.length) {
      throw new LabelError(`expected ${header.length} fields, found ${f.length}`, { file, line });
    }
    const code = unquote(f[ie]).trim();
    mapDatasetCode("fer2013", code, { file, line, field: "emotion" });
    const split = splitFromName(unquote(f[iu]));
    if (split === undefined) {
      throw new LabelError(`unknown Usage "${f[iu]}" (Training, PublicTest or PrivateTest)`, {
        file,
        line,
        field: "Usage",
      });
    }
    rows.push({
      row: rows.length,
      line,
      code,
      split,
      pixels: parsePixels(unquote(f[ip]), file, line),
    });
  }
  return rows;
}

/** Parse 2,304 space-separated 0..255 integers. */
function parsePixels(s: string, file: string, line: number): Uint8Array {
  const out = new Uint8Array(48 * 48);
  let n = 0, v = -1;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 32;
    if (c >= 48 && c <= 57) v = (v < 0 ? 0 : v * 10) + (c - 48);
    else if (c === 32 || c === 9) {
      if (v >= 0) {
        if (v > 255 || n >= out.length) {
          throw new LabelError(
            v > 255 ? `pixel value ${v} > 255` : "more than 2304 pixel values",
            { file, line, field: "pixels" },
          );
        }
        out[n++] = v;
        v = -1;
      }
    } else {
      throw new LabelError(`pixel list holds "${s[i]}" (expected integers)`, {
        file,
        line,
        field: "pixels",
      });
    }
  }
  if (n !== out.length) {
    throw new LabelError(`expected 2304 pixel values, found ${n}`, { file, line, field: "pixels" });
  }
  return out;
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/** The FER+ folder next to a FER2013 folder or file, when one holds the image folders. */
async function findFerplusDir(dir: string): Promise<string | null> {
  for (const d of [dir, join(dirname(dir), "ferplus")]) {
    if (await isDir(join(d, FERPLUS_FOLDERS.train))) return d;
    if (await isDir(join(d, FERPLUS_FOLDERS.test))) return d;
  }
  return null;
}

/** `fer2013new.csv` near a FER2013 CSV (same folder, or the sibling ferplus folder). */
async function findFer2013New(dir: string): Promise<string | null> {
  for (const f of [join(dir, "fer2013new.csv"), join(dirname(dir), "ferplus", "fer2013new.csv")]) {
    if (await isFile(f)) return f;
  }
  return null;
}

/**
 * Load a FER2013 CSV. Ids: when fer2013new.csv is found and has as many rows as the CSV, row i is
 * named by its row i (FER+ keeps FER2013's row order; the rows FER+ dropped get
 * `fer2013-row<i>`). A partial CSV (such as fer2013-sample.csv) is matched to FER+ image names
 * by pixel content, in row order (see matchRowsToFerplus), when the FER+ folders are found and
 * `matchFerplusNames` is not false; rows left unmatched get `<file stem>-row<i>`.
 */
export async function loadFer2013Csv(file: string, opts: LoadOptions = {}): Promise<LoaderResult> {
  const rows = parseFer2013Csv(await readText(file), file);
  const dir = dirname(file);
  const stem = basename(file).replace(/\.csv$/i, "");
  const ids: (string | null)[] = rows.map(() => null);
  const newCsv = await findFer2013New(dir);
  let named: FerplusVotes[] | null = null;
  if (newCsv !== null) named = parseFer2013New(await readText(newCsv), newCsv);
  if (named !== null && named.length === rows.length) {
    const byRow = await namesByRow(rows, named, await findFerplusDir(dir));
    byRow.forEach((name, i) => (ids[i] = name ?? `fer2013-row${i}`));
  } else if (named !== null && opts.matchFerplusNames !== false) {
    const ferplusDir = await findFerplusDir(dir);
    if (ferplusDir !== null) {
      const labels = await readOriginalLabels(dir).catch(() => null);
      const matched = await matchRowsToFerplus(rows, named, ferplusDir, labels);
      matched.forEach((m, i) => (ids[i] = m));
    }
  }
  const samples: Sample[] = rows.map((r, i) => {
    const source: PixelSource = {
      kind: "pixels",
      width: 48,
      height: 48,
      channels: 1,
      data: r.pixels,
    };
    return {
      id: ids[i] ?? `${stem}-row${r.row}`,
      source,
      label: mapDatasetCode("fer2013", r.code, { file, line: r.line })!,
      split: r.split,
    };
  });
  const seen = new Set<string>();
  for (const [i, s] of samples.entries()) {
    if (seen.has(s.id)) {
      throw new LabelError(`duplicate id "${s.id}"`, { file, line: rows[i].line });
    }
    seen.add(s.id);
  }
  return { samples, excluded: {}, unreadable: [], classes: [...BASIC7] };
}

/**
 * FER+ names of a full FER2013 CSV, row by row from fer2013new.csv. fer2013new.csv names four
 * images twice (two FER2013 rows holding the same face); such a name goes to the first of its
 * rows whose pixels equal the FER+ PNG (when the FER+ folders are at hand), else to its first row;
 * the other row gets null.
 */
async function namesByRow(
  rows: readonly Fer2013Row[],
  named: readonly FerplusVotes[],
  ferplusDir: string | null,
): Promise<(string | null)[]> {
  const rowsOf = new Map<string, number[]>();
  named.forEach((r, i) => {
    if (r.name !== "") rowsOf.set(r.name, [...(rowsOf.get(r.name) ?? []), i]);
  });
  const out: (string | null)[] = named.map((r) => (r.name === "" ? null : r.name));
  for (const [name, idx] of rowsOf) {
    if (idx.length < 2) continue;
    let owner = idx[0];
    if (ferplusDir !== null) {
      const r = named[idx[0]];
      try {
        const img = await decodeImage({
          kind: "file",
          path: join(ferplusDir, FERPLUS_FOLDERS[r.split], name),
        });
        owner = idx.find((i) => equalBytes(img.data, rows[i].pixels)) ?? owner;
      } catch (e) {
        if (!(e instanceof ImageError)) throw e;
      }
    }
    for (const i of idx) if (i !== owner) out[i] = null;
  }
  return out;
}

/**
 * Match the rows of a partial FER2013 CSV to FER+ image names by pixel content. Both lists are in
 * FER2013 row order, so each row is matched to the first later FER+ image (after the previous
 * match) with the same Usage, the same original label (when the original-labels file is at
 * hand) and identical pixels; the search gives up after 2,000 FER2013 rows. FER2013 holds exact
 * duplicates, so a row whose image occurs twice in that window may get the earlier copy's name:
 * pixels and label are then identical. Returns a name or null per row.
 */
export async function matchRowsToFerplus(
  rows: readonly Fer2013Row[],
  named: readonly FerplusVotes[],
  ferplusDir: string,
  originalLabels: ReadonlyMap<string, { code: string }> | null,
): Promise<(string | null)[]> {
  const decoded = new Map<string, RawImage | null>();
  const pixelsOf = async (r: FerplusVotes): Promise<RawImage | null> => {
    let img = decoded.get(r.name);
    if (img === undefined) {
      try {
        img = await decodeImage({
          kind: "file",
          path: join(ferplusDir, FERPLUS_FOLDERS[r.split], r.name),
        });
      } catch (e) {
        if (!(e instanceof ImageError)) throw e;
        img = null;
      }
      decoded.set(r.name, img);
    }
    return img;
  };
  const out: (string | null)[] = [];
  const used = new Set<string>();
  let from = 0;
  for (const row of rows) {
    let found: string | null = null;
    // First with the label filter, then without it (the 200 "uncertain" labels may differ).
    for (const useLabel of originalLabels === null ? [false] : [true, false]) {
      for (let k = from; found === null && k < named.length && k < from + 2000; k++) {
        const cand = named[k];
        if (cand.name === "" || cand.split !== row.split || used.has(cand.name)) continue;
        const orig = originalLabels?.get(cand.name);
        if (useLabel && orig !== undefined && orig.code !== row.code) continue;
        const img = await pixelsOf(cand);
        if (img !== null && img.channels === 1 && equalBytes(img.data, row.pixels)) {
          found = cand.name;
          used.add(found);
          from = k + 1;
        }
      }
      if (found !== null) break;
    }
    out.push(found);
  }
  return out;
}

/** One record of `fer2013-original-labels.csv`. */
interface OriginalLabel {
  code: string;
  split: Split;
  certain: boolean;
  line: number;
}

/** Read `<dir>/fer2013-original-labels.csv` (`image,Usage,emotion,certain`) into name → label. */
export async function readOriginalLabels(dir: string): Promise<Map<string, OriginalLabel>> {
  const file = join(dir, "fer2013-original-labels.csv");
  const lines = textLines(await readText(file));
  const header = lines[0]?.text.trim();
  if (header !== "image,Usage,emotion,certain") {
    throw new LabelError(`expected header "image,Usage,emotion,certain"`, { file, line: 1 });
  }
  const out = new Map<string, OriginalLabel>();
  for (const { line, text } of lines.slice(1)) {
    const f = text.split(",");
    if (f.length !== 4) {
      throw new LabelError(`expected 4 fields, found ${f.length}`, { file, line });
    }
    const [image, usage, code, certain] = f.map((x) => x.trim());
    const split = splitFromName(usage);
    if (split === undefined) {
      throw new LabelError(`unknown Usage "${usage}"`, { file, line, field: "Usage" });
    }
    mapDatasetCode("fer2013", code, { file, line, field: "emotion" });
    const c = parseCount(certain, file, line, "certain");
    if (c > 1) {
      throw new LabelError(`certain must be 0 or 1, found ${c}`, { file, line, field: "certain" });
    }
    if (out.has(image)) throw new LabelError(`duplicate image "${image}"`, { file, line });
    out.set(image, { code, split, certain: c === 1, line });
  }
  return out;
}

/**
 * Load FER2013 in the folder layout: original labels from `<dir>/fer2013-original-labels.csv`,
 * images from the FER+ folders (in `<dir>` or the sibling `ferplus/`). FER+ votes are attached
 * (`votes`) when the FER+ label files are at hand. `excludeUncertain` leaves out the 200 images
 * FER2013 holds twice with conflicting labels (reason "uncertain-label").
 */
export async function loadFer2013Folder(
  dir: string,
  opts: LoadOptions = {},
): Promise<LoaderResult> {
  const file = join(dir, "fer2013-original-labels.csv");
  const labels = await readOriginalLabels(dir);
  const ferplusDir = await findFerplusDir(dir);
  if (ferplusDir === null) {
    throw new LabelError(
      `no FER2013 images: FER2013Train/FER2013Valid/FER2013Test not found in ${dir} or ` +
        join(dirname(dir), "ferplus"),
      { file },
    );
  }
  const votes = new Map<string, number[]>();
  try {
    for (const r of (await readFerplusVotes(ferplusDir)).records) votes.set(r.name, r.votes);
  } catch (e) {
    if (!(e instanceof LabelError)) throw e;
  }
  const excluded: Record<string, number> = {};
  let samples: Sample[] = [];
  for (const [image, l] of labels) {
    if (opts.split !== undefined && l.split !== opts.split) continue;
    if (opts.excludeUncertain && !l.certain) {
      countExcluded(excluded, "uncertain-label");
      continue;
    }
    const v = votes.get(image);
    samples.push({
      id: image,
      source: { kind: "file", path: join(ferplusDir, FERPLUS_FOLDERS[l.split], image) },
      label: mapDatasetCode("fer2013", l.code, { file, line: l.line })!,
      split: l.split,
      ...(v ? { votes: votesRecord(v) } : {}),
    });
  }
  const unreadable: LoaderResult["unreadable"] = [];
  samples = await dropMissingFiles(samples, unreadable, opts.split);
  return { samples, excluded, unreadable, classes: [...BASIC7] };
}
