/**
 * The confusion table of named classes, with separate row (true) and column (predicted) classes
 * and scikit-learn's `normalize` option: the one place the kit counts and normalises confusions
 * of label names (notebooks, plots, confused pairs). Id-based metrics use confusion.ts.
 */
import type { Emotion } from "../taxonomy.ts";

/** How counts are normalised (scikit-learn `confusion_matrix(normalize=...)`). */
export type ConfusionNormalize = "true" | "pred" | "all" | "none";

/** Options of confusionTable. */
export interface ConfusionTableOptions {
  /** Row classes (true labels), in order; items with another label are not counted. */
  rows: readonly Emotion[];
  /** Column classes (predictions), in order (default: `rows`). */
  cols?: readonly Emotion[];
  /** "true": each row sums to 1 (the diagonal is recall); "pred": each column; "all" [none]. */
  normalize?: ConfusionNormalize;
  /** Value of a cell whose row (or column, or table) is empty when normalising [NaN]. */
  zeroDivision?: number;
}

/** A confusion table of counts and of the normalised values. */
export interface ConfusionTable {
  rows: Emotion[];
  cols: Emotion[];
  /** counts[i][j]: items of true class rows[i] predicted cols[j]. */
  counts: number[][];
  /** counts normalised as asked (equal to counts for "none"). */
  values: number[][];
  normalize: ConfusionNormalize;
}

/**
 * Count items (`label` true, `pred` predicted) into a rows × cols table and normalise it.
 * Items outside the row or column classes are not counted. Pure.
 */
export function confusionTable(
  items: readonly { label: Emotion; pred: Emotion }[],
  opts: ConfusionTableOptions,
): ConfusionTable {
  const rows = [...opts.rows];
  const cols = [...(opts.cols ?? opts.rows)];
  const counts = rows.map(() => new Array<number>(cols.length).fill(0));
  for (const it of items) {
    const i = rows.indexOf(it.label);
    const j = cols.indexOf(it.pred);
    if (i >= 0 && j >= 0) counts[i][j]++;
  }
  const normalize = opts.normalize ?? "none";
  return {
    rows,
    cols,
    counts,
    values: normalizeCounts(counts, normalize, opts.zeroDivision),
    normalize,
  };
}

/** Counts normalised by row, column or total (a new table); empty divisors give `zeroDivision`. */
export function normalizeCounts(
  counts: readonly (readonly number[])[],
  normalize: ConfusionNormalize,
  zeroDivision = NaN,
): number[][] {
  const div = (v: number, t: number) => (t > 0 ? v / t : zeroDivision);
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  switch (normalize) {
    case "none":
      return counts.map((r) => [...r]);
    case "true":
      return counts.map((r) => r.map((v) => div(v, sum(r))));
    case "pred": {
      const colSums = (counts[0] ?? []).map((_, j) => sum(counts.map((r) => r[j])));
      return counts.map((r) => r.map((v, j) => div(v, colSums[j])));
    }
    case "all": {
      const total = sum(counts.map(sum));
      return counts.map((r) => r.map((v) => div(v, total)));
    }
  }
}

/** One off-diagonal cell: items of `from` predicted `to`. */
export interface ConfusedPair {
  from: Emotion;
  to: Emotion;
  count: number;
  /** count / items of `from` (the share of the true class sent to `to`). */
  share: number;
}

/** Off-diagonal cells of a confusion table, largest share of the true class first. Pure. */
export function confusedPairs(c: ConfusionTable): ConfusedPair[] {
  const shares = normalizeCounts(c.counts, "true");
  const out: ConfusedPair[] = [];
  c.rows.forEach((from, i) => {
    c.cols.forEach((to, j) => {
      if (to === from || c.counts[i][j] === 0) return;
      out.push({ from, to, count: c.counts[i][j], share: shares[i][j] });
    });
  });
  return out.sort((a, b) => b.share - a.share || b.count - a.count);
}

/** Share of true `from` items predicted `to` (NaN without a `from` row, `to` column or items). */
export function confusionShare(c: ConfusionTable, from: Emotion, to: Emotion): number {
  const i = c.rows.indexOf(from);
  const j = c.cols.indexOf(to);
  return i < 0 || j < 0 ? NaN : normalizeCounts([c.counts[i]], "true")[0][j];
}
