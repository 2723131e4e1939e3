/**
 * Agreement by training data (lib/studies/training_agreement.ts) on built predictions: pairs
 * sorted by how their training data relate, each pair's κ on the classes both can output
 * (cohenKappa, checked against scikit-learn in metrics_agreement_test.ts), means per relation,
 * the paired difference, and the bootstrap statistics against a hand count.
 */
import assert from "node:assert/strict";
import { cohenKappa, meanPairKappaStatistic, pairKappaStatistic } from "../lib/metrics/mod.ts";
import { joinPredictions, type PredictionTable } from "../lib/predictions.ts";
import { relationKappas, trainingRelation } from "../lib/studies/training_agreement.ts";
import { BASIC7, type Emotion, EMOTIONS } from "../lib/taxonomy.ts";

const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

Deno.test("pairKappaStatistic: Cohen's κ of each pair on the drawn items, by hand", () => {
  // Items 0-5; a and b agree on 0,1,2,4 (4 of 6). Margins a: {0:3, 1:2, 2:1}, b: {0:2, 1:3, 2:1}.
  const a = Int32Array.from([0, 0, 1, 0, 1, 2]);
  const b = Int32Array.from([0, 1, 1, 0, 1, 2]);
  const po = 5 / 6, pe = (3 * 2 + 2 * 3 + 1 * 1) / 36;
  const k = pairKappaStatistic([[a, b], [a, a]], 3)(all(6));
  assert.ok(Math.abs(k[0] - (po - pe) / (1 - pe)) < 1e-12);
  assert.equal(k[1], 1);
  // A resample drawing item 0 three times and item 5 three times: margins {0:3, 2:3} for both.
  const drawn = Int32Array.from([0, 0, 0, 5, 5, 5]);
  assert.equal(pairKappaStatistic([[a, b]], 3)(drawn)[0], 1);
  assert.ok(Number.isNaN(pairKappaStatistic([[a, b]], 3)(Int32Array.from([0, 0]))[0]));
  assert.throws(
    () => pairKappaStatistic([[a, Int32Array.from([0, 0, 1, 0, 3, 2])]], 3),
    /pair 0, rater b, item 4: class id 3 outside 0\.\.2/,
  );
  assert.ok(
    Math.abs(
      meanPairKappaStatistic([[a, b], [a, a]], 3)(all(6)) - (cohenKappa(a, b) + 1) / 2,
    ) < 1e-12,
  );
});

Deno.test("trainingRelation: same dataset, same faces with other labels, different", () => {
  assert.equal(trainingRelation("expw", "expw"), "same dataset");
  assert.equal(trainingRelation("fer2013", "ferplus"), "same faces, other labels");
  assert.equal(trainingRelation("ferplus", "fer2013"), "same faces, other labels");
  assert.equal(trainingRelation("ckplus", "expw"), "different datasets");
});

/** A table from per-item top classes: probability 0.7 on the class, 0.3 on `second`. */
function table(preds: Emotion[], second: Emotion[], classes: Emotion[]): PredictionTable {
  return {
    classes,
    rows: preds.map((p, i) => ({
      id: `i${i}`,
      label: "happy" as Emotion,
      pred: p,
      probs: Float64Array.from(classes, (c) => (c === p ? 0.7 : c === second[i] ? 0.3 : 0)),
    })),
  };
}

Deno.test("relationKappas: pairs, top class among shared classes, means and their gap", () => {
  const E = (s: string) => s.split(" ") as Emotion[];
  // Model c can output contempt; on item 3 it says contempt, its second choice is sad.
  const with8 = [...BASIC7, "contempt" as Emotion];
  const tables = [
    {
      name: "a",
      table: table(E("happy sad angry sad fear happy"), E("sad happy sad angry happy sad"), [
        ...BASIC7,
      ]),
    },
    {
      name: "b",
      table: table(E("happy sad angry fear fear sad"), E("sad happy sad angry happy happy"), [
        ...BASIC7,
      ]),
    },
    {
      name: "c",
      table: table(
        E("happy angry angry contempt fear happy"),
        E("sad happy sad sad happy sad"),
        with8,
      ),
    },
    {
      name: "d",
      table: table(E("sad sad angry sad happy happy"), E("happy happy sad angry sad sad"), [
        ...BASIC7,
      ]),
    },
  ];
  const joined = joinPredictions(tables);
  const train = ["x", "x", "y", "fer2013"];
  const classesOf = [BASIC7, BASIC7, with8, BASIC7];
  const r = relationKappas(joined, train, classesOf, joined.ids, { resamples: 200, seed: 1 });
  assert.equal(r.pairs.length, 6);
  const idx = (e: string) => EMOTIONS.indexOf(e as Emotion);
  const ids = (s: string) => Int32Array.from(E(s).map(idx));
  const A = ids("happy sad angry sad fear happy"), B = ids("happy sad angry fear fear sad");
  // c restricted to the classes a (7 basic) can output: item 3 falls back to sad.
  const C = ids("happy angry angry sad fear happy"), D = ids("sad sad angry sad happy happy");
  const kab = cohenKappa(A, B), kac = cohenKappa(A, C), kad = cohenKappa(A, D);
  const kbc = cohenKappa(B, C), kbd = cohenKappa(B, D), kcd = cohenKappa(C, D);
  const byPair = new Map(r.pairs.map((p) => [`${p.a}${p.b}`, p]));
  assert.equal(byPair.get("ab")!.relation, "same dataset");
  assert.equal(byPair.get("ac")!.relation, "different datasets");
  assert.deepEqual(byPair.get("ac")!.classes, EMOTIONS.filter((e) => e !== "contempt"));
  for (
    const [k, v] of [["ab", kab], ["ac", kac], ["ad", kad], ["bc", kbc], ["bd", kbd], [
      "cd",
      kcd,
    ]] as const
  ) {
    assert.ok(Math.abs(byPair.get(k)!.kappa - v) < 1e-12, k);
  }
  const same = r.byRelation.find((x) => x.relation === "same dataset")!;
  const diff = r.byRelation.find((x) => x.relation === "different datasets")!;
  assert.equal(same.pairs, 1);
  assert.equal(diff.pairs, 5);
  assert.ok(!r.byRelation.some((x) => x.relation === "same faces, other labels"));
  assert.ok(Math.abs(same.kappa.estimate - kab) < 1e-12);
  const meanDiff = (kac + kad + kbc + kbd + kcd) / 5;
  assert.ok(Math.abs(diff.kappa.estimate - meanDiff) < 1e-12);
  assert.ok(Math.abs(r.sameMinusDifferent!.estimate - (kab - meanDiff)) < 1e-12);
  assert.ok(r.sameMinusDifferent!.lower <= r.sameMinusDifferent!.upper);
});

Deno.test("relationKappas: FER2013 and FER+ pairs are their own kind; no gap without both", () => {
  const E = (s: string) => s.split(" ") as Emotion[];
  const t = (p: string) => table(E(p), E("sad happy sad angry"), [...BASIC7]);
  const joined = joinPredictions([
    { name: "a", table: t("happy sad angry fear") },
    { name: "b", table: t("happy sad sad fear") },
  ]);
  const r = relationKappas(joined, ["fer2013", "ferplus"], [BASIC7, BASIC7], joined.ids);
  assert.deepEqual(r.byRelation.map((x) => x.relation), ["same faces, other labels"]);
  assert.equal(r.sameMinusDifferent, null);
});
