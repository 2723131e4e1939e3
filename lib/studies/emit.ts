/**
 * Notebook edges of a study: provenance records for every model and dataset a grid used, and a
 * visible note of what was missing (so a notebook without data or models still renders and says
 * why its figures are empty).
 */
import { showMarkdown } from "../display.ts";
import { emitProvenance } from "../findings.ts";
import type { Missing, StudyGrid } from "./grid.ts";

/** Emit a provenance record (SHA-256) for each model and dataset split of the grid. */
export async function emitGridProvenance(grid: StudyGrid): Promise<void> {
  for (const m of grid.models) {
    await emitProvenance({
      kind: "model",
      id: m.card.id,
      sha256: m.sha256,
      detail: `ONNX ${m.onnxPath.split("/").pop()}`,
    });
  }
  for (const d of grid.datasets) {
    await emitProvenance({
      kind: "dataset",
      id: `${d.name}:${grid.split}`,
      sha256: d.hash,
      detail: `${d.samples.length} faces (${d.format})`,
    });
  }
}

/** Markdown list of missing things with reasons ("" when none). Pure. */
export function missingMarkdown(title: string, missing: readonly Missing[]): string {
  if (missing.length === 0) return "";
  return `**${title}:**\n\n` +
    missing.map((m) => `- \`${m.id}\`: ${m.reason.replaceAll("\n", " ")}`).join("\n");
}

/** Show what the grid lacks (models, datasets, failed cells); shows nothing when complete. */
export async function showGridGaps(grid: StudyGrid): Promise<void> {
  const parts = [
    missingMarkdown("Models not available", grid.missingModels),
    missingMarkdown("Datasets not found", grid.missingDatasets),
    missingMarkdown(
      "Predictions that failed",
      grid.failed.map((f) => ({ id: `${f.model} on ${f.dataset}`, reason: f.reason })),
    ),
  ].filter((s) => s !== "");
  if (parts.length > 0) await showMarkdown(parts.join("\n\n"));
}
