/**
 * The contamination audit (lib/metrics/contamination.ts) on built examples: a model that copies
 * one label set, one that copies the other, and one that splits its answers, with every share and
 * accuracy computed by hand.
 */
import assert from "node:assert/strict";
import { labelSetAudit, likelyContaminated } from "../lib/metrics/mod.ts";
import { contaminationFindings, contaminationStudy } from "../lib/studies/contamination.ts";

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

Deno.test("contaminationStudy: clean references from the cards; a copier of the original labels is flagged", () => {
  // 30 faces; FER+ relabels faces 0..11 (original happy → FER+ neutral); face 29 has no FER+ label.
  const ids = Array.from({ length: 30 }, (_, i) => `f${i}`);
  const original = ids.map(() => "happy" as const);
  const plus = ids.map((_, i) => (i < 12 ? "neutral" : "happy") as "neutral" | "happy");
  const ferplusTest = {
    samples: ids.slice(0, 29).map((id, i) => ({
      id,
      label: plus[i],
      split: "test" as const,
      source: { kind: "file" as const, path: id },
    })),
  };
  const table = (pred: (i: number) => "happy" | "neutral") => ({
    classes: ["happy", "neutral"] as ("happy" | "neutral")[],
    rows: ids.map((id, i) => ({
      id,
      label: original[i],
      pred: pred(i),
      probs: Float64Array.from([0.5, 0.5]),
    })),
  });
  const kit = { kind: "repo" as const, path: "x.onnx" };
  const npm = { kind: "npm" as const, package: "p", version: "1", files: ["m"] };
  const clean = { dataset: "fer2013", split: "train" };
  const study = contaminationStudy(
    [
      // The kit's CNN follows FER+ on 10 of the 12 relabelled faces.
      {
        card: { id: "own", source: kit, training: clean },
        table: table((i) => (i < 10 ? "neutral" : "happy")),
      },
      // A pretrained model that answers the original label everywhere.
      { card: { id: "copier", source: npm, training: null }, table: table(() => "happy") },
      // One that follows FER+ everywhere.
      { card: { id: "honest", source: npm, training: null }, table: table((i) => plus[i]) },
    ],
    ferplusTest,
    { resamples: 300 },
  );
  assert.deepEqual(study.references, ["own"]);
  assert.equal(study.paired, 29);
  assert.equal(study.disagreeing, 12);
  const row = (id: string) => study.rows.find((r) => r.model === id)!;
  assert.equal(row("own").audit.matchA.estimate, 2 / 12);
  assert.equal(row("copier").audit.matchA.estimate, 1);
  assert.equal(row("copier").flagged, true);
  assert.equal(row("honest").flagged, false);
  assert.equal(row("own").flagged, false);
  // The copier loses 12 of 29 when scored against FER+; the honest model gains them.
  assert.ok(Math.abs(row("copier").audit.accuracyChange.estimate + 12 / 29) < 1e-12);
  assert.ok(Math.abs(row("honest").audit.accuracyChange.estimate - 12 / 29) < 1e-12);
  const findings = contaminationFindings(study);
  assert.equal(findings.length, 6);
  assert.match(
    findings.find((f) => f.id === "contamination.copier.match-original")!.note!,
    /FLAGGED/,
  );
});
