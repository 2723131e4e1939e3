/** Calibration metrics against scikit-learn 1.2 log_loss / brier_score_loss and numpy formulas. */
import assert from "node:assert/strict";
import {
  brierScore,
  confidenceBin,
  expectedCalibrationError,
  negativeLogLikelihood,
  reliabilityDiagram,
} from "../lib/metrics/mod.ts";
import { assertAllClose, assertClose, loadFixture } from "./fixtures/metrics/fixtures.ts";

interface Bin {
  lower: number;
  upper: number;
  count: number;
  accuracy: number | null;
  confidence: number | null;
}

interface Case {
  name: string;
  y_true: number[];
  probs: number[][];
  classes: number[];
  expected: {
    ece: Record<string, number>;
    reliability: Record<string, Bin[]>;
    brier: number;
    nll?: number;
    brier_binary_sklearn_x2?: number;
  };
}

const { cases } = loadFixture<{ cases: Case[] }>("calibration.json");

for (const c of cases) {
  Deno.test(`calibration equals scikit-learn / numpy: ${c.name}`, () => {
    const e = c.expected;
    for (const [bins, ece] of Object.entries(e.ece)) {
      const opts = { classes: c.classes, bins: Number(bins) };
      assertClose(
        expectedCalibrationError(c.y_true, c.probs, opts),
        ece,
        `${c.name} ECE ${bins} bins`,
      );
      const diagram = reliabilityDiagram(c.y_true, c.probs, opts);
      const want = e.reliability[bins];
      assert.deepEqual(
        diagram.map((b) => b.count),
        want.map((b) => b.count),
        `${c.name} bin counts`,
      );
      assertAllClose(
        diagram.map((b) => b.accuracy),
        want.map((b) => b.accuracy),
        `${c.name} bin accuracy`,
      );
      assertAllClose(
        diagram.map((b) => b.confidence),
        want.map((b) => b.confidence),
        `${c.name} bin confidence`,
      );
      assertAllClose(diagram.map((b) => b.lower), want.map((b) => b.lower), `${c.name} bin lower`);
    }
    assertClose(brierScore(c.y_true, c.probs, { classes: c.classes }), e.brier, `${c.name} Brier`);
    if (e.brier_binary_sklearn_x2 !== undefined) {
      assertClose(
        brierScore(c.y_true, c.probs, { classes: c.classes }),
        e.brier_binary_sklearn_x2,
        `${c.name} 2 × sklearn Brier`,
      );
    }
    if (e.nll !== undefined) {
      assertClose(
        negativeLogLikelihood(c.y_true, c.probs, { classes: c.classes }),
        e.nll,
        `${c.name} NLL`,
      );
    }
  });
}

Deno.test("confidence bins are (lo, hi], bin 0 holds 0, edges exact", () => {
  assert.equal(confidenceBin(0, 10), 0);
  assert.equal(confidenceBin(0.1, 10), 0);
  assert.equal(confidenceBin(0.3, 10), 2); // 0.3 * 10 = 3.0000000000000004 must not push it up
  assert.equal(confidenceBin(0.30000001, 10), 3);
  assert.equal(confidenceBin(1, 15), 14);
  assert.equal(confidenceBin(1.0000001, 15), 14);
  assert.equal(confidenceBin(0.5, 1), 0);
});

Deno.test("a label without a probability column: NLL is an error, Brier adds its missing 1, ECE counts it wrong", () => {
  const probs = [[0.7, 0.3], [0.2, 0.8]];
  assert.throws(
    () => negativeLogLikelihood([0, 7], probs),
    /y_true\[1\] = 7 has no probability column/,
  );
  // item 0: (0.7-1)² + 0.3² = 0.18; item 1: 0.2² + 0.8² + 1 = 1.68
  assertClose(brierScore([0, 7], probs), (0.18 + 1.68) / 2, "Brier");
  // both items fall in bin (0.6, 0.8] of 5: item 0 (conf .7) right, item 1 (conf .8) wrong
  assertClose(
    expectedCalibrationError([0, 7], probs, { bins: 5 }),
    Math.abs(0.5 - 0.75),
    "ECE 5 bins",
  );
  // with 10 bins they part: |1 − .7| / 2 + |0 − .8| / 2
  assertClose(
    expectedCalibrationError([0, 7], probs, { bins: 10 }),
    (0.3 + 0.8) / 2,
    "ECE 10 bins",
  );
});

Deno.test("calibration input errors", () => {
  assert.throws(() => expectedCalibrationError([], []), /empty input/);
  assert.throws(() => expectedCalibrationError([0], [[1, 0]], { bins: 0 }), /bins = 0/);
  assert.throws(() => brierScore([0, 1], [[1, 0]]), /lengths differ/);
  assert.throws(
    () => brierScore([0], [[1, 0]], { classes: [0] }),
    /1 class ids for 2 score columns/,
  );
  assert.throws(() => brierScore([0, 1], [[1, 0], [0.5]]), /row 1 has 1 values, expected 2/);
});
