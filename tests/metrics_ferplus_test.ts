/**
 * Agreement of the FER+ crowd (10 votes per image) on the real FER2013Test split, when FER_DATA
 * points at the data (skipped otherwise). Expected values were computed once with statsmodels 0.13
 * (`fleiss_kappa` on the votes with unknown + not-a-face merged into one "other" column) and with
 * the numpy formulas of tests/fixtures/metrics/generate.py (fleiss_parts for variable numbers of
 * ratings, and a coincidence-matrix Krippendorff's alpha) on the same label.csv.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseCsv } from "../lib/csv.ts";
import { fleissKappaFromCounts, krippendorffAlphaFromCounts } from "../lib/metrics/mod.ts";
import { assertClose } from "./fixtures/metrics/fixtures.ts";

const dataRoot = Deno.env.get("FER_DATA");
const file = dataRoot ? join(dataRoot, "ferplus", "FER2013Test", "label.csv") : "";
let present = false;
try {
  present = file !== "" && Deno.statSync(file).isFile;
} catch {
  present = false;
}

Deno.test({
  name: "FER+ test split: crowd agreement (Fleiss, Krippendorff) equals statsmodels / numpy",
  ignore: !present,
  fn: () => {
    const records = parseCsv(Deno.readTextFileSync(file), file);
    assert.equal(records.length, 3573);
    // label.csv: name, "(x, y, w, h)", then votes in FERPLUS_VOTE_COLUMNS order (8 emotions, unknown, NF)
    const votes = records.map((r) => r.fields.slice(2).map(Number));
    const emotions = votes.map((v) => v.slice(0, 8));
    const withOther = votes.map((v) => [...v.slice(0, 8), v[8] + v[9]]);
    const equal = fleissKappaFromCounts(withOther);
    assert.equal(equal.raters, 10);
    assertClose(equal.kappa, 0.5121465241580746, "Fleiss, 9 columns (statsmodels)");
    assertClose(equal.se, 0.0011460138437390714, "Fleiss se");
    // Without the "other" votes the rating counts differ between images.
    assert.throws(() => fleissKappaFromCounts(emotions), /different numbers of ratings/);
    const variable = fleissKappaFromCounts(emotions, { raters: "variable" });
    assertClose(variable.kappa, 0.5673823213212243, "Fleiss, variable raters");
    assertClose(krippendorffAlphaFromCounts(emotions), 0.5783180207697827, "Krippendorff");
  },
});
