/**
 * Bootstrap: the random stream, resample indices and percentile intervals against a Python
 * transcription of the same stream with numpy.percentile and scikit-learn per resample; the
 * cell-count (multinomial) engine against item resampling, in distribution.
 */
import assert from "node:assert/strict";
import {
  accuracy,
  bootstrapClassification,
  bootstrapInterval,
  bootstrapStrata,
  bootstrapValues,
  chiSquareSurvival,
  classificationResamples,
  cohenKappa,
  countConfusion,
  drawBinomial,
  drawMultinomial,
  expectedCalibrationError,
  f1Score,
  headlineFromCounts,
  logGamma,
  pairedBootstrap,
  percentileInterval,
  ResampleStream,
  resolveLabels,
  seedState,
  Xoshiro128,
} from "../lib/metrics/mod.ts";
import { assertAllClose, assertClose, loadFixture } from "./fixtures/metrics/fixtures.ts";

interface Fixture {
  xoshiro_state_1234: number[];
  seed_states: Record<string, number[]>;
  seed_42_outputs: number[];
  index_streams: { n: number; seed: number; first: number[] }[];
  percentile: {
    values: (number | null)[];
    p95: number[];
    p90: number[];
    p50: number[];
    p99_small: number[];
  };
  generic: {
    y_true: number[];
    y_pred: number[];
    seed: number;
    resamples: number;
    accuracy: number;
    accuracy_ci95: number[];
    accuracy_ci90: number[];
    macro_f1: number;
    macro_f1_ci95: number[];
    first_values: number[];
  };
  classification: {
    y_true: number[];
    y_pred: number[];
    probs: number[][];
    bins: number;
    resamples: number;
    seed: number;
    with_probs: {
      level: number;
      ci: Record<string, number[]>;
      first_indices: number[];
      order: number[];
    };
    without_probs: {
      level: number;
      ci: Record<string, number[]>;
      first_indices: number[];
      order: number[];
    };
  };
  paired: {
    y_true: number[];
    pred_a: number[];
    pred_b: number[];
    seed: number;
    resamples: number;
    level: number;
    accuracy: { a: number; b: number; ci: number[]; p: number };
    macro_f1: { a: number; b: number; ci: number[]; p: number };
    cohen_kappa: { a: number; b: number; ci: number[]; p: number };
  };
}

const fx = loadFixture<Fixture>("bootstrap.json");

Deno.test("xoshiro128** matches the reference stream (state 1,2,3,4) and SplitMix32 seeding", () => {
  const r = new Xoshiro128([1, 2, 3, 4]);
  assert.deepEqual(fx.xoshiro_state_1234.map(() => r.nextUint32()), fx.xoshiro_state_1234);
  // published first outputs of xoshiro128** from state {1, 2, 3, 4}
  assert.deepEqual(fx.xoshiro_state_1234.slice(0, 4), [11520, 0, 5927040, 70819200]);
  for (const [seed, state] of Object.entries(fx.seed_states)) {
    assert.deepEqual(Array.from(seedState(Number(seed)), (v) => v >>> 0), state, `seed ${seed}`);
  }
  const s = new Xoshiro128(42);
  assert.deepEqual(fx.seed_42_outputs.map(() => s.nextUint32()), fx.seed_42_outputs);
  assert.throws(() => new Xoshiro128(-1), /seed -1/);
  assert.throws(() => new Xoshiro128(2 ** 32), /seed/);
});

Deno.test("resample indices equal the Python stream (small, > 2^21 and 2^31-1 items)", () => {
  for (const s of fx.index_streams) {
    const r = new Xoshiro128(s.seed);
    assert.deepEqual(s.first.map(() => r.nextIndex(s.n)), s.first, `n=${s.n} seed=${s.seed}`);
  }
  const first = fx.index_streams[0];
  const stream = new ResampleStream(first.n, first.seed);
  assert.deepEqual(Array.from(stream.next().subarray(0, 40)), first.first);
});

Deno.test("percentile intervals equal numpy.nanpercentile", () => {
  const p = fx.percentile;
  const v = p.values.map((x) => (x === null ? NaN : x));
  const [lo, hi, nan] = percentileInterval(v, 0.95);
  assertAllClose([lo, hi], p.p95, "95 %");
  assert.equal(nan, 2);
  assertAllClose(percentileInterval(v, 0.9).slice(0, 2), p.p90, "90 %");
  assertAllClose(percentileInterval(v, 0.5).slice(0, 2), p.p50, "50 %");
  assertAllClose(percentileInterval(v.slice(0, 4), 0.99).slice(0, 2), p.p99_small, "99 % of 4");
});

