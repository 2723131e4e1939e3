/**
 * One entry point over the methods (by name, with their options), a random-map control for
 * the faithfulness scores, the model's view of an input as displayable pixels, and a set of
 * faces predicted and explained for the dataset views (mean maps, representative cases).
 */
import type { RawImage } from "../image.ts";
import type { InputSpec, ModelCard } from "../models/card.ts";
import { preprocess } from "../preprocess.ts";
import { type DeletionInsertion, deletionInsertion } from "./faithfulness.ts";
import { mulberry32, uniformFloat32 } from "../random.ts";
import type { BatchScorer } from "./scorer.ts";
import type { SaliencyMap } from "./tensor.ts";
import { elementIndex, resizeMap } from "./tensor.ts";
import { occlusionMaps, type OcclusionOptions } from "./occlusion.ts";
import { riseMaps, type RiseOptions } from "./rise.ts";
import type { FacePixels } from "./overlay.ts";
import {
  type ClassCases,
  type ClassMeanMap,
  classMeanMaps,
  representativeCases,
  type RepresentativeOptions,
} from "./dataset_views.ts";
import type { Sample } from "../sample.ts";

/** Saliency methods by name. */
export type MethodName = "rise" | "occlusion";

/** Options of every method, each used by its own method. */
export interface MethodOptions {
  rise?: Omit<RiseOptions, "classIndex">;
  occlusion?: Omit<OcclusionOptions, "classIndex">;
}

/** A method and its settings in words, e.g. "RISE N=500 cell=6px p=0.5 seed=0 centred". */
export function describeMethod(
  method: MethodName,
  o: MethodOptions,
  width: number,
  height: number,
): string {
  if (method === "rise") {
    const r = o.rise ?? {};
    const cell = r.cellSize ?? Math.ceil(Math.min(width, height) / 8);
    return `RISE N=${r.n ?? 2000} cell=${cell}px p=${r.keepProb ?? 0.5} seed=${r.seed ?? 0}` +
      (r.centered ? " centred" : "");
  }
  const c = o.occlusion ?? {};
  const patch = c.patchSize ?? Math.max(1, Math.round(width / 6));
  return `occlusion patch=${patch}px stride=${c.stride ?? Math.max(1, Math.floor(patch / 2))}px ` +
    `fill=${c.fill ?? "mean"}`;
}

/** Maps of several classes for one input with the named method (same forward passes). */
export function explainMaps(
  scorer: BatchScorer,
  x: Float32Array,
  classIndices: readonly number[],
  method: MethodName,
  opts: MethodOptions = {},
): Promise<SaliencyMap[]> {
  return method === "rise"
    ? riseMaps(scorer, x, classIndices, opts.rise)
    : occlusionMaps(scorer, x, classIndices, opts.occlusion);
}

/**
 * A smooth random map (seeded): uniform values on a grid of `cellSize`-pixel cells (default
 * min(width, height) / 8, as RISE's cells), upsampled bilinearly. The control for the
 * faithfulness scores: deleting pixels in the order of independent per-pixel noise leaves
 * salt-and-pepper images that no model has seen and whose scores collapse at once, so a
 * per-pixel random order would look "faithful" on deletion; blobs like real maps' do not.
 */
export function randomMap(
  width: number,
  height: number,
  seed: number,
  cellSize = Math.ceil(Math.min(width, height) / 8),
): SaliencyMap {
  const rng = mulberry32(seed);
  const gw = Math.max(1, Math.ceil(width / cellSize));
  const gh = Math.max(1, Math.ceil(height / cellSize));
  const grid = { width: gw, height: gh, data: uniformFloat32(gw * gh, 0, 1, rng) };
  return resizeMap(grid, width, height);
}

/**
 * The input tensor as 8-bit pixels (what the model sees after resizing and padding): the
 * card's normalisation inverted, pixel = (t * std + mean) / scale, clamped to 0..255; BGR
 * inputs are turned back into RGB.
 */
