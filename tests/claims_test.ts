/**
 * The claims registry and its verdict rules on hand-made findings: every rule kind, every
 * verdict reachable, missing findings give "not testable here".
 */
import assert from "node:assert/strict";
import {
  CLAIMS,
  claimsOfNotebook,
  evaluateRule,
  scorecard,
  verdictCounts,
  VERDICTS,
} from "../lib/claims/mod.ts";
import type { Finding } from "../lib/findings.ts";
import {
  renderNotReproducedBody,
  SCORECARD_OPEN_FINDINGS,
  scorecardTable,
} from "../lib/report/scorecard_page.ts";
import { REPORT_CSS } from "../lib/report/site.ts";

const f = (id: string, value: number | null, ci?: [number, number]): Finding => ({
  id,
  label: id,
  value,
  ...(ci ? { ci } : {}),
});

Deno.test("direction rule: each verdict from hand-made intervals", () => {
  const rule = { kind: "direction", side: "above", threshold: 0 } as const;
  const above = f("claim.x.a", 0.1, [0.05, 0.15]);
  const above2 = f("claim.x.b", 0.2, [0.01, 0.3]);
  const straddle = f("claim.x.c", 0.01, [-0.02, 0.04]);
  const below = f("claim.x.d", -0.1, [-0.2, -0.05]);
  assert.equal(evaluateRule(rule, [above, above2]).verdict, "reproduced");
  assert.equal(evaluateRule(rule, [above, straddle]).verdict, "partly");
  assert.equal(evaluateRule(rule, [above, below]).verdict, "partly");
  assert.equal(evaluateRule(rule, [straddle]).verdict, "not reproduced");
  assert.equal(evaluateRule(rule, [straddle, below]).verdict, "not reproduced");
  assert.equal(evaluateRule(rule, [below]).verdict, "reversed");
  // "below" mirrors it; an interval touching the threshold is inconclusive.
  const low = { kind: "direction", side: "below", threshold: 0 } as const;
  assert.equal(evaluateRule(low, [below]).verdict, "reproduced");
  assert.equal(evaluateRule(low, [above]).verdict, "reversed");
  assert.equal(evaluateRule(low, [f("claim.x.e", -0.1, [-0.2, 0])]).verdict, "not reproduced");
  // A finding without an interval is judged on its value.
  assert.equal(evaluateRule(low, [f("claim.x.f", 0.5)]).verdict, "reversed");
  assert.match(
    evaluateRule(rule, [above, straddle]).reason,
    /1 of 2 above 0 \(a\); 0 below 0, 1 with an interval that includes 0/,
  );
});

Deno.test("near rule: reproduced, partly, not reproduced", () => {
  const rule = { kind: "near", target: 0.6, tolerance: 0.05 } as const;
  const inside = f("claim.t.a", 0.61, [0.59, 0.63]);
  const touching = f("claim.t.b", 0.68, [0.64, 0.7]); // meets the band at 0.64 ≤ 0.65
  const outside = f("claim.t.c", 0.7, [0.68, 0.72]);
  assert.equal(evaluateRule(rule, [inside, touching]).verdict, "reproduced");
  assert.equal(evaluateRule(rule, [inside, outside]).verdict, "partly");
  assert.equal(evaluateRule(rule, [outside]).verdict, "not reproduced");
  assert.match(evaluateRule(rule, [outside]).reason, /none of 1 meets \[0\.55, 0\.65\]/);
});

Deno.test("not-testable rule and missing findings", () => {
  const r = evaluateRule({ kind: "not-testable", reason: "no RAF-DB" }, []);
  assert.deepEqual(r, { verdict: "not testable here", reason: "no RAF-DB" });
  const dir = { kind: "direction", side: "above", threshold: 0 } as const;
  assert.equal(evaluateRule(dir, []).verdict, "not testable here");
  const missing = { ...f("claim.x.a", null), note: "model not at hand" };
  const out = evaluateRule(dir, [missing]);
  assert.equal(out.verdict, "not testable here");
  assert.match(out.reason, /claim\.x\.a \(model not at hand\)/);
  // Null values are ignored beside present ones.
  assert.equal(evaluateRule(dir, [missing, f("claim.x.b", 1, [0.5, 2])]).verdict, "reproduced");
});

Deno.test("registry: ≥15 claims, ≥4 per paper, unique ids, every verdict reachable", () => {
  assert.ok(CLAIMS.length >= 15, `${CLAIMS.length} claims`);
  for (const p of ["jamroz2024", "benchmark9", "tao2023"]) {
    const n = CLAIMS.filter((c) => c.paper === p).length;
    assert.ok(n >= 4, `${p}: ${n} claims`);
  }
  assert.equal(new Set(CLAIMS.map((c) => c.id)).size, CLAIMS.length);
  for (const c of CLAIMS) {
    assert.match(c.id, /^[a-z0-9-]+$/);
    assert.match(c.notebook, /^0[0-9]$/);
    assert.ok(c.quote.length > 10 && c.confirm.length > 10, c.id);
  }
  // A scorecard on hand-made findings reaching every verdict.
  const findings = [
    f("claim.jamroz-cross-drop.m.expw", 0.2, [0.1, 0.3]), // direction above: reproduced
    f("claim.jamroz-weak-classes.m", 0.1, [0.05, 0.2]), // direction below: reversed
    f("claim.jamroz-accuracy-hides.m.a", 0.1, [0.05, 0.2]),
    f("claim.jamroz-accuracy-hides.m.b", 0, [-0.1, 0.1]), // partly
    f("claim.benchmark-low-kappa.expw", 0.6, [0.55, 0.65]), // near 0.2: not reproduced
  ];
  const rows = scorecard(findings);
  const by = (id: string) => rows.find((r) => r.id === id)!;
  assert.equal(by("jamroz-cross-drop").verdict, "reproduced");
  assert.equal(by("jamroz-weak-classes").verdict, "reversed");
  assert.equal(by("jamroz-accuracy-hides").verdict, "partly");
  assert.equal(by("benchmark-low-kappa").verdict, "not reproduced");
  assert.equal(by("benchmark-rafdb-lowest").verdict, "not testable here");
  assert.equal(by("tao-neutral-weakness").verdict, "not testable here");
  assert.match(by("jamroz-probe-transfer").reason, /probe matrices were not computed/);
  assert.deepEqual(by("jamroz-accuracy-hides").findings.map((x) => x.id), [
    "claim.jamroz-accuracy-hides.m.a",
    "claim.jamroz-accuracy-hides.m.b",
  ]);
  const counts = verdictCounts(rows);
  for (const v of VERDICTS) assert.ok(counts[v] > 0, `${v} reached`);
  assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), CLAIMS.length);
  assert.deepEqual(
    claimsOfNotebook("03-agreement").map((c) => c.paper).includes("benchmark9"),
    true,
  );
});

