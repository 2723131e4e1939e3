/**
 * Figures for notebooks and the report: Observable Plot (https://observablehq.com/plot/)
 * rendered server-side on a linkedom document, returned as standalone SVG strings (with
 * xmlns, so they also rasterise with sharp and open as .svg files).
 *
 * Plot's own legends need HTML or a canvas (continuous ramps), neither of which exists here,
 * so every legend is drawn by this module as SVG marks below the chart.
 */
import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";
import { normalizeCounts } from "../metrics/confusion_table.ts";
import { escapeXml, formatNumber, type NumberFormat } from "./format.ts";

/** How numbers are written on a figure: decimals, percent (0.42 → "42%"), or a function. */

/** Options every chart accepts. */
export interface ChartOptions {
  /** Title drawn above the chart. */
  title?: string;
  /** Chart width in px (default 640). */
  width?: number;
  /** Axis labels. */
  xLabel?: string;
  yLabel?: string;
}

/** Colours for groups/series (Tableau 10), in order. */
export const PALETTE: readonly string[] = [
  "#4e79a7",
  "#f28e2c",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc949",
  "#af7aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ab",
];

let cachedDocument: Document | undefined;

function plotDocument(): Document {
  cachedDocument ??= parseHTML("<!DOCTYPE html><html><head></head><body></body></html>")
    .document as unknown as Document;
  return cachedDocument;
}

interface Rendered {
  svg: string;
  width: number;
  height: number;
}

function render(options: Plot.PlotOptions): Rendered {
  const el = Plot.plot({ ...options, document: plotDocument() }) as unknown as Element;
  if (el.tagName.toLowerCase() !== "svg") {
    throw new Error("plots: Plot returned a <figure>; legends/titles must be drawn by lib/plots");
  }
  const width = Number(el.getAttribute("width"));
  const height = Number(el.getAttribute("height"));
  el.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  return { svg: el.outerHTML, width, height };
}

type Legend =
  | { kind: "swatch"; items: { label: string; color: string }[] }
  | {
    kind: "ramp";
    domain: [number, number];
    color: (v: number) => string;
    format: NumberFormat;
    label?: string;
  };

/** Wrap a rendered chart with a title above and a legend below, as one standalone SVG. */
function compose(chart: Rendered, title: string | undefined, legend?: Legend): string {
  const parts: string[] = [];
  let y = 0;
  const w = chart.width;
  if (title) {
    parts.push(
      `<text x="4" y="18" font-size="14" font-weight="600" fill="#222">${escapeXml(title)}</text>`,
    );
    y = 28;
  }
  parts.push(`<g transform="translate(0,${y})">${chart.svg}</g>`);
  y += chart.height;
  if (legend?.kind === "swatch" && legend.items.length > 0) {
    let x = 8;
    let row = y + 8;
    for (const it of legend.items) {
      const tw = 22 + it.label.length * 6.5;
      if (x + tw > w && x > 8) {
        x = 8;
        row += 18;
      }
      parts.push(
        `<rect x="${x}" y="${row}" width="12" height="12" fill="${it.color}"/>` +
          `<text x="${x + 16}" y="${row + 10}" font-size="11" fill="#222">${
            escapeXml(it.label)
          }</text>`,
      );
      x += tw + 10;
    }
    y = row + 20;
  } else if (legend?.kind === "ramp") {
    const steps = 48;
    const lw = Math.min(240, w - 40);
    const x0 = 20;
    const top = y + 10;
    const [lo, hi] = legend.domain;
    if (legend.label) {
      parts.push(
        `<text x="${x0}" y="${top}" font-size="11" fill="#222">${escapeXml(legend.label)}</text>`,
      );
    }
    for (let i = 0; i < steps; i++) {
      const v = lo + (hi - lo) * (i + 0.5) / steps;
      parts.push(
        `<rect x="${(x0 + i * lw / steps).toFixed(2)}" y="${top + 4}" width="${
          (lw / steps + 0.5).toFixed(2)
        }" height="10" fill="${legend.color(v)}"/>`,
      );
    }
    for (const [v, anchor, x] of [[lo, "start", x0], [hi, "end", x0 + lw]] as const) {
      parts.push(
        `<text x="${x}" y="${top + 27}" font-size="10" text-anchor="${anchor}" fill="#222">${
          escapeXml(formatNumber(v, legend.format))
        }</text>`,
      );
    }
    y = top + 34;
  }
  const h = Math.ceil(y + 4);
  const fullWidth = Math.max(chart.width, title ? Math.ceil(12 + title.length * 8.8) : 0);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${fullWidth}" height="${h}" ` +
    `viewBox="0 0 ${fullWidth} ${h}" ` +
    `font-family="system-ui, sans-serif" style="background:white">${parts.join("")}</svg>`;
}

