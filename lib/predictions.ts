/**
 * The predictions CSV, the kit's exchange format between `predict`, `metrics`, `agreement`
 * and the notebooks, and the one join of several models' tables on item id:
 * `id,label,pred,p_angry,p_disgust,p_fear,p_happy,p_sad,p_surprise,p_neutral[,p_contempt]`.
 * Labels are canonical names; probabilities sum to 1 over the model's classes (0 for classes
 * the model does not have).
 */
import { formatCsv, parseCsv } from "./csv.ts";
import {
  BASIC7,
  type Emotion,
  emotionIndex,
  EMOTIONS,
  LabelError,
  normalizeLabel,
} from "./taxonomy.ts";

/** How far a probability row's sum may be from 1 (files hold 6 decimals; models float32). */
export const PROBABILITY_SUM_TOLERANCE = 1e-3;

/**
 * Why `row` is not a probability vector, or undefined when it is: every value a number in
 * [0, 1] (within 1e-6) and the sum within {@link PROBABILITY_SUM_TOLERANCE} of 1.
 */
export function probabilityProblem(row: ArrayLike<number>): string | undefined {
  let sum = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (typeof v !== "number" || !Number.isFinite(v)) return `value ${v} is not a number`;
    sum += v;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (lo < -1e-6 || hi > 1 + 1e-6) {
    return `values from ${lo.toFixed(4)} to ${hi.toFixed(4)} are not all in [0, 1] ` +
      `(sum ${sum.toFixed(4)})`;
  }
  if (Math.abs(sum - 1) > PROBABILITY_SUM_TOLERANCE) {
    return `probabilities sum to ${sum.toFixed(6)}, not 1 (± ${PROBABILITY_SUM_TOLERANCE})`;
  }
  return undefined;
}

/** One prediction row. */
export interface Prediction {
  id: string;
  label: Emotion;
  pred: Emotion;
  /** Probability per class, in the order of `PredictionTable.classes`. */
  probs: Float64Array;
}

/** A predictions file: its probability columns and rows. */
export interface PredictionTable {
  classes: Emotion[];
  rows: Prediction[];
}

/** Header for a table over `classes` (BASIC7, or all eight with contempt). */
export function predictionHeader(classes: readonly Emotion[]): string[] {
  return ["id", "label", "pred", ...classes.map((c) => `p_${c}`)];
}

/** Serialise a table to CSV text (probabilities with 6 decimals). */
export function formatPredictions(table: PredictionTable): string {
  const rows: (string | number)[][] = [predictionHeader(table.classes)];
  for (const r of table.rows) {
    rows.push([r.id, r.label, r.pred, ...Array.from(r.probs, (p) => p.toFixed(6))]);
  }
  return formatCsv(rows);
}

/**
 * Parse predictions CSV text. Errors name the file and line: a missing column (every basic-7
 * p_<class> column is required; p_contempt is optional), an unknown label, a probability that is
 * not a number, a row that is not a probability vector (values in [0, 1] summing to 1), a
 * duplicate id.
 */
export function parsePredictions(text: string, file: string): PredictionTable {
  const records = parseCsv(text, file);
  if (records.length === 0) throw new LabelError("empty predictions file", { file, line: 1 });
  const header = records[0].fields.map((h) => h.trim());
  const need = ["id", "label", "pred"];
  for (let i = 0; i < need.length; i++) {
    if (header[i] !== need[i]) {
      throw new LabelError(
        `expected column ${i + 1} to be "${need[i]}", found "${header[i] ?? ""}"`,
        { file, line: records[0].line },
      );
    }
  }
  const classes: Emotion[] = header.slice(3).map((h, i) => {
    if (!h.startsWith("p_")) {
      throw new LabelError(`column "${h}" is not a p_<class> column`, {
        file,
        line: records[0].line,
        field: String(i + 4),
      });
    }
    return normalizeLabel(h.slice(2), { file, line: records[0].line, field: h });
  });
  const missing = BASIC7.filter((c) => !classes.includes(c));
  if (missing.length > 0) {
    throw new LabelError(
      `missing probability column${missing.length > 1 ? "s" : ""} ` +
        `${missing.map((c) => `p_${c}`).join(", ")} (a model without a class writes 0 there)`,
      { file, line: records[0].line },
    );
  }
  const seen = new Set<string>();
  const rows: Prediction[] = [];
  for (const rec of records.slice(1)) {
    const f = rec.fields;
    const origin = { file, line: rec.line };
    if (f.length !== header.length) {
      throw new LabelError(`expected ${header.length} fields, found ${f.length}`, origin);
    }
    if (seen.has(f[0])) throw new LabelError(`duplicate id "${f[0]}"`, origin);
    seen.add(f[0]);
    const probs = new Float64Array(classes.length);
    for (let i = 0; i < classes.length; i++) {
      const v = Number(f[3 + i]);
      if (f[3 + i].trim() === "" || !Number.isFinite(v)) {
        throw new LabelError(`probability "${f[3 + i]}" is not a number`, {
          ...origin,
          field: header[3 + i],
        });
      }
      probs[i] = v;
    }
    const problem = probabilityProblem(probs);
    if (problem !== undefined) throw new LabelError(problem, origin);
    rows.push({
      id: f[0],
      label: normalizeLabel(f[1], { ...origin, field: "label" }),
      pred: normalizeLabel(f[2], { ...origin, field: "pred" }),
      probs,
    });
  }
  return { classes, rows };
}

