/**
 * Image decoding and pixel-level helpers shared by the loaders, the engine, saliency and the
 * notebooks. Decoding goes through sharp (libvips): PNG, JPEG, TIFF, WebP. Pixels come out as
 * 8-bit, row-major, interleaved, in the file's stored orientation (EXIF orientation is NOT
 * applied, so face boxes published in stored-pixel coordinates stay valid).
 *
 * Model-specific resizing lives in lib/preprocess.ts, not here.
 */
import sharp from "sharp";
import { decodeSimplePng, pngSize } from "./png.ts";
import type { FaceBox, ImageSource, Sample } from "./sample.ts";
import type { FaceCropSpec } from "./models/card.ts";

export { decodeSimplePng };

/** Decoded 8-bit pixels: row-major, interleaved; 1 = gray, 3 = RGB. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/** A file that cannot be read or decoded; the message names the file. */
export class ImageError extends Error {
  constructor(message: string, readonly file: string) {
    super(`${file}: ${message}`);
    this.name = "ImageError";
  }
}

/** One file that could not be used, with why (what loaders and iterators collect). */
export interface UnreadableFile {
  file: string;
  reason: string;
}

/** Human-readable name of a source, for error messages. */
export function sourceName(source: ImageSource): string {
  return source.kind === "file"
    ? source.path
    : `<pixels ${source.width}x${source.height}x${source.channels}>`;
}

/**
 * Decode an image source into 8-bit pixels. Gray files (PNG/JPEG/TIFF stored as one channel,
 * with or without alpha) stay 1 channel; colour files become 3-channel RGB (CMYK and palette
 * images are converted to sRGB by libvips); alpha is dropped (not composited). 16-bit files are
 * scaled to 8 bits by libvips. A PixelSource is returned as is (its buffer is shared, not copied).
 * Throws ImageError naming the file when it is missing, empty, truncated or not an image.
 */
export async function decodeImage(
  source: ImageSource,
  beforeDecode?: (bytes: number) => Promise<void>,
): Promise<RawImage> {
  if (source.kind === "pixels") {
    const need = source.width * source.height * source.channels;
    if (source.data.length !== need) {
      throw new ImageError(
        `pixel buffer holds ${source.data.length} bytes, expected ${need}`,
        sourceName(source),
      );
    }
    return {
      data: source.data,
      width: source.width,
      height: source.height,
      channels: source.channels,
    };
  }
  const file = source.path;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "file not found" : errorText(e);
    throw new ImageError(why, file);
  }
  if (bytes.length === 0) throw new ImageError("empty file", file);
  return await decodeImageBytes(bytes, file, maxImagePixels(), beforeDecode);
}

/**
 * Decode encoded image bytes (PNG, JPEG, TIFF, WebP) as decodeImage does; `name` is used in
 * error messages. An image of more than `maxPixels` pixels (default: maxImagePixels()) is an
 * ImageError naming its size, raised from its header before any pixel is decoded.
 * `beforeDecode` is called (and awaited) with the bytes the decoded pixels will take, from the
 * header, before any pixel is decoded: a read-ahead waits there for room (lib/read_ahead.ts).
 */
export async function decodeImageBytes(
  bytes: Uint8Array,
  name: string,
  maxPixels: number = maxImagePixels(),
  beforeDecode?: (bytes: number) => Promise<void>,
): Promise<RawImage> {
  const png = pngSize(bytes);
  if (png !== null) {
    checkPixelLimit(png.width, png.height, name, maxPixels);
    await beforeDecode?.(png.width * png.height * (png.gray ? 1 : 3));
    const fast = decodeSimplePng(bytes);
    if (fast !== null) return fast;
  }
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>["metadata"]>>;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata(); // header only
  } catch (e) {
    throw new ImageError(`cannot decode image: ${errorText(e)}`, name);
  }
  checkPixelLimit(meta.width ?? 0, meta.height ?? 0, name, maxPixels);
  const gray = meta.space === "b-w" || meta.space === "grey16";
  if (png === null) await beforeDecode?.((meta.width ?? 0) * (meta.height ?? 0) * (gray ? 1 : 3));
  try {
    // failOn "error": a truncated or corrupt file is an error, not a partially grey image.
    const img = sharp(bytes, { failOn: "error", limitInputPixels: maxPixels });
    img.toColourspace(gray ? "b-w" : "srgb").removeAlpha();
    const { data, info } = await img.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 1 && info.channels !== 3) {
      throw new Error(`unexpected channel count ${info.channels} after decoding`);
    }
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      channels: info.channels,
    };
  } catch (e) {
    throw new ImageError(`cannot decode image: ${errorText(e)}`, name);
  }
}

