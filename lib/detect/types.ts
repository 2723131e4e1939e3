/** Face detection: what a detector returns, and the geometry shared by the decoders. */
import type { RawImage } from "../image.ts";
import type { FaceBox } from "../sample.ts";

/** One detected face, in pixel coordinates of the image given to the detector. */
export interface DetectedFace {
  box: FaceBox;
  /** Detector confidence in [0, 1]. */
  score: number;
  /** Five landmarks (right eye, left eye, nose tip, right and left mouth corners), when known. */
  landmarks?: [number, number][];
}

/** A face detector bound to an open model. */
export interface FaceDetector {
  /** Detector id (its card's id). */
  readonly id: string;
  /** The execution provider that runs it ("cpu", "webgpu", "cuda"). */
  readonly provider: string;
  /** Faces found in an 8-bit image (gray or RGB), best first after non-maximum suppression. */
  detect(img: RawImage): Promise<DetectedFace[]>;
  /** Release the model. */
  dispose(): Promise<void>;
}

/** Intersection over union of two boxes (0 when either is empty). */
export function iou(a: FaceBox, b: FaceBox): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy hard non-maximum suppression: keep the best-scoring face, drop every face whose IoU
 * with a kept one exceeds `iouThreshold`, repeat; at most `topK` faces are considered
 * (as OpenCV `dnn::NMSBoxes` and UltraFace's `hard_nms`).
 */
export function nms(faces: DetectedFace[], iouThreshold: number, topK = Infinity): DetectedFace[] {
  const sorted = [...faces].sort((a, b) => b.score - a.score).slice(0, topK);
  const kept: DetectedFace[] = [];
  for (const f of sorted) {
    if (kept.every((k) => iou(k.box, f.box) <= iouThreshold)) kept.push(f);
  }
  return kept;
}

/** The face with the largest box area, or undefined for none. */
export function largestFace(faces: readonly DetectedFace[]): DetectedFace | undefined {
  let best: DetectedFace | undefined;
  for (const f of faces) {
    if (best === undefined || f.box.width * f.box.height > best.box.width * best.box.height) {
      best = f;
    }
  }
  return best;
}

/** Clip a box to a width × height image (may return an empty box). */
export function clipBox(b: FaceBox, width: number, height: number): FaceBox {
  const x0 = Math.min(width, Math.max(0, b.x));
  const y0 = Math.min(height, Math.max(0, b.y));
  const x1 = Math.min(width, Math.max(0, b.x + b.width));
  const y1 = Math.min(height, Math.max(0, b.y + b.height));
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}
