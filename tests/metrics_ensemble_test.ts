/** Ensembles (majority vote, mean probability, abstention, coverage curve) against numpy. */
import assert from "node:assert/strict";
import {
  ABSTAIN,
  coverageAccuracyCurve,
  majorityVote,
  meanProbability,
  modeWithFallback,
  selectiveAccuracy,
} from "../lib/metrics/mod.ts";
import { assertAllClose, assertClose, loadFixture } from "./fixtures/metrics/fixtures.ts";

interface Point {
  threshold: number;
  kept: number;
  coverage: number;
  accuracy: number;
}

interface Fixture {
  y_true: number[];
  preds: number[][];
  probs: number[][][];
  majority: {
    pred: number[];
    confidence: number[];
    pred_threshold_06: number[];
    pred_ties_abstain: number[];
  };
  mean_probability: { pred: number[]; confidence: number[]; pred_threshold_05: number[] };
  curve_mean_probability: Point[];
  curve_majority_threshold: Point[];
}

const fx = loadFixture<Fixture>("ensemble.json");

function checkCurve(got: Point[], want: Point[], what: string): void {
  assert.equal(got.length, want.length, `${what} points`);
  assertAllClose(got.map((p) => p.threshold), want.map((p) => p.threshold), `${what} thresholds`);
  assert.deepEqual(got.map((p) => p.kept), want.map((p) => p.kept), `${what} kept`);
  assertAllClose(got.map((p) => p.coverage), want.map((p) => p.coverage), `${what} coverage`);
  assertAllClose(got.map((p) => p.accuracy), want.map((p) => p.accuracy), `${what} accuracy`);
}

Deno.test("majority vote equals numpy bincount-argmax (scikit-learn hard voting), with abstention", () => {
  const m = fx.majority;
  const v = majorityVote(fx.preds);
  assert.deepEqual(Array.from(v.pred), m.pred);
  assertAllClose(v.confidence, m.confidence, "vote share");
  assert.deepEqual(
    Array.from(majorityVote(fx.preds, { threshold: 0.6 }).pred),
    m.pred_threshold_06,
  );
  assert.deepEqual(
    Array.from(majorityVote(fx.preds, { ties: "abstain" }).pred),
    m.pred_ties_abstain,
  );
  assert.ok(m.pred_ties_abstain.includes(ABSTAIN) && m.pred_threshold_06.includes(ABSTAIN));
});

Deno.test("mean probability vote equals numpy mean-argmax, with abstention", () => {
  const m = fx.mean_probability;
  const v = meanProbability(fx.probs);
  assert.deepEqual(Array.from(v.pred), m.pred);
  assertAllClose(v.confidence, m.confidence, "mean probability");
  assert.deepEqual(
    Array.from(meanProbability(fx.probs, { threshold: 0.5 }).pred),
    m.pred_threshold_05,
  );
  // columns mapped to class ids
  const mapped = meanProbability([[[0.2, 0.8]], [[0.4, 0.6]]], { classes: [3, 6] });
  assert.equal(mapped.pred[0], 6);
  assertClose(mapped.confidence[0], 0.7, "mapped confidence");
});

Deno.test("coverage-vs-accuracy curves equal numpy", () => {
  const mp = fx.mean_probability;
  checkCurve(
    coverageAccuracyCurve(fx.y_true, mp.pred, mp.confidence),
    fx.curve_mean_probability,
    "mean probability",
  );
  checkCurve(
    coverageAccuracyCurve(fx.y_true, fx.majority.pred_threshold_06, fx.majority.confidence),
    fx.curve_majority_threshold,
    "majority with abstention",
  );
  const last = fx.curve_mean_probability.at(-1)!;
  assert.equal(last.coverage, 1);
  const s = selectiveAccuracy(fx.y_true, fx.majority.pred_threshold_06);
  const kept = fx.majority.pred_threshold_06.filter((p) => p !== ABSTAIN).length;
  assertClose(s.coverage, kept / fx.y_true.length, "selective coverage");
  assertClose(s.accuracy, fx.curve_majority_threshold.at(-1)!.accuracy, "selective accuracy");
});

Deno.test("ensemble input errors and edge cases", () => {
  assert.throws(() => majorityVote([]), /no models/);
  assert.throws(() => majorityVote([[0, 1], [0]]), /model 1 has 1 predictions, expected 2/);
  assert.throws(() => majorityVote([[]]), /empty input/);
  assert.throws(() => meanProbability([[[0.5, 0.5]], [[1]]]), /model 1 has 1×1 probabilities/);
  // unanimous: confidence 1; two-way tie: lowest id by default
  assert.deepEqual(Array.from(majorityVote([[2], [2], [2]]).confidence), [1]);
  assert.deepEqual(Array.from(majorityVote([[4], [1]]).pred), [1]);
  assert.deepEqual(Array.from(majorityVote([[4], [1]], { ties: "abstain" }).pred), [ABSTAIN]);
  const all = selectiveAccuracy([0, 1], [ABSTAIN, ABSTAIN]);
  assert.equal(all.coverage, 0);
  assert.ok(Number.isNaN(all.accuracy));
});

Deno.test("modeWithFallback: the mode, else the most confident model", () => {
  // Three models, four items. Item 0: votes 1,1,2 → mode 1. Item 1: 0,1,2 all tied → model 2 is
  // the most confident (0.9) → 2. Item 2: 3,3,3 → 3. Item 3: 0,1,2 tied, confidences equal at
  // the top for models 0 and 1 (0.8) → the first, model 0 → 0.
  const preds = [
    Int32Array.from([1, 0, 3, 0]),
    Int32Array.from([1, 1, 3, 1]),
    Int32Array.from([
      2,
      2,
      3,
      2,
    ]),
  ];
  const conf = [[0.5, 0.4, 0.9, 0.8], [0.6, 0.5, 0.9, 0.8], [0.99, 0.9, 0.9, 0.3]];
  const d = modeWithFallback(preds, conf);
  assert.deepEqual(Array.from(d.pred), [1, 2, 3, 0]);
  assert.deepEqual(Array.from(d.confidence), [2 / 3, 1 / 3, 1, 1 / 3]);
  assert.throws(() => modeWithFallback(preds, conf.slice(1)), /3 models but 2 confidences/);
});
