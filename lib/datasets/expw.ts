/**
 * ExpW, Expression in-the-Wild (Zhang et al. 2018, "From Facial Expression Recognition to
 * Interpersonal Relation Prediction", IJCV; https://mmlab.ie.cuhk.edu.hk/projects/socialrelation/):
 * `Images/*.jpg` + `label.lst`, one face a line:
 * `image_name face_id top left right bottom confidence label` (note the box order: top, left,
 * right, bottom), labels 0..6 in FER2013's order. One sample per face, with its box.
 * No official split: the kit uses a seeded 80/20 train/test split by source image (faces of one
 * photograph never straddle train and test), stratified by class, saved in `data/splits/expw.csv`.
 */
import { join } from "node:path";
import type { Sample } from "../sample.ts";
import { BASIC7, LabelError, mapDatasetCode } from "../taxonomy.ts";
import { dropMissingFiles, parseCount, parseNumber, readText, textLines } from "./common.ts";
import { assignKitSplits, DEFAULT_SPLIT_SEED, stratifiedGroupSplit } from "./split.ts";
import type { LoaderResult, LoadOptions } from "./types.ts";

/** Default fraction of each class in the ExpW test split. */
export const EXPW_TEST_FRACTION = 0.2;

/** The id of a face: image name without extension, then `_face<face_id>`. */
export function expwFaceId(imageName: string, faceId: number): string {
  const dot = imageName.lastIndexOf(".");
  return `${dot > 0 ? imageName.slice(0, dot) : imageName}_face${faceId}`;
}

/**
 * Parse `label.lst` into samples (split not yet assigned). Throws LabelError naming file and
 * line for a wrong field count, a non-integer coordinate, an empty box or an unknown label.
 */
export function parseExpwLabels(text: string, file: string, imageDir: string): Sample[] {
  const out: Sample[] = [];
  const seen = new Map<string, number>();
  for (const { line, text: t } of textLines(text)) {
    const f = t.trim().split(/\s+/);
    if (f.length !== 8) {
      throw new LabelError(
        `expected 8 fields (image face_id top left right bottom confidence label), found ${f.length}`,
        { file, line },
      );
    }
    const [image, faceId, top, left, right, bottom] = [
      f[0],
      ...["face_id", "top", "left", "right", "bottom"].map((name, i) =>
        parseCount(f[i + 1], file, line, name)
      ),
    ] as [string, number, number, number, number, number];
    parseNumber(f[6], file, line, "confidence");
    const label = mapDatasetCode("expw", f[7], { file, line, field: "label" })!;
    if (right <= left || bottom <= top) {
      throw new LabelError(
        `empty face box (top ${top}, left ${left}, right ${right}, bottom ${bottom})`,
        { file, line },
      );
    }
    const id = expwFaceId(image, faceId);
    const prev = seen.get(id);
    if (prev !== undefined) {
      throw new LabelError(`face ${faceId} of ${image} already on line ${prev}`, { file, line });
    }
    seen.set(id, line);
    out.push({
      id,
      source: { kind: "file", path: join(imageDir, image) },
      box: { x: left, y: top, width: right - left, height: bottom - top },
      label,
      split: "train",
      group: image,
    });
  }
  return out;
}

/** Load ExpW from its folder (`label.lst` + `Images/`). */
export async function loadExpw(dir: string, opts: LoadOptions = {}): Promise<LoaderResult> {
  const file = join(dir, "label.lst");
  const all = parseExpwLabels(await readText(file), file, join(dir, "Images"));
  const fraction = opts.testFraction ?? EXPW_TEST_FRACTION;
  const seed = opts.seed ?? DEFAULT_SPLIT_SEED;
  await assignKitSplits(
    "expw",
    all,
    () => stratifiedGroupSplit(all.map((s) => s.label), all.map((s) => s.group!), fraction, seed),
    opts.splitsDir,
    fraction === EXPW_TEST_FRACTION && seed === DEFAULT_SPLIT_SEED,
  );
  const unreadable: LoaderResult["unreadable"] = [];
  const samples = await dropMissingFiles(all, unreadable, opts.split);
  return { samples, excluded: {}, unreadable, classes: [...BASIC7] };
}