Deno.test("generic bootstrap of any statistic equals scikit-learn on the same indices", () => {
  const g = fx.generic;
  const acc = (idx: Int32Array) =>
    accuracy(Array.from(idx, (i) => g.y_true[i]), Array.from(idx, (i) => g.y_pred[i]));
  const labels = [...new Set([...g.y_true, ...g.y_pred])].sort((a, b) => a - b);
  const f1 = (idx: Int32Array) =>
    f1Score(Array.from(idx, (i) => g.y_true[i]), Array.from(idx, (i) => g.y_pred[i]), { labels });
  const values = bootstrapValues(g.y_true.length, acc, { seed: g.seed, resamples: g.resamples });
  assertAllClose(values.subarray(0, 5), g.first_values, "first resample values");
  const ci95 = bootstrapInterval(g.y_true.length, acc, { seed: g.seed, resamples: g.resamples });
  assertClose(ci95.estimate, g.accuracy, "estimate");
  assertAllClose([ci95.lower, ci95.upper], g.accuracy_ci95, "accuracy 95 %");
  const ci90 = bootstrapInterval(g.y_true.length, acc, {
    seed: g.seed,
    resamples: g.resamples,
    level: 0.9,
  });
  assertAllClose([ci90.lower, ci90.upper], g.accuracy_ci90, "accuracy 90 %");
  const f = bootstrapInterval(g.y_true.length, f1, { seed: g.seed, resamples: g.resamples });
  assertClose(f.estimate, g.macro_f1, "macro F1");
  assertAllClose([f.lower, f.upper], g.macro_f1_ci95, "macro F1 95 %");
  // determinism: same seed, same interval; another seed, another one
  const again = bootstrapInterval(g.y_true.length, acc, { seed: g.seed, resamples: g.resamples });
  assert.deepEqual(again, ci95);
  const other = bootstrapInterval(g.y_true.length, acc, {
    seed: g.seed + 1,
    resamples: g.resamples,
  });
  assert.notDeepEqual([other.lower, other.upper], [ci95.lower, ci95.upper]);
});

/** Resample values of a statistic by item resampling (the plain bootstrap, the reference). */
function itemResamples(
  n: number,
  resamples: number,
  seed: number,
  statistic: (idx: Int32Array) => number,
): Float64Array {
  return bootstrapValues(n, statistic, { resamples, seed });
}

