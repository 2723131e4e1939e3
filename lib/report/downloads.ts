/**
 * Downloads for every figure and table of a report page: each inline SVG as an .svg file and
 * a PNG rendered at 2× by sharp (librsvg, system fonts) at build time, each embedded image as
 * its own file, and each HTML table as CSV (RFC 4180) and as a LaTeX booktabs `tabular`.
 * Works on any page's HTML (notebook pages, the index, pages added later): it finds the
 * top-level `<svg>`, `<img src="data:…">` and `<table>` elements and adds a link line after each.
 */
import { join } from "node:path";
import { parseHTML } from "linkedom";
import sharp from "sharp";
import { base64Bytes, equalBytes } from "../bytes.ts";
import { exists, writeFileAtomic } from "../fsutil.ts";
import { MISSING_TEXT } from "../present/format.ts";
import { escapeXml } from "../present/format.ts";

/** One cell of a table read back from HTML. */
export interface TableCell {
  text: string;
  /** Columns this cell spans (colspan), at least 1. */
  span: number;
  /** A header cell (`<th>`). */
  header: boolean;
  /** Shown as missing ("—" or class "missing"). */
  missing: boolean;
  /** Marked numeric by the page (class "num"). */
  numeric: boolean;
}

/** A table read back from HTML: header rows, body rows, and a caption. */
export interface TableData {
  caption?: string;
  header: TableCell[][];
  body: TableCell[][];
  /** Number of columns (the widest row, counting spans). */
  columns: number;
}

/** A `[start, end)` range of a top-level element in an HTML string. */
export interface Span {
  start: number;
  end: number;
}

/**
 * Top-level `<tag>` elements of `html` (nested ones belong to their outer element), in order.
 * Escaped markup (`&lt;svg`) is text and is not matched.
 */
export function elementSpans(html: string, tag: string): Span[] {
  const re = new RegExp(`<(/?)${tag}\\b[^>]*>`, "gi");
  const spans: Span[] = [];
  let depth = 0;
  let start = -1;
  for (const m of html.matchAll(re)) {
    const closing = m[1] === "/";
    const selfClosing = !closing && m[0].endsWith("/>");
    if (!closing) {
      if (depth === 0) start = m.index!;
      if (selfClosing) {
        if (depth === 0) spans.push({ start, end: m.index! + m[0].length });
        continue;
      }
      depth++;
    } else if (depth > 0) {
      depth--;
      if (depth === 0) spans.push({ start, end: m.index! + m[0].length });
    }
  }
  return spans;
}

const BLOCK = new Set(["DIV", "P", "BR", "LI", "UL", "OL", "TR", "PRE", "SECTION"]);

/** Text of an element, with a space where a block element (a note under a label) begins. */
function textOf(node: Node): string {
  let s = "";
  node.childNodes.forEach((c) => {
    if (c.nodeType === 3) s += c.textContent ?? "";
    else if (c.nodeType === 1) {
      const block = BLOCK.has((c as Element).tagName.toUpperCase());
      s += (block ? " " : "") + textOf(c) + (block ? " " : "");
    }
  });
  return s;
}

/** Read an HTML `<table>` (as a string) into header and body rows of cell texts. */
export function readTable(tableHtml: string): TableData {
  const { document } = parseHTML(`<!DOCTYPE html><html><body>${tableHtml}</body></html>`);
  const table = document.querySelector("table");
  if (!table) throw new Error("readTable: no <table> element");
  const caption = table.querySelector("caption");
  const header: TableCell[][] = [];
  const body: TableCell[][] = [];
  let columns = 0;
  const rows = [...table.querySelectorAll("tr")].filter((tr) => tr.closest("table") === table);
  for (const tr of rows) {
    const cells: TableCell[] = [...tr.children]
      .filter((c) => c.tagName === "TD" || c.tagName === "TH")
      .map((c) => {
        const text = textOf(c).replace(/\s+/g, " ").trim();
        const cls = (c.getAttribute("class") ?? "").split(/\s+/);
        return {
          text,
          span: Math.max(1, Number(c.getAttribute("colspan")) || 1),
          header: c.tagName === "TH",
          missing: text === "" || text === MISSING_TEXT || cls.includes("missing"),
          numeric: cls.includes("num"),
        };
      });
    if (cells.length === 0) continue;
    columns = Math.max(columns, cells.reduce((a, c) => a + c.span, 0));
    const inHead = tr.parentElement?.tagName === "THEAD";
    const allHeaders = cells.every((c) => c.header) && body.length === 0 && cells.length > 1;
    (inHead || allHeaders ? header : body).push(cells);
  }
  return {
    caption: caption ? textOf(caption).replace(/\s+/g, " ").trim() : undefined,
    header,
    body,
    columns,
  };
}

