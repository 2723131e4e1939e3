/**
 * Key findings and provenance records that notebooks emit while they run, and that the report
 * collects from the executed notebooks: every number in the report's findings table comes
 * from a run, none is typed.
 *
 * A notebook calls `emitFinding({...})`: the kernel shows a visible line (text/html) and
 * carries the machine-readable record under the mime type FINDING_MIME in the same output.
 */
import type { Notebook } from "./notebook/nbformat.ts";
import { display } from "./display.ts";
import { escapeXml, formatNumber } from "./plots.ts";

/** Mime type of a finding record inside a display_data output. */
export const FINDING_MIME = "application/vnd.ferkit.finding+json";
/** Mime type of a provenance record (model or dataset hash) inside a display_data output. */
export const PROVENANCE_MIME = "application/vnd.ferkit.provenance+json";

/** One key finding: a computed value with its interval. */
export interface Finding {
  /** Stable identifier, e.g. "cross.drop.ferplus-expw". */
  id: string;
  /** What the number is, for the findings table. */
  label: string;
  /** The value; null when the inputs were missing (shown as "—" with `note`). */
  value: number | null;
  /** Interval [low, high] around the value (e.g. a 95 % bootstrap CI). */
  ci?: [number, number];
  /** Unit or scale, e.g. "accuracy", "κ", "pp". */
  unit?: string;
  /** Decimals to print (default 3). */
  digits?: number;
  /** Notebook slug (e.g. "01-cross-dataset"); filled by the collector when absent. */
  notebook?: string;
  /** Group heading in the findings table (e.g. "Cross-dataset drops"). */
  group?: string;
  /** Free text: method of the interval, sample size, why the value is missing. */
  note?: string;
}

/** A hash of something a run used: a model's ONNX file, a dataset's label files. */
export interface ProvenanceRecord {
  kind: "model" | "dataset" | "file";
  /** Model card id, dataset name or file path. */
  id: string;
  /** SHA-256 (hex) of the content. */
  sha256: string;
  /** Free text, e.g. sample count. */
  detail?: string;
  /** Notebook slug; filled by the collector when absent. */
  notebook?: string;
}

function fail(where: string, field: string, msg: string): never {
  throw new Error(`${where}: finding field "${field}" ${msg}`);
}

/** Check a finding record's shape; errors name `where` and the field. */
export function validateFinding(x: unknown, where: string): Finding {
  if (typeof x !== "object" || x === null) throw new Error(`${where}: finding is not an object`);
  const f = x as Record<string, unknown>;
  if (typeof f.id !== "string" || f.id === "") fail(where, "id", "must be a non-empty string");
  if (typeof f.label !== "string" || f.label === "") {
    fail(where, "label", "must be a non-empty string");
  }
  if (f.value !== null && (typeof f.value !== "number" || !Number.isFinite(f.value))) {
    fail(where, "value", `must be a finite number or null (got ${String(f.value)})`);
  }
  if (f.ci !== undefined) {
    const ci = f.ci;
    if (
      !Array.isArray(ci) || ci.length !== 2 || !ci.every((v) =>
        typeof v === "number" && Number.isFinite(v)
      ) ||
      ci[0] > ci[1]
    ) fail(where, "ci", "must be [low, high] with finite low <= high");
  }
  for (const k of ["unit", "notebook", "group", "note"]) {
    if (f[k] !== undefined && typeof f[k] !== "string") fail(where, k, "must be a string");
  }
  if (f.digits !== undefined && (!Number.isInteger(f.digits) || (f.digits as number) < 0)) {
    fail(where, "digits", "must be a non-negative integer");
  }
  return f as unknown as Finding;
}

/** "0.664 [0.650, 0.678]" — the value with its interval, or "—" when missing. */
export function formatFinding(f: Finding): string {
  const d = f.digits ?? 3;
  const v = formatNumber(f.value, d);
  return f.ci ? `${v} [${formatNumber(f.ci[0], d)}, ${formatNumber(f.ci[1], d)}]` : v;
}

/** The visible HTML line a finding shows in the notebook. */
export function findingHtml(f: Finding): string {
  const unit = f.unit ? ` <span class="unit">${escapeXml(f.unit)}</span>` : "";
  const note = f.note ? ` <span class="note">(${escapeXml(f.note)})</span>` : "";
  return `<div class="ferkit-finding" data-finding-id="${escapeXml(f.id)}"><strong>${
    escapeXml(f.label)
  }:</strong> ${escapeXml(formatFinding(f))}${unit}${note}</div>`;
}

/**
 * Emit a key finding from a notebook: shown as a line, and collected by the report. Resolves
 * to nothing, so a cell ending with it shows no extra result.
 */
export async function emitFinding(finding: Finding): Promise<void> {
  const f = validateFinding(finding, `finding "${finding?.id}"`);
  await display({
    [FINDING_MIME]: f,
    "text/html": findingHtml(f),
    "text/plain": `${f.label}: ${formatFinding(f)}${f.unit ? " " + f.unit : ""}`,
  });
}

/** Emit a provenance record (a model or dataset hash) from a notebook. */
export async function emitProvenance(rec: ProvenanceRecord): Promise<void> {
  if (!/^[0-9a-f]{64}$/.test(rec.sha256)) {
    throw new Error(`provenance "${rec.id}": sha256 must be 64 hex digits (got "${rec.sha256}")`);
  }
  await display({
    [PROVENANCE_MIME]: rec,
    "text/html": `<div class="ferkit-provenance">${escapeXml(rec.kind)} <code>${
      escapeXml(rec.id)
    }</code> sha256 <code>${rec.sha256.slice(0, 16)}…</code>${
      rec.detail ? " — " + escapeXml(rec.detail) : ""
    }</div>`,
    "text/plain": `${rec.kind} ${rec.id} sha256 ${rec.sha256}`,
  });
}

function recordsOf(nb: Notebook, mime: string): { cell: number; data: unknown }[] {
  const out: { cell: number; data: unknown }[] = [];
  nb.cells.forEach((c, i) => {
    for (const o of c.outputs ?? []) {
      if (
        (o.output_type === "display_data" || o.output_type === "execute_result") && mime in o.data
      ) {
        out.push({ cell: i, data: o.data[mime] });
      }
    }
  });
  return out;
}

/**
 * Every finding an executed notebook emitted, in emission order, with `notebook` set to
 * `slug` when the notebook did not set it. A malformed record throws, naming the notebook
 * and cell (1-based).
 */
export function collectFindings(nb: Notebook, slug: string): Finding[] {
  return recordsOf(nb, FINDING_MIME).map(({ cell, data }) => {
    const f = validateFinding(data, `${slug}: cell ${cell + 1}`);
    return { ...f, notebook: f.notebook ?? slug };
  });
}

/** Every provenance record an executed notebook emitted, with `notebook` set to `slug`. */
export function collectProvenance(nb: Notebook, slug: string): ProvenanceRecord[] {
  return recordsOf(nb, PROVENANCE_MIME).map(({ data }) => {
    const r = data as ProvenanceRecord;
    return { ...r, notebook: r.notebook ?? slug };
  });
}