export function tensorToFace(x: Float32Array, input: InputSpec): FacePixels {
  const { width, height, channels, layout } = input;
  const { scale, mean, std } = input.normalization;
  const shape = { width, height, channels, layout };
  const data = new Uint8Array(width * height * channels);
  for (let c = 0; c < channels; c++) {
    const m = mean[c] ?? mean[0] ?? 0;
    const s = std[c] ?? std[0] ?? 1;
    const outC = input.colorOrder === "BGR" ? channels - 1 - c : c;
    for (let p = 0; p < width * height; p++) {
      const v = (x[elementIndex(shape, c, p)] * s + m) / scale;
      data[p * channels + outC] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return { width, height, channels, data };
}

// ---------------------------------------------------------------------------------------------
// A set of faces explained (the dataset views of `kit saliency` and the saliency study)

/** One face to explain: its input tensor and the model's view of it, true and predicted class. */
export interface ExplainedFace {
  sample: Sample;
  /** Input tensor (model-input resolution). */
  x: Float32Array;
  /** What the model sees, as pixels (`tensorToFace`). */
  face: FacePixels;
  /** True class index in the model's output order. */
  label: number;
  /** Predicted class index; −1 until `predictFaces`. */
  pred: number;
  /** Class probabilities; empty until `predictFaces`. */
  probs: Float32Array;
  /** Maps of the true and the predicted class, after `explainFace`. */
  mapLabel?: SaliencyMap;
  mapPred?: SaliencyMap;
}

/** A face ready to explain: `x` preprocessed for `input`, not yet predicted. */
export function explainedFace(
  sample: Sample,
  x: Float32Array,
  input: InputSpec,
  label: number,
): ExplainedFace {
  return { sample, x, face: tensorToFace(x, input), label, pred: -1, probs: new Float32Array() };
}

/** Index of the largest of `k` values from `offset` (the lowest index on ties). */
export function topClass(probs: ArrayLike<number>, offset: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (probs[offset + j] > probs[offset + best]) best = j;
  return best;
}

/** Predict all `faces` in one batched run: sets each face's `probs` and `pred` (its top class). */
export async function predictFaces(scorer: BatchScorer, faces: ExplainedFace[]): Promise<void> {
  const len = faces[0].x.length;
  const batch = new Float32Array(faces.length * len);
  faces.forEach((f, i) => batch.set(f.x, i * len));
  const probs = await scorer.predict(batch, faces.length);
  const k = scorer.classes.length;
  faces.forEach((f, i) => {
    f.probs = probs.slice(i * k, (i + 1) * k);
    f.pred = topClass(probs, i * k, k);
  });
}

/**
 * Set a predicted face's `mapLabel` and `mapPred` with the named method, from one set of forward
 * passes (the same map when the prediction is right). `maps` computes them (default
 * `explainMaps`; a cache passes its own).
 */
export async function explainFace(
  scorer: BatchScorer,
  f: ExplainedFace,
  method: MethodName,
  opts: MethodOptions = {},
  maps: typeof explainMaps = explainMaps,
): Promise<void> {
  const wanted = f.label === f.pred ? [f.label] : [f.label, f.pred];
  const got = await maps(scorer, f.x, wanted, method, opts);
  f.mapLabel = got[0];
  f.mapPred = got[got.length - 1];
}

/** Bytes of 8-bit gray from face pixels (BT.601 luma for colour). */
function grayPixels(face: FacePixels): Uint8Array {
  if (face.channels === 1) return face.data;
  const out = new Uint8Array(face.width * face.height);
  for (let i = 0; i < out.length; i++) {
    const d = face.data;
    out[i] = Math.round(0.299 * d[i * 3] + 0.587 * d[i * 3 + 1] + 0.114 * d[i * 3 + 2]);
  }
  return out;
}

/**
 * Class-conditional mean maps of explained faces (`classes`: the model's class names): of the
 * true-class maps grouped by true label, and of the predicted-class maps grouped by prediction,
 * each with the mean gray face, classes in the order `order`.
 */
export function faceMeanMaps(
  faces: readonly ExplainedFace[],
  classes: readonly string[],
  order: readonly string[],
): { byLabel: ClassMeanMap[]; byPred: ClassMeanMap[] } {
  const byLabel = classMeanMaps(
    faces.map((f) => ({ map: f.mapLabel!, label: classes[f.label], image: grayPixels(f.face) })),
    { classes: order },
  );
  const byPred = classMeanMaps(
    faces.map((f) => ({
      map: f.mapPred!,
      label: classes[f.label],
      pred: classes[f.pred],
      image: grayPixels(f.face),
    })),
    { classes: order, groupBy: "pred" },
  );
  return { byLabel, byPred };
}

/** Representative cases (`representativeCases`) of predicted faces, ids being sample ids. */
export function faceCases(
  faces: readonly ExplainedFace[],
  classes: readonly string[],
  opts: RepresentativeOptions,
): ClassCases[] {
  return representativeCases(
    faces.map((f) => ({
      id: f.sample.id,
      label: classes[f.label],
      pred: classes[f.pred],
      probs: f.probs,
      classes,
    })),
    opts,
  );
}

/** One image explained: its probabilities, the explained class, map, face and optional scores. */
export interface ImageExplanation {
  probs: Float32Array;
  /** The explained class (the top class unless one was asked for). */
  classIndex: number;
  map: SaliencyMap;
  /** The face as the model sees it (for overlays). */
  face: FacePixels;
  /** Milliseconds spent on the map. */
  ms: number;
  /** Deletion/insertion of the map and of a smooth random map (with `faithfulnessSteps`). */
  faithfulness?: { map: DeletionInsertion; random: DeletionInsertion };
}

/**
 * Explain one decoded image (`kit saliency --image`): preprocess as the card says, predict,
 * map the asked class (default the top class) and, with `faithfulnessSteps`, score the map's
 * deletion/insertion against a seeded smooth random map.
 */
export async function explainImage(
  scorer: BatchScorer,
  card: ModelCard,
  image: RawImage,
  opts: {
    method: MethodName;
    opts: MethodOptions;
    classIndex?: number;
    faithfulnessSteps?: number;
  },
): Promise<ImageExplanation> {
  const x = preprocess(image, card);
  const probs = await scorer.predict(x, 1);
  const classIndex = opts.classIndex ?? topClass(probs, 0, card.output.classes.length);
  const t0 = performance.now();
  const [map] = await explainMaps(scorer, x, [classIndex], opts.method, opts.opts);
  const ms = performance.now() - t0;
  const steps = opts.faithfulnessSteps;
  const faithfulness = steps === undefined ? undefined : {
    map: await deletionInsertion(scorer, x, map, { classIndex, steps }),
    random: await deletionInsertion(scorer, x, randomMap(map.width, map.height, 1), {
      classIndex,
      steps,
    }),
  };
  return { probs, classIndex, map, face: tensorToFace(x, card.input), ms, faithfulness };
}
