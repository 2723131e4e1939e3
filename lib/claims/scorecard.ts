/**
 * The scorecard: every registered claim with the findings that test it and the verdict its rule
 * computes from them. Pure: findings in, rows out (the JSON of `deno task kit claims --json`).
 */
import type { Finding } from "../findings.ts";
import { type Claim, CLAIMS, findingOfClaim, type Paper } from "./registry.ts";
import { evaluateRule, type Verdict } from "./rules.ts";

/** One finding as the scorecard lists it. */
export interface ScorecardFinding {
  id: string;
  value: number | null;
  ci?: [number, number];
  label: string;
}

/** One row of the scorecard. */
export interface ScorecardRow {
  id: string;
  paper: Paper;
  quote: string;
  findings: ScorecardFinding[];
  verdict: Verdict;
  reason: string;
  /** What is measured and what would confirm the claim. */
  confirm: string;
  /** Notebook slug prefix that tests the claim. */
  notebook: string;
}

/** Evaluate `claims` (default: the registry) on `findings`. */
export function scorecard(
  findings: readonly Finding[],
  claims: readonly Claim[] = CLAIMS,
): ScorecardRow[] {
  return claims.map((c) => {
    const own = findings.filter((f) => findingOfClaim(c.id, f.id));
    const { verdict, reason } = own.length === 0 && c.whenMissing && c.rule.kind !== "not-testable"
      ? { verdict: "not testable here" as const, reason: c.whenMissing }
      : evaluateRule(c.rule, own);
    return {
      id: c.id,
      paper: c.paper,
      quote: c.quote,
      findings: own.map((f) => ({
        id: f.id,
        value: f.value,
        ...(f.ci ? { ci: f.ci } : {}),
        label: f.label,
      })),
      verdict,
      reason,
      confirm: c.confirm,
      notebook: c.notebook,
    };
  });
}

/** Count of rows per verdict (every verdict present, zero when absent). */
export function verdictCounts(rows: readonly ScorecardRow[]): Record<Verdict, number> {
  const out: Record<Verdict, number> = {
    "reproduced": 0,
    "partly": 0,
    "not reproduced": 0,
    "reversed": 0,
    "not testable here": 0,
  };
  for (const r of rows) out[r.verdict]++;
  return out;
}
