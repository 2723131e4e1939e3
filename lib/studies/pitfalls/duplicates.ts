/**
 * Pitfall 4: duplicates and leakage. The same face twice in a dataset, once in training and once
 * in test, lets a model be scored on what it has seen. Two passes:
 * - exact duplicates: identical decoded pixels (SHA-256 of the pixel bytes);
 * - near duplicates: a 64-bit difference hash (dHash: the image's gray mean over a 9×8 grid of
 *   cells, one bit per horizontal neighbour pair, 1 when the left cell is brighter) within a
 *   stated Hamming distance. Candidate pairs come from multi-index hashing (the 64 bits cut into
 *   t + 1 bands: two hashes within distance t agree exactly on at least one band), then every
 *   candidate's full distance is checked, so the search finds every pair within t.
 * And, for datasets whose faces come from shared photographs (ExpW), how many photographs have
 * faces on both sides of a face-level split.
 */
import { createHash } from "node:crypto";
import type { BootstrapInterval } from "../../metrics/mod.ts";
import { forEachSampleImage, type RawImage } from "../../image.ts";
import type { LoadedDataset } from "../../datasets/types.ts";
import { cachedJson } from "../cache.ts";
import type { Sample, Split } from "../../sample.ts";
import { studyInterval } from "../scoring.ts";
import { shareOf } from "./labels.ts";
import { emptyInterval } from "./runs.ts";

/** SHA-256 (hex) of an image's size, channels and pixel bytes: equal for identical pixels. */
export function pixelKey(img: RawImage): string {
  return createHash("sha256").update(`${img.width}x${img.height}x${img.channels}:`)
    .update(img.data).digest("hex");
}

/** Gray value of pixel i (BT.601 for colour). */
function grayAt(img: RawImage, i: number): number {
  if (img.channels === 1) return img.data[i];
  const j = i * img.channels;
  return 0.299 * img.data[j] + 0.587 * img.data[j + 1] + 0.114 * img.data[j + 2];
}

/**
 * The 64-bit difference hash of an image, as 16 hex digits: the mean gray value over each cell
 * of a 9 (wide) × 8 (high) grid, cell edges at floor(k·size/cells); bit r·8 + c (most
 * significant first) is 1 when cell (r, c) is brighter than cell (r, c + 1). Images smaller than
 * 9 × 8 pixels are rejected.
 */
