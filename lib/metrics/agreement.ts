/**
 * Chance-corrected agreement: Cohen's kappa (two raters, unweighted / linear / quadratic) and
 * Fleiss' kappa (many raters), with per-category kappas and standard errors.
 */
import {
  countConfusion,
  type LabelArray,
  type LabelOptions,
  pairedLength,
  resolveLabels,
  selectConfusion,
} from "./confusion.ts";

/** Disagreement weights for Cohen's kappa (positions in the label list, as scikit-learn). */
export type KappaWeights = "none" | "linear" | "quadratic";

/** Options of Cohen's kappa. */
export interface CohenOptions extends LabelOptions {
  weights?: KappaWeights;
}

/**
 * Cohen's kappa from a k×k agreement matrix (row-major; rows = rater A, columns = rater B),
 * exactly as scikit-learn's `cohen_kappa_score`: κ = 1 − Σ w·O / Σ w·E with E the outer product
 * of the margins over N, w = 1 off the diagonal ("none"), |i−j| ("linear") or (i−j)²
 * ("quadratic"). Undefined (NaN) when Σ w·E = 0: no items, or both raters use one same class.
 */
export function cohenKappaFromMatrix(
  matrix: Float64Array,
  k: number,
  weights: KappaWeights = "none",
): number {
  const rowSum = new Float64Array(k);
  const colSum = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const v = matrix[i * k + j];
      rowSum[i] += v;
      colSum[j] += v;
      total += v;
    }
  }
  let observed = 0;
  let expected = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const d = i - j;
      const w = weights === "none" ? (d === 0 ? 0 : 1) : weights === "linear" ? Math.abs(d) : d * d;
      if (w === 0) continue;
      observed += w * matrix[i * k + j];
      // scikit-learn: expected = outer(column sums, row sums) / N
      expected += w * (colSum[i] * rowSum[j] / total);
    }
  }
  return 1 - observed / expected;
}

/**
 * Cohen's kappa between two raters' labels (scikit-learn `cohen_kappa_score(a, b, labels=,
 * weights=)`). Items where either rater's label is outside `labels` are left out; weights use
 * positions in `labels`. NaN when undefined (both raters give one and the same class to every item).
 */
export function cohenKappa(a: LabelArray, b: LabelArray, opts: CohenOptions = {}): number {
  pairedLength(a, b, "rater a/rater b");
  const c = countConfusion(a, b);
  const labels = resolveLabels([a, b], opts.labels);
  return cohenKappaFromMatrix(selectConfusion(c, labels), labels.length, opts.weights ?? "none");
}

/**
 * Cohen's kappa for every pair of raters: `m[i][j]` = cohenKappa(raters[i], raters[j], opts);
 * the diagonal is a rater against itself (1, or NaN when that rater uses one class only).
 */
export function pairwiseCohenKappa(
  raters: readonly LabelArray[],
  opts: CohenOptions = {},
): number[][] {
  if (raters.length < 2) throw new Error("pairwise kappa: need at least two raters");
  const m = raters.map(() => new Array<number>(raters.length).fill(NaN));
  for (let i = 0; i < raters.length; i++) {
    for (let j = i; j < raters.length; j++) {
      const k = cohenKappa(raters[i], raters[j], opts);
      m[i][j] = k;
      m[j][i] = k;
    }
  }
  return m;
}

/** Marks a missing rating in rater-label matrices (NaN is accepted too). */
export const MISSING_RATING = -1;

/** A subjects × categories table of rating counts and the category id of each column. */
export interface CountTable {
  categories: number[];
  table: number[][];
}

/**
 * Turn rater labels (`ratings[i][r]` = category id rater r gave item i; MISSING_RATING or NaN
 * for none) into a subjects × categories count table (statsmodels `aggregate_raters`). Columns
 * are `categories` when given (a rating outside them is an error), else the sorted ids present.
 */