/** A CSV field, quoted when it holds a comma, quote or line break (RFC 4180). */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Cells of a row laid out on `columns` columns (a spanning cell fills the first of its columns). */
function layout(row: readonly TableCell[], columns: number): (TableCell | null)[] {
  const out: (TableCell | null)[] = [];
  for (const c of row) {
    out.push(c);
    for (let i = 1; i < c.span; i++) out.push(null);
  }
  while (out.length < columns) out.push(null);
  return out;
}

/**
 * The table as CSV (RFC 4180, CRLF line ends): header rows first, missing values as empty
 * fields, text as shown on the page (intervals as "0.72 [0.70, 0.74]").
 */
export function tableCsv(t: TableData): string {
  const lines = [...t.header, ...t.body].map((row) =>
    layout(row, t.columns).map((c) => c === null || c.missing ? "" : csvField(c.text)).join(",")
  );
  return lines.join("\r\n") + "\r\n";
}

/** Characters pdfLaTeX does not take as text, and their LaTeX. */
const LATEX_CHARS: Readonly<Record<string, string>> = {
  "\\": "\\textbackslash{}",
  "&": "\\&",
  "%": "\\%",
  "$": "\\$",
  "#": "\\#",
  "_": "\\_",
  "{": "\\{",
  "}": "\\}",
  "~": "\\textasciitilde{}",
  "^": "\\textasciicircum{}",
  "<": "\\textless{}",
  ">": "\\textgreater{}",
  "—": "---",
  "–": "--",
  "−": "$-$",
  "±": "$\\pm$",
  "×": "$\\times$",
  "·": "$\\cdot$",
  "…": "\\ldots{}",
  "≈": "$\\approx$",
  "≥": "$\\geq$",
  "≤": "$\\leq$",
  "→": "$\\rightarrow$",
  "κ": "$\\kappa$",
  "α": "$\\alpha$",
  "ρ": "$\\rho$",
  "Δ": "$\\Delta$",
  "σ": "$\\sigma$",
  "μ": "$\\mu$",
  "\u00a0": "~",
};

