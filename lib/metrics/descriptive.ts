/** Descriptive statistics: mean and SD, ranks, Spearman rank correlation. Pure functions. */

/** Mean and sample standard deviation. */
export interface MeanSd {
  mean: number;
  sd: number;
}

/** Mean and sample (n - 1) standard deviation of values; NaN mean for an empty list. */
export function meanSd(values: readonly number[]): MeanSd {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd };
}

/** Ranks of values (1-based, ties get their average rank). */
export function ranks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const r = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]] === values[order[i]]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[order[k]] = avg;
    i = j + 1;
  }
  return r;
}

/**
 * Spearman rank correlation of two equally long arrays (Pearson correlation of their
 * average-tie ranks). Returns 0 when either array is constant (no ordering to agree on).
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`spearman: lengths differ (${a.length}, ${b.length})`);
  const ra = ranks(a);
  const rb = ranks(b);
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) {
    ma += ra[i] / n;
    mb += rb[i] / n;
  }
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = ra[i] - ma;
    const y = rb[i] - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return saa === 0 || sbb === 0 ? 0 : sab / Math.sqrt(saa * sbb);
}
