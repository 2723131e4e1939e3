/**
 * AffectNet (Mollahosseini, Hasani & Mahoor 2017, "AffectNet: A Database for Facial Expression,
 * Valence, and Arousal Computing in the Wild", IEEE TAC; http://mohammadmahoor.com/affectnet/),
 * manually annotated part: `Manually_Annotated_file_lists/training.csv` and `validation.csv` with
 * columns `subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,
 * valence,arousal`; images under `Manually_Annotated_Images/<subDirectory_filePath>`.
 * Expression codes 0..7 are emotions (7 contempt); 8 none, 9 uncertain, 10 no-face are excluded
 * and counted. AffectNet's test set is unpublished, so its validation set is the de facto test
 * set: the kit calls training.csv "train" and validation.csv "test".
 */
import { join } from "node:path";
import { parseCsv } from "../csv.ts";
import type { Sample, Split } from "../sample.ts";
import { EMOTIONS, LabelError, mapDatasetCode } from "../taxonomy.ts";
import { dropMissingFiles, isDir, isFile, joinRel, parseNumber, readText } from "./common.ts";
import { countExcluded, type LoaderResult, type LoadOptions } from "./types.ts";

/** Folder of the label lists inside an AffectNet folder. */
export const AFFECTNET_LISTS = "Manually_Annotated_file_lists";

/** Exclusion reason for each non-emotion expression code. */
const NON_EMOTION: Readonly<Record<string, string>> = {
  "8": "none",
  "9": "uncertain",
  "10": "no-face",
};

const COLUMNS = [
  "subDirectory_filePath",
  "face_x",
  "face_y",
  "face_width",
  "face_height",
  "facial_landmarks",
  "expression",
];

/**
 * Parse one AffectNet list (training.csv / validation.csv). Non-emotion codes are counted in
 * `excluded` under "none", "uncertain", "no-face". Ids: subDirectory_filePath. LabelError naming
 * file and line for a missing column, a wrong field count, a bad number or an unknown code.
 */
export function parseAffectnetList(
  text: string,
  file: string,
  imageDir: string,
  split: Split,
  excluded: Record<string, number>,
): Sample[] {
  const records = parseCsv(text, file);
  if (records.length === 0) throw new LabelError("empty file", { file, line: 1 });
  const header = records[0].fields.map((h) => h.trim());
  const col: Record<string, number> = {};
  for (const c of COLUMNS) {
    col[c] = header.indexOf(c);
    if (col[c] < 0) throw new LabelError(`no "${c}" column`, { file, line: records[0].line });
  }
  const out: Sample[] = [];
  for (const r of records.slice(1)) {
    const f = r.fields;
    if (f.length !== header.length) {
      throw new LabelError(`expected ${header.length} fields, found ${f.length}`, {
        file,
        line: r.line,
      });
    }
    const code = f[col.expression].trim();
    const label = mapDatasetCode("affectnet", code, { file, line: r.line, field: "expression" });
    if (label === null) {
      countExcluded(excluded, NON_EMOTION[code] ?? `code-${code}`);
      continue;
    }
    const [x, y, width, height] = ["face_x", "face_y", "face_width", "face_height"].map((c) =>
      parseNumber(f[col[c]], file, r.line, c)
    );
    if (width <= 0 || height <= 0) {
      throw new LabelError(`empty face box (${width}x${height})`, { file, line: r.line });
    }
    const rel = f[col.subDirectory_filePath].trim();
    out.push({
      id: rel,
      source: { kind: "file", path: joinRel(imageDir, rel) },
      box: { x, y, width, height },
      label,
      split,
    });
  }
  return out;
}

/** The image folder of an AffectNet root (the publishers' archives unpack it in two ways). */
async function affectnetImageDir(dir: string): Promise<string> {
  for (
    const d of [
      "Manually_Annotated_Images",
      join("Manually_Annotated", "Manually_Annotated_Images"),
    ]
  ) {
    if (await isDir(join(dir, d))) return join(dir, d);
  }
  return join(dir, "Manually_Annotated_Images");
}

/** Load AffectNet's manually annotated lists (training → train, validation → test). */
export async function loadAffectnet(dir: string, opts: LoadOptions = {}): Promise<LoaderResult> {
  const imageDir = await affectnetImageDir(dir);
  const excluded: Record<string, number> = {};
  const all: Sample[] = [];
  const lists: [string, Split][] = [["training.csv", "train"], ["validation.csv", "test"]];
  let found = 0;
  for (const [name, split] of lists) {
    const file = join(dir, AFFECTNET_LISTS, name);
    if (!(await isFile(file))) continue;
    found++;
    if (opts.split !== undefined && split !== opts.split) continue;
    all.push(...parseAffectnetList(await readText(file), file, imageDir, split, excluded));
  }
  if (found === 0) {
    throw new LabelError("no training.csv or validation.csv", { file: join(dir, AFFECTNET_LISTS) });
  }
  // An image listed twice keeps its first record; the others are counted as "duplicate".
  const seen = new Set<string>();
  const unique = all.filter((s) => {
    if (seen.has(s.id)) {
      countExcluded(excluded, "duplicate");
      return false;
    }
    seen.add(s.id);
    return true;
  });
  const unreadable: LoaderResult["unreadable"] = [];
  const samples = await dropMissingFiles(unique, unreadable, opts.split);
  return { samples, excluded, unreadable, classes: [...EMOTIONS] };
}