/** Largest distance between the empirical CDFs of two samples (two-sample Kolmogorov–Smirnov). */
function ksDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i], y[j]);
    while (i < x.length && x[i] <= v) i++;
    while (j < y.length && y[j] <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

function meanSd(v: ArrayLike<number>): [number, number] {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  const m = s / v.length;
  let ss = 0;
  for (let i = 0; i < v.length; i++) ss += (v[i] - m) ** 2;
  return [m, Math.sqrt(ss / (v.length - 1))];
}

/**
 * Asserts two resample distributions of B values each agree within Monte Carlo error: KS distance
 * below its 0.1 % critical value 1.95·sqrt(2/B), means within 4 standard errors, standard
 * deviations within 4·sqrt(1/B) relative, and the 2.5/97.5 % percentiles within 0.4 σ (four
 * standard errors of a difference of two percentile estimates at B = 2000, plus the lattice step of
 * a count statistic).
 */
function assertSameDistribution(
  got: Float64Array,
  want: Float64Array,
  what: string,
  step = 0,
): void {
  const B = want.length;
  assert.equal(got.length, B);
  const [mg, sg] = meanSd(got);
  const [mw, sw] = meanSd(want);
  const sigma = Math.max(sg, sw);
  const ks = ksDistance(got, want);
  assert.ok(ks <= 1.95 * Math.sqrt(2 / B), `${what}: KS distance ${ks.toFixed(4)}`);
  assert.ok(
    Math.abs(mg - mw) <= 4 * sigma * Math.sqrt(2 / B) + 1e-12,
    `${what}: means ${mg} vs ${mw} (sd ${sigma})`,
  );
  if (sw > 0) assert.ok(Math.abs(sg / sw - 1) <= 4 / Math.sqrt(B), `${what}: sd ${sg} vs ${sw}`);
  const [gl, gu] = percentileInterval(got, 0.95);
  const [wl, wu] = percentileInterval(want, 0.95);
  const tol = 0.4 * sigma * Math.sqrt(2000 / B) + step;
  assert.ok(Math.abs(gl - wl) <= tol, `${what}: lower ${gl} vs ${wl} (tol ${tol})`);
  assert.ok(Math.abs(gu - wu) <= tol, `${what}: upper ${gu} vs ${wu} (tol ${tol})`);
}

/** Test matrices: labels, predictions and (optionally) probabilities, seeded. */
function caseMatrices(): {
  name: string;
  y: number[];
  p: number[];
  probs?: number[][];
}[] {
  const rng = new Xoshiro128(31);
  const u = () => rng.nextDouble();
  const probsFor = (p: number[], k: number) =>
    p.map((pred) => {
      const row = Array.from(
        { length: k },
        (_, j) => Math.exp(2 * u() + (j === pred ? 2 * u() : 0)),
      );
      const sum = row.reduce((a, b) => a + b, 0);
      return row.map((v) => v / sum);
    });
  const c = fx.classification;
  // sparse: 7 classes, almost diagonal, most off-diagonal cells empty
  const ys: number[] = [];
  const ps: number[] = [];
  for (let i = 0; i < 400; i++) {
    const t = i % 7;
    ys.push(t);
    ps.push(u() < 0.9 ? t : (t + 1) % 7);
  }
  // a class with one item (class 5 appears once, predicted wrong) and a never-predicted class
  const y1: number[] = [];
  const p1: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t = [0, 1, 2, 3, 4, 6][i % 6];
    y1.push(t);
    p1.push(u() < 0.7 ? t : [0, 2, 3][i % 3]);
  }
  y1.push(5);
  p1.push(3);
  // larger, FER-like
  const yl: number[] = [];
  const pl: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t = Math.min(6, Math.floor(u() * u() * 9));
    yl.push(t);
    pl.push(u() < 0.6 ? t : Math.floor(u() * 7));
  }
  return [
    { name: "fixture 120 items", y: c.y_true, p: c.y_pred, probs: c.probs },
    { name: "sparse 7×7", y: ys, p: ps, probs: probsFor(ps, 7) },
    { name: "one-item class", y: y1, p: p1, probs: probsFor(p1, 7) },
    { name: "3000 items", y: yl, p: pl, probs: probsFor(pl, 7) },
  ];
}

Deno.test("cell-count bootstrap equals item resampling in distribution (headline metrics, ECE)", () => {
  const B = 2000;
  for (const c of caseMatrices()) {
    const n = c.y.length;
    const labels = resolveLabels([c.y, c.p]);
    const k = Math.max(...c.y, ...c.p) + 1;
    const got = classificationResamples(c.y, c.p, { resamples: B, seed: 5, probs: c.probs });
    const yt = new Int32Array(n);
    const yp = new Int32Array(n);
    const gather = (idx: Int32Array) => {
      for (let i = 0; i < n; i++) {
        yt[i] = c.y[idx[i]];
        yp[i] = c.p[idx[i]];
      }
    };
    const names = ["accuracy", "balancedAccuracy", "macroF1", "weightedF1", "cohenKappa"] as const;
    for (const name of names) {
      const want = itemResamples(n, B, 6, (idx) => {
        gather(idx);
        return headlineFromCounts(countConfusion(yt, yp, k), labels)[name];
      });
      assertSameDistribution(got.values[name], want, `${c.name} ${name}`, 1 / n);
    }
    assertClose(got.estimates.accuracy, accuracy(c.y, c.p), `${c.name} estimate`);
    if (c.probs !== undefined) {
      const probs = c.probs;
      const want = itemResamples(n, B, 7, (idx) => {
        gather(idx);
        return expectedCalibrationError(yt, Array.from(idx, (i) => probs[i]));
      });
      assertSameDistribution(got.ece!.values, want, `${c.name} ECE`);
      assertClose(
        got.ece!.estimate,
        expectedCalibrationError(c.y, probs),
        `${c.name} ECE estimate`,
      );
    }
  }
});

