/**
 * lib/matrix.ts on tables built here: the scoring rule, accuracy on shared classes (argmax over
 * the shared classes only), clustered vs item intervals, the in-domain comparison, the markdown.
 */
import assert from "node:assert/strict";
import {
  inDomainComparison,
  matrixArch,
  type MatrixCell,
  matrixMarkdown,
  scoreMatrixCell,
  sharedAccuracyStatistic,
} from "../lib/matrix.ts";
import { clusterBootstrapInterval } from "../lib/metrics/cluster_bootstrap.ts";
import type { PredictionTable } from "../lib/predictions.ts";
import { BASIC7, type Emotion, EMOTIONS } from "../lib/taxonomy.ts";

/** A table over the 8 classes: [label, probabilities as {class: p}]. */
function table(rows: [Emotion, Partial<Record<Emotion, number>>][]): PredictionTable {
  const classes = [...EMOTIONS];
  return {
    classes,
    rows: rows.map(([label, p], i) => {
      const probs = Float64Array.from(classes, (c) => p[c] ?? 0);
      let best = 0;
      for (let j = 1; j < probs.length; j++) if (probs[j] > probs[best]) best = j;
      return { id: `x${i}`, label, pred: classes[best], probs };
    }),
  };
}

// An 8-class (FER+-trained) model on a 7-class test set without neutral (CK+-like).
const T = table([
  ["happy", { happy: 0.9, neutral: 0.1 }], // right
  ["happy", { neutral: 0.6, happy: 0.4 }], // wrong; right when restricted to shared classes
  ["sad", { sad: 0.5, angry: 0.5 - 1e-9 }], // right
  ["contempt", { contempt: 0.7, happy: 0.3 }], // right
  ["angry", { neutral: 0.5, sad: 0.3, angry: 0.2 }], // wrong; still wrong when restricted
]);
const CK: Emotion[] = ["angry", "disgust", "fear", "happy", "sad", "surprise", "contempt"];

Deno.test("matrix: accuracy, macro-F1 and shared-class accuracy by hand", () => {
  const c = scoreMatrixCell(
    { model: "m", arch: "a", train: "ferplus", test: "ckplus" },
    T,
    [...EMOTIONS],
    CK,
    undefined,
    { resamples: 200 },
  );
  assert.equal(c.n, 5);
  assert.equal(c.accuracy, 3 / 5);
  // Shared classes = CK's 7 (the model has all 8); the neutral choices fall back.
  assert.deepEqual(c.shared.classes, EMOTIONS.filter((e) => CK.includes(e)));
  assert.equal(c.shared.n, 5);
  assert.equal(c.shared.accuracy, 4 / 5);
  // Macro-F1 over CK's classes: happy P 1/1 R 1/2 F1 2/3; sad P 1 R 1 F1 1;
  // contempt 1; angry 0 (neutral predictions are errors); disgust, fear, surprise: no support, no prediction → F1 0 (zero
  // division), but scikit-learn's labels= keeps them: mean over the 7 labels.
  assert.ok(Math.abs(c.macro_f1 - (2 / 3 + 1 + 1 + 0) / 7) < 1e-12, String(c.macro_f1));
  assert.equal(c.ci.method, "item");
  assert.ok(c.ci.accuracy[0] <= c.accuracy && c.accuracy <= c.ci.accuracy[1]);
  assert.equal(c.in_domain, false);
});

Deno.test("matrix: a 7-class model leaves contempt items out; shared classes exclude neutral", () => {
  const c = scoreMatrixCell(
    { model: "m", arch: "a", train: "fer2013", test: "ckplus" },
    T,
    [...BASIC7],
    CK,
    undefined,
    { resamples: 50 },
  );
  assert.equal(c.n, 4);
  assert.equal(c.accuracy, 2 / 4);
  assert.deepEqual(c.shared.classes, ["angry", "disgust", "fear", "happy", "sad", "surprise"]);
  assert.equal(c.shared.n, 4);
  assert.equal(c.shared.accuracy, 3 / 4);
  const s = sharedAccuracyStatistic(T, ["happy", "sad"]);
  assert.equal(s.n, 3);
  assert.deepEqual(s.rows, [0, 1, 2]);
});

Deno.test("matrix: clustered intervals resample whole clusters", () => {
  const groups = ["s1", "s1", "s2", "s3", "s3"];
  const c = scoreMatrixCell(
    { model: "m", arch: "a", train: "ckplus", test: "ckplus" },
    T,
    [...EMOTIONS],
    CK,
    groups,
    { resamples: 300, seed: 7 },
  );
  assert.equal(c.ci.method, "cluster");
  assert.equal(c.ci.clusters, 3);
  const hits = [1, 0, 1, 1, 0];
  const ref = clusterBootstrapInterval(groups, (idx) => {
    let s = 0;
    for (const i of idx) s += hits[i];
    return s / idx.length;
  }, { resamples: 300, seed: 7 });
  assert.deepEqual(c.ci.accuracy, [ref.lower, ref.upper]);
  assert.equal(c.in_domain, true);
});

Deno.test("matrix: in-domain comparison per column, arch from id, markdown", () => {
  const cell = (train: string, test: string, accuracy: number): MatrixCell => ({
    model: `matrix-${train}-cnn`,
    arch: "cnn",
    train,
    test,
    in_domain: train === test,
    n: 10,
    accuracy,
    macro_f1: accuracy / 2,
    shared: { classes: [], n: 10, accuracy },
    ci: { accuracy: [0, 1], macro_f1: [0, 1], shared_accuracy: [0, 1], method: "item" },
  });
  const cells = [
    cell("a", "a", 0.8),
    cell("b", "a", 0.5),
    cell("c", "a", 0.9),
    cell("b", "b", 0.4),
    cell("a", "b", 0.3),
  ];
  assert.deepEqual(inDomainComparison(cells), [
    { test: "a", below: 1, of: 2 },
    { test: "b", below: 1, of: 1 },
  ]);
  assert.equal(matrixArch("matrix-ferplus-simplecnn", "ferplus"), "simplecnn");
  const md = matrixMarkdown({
    archs: [{
      arch: "cnn",
      train: ["a", "b"],
      test: ["a", "b"],
      cells,
      inDomain: inDomainComparison(cells),
    }],
    networks: [
      { model: "matrix-a-cnn", arch: "cnn", train: "a", epochs: 3, budget: "cpu", device: "cpu" },
    ],
    bootstrap: { resamples: 1, seed: 0, level: 0.95 },
    missingModels: [],
    missingDatasets: [],
    failed: [],
  });
  assert.match(md, /\| a \| \*\*80\.0 \[0\.0, 100\.0\]\*\* \| 30\.0 \[0\.0, 100\.0\] \|/);
  assert.match(md, /In 2 of 3 cross-domain cells the accuracy is below/);
  assert.match(md, /Training: a 3 epochs \(CPU budget\)\./);
});
