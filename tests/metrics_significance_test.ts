/** McNemar's test against statsmodels 0.13 and the special functions against scipy. */
import assert from "node:assert/strict";
import {
  binomialCdf,
  chiSquareSurvival,
  logGamma,
  mcnemar,
  mcnemarTable,
  mcnemarTest,
  type PairedTable,
} from "../lib/metrics/mod.ts";
import { assertClose, loadFixture } from "./fixtures/metrics/fixtures.ts";

interface Fixture {
  mcnemar: {
    table: PairedTable;
    exact: [number, number];
    chi2_corrected: [number, number];
    chi2_uncorrected: [number, number];
  }[];
  items: {
    y_true: number[];
    pred_a: number[];
    pred_b: number[];
    table: PairedTable;
    exact: [number, number];
  };
  special: {
    lgamma: [number, number][];
    chi2_sf: [number, number, number][];
    binom_cdf: [number, number, number, number][];
  };
}

const fx = loadFixture<Fixture>("significance.json");

Deno.test("McNemar exact and chi-square (with and without continuity correction) equal statsmodels", () => {
  for (const c of fx.mcnemar) {
    const what = JSON.stringify(c.table);
    const e = mcnemar(c.table);
    assertClose(e.statistic, c.exact[0], `${what} exact statistic`);
    assertClose(e.pValue, c.exact[1], `${what} exact p`);
    const k = mcnemar(c.table, { exact: false });
    assertClose(k.statistic, c.chi2_corrected[0], `${what} corrected statistic`);
    assertClose(k.pValue, c.chi2_corrected[1], `${what} corrected p`);
    const u = mcnemar(c.table, { exact: false, correction: false });
    assertClose(u.statistic, c.chi2_uncorrected[0], `${what} uncorrected statistic`);
    assertClose(u.pValue, c.chi2_uncorrected[1], `${what} uncorrected p`);
  }
});

Deno.test("McNemar from two models' predictions", () => {
  const it = fx.items;
  assert.deepEqual(mcnemarTable(it.y_true, it.pred_a, it.pred_b), it.table);
  const r = mcnemarTest(it.y_true, it.pred_a, it.pred_b);
  assertClose(r.statistic, it.exact[0], "statistic");
  assertClose(r.pValue, it.exact[1], "p");
  // identical models: no discordant pair, p = 1 (statsmodels' chi-square divides by zero here)
  const same = mcnemarTest([0, 1, 2], [0, 1, 1], [0, 1, 1], { exact: false });
  assert.deepEqual([same.statistic, same.pValue], [0, 1]);
  assert.throws(() => mcnemarTest([0, 1], [0], [0, 1]), /lengths differ/);
});

Deno.test("log-gamma, chi-square and binomial tails equal scipy", () => {
  for (const [x, v] of fx.special.lgamma) {
    assertClose(logGamma(x), v, `lgamma(${x})`, 1e-12 * Math.max(1, Math.abs(v)));
  }
  for (const [x, df, v] of fx.special.chi2_sf) {
    assertClose(chiSquareSurvival(x, df), v, `chi2.sf(${x}, ${df})`, 1e-12);
  }
  for (const [k, n, p, v] of fx.special.binom_cdf) {
    assertClose(binomialCdf(k, n, p), v, `binom.cdf(${k}, ${n}, ${p})`, 1e-11);
  }
});
