/**
 * Pitfall 3: the label rule. FER2013's test images carry two sets of labels: FER2013's own (one
 * annotator's) and FER+'s ten crowd votes, which give a label only through a rule (majority,
 * plurality, at least k votes; lib/datasets/ferplus.ts ferplusLabel). The same predictions,
 * scored against each rule's labels, give different accuracies and can reorder the models.
 */
import { ferplusLabel, readFerplusVotes } from "../../datasets/ferplus.ts";
import type { LoadedDataset } from "../../datasets/types.ts";
import type { FerplusLabelRule } from "../../datasets/types.ts";
import type { BootstrapInterval } from "../../metrics/mod.ts";
import type { Prediction, PredictionTable } from "../../predictions.ts";
import type { Emotion } from "../../taxonomy.ts";
import { emptyInterval } from "./runs.ts";
import { accuracyStatistic } from "../../metrics/mod.ts";
import { labelArrays, restrictToModel, studyInterval } from "../scoring.ts";

/** A way to label an image: FER2013's original label, or a FER+ vote rule. */
export interface LabelRule {
  id: string;
  label: string;
  /** null: the FER2013 original label. */
  rule: FerplusLabelRule | null;
}

/** The rules the notebook compares, FER2013's original labels first (the reference). */
export const LABEL_RULES: readonly LabelRule[] = [
  { id: "fer2013", label: "FER2013 original label", rule: null },
  { id: "majority", label: "FER+ majority (> half of the valid votes)", rule: "majority" },
  { id: "plurality", label: "FER+ plurality (most valid votes)", rule: "plurality" },
  { id: "at-least-4", label: "FER+ top class with ≥ 4 of 10 votes", rule: { atLeast: 4 } },
  { id: "at-least-7", label: "FER+ top class with ≥ 7 of 10 votes", rule: { atLeast: 7 } },
];

/** An image's two label sources. */
export interface VotedImage {
  id: string;
  /** FER2013's original label. */
  original: Emotion;
  /** The ten FER+ votes (FERPLUS_VOTE_COLUMNS order), or undefined when FER+ has none. */
  votes?: readonly number[];
}

/** The label of an image under a rule, or the reason it has none. Pure. */
export function labelUnder(img: VotedImage, rule: LabelRule): Emotion | { excluded: string } {
  if (rule.rule === null) return img.original;
  if (img.votes === undefined) return { excluded: "no-votes" };
  const o = ferplusLabel(img.votes, rule.rule);
  return "label" in o ? o.label : { excluded: o.excluded };
}

/** How a rule's labels differ from FER2013's original ones on the same images. */
export interface LabelChange {
  rule: string;
  images: number;
  /** Images the rule gives a label. */
  kept: number;
  /** Images the rule leaves out, per reason. */
  dropped: Record<string, number>;
  /** Kept images whose label differs from the FER2013 original one. */
  changed: number;
  /** (original → new) pair counts of the changed images. */
  transitions: Record<string, number>;
  /** Share of all images whose label changes or is dropped, bootstrap interval over images. */
  affected: BootstrapInterval;
}

/** Count kept, dropped and changed labels of each rule over the images. Pure. */
export function labelChanges(
  images: readonly VotedImage[],
  rules: readonly LabelRule[] = LABEL_RULES,
): LabelChange[] {
  return rules.map((rule) => {
    const out: LabelChange = {
      rule: rule.id,
      images: images.length,
      kept: 0,
      dropped: {},
      changed: 0,
      transitions: {},
      affected: emptyInterval(),
    };
    const hit = new Uint8Array(images.length);
    images.forEach((img, i) => {
      const l = labelUnder(img, rule);
      if (typeof l !== "string") {
        out.dropped[l.excluded] = (out.dropped[l.excluded] ?? 0) + 1;
        hit[i] = 1;
        return;
      }
      out.kept++;
      if (l !== img.original) {
        hit[i] = 1;
        out.changed++;
        const k = `${img.original} → ${l}`;
        out.transitions[k] = (out.transitions[k] ?? 0) + 1;
      }
    });
    if (images.length > 0) out.affected = studyInterval(images.length, shareOf(hit));
    return out;
  });
}

/** A prediction table relabelled by a rule (rows without a label dropped). Pure. */
export function relabel(
  table: PredictionTable,
  images: ReadonlyMap<string, VotedImage>,
  rule: LabelRule,
): PredictionTable {
  const rows: Prediction[] = [];
  for (const r of table.rows) {
    const img = images.get(r.id);
    if (img === undefined) continue;
    const l = labelUnder(img, rule);
    if (typeof l === "string") rows.push({ ...r, label: l });
  }
  return { classes: table.classes, rows };
}

/** One model scored under one rule. */
export interface RuleScore {
  model: string;
  rule: string;
  /** Images scored (the rule's labels the model can output). */
  n: number;
  accuracy: BootstrapInterval;
  /** 1 = best accuracy among the models under this rule. */
  rank: number;
}

/**
 * Every model's accuracy under every rule (the scoring rule of the studies: labels the model
 * cannot output, contempt for 7-class models, are left out), with bootstrap intervals and the
 * models' rank per rule.
 */
export function scoreUnderRules(
  tables: readonly { model: string; classes: readonly Emotion[]; table: PredictionTable }[],
  images: ReadonlyMap<string, VotedImage>,
  datasetClasses: readonly Emotion[],
  rules: readonly LabelRule[] = LABEL_RULES,
): RuleScore[] {
  const out: RuleScore[] = [];
  for (const rule of rules) {
    const mine = tables.map((t) => {
      const scored = restrictToModel(relabel(t.table, images, rule), t.classes, datasetClasses);
      const { yTrue, yPred } = labelArrays(scored.table);
      const n = yTrue.length;
      return {
        model: t.model,
        rule: rule.id,
        n,
        accuracy: n === 0 ? emptyInterval() : studyInterval(n, accuracyStatistic(yTrue, yPred)),
        rank: 0,
      };
    });
    const order = mine.slice().sort((a, b) => b.accuracy.estimate - a.accuracy.estimate);
    for (const m of mine) m.rank = order.indexOf(m) + 1;
    out.push(...mine);
  }
  return out;
}

/** The share of items at `indices` whose flag is set. */
export function shareOf(flags: Uint8Array): (indices: Int32Array) => number {
  return (idx) => {
    let k = 0;
    for (let i = 0; i < idx.length; i++) k += flags[idx[i]];
    return k / idx.length;
  };
}

/**
 * The test images of FER2013 (loaded with its original labels) with their raw FER+ votes, read
 * from the FER+ folder's label files (`ferplusDir`); images FER+ has no votes for keep none.
 */
export async function votedImages(
  fer2013: LoadedDataset,
  ferplusDir: string,
): Promise<Map<string, VotedImage>> {
  const votes = new Map<string, readonly number[]>();
  const split = new Set(fer2013.samples.map((s) => s.split));
  for (const r of (await readFerplusVotes(ferplusDir)).records) {
    if (split.has(r.split)) votes.set(r.name, r.votes);
  }
  return new Map(fer2013.samples.map((s) => {
    const v = votes.get(s.id);
    return [s.id, { id: s.id, original: s.label, ...(v ? { votes: v } : {}) }];
  }));
}
