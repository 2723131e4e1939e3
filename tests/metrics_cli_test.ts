/**
 * `kit metrics` and `kit agreement` on predictions CSVs this test writes (lib/predictions.ts
 * format), against scikit-learn / statsmodels values (tests/fixtures/metrics/summary.json).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { formatPredictions, type PredictionTable } from "../lib/predictions.ts";
import { BASIC7, EMOTIONS } from "../lib/taxonomy.ts";
import {
  type MetricsSummary,
  summarizeAgreement,
  summarizePredictions,
} from "../lib/metrics/mod.ts";
import { PROJECT_ROOT } from "../lib/config.ts";
import { assertAllClose, assertClose, loadFixture } from "./fixtures/metrics/fixtures.ts";
import { kitCommand } from "./support.ts";

interface MetricsCase {
  name: string;
  ids: string[];
  y_true: number[];
  y_pred: number[];
  probs: number[][];
  expected: {
    accuracy: number;
    balanced_accuracy: number;
    macro_f1: number;
    weighted_f1: number;
    cohen_kappa: number;
    ece: number;
    nll: number | null;
    brier: number;
    labels: number[];
    per_class: { precision: number[]; recall: number[]; f1: number[]; support: number[] };
    confusion: number[][];
  };
  ci: { resamples: number; seed: number; level: number; bounds: Record<string, number[]> };
}

interface AgreementExpected {
  categories: number[];
  fleiss_kappa: number;
  fleiss_se: number;
  category_kappa: number[];
  proportions: number[];
  krippendorff_alpha: number;
  pairwise_cohen: number[][];
}

interface Fixture {
  metrics: MetricsCase[];
  agreement: {
    models: number[][];
    expected: AgreementExpected;
    expected_with_labels: AgreementExpected;
  };
}

const fx = loadFixture<Fixture>("summary.json");

function tableOf(
  c: { ids: string[]; y_true: number[] },
  preds: number[],
  probs?: number[][],
): PredictionTable {
  return {
    classes: [...BASIC7],
    rows: c.ids.map((id, i) => ({
      id,
      label: EMOTIONS[c.y_true[i]],
      pred: EMOTIONS[preds[i]],
      probs: Float64Array.from(probs?.[i] ?? BASIC7.map(() => 1 / 7)),
    })),
  };
}

function checkSummary(s: MetricsSummary, c: MetricsCase): void {
  const e = c.expected;
  assertClose(s.accuracy, e.accuracy, `${c.name} accuracy`);
  assertClose(s.balanced_accuracy, e.balanced_accuracy, `${c.name} balanced accuracy`);
  assertClose(s.macro_f1, e.macro_f1, `${c.name} macro F1`);
  assertClose(s.weighted_f1, e.weighted_f1, `${c.name} weighted F1`);
  assertClose(s.cohen_kappa, e.cohen_kappa, `${c.name} kappa`);
  assertClose(s.ece, e.ece, `${c.name} ECE`);
  assertClose(s.nll, e.nll, `${c.name} NLL`);
  assertClose(s.brier, e.brier, `${c.name} Brier`);
  const names = e.labels.map((l) => EMOTIONS[l]);
  assert.deepEqual(s.confusion.labels, names);
  assert.deepEqual(s.confusion.matrix, e.confusion);
  assert.deepEqual(Object.keys(s.per_class), names);
  names.forEach((n, i) => {
    assertClose(s.per_class[n].precision, e.per_class.precision[i], `${c.name} ${n} precision`);
    assertClose(s.per_class[n].recall, e.per_class.recall[i], `${c.name} ${n} recall`);
    assertClose(s.per_class[n].f1, e.per_class.f1[i], `${c.name} ${n} F1`);
    assert.equal(s.per_class[n].support, e.per_class.support[i]);
  });
}

const CI_KEYS: Record<string, string> = {
  accuracy: "accuracy",
  balancedAccuracy: "balanced_accuracy",
  macroF1: "macro_f1",
  weightedF1: "weighted_f1",
  cohenKappa: "cohen_kappa",
  ece: "ece",
};

/**
 * The intervals are near the Python item-resampling bounds (scikit-learn per resample). The kit
 * draws cell counts, not items (equal in distribution: tests/metrics_bootstrap_test.ts), so the
 * bounds differ by Monte Carlo error, a sizeable share of the width at 100-200 resamples.
 */
function checkCi(s: MetricsSummary, c: MetricsCase): void {
  assert.ok(s.ci !== undefined, "ci present");
  for (const [k, bounds] of Object.entries(c.ci.bounds)) {
    const got: (number | null)[] = s.ci[CI_KEYS[k]];
    const tol = 0.4 * (bounds[1] - bounds[0]);
    assert.ok(got[0] !== null && got[1] !== null, `${c.name} ci ${k} defined`);
    assertAllClose(got, bounds, `${c.name} ci ${k}`, tol);
  }
}

