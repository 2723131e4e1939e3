/**
 * Linear probes: the L-BFGS fit reaches scikit-learn's optimum (fixture made by
 * tests/fixtures/probe/generate.py with scikit-learn 1.2), closed-form optima, zero gradient at
 * the solution, class weights, standardisation and determinism.
 */
import assert from "node:assert/strict";
import { EMOTIONS } from "../lib/taxonomy.ts";
import {
  applyStandardizer,
  balancedClassWeights,
  cFromLambda,
  fitLogReg,
  fitStandardizer,
  lambdaFromC,
  logRegObjective,
  logRegProbabilities,
  minimizeLbfgs,
  mulberry32,
  probePredict,
  selectRows,
  stratifiedSubsample,
  trainProbe,
} from "../lib/probe/mod.ts";

interface Case {
  name: string;
  n: number;
  d: number;
  k: number;
  C: number;
  lambda: number;
  balanced: boolean;
  standardize: boolean;
  x: number[][];
  y: number[];
  coef: number[][];
  intercept: number[];
  objective: number;
  gradient_norm: number;
  predict_proba_first5: number[][];
  class_weight?: number[];
  scaler_mean?: number[];
  scaler_scale?: number[];
}

const fixture: { sklearn: string; cases: Case[] } = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/probe/sklearn_reference.json", import.meta.url)),
);

const TIGHT = { gradientTolerance: 1e-11, functionTolerance: 0, maxIterations: 5000 };

function matrixOf(rows: number[][]): { rows: number; cols: number; data: Float64Array } {
  return { rows: rows.length, cols: rows[0].length, data: Float64Array.from(rows.flat()) };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const c of fixture.cases) {
  Deno.test(`probe: matches scikit-learn ${fixture.sklearn} on "${c.name}" (n=${c.n}, d=${c.d}, K=${c.k})`, () => {
    assert.ok(Math.abs(lambdaFromC(c.C, c.n) - c.lambda) <= 1e-15 * c.lambda);
    assert.ok(Math.abs(cFromLambda(c.lambda, c.n) - c.C) <= 1e-12 * c.C);
    let x = matrixOf(c.x);
    const y = Int32Array.from(c.y);
    if (c.balanced) {
      assert.ok(maxAbsDiff(balancedClassWeights(y, c.k), c.class_weight!) <= 1e-12);
    }
    if (c.standardize) {
      const s = fitStandardizer(x);
      assert.ok(maxAbsDiff(s.mean, c.scaler_mean!) <= 1e-9, "scaler mean");
      assert.ok(maxAbsDiff(s.scale, c.scaler_scale!) <= 1e-9, "scaler scale");
      x = applyStandardizer(s, x);
    }
    const { model, report } = fitLogReg(x, y, c.k, {
      lambda: c.lambda,
      classWeight: c.balanced ? "balanced" : null,
      lbfgs: TIGHT,
    });
    assert.ok(report.converged, `stopped by ${report.stop}`);
    assert.ok(report.gradientMaxAbs <= 1e-9, `gradient max-abs ${report.gradientMaxAbs}`);
    const coefGap = maxAbsDiff(model.weights, c.coef.flat());
    const biasGap = maxAbsDiff(model.intercepts, c.intercept);
    assert.ok(coefGap <= 1e-5, `coefficients differ by ${coefGap}`);
    assert.ok(biasGap <= 1e-5, `intercepts differ by ${biasGap}`);
    // Ours is at least as low as sklearn's, and the same to 1e-8 relative.
    assert.ok(
      Math.abs(report.objective - c.objective) <= 1e-8 * c.objective,
      `objective ${report.objective} vs sklearn ${c.objective}`,
    );
    assert.ok(report.objective <= c.objective + 1e-12);
    // The objective function itself, evaluated at sklearn's solution, gives the fixture's value
    // (computed there by numpy).
    const theta = Float64Array.from([...c.coef.flat(), ...c.intercept]);
    const sw = c.balanced ? Float64Array.from(c.y, (v) => c.class_weight![v]) : null;
    const fn = logRegObjective(x.data, c.n, c.d, y, c.k, sw, c.lambda);
    const g = new Float64Array(theta.length);
    assert.ok(Math.abs(fn(theta, g) - c.objective) <= 1e-12 * c.objective);
    const probs = logRegProbabilities(model, selectRows(x, [0, 1, 2, 3, 4]));
    assert.ok(maxAbsDiff(probs, c.predict_proba_first5.flat()) <= 1e-6, "predict_proba");
  });
}