export function ratingsToCounts(
  ratings: readonly ArrayLike<number>[],
  categories?: ArrayLike<number>,
): CountTable {
  if (ratings.length === 0) throw new Error("ratings: empty input (no items)");
  const present = new Set<number>();
  for (let i = 0; i < ratings.length; i++) {
    const row = ratings[i];
    for (let r = 0; r < row.length; r++) {
      const v = row[r];
      if (v === MISSING_RATING || Number.isNaN(v)) continue;
      if (!Number.isInteger(v) || v < 0) {
        throw new Error(`ratings[${i}][${r}] = ${v} is not a category id or MISSING_RATING`);
      }
      present.add(v);
    }
  }
  const cats = categories !== undefined
    ? resolveLabels([], categories)
    : Int32Array.from([...present].sort((x, y) => x - y));
  const column = new Map<number, number>();
  cats.forEach((c, j) => column.set(c, j));
  const table = ratings.map((row, i) => {
    const counts = new Array<number>(cats.length).fill(0);
    for (let r = 0; r < row.length; r++) {
      const v = row[r];
      if (v === MISSING_RATING || Number.isNaN(v)) continue;
      const j = column.get(v);
      if (j === undefined) {
        throw new Error(`ratings[${i}][${r}] = ${v} is not one of the categories`);
      }
      counts[j]++;
    }
    return counts;
  });
  return { categories: Array.from(cats), table };
}

/**
 * How Fleiss' kappa treats subjects with different numbers of ratings:
 * - "equal" (default): Fleiss (1971) needs the same number n ≥ 2 on every subject; a table that
 *   breaks this is an error that lists the rating counts found;
 * - "variable": each subject's agreement uses its own n_i, P_i = Σ_j n_ij(n_ij−1) / (n_i(n_i−1));
 *   P̄ is their plain mean; category shares p_j = Σ_i n_ij / Σ_i n_i; subjects with n_i < 2 are
 *   dropped (counted in `droppedSubjects`). With equal n this is exactly Fleiss' kappa. Standard
 *   errors are NaN in this mode (Fleiss, Nee & Landis give them for equal n only).
 */
export type FleissRaters = "equal" | "variable";

/** Options of Fleiss' kappa. */
export interface FleissOptions {
  raters?: FleissRaters;
}

/** Fleiss' kappa restricted to one category (the category against all others). */
export interface FleissCategory {
  /** Category id (or column index for a bare count table). */
  category: number;
  /** Share p_j of all ratings in this category. */
  proportion: number;
  /** κ_j = 1 − Σ_i n_ij(n_i−n_ij)/(n_i(n_i−1)) / (N p_j q_j); NaN when p_j is 0 or 1. */
  kappa: number;
  /** Standard error under no agreement (Fleiss, Nee & Landis 1979): √(2 / (N n (n−1))). */
  se: number;
}

/** Fleiss' kappa with its parts. */
export interface FleissKappa {
  /** κ = (P̄ − P̄e) / (1 − P̄e); NaN when every rating falls in one category (P̄e = 1). */
  kappa: number;
  /**
   * Standard error under the null of no agreement (Fleiss, Nee & Landis 1979):
   * √2 / (Σ p_j q_j √(N n(n−1))) · √((Σ p_j q_j)² − Σ p_j q_j (q_j − p_j)).
   */
  se: number;
  /** κ / se (R irr's `kappam.fleiss` z statistic). */
  z: number;
  /** Mean observed agreement P̄. */
  observedAgreement: number;
  /** Chance agreement P̄e = Σ p_j². */
  expectedAgreement: number;
  /** Subjects used. */
  subjects: number;
  /** Ratings per subject (equal mode), or null in variable mode. */
  raters: number | null;
  /** Subjects dropped for fewer than two ratings (variable mode). */
  droppedSubjects: number;
  categories: FleissCategory[];
}

/**
 * A validated subjects × categories count table with each subject's parts computed once, so that
 * Fleiss' kappa of the whole table and of any resample of its subjects are one computation
 * (fleissKappaFromCounts, fleissStatistic).
 */
