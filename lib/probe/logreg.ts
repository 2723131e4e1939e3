/**
 * Multinomial (softmax) logistic regression with an L2 penalty on the weights, fitted by L-BFGS.
 *
 * Objective, over n samples x_i (d features) with labels y_i in 0..K-1 and sample weights s_i:
 *
 *   F(W, b) = (1/n) * sum_i s_i * CE_i + (lambda / 2) * ||W||_F^2,
 *   CE_i    = log(sum_k exp(z_ik)) - z_i,y_i,   z_ik = W_k . x_i + b_k.
 *
 * The intercepts b are not penalised. scikit-learn's
 * `LogisticRegression(multi_class="multinomial", C=C, class_weight=...)` minimises
 * C * sum_i s_i * CE_i + (1/2) ||W||^2, which is n*C times F when lambda = 1 / (C * n): the same
 * minimiser. `lambdaFromC` / `cFromLambda` convert. Class weights "balanced" are
 * s_i = n / (K * count(y_i)), as sklearn.utils.class_weight.compute_class_weight.
 *
 * Adding a constant to every b_k changes nothing, so the intercepts are returned centred
 * (sum_k b_k = 0), the representative scikit-learn's solver also reaches from a zero start.
 */
import { type LbfgsOptions, type LbfgsStop, minimizeLbfgs } from "./lbfgs.ts";
import { checkMatrix, type FeatureMatrix } from "./matrix.ts";

/** A fitted softmax classifier: z = W x + b. */
export interface LogRegModel {
  numClasses: number;
  dim: number;
  /** K x d, row-major (row k = class k's weights). */
  weights: Float64Array;
  /** K intercepts, centred (sum 0). */
  intercepts: Float64Array;
}

/** How the fit went. */
export interface LogRegFitReport {
  /** L-BFGS iterations (accepted steps). */
  iterations: number;
  /** Objective and gradient evaluations (each one pass over the data). */
  evaluations: number;
  /** Objective F at the solution. */
  objective: number;
  /** Euclidean norm of the gradient of F at the solution. */
  gradientNorm: number;
  /** Largest absolute gradient component at the solution. */
  gradientMaxAbs: number;
  converged: boolean;
  stop: LbfgsStop;
  /** Wall-clock seconds of the fit. */
  seconds: number;
}

/** Fit settings. */
export interface LogRegOptions {
  /** L2 strength lambda on the mean-loss scale (see the module comment); >= 0. */
  lambda: number;
  /** "balanced" (n / (K * count_c)), explicit per-class weights, or none (all 1). */
  classWeight?: "balanced" | Float64Array | null;
  lbfgs?: LbfgsOptions;
}

/** lambda of this module's objective for scikit-learn's C on n samples: 1 / (C n). */
export function lambdaFromC(c: number, n: number): number {
  return 1 / (c * n);
}

/** scikit-learn's C for this module's lambda on n samples: 1 / (lambda n). */
export function cFromLambda(lambda: number, n: number): number {
  return 1 / (lambda * n);
}

/** Count of each class 0..K-1 in `labels`; throws on a label outside that range. */
export function classCounts(labels: Int32Array, numClasses: number): Float64Array {
  const counts = new Float64Array(numClasses);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!(c >= 0 && c < numClasses)) {
      throw new RangeError(`label ${c} at row ${i} outside 0..${numClasses - 1}`);
    }
    counts[c]++;
  }
  return counts;
}

/**
 * "Balanced" class weights n / (K * count_c) (scikit-learn's compute_class_weight).
 * Every class must occur: throws naming the missing class otherwise.
 */
export function balancedClassWeights(labels: Int32Array, numClasses: number): Float64Array {
  const counts = classCounts(labels, numClasses);
  const w = new Float64Array(numClasses);
  for (let c = 0; c < numClasses; c++) {
    if (counts[c] === 0) throw new Error(`class ${c} has no training samples`);
    w[c] = labels.length / (numClasses * counts[c]);
  }
  return w;
}

