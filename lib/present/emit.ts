/**
 * The emitting half of findings: a notebook calls `emitFinding({...})` (or `emitFindings` with a
 * study step's findings); the kernel shows a visible line (text/html) and carries the
 * machine-readable record under FINDING_MIME in the same output, for the report to collect.
 */
import {
  type Finding,
  FINDING_MIME,
  formatFinding,
  PROVENANCE_MIME,
  type ProvenanceRecord,
  validateFinding,
} from "../findings.ts";
import { display } from "./display.ts";
import { escapeXml } from "./format.ts";

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

/** Emit every finding of a study step, in order. */
export async function emitFindings(findings: readonly Finding[]): Promise<void> {
  for (const f of findings) await emitFinding(f);
}
