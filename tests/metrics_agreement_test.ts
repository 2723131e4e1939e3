/**
 * Agreement metrics against statsmodels 0.13 / scikit-learn 1.2, the Fleiss (1971) table and the
 * Krippendorff (2011) worked example (fixtures from tests/fixtures/metrics/generate.py).
 */
import assert from "node:assert/strict";
import {
  cohenKappa,
  fleissKappa,
  fleissKappaFromCounts,
  krippendorffAlpha,
  krippendorffAlphaFromCounts,
  MISSING_RATING,
  pairwiseCohenKappa,
  ratersToItems,
  ratingsToCounts,
} from "../lib/metrics/mod.ts";
import { assertAllClose, assertClose, loadFixture } from "./fixtures/metrics/fixtures.ts";

interface FleissExpected {
  kappa: number | null;
  observed: number;
  expected: number;
  proportions: number[];
  category_kappa: (number | null)[];
  subjects: number;
  dropped: number;
  se: number | null;
  category_se: number | null;
  raters: number | null;
  statsmodels_kappa?: number | null;
}

interface Fixture {
  fleiss_1971: {
    ratings: number[][];
    categories: number[];
    table: number[][];
    statsmodels_kappa: number;
    expected: FleissExpected;
  };
  fleiss: { name: string; table: number[][]; equal: boolean; expected: FleissExpected }[];
  fleiss_ratings: {
    ratings: number[][];
    categories: number[];
    kappa: number;
    expected: FleissExpected;
  };
  pairwise: { raters: number[][]; kappa: number[][]; kappa_quadratic: number[][] };
  krippendorff: { name: string; data: (number | null)[][]; alpha: number | null }[];
}

const fx = loadFixture<Fixture>("agreement.json");

function checkFleiss(
  r: ReturnType<typeof fleissKappaFromCounts>,
  e: FleissExpected,
  what: string,
): void {
  assertClose(r.kappa, e.kappa, `${what} kappa`);
  if (e.statsmodels_kappa !== undefined) {
    assertClose(r.kappa, e.statsmodels_kappa, `${what} statsmodels kappa`);
  }
  assertClose(r.observedAgreement, e.observed, `${what} P̄`);
  assertClose(r.expectedAgreement, e.expected, `${what} P̄e`);
  assertAllClose(r.categories.map((c) => c.proportion), e.proportions, `${what} p_j`);
  assertAllClose(r.categories.map((c) => c.kappa), e.category_kappa, `${what} κ_j`);
  assertClose(r.se, e.se, `${what} se`);
  for (const c of r.categories) assertClose(c.se, e.category_se, `${what} se_j`);
  assert.equal(r.subjects, e.subjects);
  assert.equal(r.droppedSubjects, e.dropped);
  assert.equal(r.raters, e.raters);
}

Deno.test("Fleiss (1971) diagnoses: kappa 0.430, per-category kappas, z = 17.65 (R irr)", () => {
  const f = fx.fleiss_1971;
  const fromTable = fleissKappaFromCounts(f.table);
  checkFleiss(fromTable, f.expected, "Fleiss 1971 table");
  assertClose(fromTable.kappa, f.statsmodels_kappa, "statsmodels fleiss_kappa");
  assert.equal(fromTable.kappa.toFixed(3), "0.430");
  // Fleiss (1971) p. 381: .245, .245, .520, .471, .566
  assert.deepEqual(fromTable.categories.map((c) => c.kappa.toFixed(3)), [
    "0.245",
    "0.245",
    "0.520",
    "0.471",
    "0.566",
  ]);
  assert.ok(Math.abs(fromTable.z - 17.65183) < 1e-4, `z ${fromTable.z}`);
  // the same from the raw rater labels (categories 1..5)
  const fromRatings = fleissKappa(f.ratings);
  checkFleiss(fromRatings, f.expected, "Fleiss 1971 ratings");
  assert.deepEqual(fromRatings.categories.map((c) => c.category), f.categories);
});

