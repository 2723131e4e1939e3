/**
 * Exact preprocessing: how 8-bit pixels become a model's input tensor, reproducing each source
 * library's conventions (resize sampling grid, gray weights, padding, normalisation, layout).
 *
 * Every function here is pure. The order of operations is fixed and documented in `preprocess`:
 * face crop → colour handling → pad to square → resize → gray after resize → normalise → layout.
 * All arithmetic after the crop is in float (no rounding back to 8 bits), as TF.js and
 * OpenCV-on-float do.
 */
import type { FaceCropSpec, InputSpec, ModelCard, ResizeMethod } from "./models/card.ts";
import type { FaceBox } from "./sample.ts";
import type { RawImage } from "./image.ts";

export type { RawImage };

/** Float pixels, row-major, channels interleaved (HWC). */
export interface FloatImage {
  data: Float32Array;
  width: number;
  height: number;
  channels: number;
}

/** The parts of a model card that decide the input tensor. */
export type PreprocessSpec = Pick<ModelCard, "input"> & { faceCrop?: FaceCropSpec };

/** ITU-R BT.601 luma weights (R, G, B), as OpenCV `cvtColor(RGB2GRAY)` and PIL `convert("L")`. */
export const BT601_WEIGHTS: readonly [number, number, number] = [0.299, 0.587, 0.114];

/** Sampling taps along one axis: for output index d, value = v[lo] + (v[hi] - v[lo]) * frac. */
export interface AxisTaps {
  lo: Int32Array;
  hi: Int32Array;
  frac: Float64Array;
}

/**
 * Source taps of a resize along one axis of `inSize` → `outSize` pixels.
 * - bilinear-tf-legacy: src = d · in/out (tf.image.resizeBilinear default, TF1 `resize_bilinear`);
 * - bilinear-half-pixel: src = (d + 0.5) · in/out − 0.5, clamped to the edge (OpenCV
 *   INTER_LINEAR, TF2 / TF.js `halfPixelCenters`);
 * - bilinear-align-corners: src = d · (in − 1)/(out − 1);
 * - nearest-tf-legacy: src = floor(d · in/out) (tf.image.resizeNearestNeighbor default).
 * Index rules follow tfjs-backend-cpu ResizeBilinear / ResizeNearestNeighbor.
 */
export function axisTaps(inSize: number, outSize: number, method: ResizeMethod): AxisTaps {
  if (!(inSize > 0 && outSize > 0)) throw new Error(`resize: bad sizes ${inSize} → ${outSize}`);
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float64Array(outSize);
  const align = method === "bilinear-align-corners" && outSize > 1;
  const ratio = align ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    if (method === "nearest-tf-legacy") {
      const n = Math.min(inSize - 1, Math.floor(ratio * d));
      lo[d] = n;
      hi[d] = n;
      frac[d] = 0;
      continue;
    }
    const src = method === "bilinear-half-pixel" ? ratio * (d + 0.5) - 0.5 : ratio * d;
    const l = Math.max(0, Math.floor(src));
    const h = Math.min(inSize - 1, Math.ceil(src));
    lo[d] = Math.min(l, inSize - 1);
    hi[d] = Math.max(h, lo[d]);
    frac[d] = lo[d] === hi[d] ? 0 : src - l;
  }
  return { lo, hi, frac };
}

/** Taps already computed, by "in→out:method" (read-only; a dataset has few image sizes). */
const TAPS = new Map<string, AxisTaps>();

/** axisTaps, computed once per (inSize, outSize, method) and shared: read them, never write. */
function sharedTaps(inSize: number, outSize: number, method: ResizeMethod): AxisTaps {
  const key = `${inSize}>${outSize}:${method}`;
  let t = TAPS.get(key);
  if (t === undefined) {
    t = axisTaps(inSize, outSize, method);
    if (TAPS.size >= 256) TAPS.clear();
    TAPS.set(key, t);
  }
  return t;
}

