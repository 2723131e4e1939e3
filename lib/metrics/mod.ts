/**
 * The kit's metrics: pure functions over class-id arrays (indices into EMOTIONS), checked against
 * scikit-learn 1.2 and statsmodels 0.13 (tests/fixtures/metrics/generate.py).
 */
export * from "./confusion.ts";
export * from "./scores.ts";
export * from "./classification.ts";
export * from "./agreement.ts";
export * from "./krippendorff.ts";
export * from "./calibration.ts";
export * from "./bootstrap.ts";
export * from "./classification_ci.ts";
export * from "./significance.ts";
export * from "./special.ts";
export * from "./ensemble.ts";
export * from "./summary.ts";
export * from "./model_agreement.ts";
export * from "./contamination.ts";
export * from "./cluster_bootstrap.ts";
export * from "./resampling.ts";
export * from "./confusion_table.ts";
export * from "./descriptive.ts";
