/**
 * Verdict rules: how a claim's verdict is computed from the findings that test it. Pure
 * functions over findings (lib/findings.ts records); no verdict is typed by hand.
 *
 * - `direction`: the claim says a quantity is above (or below) a threshold. A finding whose
 *   interval lies wholly on the claimed side confirms it, wholly on the other side contradicts
 *   it, otherwise it is inconclusive. All confirm → reproduced; all contradict → reversed; some
 *   confirm → partly; none confirm → not reproduced.
 * - `near`: the claim gives a value ("about 60 %", "κ around 0.2") with a tolerance band. A
 *   finding whose interval meets the band confirms it. All → reproduced; some → partly; none →
 *   not reproduced ("reversed" has no meaning for a value).
 * - `not-testable`: the kit cannot test it here; the reason says why.
 * A rule whose findings are all missing (no model or dataset for them here) gives
 * `not testable here` with the missing ids.
 */
import type { Finding } from "../findings.ts";

/** The five verdicts of the scorecard. */
export type Verdict = "reproduced" | "partly" | "not reproduced" | "reversed" | "not testable here";

/** Every verdict, in the scorecard's order of strength. */
export const VERDICTS: readonly Verdict[] = [
  "reproduced",
  "partly",
  "not reproduced",
  "reversed",
  "not testable here",
];

/** A rule that computes a verdict from findings. */
export type VerdictRule =
  | {
    kind: "direction";
    /** The side of `threshold` the claim puts the quantity on. */
    side: "above" | "below";
    threshold: number;
  }
  | {
    kind: "near";
    /** The value the claim gives. */
    target: number;
    /** Half-width of the band counted as "about" the target. */
    tolerance: number;
  }
  | { kind: "not-testable"; reason: string };

/** A verdict with the reason the rule gives, in words generated from the findings. */
export interface RuleOutcome {
  verdict: Verdict;
  reason: string;
}

/** The finding's interval, or the point value when it has none. */
function bounds(f: Finding): [number, number] {
  return f.ci ?? [f.value as number, f.value as number];
}

function fmt(x: number, digits = 3): string {
  return x.toFixed(digits);
}

/**
 * Most finding ids a reason names in one list; the scorecard lists this many findings openly
 * and folds a longer list (lib/report/scorecard_page.ts), which the reason then does not repeat.
 */
export const REASON_IDS = 4;

/** The finding id without its `claim.<claim id>.` prefix. */
function shortId(f: Finding): string {
  return f.id.split(".").slice(2).join(".") || f.id;
}

/**
 * Evaluate `rule` on the findings that test the claim (`findings`; findings with a null value
 * count as missing). Pure.
 */
export function evaluateRule(rule: VerdictRule, findings: readonly Finding[]): RuleOutcome {
  if (rule.kind === "not-testable") return { verdict: "not testable here", reason: rule.reason };
  const present = findings.filter((f) => f.value !== null);
  if (present.length === 0) {
    const missing = findings.map((f) => f.id);
    return {
      verdict: "not testable here",
      reason: missing.length > 0
        ? `no value for ${missing.join(", ")} (${findings[0].note ?? "inputs missing"})`
        : "none of the findings that test it was computed (models or datasets missing here)",
    };
  }
  const n = present.length;
  if (rule.kind === "near") {
    const lo = rule.target - rule.tolerance;
    const hi = rule.target + rule.tolerance;
    const inBand = present.filter((f) => {
      const [a, b] = bounds(f);
      return b >= lo && a <= hi;
    });
    const band = `[${fmt(lo, 2)}, ${fmt(hi, 2)}]`;
    const values = present.map((f) => fmt(f.value as number)).join(", ");
    if (inBand.length === n) {
      return { verdict: "reproduced", reason: `all ${n} within ${band} (${values})` };
    }
    if (inBand.length > 0) {
      return {
        verdict: "partly",
        reason: `${inBand.length} of ${n} meet ${band} (${values})`,
      };
    }
    return { verdict: "not reproduced", reason: `none of ${n} meets ${band} (${values})` };
  }
  const t = rule.threshold;
  const confirms = present.filter((
    f,
  ) => (rule.side === "above" ? bounds(f)[0] > t : bounds(f)[1] < t));
  const contradicts = present.filter((f) =>
    rule.side === "above" ? bounds(f)[1] < t : bounds(f)[0] > t
  );
  const claimed = `${rule.side} ${t}`;
  const opposite = `${rule.side === "above" ? "below" : "above"} ${t}`;
  // Ids are named when few; a longer list is the scorecard's own, beside the reason.
  const list = (fs: readonly Finding[]) =>
    fs.length <= REASON_IDS ? ` (${fs.map(shortId).join(", ")})` : "";
  if (confirms.length === n) {
    return { verdict: "reproduced", reason: `all ${n} of ${n} ${claimed}` };
  }
  if (contradicts.length === n) {
    return { verdict: "reversed", reason: `all ${n} of ${n} ${opposite}` };
  }
  const rest = n - confirms.length - contradicts.length;
  const against = contradicts.length ? list(contradicts) : "";
  const tail = `${contradicts.length} ${opposite}${against}, ` +
    `${rest} with an interval that includes ${t}`;
  if (confirms.length > 0) {
    return {
      verdict: "partly",
      reason: `${confirms.length} of ${n} ${claimed}${list(confirms)}; ${tail}`,
    };
  }
  return { verdict: "not reproduced", reason: `none of ${n} ${claimed}; ${tail}` };
}
