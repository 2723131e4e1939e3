/**
 * Face detectors for datasets that are not cropped yet: YuNet (OpenCV model zoo, 2023mar) and
 * UltraFace RFB-320, run with onnxruntime-node, decoded and NMS-filtered as their reference
 * code does. `createDetector("yunet")`, then `detector.detect(img)`; or `detectFaces(img)`.
 * Where the ONNX files are found: see lib/detect/card.ts (`FER_DETECTORS`).
 */
import * as ort from "onnxruntime-node";
import type { RawImage } from "../image.ts";
import type { FaceBox } from "../sample.ts";
import { grayToRgb, resizeImage, toFloatImage } from "../preprocess.ts";
import { ortSessionOptions } from "../engine.ts";
import type { Provider } from "../provider.ts";
import { openSession } from "../session.ts";
import { type DetectorCard, readDetectorCard, readDetectorModel } from "./card.ts";
import { decodeUltraface } from "./ultraface.ts";
import { decodeYunet } from "./yunet.ts";
import { clipBox, type DetectedFace, type FaceDetector, iou, largestFace, nms } from "./types.ts";

export { clipBox, type DetectedFace, type FaceDetector, iou, largestFace, nms };
export { DETECTOR_IDS, type DetectorCard, detectorsDir, readDetectorCard } from "./card.ts";

/** Short names accepted by `--detect`. */
export type DetectorName = "yunet" | "ultraface";

/** Options of createDetector. */
export interface DetectorOptions {
  /** Override the card's score threshold. */
  scoreThreshold?: number;
  /** onnxruntime intra-op threads. */
  intraOpThreads?: number;
  /** Folder holding the detector ONNX files (default: detectorsDir()). */
  dir?: string;
  /** Execution provider (default: FER_PROVIDER, else cpu; lib/provider.ts). */
  provider?: Provider;
  /** Throw instead of falling back to cpu (default: FER_PROVIDER_STRICT=1). */
  strict?: boolean;
}

/** The detector input tensor for an image, and how its pixels map back to the image. */
export interface DetectorInput {
  tensor: Float32Array;
  /** Input pixels per image pixel, along x and y. */
  scaleX: number;
  scaleY: number;
}

/**
 * Build a detector's NCHW input from an 8-bit image: letterbox (scale down to fit, never up;
 * zero padding bottom/right) or stretch, bilinear half-pixel resize (cv2.resize INTER_LINEAR),
 * the card's colour order and normalisation.
 */
export function detectorInput(img: RawImage, card: DetectorCard): DetectorInput {
  const { width: W, height: H, colorOrder, fit, normalization } = card.input;
  let f = toFloatImage(img);
  if (f.channels === 1) f = grayToRgb(f);
  let rw: number, rh: number;
  if (fit === "stretch") {
    rw = W;
    rh = H;
  } else {
    const s = Math.min(1, W / img.width, H / img.height);
    rw = Math.max(1, Math.round(img.width * s));
    rh = Math.max(1, Math.round(img.height * s));
  }
  if (rw !== f.width || rh !== f.height) f = resizeImage(f, rw, rh, "bilinear-half-pixel");
  const tensor = new Float32Array(3 * W * H);
  const { scale, mean, std } = normalization;
  const pad = (0 * scale - mean) / std;
  tensor.fill(pad);
  const plane = W * H;
  for (let k = 0; k < 3; k++) {
    const src = colorOrder === "BGR" ? 2 - k : k;
    for (let y = 0; y < rh; y++) {
      for (let x = 0; x < rw; x++) {
        tensor[k * plane + y * W + x] = (f.data[(y * rw + x) * 3 + src] * scale - mean) / std;
      }
    }
  }
  return { tensor, scaleX: rw / img.width, scaleY: rh / img.height };
}

class OnnxFaceDetector implements FaceDetector {
  readonly id: string;
  constructor(
    readonly card: DetectorCard,
    private readonly session: ort.InferenceSession,
    private readonly scoreThreshold: number,
    /** The execution provider that runs it. */
    readonly provider: Provider,
  ) {
    this.id = card.id;
  }

  async detect(img: RawImage): Promise<DetectedFace[]> {
    const card = this.card;
    const { W, H } = { W: card.input.width, H: card.input.height };
    const { tensor, scaleX, scaleY } = detectorInput(img, card);
    const feed = new ort.Tensor("float32", tensor, [1, 3, H, W]);
    const out = await this.session.run({ [card.input.name]: feed });
    const arrays: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(out)) {
      arrays[k] = v.data as Float32Array;
    }
    let faces: DetectedFace[];
    if (card.decoder === "yunet") {
      faces = decodeYunet(arrays, W, H, this.scoreThreshold);
      for (const f of faces) {
        f.box = {
          x: f.box.x / scaleX,
          y: f.box.y / scaleY,
          width: f.box.width / scaleX,
          height: f.box.height / scaleY,
        };
        f.landmarks = f.landmarks?.map(([x, y]) => [x / scaleX, y / scaleY]);
      }
    } else {
      // Normalised boxes: relative to the stretched input, i.e. to the image itself.
      faces = decodeUltraface(
        arrays["scores"],
        arrays["boxes"],
        img.width,
        img.height,
        this.scoreThreshold,
      );
    }
    for (const v of Object.values(out)) v.dispose();
    const kept = nms(faces, card.nmsThreshold, card.topK);
    return kept
      .map((f) => ({ ...f, box: clipBox(f.box, img.width, img.height) }))
      .filter((f) => f.box.width > 0 && f.box.height > 0);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Open a face detector by short name ("yunet", "ultraface") or card id. Throws when its card or
 * ONNX file is missing or the file's SHA-256 differs from the card.
 */
export async function createDetector(
  name: string,
  opts: DetectorOptions = {},
): Promise<FaceDetector> {
  const card = await readDetectorCard(name);
  const bytes = await readDetectorModel(card, opts.dir);
  const so = (provider: Provider): ort.InferenceSession.SessionOptions => ({
    ...ortSessionOptions({ intraOpThreads: opts.intraOpThreads, provider }),
    // UltraFace lists its weights as graph inputs; onnxruntime warns once per weight.
    logSeverityLevel: 3,
  });
  const { session, provider } = await openSession(bytes, so, `detector ${card.id}`, opts);
  return new OnnxFaceDetector(card, session, opts.scoreThreshold ?? card.scoreThreshold, provider);
}

const open = new Map<string, Promise<FaceDetector>>();

/**
 * Faces in an image with a shared detector (opened once per name and kept for the process),
 * best first. Default detector: YuNet.
 */
export async function detectFaces(
  img: RawImage,
  name: DetectorName = "yunet",
): Promise<DetectedFace[]> {
  let d = open.get(name);
  if (d === undefined) {
    d = createDetector(name);
    open.set(name, d);
  }
  return await (await d).detect(img);
}

/**
 * The face to use for a sample: with a `hint` box (the dataset's own box), the detection that
 * overlaps it most (IoU ≥ `minIou`); without one, the largest face. Undefined when none fits.
 */
export function pickFace(
  faces: readonly DetectedFace[],
  hint?: FaceBox,
  minIou = 0.3,
): DetectedFace | undefined {
  if (hint === undefined) return largestFace(faces);
  let best: DetectedFace | undefined;
  let bestIou = minIou;
  for (const f of faces) {
    const v = iou(f.box, hint);
    if (v >= bestIou) {
      best = f;
      bestIou = v;
    }
  }
  return best;
}
