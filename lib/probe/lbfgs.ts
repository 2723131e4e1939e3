/**
 * Limited-memory BFGS for smooth unconstrained minimisation (Nocedal & Wright, Numerical
 * Optimization, 2nd ed., 2006: Algorithm 7.4 two-loop recursion, Algorithm 7.5 L-BFGS,
 * Algorithms 3.5/3.6 strong-Wolfe line search with cubic interpolation in the zoom phase).
 * Deterministic: no randomness anywhere; the same start gives the same iterates bit for bit.
 */

/**
 * The function to minimise: returns f(x) and writes its gradient into `grad`
 * (same length as x). Must not keep references to `x` or `grad`.
 */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

/** Solver settings. Defaults in brackets. */
export interface LbfgsOptions {
  /** Correction pairs kept (m) [10]. */
  memory?: number;
  /** Iteration cap [1000]. */
  maxIterations?: number;
  /** Stop when the largest absolute gradient component is at most this [1e-6]. */
  gradientTolerance?: number;
  /**
   * Stop when an iteration lowers f by at most this, relative: (f_k - f_k+1) <=
   * tol * max(|f_k|, |f_k+1|, 1) [64 * 2^-52 ~ 1.4e-14, as scikit-learn >= 1.4 asks of scipy];
   * 0 turns this test off.
   */
  functionTolerance?: number;
  /** Function evaluations allowed per line search [40]. */
  maxLineSearch?: number;
  /** Sufficient-decrease (Armijo) constant c1 [1e-4]. */
  c1?: number;
  /** Curvature constant c2 of the strong Wolfe conditions [0.9]. */
  c2?: number;
  /** Called after every iteration (for progress lines); must not modify its arguments. */
  onIteration?: (iteration: number, value: number, gradientNorm: number) => void;
}

/** Why the solver stopped. */
export type LbfgsStop = "gradient" | "function" | "max-iterations" | "line-search";

/** The solution and how it was reached. */
export interface LbfgsResult {
  x: Float64Array;
  value: number;
  /** Euclidean norm of the gradient at x. */
  gradientNorm: number;
  /** Largest absolute gradient component at x (the stopping test's quantity). */
  gradientMaxAbs: number;
  iterations: number;
  evaluations: number;
  /** True when stopped by the gradient or function tolerance. */
  converged: boolean;
  reason: LbfgsStop;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m) m = v;
  }
  return m;
}

/** Minimiser of the cubic through (a, fa, da), (b, fb, db); NaN when it has none. */
function cubicMin(a: number, fa: number, da: number, b: number, fb: number, db: number): number {
  const d1 = da + db - 3 * (fa - fb) / (a - b);
  const disc = d1 * d1 - da * db;
  if (!(disc >= 0)) return NaN;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  return b - (b - a) * (db + d2 - d1) / (db - da + 2 * d2);
}

interface LineSearchOutcome {
  ok: boolean;
  step: number;
  value: number;
  evaluations: number;
}

/**
 * Strong-Wolfe line search along `dir` from `x` (value f0, directional derivative dphi0 < 0).
 * On success `xOut`/`gOut` hold the accepted point and its gradient.
 */
