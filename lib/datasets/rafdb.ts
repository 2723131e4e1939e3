/**
 * RAF-DB basic (Li, Deng & Du 2017, "Reliable Crowdsourcing and Deep Locality-Preserving Learning
 * for Expression Recognition in the Wild", CVPR; http://www.whdeng.cn/RAF/model1.html):
 * `EmoLabel/list_patition_label.txt` (sic), lines `train_00001.jpg 5` / `test_0001.jpg 3`, labels
 * 1 surprise, 2 fear, 3 disgust, 4 happiness, 5 sadness, 6 anger, 7 neutral; aligned 100x100 RGB
 * faces `Image/aligned/<name>_aligned.jpg`. The split is the name's prefix (train / test).
 */
import { join } from "node:path";
import type { Sample } from "../sample.ts";
import { BASIC7, LabelError, mapDatasetCode } from "../taxonomy.ts";
import { dropMissingFiles, readText, textLines } from "./common.ts";
import type { LoaderResult, LoadOptions } from "./types.ts";

/** Path of the label list inside a RAF-DB basic folder. */
export const RAFDB_LABELS = join("EmoLabel", "list_patition_label.txt");

/**
 * Parse `list_patition_label.txt` into samples whose images are `<imageDir>/<stem>_aligned.jpg`.
 * Ids: the name without extension (`train_00001`). LabelError naming file and line for a wrong
 * field count, a name that starts with neither train_ nor test_, or an unknown label.
 */
export function parseRafdbLabels(text: string, file: string, imageDir: string): Sample[] {
  const out: Sample[] = [];
  const seen = new Set<string>();
  for (const { line, text: t } of textLines(text)) {
    const f = t.trim().split(/\s+/);
    if (f.length !== 2) {
      throw new LabelError(`expected 2 fields (image label), found ${f.length}`, { file, line });
    }
    const [name, code] = f;
    const m = /^(train|test)_(\w+)\.(jpg|png)$/i.exec(name);
    if (m === null) {
      throw new LabelError(`image name "${name}" is not train_<n>.jpg or test_<n>.jpg`, {
        file,
        line,
      });
    }
    const id = name.slice(0, name.lastIndexOf("."));
    if (seen.has(id)) throw new LabelError(`duplicate image "${name}"`, { file, line });
    seen.add(id);
    out.push({
      id,
      source: { kind: "file", path: join(imageDir, `${id}_aligned.jpg`) },
      label: mapDatasetCode("rafdb", code, { file, line, field: "label" })!,
      split: m[1].toLowerCase() === "train" ? "train" : "test",
    });
  }
  return out;
}

/** Load RAF-DB basic (aligned faces) from its folder. */
export async function loadRafdb(dir: string, opts: LoadOptions = {}): Promise<LoaderResult> {
  const file = join(dir, RAFDB_LABELS);
  const all = parseRafdbLabels(await readText(file), file, join(dir, "Image", "aligned"));
  const unreadable: LoaderResult["unreadable"] = [];
  const samples = await dropMissingFiles(all, unreadable, opts.split);
  return { samples, excluded: {}, unreadable, classes: [...BASIC7] };
}