/**
 * The objective F and its gradient as a function of the packed parameters
 * theta = [W (K*d, row-major), b (K)]; `sampleWeights` null means all 1.
 * Rows are processed in blocks of 4: one pass over each weight row computes 4 logits (4
 * independent accumulators), and one pass over each gradient row adds 4 residual-weighted
 * samples, so weights and gradient are loaded a quarter as often as row by row.
 */
export function logRegObjective(
  x: Float64Array,
  n: number,
  d: number,
  labels: Int32Array,
  numClasses: number,
  sampleWeights: Float64Array | null,
  lambda: number,
): (theta: Float64Array, grad: Float64Array) => number {
  const k = numClasses;
  const wOff = k * d;
  const invN = 1 / n;
  // z[q*k + c]: logit, then residual, of row q of the current block.
  const z = new Float64Array(4 * k);
  /** Softmax residuals (s_i / n) (p_ic - [c = y_i]) of block row q in place; returns s_i * CE_i. */
  const residual = (q: number, i: number, theta: Float64Array): number => {
    const o = q * k;
    let zMax = -Infinity;
    for (let c = 0; c < k; c++) {
      const v = z[o + c] + theta[wOff + c];
      z[o + c] = v;
      if (v > zMax) zMax = v;
    }
    const y = labels[i];
    const zy = z[o + y];
    let sumExp = 0;
    for (let c = 0; c < k; c++) {
      const e = Math.exp(z[o + c] - zMax);
      z[o + c] = e;
      sumExp += e;
    }
    const sw = sampleWeights === null ? 1 : sampleWeights[i];
    const scale = sw * invN / sumExp;
    for (let c = 0; c < k; c++) z[o + c] *= scale;
    z[o + y] -= sw * invN;
    // CE = log(sum_c exp z_c) - z_y, computed shifted by zMax (no overflow, no underflow).
    return sw * (Math.log(sumExp) + zMax - zy);
  };
  return (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const r0 = i * d, r1 = r0 + d, r2 = r1 + d, r3 = r2 + d;
      for (let c = 0; c < k; c++) {
        const w = c * d;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let j = 0; j < d; j++) {
          const t = theta[w + j];
          s0 += x[r0 + j] * t;
          s1 += x[r1 + j] * t;
          s2 += x[r2 + j] * t;
          s3 += x[r3 + j] * t;
        }
        z[c] = s0;
        z[k + c] = s1;
        z[2 * k + c] = s2;
        z[3 * k + c] = s3;
      }
      loss += residual(0, i, theta) + residual(1, i + 1, theta) + residual(2, i + 2, theta) +
        residual(3, i + 3, theta);
      for (let c = 0; c < k; c++) {
        const a0 = z[c], a1 = z[k + c], a2 = z[2 * k + c], a3 = z[3 * k + c];
        grad[wOff + c] += (a0 + a1) + (a2 + a3);
        const w = c * d;
        for (let j = 0; j < d; j++) {
          grad[w + j] += a0 * x[r0 + j] + a1 * x[r1 + j] + a2 * x[r2 + j] + a3 * x[r3 + j];
        }
      }
    }
    for (; i < n; i++) {
      const r0 = i * d;
      for (let c = 0; c < k; c++) {
        const w = c * d;
        let s0 = 0;
        for (let j = 0; j < d; j++) s0 += x[r0 + j] * theta[w + j];
        z[c] = s0;
      }
      loss += residual(0, i, theta);
      for (let c = 0; c < k; c++) {
        const a0 = z[c];
        grad[wOff + c] += a0;
        const w = c * d;
        for (let j = 0; j < d; j++) grad[w + j] += a0 * x[r0 + j];
      }
    }
    loss *= invN;
    let penalty = 0;
    for (let j = 0; j < wOff; j++) {
      penalty += theta[j] * theta[j];
      grad[j] += lambda * theta[j];
    }
    return loss + 0.5 * lambda * penalty;
  };
}

function toFloat64(m: FeatureMatrix): Float64Array {
  return m.data instanceof Float64Array ? m.data : Float64Array.from(m.data);
}

