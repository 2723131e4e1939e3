/**
 * Bootstrap: the random stream, resample indices and percentile intervals against a Python
 * transcription of the same stream with numpy.percentile and scikit-learn per resample.
 */
import assert from "node:assert/strict";
import {
  accuracy,
  bootstrapClassification,
  bootstrapInterval,
  bootstrapStrata,
  bootstrapValues,
  macroF1,
  pairedBootstrap,
  percentileInterval,
  ResampleStream,
  seedState,
  stableKeyOrder,
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
    macroF1(Array.from(idx, (i) => g.y_true[i]), Array.from(idx, (i) => g.y_pred[i]), { labels });
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

Deno.test("fast classification bootstrap equals scikit-learn per resample (keyed order)", () => {
  const c = fx.classification;
  for (const [variant, probs] of [["with_probs", c.probs], ["without_probs", undefined]] as const) {
    const v = c[variant];
    const k = Math.max(...c.y_true, ...c.y_pred) + 1;
    const keys = c.y_true.map((t, i) => t * k + c.y_pred[i]);
    if (variant === "without_probs") {
      assert.deepEqual(Array.from(stableKeyOrder(keys, k * k)), v.order, "stable key order");
    }
    const iv = bootstrapClassification(c.y_true, c.y_pred, {
      resamples: c.resamples,
      seed: c.seed,
      level: v.level,
      probs,
      bins: c.bins,
    });
    for (const [metric, bounds] of Object.entries(v.ci)) {
      const got = iv[metric as keyof typeof iv];
      assert.ok(got !== undefined, `${variant} ${metric} present`);
      assertAllClose([got.lower, got.upper], bounds, `${variant} ${metric}`);
    }
    assert.equal(iv.ece === undefined, probs === undefined);
    assert.ok(
      iv.accuracy.lower <= iv.accuracy.estimate && iv.accuracy.estimate <= iv.accuracy.upper,
    );
    assertClose(iv.accuracy.estimate, accuracy(c.y_true, c.y_pred), "estimate");
  }
  // deterministic for a fixed seed
  const a = bootstrapClassification(c.y_true, c.y_pred, { resamples: 50, seed: 9, probs: c.probs });
  const b = bootstrapClassification(c.y_true, c.y_pred, { resamples: 50, seed: 9, probs: c.probs });
  assert.deepEqual(a, b);
});

Deno.test("paired bootstrap of a metric difference equals the Python computation", () => {
  const p = fx.paired;
  for (const metric of ["accuracy", "macro_f1", "cohen_kappa"] as const) {
    const r = pairedBootstrap(p.y_true, p.pred_a, p.pred_b, {
      metric,
      seed: p.seed,
      resamples: p.resamples,
    });
    const e = p[metric];
    assertClose(r.a, e.a, `${metric} a`);
    assertClose(r.b, e.b, `${metric} b`);
    assertClose(r.difference, e.a - e.b, `${metric} difference`);
    assertAllClose([r.lower, r.upper], e.ci, `${metric} interval`);
    assertClose(r.pValue, e.p, `${metric} p`);
  }
});

Deno.test("bootstrapStrata counts equal the ResampleStream draws over the keyed order", () => {
  for (const n of [1000, 2 ** 21 + 17]) {
    const keys = new Int32Array(n);
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      keys[i] = (i * 7919) % 5;
      values[i] = (i % 11) / 10;
    }
    const order = stableKeyOrder(keys, 5);
    const want = new Float64Array(5);
    const wantSums = new Float64Array(5);
    const stream = new ResampleStream(n, 77);
    const idx = new Int32Array(n);
    for (let b = 0; b < 2; b++) {
      stream.next(idx);
      for (let i = 0; i < n; i++) {
        const item = order[idx[i]];
        want[keys[item]]++;
        wantSums[keys[item]] += values[item];
      }
    }
    const got = new Float64Array(5);
    const gotSums = new Float64Array(5);
    bootstrapStrata(keys, 5, { resamples: 2, seed: 77, values }, (counts, sums) => {
      for (let k = 0; k < 5; k++) {
        got[k] += counts[k];
        gotSums[k] += sums[k];
      }
    });
    assert.deepEqual(got, want, `n=${n}`);
    assertAllClose(gotSums, wantSums, `sums n=${n}`, 1e-6);
  }
});

Deno.test("bootstrap option errors", () => {
  assert.throws(() => bootstrapValues(0, () => 0), /0 items/);
  assert.throws(() => bootstrapValues(5, () => 0, { resamples: 0 }), /resamples = 0/);
  assert.throws(() => bootstrapValues(5, () => 0, { level: 1 }), /level 1/);
  assert.throws(() => bootstrapClassification([], []), /empty input/);
});