Deno.test("probe: trainProbe (standardise + fit) equals scikit-learn's StandardScaler + LogisticRegression", () => {
  const c = fixture.cases.find((k) => k.standardize)!;
  const labels = c.y.map((v) => EMOTIONS[v]);
  const probe = trainProbe(matrixOf(c.x), labels, {
    lambda: c.lambda,
    classWeight: "balanced",
    lbfgs: TIGHT,
  });
  assert.deepEqual(probe.classes, EMOTIONS.slice(0, c.k));
  assert.ok(maxAbsDiff(probe.model.weights, c.coef.flat()) <= 1e-5);
  assert.ok(Math.abs(probe.sklearnC - c.C) <= 1e-12);
  // Predictions on raw rows go through the training standardizer.
  const pred = probePredict(probe, selectRows(matrixOf(c.x), [0, 1, 2, 3, 4]));
  const expected = c.predict_proba_first5.map((p) => EMOTIONS[p.indexOf(Math.max(...p))]);
  assert.deepEqual(pred, expected);
});

Deno.test("probe: gradient of the objective equals central finite differences", () => {
  const c = fixture.cases[1];
  const x = matrixOf(c.x);
  const y = Int32Array.from(c.y);
  const sw = Float64Array.from(c.y, (v) => c.class_weight![v]);
  const fn = logRegObjective(x.data, c.n, c.d, y, c.k, sw, 0.05);
  const rand = mulberry32(7);
  const theta = Float64Array.from({ length: c.k * (c.d + 1) }, () => rand() - 0.5);
  const g = new Float64Array(theta.length);
  fn(theta, g);
  const scratch = new Float64Array(theta.length);
  const h = 1e-6;
  for (let j = 0; j < theta.length; j++) {
    const tp = theta.slice();
    const tm = theta.slice();
    tp[j] += h;
    tm[j] -= h;
    const fd = (fn(tp, scratch) - fn(tm, scratch)) / (2 * h);
    assert.ok(Math.abs(fd - g[j]) <= 1e-7, `component ${j}: analytic ${g[j]}, numeric ${fd}`);
  }
});

Deno.test("probe: closed form, features without information give W = 0 and b = centred log priors", () => {
  const counts = [50, 30, 15, 5];
  const y = Int32Array.from(counts.flatMap((m, c) => Array(m).fill(c)));
  const x = { rows: y.length, cols: 3, data: new Float64Array(y.length * 3) };
  const { model } = fitLogReg(x, y, 4, { lambda: 0.1, lbfgs: TIGHT });
  const logs = counts.map((m) => Math.log(m / y.length));
  const mean = logs.reduce((a, b) => a + b) / logs.length;
  assert.ok(maxAbsDiff(model.intercepts, logs.map((l) => l - mean)) <= 1e-9);
  assert.ok(maxAbsDiff(model.weights, new Float64Array(12)) === 0);
  // Balanced weights make every class equally likely: b = 0.
  const balanced = fitLogReg(x, y, 4, { lambda: 0.1, classWeight: "balanced", lbfgs: TIGHT });
  assert.ok(maxAbsDiff(balanced.model.intercepts, new Float64Array(4)) <= 1e-9);
});

Deno.test("probe: closed form, separable 2-class problem with L2 has the finite optimum lambda*a = 1/(1+e^(2a))", () => {
  // x = +1 (class 1) and x = -1 (class 0), 20 of each. By symmetry b = 0, W = (-a, a) and
  // F(a) = log(1 + e^(-2a)) + lambda a^2; F'(a) = 0 <=> lambda a = 1 / (1 + e^(2a)).
  for (const lambda of [1, 0.1, 0.001]) {
    let lo = 0;
    let hi = 100;
    for (let i = 0; i < 200; i++) {
      const mid = 0.5 * (lo + hi);
      if (lambda * mid - 1 / (1 + Math.exp(2 * mid)) > 0) hi = mid;
      else lo = mid;
    }
    const a = 0.5 * (lo + hi);
    const y = Int32Array.from({ length: 40 }, (_, i) => i % 2);
    const x = { rows: 40, cols: 1, data: Float64Array.from(y, (v) => (v === 1 ? 1 : -1)) };
    const { model, report } = fitLogReg(x, y, 2, { lambda, lbfgs: TIGHT });
    assert.ok(
      Math.abs(model.weights[1] - a) <= 1e-8,
      `lambda ${lambda}: ${model.weights[1]} vs ${a}`,
    );
    assert.ok(Math.abs(model.weights[0] + a) <= 1e-8);
    assert.ok(maxAbsDiff(model.intercepts, [0, 0]) <= 1e-9);
    const fa = Math.log(1 + Math.exp(-2 * a)) + lambda * a * a;
    assert.ok(Math.abs(report.objective - fa) <= 1e-12 * fa);
  }
});

