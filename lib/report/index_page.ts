/** The report's index: key findings (from the runs), the notebook list, the provenance block. */
import { type Finding, formatFinding, type ProvenanceRecord } from "../findings.ts";
import { formatDuration } from "./html.ts";
import { escapeXml } from "../present/format.ts";
import type { KitProvenance } from "./provenance.ts";
import type { ScorecardRow } from "../claims/scorecard.ts";
import { scorecardTable } from "./scorecard_page.ts";

/** What the index shows about one notebook. */
export interface NotebookSummary {
  slug: string;
  title: string;
  /** "ok", "failed" or "not built". */
  state: "ok" | "failed" | "not built";
  durationMs?: number;
  executedAt?: string;
  error?: string;
  findings: number;
  /** Kernel implementation and version that ran it. */
  kernel?: string;
}

/** Everything the index page renders. */
export interface IndexModel {
  title: string;
  findings: readonly Finding[];
  notebooks: readonly NotebookSummary[];
  kit: KitProvenance;
  records: readonly ProvenanceRecord[];
  /** The reproduction scorecard (lib/claims) computed from `findings`. */
  scorecard?: readonly ScorecardRow[];
}

/**
 * A group's header row; when every finding of the group comes from one built notebook (e.g. the
 * "Pitfalls" group of 05-pitfalls), the header links to that notebook's page.
 */
function groupRow(group: string, findings: readonly Finding[], slugs: ReadonlySet<string>): string {
  const from = new Set(findings.filter((f) => f.group === group).map((f) => f.notebook ?? ""));
  const [only] = from;
  const link = from.size === 1 && slugs.has(only)
    ? ` <a class="group-notebook" href="${escapeXml(only)}.html">${escapeXml(only)}</a>`
    : "";
  return `<tr class="group"><th colspan="4">${escapeXml(group)}${link}</th></tr>`;
}

function findingsTable(findings: readonly Finding[], slugs: ReadonlySet<string>): string {
  if (findings.length === 0) {
    return `<p class="empty">No findings yet: no notebook emitted one (see the notebook list below).</p>`;
  }
  const rows: string[] = [];
  let group: string | undefined = "\u0000";
  for (const f of findings) {
    if (f.group !== group) {
      group = f.group;
      if (group) rows.push(groupRow(group, findings, slugs));
    }
    const nb = f.notebook ?? "";
    const link = slugs.has(nb)
      ? `<a href="${escapeXml(nb)}.html#finding-${escapeXml(f.id)}">${escapeXml(nb)}</a>`
      : escapeXml(nb);
    const note = f.note ? `<div class="note">${escapeXml(f.note)}</div>` : "";
    rows.push(
      `<tr data-finding-id="${escapeXml(f.id)}"><td id="finding-${escapeXml(f.id)}">${
        escapeXml(f.label)
      }${note}</td>` +
        `<td class="num${f.value === null ? " missing" : ""}">${escapeXml(formatFinding(f))}</td>` +
        `<td>${escapeXml(f.unit ?? "")}</td><td>${link}</td></tr>`,
    );
  }
  return `<table class="ferkit-table findings"><thead><tr><th>Finding</th>` +
    `<th class="num">Value [interval]</th><th>Unit</th><th>Notebook</th></tr></thead>\n<tbody>\n${
      rows.join("\n")
    }\n</tbody></table>`;
}

function notebooksTable(nbs: readonly NotebookSummary[]): string {
  const rows = nbs.map((n) => {
    const title = n.state === "not built"
      ? escapeXml(n.title)
      : `<a href="${escapeXml(n.slug)}.html">${escapeXml(n.title)}</a>`;
    const err = n.error ? `<div class="error-line">${escapeXml(n.error)}</div>` : "";
    return `<tr class="state-${n.state.replace(" ", "-")}"><td><code>${
      escapeXml(n.slug)
    }</code></td>` +
      `<td>${title}${err}</td><td class="state">${escapeXml(n.state)}</td>` +
      `<td class="num">${n.findings}</td>` +
      `<td class="num">${
        n.durationMs !== undefined ? formatDuration(n.durationMs) : "—"
      }</td></tr>`;
  });
  return `<table class="ferkit-table notebooks"><thead><tr><th>Notebook</th><th>Title</th>` +
    `<th>Status</th><th class="num">Findings</th><th class="num">Run time</th></tr></thead>\n<tbody>\n${
      rows.join("\n")
    }\n</tbody></table>`;
}

