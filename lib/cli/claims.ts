/**
 * `deno task kit claims [--json] [--data DIR] [--probes]`: the reproduction scorecard, every
 * registered claim of the three papers with the findings that test it and its computed verdict,
 * from the cached predictions (a first run fills the prediction cache).
 */
import { flag, noPositionals, parseArgs, str, usageExit } from "./args.ts";
import { claimFindings, gatherEvidence } from "../claims/evidence.ts";
import { PAPERS } from "../claims/registry.ts";
import { scorecard, type ScorecardRow, verdictCounts } from "../claims/scorecard.ts";
import { formatFinding } from "../findings.ts";

/** One-line description for the command list. */
export const summary = "the reproduction scorecard: each paper claim, its findings and verdict";

const HELP = `usage: deno task kit claims [options]

Computes the findings that test each registered claim (lib/claims/registry.ts) from the
prediction grid (every model on the FER2013, FER+, CK+ and ExpW test splits, read from the
prediction cache) and prints each claim's verdict: reproduced, partly, not reproduced, reversed,
or not testable here (with the reason).

options:
  --json            print a JSON list of { id, paper, quote, findings: [{ id, value, ci }],
                    verdict, reason }
  --data DIR        data root (default FER_DATA, then data/raw)
  --probes          also compute (or read from the study cache) the linear-probe matrices of
                    every probe backbone, as notebook 01 does, for the probe-transfer claim
                    (minutes when not cached)
  -h, --help        this help`;

/** The scorecard as text: one block per claim. */
export function formatScorecard(rows: readonly ScorecardRow[]): string {
  const lines: string[] = [];
  for (const r of rows) {
    lines.push(`[${r.verdict}] ${r.id} (${PAPERS[r.paper]})`);
    lines.push(`  claim: ${r.quote}`);
    for (const f of r.findings) {
      lines.push(
        `  ${f.id}: ${formatFinding({ id: f.id, label: f.label, value: f.value, ci: f.ci })}`,
      );
    }
    lines.push(`  why: ${r.reason}`, "");
  }
  const counts = verdictCounts(rows);
  lines.push(
    Object.entries(counts).map(([v, n]) => `${n} ${v}`).join(", ") + ` (${rows.length} claims)`,
  );
  return lines.join("\n");
}

/** Runs the command; returns the exit code (2 for a bad command line). */
export async function run(args: string[]): Promise<number> {
  let json: boolean;
  let data: string | undefined;
  let withProbes: boolean;
  try {
    const p = parseArgs(args, {
      json: { type: "boolean" },
      data: { type: "string" },
      probes: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    noPositionals(p);
    json = flag(p, "json");
    data = str(p, "data");
    withProbes = flag(p, "probes");
  } catch (e) {
    return usageExit(e, HELP);
  }
  const inputs = await gatherEvidence({
    ...(data ? { dataRoot: data } : {}),
    ...(withProbes ? { probes: "compute" as const } : {}),
  });
  const rows = scorecard(claimFindings(inputs));
  if (json) {
    console.log(JSON.stringify(
      rows.map((r) => ({
        id: r.id,
        paper: r.paper,
        quote: r.quote,
        findings: r.findings.map((f) => ({ id: f.id, value: f.value, ci: f.ci ?? null })),
        verdict: r.verdict,
        reason: r.reason,
      })),
      null,
      2,
    ));
  } else {
    console.log(formatScorecard(rows));
  }
  return 0;
}

if (import.meta.main) Deno.exit(await run(Deno.args));
