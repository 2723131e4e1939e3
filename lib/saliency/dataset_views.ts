/**
 * Dataset-level views of saliency: class-conditional mean maps over a split (which regions
 * drive "neutral" as against "happy"), and representative cases per class for a montage
 * (correct, typical wrong, most confident wrong). Pure functions over maps and predictions;
 * the mean maps assume aligned faces of one size (FER2013 / FER+ 48x48, CK+48).
 */
import type { SaliencyMap } from "./tensor.ts";

/** One explained image for the mean maps. */
export interface ExplainedImage {
  map: SaliencyMap;
  /** True class name. */
  label: string;
  /** Predicted class name. */
  pred?: string;
  /** Gray pixels of the face (width x height of the map), for the class's mean face. */
  image?: Uint8Array;
}

/** How each map is scaled before averaging. */
export type MapNormalization = "minmax" | "sum" | "none";

/** Options for `classMeanMaps`. */
export interface ClassMeanOptions {
  /** Group by true label (default) or by predicted class. */
  groupBy?: "label" | "pred";
  /**
   * Per-map scaling before averaging: "minmax" (default; each map to 0..1, so every image
   * weighs the same), "sum" (positive part sums to 1) or "none" (raw values).
   */
  normalize?: MapNormalization;
  /** Class order of the result; default the order classes first appear. */
  classes?: readonly string[];
}

/** One class's mean map. */
export interface ClassMeanMap {
  className: string;
  /** Images averaged. */
  count: number;
  mean: SaliencyMap;
  /** Mean gray face of the same images, when they carried pixels. */
  meanImage?: Uint8Array;
}

/** A map scaled as `how` says (new array). */
export function normalizeMap(map: SaliencyMap, how: MapNormalization): SaliencyMap {
  const d = map.data;
  const out = new Float32Array(d.length);
  if (how === "none") {
    out.set(d);
  } else if (how === "minmax") {
    let lo = Infinity, hi = -Infinity;
    for (const v of d) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const r = hi - lo;
    for (let i = 0; i < d.length; i++) out[i] = r > 0 ? (d[i] - lo) / r : 0;
  } else {
    let s = 0;
    for (const v of d) s += Math.max(0, v);
    for (let i = 0; i < d.length; i++) out[i] = s > 0 ? Math.max(0, d[i]) / s : 0;
  }
  return { width: map.width, height: map.height, data: out };
}

/**
 * Class-conditional mean saliency maps (and mean faces) over a set of explained images.
 * Throws when the maps differ in size (the images are not aligned to one size).
 */
export function classMeanMaps(
  items: readonly ExplainedImage[],
  opts: ClassMeanOptions = {},
): ClassMeanMap[] {
  if (items.length === 0) return [];
  const { width, height } = items[0].map;
  const how = opts.normalize ?? "minmax";
  const by = opts.groupBy ?? "label";
  const groups = new Map<
    string,
    { sum: Float64Array; img: Float64Array; count: number; imgs: number }
  >();
  for (const c of opts.classes ?? []) {
    groups.set(c, {
      sum: new Float64Array(width * height),
      img: new Float64Array(width * height),
      count: 0,
      imgs: 0,
    });
  }
  items.forEach((it, i) => {
    if (it.map.width !== width || it.map.height !== height) {
      throw new Error(
        `classMeanMaps: map ${i} is ${it.map.width}x${it.map.height}, the first is ${width}x${height}; mean maps need aligned faces of one size`,
      );
    }
    const key = by === "label" ? it.label : it.pred;
    if (key === undefined) throw new Error(`classMeanMaps: item ${i} has no predicted class`);
    let g = groups.get(key);
    if (!g) {
      if (opts.classes) return;
      g = {
        sum: new Float64Array(width * height),
        img: new Float64Array(width * height),
        count: 0,
        imgs: 0,
      };
      groups.set(key, g);
    }
    const m = normalizeMap(it.map, how).data;
    for (let p = 0; p < m.length; p++) g.sum[p] += m[p];
    g.count++;
    if (it.image && it.image.length === width * height) {
      for (let p = 0; p < it.image.length; p++) g.img[p] += it.image[p];
      g.imgs++;
    }
  });
  return [...groups].map(([className, g]) => {
    const data = new Float32Array(width * height);
    for (let p = 0; p < data.length; p++) data[p] = g.count > 0 ? g.sum[p] / g.count : 0;
    const out: ClassMeanMap = { className, count: g.count, mean: { width, height, data } };
    if (g.imgs > 0) out.meanImage = Uint8Array.from(g.img, (v) => Math.round(v / g.imgs));
    return out;
  });
}

