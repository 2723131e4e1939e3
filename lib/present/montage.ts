/**
 * Sample montages for notebooks: a few faces per class, cut and decoded from the data at run
 * time (never stored), laid out as one embedded JPEG (or PNG) with the class names as SVG text.
 */
import sharp from "sharp";
import { bytesToBase64 } from "./display.ts";
import {
  type RawImage,
  readSampleImage,
  resizeForDisplay,
  toRgb,
  type UnreadableFile,
} from "../image.ts";
import { escapeXml } from "./format.ts";
import { mulberry32, shuffleInPlace } from "../random.ts";
import type { Sample } from "../sample.ts";
import type { Emotion } from "../taxonomy.ts";

/**
 * Up to `k` samples of each class, drawn without replacement by a seeded shuffle (the same
 * seed gives the same faces on every machine). Classes without samples map to [].
 */
export function pickPerClass(
  samples: readonly Sample[],
  classes: readonly Emotion[],
  k: number,
  seed = 2024,
): Map<Emotion, Sample[]> {
  const out = new Map<Emotion, Sample[]>();
  const rand = mulberry32(seed);
  for (const c of classes) {
    const pool = samples.filter((s) => s.label === c);
    shuffleInPlace(pool, rand);
    out.set(c, pool.slice(0, k));
  }
  return out;
}

/** One montage row: a label and its samples. */
export interface MontageRow {
  label: string;
  samples: readonly Sample[];
}

/** Options for montageSvg. */
export interface MontageOptions {
  /** Tile size in px (default 64). */
  tile?: number;
  /** Tiles per row (default: the longest row). */
  columns?: number;
  /** Title drawn above. */
  title?: string;
  /** JPEG quality of the embedded image, 1..100 (default 85); 0: lossless PNG. */
  quality?: number;
}

/** A montage figure and the images that could not be read (skipped, left blank). */
export interface Montage {
  svg: string;
  unreadable: UnreadableFile[];
  /** Faces drawn. */
  drawn: number;
}

/**
 * Build a montage: each row's faces (face box cut when the sample has one), resized for display
 * to `tile`×`tile`, in one embedded image; row labels as SVG text. An unreadable image is
 * skipped and listed, never thrown.
 */
export async function montageSvg(
  rows: readonly MontageRow[],
  opts: MontageOptions = {},
): Promise<Montage> {
  const tile = opts.tile ?? 64;
  const gap = 2;
  const cols = Math.max(1, opts.columns ?? Math.max(1, ...rows.map((r) => r.samples.length)));
  const width = cols * (tile + gap) - gap;
  const height = Math.max(1, rows.length * (tile + gap) - gap);
  const canvas = new Uint8Array(width * height * 3).fill(255);
  const unreadable: UnreadableFile[] = [];
  let drawn = 0;
  for (let r = 0; r < rows.length; r++) {
    const list = rows[r].samples.slice(0, cols);
    for (let c = 0; c < list.length; c++) {
      let img: RawImage;
      try {
        img = toRgb(await resizeForDisplay(await readSampleImage(list[c]), tile, tile));
      } catch (e) {
        unreadable.push({ file: list[c].id, reason: e instanceof Error ? e.message : String(e) });
        continue;
      }
      const x0 = c * (tile + gap), y0 = r * (tile + gap);
      for (let y = 0; y < tile; y++) {
        canvas.set(
          img.data.subarray(y * tile * 3, (y + 1) * tile * 3),
          ((y0 + y) * width + x0) * 3,
        );
      }
      drawn++;
    }
  }
  const quality = opts.quality ?? 85;
  const raster = sharp(canvas, { raw: { width, height, channels: 3 } });
  const encoded = quality > 0
    ? await raster.jpeg({ quality }).toBuffer()
    : await raster.png().toBuffer();
  const mime = quality > 0 ? "image/jpeg" : "image/png";
  const labelW = Math.max(60, 14 + 7.5 * Math.max(0, ...rows.map((r) => r.label.length)));
  const top = opts.title ? 28 : 4;
  const W = labelW + width + 4;
  const H = top + height + 4;
  const labels = rows.map((row, r) =>
    `<text x="${labelW - 8}" y="${
      top + r * (tile + gap) + tile / 2 + 4
    }" text-anchor="end" font-size="12" fill="#222">${escapeXml(row.label)}</text>`
  ).join("");
  const title = opts.title
    ? `<text x="4" y="18" font-size="14" font-weight="600" fill="#222">${
      escapeXml(opts.title)
    }</text>`
    : "";
  const href = `data:${mime};base64,${bytesToBase64(new Uint8Array(encoded))}`;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ` +
    `width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" style="background:white">` +
    `${title}${labels}<image x="${labelW}" y="${top}" width="${width}" height="${height}" ` +
    `href="${href}" xlink:href="${href}"/></svg>`;
  return { svg, unreadable, drawn };
}
