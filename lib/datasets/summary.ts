/** Counts that describe a loaded dataset: per split, per class, imbalance, exclusions. */
import type { Split } from "../sample.ts";
import type { Emotion } from "../taxonomy.ts";
import type { UnreadableFile } from "../image.ts";
import type { DatasetFormat, LoadedDataset } from "./types.ts";

/** Counts of one split (or of the whole dataset). */
export interface SplitCounts {
  total: number;
  /** Samples per class, for every class the dataset defines (zeros included), kit order. */
  perClass: Partial<Record<Emotion, number>>;
  /** Largest class count / smallest class count over the dataset's classes; null when a class is empty. */
  imbalanceRatio: number | null;
}

/** What `kit datasets` prints for one dataset. */
export interface DatasetSummary {
  name: string;
  format: DatasetFormat;
  root: string;
  hash: string;
  classes: Emotion[];
  /** Counts over all splits. */
  all: SplitCounts;
  /** Counts per split present (train, val, test order). */
  splits: Partial<Record<Split, SplitCounts>>;
  excluded: Record<string, number>;
  excludedTotal: number;
  unreadable: UnreadableFile[];
}

/** Class counts of `labels` over `classes`, and their imbalance ratio; pure. */
export function splitCounts(labels: readonly Emotion[], classes: readonly Emotion[]): SplitCounts {
  const perClass: Partial<Record<Emotion, number>> = {};
  for (const c of classes) perClass[c] = 0;
  for (const l of labels) perClass[l] = (perClass[l] ?? 0) + 1;
  const counts = classes.map((c) => perClass[c]!);
  const min = Math.min(...counts), max = Math.max(...counts);
  return {
    total: labels.length,
    perClass,
    imbalanceRatio: counts.length === 0 || min === 0 ? null : max / min,
  };
}

/** Summarise a loaded dataset; pure. */
export function summarizeDataset(d: LoadedDataset): DatasetSummary {
  const splits: Partial<Record<Split, SplitCounts>> = {};
  for (const split of ["train", "val", "test"] as Split[]) {
    const labels = d.samples.filter((s) => s.split === split).map((s) => s.label);
    if (labels.length > 0) splits[split] = splitCounts(labels, d.classes);
  }
  return {
    name: d.name,
    format: d.format,
    root: d.root,
    hash: d.hash,
    classes: d.classes,
    all: splitCounts(d.samples.map((s) => s.label), d.classes),
    splits,
    excluded: d.excluded,
    excludedTotal: Object.values(d.excluded).reduce((a, b) => a + b, 0),
    unreadable: d.unreadable,
  };
}