/**
 * Resize a float HWC image with one of the card's methods (see `axisTaps`). Interpolation is
 * done as TF.js does it: top = tl + (tr − tl)·fx, bottom likewise, value = top + (bottom − top)·fy.
 * Same-size resizes return a copy. Reference: tfjs-backend-cpu `ResizeBilinear`; OpenCV
 * `resize` INTER_LINEAR on float input gives the same values as `bilinear-half-pixel`.
 */
export function resizeImage(
  img: FloatImage,
  outWidth: number,
  outHeight: number,
  method: ResizeMethod,
): FloatImage {
  const { width: w, height: h, channels: c, data } = img;
  if (w === outWidth && h === outHeight) {
    return { data: data.slice(), width: w, height: h, channels: c };
  }
  const xs = sharedTaps(w, outWidth, method);
  const ys = sharedTaps(h, outHeight, method);
  const out = new Float32Array(outWidth * outHeight * c);
  let o = 0;
  for (let y = 0; y < outHeight; y++) {
    const rowLo = ys.lo[y] * w * c;
    const rowHi = ys.hi[y] * w * c;
    const fy = ys.frac[y];
    for (let x = 0; x < outWidth; x++) {
      const cl = xs.lo[x] * c;
      const ch = xs.hi[x] * c;
      const fx = xs.frac[x];
      for (let k = 0; k < c; k++) {
        const tl = data[rowLo + cl + k];
        const tr = data[rowLo + ch + k];
        const bl = data[rowHi + cl + k];
        const br = data[rowHi + ch + k];
        const top = tl + (tr - tl) * fx;
        const bottom = bl + (br - bl) * fx;
        out[o++] = top + (bottom - top) * fy;
      }
    }
  }
  return { data: out, width: outWidth, height: outHeight, channels: c };
}

/** 8-bit pixels as floats (0..255), same layout. */
export function toFloatImage(img: RawImage): FloatImage {
  return {
    data: new Float32Array(img.data),
    width: img.width,
    height: img.height,
    channels: img.channels,
  };
}

/** Weighted gray from an RGB float image: g = wR·R + wG·G + wB·B (no rounding). */
export function toGray(
  img: FloatImage,
  weights: readonly [number, number, number] = BT601_WEIGHTS,
): FloatImage {
  if (img.channels === 1) return img;
  if (img.channels !== 3) {
    throw new Error(`image has ${img.channels} channels, expected 1 (gray) or 3 (RGB)`);
  }
  const n = img.width * img.height;
  const out = new Float32Array(n);
  const [wr, wg, wb] = weights;
  const d = img.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = wr * d[j] + wg * d[j + 1] + wb * d[j + 2];
  return { data: out, width: img.width, height: img.height, channels: 1 };
}

/** Replicate a 1-channel image into 3 identical channels. */
export function grayToRgb(img: FloatImage): FloatImage {
  if (img.channels === 3) return img;
  const n = img.width * img.height;
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const v = img.data[i];
    out[3 * i] = v;
    out[3 * i + 1] = v;
    out[3 * i + 2] = v;
  }
  return { data: out, width: img.width, height: img.height, channels: 3 };
}

/**
 * Pad with zeros to a square of side max(width, height).
 * "bottom-right": all padding after the image (face-api `padToSquare(img, false)`);
 * "center": round(diff/2) after and the rest before (face-api `padToSquare(img, true)`).
 */
export function padToSquare(img: FloatImage, mode: "none" | "bottom-right" | "center"): FloatImage {
  const { width: w, height: h, channels: c } = img;
  if (mode === "none" || w === h) return img;
  const side = Math.max(w, h);
  const diff = side - Math.min(w, h);
  const after = mode === "center" ? Math.round(diff * 0.5) : diff;
  const before = diff - after;
  const offX = w < h ? before : 0;
  const offY = h < w ? before : 0;
  const out = new Float32Array(side * side * c);
  for (let y = 0; y < h; y++) {
    out.set(img.data.subarray(y * w * c, (y + 1) * w * c), ((y + offY) * side + offX) * c);
  }
  return { data: out, width: side, height: side, channels: c };
}

