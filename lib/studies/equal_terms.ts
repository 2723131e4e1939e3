/**
 * Humans and models on equal terms (notebook 03): the FER+ crowd's agreement and the models'
 * agreement on the same FER2013 test images and the same categories.
 *
 * - Images: all test images, or only those the FER+ majority rule keeps (the ones the crowd
 *   agreed on; measuring the crowd there alone flatters it).
 * - Categories: the crowd's ten (eight emotions, unknown, not-a-face) or the seven basic
 *   emotions, which is all most models can answer: ratings outside the seven are dropped for
 *   crowd and models alike, and an image keeps the ratings left (Fleiss' κ with a variable
 *   number of raters per image).
 * - Raters: the crowd's ten votes per image come from a pool of annotators, so only Fleiss' κ
 *   applies; models are fixed raters, so Light's κ (the mean of pairwise Cohen's κ; Light 1971)
 *   is shown beside it.
 * - Models are grouped by the training data their cards name: a model trained on FER2013 is
 *   tested in its own domain here, the others are not.
 * Intervals: percentile bootstrap over images (the crowd's and the models' rows are resampled
 * with the same seed, so the same images).
 */
import type { LoadedDataset } from "../datasets/types.ts";
import { ciPair, type Finding } from "../findings.ts";
import {
  allPairs,
  type BootstrapInterval,
  fleissStatistic,
  type IndexStatistic,
  meanPairKappaStatistic,
} from "../metrics/mod.ts";
import type { ModelCard } from "../models/card.ts";
import { joinPredictions, type PredictionTable } from "../predictions.ts";
import { BASIC7, emotionIndex, EMOTIONS } from "../taxonomy.ts";
import { VOTE_CATEGORIES, voteTable } from "./agreement.ts";
import { trainingDatasetOf } from "./models.ts";
import { studyInterval } from "./scoring.ts";

/** Which images a row is measured on. */
export type ImageSet = "all" | "majority-kept";
/** Which categories count. */
export type CategorySet = "ten" | "basic7";

/** One line of the comparison. */
export interface EqualTermsRow {
  /** "crowd" or "models: <group>". */
  who: string;
  images: ImageSet;
  categories: CategorySet;
  /** Images measured (with at least two ratings left). */
  items: number;
  /** Raters: ten votes per image for the crowd, the number of models otherwise. */
  raters: number;
  fleiss: BootstrapInterval;
  /** Light's κ (mean pairwise Cohen's κ), fixed raters only. */
  light: BootstrapInterval | null;
}

/** The full comparison. */
export interface EqualTerms {
  rows: EqualTermsRow[];
  /** Model ids per group. */
  groups: Record<string, string[]>;
}

/** Group of a model by its card's training data, relative to FER2013 test. */
export function trainingGroup(card: Pick<ModelCard, "training">): string {
  const d = trainingDatasetOf(card);
  return d === "fer2013"
    ? "trained on FER2013 (same domain)"
    : d === null
    ? "training data unstated"
    : `trained on ${d}`;
}

const BASIC = new Set<string>(BASIC7);

/** Crowd count table restricted to the categories. */
function crowdTable(votes: readonly number[][], categories: CategorySet): number[][] {
  if (categories === "ten") return votes.map((r) => [...r]);
  const keep = VOTE_CATEGORIES.map((c) => BASIC.has(c));
  return votes.map((r) => r.filter((_, j) => keep[j]));
}

/** Models' count table over the seven basic classes (other predictions dropped). */
function modelTable(preds: readonly Int32Array[], n: number): number[][] {
  const cols = BASIC7.map((e) => emotionIndex(e));
  return Array.from({ length: n }, (_, i) => {
    const row = new Array<number>(cols.length).fill(0);
    for (const p of preds) {
      const j = cols.indexOf(p[i]);
      if (j >= 0) row[j]++;
    }
    return row;
  });
}

/** Light's κ of fixed raters over the items drawn: mean pairwise Cohen's κ. */
export function lightStatistic(preds: readonly Int32Array[]): IndexStatistic {
  return meanPairKappaStatistic(allPairs(preds), EMOTIONS.length);
}