interface FleissRows {
  /** Subjects. */
  n: number;
  /** Categories. */
  k: number;
  /** Ratings per subject, n_i. */
  totals: Float64Array;
  /** Counts n_ij, row-major (n × k). */
  counts: Float64Array;
  /** P_i = Σ_j n_ij(n_ij − 1) / (n_i(n_i − 1)); NaN when n_i < 2. */
  agreement: Float64Array;
  /** n_ij(n_i − n_ij) / (n_i(n_i − 1)), row-major (n × k); 0 when n_i < 2. */
  disagreement: Float64Array;
}

function fleissRows(table: readonly ArrayLike<number>[]): FleissRows {
  const n = table.length;
  const k = n > 0 ? table[0].length : 0;
  const totals = new Float64Array(n);
  const counts = new Float64Array(n * k);
  const agreement = new Float64Array(n);
  const disagreement = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const row = table[i];
    if (row.length !== k) {
      throw new Error(`Fleiss' kappa: row ${i} has ${row.length} columns, expected ${k}`);
    }
    let t = 0, sq = 0;
    for (let j = 0; j < k; j++) {
      const v = row[j];
      if (!Number.isInteger(v) || v < 0) {
        throw new Error(`Fleiss' kappa: row ${i} column ${j} = ${v} is not a count`);
      }
      counts[i * k + j] = v;
      t += v;
      sq += v * v;
    }
    totals[i] = t;
    agreement[i] = t >= 2 ? (sq - t) / (t * (t - 1)) : NaN;
    if (t >= 2) {
      for (let j = 0; j < k; j++) {
        const v = counts[i * k + j];
        disagreement[i * k + j] = v * (t - v) / (t * (t - 1));
      }
    }
  }
  return { n, k, totals, counts, agreement, disagreement };
}

/** Sums over the subjects at `idx` (repeats count again) that have two or more ratings. */
interface FleissSums {
  used: number;
  ratings: number;
  /** Σ P_i. */
  agreement: number;
  /** Σ n_ij per category. */
  categories: Float64Array;
  /** Σ n_ij(n_i − n_ij) / (n_i(n_i − 1)) per category. */
  disagreement: Float64Array;
}

function fleissSums(rows: FleissRows, idx: ArrayLike<number>, into?: FleissSums): FleissSums {
  const { k, totals, counts, agreement, disagreement } = rows;
  const s = into ?? {
    used: 0,
    ratings: 0,
    agreement: 0,
    categories: new Float64Array(k),
    disagreement: new Float64Array(k),
  };
  s.used = 0;
  s.ratings = 0;
  s.agreement = 0;
  s.categories.fill(0);
  s.disagreement.fill(0);
  for (let r = 0; r < idx.length; r++) {
    const i = idx[r];
    if (totals[i] < 2) continue;
    s.used++;
    s.ratings += totals[i];
    s.agreement += agreement[i];
    for (let j = 0; j < k; j++) {
      s.categories[j] += counts[i * k + j];
      s.disagreement[j] += disagreement[i * k + j];
    }
  }
  return s;
}

/** κ = (P̄ − P̄e) / (1 − P̄e) of the sums (NaN when no subject has two ratings). */
function kappaOfSums(s: FleissSums): number {
  if (s.used === 0) return NaN;
  let pe = 0;
  for (let j = 0; j < s.categories.length; j++) pe += (s.categories[j] / s.ratings) ** 2;
  return (s.agreement / s.used - pe) / (1 - pe);
}

/**
 * Fleiss' kappa (Fleiss 1971) from a subjects × categories count table (`table[i][j]` = raters who
 * put subject i in category j; e.g. the FER+ vote columns), matching statsmodels
 * `inter_rater.fleiss_kappa(table)`. See FleissRaters for unequal numbers of ratings (FER+ rows
 * lose their unknown / not-a-face votes when mapped onto the taxonomy, unless an "other" column is
 * kept). `categoryIds` names the columns in the result (default: column index).
 */
