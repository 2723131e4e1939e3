/**
 * Number formats of the study notebooks' generated text and tables (every number in the prose is
 * computed, then written with these).
 */
import type { BootstrapInterval } from "../metrics/mod.ts";

/** "0.612 [0.596, 0.628]": an estimate with its interval; "—" parts for non-finite values. */
export function withInterval(
  estimate: number,
  lower: number | null,
  upper: number | null,
  digits = 3,
): string {
  const f = (v: number | null) => (v === null || !Number.isFinite(v) ? "—" : v.toFixed(digits));
  return `${f(estimate)} [${f(lower)}, ${f(upper)}]`;
}

/** withInterval of a bootstrap interval. */
export function intervalText(iv: BootstrapInterval, digits = 3): string {
  return withInterval(iv.estimate, iv.lower, iv.upper, digits);
}

/** "61.2 %" for 0.612 (one decimal); "—" when not finite. */
export function pct(v: number, digits = 1): string {
  return Number.isFinite(v) ? `${(100 * v).toFixed(digits)} %` : "—";
}

/** "+3.4 pp" / "−3.4 pp" for a difference of two shares (percentage points). */
export function pp(v: number, digits = 1): string {
  if (!Number.isFinite(v)) return "—";
  const s = (100 * Math.abs(v)).toFixed(digits);
  return `${v < 0 ? "−" : "+"}${s} pp`;
}

/** The interval as a [low, high] pair for emitFinding (undefined when either end is not finite). */
export function ciPair(iv: { lower: number; upper: number }): [number, number] | undefined {
  return Number.isFinite(iv.lower) && Number.isFinite(iv.upper) ? [iv.lower, iv.upper] : undefined;
}

/** Join names as "a, b and c". */
export function listText(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}