/**
 * The crowd and the model groups on FER2013 test (`fer2013Test`: samples with FER+ votes;
 * `keptIds`: the ids FER+'s majority rule keeps; `tables`: each model's FER2013-test
 * predictions). Groups with fewer than two models get no row.
 */
export function equalTermsAgreement(
  fer2013Test: Pick<LoadedDataset, "samples">,
  keptIds: ReadonlySet<string>,
  tables: readonly { card: Pick<ModelCard, "id" | "training">; table: PredictionTable }[],
  opts: { resamples?: number; seed?: number } = {},
): EqualTerms {
  const voted = fer2013Test.samples.filter((s) => s.votes !== undefined);
  const groups: Record<string, string[]> = {};
  for (const t of tables) (groups[trainingGroup(t.card)] ??= []).push(t.card.id);
  const rows: EqualTermsRow[] = [];
  for (const images of ["all", "majority-kept"] as const) {
    const samples = images === "all" ? voted : voted.filter((s) => keptIds.has(s.id));
    if (samples.length === 0) continue;
    const votes = voteTable(samples);
    for (const categories of ["ten", "basic7"] as const) {
      const table = crowdTable(votes, categories);
      const used = table.filter((r) => r.reduce((a, b) => a + b, 0) >= 2).length;
      rows.push({
        who: "crowd",
        images,
        categories,
        items: used,
        raters: 10,
        fleiss: studyInterval(table.length, fleissStatistic(table), opts),
        light: null,
      });
    }
    const ids = new Set(samples.map((s) => s.id));
    const sets: [string, typeof tables][] = [
      ["all models", tables],
      ...Object.entries(groups).map(([g, members]) =>
        [g, tables.filter((t) => members.includes(t.card.id))] as [string, typeof tables]
      ),
    ];
    for (const [group, members] of sets) {
      if (members.length < 2) continue;
      const j = joinPredictions(members.map((t) => ({
        name: t.card.id,
        table: { classes: t.table.classes, rows: t.table.rows.filter((r) => ids.has(r.id)) },
      })));
      const table = modelTable(j.preds, j.ids.length);
      rows.push({
        who: `models: ${group}`,
        images,
        categories: "basic7",
        items: table.filter((r) => r.reduce((a, b) => a + b, 0) >= 2).length,
        raters: members.length,
        fleiss: studyInterval(table.length, fleissStatistic(table), opts),
        light: studyInterval(j.ids.length, lightStatistic(j.preds), opts),
      });
    }
  }
  return { rows, groups };
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

/** Findings of the comparison: Fleiss' κ per row (and Light's κ for model rows). */
export function equalTermsFindings(e: EqualTerms): Finding[] {
  return e.rows.flatMap((r) => {
    const base = `agreement.equal.${slug(r.who)}.${r.images}.${r.categories}`;
    const what = `${r.who}, ${r.images === "all" ? "all" : "majority-kept"} FER2013 test images, ${
      r.categories === "ten" ? "ten crowd categories" : "seven basic emotions"
    }`;
    const out: Finding[] = [{
      id: `${base}.fleiss`,
      label: `Fleiss' κ: ${what}`,
      value: r.fleiss.estimate,
      ci: ciPair(r.fleiss),
      unit: "κ",
      group: "Humans and models on equal terms",
      note: `${r.items} images, ${r.raters} raters per image; bootstrap by image`,
    }];
    if (r.light) {
      out.push({
        id: `${base}.light`,
        label: `Light's κ: ${what}`,
        value: r.light.estimate,
        ci: ciPair(r.light),
        unit: "κ",
        group: "Humans and models on equal terms",
        note: `mean pairwise Cohen's κ of ${r.raters} models; bootstrap by image`,
      });
    }
    return out;
  });
}

/** Bars for barChart: one per row, grouped by image set and categories. */
export function equalTermsBars(
  e: EqualTerms,
): { label: string; value: number; lo: number; hi: number; group: string }[] {
  return e.rows.map((r) => ({
    label: `${r.images}, ${r.categories === "ten" ? "ten categories" : "7 basic"}`,
    value: r.fleiss.estimate,
    lo: r.fleiss.lower,
    hi: r.fleiss.upper,
    group: r.who,
  }));
}
