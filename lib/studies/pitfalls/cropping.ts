/**
 * Pitfall 2: how the face is cut out of a photograph. On ExpW (whole photographs with labelled
 * face boxes) every model sees the same faces cut in different ways: the labelled box, the box a
 * face detector finds (the detection overlapping the labelled face), the labelled box shrunk or
 * enlarged about its centre, and the whole photograph. Each model's own crop margin
 * (card.faceCrop) is applied to whichever box a condition gives, as the kit always does.
 */
import type { LoadedDataset } from "../../datasets/types.ts";
import { type DetectorName, readDetectorCard } from "../../detect/mod.ts";
import { detectorProvenance, type ProvenanceRecord } from "../../findings.ts";
import type { ResolvedModel } from "../../models/registry.ts";
import { predictDataset, type PredictOptions } from "../../predict.ts";
import type { PredictionTable } from "../../predictions.ts";
import type { FaceBox, Sample } from "../../sample.ts";
import { EMOTIONS } from "../../taxonomy.ts";
import type { BootstrapInterval } from "../../metrics/mod.ts";
import { accuracyStatistic } from "../../metrics/mod.ts";
import { labelArrays, studyInterval } from "../scoring.ts";
import { compareRuns, emptyInterval, firstSamples, type RunComparison } from "./runs.ts";
import { datasetHash } from "../../datasets/hash.ts";

/** One way of cutting the face. */
export type CropCondition =
  | { id: string; kind: "label-box" }
  | { id: string; kind: "scaled-box"; factor: number }
  | { id: string; kind: "detector"; detector: DetectorName }
  | { id: string; kind: "whole-image" };

/** The conditions the notebook measures, the labelled box first (the reference). */
export const CROP_CONDITIONS: readonly CropCondition[] = [
  { id: "label box", kind: "label-box" },
  { id: "YuNet box", kind: "detector", detector: "yunet" },
  { id: "UltraFace box", kind: "detector", detector: "ultraface" },
  { id: "box −30 %", kind: "scaled-box", factor: 0.7 },
  { id: "box −10 %", kind: "scaled-box", factor: 0.9 },
  { id: "box +10 %", kind: "scaled-box", factor: 1.1 },
  { id: "box +30 %", kind: "scaled-box", factor: 1.3 },
  { id: "whole photograph", kind: "whole-image" },
];

/**
 * A box scaled by `factor` about its centre (0.7: each side 30 % shorter). Not clipped: the
 * crop (lib/preprocess.ts faceCropRect) clips to the image.
 */
export function scaleBox(box: FaceBox, factor: number): FaceBox {
  if (!(factor > 0)) throw new RangeError(`box scale factor ${factor} is not positive`);
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  const w = box.width * factor, h = box.height * factor;
  return { x: cx - w / 2, y: cy - h / 2, width: w, height: h };
}

/** The samples whose photograph holds exactly one labelled face (by `group`, the image name). */
export function singleFaceSamples(samples: readonly Sample[]): Sample[] {
  const count = new Map<string, number>();
  for (const s of samples) count.set(s.group ?? s.id, (count.get(s.group ?? s.id) ?? 0) + 1);
  return samples.filter((s) => count.get(s.group ?? s.id) === 1);
}

/** The dataset's samples with their boxes changed as a condition says (none for whole-image). */
export function conditionSamples(samples: readonly Sample[], c: CropCondition): Sample[] {
  if (c.kind === "scaled-box") {
    return samples.map((s) => (s.box ? { ...s, box: scaleBox(s.box, c.factor) } : s));
  }
  if (c.kind === "whole-image") {
    return samples.map(({ box: _box, ...rest }) => rest);
  }
  return samples.slice();
}

/** One model under one condition. */
export interface CropRow {
  model: string;
  condition: string;
  /** Faces with a prediction (a detector can miss a face). */
  predicted: number;
  /** Faces the condition gave no prediction for (detector found no matching face). */
  missed: number;
  /** Accuracy on the faces with a prediction, bootstrap interval. */
  accuracy: BootstrapInterval;
  /** Against the labelled box on the faces both have (null for the reference itself). */
  change: RunComparison | null;
}

/** The cropping study. */
export interface CroppingResult {
  dataset: string;
  /** Faces in the sample. */
  n: number;
  perModel: Record<string, number>;
  rows: CropRow[];
  /**
   * The face detectors the conditions ran: their cards' hashes (a detector's file is checked
   * against it when it loads, and the prediction cache is keyed by it).
   */
  detectors: ProvenanceRecord[];
}

/**
 * Every model under every condition on `dataset` (the ExpW faces to use; the reference is the
 * first condition). `limits` runs slow models on the first part of the sample only.
 */
export async function croppingStudy(
  models: readonly ResolvedModel[],
  dataset: LoadedDataset,
  opts: {
    conditions?: readonly CropCondition[];
    limits?: Record<string, number>;
    /** Options passed to every predictDataset call (e.g. a cache folder). */
    predict?: PredictOptions;
  } = {},
): Promise<CroppingResult> {
  const conditions = opts.conditions ?? CROP_CONDITIONS;
  const rows: CropRow[] = [];
  const perModel: Record<string, number> = {};
  for (const model of models) {
    const limit = opts.limits?.[model.card.id];
    const base = limit !== undefined && limit < dataset.samples.length
      ? await firstSamples(dataset, limit)
      : dataset;
    perModel[model.card.id] = base.samples.length;
    const classes = EMOTIONS.filter((e) =>
      model.card.output.classes.includes(e) && dataset.classes.includes(e)
    );
    let ref: PredictionTable | undefined;
    for (const c of conditions) {
      const samples = conditionSamples(base.samples, c);
      const data = { ...base, samples, hash: await datasetHash(samples) };
      const run = await predictDataset(model, data, {
        progress: false,
        ...opts.predict,
        ...(c.kind === "detector" ? { detect: c.detector } : {}),
      });
      const { yTrue, yPred } = labelArrays(run);
      const accuracy = yTrue.length === 0
        ? emptyInterval()
        : studyInterval(yTrue.length, accuracyStatistic(yTrue, yPred));
      rows.push({
        model: model.card.id,
        condition: c.id,
        predicted: run.rows.length,
        missed: base.samples.length - run.rows.length,
        accuracy,
        change: ref === undefined ? null : compareRuns(ref, run, classes),
      });
      ref ??= run;
    }
  }
  // Each detector that ran, once (no model ran none).
  const names = models.length === 0
    ? []
    : [...new Set(conditions.flatMap((c) => (c.kind === "detector" ? [c.detector] : [])))];
  const detectors: ProvenanceRecord[] = [];
  for (const name of names) detectors.push(detectorProvenance(await readDetectorCard(name)));
  return { dataset: dataset.name, n: dataset.samples.length, perModel, rows, detectors };
}
