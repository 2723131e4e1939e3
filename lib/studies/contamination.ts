/**
 * The contamination audit of every model on FER2013 test: on the faces whose original FER2013
 * label and FER+ majority label disagree, how often each model picks each label (lib/metrics
 * labelSetAudit), compared with models known to be clean (the kit's own CNNs, trained on the
 * Training split only). A model whose share of original labels lies wholly above every clean
 * model's is flagged: it likely saw the test split, so its FER2013 "own test" accuracy is no
 * in-domain baseline.
 */
import type { LoadedDataset } from "../datasets/types.ts";
import { ciPair, type Finding } from "../findings.ts";
import { type LabelSetAudit, labelSetAudit, likelyContaminated } from "../metrics/mod.ts";
import type { ModelCard } from "../models/card.ts";
import type { PredictionTable } from "../predictions.ts";
import { emotionIndex } from "../taxonomy.ts";
import { gridCell, gridDataset, type StudyGrid } from "./grid.ts";
import { STUDY_BOOTSTRAP } from "./scoring.ts";

/** One model's audit. */
export interface ContaminationRow {
  model: string;
  audit: LabelSetAudit;
  /** A clean reference (the kit's own CNN trained on FER2013 Training only). */
  reference: boolean;
  /** Its share of original labels lies wholly above every reference's. */
  flagged: boolean;
}

/** The audit of every model given. */
export interface ContaminationStudy {
  rows: ContaminationRow[];
  /** Faces with both labels / where they disagree (the same for every model). */
  paired: number;
  disagreeing: number;
  references: string[];
}

/**
 * A clean reference: a model the kit trained itself (committed in the repository) on FER2013's
 * Training split (card `training` = {dataset: "fer2013", split: "train"}), so it never saw
 * FER2013 test's labels.
 */
export function isCleanReference(card: Pick<ModelCard, "source" | "training">): boolean {
  return card.source.kind === "repo" && card.training?.dataset === "fer2013" &&
    card.training.split === "train";
}

/**
 * Audit each model's FER2013-test predictions (`tables`, labels = FER2013 original) against the
 * FER+ majority labels of `ferplusTest` (same image ids; faces FER+ leaves out have no FER+
 * label). Pure apart from the bootstrap's fixed seed.
 */
export function contaminationStudy(
  tables: readonly {
    card: Pick<ModelCard, "id" | "source" | "training">;
    table: PredictionTable;
  }[],
  ferplusTest: Pick<LoadedDataset, "samples">,
  opts: { resamples?: number; seed?: number } = {},
): ContaminationStudy {
  const plus = new Map(ferplusTest.samples.map((s) => [s.id, emotionIndex(s.label)]));
  const audits = tables.map(({ card, table }) => {
    const yA = Int32Array.from(table.rows, (r) => emotionIndex(r.label));
    const yB = Int32Array.from(table.rows, (r) => plus.get(r.id) ?? -1);
    const yPred = Int32Array.from(table.rows, (r) => emotionIndex(r.pred));
    return {
      model: card.id,
      audit: labelSetAudit(yPred, yA, yB, { ...STUDY_BOOTSTRAP, ...opts }),
      reference: isCleanReference(card),
    };
  });
  const refs = audits.filter((a) => a.reference);
  const rows = audits.map((a) => ({
    ...a,
    flagged: !a.reference && likelyContaminated(a.audit, refs.map((r) => r.audit)),
  }));
  return {
    rows,
    paired: rows[0]?.audit.paired ?? 0,
    disagreeing: rows[0]?.audit.disagreeing ?? 0,
    references: refs.map((r) => r.model),
  };
}

/**
 * The audit of every model of a grid on its FER2013 test predictions, or null when the grid
 * lacks FER2013 or FER+ test (or every FER2013 prediction).
 */
export function gridContamination(grid: StudyGrid): ContaminationStudy | null {
  const fer = gridDataset(grid, "fer2013");
  const plus = gridDataset(grid, "ferplus");
  if (!fer || !plus) return null;
  const tables = grid.models.flatMap((m) => {
    const c = gridCell(grid, m.card.id, "fer2013");
    return c ? [{ card: m.card, table: c.table }] : [];
  });
  return tables.length > 0 ? contaminationStudy(tables, plus) : null;
}

/** Ids of the models the audit flags (none without an audit). */
export function flaggedModels(study: ContaminationStudy | null): Set<string> {
  return new Set(study?.rows.filter((r) => r.flagged).map((r) => r.model) ?? []);
}

/** The audit's findings: per model, the share of original labels and the accuracy change. */
export function contaminationFindings(study: ContaminationStudy): Finding[] {
  const out: Finding[] = [];
  for (const r of study.rows) {
    const a = r.audit;
    const tag = r.reference
      ? "clean reference"
      : r.flagged
      ? "FLAGGED: likely saw the test split"
      : "not flagged";
    out.push({
      id: `contamination.${r.model}.match-original`,
      label: `${r.model}: share of original FER2013 labels where FER+ disagrees`,
      value: a.matchA.estimate,
      ci: ciPair(a.matchA),
      unit: "share",
      group: "Contamination audit",
      note: `${a.disagreeing} faces; FER+ label ${a.matchB.estimate.toFixed(3)}; ${tag}`,
    });
    out.push({
      id: `contamination.${r.model}.accuracy-change`,
      label: `${r.model}: FER2013-test accuracy change from original to FER+ labels`,
      value: a.accuracyChange.estimate,
      ci: ciPair(a.accuracyChange),
      unit: "accuracy",
      group: "Contamination audit",
      note: `${a.paired} faces with both labels; ${a.accuracyA.toFixed(3)} → ${
        a.accuracyB.toFixed(3)
      }`,
    });
  }
  return out;
}
