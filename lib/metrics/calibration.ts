/**
 * Calibration of predicted probabilities: expected calibration error and reliability-diagram data
 * (Guo et al. 2017, equal-width confidence bins), negative log-likelihood and the Brier score.
 */
import { type LabelArray, pairedLength } from "./confusion.ts";
import {
  columnClasses,
  rowArgmax,
  type ScoreInput,
  type ScoreMatrix,
  toScoreMatrix,
} from "./scores.ts";

/** Options shared by the calibration metrics. */
export interface CalibrationOptions {
  /** Class id of each probability column (default 0..cols-1). */
  classes?: ArrayLike<number>;
  /** Number of equal-width confidence bins over [0, 1] (default 15, as Guo et al. 2017). */
  bins?: number;
}

/** Default number of ECE bins. */
export const DEFAULT_ECE_BINS = 15;

/** One bin of a reliability diagram: items whose confidence lies in (lower, upper]. */
export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  /** Share of the bin's items whose top class is their label; NaN for an empty bin. */
  accuracy: number;
  /** Mean top-class probability of the bin's items; NaN for an empty bin. */
  confidence: number;
}

/**
 * Bin of a confidence among `bins` equal-width bins: bin b holds (b/bins, (b+1)/bins], bin 0 also
 * holds 0, and values above 1 fall in the last bin. Equals numpy
 * `searchsorted(arange(1, bins) / bins, conf, side="left")`.
 */
export function confidenceBin(conf: number, bins: number): number {
  let b = Math.ceil(conf * bins) - 1;
  if (b < 0) b = 0;
  if (b > bins - 1) b = bins - 1;
  while (b > 0 && conf <= b / bins) b--;
  while (b < bins - 1 && conf > (b + 1) / bins) b++;
  return b;
}

function checkBins(bins: number): number {
  if (!Number.isInteger(bins) || bins < 1) {
    throw new Error(`calibration: bins = ${bins} is not a positive integer`);
  }
  return bins;
}

/**
 * Top-class confidence and correctness of each item: confidence = largest probability of the
 * row, correct = the class of its (first) largest column equals the label. A label without a
 * probability column is never correct.
 */
export function topClassOutcomes(
  yTrue: LabelArray,
  probs: ScoreInput,
  classes?: ArrayLike<number>,
): { confidence: Float64Array; correct: Uint8Array; matrix: ScoreMatrix; classes: Int32Array } {
  const m = toScoreMatrix(probs, "probabilities");
  pairedLength(yTrue, { length: m.rows }, "y_true/probabilities");
  const cls = columnClasses(m.cols, classes);
  const confidence = new Float64Array(m.rows);
  const correct = new Uint8Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    const j = rowArgmax(m, i);
    confidence[i] = m.data[i * m.cols + j];
    correct[i] = cls[j] === yTrue[i] ? 1 : 0;
  }
  return { confidence, correct, matrix: m, classes: cls };
}

/** Reliability-diagram data: per equal-width bin, count, accuracy and mean confidence. */
export function reliabilityDiagram(
  yTrue: LabelArray,
  probs: ScoreInput,
  opts: CalibrationOptions = {},
): ReliabilityBin[] {
  const bins = checkBins(opts.bins ?? DEFAULT_ECE_BINS);
  const { confidence, correct } = topClassOutcomes(yTrue, probs, opts.classes);
  const count = new Float64Array(bins);
  const hits = new Float64Array(bins);
  const confSum = new Float64Array(bins);
  for (let i = 0; i < confidence.length; i++) {
    const b = confidenceBin(confidence[i], bins);
    count[b]++;
    hits[b] += correct[i];
    confSum[b] += confidence[i];
  }
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    out.push({
      lower: b / bins,
      upper: (b + 1) / bins,
      count: count[b],
      accuracy: count[b] === 0 ? NaN : hits[b] / count[b],
      confidence: count[b] === 0 ? NaN : confSum[b] / count[b],
    });
  }
  return out;
}

/**
 * Expected calibration error (Guo et al. 2017): Σ_b (n_b / N) · |accuracy_b − confidence_b| over
 * `bins` equal-width bins of top-class confidence (see confidenceBin). In [0, 1].
 */
export function expectedCalibrationError(
  yTrue: LabelArray,
  probs: ScoreInput,
  opts: CalibrationOptions = {},
): number {
  const diagram = reliabilityDiagram(yTrue, probs, opts);
  let total = 0;
  for (const b of diagram) total += b.count;
  let ece = 0;
  for (const b of diagram) {
    if (b.count > 0) ece += (b.count / total) * Math.abs(b.accuracy - b.confidence);
  }
  return ece;
}

/** Machine epsilon of float64, the clip scikit-learn's log_loss uses for float64 input. */
const FLOAT64_EPS = 2.220446049250313e-16;

/**
 * Mean negative log-likelihood of the labels in nats (scikit-learn 1.2 `log_loss(y_true, probs,
 * labels=classes)`): probabilities are clipped to [eps, 1 − eps] (eps = float64 machine epsilon),
 * each row renormalised to sum 1, then −mean log p(label). Throws when a label has no column.
 */
export function negativeLogLikelihood(
  yTrue: LabelArray,
  probs: ScoreInput,
  opts: Pick<CalibrationOptions, "classes"> = {},
): number {
  const m = toScoreMatrix(probs, "probabilities");
  pairedLength(yTrue, { length: m.rows }, "y_true/probabilities");
  const column = new Map<number, number>();
  columnClasses(m.cols, opts.classes).forEach((c, j) => column.set(c, j));
  let total = 0;
  for (let i = 0; i < m.rows; i++) {
    const j = column.get(yTrue[i]);
    if (j === undefined) {
      throw new Error(`log-likelihood: y_true[${i}] = ${yTrue[i]} has no probability column`);
    }
    let rowSum = 0;
    let pTrue = 0;
    for (let l = 0; l < m.cols; l++) {
      let p = m.data[i * m.cols + l];
      if (p < FLOAT64_EPS) p = FLOAT64_EPS;
      else if (p > 1 - FLOAT64_EPS) p = 1 - FLOAT64_EPS;
      rowSum += p;
      if (l === j) pTrue = p;
    }
    total -= Math.log(pTrue / rowSum);
  }
  return total / m.rows;
}

/**
 * Multiclass Brier score (Brier 1950): mean over items of Σ_c (p_c − y_c)², y the one-hot label;
 * range [0, 2]. (Not divided by the number of classes. For two classes it is twice scikit-learn's
 * binary `brier_score_loss`.) A label without a probability column adds 1 for its missing column.
 */
export function brierScore(
  yTrue: LabelArray,
  probs: ScoreInput,
  opts: Pick<CalibrationOptions, "classes"> = {},
): number {
  const m = toScoreMatrix(probs, "probabilities");
  pairedLength(yTrue, { length: m.rows }, "y_true/probabilities");
  const cls = columnClasses(m.cols, opts.classes);
  let total = 0;
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    let found = false;
    for (let l = 0; l < m.cols; l++) {
      const hit = cls[l] === yTrue[i];
      if (hit) found = true;
      const d = m.data[i * m.cols + l] - (hit ? 1 : 0);
      s += d * d;
    }
    total += found ? s : s + 1;
  }
  return total / m.rows;
}
