/** Special functions for p-values: log-gamma, regularized incomplete gamma, chi-square and binomial tails. */

const LANCZOS = [
  0.99999999999980993,
  676.5203681218851,
  -1259.1392167224028,
  771.32342877765313,
  -176.61502916214059,
  12.507343278686905,
  -0.13857109526572012,
  9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7, n = 9; relative error about 1e-15). */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new Error(`logGamma: ${x} is not positive`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * Regularized upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a), by its power series when
 * x < a + 1 and by Lentz's continued fraction otherwise (Numerical Recipes §6.2).
 */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0)) throw new Error(`gammaQ: a = ${a} is not positive`);
  if (x <= 0) return 1;
  if (!Number.isFinite(x)) return 0;
  const logPrefix = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 10000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-17) break;
    }
    return 1 - sum * Math.exp(logPrefix);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(logPrefix) * h;
}

/** Chi-square survival function P(X ≥ x) with `df` degrees of freedom (scipy `chi2.sf`). */
export function chiSquareSurvival(x: number, df: number): number {
  return gammaQ(df / 2, x / 2);
}

/**
 * Binomial CDF P(X ≤ k), X ~ Bin(n, p) (scipy `binom.cdf`): the terms are summed downwards from
 * the k-th, each from the one above by the ratio i / (n − i + 1) · (1 − p) / p, and scaled by the
 * k-th term computed from log-gamma.
 */
export function binomialCdf(k: number, n: number, p: number): number {
  if (!Number.isInteger(n) || n < 0) throw new Error(`binomialCdf: n = ${n} is not a count`);
  if (k < 0) return 0;
  k = Math.floor(k);
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  // Sum from the k-th term down only below the mode; above it use the complement.
  if (k > n * p) return 1 - binomialCdf(n - k - 1, n, 1 - p);
  const logTerm = logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + k * Math.log(p) +
    (n - k) * Math.log1p(-p);
  const ratio = (1 - p) / p;
  let term = 1;
  let sum = 1;
  for (let i = k; i > 0; i--) {
    term *= (i / (n - i + 1)) * ratio;
    sum += term;
    if (term < sum * 1e-18) break;
  }
  return Math.min(1, sum * Math.exp(logTerm));
}
