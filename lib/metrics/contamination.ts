/**
 * Test-set contamination audit for a dataset labelled twice (FER2013's original labels and the
 * FER+ crowd majority on the same faces). On the faces whose two labels disagree, a model that
 * never saw the test split should match the better labels (FER+) at least as often as the noisy
 * ones; a model trained or tuned on the test split has learned its original labels, so it picks
 * them more often than clean models do, and its accuracy falls when scored against the better
 * labels while clean models gain.
 *
 * Inputs are class ids (indices into EMOTIONS); a negative id means "no label in that set"
 * (e.g. a face FER+ dropped). Intervals are percentile bootstraps over items (lib/metrics/
 * bootstrap.ts; the item stream of `bootstrapValues`).
 */
import {
  type BootstrapInterval,
  type BootstrapOptions,
  bootstrapSettings,
  bootstrapValues,
  intervalFromValues,
} from "./bootstrap.ts";

/** The audit of one model's predictions against two label sets of the same items. */
export interface LabelSetAudit {
  /** Items with both labels. */
  paired: number;
  /** Items with both labels, where the labels differ. */
  disagreeing: number;
  /** On disagreeing items: share of predictions equal to label set A. */
  matchA: BootstrapInterval;
  /** On disagreeing items: share of predictions equal to label set B. */
  matchB: BootstrapInterval;
  /** On disagreeing items: share equal to neither label. */
  matchNeither: number;
  /** Accuracy against label set A on the paired items. */
  accuracyA: number;
  /** Accuracy against label set B on the paired items. */
  accuracyB: number;
  /** accuracyB − accuracyA on the paired items (paired bootstrap over items). */
  accuracyChange: BootstrapInterval;
}

function checkIds(name: string, ids: ArrayLike<number>, n: number): void {
  if (ids.length !== n) throw new Error(`labelSetAudit: ${name} has ${ids.length} items, not ${n}`);
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(ids[i])) {
      throw new Error(`labelSetAudit: ${name}[${i}] = ${ids[i]} is not an integer class id`);
    }
  }
}

/**
 * Audit predictions `yPred` against two label sets `yA` (e.g. FER2013 original) and `yB`
 * (e.g. FER+ majority) of the same items. Shares and the accuracy change carry percentile
 * bootstrap intervals (BootstrapOptions; default 1000 resamples, seed 0, 95 %). Throws when no
 * item has both labels or none disagrees, since the shares are then undefined.
 */
export function labelSetAudit(
  yPred: ArrayLike<number>,
  yA: ArrayLike<number>,
  yB: ArrayLike<number>,
  opts: BootstrapOptions = {},
): LabelSetAudit {
  const n = yPred.length;
  checkIds("yPred", yPred, n);
  checkIds("yA", yA, n);
  checkIds("yB", yB, n);
  const settings = bootstrapSettings(opts);
  // Paired items: hitA/hitB per item; disagreeing items: which label the prediction matches.
  const hitA: number[] = [];
  const hitB: number[] = [];
  const dA: number[] = [];
  const dB: number[] = [];
  for (let i = 0; i < n; i++) {
    if (yA[i] < 0 || yB[i] < 0) continue;
    hitA.push(yPred[i] === yA[i] ? 1 : 0);
    hitB.push(yPred[i] === yB[i] ? 1 : 0);
    if (yA[i] !== yB[i]) {
      dA.push(yPred[i] === yA[i] ? 1 : 0);
      dB.push(yPred[i] === yB[i] ? 1 : 0);
    }
  }
  if (hitA.length === 0) throw new Error("labelSetAudit: no item has both labels");
  if (dA.length === 0) throw new Error("labelSetAudit: the two label sets never disagree");
  const mean = (xs: number[], idx?: Int32Array) => {
    let s = 0;
    if (idx) { for (let k = 0; k < idx.length; k++) s += xs[idx[k]]; }
    else for (const x of xs) s += x;
    return s / (idx ? idx.length : xs.length);
  };
  // One resample stream over disagreeing items for both shares (their draws are shared, so the
  // two intervals describe the same resamples).
  const sharesA: number[] = [];
  const sharesB = bootstrapValues(dA.length, (idx) => {
    sharesA.push(mean(dA, idx));
    return mean(dB, idx);
  }, settings);
  const change = bootstrapValues(hitA.length, (idx) => mean(hitB, idx) - mean(hitA, idx), settings);
  const shareA = mean(dA);
  const shareB = mean(dB);
  const accuracyA = mean(hitA);
  const accuracyB = mean(hitB);
  return {
    paired: hitA.length,
    disagreeing: dA.length,
    matchA: intervalFromValues(shareA, sharesA, settings),
    matchB: intervalFromValues(shareB, sharesB, settings),
    matchNeither: 1 - shareA - shareB,
    accuracyA,
    accuracyB,
    accuracyChange: intervalFromValues(accuracyB - accuracyA, change, settings),
  };
}

/**
 * Whether an audited model likely saw the test split: its share of predictions matching label
 * set A (the original labels) on disagreeing items lies wholly above that of every clean
 * reference (its interval's lower bound exceeds each reference's upper bound). Returns false
 * when no reference is given (nothing to compare with).
 */
export function likelyContaminated(
  audit: Pick<LabelSetAudit, "matchA">,
  cleanReferences: readonly Pick<LabelSetAudit, "matchA">[],
): boolean {
  if (cleanReferences.length === 0) return false;
  return cleanReferences.every((r) => audit.matchA.lower > r.matchA.upper);
}
