/**
 * The presentation layer: what the notebooks show and emit. Display through the Deno kernel,
 * tables, plots, montages, number formats, emitting findings, and one view module per study
 * (each view accepts empty input and says what is missing, so notebook cells need no branches).
 */
export * from "./display.ts";
export * from "./emit.ts";
export * from "./format.ts";
export * from "./plots.ts";
export * from "./tables.ts";
export * from "./montage.ts";
export * from "./grid.ts";
export * from "./datasets.ts";
export * from "./transfer.ts";
export * from "./saliency.ts";
export * from "./minority.ts";
export * from "./agreement.ts";
export * from "./fer2013_cnns.ts";
export * from "./training.ts";
export * from "./pitfalls.ts";