/** Escape text for a LaTeX table cell (other non-ASCII letters are left for inputenc/XeLaTeX). */
export function latexEscape(s: string): string {
  return s.replace(/[\\&%$#_{}~^<>—–−±×·…≈≥≤→καρΔσμ\u00a0]/g, (ch) => LATEX_CHARS[ch]);
}

/** A number, or a number with its interval ("0.72 [0.70, 0.74]"), a percentage or a count. */
const NUMERIC_TEXT = /^[−-]?\d[\d,]*(\.\d+)?%?( \[[−-]?\d[\d.,]*%?, [−-]?\d[\d.,]*%?\])?$/;

/** Column alignment: "r" where every non-missing body cell is numeric, else "l". */
export function columnAlign(t: TableData): ("l" | "r")[] {
  const align: ("l" | "r")[] = [];
  for (let j = 0; j < t.columns; j++) {
    const cells = t.body.map((r) => layout(r, t.columns)[j])
      .filter((c): c is TableCell => c !== null && c.span === 1 && !c.missing);
    align.push(
      cells.length > 0 && cells.every((c) => c.numeric || NUMERIC_TEXT.test(c.text)) ? "r" : "l",
    );
  }
  return align;
}

function latexRow(row: readonly TableCell[], columns: number): string {
  const parts: string[] = [];
  let j = 0;
  for (const c of row) {
    let text = c.missing ? (c.header ? "" : "---") : latexEscape(c.text);
    // A cell starting with "[" right after "\\" would be read as the row's optional argument.
    if (text.startsWith("[")) text = `{}${text}`;
    if (c.span > 1) {
      const group = row.length === 1 && c.header;
      parts.push(`\\multicolumn{${c.span}}{l}{${group ? `\\textit{${text}}` : text}}`);
    } else parts.push(text);
    j += c.span;
  }
  for (; j < columns; j++) parts.push("");
  return parts.join(" & ") + " \\\\";
}

/**
 * The table as a LaTeX booktabs `tabular` (needs `\usepackage{booktabs}`): numeric columns
 * right-aligned, intervals kept as "0.72 [0.70, 0.74]", missing values as "---", a group row
 * (one cell over all columns) as an italic `\multicolumn`. `title` goes in a comment line.
 */
export function tableLatex(t: TableData, title = ""): string {
  const align = columnAlign(t);
  const lines: string[] = [];
  if (title) lines.push(`% ${title.replace(/\s+/g, " ")}`);
  if (t.caption) lines.push(`% Caption: ${t.caption}`);
  lines.push("% Requires \\usepackage{booktabs}.");
  lines.push(`\\begin{tabular}{${align.join("")}}`, "\\toprule");
  for (const r of t.header) lines.push(latexRow(r, t.columns));
  if (t.header.length) lines.push("\\midrule");
  for (const r of t.body) lines.push(latexRow(r, t.columns));
  lines.push("\\bottomrule", "\\end{tabular}");
  return lines.join("\n") + "\n";
}

/** Scale of the PNG downloads relative to the SVG's own size. */
export const PNG_SCALE = 2;

/**
 * Render an SVG to PNG at `scale` × its size (sharp/librsvg; text in the system's fonts) on a
 * white background.
 */
export async function svgToPng(svg: string, scale = PNG_SCALE): Promise<Uint8Array> {
  const buf = await sharp(new TextEncoder().encode(svg), { density: 72 * scale })
    .flatten({ background: "#ffffff" })
    .png()
    .toBuffer();
  return new Uint8Array(buf);
}

/** A standalone SVG file: the XML namespace declared (inline SVG in HTML may omit it). */
export function standaloneSvg(svg: string): string {
  const withNs = /^<svg\b[^>]*\bxmlns=/.test(svg)
    ? svg
    : svg.replace(/^<svg\b/, '<svg xmlns="http://www.w3.org/2000/svg"');
  return `<?xml version="1.0" encoding="UTF-8"?>\n${withNs}\n`;
}

/** What addDownloads wrote for one page. */
export interface PageDownloads {
  html: string;
  figures: number;
  tables: number;
  /** Files written, relative to the site folder. */
  files: string[];
}

/** Marker of a page that already has its download links. */
const MARK = '<p class="downloads"';

const IMAGE_EXT: Readonly<Record<string, string>> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/gif": "gif",
};

async function writeIfChanged(path: string, data: string | Uint8Array): Promise<boolean> {
  try {
    const old = await Deno.readFile(path);
    const next = typeof data === "string" ? new TextEncoder().encode(data) : data;
    if (equalBytes(old, next)) return false;
  } catch { /* absent */ }
  await writeFileAtomic(path, data);
  return true;
}

/**
 * Add downloads to one page: writes `downloads/<slug>/figure-N.{svg,png}` (or the image's own
 * format) and `table-N.{csv,tex}` under `siteDir`, and returns the page with a link line
 * (`<p class="downloads" id="figure-N">`) after each figure and table. A PNG is re-rendered only
 * when its SVG changed. A page that already has its links is returned unchanged.
 */
export async function addDownloads(
  html: string,
  slug: string,
  siteDir: string,
): Promise<PageDownloads> {
  if (html.includes(MARK)) return { html, figures: 0, tables: 0, files: [] };
  const rel = `downloads/${slug}`;
  const dir = join(siteDir, "downloads", slug);
  const svgs = elementSpans(html, "svg");
  const inSvg = (i: number) => svgs.some((s) => i > s.start && i < s.end);
  const imgs = [
    ...html.matchAll(/<img\b[^>]*\bsrc="data:(image\/(?:png|jpeg|gif));base64,([^"]*)"[^>]*>/g),
  ]
    .filter((m) => !inSvg(m.index!))
    .map((m) => ({ start: m.index!, end: m.index! + m[0].length, mime: m[1], b64: m[2] }));
  const tables = elementSpans(html, "table").filter((t) => !inSvg(t.start));
  type Item =
    | { kind: "svg"; span: Span }
    | { kind: "img"; span: Span; mime: string; b64: string }
    | { kind: "table"; span: Span };
  const items: Item[] = [
    ...svgs.map((span): Item => ({ kind: "svg", span })),
    ...imgs.map((m): Item => ({ kind: "img", span: m, mime: m.mime, b64: m.b64 })),
    ...tables.map((span): Item => ({ kind: "table", span })),
  ].sort((a, b) => a.span.start - b.span.start);
  if (items.length === 0) return { html, figures: 0, tables: 0, files: [] };
  await Deno.mkdir(dir, { recursive: true });

  const files: string[] = [];
  const inserts: { at: number; text: string }[] = [];
  let nFig = 0;
  let nTab = 0;
  const link = (file: string, label: string) =>
    `<a href="${escapeXml(`${rel}/${file}`)}" download>${label}</a>`;
  for (const it of items) {
    const source = html.slice(it.span.start, it.span.end);
    if (it.kind === "table") {
      nTab++;
      const name = `table-${nTab}`;
      const data = readTable(source);
      await writeIfChanged(join(dir, `${name}.csv`), tableCsv(data));
      await writeIfChanged(
        join(dir, `${name}.tex`),
        tableLatex(data, `Table ${nTab} of ${slug} (fer-kit report)`),
      );
      files.push(`${rel}/${name}.csv`, `${rel}/${name}.tex`);
      inserts.push({
        at: it.span.end,
        text: `\n${MARK} id="${name}"><a class="anchor" href="#${name}">Table ${nTab}</a>` +
          `<span class="links">: ${link(`${name}.csv`, "CSV")} · ${
            link(`${name}.tex`, "LaTeX")
          }</span></p>`,
      });
      continue;
    }
    nFig++;
    const name = `figure-${nFig}`;
    let links: string;
    if (it.kind === "svg") {
      const svg = standaloneSvg(source);
      const changed = await writeIfChanged(join(dir, `${name}.svg`), svg);
      const png = join(dir, `${name}.png`);
      if (changed || !(await exists(png))) await writeFileAtomic(png, await svgToPng(svg));
      files.push(`${rel}/${name}.svg`, `${rel}/${name}.png`);
      links = `${link(`${name}.svg`, "SVG")} · ${link(`${name}.png`, `PNG (${PNG_SCALE}×)`)}`;
    } else {
      const ext = IMAGE_EXT[it.mime];
      await writeIfChanged(join(dir, `${name}.${ext}`), base64Bytes(it.b64));
      files.push(`${rel}/${name}.${ext}`);
      links = link(`${name}.${ext}`, ext.toUpperCase());
    }
    inserts.push({
      at: it.span.end,
      text: `\n${MARK} id="${name}"><a class="anchor" href="#${name}">Figure ${nFig}</a>` +
        `<span class="links">: ${links}</span></p>`,
    });
  }
  let out = "";
  let pos = 0;
  for (const ins of inserts.sort((a, b) => a.at - b.at)) {
    out += html.slice(pos, ins.at) + ins.text;
    pos = ins.at;
  }
  out += html.slice(pos);
  return { html: out, figures: nFig, tables: nTab, files };
}