Deno.test("bootstrapClassification: intervals from the same draws, deterministic per seed", () => {
  const c = fx.classification;
  for (const [variant, probs] of [["with_probs", c.probs], ["without_probs", undefined]] as const) {
    const level = c[variant].level;
    const opts = { resamples: c.resamples, seed: c.seed, level, probs, bins: c.bins };
    const iv = bootstrapClassification(c.y_true, c.y_pred, opts);
    const r = classificationResamples(c.y_true, c.y_pred, opts);
    for (const name of ["accuracy", "macroF1", "cohenKappa"] as const) {
      const [lo, hi] = percentileInterval(r.values[name], level);
      assert.deepEqual([iv[name].lower, iv[name].upper], [lo, hi], `${variant} ${name}`);
      // near the Python item-resampling bounds (scikit-learn per resample, 300 resamples: the
      // Monte Carlo error of a 300-resample tail percentile is a sizeable share of the width)
      const [wl, wu] = c[variant].ci[name];
      const tol = 0.4 * (wu - wl);
      assert.ok(Math.abs(iv[name].lower - wl) <= tol, `${variant} ${name} lower vs Python`);
      assert.ok(Math.abs(iv[name].upper - wu) <= tol, `${variant} ${name} upper vs Python`);
    }
    assert.equal(iv.ece === undefined, probs === undefined);
    assert.ok(
      iv.accuracy.lower <= iv.accuracy.estimate && iv.accuracy.estimate <= iv.accuracy.upper,
    );
    assertClose(iv.accuracy.estimate, accuracy(c.y_true, c.y_pred), "estimate");
  }
  const a = bootstrapClassification(c.y_true, c.y_pred, { resamples: 50, seed: 9, probs: c.probs });
  const b = bootstrapClassification(c.y_true, c.y_pred, { resamples: 50, seed: 9, probs: c.probs });
  assert.deepEqual(a, b);
  const other = bootstrapClassification(c.y_true, c.y_pred, { resamples: 50, seed: 10 });
  assert.notDeepEqual([other.accuracy.lower, other.accuracy.upper, other.macroF1.upper], [
    a.accuracy.lower,
    a.accuracy.upper,
    a.macroF1.upper,
  ]);
});

Deno.test("resampled accuracy counts follow the exact binomial law of item resampling", () => {
  // Under item resampling the number of correct items is Binomial(n, correct / n).
  const n = 250;
  const correct = 160;
  const y = Array.from({ length: n }, (_, i) => i % 4);
  const p = y.map((t, i) => (i < correct ? t : (t + 1) % 4));
  const B = 20000;
  const r = classificationResamples(y, p, { resamples: B, seed: 3 });
  const observed = new Float64Array(n + 1);
  for (const a of r.values.accuracy) observed[Math.round(a * n)]++;
  assertBinomialFit(observed, n, correct / n, B, "accuracy count");
});

/** Chi-square goodness of fit of `observed` counts of 0..n to Binomial(n, p), pooling small cells. */
function assertBinomialFit(
  observed: ArrayLike<number>,
  n: number,
  p: number,
  draws: number,
  what: string,
): void {
  const pmf = (k: number) =>
    Math.exp(
      logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + k * Math.log(p) +
        (n - k) * Math.log1p(-p),
    );
  let stat = 0;
  let cells = 0;
  let accE = 0;
  let accO = 0;
  for (let k = 0; k <= n; k++) {
    accE += draws * pmf(k);
    accO += observed[k] ?? 0;
    if (accE >= 10 || k === n) {
      stat += (accO - accE) ** 2 / accE;
      cells++;
      accE = 0;
      accO = 0;
    }
  }
  const pValue = chiSquareSurvival(stat, cells - 1);
  assert.ok(
    pValue > 1e-4,
    `${what}: chi-square ${stat.toFixed(1)} on ${cells - 1} df, p ${pValue}`,
  );
}

Deno.test("binomial draws follow the exact law (inversion, BTPE, p > 0.5, edges)", () => {
  const rng = new Xoshiro128(2024);
  for (
    const [n, p] of [[10, 0.3], [50, 0.5], [40, 0.9], [1000, 0.2], [200000, 0.001], [60, 0.75]]
  ) {
    const draws = 20000;
    const observed = new Float64Array(n + 1);
    let sum = 0;
    for (let d = 0; d < draws; d++) {
      const x = drawBinomial(rng, n, p);
      assert.ok(Number.isInteger(x) && x >= 0 && x <= n, `Bin(${n}, ${p}) gave ${x}`);
      observed[x]++;
      sum += x;
    }
    assertBinomialFit(observed, n, p, draws, `Bin(${n}, ${p})`);
    const sd = Math.sqrt(n * p * (1 - p) / draws);
    assert.ok(Math.abs(sum / draws - n * p) <= 5 * sd, `Bin(${n}, ${p}) mean ${sum / draws}`);
  }
  assert.equal(drawBinomial(rng, 0, 0.5), 0);
  assert.equal(drawBinomial(rng, 17, 0), 0);
  assert.equal(drawBinomial(rng, 17, 1), 17);
  // a multinomial draw spends all n over the categories with weight, none elsewhere
  const out = new Float64Array(5);
  for (let t = 0; t < 100; t++) {
    drawMultinomial(rng, 1000, [3, 0, 1, 6, 0], out, [0, 2, 3]);
    assert.equal(out[0] + out[2] + out[3], 1000);
    assert.equal(out[1] + out[4], 0);
  }
});