function provenanceBlock(m: IndexModel): string {
  const k = m.kit;
  const kernels = [...new Set(m.notebooks.flatMap((n) => n.kernel ? [n.kernel] : []))];
  const commit = k.commit
    ? `<code>${escapeXml(k.commit)}</code>${k.dirty ? " (with uncommitted changes)" : ""}`
    : "not a git checkout";
  const items: [string, string][] = [
    ["Kit commit", commit],
    [
      "Deno",
      `${escapeXml(k.deno)} (V8 ${escapeXml(k.v8)}, TypeScript ${escapeXml(k.typescript)})`,
    ],
    ["onnxruntime-node", escapeXml(k.onnxruntime ?? "—")],
    [
      "Execution providers",
      `requested ${escapeXml(k.providerRequested)}; ${
        k.providers.length
          ? k.providers.map(escapeXml).join("<br>")
          : "no inference session opened in this build (predictions from the cache)"
      }`,
    ],
    [
      "Predictions computed on",
      k.predictionProducers.length ? k.predictionProducers.map(escapeXml).join("<br>") : "—",
    ],
    ["Jupyter kernel", escapeXml(kernels.join(", ") || "—")],
    ["Data root", `<code>${escapeXml(k.dataRoot)}</code>`],
    ["Generated", escapeXml(k.generatedAt)],
  ];
  const dl = items.map(([a, b]) => `<dt>${a}</dt><dd>${b}</dd>`).join("\n");
  const seen = new Set<string>();
  const recs = m.records.filter((r) => {
    const key = `${r.kind}|${r.id}|${r.sha256}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  }).sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
  const recRows = recs.map((r) =>
    `<tr><td>${escapeXml(r.kind)}</td><td><code>${escapeXml(r.id)}</code></td>` +
    `<td><code class="hash">${escapeXml(r.sha256)}</code></td><td>${
      escapeXml(r.detail ?? "")
    }</td>` +
    `<td>${escapeXml(r.notebook ?? "")}</td></tr>`
  ).join("\n");
  const recTable = recs.length
    ? `<table class="ferkit-table hashes"><thead><tr><th>Kind</th><th>Id</th><th>SHA-256</th>` +
      `<th>Detail</th><th>Notebook</th></tr></thead>\n<tbody>\n${recRows}\n</tbody></table>`
    : `<p class="empty">No model or dataset hashes were emitted by the notebooks.</p>`;
  const timings = m.notebooks.map((n) =>
    `<tr><td><code>${escapeXml(n.slug)}</code></td><td class="num">${
      n.durationMs !== undefined ? formatDuration(n.durationMs) : "—"
    }</td><td>${escapeXml(n.executedAt ?? "—")}</td></tr>`
  ).join("\n");
  return `<dl class="provenance">\n${dl}\n</dl>
<h3>Models and datasets</h3>
${recTable}
<h3>Timings</h3>
<table class="ferkit-table timings"><thead><tr><th>Notebook</th><th class="num">Run time</th><th>Executed</th></tr></thead>
<tbody>
${timings}
</tbody></table>`;
}

/** The body (inside <main>) of the index page. */
export function renderIndexBody(m: IndexModel): string {
  const slugs = new Set(m.notebooks.filter((n) => n.state !== "not built").map((n) => n.slug));
  const failed = m.notebooks.filter((n) => n.state === "failed");
  const banner = failed.length
    ? `<div class="banner failed" role="alert"><strong>${failed.length} notebook${
      failed.length > 1 ? "s" : ""
    } failed:</strong> ${failed.map((n) => escapeXml(n.slug)).join(", ")}.</div>`
    : "";
  return `<h1>${escapeXml(m.title)}</h1>
${banner}
<p class="lead">Does each claim of the three reproduced papers hold on the data and models at hand?
Every number and verdict below was computed by the notebooks when this site was built; none is typed
by hand. Intervals are shown in brackets as [low, high]; each notebook states how its intervals were
computed.</p>
${
    m.scorecard
      ? `<h2 id="scorecard">Scorecard</h2>\n${scorecardTable(m.scorecard, [...slugs])}\n`
      : ""
  }<h2 id="key-findings">Key findings</h2>
${findingsTable(m.findings, slugs)}
<h2 id="notebooks">Notebooks</h2>
${notebooksTable(m.notebooks)}
<h2 id="provenance">Provenance</h2>
${provenanceBlock(m)}`;
}
