/**
 * `deno task kit claims --json` on the shared data (FER_DATA) and the cached predictions: at
 * least 15 claims, at least 4 per paper, and each verdict recomputed here from the findings the
 * JSON lists equals the one printed. Ignored without FER_DATA (no predictions to score).
 */
import assert from "node:assert/strict";
import { CLAIMS, evaluateRule, VERDICTS } from "../lib/claims/mod.ts";
import { kitCommand } from "./support.ts";

const DATA = Deno.env.get("FER_DATA");

interface JsonRow {
  id: string;
  paper: string;
  quote: string;
  findings: { id: string; value: number | null; ci: [number, number] | null }[];
  verdict: string;
  reason: string;
}

Deno.test({
  name: "kit claims --json: every claim, verdicts recomputed from the listed findings",
  ignore: DATA === undefined,
  fn: async () => {
    const out = await kitCommand(["claims", "--json", "--data", DATA!]).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const rows = JSON.parse(new TextDecoder().decode(out.stdout)) as JsonRow[];
    assert.ok(rows.length >= 15, `${rows.length} claims`);
    for (const p of ["jamroz2024", "benchmark9", "tao2023"]) {
      assert.ok(rows.filter((r) => r.paper === p).length >= 4, p);
    }
    for (const r of rows) {
      assert.ok((VERDICTS as readonly string[]).includes(r.verdict), `${r.id}: ${r.verdict}`);
      for (const f of r.findings) assert.ok(f.id.startsWith(`claim.${r.id}.`), f.id);
      const claim = CLAIMS.find((c) => c.id === r.id)!;
      const again = evaluateRule(
        claim.rule,
        r.findings.map((f) => ({
          id: f.id,
          label: f.id,
          value: f.value,
          ...(f.ci ? { ci: f.ci } : {}),
        })),
      );
      assert.equal(again.verdict, r.verdict, r.id);
      if (r.verdict !== "not testable here") assert.ok(r.findings.length > 0, r.id);
    }
    // With the shared data, the claims the kit can test have findings.
    for (const id of ["jamroz-cross-drop", "benchmark-low-kappa", "tao-neutral-weakness"]) {
      assert.notEqual(rows.find((r) => r.id === id)!.verdict, "not testable here", id);
    }
  },
});