/** Integer pixel rectangle (x, y = top-left; clipped to the image). */
export interface PixelRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The crop rectangle for a face box under a card's FaceCropSpec, clipped to the image.
 * - "center": the box grown by `margin`·size on every side, rounded outwards;
 * - "top-left-anchored": x, y kept (truncated), width/height = trunc(size·(1 + margin)),
 *   as faceplugin's `alignExpressionImage` builds its `cv.Rect`.
 * Without a spec the box itself (rounded outwards) is the crop. Throws when the box misses the
 * image entirely.
 */
export function faceCropRect(
  box: FaceBox,
  spec: FaceCropSpec | undefined,
  imageWidth: number,
  imageHeight: number,
): PixelRect {
  let x0: number, y0: number, x1: number, y1: number;
  if (spec !== undefined && spec.anchor === "top-left-anchored") {
    x0 = Math.trunc(box.x);
    y0 = Math.trunc(box.y);
    x1 = x0 + Math.trunc(box.width * (1 + spec.margin));
    y1 = y0 + Math.trunc(box.height * (1 + spec.margin));
  } else {
    const m = spec?.margin ?? 0;
    x0 = Math.floor(box.x - m * box.width);
    y0 = Math.floor(box.y - m * box.height);
    x1 = Math.ceil(box.x + box.width + m * box.width);
    y1 = Math.ceil(box.y + box.height + m * box.height);
  }
  x0 = Math.max(0, x0);
  y0 = Math.max(0, y0);
  x1 = Math.min(imageWidth, x1);
  y1 = Math.min(imageHeight, y1);
  if (x1 <= x0 || y1 <= y0) {
    throw new Error(
      `face box (${box.x}, ${box.y}, ${box.width}x${box.height}) lies outside the ` +
        `${imageWidth}x${imageHeight} image`,
    );
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** Copy a rectangle out of an 8-bit image. */
export function cropPixels(img: RawImage, r: PixelRect): RawImage {
  const c = img.channels;
  const out = new Uint8Array(r.width * r.height * c);
  for (let y = 0; y < r.height; y++) {
    const from = ((r.y + y) * img.width + r.x) * c;
    out.set(img.data.subarray(from, from + r.width * c), y * r.width * c);
  }
  return { data: out, width: r.width, height: r.height, channels: c };
}

/** Number of floats one sample occupies in the input tensor (H·W·C). */
export function sampleLength(input: InputSpec): number {
  return input.height * input.width * input.channels;
}

/**
 * Working memory of `tensorizeInto` (gray before resize, padding), grown when an image needs more
 * and reused by every call: preprocessing allocates nothing per image once it has seen the
 * largest image. Safe because `tensorizeInto` is synchronous and never re-entered.
 */
let scratchGray: Float32Array<ArrayBuffer> = new Float32Array(0);
let scratchPad: Float32Array<ArrayBuffer> = new Float32Array(0);

function grown(buf: Float32Array<ArrayBuffer>, n: number): Float32Array<ArrayBuffer> {
  return buf.length >= n ? buf : new Float32Array(Math.max(n, 2 * buf.length));
}

/**
 * Resize, colour-convert, normalise and lay out one image, before any crop:
 * 1. colour: a gray model on a colour image takes gray before the resize when
 *    `grayBeforeResize` (else after); a colour model on a gray image replicates the channel;
 * 2. pad to square (`padToSquare`), 3. resize (`input.resize`), 4. gray after resize,
 * 5. channel order (RGB or BGR), 6. x' = (x·scale − mean[c]) / std[c], 7. NCHW or NHWC.
 * Writes `sampleLength(input)` floats at `offset` of `out`.
 *
 * The steps are fused into one pass that writes straight into `out`, with the intermediate
 * values rounded to float32 exactly where the step-by-step functions of this module store them
 * (`toFloatImage` → `grayToRgb` / `toGray` → `padToSquare` → `resizeImage` → `toGray`), so the
 * tensor is bit for bit the composition of those functions (tests/preprocess_test.ts checks it).
 * A gray image for a colour model is resized once and written to every channel: its three
 * channels are equal, so their resizes are too.
 */
export function tensorizeInto(
  img: RawImage,
  input: InputSpec,
  out: Float32Array,
  offset: number,
): void {
  if (img.data.length !== img.width * img.height * img.channels) {
    throw new Error(
      `image buffer holds ${img.data.length} bytes, expected ${img.width}x${img.height}x` +
        `${img.channels}`,
    );
  }
  const gray = input.colorOrder === "gray";
  if (gray !== (input.channels === 1)) {
    throw new Error(
      `input.colorOrder "${input.colorOrder}" does not fit input.channels ${input.channels}`,
    );
  }
  const { scale, mean, std } = input.normalization;
  const c = input.channels;
  if (mean.length !== c || std.length !== c) {
    throw new Error(
      `input.normalization: mean and std need ${c} values (one per channel), got ` +
        `${mean.length} and ${std.length}`,
    );
  }
  if (img.channels !== 1 && img.channels !== 3) {
    throw new Error(`image has ${img.channels} channels, expected 1 (gray) or 3 (RGB)`);
  }
  const weights = input.grayWeights ?? BT601_WEIGHTS;
  // 1. The source plane: 8-bit pixels as they are (exact as floats), or gray before the resize.
  let src: Uint8Array | Float32Array = img.data;
  let w = img.width, h = img.height, sc: number = img.channels;
  if (gray && sc === 3 && input.grayBeforeResize === true) {
    const n = w * h;
    scratchGray = grown(scratchGray, n);
    const [wr, wg, wb] = weights;
    const d = img.data;
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      scratchGray[i] = wr * d[j] + wg * d[j + 1] + wb * d[j + 2];
    }
    src = scratchGray;
    sc = 1;
  }
  // 2. Pad to square with zeros (padToSquare's placement).
  const mode = input.padToSquare ?? "none";
  if (mode !== "none" && w !== h) {
    const side = Math.max(w, h);
    const diff = side - Math.min(w, h);
    const before = diff - (mode === "center" ? Math.round(diff * 0.5) : diff);
    const offX = w < h ? before : 0;
    const offY = h < w ? before : 0;
    const n = side * side * sc;
    scratchPad = grown(scratchPad, n);
    const padded = scratchPad;
    padded.fill(0, 0, n);
    for (let y = 0; y < h; y++) {
      padded.set(src.subarray(y * w * sc, (y + 1) * w * sc), ((y + offY) * side + offX) * sc);
    }
    src = padded;
    w = side;
    h = side;
  }
  // 3-7. Resize (or copy), gray after resize, channel order, normalisation, layout.
  const ow = input.width, oh = input.height, hw = ow * oh;
  const same = w === ow && h === oh;
  const xs = same ? undefined : sharedTaps(w, ow, input.resize);
  const ys = same ? undefined : sharedTaps(h, oh, input.resize);
  const grayAfter = gray && sc === 3;
  const [wr, wg, wb] = weights;
  const bgr = input.colorOrder === "BGR";
  const nchw = input.layout === "NCHW";
  // Per output channel k: which value it takes (index into v0..v2), mean and std.
  const m0 = mean[0], s0 = std[0];
  const m1 = c > 1 ? mean[1] : 0, s1 = c > 1 ? std[1] : 1;
  const m2 = c > 2 ? mean[2] : 0, s2 = c > 2 ? std[2] : 1;
  let i = 0;
  for (let y = 0; y < oh; y++) {
    const rowLo = (same ? y : ys!.lo[y]) * w * sc;
    const rowHi = (same ? y : ys!.hi[y]) * w * sc;
    const fy = same ? 0 : ys!.frac[y];
    for (let x = 0; x < ow; x++, i++) {
      let v0: number, v1 = 0, v2 = 0;
      if (same) {
        const p = rowLo + x * sc;
        v0 = src[p];
        if (sc === 3) {
          v1 = src[p + 1];
          v2 = src[p + 2];
        }
      } else {
        const cl = xs!.lo[x] * sc;
        const ch = xs!.hi[x] * sc;
        const fx = xs!.frac[x];
        v0 = lerp2(src, rowLo + cl, rowLo + ch, rowHi + cl, rowHi + ch, fx, fy);
        if (sc === 3) {
          v1 = lerp2(src, rowLo + cl + 1, rowLo + ch + 1, rowHi + cl + 1, rowHi + ch + 1, fx, fy);
          v2 = lerp2(src, rowLo + cl + 2, rowLo + ch + 2, rowHi + cl + 2, rowHi + ch + 2, fx, fy);
        }
      }
      if (grayAfter) v0 = Math.fround(wr * v0 + wg * v1 + wb * v2);
      else if (sc === 1 && c === 3) {
        v1 = v0;
        v2 = v0;
      }
      if (c === 1) {
        out[offset + i] = (v0 * scale - m0) / s0;
      } else {
        // Output channel k takes source channel k (RGB) or 2 − k (BGR).
        const a = bgr ? v2 : v0, b = v1, z = bgr ? v0 : v2;
        if (nchw) {
          out[offset + i] = (a * scale - m0) / s0;
          out[offset + hw + i] = (b * scale - m1) / s1;
          out[offset + 2 * hw + i] = (z * scale - m2) / s2;
        } else {
          const o = offset + 3 * i;
          out[o] = (a * scale - m0) / s0;
          out[o + 1] = (b * scale - m1) / s1;
          out[o + 2] = (z * scale - m2) / s2;
        }
      }
    }
  }
}

/** One bilinear sample as resizeImage computes it, rounded to float32 as it stores it. */
function lerp2(
  d: Uint8Array | Float32Array,
  tlAt: number,
  trAt: number,
  blAt: number,
  brAt: number,
  fx: number,
  fy: number,
): number {
  const tl = d[tlAt], tr = d[trAt], bl = d[blAt], br = d[brAt];
  const top = tl + (tr - tl) * fx;
  const bottom = bl + (br - bl) * fx;
  return Math.fround(top + (bottom - top) * fy);
}

/**
 * Preprocess one image into the model's input tensor (one sample, `sampleLength` floats).
 * With a face `box`, the face is first cropped per the card's `faceCrop` (see `faceCropRect`).
 */
export function preprocess(img: RawImage, card: PreprocessSpec, box?: FaceBox): Float32Array {
  const out = new Float32Array(sampleLength(card.input));
  preprocessInto(img, card, out, 0, box);
  return out;
}

/** Preprocess one image into slot `index` of a preallocated batch buffer. */
export function preprocessInto(
  img: RawImage,
  card: PreprocessSpec,
  out: Float32Array,
  index: number,
  box?: FaceBox,
): void {
  const len = sampleLength(card.input);
  if ((index + 1) * len > out.length) {
    throw new Error(`batch buffer too small for sample ${index} (${out.length} floats)`);
  }
  const src = box === undefined
    ? img
    : cropPixels(img, faceCropRect(box, card.faceCrop, img.width, img.height));
  tensorizeInto(src, card.input, out, index * len);
}

/**
 * Preprocess images into one batch tensor (N·H·W·C floats in the card's layout), reusing
 * `out` when it is large enough. `boxes[i]`, when given, is image i's face box.
 */
export function writeBatch(
  images: readonly RawImage[],
  card: PreprocessSpec,
  out?: Float32Array,
  boxes?: readonly (FaceBox | undefined)[],
): Float32Array {
  const len = sampleLength(card.input);
  const buf = out !== undefined && out.length >= images.length * len
    ? out
    : new Float32Array(images.length * len);
  for (let i = 0; i < images.length; i++) preprocessInto(images[i], card, buf, i, boxes?.[i]);
  return buf;
}

/**
 * A stable text of everything that decides the tensor (input spec + face crop), for cache keys.
 * Bump `PREPROCESS_VERSION` when this module's arithmetic changes.
 */
export function preprocessKey(card: PreprocessSpec): string {
  return JSON.stringify({
    v: PREPROCESS_VERSION,
    input: sortKeys(card.input),
    faceCrop: card.faceCrop === undefined ? null : sortKeys(card.faceCrop),
  });
}

/** Version of the preprocessing arithmetic, part of every prediction cache key. */
export const PREPROCESS_VERSION = 1;

function sortKeys(o: object): unknown {
  const entries = Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries);
}
