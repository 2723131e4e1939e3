/**
 * The study layer the notebooks call: each step of a paper is a function that takes typed inputs
 * and returns typed data plus the findings it implies (nothing here displays; lib/present/ shows
 * the results). The prediction grid, the scoring rule, the steps of notebooks 00-04, probes and
 * saliency studies, and the cache that makes a second run fast.
 */
export * from "./cache.ts";
export * from "./grid.ts";
export * from "./scoring.ts";
export * from "./agreement.ts";
export * from "./training_agreement.ts";
export * from "./models.ts";
export * from "./probes.ts";
export * from "./saliency.ts";
export * from "./training.ts";
export * from "./datasets.ts";
export * from "./transfer.ts";
export * from "./minority.ts";
export * from "./fer2013_cnns.ts";
