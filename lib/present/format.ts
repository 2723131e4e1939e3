/**
 * The one formatting module of the kit's output: escaping for HTML/SVG/XML, and the number formats
 * of figures, tables and the notebooks' generated text (every number in the prose is computed,
 * then written with these). Pure functions.
 */
import type { Interval } from "../metrics/mod.ts";

/** What a missing value (null, undefined, NaN, ±Infinity) is written as. */
export const MISSING_TEXT = "—";

/** How a number is written: decimals, a percentage, or a function. */
export type NumberFormat = number | "percent" | ((v: number) => string);

/** Format a number for a figure or table; NaN/±Infinity/null/undefined become "—". */
export function formatNumber(v: number | null | undefined, format: NumberFormat = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return MISSING_TEXT;
  if (typeof format === "function") return format(v);
  if (format === "percent") return `${(v * 100).toFixed(v * 100 >= 99.95 || v === 0 ? 0 : 1)}%`;
  return v.toFixed(format);
}

/** Escape text for HTML/SVG/XML element content or a double-quoted attribute. */
export function escapeXml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

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

/** withInterval of an interval. */
export function intervalText(iv: Interval, digits = 3): string {
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

/** "+3.4 pp [+1.2 pp, +5.6 pp]": a difference of two shares with its interval, in pp. */
export function ppIntervalText(iv: Interval, digits = 1): string {
  return `${pp(iv.estimate, digits)} [${pp(iv.lower, digits)}, ${pp(iv.upper, digits)}]`;
}

/** Join names as "a, b and c". */
export function listText(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}
