/**
 * The pitfalls notebook's study layer (notebooks/05-pitfalls): what silently changes FER results,
 * each measured. Pure study functions (runs, preprocessing variants, crop conditions, label
 * rules, duplicates, metrics and calibration), the sections that gather their data, and the key
 * findings each section implies (findings.ts); the presentation that shows them is
 * lib/present/pitfalls.ts.
 */
export * from "./runs.ts";
export * from "./preprocessing.ts";
export * from "./cropping.ts";
export * from "./labels.ts";
export * from "./duplicates.ts";
export * from "./measures.ts";
export * from "./results.ts";
export * from "./sections.ts";
export * from "./findings.ts";
