/**
 * Agreement between models (and optionally the human labels) over the same items: the object
 * `deno task kit agreement --json` prints.
 */
import type { PredictionTable } from "../predictions.ts";
import { emotionIndex, EMOTIONS } from "../taxonomy.ts";
import { cohenKappa, fleissKappa, ratersToItems } from "./agreement.ts";
import { krippendorffAlpha } from "./krippendorff.ts";

/** A predictions table and the name it goes by (e.g. the file's base name). */
export interface NamedTable {
  name: string;
  table: PredictionTable;
}

/** Raters' labels joined on item id. */
export interface JoinedRaters {
  ids: string[];
  names: string[];
  /** One class-id array per rater, in `ids` order. */
  raters: Int32Array[];
}

/**
 * Join prediction tables on `id` (order of the first table). Every table must hold the same ids:
 * otherwise the Error gives, for the first table that differs, how many ids are only in the first,
 * only in that table, and in both. With `includeLabels`, the tables' `label` column is added as a
 * rater named "label" (the labels must agree across tables).
 */
export function joinOnId(tables: readonly NamedTable[], includeLabels = false): JoinedRaters {
  if (tables.length < 2 && !includeLabels) {
    throw new Error("agreement: need at least two prediction files");
  }
  if (tables.length === 0) throw new Error("agreement: no prediction files");
  const first = tables[0];
  const ids = first.table.rows.map((r) => r.id);
  if (ids.length === 0) throw new Error(`agreement: ${first.name} has no rows`);
  const firstIds = new Set(ids);
  const raters: Int32Array[] = [];
  const labels = new Int32Array(ids.length);
  first.table.rows.forEach((r, i) => (labels[i] = emotionIndex(r.label)));
  for (const t of tables) {
    const byId = new Map(t.table.rows.map((r) => [r.id, r]));
    let onlyHere = 0;
    for (const id of byId.keys()) if (!firstIds.has(id)) onlyHere++;
    let both = 0;
    for (const id of ids) if (byId.has(id)) both++;
    const onlyFirst = ids.length - both;
    if (onlyHere > 0 || onlyFirst > 0) {
      throw new Error(
        `agreement: ${first.name} and ${t.name} hold different items: ${onlyFirst} only in ${first.name}, ` +
          `${onlyHere} only in ${t.name}, ${both} in both`,
      );
    }
    const preds = new Int32Array(ids.length);
    ids.forEach((id, i) => {
      const row = byId.get(id)!;
      preds[i] = emotionIndex(row.pred);
      if (includeLabels && emotionIndex(row.label) !== labels[i]) {
        throw new Error(
          `agreement: item "${id}" has label ${
            EMOTIONS[labels[i]]
          } in ${first.name} but ${row.label} in ${t.name}`,
        );
      }
    });
    raters.push(preds);
  }
  const names = tables.map((t) => t.name);
  if (includeLabels) {
    names.push("label");
    raters.push(labels);
  }
  return { ids, names, raters };
}

/** Agreement summary over joined raters. Undefined values (a single category overall) are null. */
export interface AgreementSummary {
  n_items: number;
  raters: string[];
  fleiss_kappa: number | null;
  /** Standard error of Fleiss' kappa under no agreement (Fleiss, Nee & Landis 1979). */
  fleiss_se: number | null;
  /** Per-category Fleiss' kappa (category against the rest), for categories any rater used. */
  fleiss_per_category: Record<
    string,
    { kappa: number | null; se: number | null; proportion: number }
  >;
  /** Nominal Krippendorff's alpha. */
  krippendorff_alpha: number | null;
  /** Unweighted Cohen's kappa for every pair of raters. */
  pairwise_cohen: Record<string, Record<string, number | null>>;
}

function orNull(x: number): number | null {
  return Number.isNaN(x) ? null : x;
}

/**
 * Fleiss' kappa, per-category kappas, Krippendorff's alpha and pairwise Cohen's kappas of raters
 * joined on id (joinOnId). Categories are the classes any rater used.
 */
export function summarizeAgreement(
  tables: readonly NamedTable[],
  opts: { includeLabels?: boolean } = {},
): AgreementSummary {
  const joined = joinOnId(tables, opts.includeLabels ?? false);
  if (joined.raters.length < 2) throw new Error("agreement: need at least two raters");
  const items = ratersToItems(joined.raters);
  const fleiss = fleissKappa(items);
  const perCategory: AgreementSummary["fleiss_per_category"] = {};
  for (const c of fleiss.categories) {
    perCategory[EMOTIONS[c.category]] = {
      kappa: orNull(c.kappa),
      se: orNull(c.se),
      proportion: c.proportion,
    };
  }
  const pairwise: AgreementSummary["pairwise_cohen"] = {};
  joined.names.forEach((a, i) => {
    pairwise[a] = {};
    joined.names.forEach((b, j) => {
      pairwise[a][b] = orNull(cohenKappa(joined.raters[i], joined.raters[j]));
    });
  });
  return {
    n_items: joined.ids.length,
    raters: joined.names,
    fleiss_kappa: orNull(fleiss.kappa),
    fleiss_se: orNull(fleiss.se),
    fleiss_per_category: perCategory,
    krippendorff_alpha: orNull(krippendorffAlpha(items)),
    pairwise_cohen: pairwise,
  };
}
