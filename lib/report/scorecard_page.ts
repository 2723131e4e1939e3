/**
 * The scorecard in the report: the table that opens the index (paper | claim | the kit's
 * measurement with interval | verdict | why) and the page listing what was not reproduced.
 * Rows come from lib/claims/scorecard.ts evaluated on the findings the notebooks emitted.
 */
import { formatFinding } from "../findings.ts";
import { PAPERS } from "../claims/registry.ts";
import { type ScorecardRow, verdictCounts } from "../claims/scorecard.ts";
import { REASON_IDS, type Verdict } from "../claims/rules.ts";
import { escapeXml } from "../present/format.ts";

/** File name of the page listing the claims not reproduced. */
export const NOT_REPRODUCED_PAGE = "not-reproduced.html";

/** Verdicts the "not reproduced" page lists. */
export const NOT_REPRODUCED: readonly Verdict[] = [
  "not reproduced",
  "reversed",
  "not testable here",
];

/** Likely reasons behind a verdict, by paper (setup differences), shown on the page. */
const SETUP_DIFFERENCES: Readonly<Record<ScorecardRow["paper"], string>> = {
  jamroz2024: "The kit's models are pretrained open models and small CNNs trained on CPU, not " +
    "the paper's networks; the kit's ExpW is a class-balanced subset and CK+ a 48×48 crop of " +
    "peak frames.",
  benchmark9: "The open pretrained models and the kit's own FER2013 CNNs stand in for the nine " +
    "benchmarked ones (POSTER++, DAN, DMUE and others are not obtainable here), so agreement and " +
    "ensembles are measured on another set of models, most of them trained on FER2013; notebook " +
    '03\'s section "Same training data, same answers?" measures how agreement differs between ' +
    "models trained on the same and on different datasets. RAF-DB, AffectNet and Emognition are " +
    "not at hand.",
  tao2023: "The kit's CNNs are trained on FER2013's published Training split under a CPU " +
    "budget (models/recipes), not on Tao's own split and schedule; the claim's networks are not " +
    "available.",
};

/** Findings a scorecard row lists openly (as many as a reason names); more fold under a line. */
export const SCORECARD_OPEN_FINDINGS = REASON_IDS;

function findingsCell(r: ScorecardRow): string {
  if (r.findings.length === 0) return `<span class="missing">—</span>`;
  const items = r.findings.map((f) =>
    `<li data-finding-id="${escapeXml(f.id)}"><span class="label">${escapeXml(f.label)}</span>: ` +
    `<span class="num">${
      escapeXml(formatFinding({ id: f.id, label: f.label, value: f.value, ci: f.ci }))
    }</span></li>`
  );
  const list = `<ul class="scorecard-findings">${items.join("")}</ul>`;
  if (r.findings.length <= SCORECARD_OPEN_FINDINGS) return list;
  return `<details class="scorecard-findings"><summary>the ${r.findings.length} findings` +
    `</summary>${list}</details>`;
}

function verdictClass(v: Verdict): string {
  return `verdict-${v.replaceAll(" ", "-")}`;
}

/**
 * The scorecard table; a claim links to the notebook page that tests it when `slugs` (built
 * notebook slugs) holds one starting with the claim's notebook number.
 */
export function scorecardTable(rows: readonly ScorecardRow[], slugs: readonly string[]): string {
  const counts = verdictCounts(rows);
  const summary = Object.entries(counts).filter(([, n]) => n > 0).map(([v, n]) =>
    `<span class="${verdictClass(v as Verdict)}">${n} ${escapeXml(v)}</span>`
  ).join(" · ");
  const body = rows.map((r) => {
    const slug = slugs.find((s) => s.startsWith(r.notebook));
    const claim = slug
      ? `<a href="${escapeXml(slug)}.html#claims">${escapeXml(r.quote)}</a>`
      : escapeXml(r.quote);
    return `<tr data-claim-id="${escapeXml(r.id)}" class="${verdictClass(r.verdict)}">` +
      `<td>${escapeXml(r.paper)}</td><td>${claim}<div class="note">${
        escapeXml(r.confirm)
      }</div></td>` +
      `<td>${findingsCell(r)}</td><td class="verdict">${escapeXml(r.verdict)}</td>` +
      `<td>${escapeXml(r.reason)}</td></tr>`;
  });
  const pitfalls = slugs.find((s) => s.includes("pitfalls"));
  const pitfallsLink = pitfalls
    ? `; <a href="${escapeXml(pitfalls)}.html">pitfalls that silently move these numbers</a>`
    : "";
  return `<p class="scorecard-summary">${summary} (${rows.length} claims; ` +
    `<a href="${NOT_REPRODUCED_PAGE}">what was not reproduced, and why</a>${pitfallsLink})</p>
<table class="ferkit-table scorecard"><thead><tr><th>Paper</th><th>Claim (paraphrased)</th>` +
    `<th>Kit's measurement [95 % interval]</th><th>Verdict</th><th>Why</th></tr></thead>\n<tbody>\n${
      body.join("\n")
    }\n</tbody></table>`;
}

/** Body of the page listing the not reproduced, reversed and not testable claims. */
export function renderNotReproducedBody(rows: readonly ScorecardRow[]): string {
  const picked = rows.filter((r) => NOT_REPRODUCED.includes(r.verdict));
  const sections = NOT_REPRODUCED.map((v) => {
    const these = picked.filter((r) => r.verdict === v);
    if (these.length === 0) return "";
    const items = these.map((r) =>
      `<li data-claim-id="${escapeXml(r.id)}"><strong>${escapeXml(PAPERS[r.paper])}</strong>: ` +
      `${escapeXml(r.quote)}<div>Measured: ${escapeXml(r.reason)}.</div>` +
      `<div class="note">Likely setup differences: ${
        escapeXml(SETUP_DIFFERENCES[r.paper])
      }</div></li>`
    );
    return `<h2>${escapeXml(v)} (${these.length})</h2>\n<ul class="not-reproduced">${
      items.join("\n")
    }</ul>`;
  }).join("\n");
  return `<h1>What was not reproduced</h1>
<p class="lead">The scorecard's claims whose verdict is <em>not reproduced</em>, <em>reversed</em> or
<em>not testable here</em>, with what the kit measured and the differences between the papers'
setups and the kit's that may explain them. Each verdict is computed from the findings by the
claim's rule (lib/claims); see the <a href="index.html#scorecard">scorecard</a>.</p>
${sections || `<p class="empty">Every claim was reproduced or partly reproduced.</p>`}`;
}
