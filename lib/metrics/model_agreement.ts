/**
 * Agreement between models (and optionally the human labels) over the same items: the object
 * `deno task kit agreement --json` prints.
 */
import { joinPredictions, type NamedTable } from "../predictions.ts";
import { EMOTIONS } from "../taxonomy.ts";
import { cohenKappa, fleissKappa, ratersToItems } from "./agreement.ts";
import { krippendorffAlpha } from "./krippendorff.ts";

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
 * Fleiss' kappa, per-category kappas, Krippendorff's alpha and pairwise Cohen's kappas of
 * prediction tables joined on id (lib/predictions.ts joinPredictions; every table must hold the
 * same items). With `includeLabels`, the tables' `label` column is added as a rater named "label"
 * (the tables must then agree on every label). Categories are the classes any rater used.
 */
export function summarizeAgreement(
  tables: readonly NamedTable[],
  opts: { includeLabels?: boolean } = {},
): AgreementSummary {
  const includeLabels = opts.includeLabels ?? false;
  if (tables.length < (includeLabels ? 1 : 2)) {
    throw new Error("agreement: need at least two prediction files");
  }
  const joined = joinPredictions(tables, { sameItems: true, ignoreLabels: !includeLabels });
  if (joined.ids.length === 0) throw new Error(`agreement: ${tables[0].name} has no rows`);
  const raters = includeLabels ? [...joined.preds, joined.labels] : joined.preds;
  const names = includeLabels ? [...joined.names, "label"] : joined.names;
  const items = ratersToItems(raters);
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
  names.forEach((a, i) => {
    pairwise[a] = {};
    names.forEach((b, j) => {
      pairwise[a][b] = orNull(cohenKappa(raters[i], raters[j]));
    });
  });
  return {
    n_items: joined.ids.length,
    raters: names,
    fleiss_kappa: orNull(fleiss.kappa),
    fleiss_se: orNull(fleiss.se),
    fleiss_per_category: perCategory,
    krippendorff_alpha: orNull(krippendorffAlpha(items)),
    pairwise_cohen: pairwise,
  };
}