/** Read and parse a predictions CSV file. */
export async function readPredictions(path: string): Promise<PredictionTable> {
  return parsePredictions(await Deno.readTextFile(path), path);
}

/** The probability columns to write for a model with the given classes. */
export function predictionClasses(modelClasses: readonly Emotion[]): Emotion[] {
  return modelClasses.includes("contempt") ? [...EMOTIONS] : [...BASIC7];
}

/** A predictions table and the name it goes by (a model's id, or a file's base name). */
export interface NamedTable {
  name: string;
  table: PredictionTable;
}

/** Several models' predictions joined on item id. */
export interface JoinedPredictions {
  ids: string[];
  names: string[];
  /** True class id per item (EMOTIONS index), from the first table. */
  labels: Int32Array;
  /** Predicted class id per model and item. */
  preds: Int32Array[];
  /** Probabilities per model over EMOTIONS (8 columns; 0 where a model lacks the class). */
  probs: Float64Array[];
  /** Ids some table lacks (unreadable for that model), left out. */
  dropped: number;
}

/** Options of joinPredictions. */
export interface JoinOptions {
  /**
   * Every table must hold the same ids [false: the ids every table has are kept and the others
   * counted in `dropped`]. When true, a difference is an Error that gives, for the first table
   * that differs, how many ids are only in the first table, only in that one, and in both.
   */
  sameItems?: boolean;
  /**
   * Do not require the tables to agree on each item's label [false: a disagreement is an Error];
   * `labels` are then the first table's.
   */
  ignoreLabels?: boolean;
}

/**
 * Join models' tables on item id, in the first table's order. Probabilities are put on the kit's
 * eight classes so that models with and without contempt can be averaged. Pure.
 */
export function joinPredictions(
  tables: readonly NamedTable[],
  opts: JoinOptions = {},
): JoinedPredictions {
  if (tables.length === 0) throw new Error("join: no prediction tables");
  const first = tables[0];
  const maps = tables.map((t) => new Map(t.table.rows.map((r) => [r.id, r])));
  const firstIds = first.table.rows.map((r) => r.id);
  if (opts.sameItems) {
    tables.forEach((t, m) => {
      let onlyHere = 0;
      for (const id of maps[m].keys()) if (!maps[0].has(id)) onlyHere++;
      const both = firstIds.filter((id) => maps[m].has(id)).length;
      const onlyFirst = firstIds.length - both;
      if (onlyHere > 0 || onlyFirst > 0) {
        throw new Error(
          `${first.name} and ${t.name} hold different items: ${onlyFirst} only in ${first.name}, ` +
            `${onlyHere} only in ${t.name}, ${both} in both`,
        );
      }
    });
  }
  const ids = firstIds.filter((id) => maps.every((m) => m.has(id)));
  const union = new Set(tables.flatMap((t) => t.table.rows.map((r) => r.id)));
  const k = EMOTIONS.length;
  const labels = new Int32Array(ids.length);
  const preds = tables.map(() => new Int32Array(ids.length));
  const probs = tables.map(() => new Float64Array(ids.length * k));
  ids.forEach((id, i) => {
    labels[i] = emotionIndex(maps[0].get(id)!.label);
    tables.forEach((t, m) => {
      const row = maps[m].get(id)!;
      if (!opts.ignoreLabels && emotionIndex(row.label) !== labels[i]) {
        throw new Error(
          `item "${id}" is ${EMOTIONS[labels[i]]} in ${first.name} but ${row.label} in ${t.name}`,
        );
      }
      preds[m][i] = emotionIndex(row.pred);
      t.table.classes.forEach((c, j) => (probs[m][i * k + emotionIndex(c)] = row.probs[j]));
    });
  });
  return {
    ids,
    names: tables.map((t) => t.name),
    labels,
    preds,
    probs,
    dropped: union.size - ids.length,
  };
}
