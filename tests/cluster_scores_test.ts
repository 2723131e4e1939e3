/**
 * Clustered intervals where the studies show scores (issue 11: CK+ by subject, ExpW by source
 * photograph): the one-pass classification bootstrap with `clusters` against the generic cluster
 * bootstrap of the same statistic (same stream, so the same resamples and equal values), the
 * scored cells and gaps of lib/studies, and the cross-dataset drops (never between the same
 * faces relabelled, flagged baselines not counted).
 */
import assert from "node:assert/strict";
import {
  accuracyIntervalFromCounts,
  accuracyStatistic,
  classificationResamples,
  clusterBootstrapInterval,
  clusterBootstrapValues,
  clusterStrata,
  macroF1Statistic,
  summarizePredictions,
} from "../lib/metrics/mod.ts";
import type { Prediction, PredictionTable } from "../lib/predictions.ts";
import { BASIC7, type Emotion, emotionIndex } from "../lib/taxonomy.ts";
import {
  accuracyMacroGap,
  crossDatasetDrops,
  type DropCell,
  probeColumnGaps,
  probeIntervals,
  type ProbeStudy,
  restrictToModel,
  sameFaces,
  scoreTable,
  type StudyGrid,
} from "../lib/studies/mod.ts";
import { clusteredDifference } from "../lib/studies/clusters.ts";
import type { CrossResult } from "../lib/probe/cross.ts";

function row(id: string, label: Emotion, pred: Emotion): Prediction {
  const probs = new Float64Array(BASIC7.length);
  probs[BASIC7.indexOf(pred)] = 0.9;
  probs[(BASIC7.indexOf(pred) + 1) % BASIC7.length] = 0.1;
  return { id, label, pred, probs };
}

// Twelve faces of four subjects: subject s0 all right, s1 all wrong, s2 and s3 mixed.
const LABELS: Emotion[] = [
  "happy",
  "happy",
  "sad",
  "angry",
  "fear",
  "sad",
  "surprise",
  "happy",
  "neutral",
  "disgust",
  "sad",
  "happy",
];
const PREDS: Emotion[] = [
  "happy",
  "happy",
  "sad",
  "sad",
  "surprise",
  "neutral",
  "surprise",
  "sad",
  "neutral",
  "angry",
  "sad",
  "happy",
];
const SUBJECT = ["s0", "s0", "s0", "s1", "s1", "s1", "s2", "s2", "s2", "s3", "s3", "s3"];
const TABLE: PredictionTable = {
  classes: [...BASIC7],
  rows: LABELS.map((l, i) => row(`f${i}`, l, PREDS[i])),
};
const yTrue = Int32Array.from(LABELS, emotionIndex);
const yPred = Int32Array.from(PREDS, emotionIndex);

Deno.test("clusterStrata: per-key counts of the drawn clusters' items, by hand", () => {
  // Keys 0..2; clusters a = items 0, 1 (keys 0, 1), b = item 2 (key 2). ResampleStream(2, 7)
  // draws [0, 1] then [1, 1] (clusterBootstrapValues shows the same draws), so the counts are
  // [1, 1, 1] then [0, 0, 2]; the sums add the items' values.
  const seen: number[][] = [];
  const sums: number[][] = [];
  clusterStrata([0, 1, 2], 3, ["a", "a", "b"], { resamples: 2, seed: 7, values: [0.5, 0.25, 2] }, (
    c,
    s,
  ) => {
    seen.push(Array.from(c));
    sums.push(Array.from(s));
  });
  const draws: number[][] = [];
  clusterBootstrapValues(["a", "a", "b"], (idx) => {
    draws.push(Array.from(idx));
    return 0;
  }, { resamples: 2, seed: 7 });
  const expected = draws.map((d) => [0, 1, 2].map((k) => d.filter((i) => i === k).length));
  assert.deepEqual(seen, expected);
  assert.deepEqual(
    sums,
    draws.map((d) => [0, 1, 2].map((k) => d.filter((i) => i === k).length * [0.5, 0.25, 2][k])),
  );
  assert.throws(
    () => clusterStrata([0, 1], 2, ["a"], { resamples: 1, seed: 0 }, () => {}),
    /2 items/,
  );
});

Deno.test("clustered classification bootstrap equals the cluster bootstrap of each statistic", () => {
  const labels = Int32Array.from(BASIC7, emotionIndex);
  const r = classificationResamples(yTrue, yPred, {
    resamples: 300,
    seed: 5,
    labels,
    clusters: SUBJECT,
  });
  const acc = clusterBootstrapValues(SUBJECT, accuracyStatistic(yTrue, yPred), {
    resamples: 300,
    seed: 5,
  });
  const f1 = clusterBootstrapValues(SUBJECT, macroF1Statistic(yTrue, yPred, BASIC7), {
    resamples: 300,
    seed: 5,
  });
  for (let b = 0; b < 300; b++) {
    assert.ok(Math.abs(r.values.accuracy[b] - acc[b]) < 1e-12, `accuracy, resample ${b}`);
    assert.ok(Math.abs(r.values.macroF1[b] - f1[b]) < 1e-12, `macro-F1, resample ${b}`);
  }
  // Whole subjects: a resample's accuracy is a mean of subject accuracies (1, 0, 2/3, 2/3) each
  // weighted by its 3 faces, so it takes only multiples of 1/12 made of those.
  const possible = new Set<number>();
  for (const a of [3, 0, 2, 2]) {
    for (const b of [3, 0, 2, 2]) {
      for (const c of [3, 0, 2, 2]) for (const d of [3, 0, 2, 2]) possible.add(a + b + c + d);
    }
  }
  for (const v of r.values.accuracy) assert.ok(possible.has(Math.round(v * 12)), String(v));
});

