/**
 * Heat-map output: saliency overlaid on the face as PNG (via sharp), montages of several
 * overlays, and the map as plain data for Observable Plot in notebooks.
 */
import { Buffer } from "node:buffer";
import sharp, { type OverlayOptions as SharpOverlay } from "sharp";
import { escapeXml } from "../present/format.ts";
import { infernoTable } from "./colormap.ts";
import type { SaliencyMap } from "./tensor.ts";
import { resizeMap } from "./tensor.ts";

/** 8-bit face pixels, row-major, interleaved channels. */
export interface FacePixels {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/** Options for `overlayPng` and `heatmapRgb`. */
export interface OverlayOptions {
  /** Heat-map opacity over the face, 0..1; default 0.5. */
  alpha?: number;
  /**
   * Output magnification of the face; default the smallest integer making the longer side at
   * least 192 px (4 for 48x48 faces).
   */
  scale?: number;
  /**
   * How map values become colours: "minmax" (default: map minimum to the darkest colour,
   * maximum to the brightest), "positive" (0 and below darkest, maximum brightest), or an
   * explicit [low, high] range shared by several maps.
   */
  range?: "minmax" | "positive" | readonly [number, number];
  /** "overlay" (default) or "side-by-side": face, heat map alone, overlay. */
  layout?: "overlay" | "side-by-side";
}

function valueRange(map: SaliencyMap, range: OverlayOptions["range"]): [number, number] {
  if (Array.isArray(range)) return [range[0], range[1]];
  let lo = Infinity, hi = -Infinity;
  for (const v of map.data) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (range === "positive") lo = 0;
  return [lo, hi];
}

/** Map values as RGB colours (inferno), width x height x 3 bytes, in the chosen range. */
export function heatmapRgb(
  map: SaliencyMap,
  range: OverlayOptions["range"] = "minmax",
): Uint8Array {
  const [lo, hi] = valueRange(map, range);
  const lut = infernoTable();
  const out = new Uint8Array(map.width * map.height * 3);
  const span = hi - lo;
  for (let p = 0; p < map.data.length; p++) {
    const t = span > 0 ? (map.data[p] - lo) / span : 0;
    const i = Math.round(Math.min(1, Math.max(0, t)) * 255) * 3;
    out[p * 3] = lut[i];
    out[p * 3 + 1] = lut[i + 1];
    out[p * 3 + 2] = lut[i + 2];
  }
  return out;
}

function defaultScale(w: number, h: number): number {
  return Math.max(1, Math.ceil(192 / Math.max(w, h)));
}

/** The face as RGB at `width` x `height` (sharp, Lanczos resampling). */
async function faceRgb(face: FacePixels, width: number, height: number): Promise<Uint8Array> {
  const buf = await sharp(face.data, {
    raw: { width: face.width, height: face.height, channels: face.channels },
  }).resize(width, height, { fit: "fill" }).toColourspace("srgb").removeAlpha().raw()
    .toBuffer({ resolveWithObject: true });
  const { data, info } = buf;
  if (info.channels === 3) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const v = data[p * info.channels];
    rgb[p * 3] = v;
    rgb[p * 3 + 1] = v;
    rgb[p * 3 + 2] = v;
  }
  return rgb;
}

/**
 * RGB pixels of the overlay (face blended with the heat map) at the face's size times
 * `scale`: out = (1 - alpha) face + alpha colour. The map is resized bilinearly to fit the
 * face whatever its own resolution (model input vs source image).
 */
export async function overlayRgb(
  face: FacePixels,
  map: SaliencyMap,
  opts: OverlayOptions = {},
): Promise<{ width: number; height: number; rgb: Uint8Array }> {
  const scale = opts.scale ?? defaultScale(face.width, face.height);
  const width = Math.round(face.width * scale);
  const height = Math.round(face.height * scale);
  const alpha = Math.min(1, Math.max(0, opts.alpha ?? 0.5));
  const [lo, hi] = valueRange(map, opts.range ?? "minmax");
  const heat = heatmapRgb(resizeMap(map, width, height), [lo, hi]);
  const base = await faceRgb(face, width, height);
  const side = opts.layout === "side-by-side";
  const outW = side ? width * 3 : width;
  const out = new Uint8Array(outW * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = Math.round((1 - alpha) * base[s + c] + alpha * heat[s + c]);
        if (side) {
          out[(y * outW + x) * 3 + c] = base[s + c];
          out[(y * outW + width + x) * 3 + c] = heat[s + c];
          out[(y * outW + 2 * width + x) * 3 + c] = v;
        } else {
          out[s + c] = v;
        }
      }
    }
  }
  return { width: outW, height, rgb: out };
}

