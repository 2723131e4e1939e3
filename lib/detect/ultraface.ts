/**
 * UltraFace (Ultra-Light-Fast-Generic-Face-Detector-1MB, RFB-320) output decoding, as the
 * authors' `detect_imgs_onnx.py` `predict()` does it: the graph already decodes the priors, so
 * `boxes` holds normalised x1, y1, x2, y2 and `scores` holds softmaxed (background, face) pairs;
 * keep faces whose face probability exceeds the threshold, scale boxes to the image.
 */
import type { DetectedFace } from "./types.ts";

/**
 * Decode UltraFace outputs (`scores` [N·2], `boxes` [N·4]) into faces in pixel coordinates of
 * a width × height image, keeping face probability > `threshold` (before NMS).
 */
export function decodeUltraface(
  scores: Float32Array,
  boxes: Float32Array,
  width: number,
  height: number,
  threshold: number,
): DetectedFace[] {
  const n = scores.length / 2;
  if (boxes.length !== n * 4) {
    throw new Error(`UltraFace: ${boxes.length / 4} boxes for ${n} scores`);
  }
  const faces: DetectedFace[] = [];
  for (let i = 0; i < n; i++) {
    const p = scores[2 * i + 1];
    if (!(p > threshold)) continue;
    const x1 = boxes[4 * i] * width;
    const y1 = boxes[4 * i + 1] * height;
    const x2 = boxes[4 * i + 2] * width;
    const y2 = boxes[4 * i + 3] * height;
    faces.push({ box: { x: x1, y: y1, width: x2 - x1, height: y2 - y1 }, score: p });
  }
  return faces;
}