export function fleissKappaFromCounts(
  table: readonly ArrayLike<number>[],
  opts: FleissOptions & { categoryIds?: ArrayLike<number> } = {},
): FleissKappa {
  const mode = opts.raters ?? "equal";
  if (table.length === 0) throw new Error("Fleiss' kappa: empty input (no subjects)");
  const k = table[0].length;
  if (k === 0) throw new Error("Fleiss' kappa: the table has no category columns");
  if (opts.categoryIds !== undefined && opts.categoryIds.length !== k) {
    throw new Error(`Fleiss' kappa: ${opts.categoryIds.length} category ids for ${k} columns`);
  }
  const rows = fleissRows(table);
  const byCount = new Map<number, number>();
  for (const t of rows.totals) byCount.set(t, (byCount.get(t) ?? 0) + 1);
  if (mode === "equal") {
    if (byCount.size > 1) {
      const found = [...byCount.entries()].sort((a, b) => b[1] - a[1])
        .map(([n, c]) => `${c} with ${n}`).join(", ");
      throw new Error(
        `Fleiss' kappa: subjects have different numbers of ratings (${found}); Fleiss (1971) ` +
          `assumes the same number on every subject; use raters: "variable" to allow this`,
      );
    }
    if (rows.totals[0] < 2) {
      throw new Error(`Fleiss' kappa: ${rows.totals[0]} rating(s) per subject; need at least 2`);
    }
  }
  const sums = fleissSums(rows, Int32Array.from({ length: rows.n }, (_, i) => i));
  const used = sums.used;
  if (used === 0) throw new Error("Fleiss' kappa: no subject has two or more ratings");
  const pBar = sums.agreement / used;
  let pExp = 0;
  let sumPQ = 0;
  let sumPQQP = 0;
  const props = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const p = sums.categories[j] / sums.ratings;
    props[j] = p;
    pExp += p * p;
    sumPQ += p * (1 - p);
    sumPQQP += p * (1 - p) * ((1 - p) - p);
  }
  const kappa = kappaOfSums(sums);
  const n = mode === "equal" ? rows.totals[0] : NaN;
  const nn1 = used * n * (n - 1);
  const se = Math.SQRT2 / (sumPQ * Math.sqrt(nn1)) * Math.sqrt(sumPQ * sumPQ - sumPQQP);
  const catSe = Math.sqrt(2 / nn1);
  const categories: FleissCategory[] = [];
  for (let j = 0; j < k; j++) {
    const p = props[j];
    categories.push({
      category: opts.categoryIds !== undefined ? opts.categoryIds[j] : j,
      proportion: p,
      kappa: 1 - sums.disagreement[j] / (used * p * (1 - p)),
      se: catSe,
    });
  }
  return {
    kappa,
    se,
    z: kappa / se,
    observedAgreement: pBar,
    expectedAgreement: pExp,
    subjects: used,
    raters: mode === "equal" ? n : null,
    droppedSubjects: table.length - used,
    categories,
  };
}

/**
 * Fleiss' κ of a count table's rows as a bootstrap statistic of the subjects drawn (variable
 * raters, as `fleissKappaFromCounts(table, { raters: "variable" })` on the drawn rows, computed by
 * the same code): each subject's parts are computed once, so a resample costs one pass over its
 * subjects. Subjects with fewer than two ratings are left out; NaN when no subject drawn has two
 * or when every rating falls in one category.
 */
export function fleissStatistic(table: readonly ArrayLike<number>[]): (idx: Int32Array) => number {
  const rows = fleissRows(table);
  const scratch = fleissSums(rows, []);
  return (idx) => kappaOfSums(fleissSums(rows, idx, scratch));
}

/**
 * Fleiss' kappa from rater labels (`ratings[i][r]` = category id rater r gave item i;
 * MISSING_RATING or NaN for none): the count table of ratingsToCounts, then fleissKappaFromCounts.
 * Missing ratings make subjects unequal, which needs `raters: "variable"`.
 */
