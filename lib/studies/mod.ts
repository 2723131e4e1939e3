/**
 * Study-level helpers the notebooks call (notebooks/01-04), so each notebook stays a thin layer
 * of teaching text over lib/: the prediction grid, the scoring rule, agreement, probes and
 * saliency studies, and the cache that makes a second run fast.
 */
export * from "./cache.ts";
export * from "./grid.ts";
export * from "./scoring.ts";
export * from "./agreement.ts";
export * from "./models.ts";
export * from "./emit.ts";
export * from "./format.ts";
export * from "./probes.ts";
export * from "./saliency.ts";
export * from "./training.ts";
