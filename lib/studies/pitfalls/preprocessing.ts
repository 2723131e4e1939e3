/**
 * Pitfall 1: preprocessing conventions. The same model on the same images, fed through a
 * pipeline that differs from the card's exact one in one convention: the resize sampling grid
 * (TensorFlow's legacy default, half-pixel centres, align-corners), the gray weights (BT.601
 * against a plain average), the channel order (RGB against BGR) and the normalisation scale
 * (0..1 against 0..255). The card's own preprocessing (lib/preprocess.ts, checked against an
 * independent pipeline) is the reference; each variant's predictions are cached like any other
 * (its preprocessing spec is part of the prediction cache key).
 */
import type { LoadedDataset } from "../../datasets/types.ts";
import type { InputSpec, ResizeMethod } from "../../models/card.ts";
import type { ResolvedModel } from "../../models/registry.ts";
import { predictDataset, type PredictOptions } from "../../predict.ts";
import { EMOTIONS } from "../../taxonomy.ts";
import { compareRuns, firstSamples, type RunComparison } from "./runs.ts";

/** Which convention a variant changes. */
export type VariantFamily = "resize" | "gray weights" | "channel order" | "normalisation";

/** One deviation from a card's exact preprocessing. */
export interface PreprocessingVariant {
  id: string;
  /** What the variant feeds the model, in words. */
  label: string;
  family: VariantFamily;
  /** True when the variant only changes what happens to colour pixels (a no-op on gray images). */
  colourOnly: boolean;
  /** True when the variant only changes the resize (a no-op when the image is at input size). */
  resizeOnly: boolean;
  /** The changed input spec, or null when the card already uses this convention / it has none. */
  apply(input: InputSpec): InputSpec | null;
}

function resizeVariant(method: ResizeMethod, label: string): PreprocessingVariant {
  return {
    id: `resize-${method.replace(/^bilinear-/, "")}`,
    label,
    family: "resize",
    colourOnly: false,
    resizeOnly: true,
    apply: (input) => input.resize === method ? null : { ...input, resize: method },
  };
}

/** The variants the notebook measures, in display order. */
export const PREPROCESSING_VARIANTS: readonly PreprocessingVariant[] = [
  resizeVariant("bilinear-tf-legacy", "bilinear resize, TensorFlow legacy grid (src = d·in/out)"),
  resizeVariant("bilinear-half-pixel", "bilinear resize, half-pixel centres (OpenCV, TF2)"),
  resizeVariant("bilinear-align-corners", "bilinear resize, align corners"),
  {
    id: "gray-average",
    label: "gray as the plain mean of R, G, B instead of BT.601 weights",
    family: "gray weights",
    colourOnly: true,
    resizeOnly: false,
    apply: (input) =>
      input.colorOrder !== "gray" ? null : { ...input, grayWeights: [1 / 3, 1 / 3, 1 / 3] },
  },
  {
    id: "channels-swapped",
    label: "colour channels in the other order (RGB ↔ BGR)",
    family: "channel order",
    colourOnly: true,
    resizeOnly: false,
    apply: (input) =>
      input.colorOrder === "gray"
        ? null
        : { ...input, colorOrder: input.colorOrder === "RGB" ? "BGR" : "RGB" },
  },
  {
    id: "scale-off-255",
    label: "pixels scaled by the wrong factor of 255 (0..255 for 0..1, or the reverse)",
    family: "normalisation",
    colourOnly: false,
    resizeOnly: false,
    apply: (input) => {
      const s = input.normalization.scale;
      return {
        ...input,
        normalization: { ...input.normalization, scale: s < 0.5 ? s * 255 : s / 255 },
      };
    },
  },
];

/** Why a variant is not run for a model on a dataset, or null when it is. */
export function variantSkipReason(
  variant: PreprocessingVariant,
  input: InputSpec,
  data: { colour: boolean; imageSize?: number },
): string | null {
  if (variant.apply(input) === null) {
    return variant.family === "resize"
      ? "the card's own convention"
      : "not applicable to the model";
  }
  if (variant.colourOnly && !data.colour) return "no-op on gray images";
  if (variant.resizeOnly && data.imageSize === input.width && data.imageSize === input.height) {
    return `no-op: images are already ${input.width}×${input.height}`;
  }
  return null;
}

/** One model × variant cell of the study. */
export interface VariantRow {
  model: string;
  variant: string;
  family: VariantFamily;
  /** The comparison with the card's exact pipeline, or null with `skipped` saying why. */
  comparison: RunComparison | null;
  skipped: string | null;
}

/** The preprocessing study on one dataset sample. */
export interface PreprocessingResult {
  dataset: string;
  /** Images in the sample (a model may use fewer: see `perModel`). */
  n: number;
  /** Images each model was run on (slow models on the first part of the sample). */
  perModel: Record<string, number>;
  rows: VariantRow[];
}

/** Options of preprocessingStudy. */
export interface PreprocessingOptions {
  /** Variants to run (default PREPROCESSING_VARIANTS). */
  variants?: readonly PreprocessingVariant[];
  /** True when the images have colour (ExpW), false for gray ones (FER2013). */
  colour: boolean;
  /** Side of square source images, when all have it (48 for FER2013). */
  imageSize?: number;
  /** Per model id, use only the first this many images of the sample (slow models). */
  limits?: Record<string, number>;
  /** Options passed to every predictDataset call (e.g. a cache folder). */
  predict?: PredictOptions;
}

/**
 * Run every model on `dataset` with its exact preprocessing and with each variant, and compare
 * (flips, accuracy change, macro-F1 change; paired bootstrap intervals). Predictions go through
 * the prediction cache, so a second run reads them.
 */
export async function preprocessingStudy(
  models: readonly ResolvedModel[],
  dataset: LoadedDataset,
  opts: PreprocessingOptions,
): Promise<PreprocessingResult> {
  const rows: VariantRow[] = [];
  const perModel: Record<string, number> = {};
  for (const model of models) {
    const limit = opts.limits?.[model.card.id];
    const data = limit !== undefined && limit < dataset.samples.length
      ? await firstSamples(dataset, limit)
      : dataset;
    perModel[model.card.id] = data.samples.length;
    const classes = EMOTIONS.filter((e) =>
      model.card.output.classes.includes(e) && dataset.classes.includes(e)
    );
    const popts: PredictOptions = { progress: false, ...opts.predict };
    const ref = await predictDataset(model, data, popts);
    for (const v of opts.variants ?? PREPROCESSING_VARIANTS) {
      const skipped = variantSkipReason(v, model.card.input, opts);
      const base = { model: model.card.id, variant: v.id, family: v.family };
      if (skipped !== null) {
        rows.push({ ...base, comparison: null, skipped });
        continue;
      }
      const card = { ...model.card, input: v.apply(model.card.input)! };
      const alt = await predictDataset({ ...model, card }, data, popts);
      rows.push({ ...base, comparison: compareRuns(ref, alt, classes), skipped: null });
    }
  }
  return { dataset: dataset.name, n: dataset.samples.length, perModel, rows };
}