/** Default largest image decoded, in pixels (width × height): 50 megapixels. */
export const DEFAULT_MAX_IMAGE_PIXELS = 50_000_000;

/** The pixel limit: `FER_MAX_PIXELS` when set to a positive integer, else the default. */
export function maxImagePixels(): number {
  const v = Number(Deno.env.get("FER_MAX_PIXELS"));
  return Number.isInteger(v) && v > 0 ? v : DEFAULT_MAX_IMAGE_PIXELS;
}

/** ImageError naming the file and its size when width × height is over the pixel limit. */
function checkPixelLimit(width: number, height: number, name: string, max: number): void {
  if (width * height > max) {
    throw new ImageError(
      `${width}x${height} pixels (${(width * height / 1e6).toFixed(1)} megapixels) is over the ` +
        `limit of ${(max / 1e6).toFixed(1)} megapixels; not decoded (FER_MAX_PIXELS raises it)`,
      name,
    );
  }
}

/** Integer pixel rectangle [x0, x1) × [y0, y1). */
export interface PixelRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * The rectangle cut for a face box grown by `margin`, clamped to a `width`×`height` image.
 * "center": each side moves out by margin × box size (width grows by 2·margin·w);
 * "top-left-anchored": x, y kept, width and height multiplied by (1 + margin)
 * (see FaceCropSpec in lib/models/card.ts). Edges are rounded to the nearest pixel
 * (Math.round) before clamping. Throws when the grown box does not overlap the image.
 */
export function cropRect(
  width: number,
  height: number,
  box: FaceBox,
  margin = 0,
  anchor: FaceCropSpec["anchor"] = "center",
): PixelRect {
  let x = box.x, y = box.y, w = box.width, h = box.height;
  if (anchor === "center") {
    x -= margin * w;
    y -= margin * h;
    w *= 1 + 2 * margin;
    h *= 1 + 2 * margin;
  } else {
    w *= 1 + margin;
    h *= 1 + margin;
  }
  const x0 = Math.max(0, Math.min(width, Math.round(x)));
  const y0 = Math.max(0, Math.min(height, Math.round(y)));
  const x1 = Math.max(0, Math.min(width, Math.round(x + w)));
  const y1 = Math.max(0, Math.min(height, Math.round(y + h)));
  if (x1 <= x0 || y1 <= y0) {
    throw new RangeError(
      `face box (x ${box.x}, y ${box.y}, w ${box.width}, h ${box.height}) lies outside the ` +
        `${width}x${height} image`,
    );
  }
  return { x0, y0, x1, y1 };
}

/**
 * Cut a face box (grown by `margin`, see cropRect) out of an image; pure, the result is a new
 * image clamped to the source's bounds (no padding).
 */
export function cropBox(
  img: RawImage,
  box: FaceBox,
  margin = 0,
  anchor: FaceCropSpec["anchor"] = "center",
): RawImage {
  const r = cropRect(img.width, img.height, box, margin, anchor);
  const w = r.x1 - r.x0, h = r.y1 - r.y0, c = img.channels;
  const out = new Uint8Array(w * h * c);
  for (let row = 0; row < h; row++) {
    const from = ((r.y0 + row) * img.width + r.x0) * c;
    out.set(img.data.subarray(from, from + w * c), row * w * c);
  }
  return { data: out, width: w, height: h, channels: c };
}

/** ITU-R BT.601 luma weights (R, G, B), as OpenCV's cvtColor RGB2GRAY and PIL's "L" use. */
export const BT601: readonly [number, number, number] = [0.299, 0.587, 0.114];

/**
 * Convert to one gray channel; pure. Default: BT.601 luma computed exactly as OpenCV 4.x's
 * `cvtColor(RGB2GRAY)` does for 8-bit data, in 15-bit fixed point:
 * Y = (9798·R + 19235·G + 3735·B + 16384) >> 15 (checked bit-identical to cv2 4.6 over all
 * 2^24 colours; OpenCV 3.x used 14-bit weights 4899/9617/1868 and differs on ~0.3 % of pixels).
 * With explicit `weights` (e.g. TF.js's [0.2989, 0.587, 0.114]): Y = round(wR·R + wG·G + wB·B),
 * clamped to 0..255. A gray image is returned as is.
 */