for (const c of fx.fleiss) {
  Deno.test(`Fleiss' kappa: ${c.name}`, () => {
    const r = fleissKappaFromCounts(c.table, { raters: c.equal ? "equal" : "variable" });
    checkFleiss(r, c.expected, c.name);
    if (c.equal) {
      // the generalised (variable) form reduces to Fleiss' kappa when n is equal
      assertClose(
        fleissKappaFromCounts(c.table, { raters: "variable" }).kappa,
        c.expected.kappa,
        `${c.name} variable`,
      );
    } else {
      assert.throws(
        () => fleissKappaFromCounts(c.table),
        /different numbers of ratings \(.*\); .*raters: "variable"/,
      );
    }
  });
}

Deno.test("Fleiss' kappa edge cases: perfect agreement is 1, one category is undefined", () => {
  assert.equal(fleissKappaFromCounts([[3, 0], [0, 3], [3, 0]]).kappa, 1);
  assert.ok(Number.isNaN(fleissKappaFromCounts([[0, 4], [0, 4]]).kappa));
  assert.throws(() => fleissKappaFromCounts([]), /empty input/);
  assert.throws(() => fleissKappaFromCounts([[1, 0], [0, 1]]), /1 rating\(s\) per subject/);
  assert.throws(
    () => fleissKappaFromCounts([[1, 2], [0, -3]]),
    /row 1 column 1 = -3 is not a count/,
  );
});

Deno.test("Fleiss' kappa from rater labels equals statsmodels", () => {
  const f = fx.fleiss_ratings;
  const r = fleissKappa(f.ratings);
  assertClose(r.kappa, f.kappa, "kappa");
  checkFleiss(r, f.expected, "ratings");
  // missing ratings give unequal subjects: an error unless "variable"
  const withMissing = f.ratings.map((
    row,
    i,
  ) => (i === 0 ? [row[0], row[1], MISSING_RATING, NaN] : row));
  assert.throws(
    () => fleissKappa(withMissing),
    /different numbers of ratings \(49 with 4, 1 with 2\)/,
  );
  const v = fleissKappa(withMissing, { raters: "variable" });
  assert.equal(v.subjects, 50);
  assert.ok(Number.isNaN(v.se));
});

Deno.test("Cohen's kappa matrix equals scikit-learn for every pair", () => {
  const p = fx.pairwise;
  const m = pairwiseCohenKappa(p.raters);
  m.forEach((row, i) => assertAllClose(row, p.kappa[i], `pairwise row ${i}`));
  const q = pairwiseCohenKappa(p.raters.map((r) => Int32Array.from(r)), { weights: "quadratic" });
  q.forEach((row, i) => assertAllClose(row, p.kappa_quadratic[i], `quadratic row ${i}`));
  assert.throws(() => pairwiseCohenKappa([p.raters[0]]), /at least two raters/);
  assertClose(cohenKappa(p.raters[0], p.raters[1]), p.kappa[0][1], "cohenKappa");
});

for (const k of fx.krippendorff) {
  Deno.test(`Krippendorff's alpha (nominal): ${k.name}`, () => {
    // fixture rows are coders; the kit takes units × coders
    const units = ratersToItems(
      k.data.map((row) => row.map((v) => (v === null ? MISSING_RATING : v))),
    );
    assertClose(krippendorffAlpha(units), k.alpha, k.name);
    if (k.name === "krippendorff_2011_nominal") {
      assert.equal(krippendorffAlpha(units).toFixed(3), "0.743");
    }
  });
}

Deno.test("Krippendorff's alpha from counts equals from labels; perfect agreement is 1", () => {
  const ratings = [[0, 0, 1], [1, 1, 1], [2, 2, MISSING_RATING], [
    0,
    MISSING_RATING,
    MISSING_RATING,
  ]];
  const { table } = ratingsToCounts(ratings);
  assert.equal(krippendorffAlphaFromCounts(table), krippendorffAlpha(ratings));
  assert.equal(krippendorffAlpha([[0, 0], [1, 1], [2, 2]]), 1);
  assert.throws(
    () => krippendorffAlpha([[0, MISSING_RATING], [1, MISSING_RATING]]),
    /no unit has two or more values/,
  );
});
