/**
 * The contamination audit (lib/metrics/contamination.ts) on built examples: a model that copies
 * one label set, one that copies the other, and one that splits its answers, with every share and
 * accuracy computed by hand.
 */
import assert from "node:assert/strict";
import { labelSetAudit, likelyContaminated } from "../lib/metrics/mod.ts";

// 40 items. Labels A: class i % 7. Labels B equal A except on items 0..9, where B = (A + 1) % 7.
// Items 36..39 have no B label (-1): they are left out of every statistic.
const N = 40;
const yA = Array.from({ length: N }, (_, i) => i % 7);
const yB = yA.map((a, i) => (i < 10 ? (a + 1) % 7 : i >= 36 ? -1 : a));

Deno.test("labelSetAudit: a model that copies label set A", () => {
  const a = labelSetAudit(yA, yA, yB, { resamples: 200, seed: 3 });
  assert.equal(a.paired, 36);
  assert.equal(a.disagreeing, 10);
  assert.equal(a.matchA.estimate, 1);
  assert.equal(a.matchB.estimate, 0);
  assert.equal(a.matchNeither, 0);
  // Every resample of a constant is that constant.
  assert.deepEqual([a.matchA.lower, a.matchA.upper], [1, 1]);
  assert.deepEqual([a.matchB.lower, a.matchB.upper], [0, 0]);
  assert.equal(a.accuracyA, 1);
  assert.equal(a.accuracyB, 26 / 36);
  assert.equal(a.accuracyChange.estimate, 26 / 36 - 1);
  assert.ok(a.accuracyChange.upper < 0, "the change's whole interval is a loss");
});

Deno.test("labelSetAudit: copying B, splitting answers, and the contamination flag", () => {
  const copyB = labelSetAudit(yB.map((b, i) => (b < 0 ? yA[i] : b)), yA, yB, { resamples: 200 });
  assert.equal(copyB.matchA.estimate, 0);
  assert.equal(copyB.matchB.estimate, 1);
  assert.equal(copyB.accuracyB, 1);
  assert.equal(copyB.accuracyChange.estimate, 1 - 26 / 36);
  // Split: on disagreeing items 0..4 predict A, 5..7 predict B, 8..9 predict (A + 3) % 7, which
  // is neither A nor B = (A + 1) % 7.
  const pred = yA.slice();
  for (let i = 5; i < 8; i++) pred[i] = yB[i];
  for (let i = 8; i < 10; i++) pred[i] = (yA[i] + 3) % 7;
  const split = labelSetAudit(pred, yA, yB, { resamples: 500, seed: 1 });
  assert.equal(split.matchA.estimate, 5 / 10);
  assert.equal(split.matchB.estimate, 3 / 10);
  assert.ok(Math.abs(split.matchNeither - 2 / 10) < 1e-12);
  assert.ok(split.matchA.lower <= 0.5 && split.matchA.upper >= 0.5);
  assert.ok(split.matchA.lower > 0 && split.matchA.upper < 1);
  // Paired accuracies: A right on 26 agreeing + 5 = 31; B right on 26 + 3 = 29 (of 36).
  assert.equal(split.accuracyA, 31 / 36);
  assert.equal(split.accuracyB, 29 / 36);
  const copyA = labelSetAudit(yA, yA, yB, { resamples: 200 });
  assert.equal(likelyContaminated(copyA, [copyB]), true);
  assert.equal(likelyContaminated(copyB, [copyA]), false);
  // The split model's interval reaches the copier's: not flagged against it.
  assert.equal(likelyContaminated(split, [copyB, copyA]), false);
  assert.equal(likelyContaminated(copyA, []), false);
});

Deno.test("labelSetAudit: errors name the input", () => {
  assert.throws(() => labelSetAudit([0, 1], [0], [0, 1]), /yA has 1 items, not 2/);
  assert.throws(() => labelSetAudit([0, 1.5], [0, 1], [0, 1]), /yPred\[1\] = 1.5/);
  assert.throws(() => labelSetAudit([0, 1], [0, 1], [0, 1]), /never disagree/);
  assert.throws(() => labelSetAudit([0, 1], [0, 1], [-1, -1]), /no item has both labels/);
});
