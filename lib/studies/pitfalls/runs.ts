/**
 * Two runs of a model on the same images, compared: how many top-1 predictions flip, and how
 * accuracy and macro-F1 move (paired bootstrap intervals, the same resamples for both runs).
 * The common currency of the pitfalls notebook (notebooks/05-pitfalls): preprocessing variants,
 * cropping conditions and label rules are all "the same images, scored twice".
 */
import type { BootstrapInterval } from "../../metrics/mod.ts";
import type { LoadedDataset } from "../../datasets/types.ts";
import { datasetHash } from "../../datasets/hash.ts";
import type { Prediction, PredictionTable } from "../../predictions.ts";
import { mulberry32, shuffled } from "../../random.ts";
import { type Emotion, emotionIndex } from "../../taxonomy.ts";
import { accuracyStatistic, macroF1Statistic } from "../../metrics/mod.ts";
import { studyInterval } from "../scoring.ts";

/** Two runs joined on image id (rows in the reference run's order). */
export interface PairedRuns {
  ids: string[];
  /** Labels (from the reference run; the two runs must agree on them). */
  yTrue: Int32Array;
  yRef: Int32Array;
  yAlt: Int32Array;
}

/**
 * Join two prediction tables on id: the rows present in both, in the reference order. Throws
 * when a shared id has different labels (the runs are then not of the same images).
 */
export function pairRuns(ref: PredictionTable, alt: PredictionTable): PairedRuns {
  const byId = new Map<string, Prediction>(alt.rows.map((r) => [r.id, r]));
  const ids: string[] = [];
  const t: number[] = [], a: number[] = [], b: number[] = [];
  for (const r of ref.rows) {
    const o = byId.get(r.id);
    if (o === undefined) continue;
    if (o.label !== r.label) {
      throw new Error(`pairRuns: image "${r.id}" is labelled ${r.label} in one run, ${o.label}`);
    }
    ids.push(r.id);
    t.push(emotionIndex(r.label));
    a.push(emotionIndex(r.pred));
    b.push(emotionIndex(o.pred));
  }
  return { ids, yTrue: Int32Array.from(t), yRef: Int32Array.from(a), yAlt: Int32Array.from(b) };
}

/** What changed between two runs on the same images. */
export interface RunComparison {
  /** Images in both runs. */
  n: number;
  /** Images whose top-1 class differs. */
  flips: number;
  /** flips / n, with a bootstrap interval over images. */
  flipShare: BootstrapInterval;
  accuracyRef: number;
  accuracyAlt: number;
  /** accuracy(alt) − accuracy(ref), paired bootstrap interval. */
  accuracyChange: BootstrapInterval;
  /** macro-F1(alt) − macro-F1(ref) over `classes`, paired bootstrap interval. */
  macroF1Change: BootstrapInterval;
  /** Ids of the flipped images, in order. */
  flipped: string[];
}

/**
 * Compare two runs on their shared images (STUDY_BOOTSTRAP: 1,000 resamples, seed 0; the same
 * resamples for both runs, so the change's interval is paired). `classes`: the scored classes
 * for macro-F1. Pure.
 */
export function compareRuns(
  ref: PredictionTable,
  alt: PredictionTable,
  classes: readonly Emotion[],
  opts: { resamples?: number; seed?: number } = {},
): RunComparison {
  const p = pairRuns(ref, alt);
  const n = p.ids.length;
  const flipped = p.ids.filter((_, i) => p.yRef[i] !== p.yAlt[i]);
  const flipStat = (idx: Int32Array) => {
    let f = 0;
    for (let i = 0; i < idx.length; i++) if (p.yRef[idx[i]] !== p.yAlt[idx[i]]) f++;
    return f / idx.length;
  };
  const accR = accuracyStatistic(p.yTrue, p.yRef);
  const accA = accuracyStatistic(p.yTrue, p.yAlt);
  const f1R = macroF1Statistic(p.yTrue, p.yRef, classes);
  const f1A = macroF1Statistic(p.yTrue, p.yAlt, classes);
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const empty = n === 0;
  const iv = (stat: (idx: Int32Array) => number) =>
    empty ? emptyInterval() : studyInterval(n, stat, opts);
  return {
    n,
    flips: flipped.length,
    flipShare: iv(flipStat),
    accuracyRef: empty ? NaN : accR(all),
    accuracyAlt: empty ? NaN : accA(all),
    accuracyChange: iv((idx) => accA(idx) - accR(idx)),
    macroF1Change: iv((idx) => f1A(idx) - f1R(idx)),
    flipped,
  };
}

/** The interval of a statistic on no items: every bound NaN. */
export function emptyInterval(): BootstrapInterval {
  return {
    estimate: NaN,
    lower: NaN,
    upper: NaN,
    level: 0.95,
    resamples: 0,
    seed: 0,
    undefinedResamples: 0,
  };
}

/**
 * A seeded random subset of `n` samples of a dataset (all of them when it has no more), in the
 * dataset's order, with its own hash (so predictions on it are cached under their own key).
 * Mulberry32 with `seed` shuffles the indices; the first `n` are kept.
 */
export async function seededSubset(
  dataset: LoadedDataset,
  n: number,
  seed: number,
): Promise<LoadedDataset> {
  if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`subset size ${n} is not positive`);
  const keep = shuffled(dataset.samples.map((_, i) => i), mulberry32(seed)).slice(0, n)
    .sort((a, b) => a - b);
  const samples = keep.map((i) => dataset.samples[i]);
  return { ...dataset, samples, hash: await datasetHash(samples) };
}

/** The first `n` samples of a dataset, with their own hash. */
export async function firstSamples(dataset: LoadedDataset, n: number): Promise<LoadedDataset> {
  const samples = dataset.samples.slice(0, n);
  return { ...dataset, samples, hash: await datasetHash(samples) };
}
