/**
 * The typed results of the pitfalls notebook's sections (lib/studies/pitfalls/sections.ts makes
 * them; findings.ts turns them into findings; lib/present/pitfalls.ts shows them).
 */
import type { Finding } from "../../findings.ts";
import type { BootstrapInterval } from "../../metrics/mod.ts";
import type { Sample } from "../../sample.ts";
import type { Emotion } from "../../taxonomy.ts";
import type { DuplicatePair, GroupLeak, LeakShare } from "./duplicates.ts";
import type { LabelChange, RuleScore } from "./labels.ts";
import type { CalibrationResult, MetricPanel, ThresholdPoint } from "./measures.ts";

/** A section's result, or why there is none. */
export type Outcome<T> = { value: T; missing: null } | { value: null; missing: string };

/** A section's Outcome with the key findings it implies either way (findings.ts). */
export type Section<T> = Outcome<T> & { findings: Finding[] };

/** Section 3's result. */
export interface LabelRulesResult {
  changes: LabelChange[];
  scores: RuleScore[];
}

/** Section 4's FER2013 part. */
export interface DuplicatesResult {
  images: number;
  maxDistance: number;
  /** Pair counts per kind and split pair. */
  pairCounts: { kind: string; splits: string; pairs: number }[];
  leaks: LeakShare[];
  /** Example test/train pairs: exact ones, then near ones by distance. */
  examples: DuplicatePair[];
  /** The samples of the example pairs (for the montage). */
  exampleSamples: Sample[];
}

/** Section 4b: ExpW faces of one photograph on both sides of a split. */
export interface PhotoLeakResult {
  /** The kit's saved split (by photograph). */
  kit: GroupLeak;
  /** A face-level stratified split with the same seed and test fraction. */
  byFace: GroupLeak;
}

/** Section 5's rows: every model and the majority baseline. */
export interface MetricChoiceRow {
  model: string;
  panel: MetricPanel;
}

/** Section 5's result: the models' rows, then the baseline's (always `baseline`). */
export interface MetricChoiceResult {
  dataset: string;
  baseline: Emotion;
  rows: MetricChoiceRow[];
}

/** Section 6's rows. */
export interface CalibrationRow {
  model: string;
  calibration: CalibrationResult;
  sweep: ThresholdPoint[];
}

/** Section 6's result. */
export interface CalibrationSectionResult {
  dataset: string;
  rows: CalibrationRow[];
}

/** Section 7's rows. */
export interface SmallTestRow {
  model: string;
  images: number;
  subjects: number;
  byImage: BootstrapInterval;
  bySubject: BootstrapInterval;
}

/** Test sizes a difference of `delta` needs at one model's accuracy. */
export interface SizeRow {
  models: string;
  accuracy: number;
  discordance: number;
  independent: number;
  paired: number;
}

/** Section 7's result. */
export interface SmallTestResult {
  ckplus: SmallTestRow[];
  sizes: SizeRow[];
  delta: number;
}