/**
 * Fit the multinomial L2 logistic regression above to `x` (n x d) and `labels` (0..K-1),
 * starting from W = 0, b = 0 (deterministic). Throws on a shape mismatch, a non-finite feature,
 * a label out of range, or (with "balanced") a class without samples.
 */
export function fitLogReg(
  x: FeatureMatrix,
  labels: Int32Array,
  numClasses: number,
  opts: LogRegOptions,
): { model: LogRegModel; report: LogRegFitReport } {
  checkMatrix(x, "fitLogReg features");
  const n = x.rows;
  const d = x.cols;
  if (labels.length !== n) throw new Error(`fitLogReg: ${labels.length} labels for ${n} rows`);
  if (n === 0) throw new Error("fitLogReg: no training samples");
  if (!(numClasses >= 2)) throw new Error(`fitLogReg: need at least 2 classes, got ${numClasses}`);
  if (!(opts.lambda >= 0)) {
    throw new RangeError(`fitLogReg: lambda must be >= 0, got ${opts.lambda}`);
  }
  classCounts(labels, numClasses);
  let sampleWeights: Float64Array | null = null;
  if (opts.classWeight) {
    const cw = opts.classWeight === "balanced"
      ? balancedClassWeights(labels, numClasses)
      : opts.classWeight;
    if (cw.length !== numClasses) {
      throw new Error(`fitLogReg: ${cw.length} class weights for ${numClasses} classes`);
    }
    sampleWeights = new Float64Array(n);
    for (let i = 0; i < n; i++) sampleWeights[i] = cw[labels[i]];
  }
  const fn = logRegObjective(toFloat64(x), n, d, labels, numClasses, sampleWeights, opts.lambda);
  const t0 = performance.now();
  const res = minimizeLbfgs(fn, new Float64Array(numClasses * (d + 1)), opts.lbfgs);
  const seconds = (performance.now() - t0) / 1000;
  const weights = res.x.slice(0, numClasses * d);
  const intercepts = res.x.slice(numClasses * d);
  let mean = 0;
  for (const b of intercepts) mean += b / numClasses;
  for (let c = 0; c < numClasses; c++) intercepts[c] -= mean;
  return {
    model: { numClasses, dim: d, weights, intercepts },
    report: {
      iterations: res.iterations,
      evaluations: res.evaluations,
      objective: res.value,
      gradientNorm: res.gradientNorm,
      gradientMaxAbs: res.gradientMaxAbs,
      converged: res.converged,
      stop: res.reason,
      seconds,
    },
  };
}

/** Class probabilities softmax(W x + b) for each row of `x`: Float64Array n x K, row-major. */
export function logRegProbabilities(model: LogRegModel, x: FeatureMatrix): Float64Array {
  if (x.cols !== model.dim) {
    throw new Error(
      `logRegProbabilities: features have ${x.cols} columns, model expects ${model.dim}`,
    );
  }
  const { numClasses: k, dim: d, weights, intercepts } = model;
  const out = new Float64Array(x.rows * k);
  const data = x.data;
  for (let i = 0; i < x.rows; i++) {
    const row = i * d;
    let zMax = -Infinity;
    for (let c = 0; c < k; c++) {
      let s = intercepts[c];
      const w = c * d;
      for (let j = 0; j < d; j++) s += data[row + j] * weights[w + j];
      out[i * k + c] = s;
      if (s > zMax) zMax = s;
    }
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const e = Math.exp(out[i * k + c] - zMax);
      out[i * k + c] = e;
      sum += e;
    }
    for (let c = 0; c < k; c++) out[i * k + c] /= sum;
  }
  return out;
}

/** Arg-max class of each row of an n x K probability matrix (lowest index wins ties). */
export function argmaxRows(probs: Float64Array, numClasses: number): Int32Array {
  const n = probs.length / numClasses;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) {
      if (probs[i * numClasses + c] > probs[i * numClasses + best]) best = c;
    }
    out[i] = best;
  }
  return out;
}
