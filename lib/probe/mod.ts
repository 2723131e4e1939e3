/**
 * Linear probes: standardise embeddings with training-part statistics, then fit a multinomial
 * L2 logistic regression (lib/probe/logreg.ts) by L-BFGS (lib/probe/lbfgs.ts). See
 * docs/probes.md for the objective, its mapping to scikit-learn's C, and the defaults.
 */
import { type Emotion, EMOTIONS } from "../taxonomy.ts";
import type { LbfgsOptions } from "./lbfgs.ts";
import {
  argmaxRows,
  cFromLambda,
  fitLogReg,
  type LogRegFitReport,
  type LogRegModel,
  logRegProbabilities,
} from "./logreg.ts";
import type { FeatureMatrix } from "./matrix.ts";
import { applyStandardizer, fitStandardizer, type Standardizer } from "./standardize.ts";

export * from "./lbfgs.ts";
export * from "./logreg.ts";
export * from "./matrix.ts";
export * from "./standardize.ts";
export * from "./subsample.ts";

/** Default L2 strength on the mean-loss scale (sklearn C = 1 / (lambda n); C = 0.25 at n = 4000). */
export const DEFAULT_LAMBDA = 1e-3;

/** Probe settings. */
export interface ProbeOptions {
  /** L2 strength lambda (mean-loss scale) [DEFAULT_LAMBDA]. */
  lambda?: number;
  /** "balanced" (sklearn's rule) or "none" ["balanced"]. */
  classWeight?: "balanced" | "none";
  lbfgs?: LbfgsOptions;
}

/** A trained probe: the classes it can output, its standardizer, its classifier, its fit report. */
export interface LinearProbe {
  /** Classes the probe outputs, in canonical (EMOTIONS) order: those present in training. */
  classes: Emotion[];
  standardizer: Standardizer;
  model: LogRegModel;
  lambda: number;
  /** scikit-learn's C for the same problem (1 / (lambda n_train)). */
  sklearnC: number;
  classWeight: "balanced" | "none";
  nTrain: number;
  fit: LogRegFitReport;
}

/**
 * Train a probe on `features` (n x dim) with one label per row. The probe's classes are the
 * labels present, in canonical order; features are standardised with the training part's own
 * mean and scale. Deterministic (zero start, no randomness).
 */
export function trainProbe(
  features: FeatureMatrix,
  labels: readonly Emotion[],
  opts: ProbeOptions = {},
): LinearProbe {
  if (labels.length !== features.rows) {
    throw new Error(`trainProbe: ${labels.length} labels for ${features.rows} feature rows`);
  }
  const present = new Set(labels);
  const classes = EMOTIONS.filter((e) => present.has(e));
  if (classes.length < 2) {
    throw new Error(
      `trainProbe: need at least 2 classes, training labels hold ${classes.join(", ")}`,
    );
  }
  const index = new Map(classes.map((c, i) => [c, i]));
  const y = Int32Array.from(labels, (l) => index.get(l)!);
  const standardizer = fitStandardizer(features);
  const x = applyStandardizer(standardizer, features);
  const lambda = opts.lambda ?? DEFAULT_LAMBDA;
  const classWeight = opts.classWeight ?? "balanced";
  const { model, report } = fitLogReg(x, y, classes.length, {
    lambda,
    classWeight: classWeight === "balanced" ? "balanced" : null,
    lbfgs: opts.lbfgs,
  });
  return {
    classes,
    standardizer,
    model,
    lambda,
    sklearnC: cFromLambda(lambda, features.rows),
    classWeight,
    nTrain: features.rows,
    fit: report,
  };
}

/** Probabilities over `probe.classes` for each row: Float64Array n x classes.length. */
export function probeProbabilities(probe: LinearProbe, features: FeatureMatrix): Float64Array {
  return logRegProbabilities(probe.model, applyStandardizer(probe.standardizer, features));
}

/** The probe's predicted class for each row of `features`. */
export function probePredict(probe: LinearProbe, features: FeatureMatrix): Emotion[] {
  const k = probe.classes.length;
  return Array.from(argmaxRows(probeProbabilities(probe, features), k), (c) => probe.classes[c]);
}
