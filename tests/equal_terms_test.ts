/**
 * Humans and models on equal terms (lib/studies/equal_terms.ts) on a built example: the crowd's
 * and the models' κ on the same images and categories, Light's κ against pairwise Cohen's κ
 * (lib/metrics, checked against scikit-learn), groups from the cards' training data.
 */
import assert from "node:assert/strict";
import { cohenKappa, fleissKappaFromCounts } from "../lib/metrics/mod.ts";
import {
  equalTermsAgreement,
  equalTermsFindings,
  lightStatistic,
  trainingGroup,
} from "../lib/studies/equal_terms.ts";
import type { Sample } from "../lib/sample.ts";
import type { PredictionTable } from "../lib/predictions.ts";
import { BASIC7, type Emotion, emotionIndex } from "../lib/taxonomy.ts";

const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

Deno.test("lightStatistic: mean of pairwise Cohen's κ", () => {
  const a = Int32Array.from([0, 1, 2, 3, 3, 0, 1, 2, 6, 6]);
  const b = Int32Array.from([0, 1, 2, 3, 4, 0, 1, 1, 6, 5]);
  const c = Int32Array.from([0, 2, 2, 3, 3, 6, 1, 2, 6, 6]);
  const expected = (cohenKappa(a, b) + cohenKappa(a, c) + cohenKappa(b, c)) / 3;
  assert.ok(Math.abs(lightStatistic([a, b, c])(all(10)) - expected) < 1e-12);
});

// Eight images. Votes: images 0-3 unanimous (10 votes for one basic class); images 4-5 split
// 5/5 between two classes; image 6: 6 happy + 4 contempt; image 7: 4 neutral, 6 other.
const cls = (e: Emotion) => e;
function sample(id: string, label: Emotion, votes: Partial<Record<Emotion | "other", number>>) {
  return { id, label, votes, split: "test", source: { kind: "file", path: id } } as Sample;
}
const samples = [
  sample("i0", "happy", { happy: 10 }),
  sample("i1", "sad", { sad: 10 }),
  sample("i2", "angry", { angry: 10 }),
  sample("i3", "neutral", { neutral: 10 }),
  sample("i4", "fear", { fear: 5, surprise: 5 }),
  sample("i5", "sad", { sad: 5, neutral: 5 }),
  sample("i6", "happy", { happy: 6, contempt: 4 }),
  sample("i7", "neutral", { neutral: 4, other: 6 }),
];
const kept = new Set(["i0", "i1", "i2", "i3", "i6", "i7"]);
function table(preds: Emotion[]): PredictionTable {
  return {
    classes: [...BASIC7],
    rows: samples.map((s, i) => ({
      id: s.id,
      label: s.label,
      pred: preds[i],
      probs: Float64Array.from(BASIC7, (e) => (e === preds[i] ? 1 : 0)),
    })),
  };
}
const fer = { dataset: "fer2013", split: "train" };
const models = [
  { card: { id: "a", training: fer }, table: table(samples.map((s) => s.label)) },
  {
    card: { id: "b", training: fer },
    table: table(["happy", "sad", "angry", "neutral", "surprise", "neutral", "happy", "sad"]),
  },
  { card: { id: "c", training: null }, table: table(samples.map(() => cls("happy"))) },
];

Deno.test("equalTermsAgreement: crowd and models on the same images and categories", () => {
  assert.equal(trainingGroup({ training: fer }), "trained on FER2013 (same domain)");
  assert.equal(trainingGroup({ training: null }), "training data unstated");
  const e = equalTermsAgreement({ samples }, kept, models, { resamples: 50 });
  assert.deepEqual(e.groups, {
    "trained on FER2013 (same domain)": ["a", "b"],
    "training data unstated": ["c"],
  });
  const row = (who: string, images: string, categories: string) =>
    e.rows.find((r) => r.who === who && r.images === images && r.categories === categories)!;
  // Crowd, all images, ten categories: Fleiss with variable raters on the 9-column vote table.
  const cols = [
    "angry",
    "disgust",
    "fear",
    "happy",
    "sad",
    "surprise",
    "neutral",
    "contempt",
    "other",
  ];
  const ten = samples.map((s) => cols.map((c) => s.votes![c as Emotion] ?? 0));
  const ref = fleissKappaFromCounts(ten, { raters: "variable" }).kappa;
  assert.ok(Math.abs(row("crowd", "all", "ten").fleiss.estimate - ref) < 1e-12);
  // Seven basic: contempt and other votes dropped; image 7 keeps its 4 neutral votes.
  const seven = ten.map((r) => r.slice(0, 7));
  const ref7 = fleissKappaFromCounts(seven, { raters: "variable" }).kappa;
  assert.ok(Math.abs(row("crowd", "all", "basic7").fleiss.estimate - ref7) < 1e-12);
  assert.equal(row("crowd", "all", "basic7").items, 8);
  // Majority-kept: six images.
  assert.equal(row("crowd", "majority-kept", "ten").items, 6);
  // Models, FER2013 group, all images: a and b as two fixed raters.
  const ab = row("models: trained on FER2013 (same domain)", "all", "basic7");
  const ia = Int32Array.from(models[0].table.rows, (r) => emotionIndex(r.pred));
  const ib = Int32Array.from(models[1].table.rows, (r) => emotionIndex(r.pred));
  assert.ok(Math.abs(ab.light!.estimate - cohenKappa(ia, ib)) < 1e-12);
  const counts = samples.map((_, i) =>
    BASIC7.map((c) => [ia[i], ib[i]].filter((p) => p === emotionIndex(c)).length)
  );
  assert.ok(
    Math.abs(ab.fleiss.estimate - fleissKappaFromCounts(counts, { raters: "variable" }).kappa) <
      1e-12,
  );
  // The unstated group has one model: no row; "all models" has three raters.
  assert.equal(e.rows.some((r) => r.who === "models: training data unstated"), false);
  assert.equal(row("models: all models", "majority-kept", "basic7").raters, 3);
  const ids = equalTermsFindings(e).map((f) => f.id);
  assert.ok(ids.includes("agreement.equal.crowd.all.ten.fleiss"));
  assert.ok(ids.includes("agreement.equal.models-all-models.majority-kept.basic7.light"));
  assert.equal(new Set(ids).size, ids.length);
});
