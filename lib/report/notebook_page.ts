/**
 * One report page per executed notebook: markdown rendered, code folded in <details>,
 * outputs kept (text, HTML, inline SVG, PNG/JPEG data URIs, errors styled).
 */
import { FINDING_MIME, PROVENANCE_MIME } from "../findings.ts";
import {
  type CellOutput,
  cellSource,
  joinText,
  type Notebook,
  type NotebookCell,
  stripAnsi,
} from "../notebook/nbformat.ts";
import { formatDuration } from "./html.ts";
import { escapeXml } from "../present/format.ts";
import { renderMarkdown } from "./markdown.ts";

/** Mime types shown, best first; the first one present in an output is used. */
export const MIME_PREFERENCE: readonly string[] = [
  "image/svg+xml",
  "image/png",
  "image/jpeg",
  "image/gif",
  "text/html",
  "text/markdown",
  "application/json",
  "text/plain",
];

function svgInline(svg: string): string {
  // Drop an XML prolog / doctype: inline SVG in HTML must start at <svg>.
  const start = svg.indexOf("<svg");
  return start >= 0 ? svg.slice(start) : escapeXml(svg);
}

/** HTML for one mime bundle (display_data / execute_result). */
export function renderBundle(data: Record<string, unknown>): string {
  const mime = MIME_PREFERENCE.find((m) => m in data);
  if (mime === undefined) {
    return `<div class="output unsupported">output of type ${
      escapeXml(Object.keys(data).join(", "))
    } (not shown)</div>`;
  }
  const value = data[mime];
  switch (mime) {
    case "image/svg+xml":
      return `<figure class="output figure">${svgInline(joinText(value))}</figure>`;
    case "image/png":
    case "image/jpeg":
    case "image/gif": {
      const b64 = joinText(value).replace(/\s+/g, "");
      const alt = escapeXml(joinText(data["text/plain"]) || "image");
      return `<figure class="output image"><img src="data:${mime};base64,${b64}" alt="${alt}"></figure>`;
    }
    case "text/html":
      return `<div class="output html">${joinText(value)}</div>`;
    case "text/markdown":
      return `<div class="output markdown">${renderMarkdown(joinText(value))}</div>`;
    case "application/json":
      return `<pre class="output json">${escapeXml(JSON.stringify(value, null, 2))}</pre>`;
    default:
      return `<pre class="output text">${escapeXml(stripAnsi(joinText(value)))}</pre>`;
  }
}

/** HTML for one cell output. */
export function renderOutput(o: CellOutput): string {
  switch (o.output_type) {
    case "stream": {
      const text = escapeXml(stripAnsi(joinText(o.text)));
      if (o.name === "stderr") {
        return `<details class="output stderr"><summary>stderr</summary><pre>${text}</pre></details>`;
      }
      return `<pre class="output stream">${text}</pre>`;
    }
    case "error": {
      const tb = stripAnsi(o.traceback.join("\n"));
      return `<div class="output error" role="alert"><strong>${escapeXml(o.ename)}: ${
        escapeXml(stripAnsi(o.evalue))
      }</strong>${tb.trim() ? `<pre>${escapeXml(tb)}</pre>` : ""}</div>`;
    }
    default: {
      const html = renderBundle(o.data);
      const f = o.data[FINDING_MIME] as { id?: string } | undefined;
      if (f?.id) {
        const id = `finding-${escapeXml(f.id)}`;
        // The permalink comes first and floats right, so the finding's text wraps around it.
        return `<div class="finding-anchor" id="${id}"><a class="permalink" href="#${id}" ` +
          `title="Permalink to this finding">${escapeXml(f.id)}</a>${html}</div>`;
      }
      if (PROVENANCE_MIME in o.data) return `<div class="provenance-anchor">${html}</div>`;
      return html;
    }
  }
}

function renderCodeCell(cell: NotebookCell, index: number): string {
  const run = cell.metadata.ferkit;
  const status = run?.status ?? "not run";
  const label = cell.execution_count ? `In [${cell.execution_count}]` : "In [ ]";
  const timing = run && run.durationMs > 0 ? ` · ${formatDuration(run.durationMs)}` : "";
  const statusTag = status === "ok"
    ? ""
    : ` <span class="status status-${escapeXml(status)}">${escapeXml(status)}</span>`;
  const outputs = (cell.outputs ?? []).map(renderOutput).join("\n");
  return `<section class="cell code-cell status-${escapeXml(status)}" id="cell-${index + 1}">
<details class="code"><summary>${label}${timing}${statusTag}</summary><pre><code>${
    escapeXml(cellSource(cell))
  }</code></pre></details>
${outputs ? `<div class="outputs">\n${outputs}\n</div>` : ""}
</section>`;
}

/** Execution record kept in the executed notebook's `metadata.ferkit`. */
export interface NotebookRunMeta {
  ok?: boolean;
  durationMs?: number;
  error?: { ename: string; evalue: string; cell?: number } | null;
  executedAt?: string;
}

/** The body (inside <main>) of a notebook's page. */
export function renderNotebookBody(nb: Notebook, slug: string): string {
  const meta = (nb.metadata.ferkit ?? {}) as NotebookRunMeta;
  const parts: string[] = [];
  if (meta.ok === false) {
    const e = meta.error;
    const where = e?.cell !== undefined
      ? ` <a href="#cell-${e.cell + 1}">(cell ${e.cell + 1})</a>`
      : "";
    parts.push(
      `<div class="banner failed" role="alert"><strong>This notebook failed${where}.</strong> ${
        e ? escapeXml(`${e.ename}: ${stripAnsi(e.evalue)}`) : ""
      }</div>`,
    );
  } else if (meta.ok === undefined) {
    parts.push(`<div class="banner notrun">This notebook has not been executed yet.</div>`);
  }
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type === "markdown") {
      parts.push(
        `<section class="cell markdown-cell" id="cell-${i + 1}">${
          renderMarkdown(cellSource(cell))
        }</section>`,
      );
    } else if (cell.cell_type === "code") {
      parts.push(renderCodeCell(cell, i));
    }
  });
  const when = meta.executedAt ? `executed ${escapeXml(meta.executedAt)}` : "";
  const dur = meta.durationMs !== undefined ? ` in ${formatDuration(meta.durationMs)}` : "";
  parts.push(
    `<p class="run-info">${when}${dur}${when || dur ? " · " : ""}<a href="notebooks/${
      escapeXml(slug)
    }.ipynb">executed notebook (.ipynb)</a></p>`,
  );
  return parts.join("\n");
}

/** The page title of a notebook: its first Markdown heading, else the slug. */
export function notebookTitle(nb: Notebook, slug: string): string {
  for (const cell of nb.cells) {
    if (cell.cell_type !== "markdown") continue;
    const m = cellSource(cell).match(/^#{1,2}\s+(.+)$/m);
    if (m) return m[1].replace(/[*_`]/g, "").trim();
  }
  return slug;
}