Deno.test("report: scorecard table and the not-reproduced page from rows", () => {
  const rows = scorecard([
    f("claim.tao-neutral-weakness.cnn", 0.1, [0.05, 0.15]),
    f("claim.tao-mobilenet-60.fer2013-mobilenetv2", 0.61, [0.59, 0.63]),
  ]);
  const html = scorecardTable(rows, ["04-fer2013-cnn-saliency"]);
  assert.match(
    html,
    /<tr data-claim-id="tao-neutral-weakness" class="verdict-reversed">.*0\.100 \[0\.050, 0\.150\].*<td class="verdict">reversed<\/td>/s,
  );
  assert.match(html, /href="04-fer2013-cnn-saliency\.html#claims"/);
  assert.match(html, /<span class="verdict-reproduced">1 reproduced<\/span>/);
  assert.ok(!html.includes("pitfalls"), "no pitfalls link without the pitfalls page");
  const withPitfalls = scorecardTable(rows, ["04-fer2013-cnn-saliency", "05-pitfalls"]);
  assert.match(withPitfalls, /<a href="05-pitfalls\.html">pitfalls that silently move these/);
  const page = renderNotReproducedBody(rows);
  assert.match(page, /<h2>reversed \(1\)<\/h2>/);
  assert.match(page, /data-claim-id="tao-neutral-weakness"/);
  assert.ok(!page.includes('data-claim-id="tao-mobilenet-60"'), "reproduced claims not listed");
});

Deno.test("scorecard: a long list of findings is folded, a short one is not; reasons name few ids", () => {
  const many = Array.from(
    { length: SCORECARD_OPEN_FINDINGS + 2 },
    (_, i) => f(`claim.jamroz-cross-drop.m${i}.a-b`, 0.2, i === 0 ? [-0.1, 0.3] : [0.1, 0.3]),
  );
  const rows = scorecard([...many, f("claim.tao-neutral-weakness.cnn", 0.1, [0.05, 0.15])]);
  const html = scorecardTable(rows, []);
  const row = (id: string) => html.split("<tr ").find((t) => t.includes(`data-claim-id="${id}"`))!;
  assert.match(
    row("jamroz-cross-drop"),
    new RegExp(
      `<details class="scorecard-findings"><summary>the ${many.length} findings</summary>`,
    ),
  );
  assert.equal((row("jamroz-cross-drop").match(/<li /g) ?? []).length, many.length);
  assert.ok(!row("tao-neutral-weakness").includes("<details"), "one finding stays open");
  const drop = rows.find((r) => r.id === "jamroz-cross-drop")!;
  assert.equal(drop.verdict, "partly");
  // 5 confirming findings: more than a reason names; the one with an interval across 0 is counted.
  assert.equal(
    drop.reason,
    `${many.length - 1} of ${many.length} above 0; 0 below 0, 1 with an interval that includes 0`,
  );
});

Deno.test("report.css: every block closes, so the scorecard's colours apply on screen", async () => {
  const css = await Deno.readTextFile(REPORT_CSS);
  let depth = 0, mediaPrint = -1;
  const topLevel: string[] = [];
  let start = 0;
  for (let i = 0; i < css.length; i++) {
    if (css[i] === "{") {
      if (depth === 0) topLevel.push(css.slice(start, i).trim());
      if (css.slice(start, i).includes("@media print")) mediaPrint = topLevel.length - 1;
      depth++;
    } else if (css[i] === "}") {
      depth--;
      assert.ok(depth >= 0, `report.css: "}" without "{" at offset ${i}`);
      if (depth === 0) start = i + 1;
    } else if (css[i] === ";" && depth === 0) start = i + 1;
  }
  assert.equal(depth, 0, "report.css: a block is not closed");
  assert.ok(mediaPrint >= 0, "a print stylesheet");
  assert.ok(
    topLevel.some((sel) => sel.includes("span.verdict-reproduced")),
    "the verdict colours are top-level rules, not print-only ones",
  );
  // On paper the folded findings lists are printed whole (a print block opens them).
  const printBlocks = css.split("@media print").slice(1);
  assert.ok(
    printBlocks.some((b) =>
      /details\.scorecard-findings::details-content\s*\{[^}]*visible/.test(b)
    ),
    "a print rule opens the scorecard's folded findings",
  );
});