Deno.test("bootstrapStrata: counts per key sum to n, empty keys stay 0, sums follow the items", () => {
  const n = 1000;
  const keys = new Int32Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    keys[i] = i < 5 ? 4 : (i * 7919) % 3; // key 3 empty, key 4 has five items
    values[i] = keys[i] === 4 ? 0.5 + i / 10 : (i % 11) / 10;
  }
  let countSum = 0;
  let sumSum = 0;
  const B = 4000;
  bootstrapStrata(keys, 5, { resamples: B, seed: 77, values }, (counts, sums) => {
    assert.equal(counts.reduce((a, b) => a + b, 0), n);
    assert.equal(counts[3], 0);
    // key 4 (≤ EXACT_SUM_DRAWS draws): its sum is a sum of its own values
    const m = counts[4];
    assert.ok(sums[4] >= m * 0.5 - 1e-9 && sums[4] <= m * 0.9 + 1e-9);
    countSum += counts[0];
    sumSum += sums[0] + sums[1] + sums[2] + sums[4];
  });
  const n0 = Array.from(keys).filter((k) => k === 0).length;
  assert.ok(Math.abs(countSum / B - n0) < 4 * Math.sqrt(n0 / B), `mean count ${countSum / B}`);
  const total = values.reduce((a, b) => a + b, 0);
  const [, sd] = meanSd(values);
  assert.ok(Math.abs(sumSum / B - total) < 4 * sd * Math.sqrt(n / B), `mean sum ${sumSum / B}`);
});

Deno.test("paired bootstrap equals paired item resampling in distribution", () => {
  const p = fx.paired;
  const n = p.y_true.length;
  const labels = resolveLabels([p.y_true, p.pred_a, p.pred_b]);
  const score = (metric: string, t: Int32Array, q: Int32Array) =>
    metric === "accuracy"
      ? accuracy(t, q)
      : metric === "macro_f1"
      ? f1Score(t, q, { labels, average: "macro" })
      : cohenKappa(t, q, { labels });
  const t = new Int32Array(n);
  const a = new Int32Array(n);
  const b = new Int32Array(n);
  for (const metric of ["accuracy", "macro_f1", "cohen_kappa"] as const) {
    const B = 2000;
    const r = pairedBootstrap(p.y_true, p.pred_a, p.pred_b, { metric, seed: p.seed, resamples: B });
    const e = p[metric];
    assertClose(r.a, e.a, `${metric} a`);
    assertClose(r.b, e.b, `${metric} b`);
    assertClose(r.difference, e.a - e.b, `${metric} difference`);
    const want = itemResamples(n, B, 4, (idx) => {
      for (let i = 0; i < n; i++) {
        t[i] = p.y_true[idx[i]];
        a[i] = p.pred_a[idx[i]];
        b[i] = p.pred_b[idx[i]];
      }
      return score(metric, t, a) - score(metric, t, b);
    });
    const [wl, wu] = percentileInterval(want, 0.95);
    const [, sd] = meanSd(want);
    const tol = 0.4 * sd + 2 / n;
    assert.ok(Math.abs(r.lower - wl) <= tol, `${metric} lower ${r.lower} vs ${wl}`);
    assert.ok(Math.abs(r.upper - wu) <= tol, `${metric} upper ${r.upper} vs ${wu}`);
    let below = 0;
    let above = 0;
    for (const d of want) {
      if (d <= 0) below++;
      if (d >= 0) above++;
    }
    const wantP = Math.min(1, 2 * Math.min(below, above) / B);
    assert.ok(Math.abs(r.pValue - wantP) <= 4 * Math.sqrt(2 * 0.25 / B) + 0.01, `${metric} p`);
    // and the Python fixture's item-resampling interval (300 resamples), within its MC error
    assert.ok(Math.abs(r.lower - e.ci[0]) <= 0.3 * (e.ci[1] - e.ci[0]), `${metric} vs Python`);
  }
});

Deno.test("bootstrap option errors", () => {
  assert.throws(() => bootstrapValues(0, () => 0), /0 items/);
  assert.throws(() => bootstrapValues(5, () => 0, { resamples: 0 }), /resamples = 0/);
  assert.throws(() => bootstrapValues(5, () => 0, { level: 1 }), /level 1/);
  assert.throws(() => bootstrapClassification([], []), /empty input/);
});
