/**
 * Key findings and provenance records: the records notebooks emit while they run
 * (lib/present/emit.ts) and the report collects from the executed notebooks
 * (lib/report/findings.ts), so every number in the report's findings table comes from a run.
 * A finding travels under the mime type FINDING_MIME in a display_data output.
 */
import { formatNumber } from "./present/format.ts";

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

/** The provenance record of a model's ONNX file (its card id and the file's SHA-256). */
export function modelProvenance(
  m: { card: { id: string }; sha256: string; onnxPath: string },
): ProvenanceRecord {
  return {
    kind: "model",
    id: m.card.id,
    sha256: m.sha256,
    detail: `ONNX ${m.onnxPath.split("/").pop()}`,
  };
}

/** The provenance record of a face detector (its card's id and ONNX hash). */
export function detectorProvenance(
  card: { id: string; sha256: string; file: string },
): ProvenanceRecord {
  return {
    kind: "model",
    id: card.id,
    sha256: card.sha256,
    detail: `face detector, ONNX ${card.file}`,
  };
}

/** The provenance record of a loaded dataset split (`split` names it, e.g. "test"). */
export function datasetProvenance(
  d: { name: string; hash: string; samples: readonly unknown[]; format: string },
  split: string,
): ProvenanceRecord {
  return {
    kind: "dataset",
    id: `${d.name}:${split}`,
    sha256: d.hash,
    detail: `${d.samples.length} faces (${d.format})`,
  };
}

/** An interval as a finding's `ci` pair (undefined when either end is not finite). */
export function ciPair(iv: { lower: number; upper: number }): [number, number] | undefined {
  return Number.isFinite(iv.lower) && Number.isFinite(iv.upper) ? [iv.lower, iv.upper] : undefined;
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