export function toGray(img: RawImage, weights?: readonly [number, number, number]): RawImage {
  if (img.channels === 1) return img;
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  const d = img.data;
  if (weights === undefined) {
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      out[i] = (9798 * d[j] + 19235 * d[j + 1] + 3735 * d[j + 2] + 16384) >> 15;
    }
  } else {
    const [wr, wg, wb] = weights;
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      const y = Math.round(wr * d[j] + wg * d[j + 1] + wb * d[j + 2]);
      out[i] = y < 0 ? 0 : y > 255 ? 255 : y;
    }
  }
  return { data: out, width: img.width, height: img.height, channels: 1 };
}

/** Convert to 3-channel RGB; pure. Gray is replicated into R, G and B; RGB is returned as is. */
export function toRgb(img: RawImage): RawImage {
  if (img.channels === 3) return img;
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const v = img.data[i];
    out[j] = v;
    out[j + 1] = v;
    out[j + 2] = v;
  }
  return { data: out, width: img.width, height: img.height, channels: 3 };
}

/** Options for readSampleImage. */
export interface ReadSampleOptions {
  /** How to grow the sample's face box before cutting (default: margin 0, centred). */
  crop?: FaceCropSpec;
  /** Cut the face box when the sample has one (default true). */
  useBox?: boolean;
  /** Convert the result: "gray" (toGray), "rgb" (toRgb) or "keep" (default). */
  color?: "gray" | "rgb" | "keep";
  /** Luma weights for color "gray" (default BT.601 as OpenCV computes it). */
  grayWeights?: readonly [number, number, number];
}

/**
 * Decode a sample's image and cut its face box (when it has one), optionally converting the
 * colour. Throws ImageError naming the file for an unreadable image or a box outside it.
 */
export async function readSampleImage(
  sample: Sample,
  opts: ReadSampleOptions = {},
): Promise<RawImage> {
  let img = await decodeImage(sample.source);
  if (sample.box !== undefined && opts.useBox !== false) {
    try {
      img = cropBox(img, sample.box, opts.crop?.margin ?? 0, opts.crop?.anchor ?? "center");
    } catch (e) {
      throw new ImageError(errorText(e), sourceName(sample.source));
    }
  }
  if (opts.color === "gray") img = toGray(img, opts.grayWeights);
  else if (opts.color === "rgb") img = toRgb(img);
  return img;
}

/**
 * Decode every sample's image (readSampleImage, so boxes are cut) with bounded concurrency
 * (default 4 in flight), calling `visit` for each decoded one as it completes; unreadable images
 * are collected (file + reason), never thrown. Returns the unreadable list and how many decoded.
 */
export async function forEachSampleImage(
  samples: readonly Sample[],
  visit: (sample: Sample, img: RawImage) => void | Promise<void>,
  opts: ReadSampleOptions & { concurrency?: number } = {},
): Promise<{ unreadable: UnreadableFile[]; ok: number }> {
  const unreadable: UnreadableFile[] = [];
  let ok = 0;
  let next = 0;
  const worker = async () => {
    while (next < samples.length) {
      const s = samples[next++];
      let img: RawImage;
      try {
        img = await readSampleImage(s, opts);
      } catch (e) {
        if (!(e instanceof ImageError)) throw e;
        unreadable.push({ file: e.file, reason: e.message.slice(e.file.length + 2) });
        continue;
      }
      ok++;
      await visit(s, img);
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency ?? 4, samples.length));
  await Promise.all(Array.from({ length: n }, worker));
  return { unreadable, ok };
}

/**
 * Encode pixels as PNG bytes (for montages, fixtures and the report); lossless, 8-bit.
 */
export async function encodePng(img: RawImage): Promise<Uint8Array> {
  const buf = await sharp(img.data, {
    raw: { width: img.width, height: img.height, channels: img.channels },
  }).png().toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Resize for display (montages, report thumbnails) with sharp's default Lanczos-3 kernel.
 * NOT a model preprocessing step: models use lib/preprocess.ts.
 */
export async function resizeForDisplay(
  img: RawImage,
  width: number,
  height: number,
): Promise<RawImage> {
  const { data, info } = await sharp(img.data, {
    raw: { width: img.width, height: img.height, channels: img.channels },
  }).resize(width, height, { fit: "fill" }).raw().toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
    channels: info.channels === 1 ? 1 : 3,
  };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