async function kit(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await kitCommand(args, { cwd: PROJECT_ROOT }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("summarizePredictions equals scikit-learn, with bootstrap intervals", () => {
  for (const c of fx.metrics) {
    const table = tableOf(c, c.y_pred, c.probs);
    checkSummary(summarizePredictions(table), c);
    const s = summarizePredictions(table, { ci: c.ci.resamples, seed: c.ci.seed });
    checkCi(s, c);
    assert.deepEqual(s.bootstrap, {
      resamples: c.ci.resamples,
      seed: c.ci.seed,
      level: 0.95,
      bins: 15,
    });
  }
  // a 7-class model on data with contempt: NLL undefined, contempt still in the confusion matrix
  const contempt = summarizePredictions(
    tableOf(fx.metrics[1], fx.metrics[1].y_pred, fx.metrics[1].probs),
  );
  assert.equal(contempt.nll, null);
  assert.ok(contempt.confusion.labels.includes("contempt"));
});

Deno.test("kit metrics --json --ci prints the summary of a predictions CSV", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-kit-metrics-" });
  try {
    const c = fx.metrics[0];
    const file = join(dir, "preds.csv");
    await Deno.writeTextFile(file, formatPredictions(tableOf(c, c.y_pred, c.probs)));
    const r = await kit([
      "metrics",
      file,
      "--json",
      "--ci",
      String(c.ci.resamples),
      "--seed",
      String(c.ci.seed),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as MetricsSummary;
    for (
      const key of [
        "accuracy",
        "balanced_accuracy",
        "macro_f1",
        "weighted_f1",
        "cohen_kappa",
        "ece",
        "per_class",
        "confusion",
        "ci",
      ]
    ) assert.ok(key in s, `key ${key}`);
    checkSummary(s, c);
    checkCi(s, c);
    const text = await kit(["metrics", file]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`accuracy\\s+${c.expected.accuracy.toFixed(4)}`));
    assert.match(text.stdout, /confusion \(rows = true, columns = predicted\)/);
    // bad input: a probability that is not a number, named by file and line
    const bad = join(dir, "bad.csv");
    const lines = (await Deno.readTextFile(file)).split("\n");
    lines[3] = lines[3].replace(/,[^,]*$/, ",oops");
    await Deno.writeTextFile(bad, lines.join("\n"));
    const e = await kit(["metrics", bad]);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /bad\.csv:4 \(field p_neutral\): probability "oops" is not a number/);
    const usage = await kit(["metrics", file, "--ci", "many"]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--ci must be an integer/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function checkAgreement(
  s: ReturnType<typeof summarizeAgreement>,
  e: AgreementExpected,
  names: string[],
): void {
  assertClose(s.fleiss_kappa, e.fleiss_kappa, "Fleiss");
  assertClose(s.fleiss_se, e.fleiss_se, "Fleiss se");
  assertClose(s.krippendorff_alpha, e.krippendorff_alpha, "Krippendorff");
  const cats = e.categories.map((c) => EMOTIONS[c]);
  assert.deepEqual(Object.keys(s.fleiss_per_category), cats);
  cats.forEach((c, j) => {
    assertClose(s.fleiss_per_category[c].kappa, e.category_kappa[j], `Fleiss ${c}`);
    assertClose(s.fleiss_per_category[c].proportion, e.proportions[j], `share ${c}`);
  });
  names.forEach((a, i) =>
    names.forEach((b, j) =>
      assertClose(s.pairwise_cohen[a][b], e.pairwise_cohen[i][j], `${a}/${b}`)
    )
  );
}

Deno.test("kit agreement joins files on id and equals statsmodels / scikit-learn", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-kit-agreement-" });
  try {
    const base = fx.metrics[0];
    const names = ["model_a", "model_b", "model_c"];
    const files: string[] = [];
    for (const [m, preds] of fx.agreement.models.entries()) {
      const t = tableOf(base, preds);
      if (m > 0) t.rows.reverse(); // another row order: the join is on id
      const f = join(dir, `${names[m]}.csv`);
      await Deno.writeTextFile(f, formatPredictions(t));
      files.push(f);
    }
    const r = await kit(["agreement", ...files, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as ReturnType<typeof summarizeAgreement>;
    assert.equal(s.n_items, base.ids.length);
    assert.deepEqual(s.raters, names);
    checkAgreement(s, fx.agreement.expected, names);
    const l = await kit(["agreement", ...files, "--json", "--with-labels"]);
    assert.equal(l.code, 0, l.stderr);
    checkAgreement(JSON.parse(l.stdout), fx.agreement.expected_with_labels, [...names, "label"]);
    const text = await kit(["agreement", ...files]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(`Fleiss' kappa\\s+${fx.agreement.expected.fleiss_kappa.toFixed(4)}`),
    );
    // differing id sets: an error with the counts
    const t = tableOf(base, fx.agreement.models[1]);
    t.rows = t.rows.slice(3);
    t.rows.push({ ...t.rows[0], id: "extra.png" });
    const other = join(dir, "other.csv");
    await Deno.writeTextFile(other, formatPredictions(t));
    const e = await kit(["agreement", files[0], other]);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /3 only in model_a, 1 only in other, 247 in both/);
    const usage = await kit(["agreement", files[0]]);
    assert.equal(usage.code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