/** Relative luminance (0 dark .. 1 light) of an "rgb(r, g, b)" or "#rrggbb" colour. */
function luminance(color: string): number {
  const m = color.match(/\d+(\.\d+)?/g);
  let rgb: number[];
  if (color.startsWith("#") && color.length === 7) {
    rgb = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
  } else if (m && m.length >= 3) rgb = m.slice(0, 3).map(Number);
  else return 1;
  return (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255;
}

function labelMargin(labels: readonly string[], min = 40): number {
  return Math.max(min, 12 + 7 * Math.max(0, ...labels.map((l) => l.length)));
}

/** Heatmap options. */
export interface HeatmapOptions extends ChartOptions {
  /** How cell values are printed (default 2 decimals). */
  format?: NumberFormat;
  /** Colour domain [low, high]; default the finite min and max of the matrix. */
  domain?: [number, number];
  /** Plot colour scheme name (sequential; default "blues"). */
  scheme?: Plot.ColorScheme;
  /** Legend caption. */
  legendLabel?: string;
  /** Cell size in px (default 44). */
  cellSize?: number;
}

/**
 * Heatmap of `matrix[row][col]` with values printed in each cell and a colour ramp legend.
 * Non-finite values are drawn grey and printed as "—". Returns a standalone SVG string.
 */
export function heatmap(
  matrix: readonly (readonly number[])[],
  rowLabels: readonly string[],
  colLabels: readonly string[],
  opts: HeatmapOptions = {},
): string {
  if (matrix.length !== rowLabels.length) {
    throw new Error(`heatmap: ${matrix.length} rows but ${rowLabels.length} row labels`);
  }
  matrix.forEach((row, i) => {
    if (row.length !== colLabels.length) {
      throw new Error(`heatmap: row ${i} has ${row.length} values, expected ${colLabels.length}`);
    }
  });
  const format = opts.format ?? 2;
  const finite = matrix.flat().filter(Number.isFinite);
  const domain: [number, number] = opts.domain ??
    (finite.length ? [Math.min(...finite), Math.max(...finite)] : [0, 1]);
  if (domain[0] === domain[1]) domain[1] = domain[0] + 1;
  const scheme = opts.scheme ?? "blues";
  const scale = Plot.scale({ color: { type: "linear", scheme, domain } });
  const color = (v: number): string => String(scale.apply(v));
  const cells = matrix.flatMap((row, i) =>
    row.map((v, j) => ({ row: rowLabels[i], col: colLabels[j], v }))
  );
  const size = opts.cellSize ?? 44;
  const marginLeft = labelMargin(rowLabels) + (opts.yLabel ? 16 : 0);
  const width = opts.width ?? Math.max(240, marginLeft + 20 + size * colLabels.length);
  const rotate = colLabels.some((c) => c.length > 6);
  // Labels turned 30° reach down by half their length (7 px a character, as labelMargin).
  const longest = Math.max(0, ...colLabels.map((c) => c.length));
  const marginBottom = (rotate ? Math.max(44, 18 + Math.ceil(3.5 * longest)) : 26) +
    (opts.xLabel ? 14 : 0);
  const chart = render({
    width,
    height: 12 + marginBottom + size * rowLabels.length,
    marginTop: 12,
    marginLeft,
    marginBottom,
    x: {
      domain: [...colLabels],
      label: opts.xLabel ?? null,
      tickRotate: rotate ? -30 : 0,
    },
    y: { domain: [...rowLabels], label: opts.yLabel ?? null },
    marks: [
      Plot.cell(cells, {
        x: "col",
        y: "row",
        fill: (d: { v: number }) => Number.isFinite(d.v) ? color(d.v) : "#e5e5e5",
        inset: 0.5,
      }),
      Plot.text(cells, {
        x: "col",
        y: "row",
        text: (d: { v: number }) => formatNumber(d.v, format),
        fill: (d: { v: number }) =>
          Number.isFinite(d.v) && luminance(color(d.v)) < 0.45 ? "white" : "#222",
        fontSize: 11,
      }),
    ],
  });
  return compose(chart, opts.title, {
    kind: "ramp",
    domain,
    color,
    format,
    label: opts.legendLabel,
  });
}

/** Options for confusionHeatmap. */
export interface ConfusionOptions extends ChartOptions {
  /** "recall": each row divided by its total (default); "counts": raw counts. */
  normalize?: "recall" | "counts";
}

/**
 * Confusion matrix heatmap: rows = true class, columns = predicted class. With
 * normalize "recall" each row is divided by its total (the diagonal is per-class recall);
 * an empty row is shown as "—".
 */
export function confusionHeatmap(
  counts: readonly (readonly number[])[],
  classes: readonly string[],
  opts: ConfusionOptions = {},
): string {
  const normalize = opts.normalize ?? "recall";
  const matrix = normalizeCounts(counts, normalize === "counts" ? "none" : "true");
  return heatmap(matrix, classes, classes, {
    ...opts,
    xLabel: opts.xLabel ?? "predicted",
    yLabel: opts.yLabel ?? "true",
    format: normalize === "counts" ? 0 : 2,
    domain: normalize === "counts" ? undefined : [0, 1],
    legendLabel: normalize === "counts" ? "count" : "share of the true class",
  });
}

/** One bar: a value, optionally with an interval and a group (grouped bars). */
export interface BarDatum {
  label: string;
  value: number;
  /** Interval bounds drawn as an error bar. */
  lo?: number;
  hi?: number;
  /** Group within the label (e.g. model); bars of a label are drawn side by side. */
  group?: string;
}

/** A bar for an interval's estimate, with the interval as its error bar. */
export function intervalBar(
  label: string,
  iv: { estimate: number; lower: number; upper: number },
  group?: string,
): BarDatum {
  return {
    label,
    value: iv.estimate,
    lo: iv.lower,
    hi: iv.upper,
    ...(group === undefined ? {} : { group }),
  };
}

/** Options for barChart. */
export interface BarOptions extends ChartOptions {
  /** Value axis domain; default [0, max(value, hi)]. */
  domain?: [number, number];
  /** How values are printed at the bar ends (default 2 decimals; null: not printed). */
  format?: NumberFormat | null;
}

/**
 * Horizontal bar chart, one bar per datum (grouped by `group` when present), with error bars
 * for `lo`..`hi` and a swatch legend for groups. Returns a standalone SVG string.
 */
export function barChart(data: readonly BarDatum[], opts: BarOptions = {}): string {
  const labels = [...new Set(data.map((d) => d.label))];
  const groups = [...new Set(data.flatMap((d) => d.group === undefined ? [] : [d.group]))];
  const grouped = groups.length > 0;
  const colorOf = (g: string | undefined): string =>
    g === undefined ? PALETTE[0] : PALETTE[groups.indexOf(g) % PALETTE.length];
  const top = Math.max(
    0,
    ...data.flatMap((d) => [d.value, d.hi ?? d.value].filter(Number.isFinite)),
  );
  const domain = opts.domain ?? [0, top > 0 ? top * 1.08 : 1];
  const band = grouped ? 14 * groups.length + 8 : 24;
  const marginLeft = labelMargin(labels);
  const rows = data.map((d) => ({ ...d, g: d.group ?? "", fill: colorOf(d.group) }));
  const withCi = rows.filter((d) => Number.isFinite(d.lo) && Number.isFinite(d.hi));
  const fmt = opts.format === undefined ? 2 : opts.format;
  const marks: Plot.Markish[] = [
    Plot.barX(rows, {
      x: "value",
      y: grouped ? "g" : "label",
      fy: grouped ? "label" : undefined,
      fill: (d: { fill: string }) => d.fill,
    }),
    Plot.ruleY(withCi, {
      y: grouped ? "g" : "label",
      fy: grouped ? "label" : undefined,
      x1: "lo",
      x2: "hi",
      stroke: "#222",
    }),
    Plot.tickX(withCi, {
      y: grouped ? "g" : "label",
      fy: grouped ? "label" : undefined,
      x: "lo",
      stroke: "#222",
    }),
    Plot.tickX(withCi, {
      y: grouped ? "g" : "label",
      fy: grouped ? "label" : undefined,
      x: "hi",
      stroke: "#222",
    }),
    Plot.ruleX([domain[0]]),
  ];
  if (fmt !== null) {
    marks.push(
      Plot.text(rows, {
        x: (d: BarDatum) => Number.isFinite(d.hi) ? d.hi : d.value,
        y: grouped ? "g" : "label",
        fy: grouped ? "label" : undefined,
        text: (d: BarDatum) => formatNumber(d.value, fmt),
        textAnchor: "start",
        dx: 4,
        fontSize: 10,
      }),
    );
  }
  const chart = render({
    width: opts.width ?? 640,
    height: 50 + band * labels.length,
    marginLeft,
    marginRight: 48,
    x: { domain, label: opts.xLabel ?? null, grid: true },
    y: grouped ? { axis: null, domain: groups } : { domain: labels, label: opts.yLabel ?? null },
    fy: grouped ? { domain: labels, label: opts.yLabel ?? null, axis: "left" } : undefined,
    facet: grouped ? { marginLeft } : undefined,
    marks,
  });
  return compose(
    chart,
    opts.title,
    grouped
      ? { kind: "swatch", items: groups.map((g) => ({ label: g, color: colorOf(g) })) }
      : undefined,
  );
}

/** One scatter point. */
export interface ScatterPoint {
  x: number;
  y: number;
  /** Text drawn next to the point. */
  label?: string;
  /** Colour group (legend). */
  group?: string;
}

/** Options for scatter. */
export interface ScatterOptions extends ChartOptions {
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** Draw the y = x line (e.g. accuracy against macro-F1). */
  diagonal?: boolean;
}

/** Scatter plot with optional point labels, groups (swatch legend) and y = x line. */
export function scatter(points: readonly ScatterPoint[], opts: ScatterOptions = {}): string {
  const groups = [...new Set(points.flatMap((p) => p.group === undefined ? [] : [p.group]))];
  const colorOf = (g: string | undefined): string =>
    g === undefined ? PALETTE[0] : PALETTE[groups.indexOf(g) % PALETTE.length];
  const rows = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
    .map((p) => ({ ...p, fill: colorOf(p.group) }));
  const marks: Plot.Markish[] = [];
  if (opts.diagonal) {
    const lo = Math.min(opts.xDomain?.[0] ?? 0, opts.yDomain?.[0] ?? 0);
    const hi = Math.max(opts.xDomain?.[1] ?? 1, opts.yDomain?.[1] ?? 1);
    marks.push(Plot.line([[lo, lo], [hi, hi]], { stroke: "#999", strokeDasharray: "4 3" }));
  }
  marks.push(Plot.dot(rows, { x: "x", y: "y", fill: (d: { fill: string }) => d.fill, r: 4 }));
  if (rows.some((p) => p.label !== undefined)) {
    marks.push(
      Plot.text(rows, {
        x: "x",
        y: "y",
        text: (d: ScatterPoint) => d.label ?? "",
        dx: 6,
        textAnchor: "start",
        fontSize: 10,
      }),
    );
  }
  const chart = render({
    width: opts.width ?? 520,
    height: 360,
    marginRight: 60,
    grid: true,
    x: { domain: opts.xDomain, label: opts.xLabel ?? null },
    y: { domain: opts.yDomain, label: opts.yLabel ?? null },
    marks,
  });
  return compose(
    chart,
    opts.title,
    groups.length
      ? { kind: "swatch", items: groups.map((g) => ({ label: g, color: colorOf(g) })) }
      : undefined,
  );
}

/** One line of a line chart. */
export interface LineSeries {
  name: string;
  points: readonly { x: number; y: number }[];
}

/** Options for lineChart. */
export interface LineOptions extends ChartOptions {
  xDomain?: [number, number];
  yDomain?: [number, number];
}

/** Line chart, one coloured line (with dots) per series and a swatch legend. */
export function lineChart(series: readonly LineSeries[], opts: LineOptions = {}): string {
  const colorOf = (i: number): string => PALETTE[i % PALETTE.length];
  const rows = series.flatMap((s, i) =>
    s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
      .map((p) => ({ ...p, name: s.name, stroke: colorOf(i) }))
  );
  const chart = render({
    width: opts.width ?? 640,
    height: 320,
    marginRight: 24,
    grid: true,
    x: { domain: opts.xDomain, label: opts.xLabel ?? null },
    y: { domain: opts.yDomain, label: opts.yLabel ?? null },
    marks: [
      Plot.line(rows, { x: "x", y: "y", z: "name", stroke: (d: { stroke: string }) => d.stroke }),
      Plot.dot(rows, { x: "x", y: "y", fill: (d: { stroke: string }) => d.stroke, r: 2.5 }),
    ],
  });
  return compose(chart, opts.title, {
    kind: "swatch",
    items: series.map((s, i) => ({ label: s.name, color: colorOf(i) })),
  });
}
