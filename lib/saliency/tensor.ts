/**
 * The model-input tensor of one image as the saliency methods see it, the maps they return,
 * and the pixel-level helpers they share (blend towards a baseline, blur, resize).
 * All methods work at the model's input resolution: a "pixel" is one (y, x) position of the
 * input tensor, covering all its channels.
 */

/** Shape of one image's input tensor (no batch dimension). */
export interface TensorShape {
  channels: number;
  height: number;
  width: number;
  /** Memory layout of the batched tensor the model takes. */
  layout: "NCHW" | "NHWC";
}

/** A saliency map: one value per input pixel, row-major, `height` x `width`. */
export interface SaliencyMap {
  width: number;
  height: number;
  data: Float32Array;
}

/** What replaces removed or occluded pixels. */
export type BaselineKind = "zero" | "mean" | "blur";

/** Number of values in one image's tensor. */
export function tensorSize(shape: TensorShape): number {
  return shape.channels * shape.height * shape.width;
}

/** Throws a clear error when `x` does not hold exactly one image of `shape`. */
export function checkTensor(x: Float32Array, shape: TensorShape, what = "input tensor"): void {
  const n = tensorSize(shape);
  if (x.length !== n) {
    throw new Error(
      `${what} has ${x.length} values; the model takes ${shape.channels}x${shape.height}x${shape.width} = ${n}`,
    );
  }
}

/**
 * Index of element (channel c, pixel p = y * width + x) of one image in `shape`'s layout.
 * NCHW: c * H * W + p; NHWC: p * C + c.
 */
export function elementIndex(shape: TensorShape, c: number, p: number): number {
  return shape.layout === "NCHW" ? c * shape.height * shape.width + p : p * shape.channels + c;
}

/**
 * Blend every pixel of `x` towards `baseline` by the pixel weight `keep` (1 = keep x, 0 = baseline):
 * out = baseline + keep * (x - baseline), written into `out` at `offset`. `keep` has one value
 * per pixel (height * width); `x`, `baseline` one image each.
 */
export function blendInto(
  out: Float32Array,
  offset: number,
  x: Float32Array,
  baseline: Float32Array,
  keep: Float32Array,
  shape: TensorShape,
): void {
  const hw = shape.height * shape.width;
  const ch = shape.channels;
  if (shape.layout === "NCHW") {
    for (let c = 0; c < ch; c++) {
      const base = c * hw;
      for (let p = 0; p < hw; p++) {
        const b = baseline[base + p];
        out[offset + base + p] = b + keep[p] * (x[base + p] - b);
      }
    }
  } else {
    for (let p = 0; p < hw; p++) {
      const k = keep[p];
      const base = p * ch;
      for (let c = 0; c < ch; c++) {
        const b = baseline[base + c];
        out[offset + base + c] = b + k * (x[base + c] - b);
      }
    }
  }
}

/**
 * Separable Gaussian blur of every channel of one image (standard deviation `sigma` in pixels,
 * kernel radius ceil(3 sigma), edges clamped). Returns a new tensor.
 */
export function gaussianBlur(x: Float32Array, shape: TensorShape, sigma: number): Float32Array {
  checkTensor(x, shape);
  if (!(sigma > 0)) return x.slice();
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
    sum += kernel[i + radius];
  }
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  const { height: h, width: w, channels: ch } = shape;
  const out = new Float32Array(x.length);
  const plane = new Float32Array(h * w);
  const tmp = new Float32Array(h * w);
  for (let c = 0; c < ch; c++) {
    for (let p = 0; p < h * w; p++) plane[p] = x[elementIndex(shape, c, p)];
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        let s = 0;
        for (let k = -radius; k <= radius; k++) {
          const xi = Math.min(w - 1, Math.max(0, xx + k));
          s += kernel[k + radius] * plane[y * w + xi];
        }
        tmp[y * w + xx] = s;
      }
    }
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        let s = 0;
        for (let k = -radius; k <= radius; k++) {
          const yi = Math.min(h - 1, Math.max(0, y + k));
          s += kernel[k + radius] * tmp[yi * w + xx];
        }
        out[elementIndex(shape, c, y * w + xx)] = s;
      }
    }
  }
  return out;
}

/** Options that define a baseline image. */
export interface BaselineOptions {
  kind: BaselineKind;
  /** Tensor value of a black pixel per channel (from the model's normalisation); default 0. */
  black?: readonly number[];
  /** Blur standard deviation in pixels for kind "blur"; default width / 16. */
  blurSigma?: number;
}

/**
 * The baseline image that replaces removed pixels:
 * "zero" = black pixels (the tensor value of pixel 0 under the model's normalisation, or 0);
 * "mean" = each channel's mean over the image; "blur" = a Gaussian-blurred copy of the image.
 */
export function makeBaseline(
  x: Float32Array,
  shape: TensorShape,
  opts: BaselineOptions,
): Float32Array {
  checkTensor(x, shape);
  const hw = shape.height * shape.width;
  const out = new Float32Array(x.length);
  if (opts.kind === "blur") {
    return gaussianBlur(x, shape, opts.blurSigma ?? shape.width / 16);
  }
  for (let c = 0; c < shape.channels; c++) {
    let v = 0;
    if (opts.kind === "zero") {
      v = opts.black?.[c] ?? opts.black?.[0] ?? 0;
    } else {
      for (let p = 0; p < hw; p++) v += x[elementIndex(shape, c, p)];
      v /= hw;
    }
    for (let p = 0; p < hw; p++) out[elementIndex(shape, c, p)] = v;
  }
  return out;
}

/**
 * Bilinear resize of a map to `width` x `height` (half-pixel centres, edges clamped, as OpenCV
 * INTER_LINEAR). Returns the map itself when the size already matches.
 */
export function resizeMap(map: SaliencyMap, width: number, height: number): SaliencyMap {
  if (map.width === width && map.height === height) return map;
  const out = new Float32Array(width * height);
  const sx = map.width / width;
  const sy = map.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(map.height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(map.height - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(map.width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(map.width - 1, x0 + 1);
      const wx = fx - x0;
      const top = map.data[y0 * map.width + x0] * (1 - wx) + map.data[y0 * map.width + x1] * wx;
      const bot = map.data[y1 * map.width + x0] * (1 - wx) + map.data[y1 * map.width + x1] * wx;
      out[y * width + x] = top * (1 - wy) + bot * wy;
    }
  }
  return { width, height, data: out };
}

/** Index and value of a map's maximum (first one on ties). */
export function argmaxMap(map: SaliencyMap): { x: number; y: number; value: number } {
  let best = 0;
  for (let i = 1; i < map.data.length; i++) if (map.data[i] > map.data[best]) best = i;
  return { x: best % map.width, y: Math.floor(best / map.width), value: map.data[best] };
}

/**
 * Where a map peaks, or that it has no peak: a map whose values all lie within `tolerance` of
 * one another (default 1e-6, score units) is flat, and the first pixel of a flat map is no
 * location (a constant image under occlusion by its mean gives one).
 */
export type MapPeak =
  | { flat: false; x: number; y: number; value: number }
  | { flat: true; value: number };

/** The peak of `map` (`argmaxMap`), or `{flat: true}` when max − min ≤ `tolerance`. */
export function mapPeak(map: SaliencyMap, tolerance = 1e-6): MapPeak {
  const peak = argmaxMap(map);
  let lo = peak.value;
  for (const v of map.data) lo = Math.min(lo, v);
  return peak.value - lo <= tolerance
    ? { flat: true, value: peak.value }
    : { flat: false, ...peak };
}
