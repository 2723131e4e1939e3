/**
 * The collecting half of findings: every finding and provenance record an executed notebook
 * emitted (lib/present/emit.ts), read back from its outputs for the report.
 */
import {
  type Finding,
  FINDING_MIME,
  PROVENANCE_MIME,
  type ProvenanceRecord,
  validateFinding,
} from "../findings.ts";
import type { Notebook } from "../notebook/nbformat.ts";

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
