/**
 * Ensembles of models on the same items: majority vote and mean probability, with abstention,
 * and the coverage-vs-accuracy curve of a confidence score.
 */
import { classIdBound, type LabelArray, pairedLength } from "./confusion.ts";
import { columnClasses, type ScoreInput, toScoreMatrix } from "./scores.ts";

/** Class id meaning "the ensemble abstains on this item". */
export const ABSTAIN = -1;

/** An ensemble's decision per item. */
export interface EnsembleDecision {
  /** Class id, or ABSTAIN. */
  pred: Int32Array;
  /** Vote share of the winning class (majority vote) or its mean probability (mean probability). */
  confidence: Float64Array;
}

/** Options of majorityVote. */
export interface VoteOptions {
  /** Abstain when the winner's vote share is below this (0..1; default 0, never). */
  threshold?: number;
  /**
   * Tied top classes: "lowest" (default) takes the smallest class id, as scikit-learn's hard
   * VotingClassifier (argmax of bincount); "abstain" abstains.
   */
  ties?: "lowest" | "abstain";
}

/**
 * Majority (plurality) vote of several models' predicted class ids (`preds[m][i]`), with the
 * winner's share of votes as confidence.
 */
export function majorityVote(
  preds: readonly LabelArray[],
  opts: VoteOptions = {},
): EnsembleDecision {
  if (preds.length === 0) throw new Error("majority vote: no models");
  const n = preds[0].length;
  if (n === 0) throw new Error("majority vote: empty input (no items)");
  let k = 0;
  preds.forEach((p, m) => {
    if (p.length !== n) {
      throw new Error(`majority vote: model ${m} has ${p.length} predictions, expected ${n}`);
    }
    k = Math.max(k, classIdBound(p, `model ${m}`));
  });
  const threshold = opts.threshold ?? 0;
  const ties = opts.ties ?? "lowest";
  const votes = new Int32Array(k);
  const pred = new Int32Array(n);
  const confidence = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    votes.fill(0);
    for (const p of preds) votes[p[i]]++;
    let best = 0;
    let tied = false;
    for (let c = 1; c < k; c++) {
      if (votes[c] > votes[best]) {
        best = c;
        tied = false;
      } else if (votes[c] === votes[best]) tied = true;
    }
    const share = votes[best] / preds.length;
    confidence[i] = share;
    pred[i] = (tied && ties === "abstain") || share < threshold ? ABSTAIN : best;
  }
  return { pred, confidence };
}

/**
 * Mean-probability (soft) vote: the class with the largest mean probability over models (first
 * on ties, as numpy argmax), its mean probability as confidence; abstain below `threshold`.
 * All models' probability columns must share `classes` (default 0..cols-1).
 */
export function meanProbability(
  probs: readonly ScoreInput[],
  opts: { threshold?: number; classes?: ArrayLike<number> } = {},
): EnsembleDecision {
  if (probs.length === 0) throw new Error("mean probability: no models");
  const mats = probs.map((p, m) => toScoreMatrix(p, `model ${m} probabilities`));
  const { rows, cols } = mats[0];
  if (rows === 0) throw new Error("mean probability: empty input (no items)");
  mats.forEach((m, i) => {
    if (m.rows !== rows || m.cols !== cols) {
      throw new Error(
        `mean probability: model ${i} has ${m.rows}×${m.cols} probabilities, expected ${rows}×${cols}`,
      );
    }
  });
  const classes = columnClasses(cols, opts.classes);
  const threshold = opts.threshold ?? 0;
  const pred = new Int32Array(rows);
  const confidence = new Float64Array(rows);
  const mean = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    mean.fill(0);
    for (const m of mats) for (let j = 0; j < cols; j++) mean[j] += m.data[i * cols + j];
    let best = 0;
    for (let j = 0; j < cols; j++) {
      mean[j] /= mats.length;
      if (mean[j] > mean[best]) best = j;
    }
    confidence[i] = mean[best];
    pred[i] = mean[best] < threshold ? ABSTAIN : classes[best];
  }
  return { pred, confidence };
}

/**
 * Mode with a confidence fallback (the nine-model benchmark's second ensemble): each model votes
 * its predicted class and the most frequent class wins; when several classes tie for the most
 * votes, the prediction of the most confident model (largest `confidences[m][i]`, e.g. its top
 * probability; the first such model on ties) is taken instead. Confidence: the winner's vote share.
 */
export function modeWithFallback(
  preds: readonly LabelArray[],
  confidences: readonly ArrayLike<number>[],
): EnsembleDecision {
  if (confidences.length !== preds.length) {
    throw new Error(`mode ensemble: ${preds.length} models but ${confidences.length} confidences`);
  }
  const mode = majorityVote(preds, { ties: "abstain" });
  const n = mode.pred.length;
  confidences.forEach((c, m) => pairedLength(preds[m], c, `model ${m} preds/confidences`));
  const pred = Int32Array.from(mode.pred);
  for (let i = 0; i < n; i++) {
    if (pred[i] !== ABSTAIN) continue;
    let best = 0;
    for (let m = 1; m < preds.length; m++) {
      if (confidences[m][i] > confidences[best][i]) best = m;
    }
    pred[i] = preds[best][i];
  }
  return { pred, confidence: mode.confidence };
}

/** Accuracy on the items kept and the share kept, for one decision set (abstentions dropped). */
export function selectiveAccuracy(
  yTrue: LabelArray,
  pred: LabelArray,
): { coverage: number; accuracy: number } {
  const n = pairedLength(yTrue, pred, "y_true/pred");
  let kept = 0;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    if (pred[i] === ABSTAIN) continue;
    kept++;
    if (pred[i] === yTrue[i]) hits++;
  }
  return { coverage: kept / n, accuracy: kept === 0 ? NaN : hits / kept };
}

/** One point of a coverage-vs-accuracy curve. */
export interface CoveragePoint {
  /** Items with confidence ≥ threshold are kept. */
  threshold: number;
  kept: number;
  /** kept / all items. */
  coverage: number;
  /** Share of kept items predicted correctly. */
  accuracy: number;
}

/**
 * Coverage-vs-accuracy (selective prediction) curve: one point per distinct confidence value t,
 * from the highest down, keeping the items with confidence ≥ t. Items with pred = ABSTAIN are
 * never kept (they count in the coverage denominator only).
 */
export function coverageAccuracyCurve(
  yTrue: LabelArray,
  pred: LabelArray,
  confidence: ArrayLike<number>,
): CoveragePoint[] {
  const n = pairedLength(yTrue, pred, "y_true/pred");
  pairedLength(yTrue, confidence, "y_true/confidence");
  const order: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(confidence[i])) {
      throw new Error(`confidence[${i}] = ${confidence[i]} is not a number`);
    }
    if (pred[i] !== ABSTAIN) order.push(i);
  }
  order.sort((a, b) => confidence[b] - confidence[a]);
  const points: CoveragePoint[] = [];
  let kept = 0;
  let hits = 0;
  for (let p = 0; p < order.length; p++) {
    const i = order[p];
    kept++;
    if (pred[i] === yTrue[i]) hits++;
    if (p + 1 === order.length || confidence[order[p + 1]] !== confidence[i]) {
      points.push({ threshold: confidence[i], kept, coverage: kept / n, accuracy: hits / kept });
    }
  }
  return points;
}
