/**
 * Tables for notebooks and the report: rows of plain objects or a danfojs DataFrame
 * (danfojs-node, https://danfo.jsdata.org/) rendered as an HTML table by our own formatter.
 * Missing values (null, undefined, NaN, ±Infinity, "") are always written "—", never as
 * "undefined" or "NaN".
 */
import { escapeXml, formatNumber, MISSING_TEXT, type NumberFormat } from "./format.ts";

/** A table cell value. */
export type Cell = string | number | boolean | null | undefined;

/** One table row: column name → value. */
export type Row = Record<string, Cell>;

/**
 * Anything shaped like a danfojs DataFrame: column names and a row-major 2-D array of values
 * (a `DataFrame` from danfojs-node satisfies this).
 */
export interface FrameLike {
  columns: string[];
  values: unknown;
}

/** Options for tableHtml / tableText. */
export interface TableOptions {
  /** Caption above the table. */
  caption?: string;
  /** Columns to show, in order; default all (first row's keys, then any new ones). */
  columns?: readonly string[];
  /** Per-column number format (see plots.NumberFormat); default `digits`. */
  formats?: Readonly<Record<string, NumberFormat>>;
  /** Decimals for non-integer numbers without a column format (default 3). */
  digits?: number;
  /** Header text per column (default the column name). */
  headers?: Readonly<Record<string, string>>;
}

/** The text written for a missing value. */

/** True for values shown as missing: null, undefined, NaN, ±Infinity, empty string. */
export function isMissing(v: unknown): boolean {
  return v === null || v === undefined || v === "" ||
    (typeof v === "number" && !Number.isFinite(v));
}

/**
 * Format one cell: numbers with the column's format (integers as integers unless a format
 * is given), booleans as yes/no, missing values as "—".
 */
export function formatCell(v: unknown, format?: NumberFormat, digits = 3): string {
  if (isMissing(v)) return MISSING_TEXT;
  if (typeof v === "number") {
    if (format !== undefined) return formatNumber(v, format);
    return Number.isInteger(v) ? String(v) : formatNumber(v, digits);
  }
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "string") return v;
  return JSON.stringify(v) ?? MISSING_TEXT;
}

function isFrameLike(data: unknown): data is FrameLike {
  return typeof data === "object" && data !== null && !Array.isArray(data) &&
    Array.isArray((data as FrameLike).columns) && "values" in data;
}

/** Rows from a DataFrame-like object (a 1-column frame may hold a flat values list). */
export function frameRows(frame: FrameLike): Row[] {
  const cols = frame.columns;
  const values = frame.values;
  if (!Array.isArray(values)) throw new Error("tables: DataFrame values is not an array");
  return values.map((r: unknown) => {
    const cells = Array.isArray(r) ? r : [r];
    const row: Row = {};
    cols.forEach((c, j) => {
      const v = cells[j];
      row[c] = typeof v === "object" && v !== null ? JSON.stringify(v) : v as Cell;
    });
    return row;
  });
}

function normalize(data: readonly Row[] | FrameLike, opts: TableOptions): {
  columns: string[];
  rows: readonly Row[];
} {
  const rows = isFrameLike(data) ? frameRows(data) : data;
  let columns: string[];
  if (opts.columns) columns = [...opts.columns];
  else if (isFrameLike(data)) columns = [...data.columns];
  else {
    const seen = new Set<string>();
    for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
    columns = [...seen];
  }
  return { columns, rows };
}

function columnIsNumeric(rows: readonly Row[], col: string): boolean {
  let any = false;
  for (const r of rows) {
    const v = r[col];
    if (isMissing(v)) continue;
    if (typeof v !== "number") return false;
    any = true;
  }
  return any;
}

/**
 * Render rows or a DataFrame as an HTML `<table class="ferkit-table">` with a header row,
 * numeric columns right-aligned (class "num") and missing values as "—".
 */
export function tableHtml(data: readonly Row[] | FrameLike, opts: TableOptions = {}): string {
  const { columns, rows } = normalize(data, opts);
  const numeric = new Map(columns.map((c) => [c, columnIsNumeric(rows, c)]));
  const head = columns.map((c) =>
    `<th${numeric.get(c) ? ' class="num"' : ""}>${escapeXml(opts.headers?.[c] ?? c)}</th>`
  ).join("");
  const body = rows.map((r) =>
    "<tr>" + columns.map((c) => {
      const v = r[c];
      const text = formatCell(v, opts.formats?.[c], opts.digits ?? 3);
      const cls = [numeric.get(c) ? "num" : "", isMissing(v) ? "missing" : ""].filter(Boolean);
      return `<td${cls.length ? ` class="${cls.join(" ")}"` : ""}>${escapeXml(text)}</td>`;
    }).join("") + "</tr>"
  ).join("\n");
  const caption = opts.caption ? `<caption>${escapeXml(opts.caption)}</caption>` : "";
  return `<table class="ferkit-table">${caption}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/** Render rows or a DataFrame as aligned plain text (for `text/plain` and terminals). */
export function tableText(data: readonly Row[] | FrameLike, opts: TableOptions = {}): string {
  const { columns, rows } = normalize(data, opts);
  const cells = rows.map((r) =>
    columns.map((c) => formatCell(r[c], opts.formats?.[c], opts.digits ?? 3))
  );
  const headers = columns.map((c) => opts.headers?.[c] ?? c);
  const widths = headers.map((h, j) => Math.max(h.length, ...cells.map((r) => r[j].length)));
  const line = (parts: string[]) => parts.map((p, j) => p.padEnd(widths[j])).join("  ").trimEnd();
  const out = [line(headers), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)];
  if (opts.caption) out.unshift(opts.caption);
  return out.join("\n");
}
