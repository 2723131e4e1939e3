/**
 * Krippendorff's alpha for nominal data, missing ratings allowed (Krippendorff 2011, "Computing
 * Krippendorff's Alpha-Reliability", section C).
 */
import { ratingsToCounts } from "./agreement.ts";

/**
 * Nominal Krippendorff's alpha from a units × values count table (`table[u][c]` = coders who gave
 * unit u value c). Units with fewer than two values are not pairable and are left out. With the
 * coincidence matrix o_ck = Σ_u n_uc n_uk / (m_u − 1) (c ≠ k; o_cc uses n_uc(n_uc − 1)),
 * n_c = Σ_k o_ck and n = Σ_c n_c: α = 1 − (n − 1) (n − Σ_c o_cc) / (n² − Σ_c n_c²).
 * NaN when every pairable value is the same (no variation: alpha is undefined).
 */
export function krippendorffAlphaFromCounts(table: readonly ArrayLike<number>[]): number {
  if (table.length === 0) throw new Error("Krippendorff's alpha: empty input (no units)");
  const k = table[0].length;
  const nc = new Float64Array(k);
  let diagonal = 0; // Σ_c o_cc
  let pairable = 0;
  for (let u = 0; u < table.length; u++) {
    const row = table[u];
    if (row.length !== k) {
      throw new Error(`Krippendorff's alpha: unit ${u} has ${row.length} columns, expected ${k}`);
    }
    let m = 0;
    for (let c = 0; c < k; c++) {
      const v = row[c];
      if (!Number.isInteger(v) || v < 0) {
        throw new Error(`Krippendorff's alpha: unit ${u} column ${c} = ${v} is not a count`);
      }
      m += v;
    }
    if (m < 2) continue;
    pairable += m;
    for (let c = 0; c < k; c++) {
      const v = row[c];
      nc[c] += v;
      diagonal += v * (v - 1) / (m - 1);
    }
  }
  if (pairable === 0) throw new Error("Krippendorff's alpha: no unit has two or more values");
  let sumSq = 0;
  for (let c = 0; c < k; c++) sumSq += nc[c] * nc[c];
  return 1 - (pairable - 1) * (pairable - diagonal) / (pairable * pairable - sumSq);
}

/**
 * Nominal Krippendorff's alpha from coder labels: `ratings[u][r]` = value coder r gave unit u,
 * MISSING_RATING (-1) or NaN where the coder gave none.
 */
export function krippendorffAlpha(ratings: readonly ArrayLike<number>[]): number {
  return krippendorffAlphaFromCounts(ratingsToCounts(ratings).table);
}