export function differenceHash(img: RawImage): string {
  const { width: w, height: h } = img;
  if (w < 9 || h < 8) throw new RangeError(`differenceHash: image ${w}×${h} is below 9×8`);
  const cells = new Float64Array(72);
  for (let r = 0; r < 8; r++) {
    const y0 = Math.floor((r * h) / 8), y1 = Math.floor(((r + 1) * h) / 8);
    for (let c = 0; c < 9; c++) {
      const x0 = Math.floor((c * w) / 9), x1 = Math.floor(((c + 1) * w) / 9);
      let sum = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += grayAt(img, y * w + x);
      cells[r * 9 + c] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  let hex = "";
  for (let nib = 0; nib < 16; nib++) {
    let v = 0;
    for (let b = 0; b < 4; b++) {
      const bit = nib * 4 + b, r = Math.floor(bit / 8), c = bit % 8;
      v = (v << 1) | (cells[r * 9 + c] > cells[r * 9 + c + 1] ? 1 : 0);
    }
    hex += v.toString(16);
  }
  return hex;
}

const POP4 = [0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4];

/** Hamming distance of two 16-hex-digit hashes. */
export function hammingDistance(a: string, b: string): number {
  if (a.length !== b.length) throw new Error(`hashes of different lengths: ${a}, ${b}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d += POP4[parseInt(a[i], 16) ^ parseInt(b[i], 16)];
  return d;
}

function words(hex: string): [number, number] {
  return [parseInt(hex.slice(0, 8), 16) >>> 0, parseInt(hex.slice(8, 16), 16) >>> 0];
}

function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Bits lo..hi-1 (0 = most significant) of a 64-bit hash held as two words, as a number. */
function band(w: [number, number], lo: number, hi: number): number {
  let v = 0;
  for (let b = lo; b < hi; b++) {
    const word = b < 32 ? w[0] : w[1];
    v = v * 2 + ((word >>> (31 - (b % 32))) & 1);
  }
  return v;
}

/** A pair of images (indices into the hashed list, i < j) and their hash distance. */
export interface ImagePair {
  i: number;
  j: number;
  distance: number;
}

/**
 * Every pair of hashes within Hamming distance `maxDistance` (multi-index hashing, exact: see the
 * module comment), sorted by (i, j). Equal hashes are searched once and their pairs expanded.
 * `maxDistance` must be 0..15.
 */
export function nearPairs(hashes: readonly string[], maxDistance: number): ImagePair[] {
  if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > 15) {
    throw new RangeError(`maxDistance ${maxDistance} is not an integer in 0..15`);
  }
  const members = new Map<string, number[]>();
  hashes.forEach((h, i) => {
    const list = members.get(h);
    if (list) list.push(i);
    else members.set(h, [i]);
  });
  const unique = [...members.keys()];
  const w = unique.map(words);
  const out: ImagePair[] = [];
  const expand = (a: number, b: number, d: number) => {
    for (const i of members.get(unique[a])!) {
      for (const j of members.get(unique[b])!) {
        out.push({ i: Math.min(i, j), j: Math.max(i, j), distance: d });
      }
    }
  };
  for (const list of members.values()) {
    for (let x = 0; x < list.length; x++) {
      for (let y = x + 1; y < list.length; y++) out.push({ i: list[x], j: list[y], distance: 0 });
    }
  }
  const bands = maxDistance + 1;
  const edges = Array.from({ length: bands + 1 }, (_, b) => Math.floor((b * 64) / bands));
  const keys = w.map((x) => edges.slice(0, -1).map((lo, b) => band(x, lo, edges[b + 1])));
  for (let b = 0; b < bands && maxDistance > 0; b++) {
    const buckets = new Map<number, number[]>();
    keys.forEach((k, u) => {
      const list = buckets.get(k[b]);
      if (list) list.push(u);
      else buckets.set(k[b], [u]);
    });
    for (const list of buckets.values()) {
      for (let x = 0; x < list.length; x++) {
        for (let y = x + 1; y < list.length; y++) {
          const u = list[x], v = list[y];
          // Count a pair in the first band it agrees on only.
          let earlier = false;
          for (let e = 0; e < b && !earlier; e++) earlier = keys[u][e] === keys[v][e];
          if (earlier) continue;
          const d = popcount32(w[u][0] ^ w[v][0]) + popcount32(w[u][1] ^ w[v][1]);
          if (d <= maxDistance) expand(u, v, d);
        }
      }
    }
  }
  return out.sort((a, b) => a.i - b.i || a.j - b.j);
}

/** One image's hashes. */
export interface HashedImage {
  id: string;
  split: Split;
  pixel: string;
  dhash: string;
}

/** A duplicate pair found, by id. */
export interface DuplicatePair {
  a: string;
  b: string;
  /** "exact" (identical pixels) or "near" (dHash within the threshold, pixels differ). */
  kind: "exact" | "near";
  distance: number;
  /** The two splits, sorted ("test/train"). */
  splits: string;
}

/**
 * Exact and near duplicate pairs among hashed images (identical pixels give identical dHashes, so
 * every exact pair is within any threshold). Pure.
 */
export function findDuplicates(
  images: readonly HashedImage[],
  maxDistance: number,
): DuplicatePair[] {
  return nearPairs(images.map((x) => x.dhash), maxDistance).map(({ i, j, distance }) => {
    const a = images[i], b = images[j];
    return {
      a: a.id,
      b: b.id,
      kind: a.pixel === b.pixel ? "exact" as const : "near" as const,
      distance,
      splits: [a.split, b.split].sort().join("/"),
    };
  });
}

/** Per split, how many of its images have a duplicate in another split (`other`). */
export interface LeakShare {
  split: Split;
  other: Split;
  kind: "exact" | "exact or near";
  images: number;
  withDuplicate: number;
  /** withDuplicate / images, bootstrap interval over the split's images. */
  share: BootstrapInterval;
}

/** How many images of `split` have an exact (or exact-or-near) duplicate in `other`. */
export function leakShare(
  images: readonly HashedImage[],
  pairs: readonly DuplicatePair[],
  split: Split,
  other: Split,
  kind: "exact" | "exact or near",
): LeakShare {
  const splitOf = new Map(images.map((x) => [x.id, x.split]));
  const hit = new Set<string>();
  for (const p of pairs) {
    if (kind === "exact" && p.kind !== "exact") continue;
    const sa = splitOf.get(p.a), sb = splitOf.get(p.b);
    if (sa === split && sb === other) hit.add(p.a);
    if (sb === split && sa === other) hit.add(p.b);
  }
  const mine = images.filter((x) => x.split === split);
  const flags = Uint8Array.from(mine, (x) => (hit.has(x.id) ? 1 : 0));
  return {
    split,
    other,
    kind,
    images: mine.length,
    withDuplicate: hit.size,
    share: mine.length === 0 ? emptyInterval() : studyInterval(mine.length, shareOf(flags)),
  };
}

/** Photographs with faces on both sides of a split (faces grouped by `group`). */
export interface GroupLeak {
  /** Photographs with at least one test face. */
  testGroups: number;
  /** Of those, photographs that also have a training face. */
  sharedGroups: number;
  testFaces: number;
  /** Test faces whose photograph has a training face. */
  leakedFaces: number;
  /** leakedFaces / testFaces, bootstrap interval over test faces. */
  share: BootstrapInterval;
}

/** How many test faces share a photograph (group) with a training face. Pure. */
export function groupLeak(samples: readonly Sample[]): GroupLeak {
  const trainGroups = new Set(samples.filter((s) => s.split === "train").map(groupOf));
  const test = samples.filter((s) => s.split === "test");
  const testGroups = new Set(test.map(groupOf));
  const flags = Uint8Array.from(test, (s) => (trainGroups.has(groupOf(s)) ? 1 : 0));
  const leaked = flags.reduce((a, b) => a + b, 0);
  return {
    testGroups: testGroups.size,
    sharedGroups: [...testGroups].filter((g) => trainGroups.has(g)).length,
    testFaces: test.length,
    leakedFaces: leaked,
    share: test.length === 0 ? emptyInterval() : studyInterval(test.length, shareOf(flags)),
  };
}

function groupOf(s: Sample): string {
  return s.group ?? s.id;
}

/**
 * Hash every sample's image (pixel key and dHash), cached as a study result keyed by the
 * dataset hash: the first run decodes every image, later runs read one JSON file. Unreadable
 * images are left out and counted.
 */
export async function hashDataset(
  dataset: Pick<LoadedDataset, "samples" | "hash">,
): Promise<{ images: HashedImage[]; unreadable: number; cached: boolean }> {
  const r = await cachedJson("pitfalls-hashes", { dataset: dataset.hash, v: 1 }, async () => {
    const byId = new Map<string, HashedImage>();
    const { unreadable } = await forEachSampleImage(dataset.samples, (s, img) => {
      byId.set(s.id, {
        id: s.id,
        split: s.split,
        pixel: pixelKey(img),
        dhash: differenceHash(img),
      });
    });
    const images = dataset.samples.flatMap((s) => byId.get(s.id) ?? []);
    return { images, unreadable: unreadable.length };
  });
  return { ...r.value, cached: r.hit };
}
