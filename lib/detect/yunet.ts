/**
 * YuNet (OpenCV model zoo, 2023mar) output decoding, as OpenCV's
 * `modules/objdetect/src/face_detect.cpp` FaceDetectorYNImpl::postProcess does it:
 * for each stride s in 8, 16, 32 and each grid cell (r, c) of the padded input,
 * score = sqrt(clamp(cls) · clamp(obj)); centre = ((c, r) + bbox[0..1]) · s;
 * size = exp(bbox[2..3]) · s; landmark n = ((c, r) + kps[2n..2n+1]) · s.
 */
import type { DetectedFace } from "./types.ts";

/** The strides of YuNet's three heads. */
export const YUNET_STRIDES = [8, 16, 32] as const;

/** The twelve output names, by head: cls_s, obj_s, bbox_s, kps_s for s in 8, 16, 32. */
export function yunetOutputNames(): string[] {
  return ["cls", "obj", "bbox", "kps"].flatMap((k) => YUNET_STRIDES.map((s) => `${k}_${s}`));
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/**
 * Decode YuNet's raw outputs for one image of padded size padW × padH into faces scoring at
 * least `scoreThreshold` (before NMS), in padded-input pixel coordinates.
 */
export function decodeYunet(
  outputs: Readonly<Record<string, Float32Array>>,
  padW: number,
  padH: number,
  scoreThreshold: number,
): DetectedFace[] {
  const faces: DetectedFace[] = [];
  for (const s of YUNET_STRIDES) {
    const cols = Math.floor(padW / s);
    const rows = Math.floor(padH / s);
    const cls = outputs[`cls_${s}`];
    const obj = outputs[`obj_${s}`];
    const bbox = outputs[`bbox_${s}`];
    const kps = outputs[`kps_${s}`];
    if (!cls || !obj || !bbox || !kps) throw new Error(`YuNet: missing outputs for stride ${s}`);
    if (cls.length !== rows * cols) {
      throw new Error(`YuNet: cls_${s} has ${cls.length} cells, expected ${rows}x${cols}`);
    }
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const i = r * cols + c;
        const score = Math.sqrt(clamp01(cls[i]) * clamp01(obj[i]));
        if (score < scoreThreshold) continue;
        const cx = (c + bbox[4 * i]) * s;
        const cy = (r + bbox[4 * i + 1]) * s;
        const w = Math.exp(bbox[4 * i + 2]) * s;
        const h = Math.exp(bbox[4 * i + 3]) * s;
        const landmarks: [number, number][] = [];
        for (let n = 0; n < 5; n++) {
          landmarks.push([(kps[10 * i + 2 * n] + c) * s, (kps[10 * i + 2 * n + 1] + r) * s]);
        }
        faces.push({
          box: { x: cx - w / 2, y: cy - h / 2, width: w, height: h },
          score,
          landmarks,
        });
      }
    }
  }
  return faces;
}