Deno.test("summary and scoreTable: clustered intervals, and how many clusters", () => {
  const s = summarizePredictions(TABLE, { ci: 400, seed: 0, labels: BASIC7, clusters: SUBJECT });
  assert.equal(s.bootstrap?.clusters, 4);
  const direct = clusterBootstrapInterval(SUBJECT, accuracyStatistic(yTrue, yPred), {
    resamples: 400,
    seed: 0,
  });
  assert.deepEqual(s.ci?.accuracy, [direct.lower, direct.upper]);
  const bySubject = new Map(TABLE.rows.map((r, i) => [r.id, SUBJECT[i]]));
  const cell = scoreTable(TABLE, {
    model: "m",
    dataset: "ckplus",
    modelClasses: BASIC7,
    datasetClasses: BASIC7,
    resamples: 400,
    seed: 0,
    clusters: { keys: (ids) => ids.map((id) => bySubject.get(id)!), unit: "subject" },
  });
  assert.deepEqual([cell.accuracy.lower, cell.accuracy.upper], [direct.lower, direct.upper]);
  assert.deepEqual(cell.clusters, SUBJECT);
  assert.equal(cell.unit, "subject");
  // Without clusters: one image a cluster, unit "image".
  const plain = scoreTable(TABLE, { model: "m", dataset: "fer2013", resamples: 50 });
  assert.deepEqual(plain.clusters, TABLE.rows.map((r) => r.id));
  assert.equal(plain.unit, "image");
  // The gap of accuracy and macro-F1 resamples the same clusters.
  const gap = accuracyMacroGap(cell.scored, { clusters: cell.clusters, resamples: 400, seed: 0 });
  const acc = accuracyStatistic(yTrue, yPred);
  const f1 = macroF1Statistic(yTrue, yPred, cell.scored.classes);
  const want = clusterBootstrapInterval(SUBJECT, (idx) => acc(idx) - f1(idx), {
    resamples: 400,
    seed: 0,
  });
  assert.deepEqual([gap.estimate, gap.lower, gap.upper], [want.estimate, want.lower, want.upper]);
});

Deno.test("cross-dataset drops: other faces only, clustered, flagged baselines not counted", () => {
  const card = (id: string, dataset: string) => ({
    card: { id, training: { dataset, split: "train" } },
  });
  const grid = {
    models: [card("clean", "fer2013"), card("seen", "fer2013"), card("ck", "ckplus")],
  } as unknown as StudyGrid;
  const own = restrictToModel(TABLE, BASIC7, BASIC7);
  const half = restrictToModel({ ...TABLE, rows: TABLE.rows.slice(0, 6) }, BASIC7, BASIC7);
  const cells: DropCell[] = [];
  for (const model of ["clean", "seen", "ck"]) {
    cells.push({
      model,
      dataset: "fer2013",
      scored: own,
      clusters: own.table.rows.map((r) => r.id),
    });
    cells.push({
      model,
      dataset: "ferplus",
      scored: own,
      clusters: own.table.rows.map((r) => r.id),
    });
    cells.push({ model, dataset: "ckplus", scored: half, clusters: SUBJECT.slice(0, 6) });
  }
  const study = crossDatasetDrops(grid, cells, { flagged: new Set(["seen"]) });
  // FER+ holds FER2013's faces: never the other test set of a FER2013 model.
  assert.ok(sameFaces("ferplus", "fer2013") && !sameFaces("ckplus", "fer2013"));
  assert.deepEqual(
    study.drops.map((d) => `${d.model}:${d.home}-${d.other}:${d.flagged}`),
    ["clean:fer2013-ckplus:false", "seen:fer2013-ckplus:true", "ck:ckplus-fer2013:false"],
  );
  assert.deepEqual(study.flagged, ["seen"]);
  assert.deepEqual(study.findings.map((f) => f.id), [
    "cross.drop.clean.fer2013-ckplus",
    "cross.drop.ck.ckplus-fer2013",
  ]);
  // Accuracy 7/12 on FER2013, 3/6 on the CK+ part (subjects s0 and s1): drop 1/12, each test
  // set resampled by its own clusters; the CK+ model's drop to FER2013 is −1/12.
  const d = study.drops[0];
  assert.ok(Math.abs(d.accuracy.estimate - (7 / 12 - 3 / 6)) < 1e-12);
  const ckTrue = yTrue.slice(0, 6), ckPred = yPred.slice(0, 6);
  const want = clusteredDifference(
    own.table.rows.map((r) => r.id),
    accuracyStatistic(yTrue, yPred),
    SUBJECT.slice(0, 6),
    accuracyStatistic(ckTrue, ckPred),
  );
  assert.deepEqual([d.accuracy.lower, d.accuracy.upper], [want.lower, want.upper]);
  assert.ok(Math.abs(study.drops[2].accuracy.estimate + 1 / 12) < 1e-12);
  assert.equal(study.largest?.model, "clean");
});