/** Pixelwise difference a - b of two equally sized maps (e.g. neutral mean - happy mean). */
export function differenceMap(a: SaliencyMap, b: SaliencyMap): SaliencyMap {
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`differenceMap: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
  return { width: a.width, height: a.height, data: a.data.map((v, i) => v - b.data[i]) };
}

/** One prediction, as `representativeCases` needs it. */
export interface CaseInput {
  id: string;
  label: string;
  pred: string;
  /** Probabilities in the order of `classes`. */
  probs: ArrayLike<number>;
  classes: readonly string[];
}

/** A chosen case. */
export interface Case {
  id: string;
  label: string;
  pred: string;
  /** Probability of the predicted class. */
  confidence: number;
  /** Probability of the true class. */
  labelProb: number;
}

/** Representative cases of one true class. */
export interface ClassCases {
  className: string;
  /** Correctly classified, most confident first. */
  correct: Case[];
  /** Misclassified with a typical confidence (closest to the median of the class's errors). */
  wrong: Case[];
  /** Misclassified with the highest confidence in the wrong class. */
  mostConfidentWrong: Case[];
}

/** Options for `representativeCases`. */
export interface RepresentativeOptions {
  /** Cases per kind and class; default 3. */
  perClass?: number;
  /** Class order of the result; default the order labels first appear. */
  classes?: readonly string[];
}

function toCase(p: CaseInput): Case {
  const pi = p.classes.indexOf(p.pred);
  const li = p.classes.indexOf(p.label);
  return {
    id: p.id,
    label: p.label,
    pred: p.pred,
    confidence: pi >= 0 ? p.probs[pi] : NaN,
    labelProb: li >= 0 ? p.probs[li] : 0,
  };
}

/**
 * Representative cases per true class: the most confident correct ones, typical errors
 * (confidence closest to the class's median error confidence) and the most confident errors.
 * Deterministic: ties are broken by id. A case appears under one error kind only.
 */
export function representativeCases(
  preds: readonly CaseInput[],
  opts: RepresentativeOptions = {},
): ClassCases[] {
  const k = Math.max(1, Math.round(opts.perClass ?? 3));
  const order = opts.classes ? [...opts.classes] : [...new Set(preds.map((p) => p.label))];
  const byId = (a: Case, b: Case) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return order.map((c) => {
    const mine = preds.filter((p) => p.label === c).map(toCase);
    const correct = mine.filter((p) => p.pred === c)
      .sort((a, b) => (b.confidence - a.confidence) || byId(a, b)).slice(0, k);
    const errors = mine.filter((p) => p.pred !== c)
      .sort((a, b) => (b.confidence - a.confidence) || byId(a, b));
    const mostConfidentWrong = errors.slice(0, k);
    const rest = errors.slice(k);
    let wrong: Case[] = [];
    if (rest.length > 0) {
      const sorted = rest.map((e) => e.confidence).sort((a, b) => a - b);
      const median = sorted[Math.floor((sorted.length - 1) / 2)];
      wrong = [...rest].sort((a, b) =>
        (Math.abs(a.confidence - median) - Math.abs(b.confidence - median)) || byId(a, b)
      ).slice(0, k);
    }
    return { className: c, correct, wrong, mostConfidentWrong };
  });
}
