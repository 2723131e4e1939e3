/** Classification metrics against scikit-learn 1.2 (fixtures from tests/fixtures/metrics/generate.py). */
import assert from "node:assert/strict";
import {
  accuracy,
  balancedAccuracy,
  cohenKappa,
  confusionMatrix,
  f1Score,
  perClassScores,
  topKAccuracy,
} from "../lib/metrics/mod.ts";
import { assertAllClose, assertClose, loadFixture } from "./fixtures/metrics/fixtures.ts";

interface Case {
  name: string;
  y_true: number[];
  y_pred: number[];
  labels: number[] | null;
  probs: number[][] | null;
  expected: {
    labels: number[];
    confusion: number[][];
    confusion_normalized: number[][];
    accuracy: number;
    balanced_accuracy: number;
    precision: number[];
    recall: number[];
    f1: number[];
    support: number[];
    macro_f1: number;
    weighted_f1: number;
    kappa: number | null;
    kappa_linear: number | null;
    kappa_quadratic: number | null;
    top_k?: Record<string, number>;
  };
}

const { cases } = loadFixture<{ cases: Case[] }>("classification.json");

Deno.test("classification fixtures cover the edge cases", () => {
  const names = cases.map((c) => c.name);
  for (
    const n of [
      "class_missing_in_pred",
      "class_missing_in_true",
      "one_class_in_true",
      "one_class_everywhere",
      "perfect",
      "labels_subset_reordered",
      "topk_ties_rounded",
    ]
  ) assert.ok(names.includes(n), n);
});

for (const c of cases) {
  Deno.test(`classification metrics equal scikit-learn: ${c.name}`, () => {
    const e = c.expected;
    // Half the cases as Int32Array, half as number[]: both input kinds are accepted.
    const typed = c.y_true.length % 2 === 0;
    const yt = typed ? Int32Array.from(c.y_true) : c.y_true;
    const yp = typed ? Int32Array.from(c.y_pred) : c.y_pred;
    const opts = c.labels === null ? {} : { labels: c.labels };
    const cm = confusionMatrix(yt, yp, opts);
    assert.deepEqual(cm.labels, e.labels);
    assert.deepEqual(cm.matrix, e.confusion);
    const norm = confusionMatrix(yt, yp, { ...opts, normalize: "true" }).matrix;
    norm.forEach((row, i) =>
      assertAllClose(row, e.confusion_normalized[i], `${c.name} normalized row ${i}`)
    );
    assertClose(accuracy(yt, yp), e.accuracy, `${c.name} accuracy`);
    assertClose(balancedAccuracy(yt, yp), e.balanced_accuracy, `${c.name} balanced accuracy`);
    const per = perClassScores(yt, yp, opts);
    assert.deepEqual(per.map((s) => s.label), e.labels);
    assertAllClose(per.map((s) => s.precision), e.precision, `${c.name} precision`);
    assertAllClose(per.map((s) => s.recall), e.recall, `${c.name} recall`);
    assertAllClose(per.map((s) => s.f1), e.f1, `${c.name} f1`);
    assert.deepEqual(per.map((s) => s.support), e.support);
    assertClose(f1Score(yt, yp, { ...opts, average: "macro" }), e.macro_f1, `${c.name} macro F1`);
    assertClose(
      f1Score(yt, yp, { ...opts, average: "weighted" }),
      e.weighted_f1,
      `${c.name} weighted F1`,
    );
    assertClose(cohenKappa(yt, yp, opts), e.kappa, `${c.name} kappa`);
    assertClose(
      cohenKappa(yt, yp, { ...opts, weights: "linear" }),
      e.kappa_linear,
      `${c.name} linear kappa`,
    );
    assertClose(
      cohenKappa(yt, yp, { ...opts, weights: "quadratic" }),
      e.kappa_quadratic,
      `${c.name} quadratic kappa`,
    );
    if (c.probs !== null && e.top_k !== undefined) {
      for (const [k, v] of Object.entries(e.top_k)) {
        assertClose(topKAccuracy(yt, c.probs, Number(k)), v, `${c.name} top-${k}`);
      }
    }
  });
}

Deno.test("edge cases: perfect predictions, one class, absent classes", () => {
  const y = [0, 1, 2, 2, 1];
  assert.equal(accuracy(y, y), 1);
  assert.equal(f1Score(y, y), 1);
  assert.equal(cohenKappa(y, y), 1);
  // one class in both: kappa undefined (0/0), F1 of that class 1
  assert.ok(Number.isNaN(cohenKappa([3, 3, 3], [3, 3, 3])));
  assert.equal(f1Score([3, 3, 3], [3, 3, 3]), 1);
  // contempt (7) requested but absent: its scores are 0 (zero_division=0) and macro F1 averages it
  const per = perClassScores([0, 1], [0, 1], { labels: [0, 1, 7] });
  assert.deepEqual(per[2], { label: 7, precision: 0, recall: 0, f1: 0, support: 0 });
  assert.equal(f1Score([0, 1], [0, 1], { labels: [0, 1, 7] }), 2 / 3);
  // weighted by support: contempt has none, so the mean of the two present classes
  assert.equal(f1Score([0, 1], [0, 1], { labels: [0, 1, 7], average: "weighted" }), 1);
  // a class only predicted: precision 0 there, and balanced accuracy ignores it
  assert.equal(balancedAccuracy([0, 0, 1, 1], [0, 2, 1, 1]), (0.5 + 1) / 2);
});

Deno.test("bad input is an error naming the problem", () => {
  assert.throws(() => accuracy([], []), /empty input/);
  assert.throws(() => accuracy([1, 2], [1]), /lengths differ \(2 and 1\)/);
  assert.throws(() => accuracy([1, -1], [1, 1]), /y_true\[1\] = -1 is not a class id/);
  assert.throws(() => f1Score([0, 1.5], [0, 1]), /y_true\[1\] = 1.5/);
  assert.throws(() => confusionMatrix([0], [0], { labels: [0, 0] }), /listed twice/);
  assert.throws(() => confusionMatrix([0], [0], { labels: [] }), /empty label list/);
  assert.throws(
    () => topKAccuracy([0, 5], [[0.5, 0.5], [0.2, 0.8]], 1),
    /y_true\[1\] = 5 has no score column/,
  );
  assert.throws(() => topKAccuracy([0], [[0.5, NaN]], 1), /row 0 column 1 is not a finite number/);
  assert.throws(() => topKAccuracy([0], [[0.5, 0.5]], 0), /k = 0/);
});

Deno.test("top-k ties follow scikit-learn (later column ranks first)", () => {
  // scores tie between columns 0 and 2; label 0 loses the tie for k=1, label 2 wins it
  const scores = [[0.4, 0.2, 0.4], [0.4, 0.2, 0.4]];
  assert.equal(topKAccuracy([0, 2], scores, 1), 0.5);
  assert.equal(topKAccuracy([0, 2], scores, 2), 1);
});
