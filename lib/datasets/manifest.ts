/**
 * Any dataset as a manifest CSV: `path,label[,split]` per line, an optional header line
 * `path,label[,split]`, paths relative to the manifest's folder (or absolute), labels through
 * normalizeLabel (synonyms, any case), splits train/val/test (or training, valid, validation,
 * testing); a missing split means "test". Ids: the paths as written. Two rows naming one image
 * (`img/x.png` and `./img/x.png`) are an error naming both lines.
 */
import { dirname, isAbsolute, normalize } from "node:path";
import { parseCsv } from "../csv.ts";
import type { Sample, Split } from "../sample.ts";
import { type Emotion, EMOTIONS, LabelError, normalizeLabel } from "../taxonomy.ts";
import { dropMissingFiles, joinRel, readText, splitFromName } from "./common.ts";
import type { LoaderResult, LoadOptions } from "./types.ts";

/**
 * Parse manifest text into samples (paths resolved against `baseDir`). LabelError naming file and
 * line for a wrong field count, an empty path, an unknown label or split, a duplicate path.
 */
export function parseManifest(text: string, file: string, baseDir: string): Sample[] {
  const records = parseCsv(text, file);
  const first = records[0]?.fields.map((f) => f.trim().toLowerCase());
  const hasHeader = first !== undefined && first[0] === "path" && first[1] === "label";
  const out: Sample[] = [];
  const seen = new Map<string, { line: number; written: string }>();
  for (const r of records.slice(hasHeader ? 1 : 0)) {
    const origin = { file, line: r.line };
    if (r.fields.length !== 2 && r.fields.length !== 3) {
      throw new LabelError(
        `expected 2 or 3 fields (path,label[,split]), found ${r.fields.length}`,
        origin,
      );
    }
    const path = r.fields[0].trim();
    if (path === "") throw new LabelError("empty path", { ...origin, field: "path" });
    const resolved = isAbsolute(path) ? normalize(path) : joinRel(baseDir, path);
    const before = seen.get(resolved);
    if (before !== undefined) {
      throw new LabelError(
        before.written === path
          ? `duplicate path "${path}" (also line ${before.line})`
          : `"${path}" is the same image as "${before.written}" of line ${before.line}`,
        origin,
      );
    }
    seen.set(resolved, { line: r.line, written: path });
    const label = normalizeLabel(r.fields[1], { ...origin, field: "label" });
    let split: Split = "test";
    if (r.fields.length === 3 && r.fields[2].trim() !== "") {
      const s = splitFromName(r.fields[2]);
      if (s === undefined) {
        throw new LabelError(`unknown split "${r.fields[2]}" (train, val or test)`, {
          ...origin,
          field: "split",
        });
      }
      split = s;
    }
    out.push({
      id: path,
      source: { kind: "file", path: resolved },
      label,
      split,
    });
  }
  return out;
}

/** Load a manifest CSV; images that are not there are listed in `unreadable`. */
export async function loadManifest(file: string, opts: LoadOptions = {}): Promise<LoaderResult> {
  const all = parseManifest(await readText(file), file, dirname(file));
  if (all.length === 0) throw new LabelError("manifest lists no images", { file });
  const present = new Set<Emotion>(all.map((s) => s.label));
  const unreadable: LoaderResult["unreadable"] = [];
  const samples = await dropMissingFiles(all, unreadable, opts.split);
  return { samples, excluded: {}, unreadable, classes: EMOTIONS.filter((e) => present.has(e)) };
}