/** PNG bytes of RGB pixels. */
export async function rgbToPng(
  rgb: Uint8Array,
  width: number,
  height: number,
): Promise<Uint8Array> {
  const png = await sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** The saliency map overlaid on the face, as PNG bytes (see `overlayRgb` for the options). */
export async function overlayPng(
  face: FacePixels,
  map: SaliencyMap,
  opts: OverlayOptions = {},
): Promise<Uint8Array> {
  const o = await overlayRgb(face, map, opts);
  return await rgbToPng(o.rgb, o.width, o.height);
}

/** One montage tile: a face, its map and a caption under it. */
export interface MontageTile {
  face: FacePixels;
  map: SaliencyMap;
  caption?: string;
}

/** Options for `montagePng`. */
export interface MontageOptions extends Omit<OverlayOptions, "layout"> {
  /** Row titles, drawn left of each row. */
  rowTitles?: readonly string[];
  /** Column titles, drawn above the columns. */
  columnTitles?: readonly string[];
}

/**
 * A grid of overlays (rows x columns; a row may be shorter, null leaves a cell empty) as one
 * PNG, with optional captions and row / column titles (SVG text rendered by sharp).
 */
export async function montagePng(
  rows: readonly (readonly (MontageTile | null)[])[],
  opts: MontageOptions = {},
): Promise<Uint8Array> {
  const first = rows.flat().find((t): t is MontageTile => t !== null);
  if (!first) throw new Error("montagePng: no tiles");
  const scale = opts.scale ?? defaultScale(first.face.width, first.face.height);
  const tw = Math.round(first.face.width * scale);
  const th = Math.round(first.face.height * scale);
  const caption = 18;
  const left = opts.rowTitles ? 110 : 0;
  const top = opts.columnTitles ? 24 : 0;
  const cols = Math.max(...rows.map((r) => r.length));
  const gap = 6;
  const width = left + cols * (tw + gap);
  const height = top + rows.length * (th + caption + gap);
  const composites: SharpOverlay[] = [];
  const texts: string[] = [];
  for (let r = 0; r < rows.length; r++) {
    for (let c = 0; c < rows[r].length; c++) {
      const tile = rows[r][c];
      if (!tile) continue;
      const face = { ...tile.face };
      const o = await overlayRgb(face, tile.map, {
        ...opts,
        scale: tw / face.width,
        layout: "overlay",
      });
      const x = left + c * (tw + gap);
      const y = top + r * (th + caption + gap);
      const tileImg = await sharp(o.rgb, { raw: { width: o.width, height: o.height, channels: 3 } })
        .resize(tw, th, { fit: "fill" }).png().toBuffer();
      composites.push({ input: tileImg, left: x, top: y });
      if (tile.caption) {
        texts.push(
          `<text x="${x + tw / 2}" y="${y + th + 13}" text-anchor="middle">${
            escapeXml(tile.caption)
          }</text>`,
        );
      }
    }
    if (opts.rowTitles?.[r]) {
      const y = top + r * (th + caption + gap) + th / 2;
      texts.push(`<text x="4" y="${y}">${escapeXml(opts.rowTitles[r])}</text>`);
    }
  }
  opts.columnTitles?.forEach((t, c) => {
    texts.push(
      `<text x="${left + c * (tw + gap) + tw / 2}" y="16" text-anchor="middle">${
        escapeXml(t)
      }</text>`,
    );
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<g font-family="sans-serif" font-size="12" fill="#222">${texts.join("")}</g></svg>`;
  composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
  const png = await sharp({
    create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } },
  }).composite(composites).png().toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** A map as a raster for Observable Plot: `Plot.raster(values, {width, height})`. */
export function mapRaster(map: SaliencyMap): { width: number; height: number; values: number[] } {
  return { width: map.width, height: map.height, values: Array.from(map.data) };
}

/** A map as one record per pixel, `{x, y, value}` (x right, y down), e.g. for `Plot.cell`. */
export function mapPoints(map: SaliencyMap): { x: number; y: number; value: number }[] {
  const out: { x: number; y: number; value: number }[] = [];
  for (let y = 0; y < map.height; y++) {
    for (let x = 0; x < map.width; x++) out.push({ x, y, value: map.data[y * map.width + x] });
  }
  return out;
}