Deno.test("probe transfer is read down a column: own-dataset probe minus another's", () => {
  // Cells (train → test, accuracy, interval): each test set's own probe and the others'.
  const parts = ["fer2013", "ferplus", "ckplus", "expw"];
  const acc = (train: string, test: string) =>
    train === test ? 0.7 : sameFaces(train, test) ? 0.65 : 0.4 + 0.01 * parts.indexOf(train);
  const cells = parts.flatMap((train) =>
    parts.map((test) => ({
      train: `${train}:train`,
      test: `${test}:test`,
      accuracy: acc(train, test),
    }))
  );
  const p = {
    backbone: "b",
    result: { cells },
    intervals: cells.map((c) => ({
      train: c.train,
      test: c.test,
      accuracy: { estimate: c.accuracy, lower: c.accuracy - 0.05, upper: c.accuracy + 0.05 },
      drop: null,
    })),
  } as unknown as ProbeStudy;
  const gaps = probeColumnGaps(p);
  // FER+ is neither a column nor a row of its own (FER2013's faces); no same-faces pair.
  assert.deepEqual(gaps.map((g) => `${g.test}-vs-${g.train}`), [
    "fer2013-vs-ckplus",
    "fer2013-vs-expw",
    "ckplus-vs-fer2013",
    "ckplus-vs-expw",
    "expw-vs-fer2013",
    "expw-vs-ckplus",
  ]);
  // ckplus column: own 0.7, FER2013-trained 0.40 → gap 0.30, interval [0.20, 0.40].
  const g = gaps[2];
  assert.ok(Math.abs(g.gap.estimate - 0.3) < 1e-12);
  assert.ok(Math.abs(g.gap.lower - 0.2) < 1e-12 && Math.abs(g.gap.upper - 0.4) < 1e-12);
});

Deno.test("probe cells with per-image outcomes: clustered intervals and a paired column gap", () => {
  // ckplus test: 6 faces of subjects s0 (3) and s1 (3). Own probe right on 0,1,2,3; the FER2013
  // probe right on 0,1 only. fer2013 test: 4 faces, no clusters (counts fallback).
  const cells = [
    { train: "ckplus:train", test: "ckplus:test", accuracy: 4 / 6, n_test: 6, correct: "111100" },
    { train: "fer2013:train", test: "ckplus:test", accuracy: 2 / 6, n_test: 6, correct: "110000" },
    { train: "fer2013:train", test: "fer2013:test", accuracy: 3 / 4, n_test: 4 },
    { train: "ckplus:train", test: "fer2013:test", accuracy: 1 / 4, n_test: 4 },
  ];
  const r = {
    cells,
    test_ids: { "ckplus:test": ["a", "b", "c", "d", "e", "f"] },
  } as unknown as CrossResult;
  const keys = ["s0", "s0", "s0", "s1", "s1", "s1"];
  const iv = probeIntervals(r, { clusters: { "ckplus:test": keys } });
  const own = [1, 1, 1, 1, 0, 0];
  const mean = (x: number[]) => (idx: Int32Array) => idx.reduce((s, i) => s + x[i], 0) / idx.length;
  const want = clusterBootstrapInterval(keys, mean(own), { resamples: 1000, seed: 0 });
  assert.deepEqual(
    [iv[0].accuracy.lower, iv[0].accuracy.upper],
    [want.lower, want.upper],
  );
  // Without per-image outcomes: the image bootstrap from the counts, as before.
  const counts = accuracyIntervalFromCounts(3, 4);
  assert.deepEqual([iv[2].accuracy.lower, iv[2].accuracy.upper], [counts.lower, counts.upper]);
  // The column gap on ckplus pairs the two probes on the same subjects' faces.
  const p = {
    backbone: "b",
    result: r,
    intervals: iv,
    clusters: { "ckplus:test": keys },
  } as unknown as ProbeStudy;
  const gaps = probeColumnGaps(p);
  const ck = gaps.find((g) => g.test === "ckplus" && g.train === "fer2013")!;
  assert.equal(ck.method, "paired cluster bootstrap");
  const diff = [0, 0, 1, 1, 0, 0];
  const pw = clusterBootstrapInterval(keys, mean(diff), { resamples: 1000, seed: 0 });
  assert.ok(Math.abs(ck.gap.estimate - 2 / 6) < 1e-12);
  assert.deepEqual([ck.gap.lower, ck.gap.upper], [pw.lower, pw.upper]);
  const fer = gaps.find((g) => g.test === "fer2013" && g.train === "ckplus")!;
  assert.equal(fer.method, "conservative");
});
