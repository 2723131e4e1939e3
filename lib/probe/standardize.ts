/**
 * Feature standardisation: x' = (x - mean) / scale per column, with mean and scale estimated on
 * the training part only and then applied unchanged to every test part (no test statistics leak
 * into the probe). scale is the population standard deviation (divide by n, as scikit-learn's
 * StandardScaler); a constant column gets scale 1 (it stays constant, centred at 0).
 */
import { checkMatrix, type FeatureMatrix, type Matrix64 } from "./matrix.ts";

/** Per-column mean and scale fitted on a training matrix. */
export interface Standardizer {
  mean: Float64Array;
  scale: Float64Array;
}

/**
 * Column means and population standard deviations of `x` (two-pass, in double precision).
 * Throws when `x` has no rows or holds a non-finite value.
 */
export function fitStandardizer(x: FeatureMatrix): Standardizer {
  checkMatrix(x, "fitStandardizer features");
  if (x.rows === 0) throw new Error("fitStandardizer: no rows");
  const { rows: n, cols: d, data } = x;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const row = i * d;
    for (let j = 0; j < d; j++) mean[j] += data[row + j];
  }
  for (let j = 0; j < d; j++) mean[j] /= n;
  const variance = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const row = i * d;
    for (let j = 0; j < d; j++) {
      const v = data[row + j] - mean[j];
      variance[j] += v * v;
    }
  }
  const scale = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const sd = Math.sqrt(variance[j] / n);
    // A (near-)constant column keeps scale 1, as StandardScaler does.
    scale[j] = sd < 10 * Number.EPSILON * Math.max(1, Math.abs(mean[j])) ? 1 : sd;
  }
  return { mean, scale };
}

/** (x - mean) / scale for every row of `x`, as a new double-precision matrix. */
export function applyStandardizer(s: Standardizer, x: FeatureMatrix): Matrix64 {
  if (x.cols !== s.mean.length) {
    throw new Error(
      `applyStandardizer: features have ${x.cols} columns, the standardizer ${s.mean.length}`,
    );
  }
  const { rows: n, cols: d, data } = x;
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const row = i * d;
    for (let j = 0; j < d; j++) out[row + j] = (data[row + j] - s.mean[j]) / s.scale[j];
  }
  return { rows: n, cols: d, data: out };
}