function lineSearch(
  fn: Objective,
  x: Float64Array,
  f0: number,
  dphi0: number,
  dir: Float64Array,
  step0: number,
  xOut: Float64Array,
  gOut: Float64Array,
  c1: number,
  c2: number,
  maxEval: number,
): LineSearchOutcome {
  let evaluations = 0;
  const evalAt = (a: number): { f: number; d: number } => {
    for (let i = 0; i < x.length; i++) xOut[i] = x[i] + a * dir[i];
    const f = fn(xOut, gOut);
    evaluations++;
    return { f, d: dot(gOut, dir) };
  };
  // Best point meeting sufficient decrease, re-evaluated on exit if the last evaluation was not it.
  let best = { a: 0, f: f0 };
  const finish = (ok: boolean, a: number): LineSearchOutcome => {
    if (!ok && best.a > 0 && a !== best.a) {
      const e = evalAt(best.a);
      return { ok: true, step: best.a, value: e.f, evaluations };
    }
    if (!ok && best.a > 0) return { ok: true, step: best.a, value: best.f, evaluations };
    return { ok, step: a, value: ok ? best.f : f0, evaluations };
  };
  const armijo = (a: number, f: number): boolean => f <= f0 + c1 * a * dphi0;
  // Near the optimum f changes by less than its rounding error and the Armijo test becomes
  // noise. There, accept a step by the approximate Wolfe conditions (Hager & Zhang 2005, SIAM J.
  // Optim. 16(1)): f within rounding of f0 and c2 dphi0 <= dphi(a) <= (1 - 2 c1) |dphi0|, which
  // for a quadratic is equivalent to sufficient decrease plus curvature.
  const noise = 1e-12 * Math.max(1, Math.abs(f0));
  const approxWolfe = (f: number, d: number): boolean =>
    Math.abs(f - f0) <= noise && d >= c2 * dphi0 && d <= (2 * c1 - 1) * dphi0;
  const zoom = (
    lo: number,
    flo: number,
    dlo: number,
    hi: number,
    fhi: number,
    dhi: number,
  ): LineSearchOutcome => {
    let lastA = NaN;
    while (evaluations < maxEval) {
      const left = Math.min(lo, hi);
      const width = Math.abs(hi - lo);
      if (width <= 1e-16 * Math.max(1, Math.abs(hi))) break;
      let a = cubicMin(lo, flo, dlo, hi, fhi, dhi);
      const margin = 0.1 * width;
      if (!Number.isFinite(a) || a < left + margin || a > left + width - margin) {
        a = 0.5 * (lo + hi);
      }
      const e = evalAt(a);
      lastA = a;
      if (approxWolfe(e.f, e.d)) return { ok: true, step: a, value: e.f, evaluations };
      if (!Number.isFinite(e.f) || !armijo(a, e.f) || e.f >= flo) {
        hi = a;
        fhi = Number.isFinite(e.f) ? e.f : Infinity;
        dhi = Number.isFinite(e.d) ? e.d : 0;
        if (!Number.isFinite(fhi)) {
          // No cubic through an infinite value: bisect next time.
          fhi = flo + Math.abs(dlo) * width + 1;
          dhi = Math.abs(dlo);
        }
        continue;
      }
      if (e.f < best.f) best = { a, f: e.f };
      if (Math.abs(e.d) <= -c2 * dphi0) return { ok: true, step: a, value: e.f, evaluations };
      if (e.d * (hi - lo) >= 0) {
        hi = lo;
        fhi = flo;
        dhi = dlo;
      }
      lo = a;
      flo = e.f;
      dlo = e.d;
    }
    return finish(false, lastA);
  };

  let aPrev = 0;
  let fPrev = f0;
  let dPrev = dphi0;
  let a = step0;
  for (let i = 0; evaluations < maxEval; i++) {
    const e = evalAt(a);
    if (!Number.isFinite(e.f)) {
      // Overshot into overflow: shrink towards the last good step.
      return zoom(aPrev, fPrev, dPrev, a, fPrev + Math.abs(dphi0) * a + 1, Math.abs(dphi0));
    }
    if (approxWolfe(e.f, e.d)) return { ok: true, step: a, value: e.f, evaluations };
    if (!armijo(a, e.f) || (i > 0 && e.f >= fPrev)) return zoom(aPrev, fPrev, dPrev, a, e.f, e.d);
    if (e.f < best.f) best = { a, f: e.f };
    if (Math.abs(e.d) <= -c2 * dphi0) return { ok: true, step: a, value: e.f, evaluations };
    if (e.d >= 0) return zoom(a, e.f, e.d, aPrev, fPrev, dPrev);
    aPrev = a;
    fPrev = e.f;
    dPrev = e.d;
    a *= 2;
  }
  return finish(false, a);
}

/**
 * Minimise `fn` from `x0` by L-BFGS with a strong-Wolfe line search.
 * Initial inverse Hessian H0 = gamma I with gamma = s'y / y'y of the newest pair; a pair with
 * s'y <= 1e-10 ||s|| ||y|| is skipped (keeps H positive definite); a direction that is not a
 * descent direction, or a failed line search, restarts from steepest descent once.
 */