export function fleissKappa(
  ratings: readonly ArrayLike<number>[],
  opts: FleissOptions & { categories?: ArrayLike<number> } = {},
): FleissKappa {
  const { categories, table } = ratingsToCounts(ratings, opts.categories);
  return fleissKappaFromCounts(table, { raters: opts.raters, categoryIds: categories });
}

/** Transpose per-rater label arrays (raters × items) into per-item rows (items × raters). */
export function ratersToItems(raters: readonly LabelArray[]): Int32Array[] {
  if (raters.length === 0) throw new Error("ratings: no raters");
  const n = raters[0].length;
  raters.forEach((r, i) => {
    if (r.length !== n) throw new Error(`rater ${i} has ${r.length} labels, expected ${n}`);
  });
  const rows: Int32Array[] = [];
  for (let i = 0; i < n; i++) rows.push(Int32Array.from(raters, (r) => r[i]));
  return rows;
}

/** Two raters' class ids over the same items (ids in 0..categories-1). */
export type RaterPair = readonly [LabelArray, LabelArray];

/**
 * Unweighted Cohen's κ of each pair of raters over the items drawn, as a bootstrap statistic
 * (`categories`: number of class ids; each pair two label arrays of equal length): the returned
 * function fills and returns one array of κ values, pair by pair (NaN where a pair's chance
 * agreement is 1): unweighted `cohenKappa` on the drawn items, from the two raters' margins and
 * their agreements, with no matrix built per resample. Throws when an id is outside
 * 0..categories-1.
 */
export function pairKappaStatistic(
  pairs: readonly RaterPair[],
  categories: number,
): (idx: Int32Array) => Float64Array {
  pairs.forEach(([a, b], p) => {
    pairedLength(a, b, `pair ${p}`);
    for (const [who, r] of [["a", a], ["b", b]] as const) {
      for (let i = 0; i < r.length; i++) {
        if (!(Number.isInteger(r[i]) && r[i] >= 0 && r[i] < categories)) {
          throw new Error(
            `pair ${p}, rater ${who}, item ${i}: class id ${r[i]} outside 0..${categories - 1}`,
          );
        }
      }
    }
  });
  const out = new Float64Array(pairs.length);
  const rowSum = new Float64Array(categories);
  const colSum = new Float64Array(categories);
  return (idx) => {
    const n = idx.length;
    pairs.forEach(([a, b], p) => {
      rowSum.fill(0);
      colSum.fill(0);
      let agree = 0;
      for (let r = 0; r < n; r++) {
        const x = a[idx[r]], y = b[idx[r]];
        rowSum[x]++;
        colSum[y]++;
        if (x === y) agree++;
      }
      let pe = 0;
      for (let c = 0; c < categories; c++) pe += (rowSum[c] / n) * (colSum[c] / n);
      out[p] = pe === 1 || n === 0 ? NaN : (agree / n - pe) / (1 - pe);
    });
    return out;
  };
}

/**
 * Mean unweighted Cohen's κ over `pairs` of raters as a bootstrap statistic of the items drawn:
 * Light's κ (Light 1971) when the pairs are every pair of one set of raters. NaN when any pair's
 * κ is undefined.
 */
export function meanPairKappaStatistic(
  pairs: readonly RaterPair[],
  categories: number,
): (idx: Int32Array) => number {
  if (pairs.length === 0) throw new Error("mean pairwise κ: no pairs");
  const kappas = pairKappaStatistic(pairs, categories);
  return (idx) => {
    const k = kappas(idx);
    let sum = 0;
    for (const v of k) sum += v;
    return sum / k.length;
  };
}

/** Every pair (i < j) of the raters, in order. */
export function allPairs<T>(raters: readonly T[]): (readonly [T, T])[] {
  const pairs: (readonly [T, T])[] = [];
  for (let a = 0; a < raters.length; a++) {
    for (let b = a + 1; b < raters.length; b++) pairs.push([raters[a], raters[b]]);
  }
  return pairs;
}