Deno.test("probe: L-BFGS minimises the Rosenbrock function to (1, 1)", () => {
  const rosen = (p: Float64Array, g: Float64Array): number => {
    let f = 0;
    g.fill(0);
    for (let i = 0; i + 1 < p.length; i++) {
      const a = p[i + 1] - p[i] * p[i];
      const b = 1 - p[i];
      f += 100 * a * a + b * b;
      g[i] += -400 * p[i] * a - 2 * b;
      g[i + 1] += 200 * a;
    }
    return f;
  };
  const res = minimizeLbfgs(rosen, Float64Array.from([-1.2, 1, -1.2, 1, 0.5]), {
    gradientTolerance: 1e-10,
    functionTolerance: 0,
  });
  assert.ok(res.converged, res.reason);
  assert.ok(maxAbsDiff(res.x, [1, 1, 1, 1, 1]) <= 1e-8, `${res.x}`);
  assert.ok(res.iterations > 10 && res.iterations < 200, `${res.iterations} iterations`);
});

Deno.test("probe: fits are deterministic, and a different lambda gives a different model", () => {
  const c = fixture.cases[0];
  const labels = c.y.map((v) => EMOTIONS[v]);
  const a = trainProbe(matrixOf(c.x), labels, { lambda: 0.01 });
  const b = trainProbe(matrixOf(c.x), labels, { lambda: 0.01 });
  assert.deepEqual(a.model.weights, b.model.weights);
  assert.deepEqual(a.model.intercepts, b.model.intercepts);
  assert.equal(a.fit.iterations, b.fit.iterations);
  const other = trainProbe(matrixOf(c.x), labels, { lambda: 0.02 });
  assert.ok(maxAbsDiff(a.model.weights, other.model.weights) > 1e-3);
});

Deno.test("probe: stratified subsample is seeded, proportional and sorted", () => {
  const labels = [
    ...Array(700).fill("happy"),
    ...Array(250).fill("sad"),
    ...Array(50).fill("disgust"),
  ];
  const s1 = stratifiedSubsample(labels, 100, 42);
  const s2 = stratifiedSubsample(labels, 100, 42);
  const s3 = stratifiedSubsample(labels, 100, 43);
  assert.deepEqual(s1, s2);
  assert.notDeepEqual(s1, s3);
  assert.equal(s1.length, 100);
  assert.equal(new Set(s1).size, 100);
  assert.deepEqual(s1, [...s1].sort((a, b) => a - b));
  const count = (cls: string) => s1.filter((i) => labels[i] === cls).length;
  assert.deepEqual([count("happy"), count("sad"), count("disgust")], [70, 25, 5]);
  assert.equal(stratifiedSubsample(labels, 5000, 1).length, 1000);
});

Deno.test("probe: bad input names the row and column", () => {
  const x = { rows: 2, cols: 2, data: Float64Array.from([1, 2, NaN, 4]) };
  assert.throws(() => fitLogReg(x, Int32Array.from([0, 1]), 2, { lambda: 1 }), /row 1, column 0/);
  assert.throws(
    () =>
      fitLogReg({ rows: 2, cols: 2, data: new Float64Array(3) }, Int32Array.from([0, 1]), 2, {
        lambda: 1,
      }),
    /3 numbers, expected 2 x 2/,
  );
  assert.throws(
    () =>
      fitLogReg({ rows: 2, cols: 1, data: new Float64Array(2) }, Int32Array.from([0, 2]), 2, {
        lambda: 1,
      }),
    /label 2 at row 1/,
  );
  assert.throws(
    () => trainProbe({ rows: 2, cols: 1, data: new Float64Array(2) }, ["happy", "happy"]),
    /at least 2 classes/,
  );
});