export function minimizeLbfgs(
  fn: Objective,
  x0: Float64Array,
  opts: LbfgsOptions = {},
): LbfgsResult {
  const m = opts.memory ?? 10;
  const maxIter = opts.maxIterations ?? 1000;
  const gtol = opts.gradientTolerance ?? 1e-6;
  const ftol = opts.functionTolerance ?? 64 * 2 ** -52;
  const maxLs = opts.maxLineSearch ?? 40;
  const c1 = opts.c1 ?? 1e-4;
  const c2 = opts.c2 ?? 0.9;
  if (
    !(m >= 1) || !(maxIter >= 0) || !(gtol >= 0) || !(ftol >= 0) || !(0 < c1 && c1 < c2 && c2 < 1)
  ) {
    throw new RangeError("minimizeLbfgs: bad options (need memory >= 1, 0 < c1 < c2 < 1)");
  }
  const n = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = fn(x, g);
  let evaluations = 1;
  if (!Number.isFinite(f)) throw new Error(`minimizeLbfgs: objective is ${f} at the start point`);
  let xNew = new Float64Array(n);
  let gNew = new Float64Array(n);
  const dir = new Float64Array(n);
  const sList: Float64Array[] = [];
  const yList: Float64Array[] = [];
  const rhoList: number[] = [];
  const alpha = new Float64Array(m);
  let iterations = 0;
  let reason: LbfgsStop = "max-iterations";
  let retried = false;

  while (true) {
    if (maxAbs(g) <= gtol) {
      reason = "gradient";
      break;
    }
    if (iterations >= maxIter) {
      reason = "max-iterations";
      break;
    }
    // Two-loop recursion: dir = -H g.
    for (let i = 0; i < n; i++) dir[i] = -g[i];
    const k = sList.length;
    for (let j = k - 1; j >= 0; j--) {
      const a = rhoList[j] * dot(sList[j], dir);
      alpha[j] = a;
      const y = yList[j];
      for (let i = 0; i < n; i++) dir[i] -= a * y[i];
    }
    if (k > 0) {
      const gamma = dot(sList[k - 1], yList[k - 1]) / dot(yList[k - 1], yList[k - 1]);
      for (let i = 0; i < n; i++) dir[i] *= gamma;
    }
    for (let j = 0; j < k; j++) {
      const b = rhoList[j] * dot(yList[j], dir);
      const s = sList[j];
      const c = alpha[j] - b;
      for (let i = 0; i < n; i++) dir[i] += c * s[i];
    }
    let dphi0 = dot(g, dir);
    if (!(dphi0 < 0)) {
      sList.length = yList.length = rhoList.length = 0;
      for (let i = 0; i < n; i++) dir[i] = -g[i];
      dphi0 = dot(g, dir);
    }
    const step0 = sList.length === 0 ? Math.min(1, 1 / Math.sqrt(-dphi0)) : 1;
    const ls = lineSearch(fn, x, f, dphi0, dir, step0, xNew, gNew, c1, c2, maxLs);
    evaluations += ls.evaluations;
    if (!ls.ok) {
      if (sList.length > 0 && !retried) {
        retried = true;
        sList.length = yList.length = rhoList.length = 0;
        continue;
      }
      reason = "line-search";
      break;
    }
    retried = false;
    iterations++;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
    }
    const sy = dot(s, y);
    if (sy > 1e-10 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (sList.length === m) {
        sList.shift();
        yList.shift();
        rhoList.shift();
      }
      sList.push(s);
      yList.push(y);
      rhoList.push(1 / sy);
    }
    const fOld = f;
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    f = ls.value;
    const gn = Math.sqrt(dot(g, g));
    opts.onIteration?.(iterations, f, gn);
    if (ftol > 0 && fOld - f <= ftol * Math.max(Math.abs(fOld), Math.abs(f), 1)) {
      reason = maxAbs(g) <= gtol ? "gradient" : "function";
      break;
    }
  }
  return {
    x,
    value: f,
    gradientNorm: Math.sqrt(dot(g, g)),
    gradientMaxAbs: maxAbs(g),
    iterations,
    evaluations,
    converged: reason === "gradient" || reason === "function",
    reason,
  };
}
