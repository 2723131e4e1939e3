/**
 * lib/studies/pitfalls: the pitfalls notebook's study functions, on data built here with
 * expected values worked out by hand in the comments (a flip count through the real pipeline and
 * a tiny ONNX model, a duplicate pair found and a near miss not, label-rule changes on a built
 * vote table, test sizes from the textbook formulas).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { detectorsDir } from "../lib/detect/mod.ts";
import sharp from "sharp";
import { datasetHash } from "../lib/datasets/hash.ts";
import type { LoadedDataset } from "../lib/datasets/types.ts";
import type { ModelCard } from "../lib/models/card.ts";
import { modelFromBytes } from "../lib/models/registry.ts";
import { buildModel, floatTensor, node } from "../lib/onnx/mod.ts";
import type { Prediction, PredictionTable } from "../lib/predictions.ts";
import type { Sample, Split } from "../lib/sample.ts";
import { BASIC7, type Emotion } from "../lib/taxonomy.ts";
import {
  calibration,
  calibrationFindings,
  calibrationSection,
  compareRuns,
  conditionSamples,
  constantPredictions,
  contaminationSectionFindings,
  croppingFindings,
  croppingStudy,
  differenceHash,
  duplicatesFindings,
  duplicateSummary,
  findDuplicates,
  groupLeak,
  hammingDistance,
  type HashedImage,
  imagesForDifference,
  LABEL_RULES,
  labelChanges,
  labelRulesFindings,
  leakShare,
  majorityClass,
  metricChoiceFindings,
  metricPanel,
  nearPairs,
  normalQuantile,
  pairedImagesForDifference,
  photoLeakFindings,
  PITFALLS_GROUP,
  PREPROCESSING_VARIANTS,
  preprocessingFindings,
  preprocessingStudy,
  scaleBox,
  scoreUnderRules,
  seededSubset,
  singleFaceSamples,
  smallTestFindings,
  thresholdSweep,
  variantSkipReason,
  type VotedImage,
} from "../lib/studies/pitfalls/mod.ts";
import type { BootstrapInterval } from "../lib/metrics/mod.ts";
import { preprocess } from "../lib/preprocess.ts";
import { ppIntervalText } from "../lib/present/format.ts";
import { tensorToImage } from "../lib/present/pitfalls.ts";
import { grayInput, pathExists, withTempDir } from "./support.ts";

function row(id: string, label: Emotion, pred: Emotion, top = 1): Prediction {
  const probs = new Float64Array(7);
  probs[BASIC7.indexOf(pred)] = top;
  return { id, label, pred, probs };
}

/** Four predictions with top-class probabilities 0.9 (right), 0.4 (wrong), 0.6, 0.3 (right). */
const CONFIDENCE_TABLE: PredictionTable = {
  classes: [...BASIC7],
  rows: [
    row("a", "happy", "happy", 0.9),
    row("b", "happy", "sad", 0.4),
    row("c", "sad", "sad", 0.6),
    row("d", "happy", "happy", 0.3),
  ],
};

/** 6 happy, 2 sad: 5 of 6 happy right (1 → sad), 1 of 2 sad right (1 → happy). */
const HAPPY_SAD_TABLE: PredictionTable = {
  classes: [...BASIC7],
  rows: [
    ...Array.from({ length: 5 }, (_, i) => row(`h${i}`, "happy", "happy")),
    row("h5", "happy", "sad"),
    row("s0", "sad", "sad"),
    row("s1", "sad", "happy"),
  ],
};

Deno.test("compareRuns: flips, accuracy and macro-F1 change on built tables", () => {
  // Four images: ref gets a, b right; alt gets a, c right. Flips: b (happy→sad), c (sad→happy)
  // = 2 of 4; accuracy 2/4 → 2/4, change 0.
  const ref: PredictionTable = {
    classes: [...BASIC7],
    rows: [
      row("a", "happy", "happy"),
      row("b", "sad", "sad"),
      row("c", "happy", "sad"),
      row("d", "sad", "happy"),
    ],
  };
  const alt: PredictionTable = {
    classes: [...BASIC7],
    rows: [
      row("a", "happy", "happy"),
      row("b", "sad", "happy"),
      row("c", "happy", "happy"),
      row("d", "sad", "happy"),
      row("e", "sad", "sad"),
    ],
  };
  const c = compareRuns(ref, alt, ["happy", "sad"]);
  assert.equal(c.n, 4); // e is only in alt
  assert.equal(c.flips, 2);
  assert.deepEqual(c.flipped, ["b", "c"]);
  assert.equal(c.flipShare.estimate, 0.5);
  assert.equal(c.accuracyRef, 0.5);
  assert.equal(c.accuracyAlt, 0.5);
  assert.equal(c.accuracyChange.estimate, 0);
  // ref: happy TP 1 FP 1 FN 1 → F1 1/2, sad likewise → 1/2; alt: happy TP 2 FP 2 FN 0 →
  // P 1/2, R 1, F1 2/3; sad TP 0 → 0; macro 1/3. Change 1/3 − 1/2 = −1/6.
  assert.ok(Math.abs(c.macroF1Change.estimate - (-1 / 6)) < 1e-12);
  assert.ok(c.flipShare.lower <= 0.5 && c.flipShare.upper >= 0.5);
});

/** A dataset of built samples in `dir` with the classes happy and neutral. */
async function builtDataset(dir: string, samples: Sample[]): Promise<LoadedDataset> {
  return {
    name: "built",
    format: "folder",
    root: dir,
    samples,
    excluded: {},
    unreadable: [],
    classes: ["happy", "neutral"],
    hash: await datasetHash(samples),
  };
}

/**
 * A 1×1 gray model with logits [x − 0.5, 0] over (happy, neutral), x = pixel · scale: happy when
 * the single input value exceeds 0.5.
 */
async function thresholdModel() {
  const bytes = buildModel({
    inputs: [{ name: "x", dims: ["N", 1, 1, 1] }],
    outputs: [{ name: "z", dims: ["N", 2] }],
    nodes: [
      node("Flatten", ["x"], ["f"], {}),
      node("Gemm", ["f", "w", "b"], ["z"], {}),
    ],
    initializers: [floatTensor("w", [1, 2], [1, 0]), floatTensor("b", [2], [-0.5, 0])],
  });
  const card: ModelCard = {
    id: "threshold-test",
    name: "threshold test model",
    description: "happy when the 1×1 input exceeds 0.5",
    source: { kind: "repo", path: "threshold.onnx" },
    format: "onnx",
    onnx: "threshold.onnx",
    input: grayInput(1),
    output: { name: "z", kind: "logits", classes: ["happy", "neutral"], sourceClasses: ["h", "n"] },
    preprocessingSource: "test",
    trainingData: "none",
    licence: "test",
    citation: "test",
  } as ModelCard;
  return await modelFromBytes(bytes, card);
}

Deno.test("preprocessingStudy: flip counts on built 2×2 images through the real pipeline", async () => {
  // 2×2 → 1×1 bilinear: half-pixel (the card's) samples src 0.5 → the mean of the four pixels;
  // TF legacy and align-corners (one output pixel) sample src 0 → the top-left pixel.
  // Happy iff value/255 > 0.5, i.e. value > 127.5. All images are labelled happy.
  //   img  pixels            mean  tl   ref   legacy  ×255 scale (value > 0.5)
  //   p1   200 200 200 200   200   200  H     H       H
  //   p2   200   0   0   0    50   200  N     H       H
  //   p3     0 255 255 255   191     0  H     N       H
  //   p4   100 100 100 100   100   100  N     N       H
  //   p5     0   0   0   0     0     0  N     N       N
  // Legacy flips p2, p3 (2 of 5); accuracy 2/5 → 2/5. Scale flips p2, p4 (2 of 5); accuracy
  // 2/5 → 4/5 (+0.4).
  const pixels = [
    [200, 200, 200, 200],
    [200, 0, 0, 0],
    [0, 255, 255, 255],
    [100, 100, 100, 100],
    [0, 0, 0, 0],
  ];
  await withTempDir("pitfalls-prep-", async (dir) => {
    const samples: Sample[] = [];
    for (const [i, px] of pixels.entries()) {
      const path = join(dir, `p${i + 1}.png`);
      await sharp(Uint8Array.from(px), { raw: { width: 2, height: 2, channels: 1 } }).png().toFile(
        path,
      );
      samples.push({
        id: `p${i + 1}`,
        source: { kind: "file", path },
        label: "happy",
        split: "test",
      });
    }
    const dataset = await builtDataset(dir, samples);
    const model = await thresholdModel();
    const r = await preprocessingStudy([model], dataset, {
      colour: false,
      predict: { cacheDir: join(dir, "cache") },
    });
    const by = (id: string) => r.rows.find((x) => x.variant === id)!;
    assert.equal(by("resize-half-pixel").skipped, "the card's own convention");
    assert.equal(by("gray-average").skipped, "no-op on gray images");
    assert.equal(by("channels-swapped").skipped, "not applicable to the model");
    const legacy = by("resize-tf-legacy").comparison!;
    assert.equal(legacy.flips, 2);
    assert.deepEqual(legacy.flipped, ["p2", "p3"]);
    assert.equal(legacy.accuracyChange.estimate, 0);
    assert.equal(by("resize-align-corners").comparison!.flips, 2);
    const scale = by("scale-off-255").comparison!;
    assert.deepEqual(scale.flipped, ["p2", "p4"]);
    assert.ok(Math.abs(scale.accuracyChange.estimate - 0.4) < 1e-12);
    assert.ok(Math.abs(scale.accuracyAlt - 0.8) < 1e-12);

    // The section's findings: per family the cell with the most flips, flips / images. Resize:
    // legacy and align-corners both flip 2 of 5, the first (legacy) is reported; ×255: 2 of 5.
    const [resize, normalisation] = preprocessingFindings("FER2013", { value: r, missing: null });
    assert.deepEqual(resize, {
      id: "pitfalls.preprocessing.fer2013.resize",
      label: "Preprocessing, resize: largest share of flipped predictions on FER2013 test " +
        "(threshold-test, resize-tf-legacy)",
      value: 2 / 5,
      ci: [legacy.flipShare.lower, legacy.flipShare.upper],
      unit: "share flipped",
      note: `2 of 5; accuracy ${ppIntervalText(legacy.accuracyChange)}; paired bootstrap 95 % CI`,
      group: PITFALLS_GROUP,
    });
    assert.equal(normalisation.id, "pitfalls.preprocessing.fer2013.normalisation");
    assert.match(normalisation.label, /\(threshold-test, scale-off-255\)$/);
    assert.equal(normalisation.value, 2 / 5);
    assert.match(normalisation.note!, /^2 of 5; accuracy \+40\.0 pp \[/);
    // ExpW's families (gray weights, channel order) never apply to this gray model: no value.
    assert.deepEqual(
      preprocessingFindings("ExpW", { value: r, missing: null }).map((
        f,
      ) => [f.id, f.value, f.note]),
      [
        [
          "pitfalls.preprocessing.expw.gray-weights",
          null,
          "no model where a gray weights variant applies",
        ],
        [
          "pitfalls.preprocessing.expw.channel-order",
          null,
          "no model where a channel order variant applies",
        ],
      ],
    );
  });
});

Deno.test("variantSkipReason: resize is a no-op when images are at the input size", () => {
  const v = PREPROCESSING_VARIANTS.find((x) => x.id === "resize-tf-legacy")!;
  assert.equal(
    variantSkipReason(v, grayInput(48), { colour: false, imageSize: 48 }),
    "no-op: images are already 48×48",
  );
  assert.equal(variantSkipReason(v, grayInput(64), { colour: false, imageSize: 48 }), null);
});

/** A 9×8 gray image whose rows are given; dHash bit (r, c) = row[c] > row[c + 1]. */
function cells(rows: number[][], id: string, split: Sample["split"]) {
  const data = Uint8Array.from(rows.flat());
  return { img: { data, width: 9, height: 8, channels: 1 as const }, id, split };
}

Deno.test("duplicates: an exact pair and a near pair are found, a near miss is not", () => {
  const down = [90, 80, 70, 60, 50, 40, 30, 20, 10]; // 8 ones per row
  const rowsA = Array.from({ length: 8 }, () => down);
  const a = cells(rowsA, "a", "test");
  const exact = cells(rowsA, "a-copy", "train"); // identical pixels
  // Row 0 = 80 90 70 …: only bit 0 turns 0 → distance 1.
  const near = cells([[80, 90, 70, 60, 50, 40, 30, 20, 10], ...rowsA.slice(1)], "near", "train");
  // Row 0 = 80 90 60 70 50 …: bits 0 and 2 turn 0 → distance 2 from a, 1 from near.
  const miss = cells([[80, 90, 60, 70, 50, 40, 30, 20, 10], ...rowsA.slice(1)], "miss", "val");
  assert.equal(differenceHash(a.img), "ffffffffffffffff");
  assert.equal(differenceHash(near.img), "7fffffffffffffff");
  assert.equal(differenceHash(miss.img), "5fffffffffffffff");
  assert.equal(hammingDistance(differenceHash(a.img), differenceHash(miss.img)), 2);
  const images: HashedImage[] = [a, exact, near, miss].map((x) => ({
    id: x.id,
    split: x.split,
    pixel: x.id === "a-copy" ? "same" : x.id === "a" ? "same" : x.id,
    dhash: differenceHash(x.img),
  }));
  const pairs = findDuplicates(images, 1);
  // a–a-copy exact (0), a–near (1), a-copy–near (1), near–miss (1); a–miss (2) and a-copy–miss
  // (2) are near misses at threshold 1.
  assert.deepEqual(pairs.map((p) => `${p.a}-${p.b}:${p.kind}:${p.distance}`), [
    "a-a-copy:exact:0",
    "a-near:near:1",
    "a-copy-near:near:1",
    "near-miss:near:1",
  ]);
  assert.equal(nearPairs(images.map((x) => x.dhash), 2).length, 6);
  const leak = leakShare(images, pairs, "test", "train", "exact");
  assert.equal(leak.withDuplicate, 1);
  assert.equal(leak.images, 1);
  const s = duplicateSummary(images, pairs, { maxDistance: 1, examples: 5 });
  assert.deepEqual(s.pairCounts, [
    { kind: "exact", splits: "test/train", pairs: 1 },
    { kind: "near", splits: "test/train", pairs: 1 },
    { kind: "near", splits: "train/train", pairs: 1 },
    { kind: "near", splits: "train/val", pairs: 1 },
  ]);
});

Deno.test("nearPairs: multi-index search equals the brute-force search on random hashes", () => {
  let x = 12345;
  const next = () => (x = (x * 1103515245 + 12345) % 2147483648);
  const base = Array.from(
    { length: 40 },
    () =>
      next().toString(16).padStart(8, "0").slice(0, 8) +
      next().toString(16).padStart(8, "0").slice(0, 8),
  );
  // Near copies: flip one or two hex digits' low bit.
  const hashes = [
    ...base,
    ...base.slice(0, 20).map((h, i) => {
      const k = i % 16;
      const d = (parseInt(h[k], 16) ^ (i % 3 === 0 ? 3 : 1)).toString(16);
      return h.slice(0, k) + d + h.slice(k + 1);
    }),
  ];
  for (const t of [0, 1, 2, 3, 6]) {
    const brute: string[] = [];
    for (let i = 0; i < hashes.length; i++) {
      for (let j = i + 1; j < hashes.length; j++) {
        const d = hammingDistance(hashes[i], hashes[j]);
        if (d <= t) brute.push(`${i}-${j}-${d}`);
      }
    }
    assert.deepEqual(
      nearPairs(hashes, t).map((p) => `${p.i}-${p.j}-${p.distance}`),
      brute,
      `t = ${t}`,
    );
  }
});

function votes(
  v: Partial<
    Record<"neutral" | "happiness" | "sadness" | "anger" | "disgust" | "fear" | "surprise", number>
  >,
): number[] {
  const cols = [
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
  ];
  return cols.map((c) => (v as Record<string, number>)[c] ?? 0);
}

Deno.test("labelChanges: kept, dropped and changed labels of each rule on a built vote table", () => {
  const images: VotedImage[] = [
    { id: "i1", original: "happy", votes: votes({ happiness: 10 }) },
    { id: "i2", original: "sad", votes: votes({ neutral: 6, sadness: 4 }) },
    { id: "i3", original: "angry", votes: votes({ anger: 5, disgust: 5 }) },
    { id: "i4", original: "fear", votes: votes({ fear: 4, surprise: 3, neutral: 2, sadness: 1 }) },
    { id: "i5", original: "neutral" },
  ];
  // majority: i1 happy, i2 neutral (6 of 10 valid > 5; changed), i3 5 of 10 is not > half,
  //   i4 fear 4 of 9 valid (the single sadness vote is discarded) is not > 4.5, i5 no votes.
  // plurality: i3 tie anger/disgust → angry (kit order), i4 fear; only i2 changes.
  // at least 4: i3 tie → dropped; i4 fear (4, unique top). at least 7: only i1.
  const c = Object.fromEntries(labelChanges(images).map((x) => [x.rule, x]));
  assert.deepEqual(
    LABEL_RULES.map((r) => [r.id, c[r.id].kept, c[r.id].changed, c[r.id].dropped]),
    [
      ["fer2013", 5, 0, {}],
      ["majority", 2, 1, { "no-majority": 2, "no-votes": 1 }],
      ["plurality", 4, 1, { "no-votes": 1 }],
      ["at-least-4", 3, 1, { tie: 1, "no-votes": 1 }],
      ["at-least-7", 1, 0, { "below-threshold": 3, "no-votes": 1 }],
    ],
  );
  assert.deepEqual(c.majority.transitions, { "sad → neutral": 1 });
  assert.equal(c.majority.affected.estimate, 4 / 5); // i2 changed; i3, i4, i5 dropped

  // A model that says "neutral" for i2 and copies the original label elsewhere: FER2013 labels
  // 4/5; majority 2/2 (i1 happy, i2 neutral). Another that copies the originals: 5/5 and 1/2.
  const images2 = new Map(images.map((x) => [x.id, x]));
  const preds = (p: Record<string, Emotion>): PredictionTable => ({
    classes: [...BASIC7],
    rows: images.map((x) => row(x.id, x.original, p[x.id] ?? x.original)),
  });
  const scores = scoreUnderRules(
    [
      { model: "m1", classes: [...BASIC7], table: preds({ i2: "neutral" }) },
      { model: "m2", classes: [...BASIC7], table: preds({}) },
    ],
    images2,
    [...BASIC7],
  );
  const acc = (m: string, r: string) => scores.find((s) => s.model === m && s.rule === r)!;
  assert.equal(acc("m1", "fer2013").accuracy.estimate, 0.8);
  assert.equal(acc("m2", "fer2013").rank, 1);
  assert.equal(acc("m1", "majority").accuracy.estimate, 1);
  assert.equal(acc("m2", "majority").accuracy.estimate, 0.5);
  assert.equal(acc("m1", "majority").rank, 1);

  // The section's findings: 4 of 5 images dropped (3) or relabelled (1) by the majority rule;
  // m1 goes from rank 2 to 1 and m2 from 1 to 2, so both change rank.
  const [affected, ranks] = labelRulesFindings({
    value: { changes: labelChanges(images), scores },
    missing: null,
  });
  assert.equal(affected.id, "pitfalls.labels.majority.affected");
  assert.equal(affected.value, 4 / 5);
  assert.deepEqual(affected.ci, [c.majority.affected.lower, c.majority.affected.upper]);
  assert.equal(affected.note, "3 dropped, 1 relabelled of 5; bootstrap 95 % CI");
  assert.deepEqual(ranks, {
    id: "pitfalls.labels.rank-changes",
    label: "Label rule: models whose rank changes between FER2013 and FER+ majority labels",
    value: 2,
    digits: 0,
    unit: "models",
    note: "of 2; m1 and m2",
    group: PITFALLS_GROUP,
  });
});

Deno.test("cropping: boxes scaled about their centre, whole image without a box, single-face photos", () => {
  assert.deepEqual(scaleBox({ x: 10, y: 20, width: 100, height: 50 }, 1.2), {
    x: 0,
    y: 15,
    width: 120,
    height: 60,
  });
  const s = (id: string, group: string): Sample => ({
    id,
    source: { kind: "file", path: "/x.jpg" },
    box: { x: 10, y: 10, width: 20, height: 20 },
    label: "happy",
    split: "test",
    group,
  });
  const samples = [s("a", "p1"), s("b", "p1"), s("c", "p2")];
  assert.deepEqual(singleFaceSamples(samples).map((x) => x.id), ["c"]);
  assert.equal(conditionSamples(samples, { id: "whole", kind: "whole-image" })[0].box, undefined);
  assert.deepEqual(
    conditionSamples(samples, { id: "half", kind: "scaled-box", factor: 0.5 })[0].box,
    { x: 15, y: 15, width: 10, height: 10 },
  );
});

/** A face of photograph `group` in `split` (for the photograph-leak tests). */
function photoFace(id: string, group: string, split: Sample["split"]): Sample {
  return { id, source: { kind: "file", path: "/x.jpg" }, label: "happy", split, group };
}

/** p1 straddles (a train, b test); p2 only test; p3 only train. Test faces b, c, d: b leaks. */
const PHOTO_FACES: readonly Sample[] = [
  photoFace("a", "p1", "train"),
  photoFace("b", "p1", "test"),
  photoFace("c", "p2", "test"),
  photoFace("d", "p2", "test"),
  photoFace("e", "p3", "train"),
];

Deno.test("groupLeak: test faces whose photograph has a training face", () => {
  const g = groupLeak(PHOTO_FACES);
  assert.deepEqual([g.testGroups, g.sharedGroups, g.testFaces, g.leakedFaces], [2, 1, 3, 1]);
  assert.ok(Math.abs(g.share.estimate - 1 / 3) < 1e-12);
});

Deno.test("metric choice and thresholds: majority baseline and coverage on a built table", () => {
  const t = CONFIDENCE_TABLE;
  assert.equal(majorityClass(t), "happy");
  const base = constantPredictions(t, "happy");
  assert.deepEqual(base.rows.map((r) => r.pred), ["happy", "happy", "happy", "happy"]);
  // Threshold 0.5 keeps a (0.9, right) and c (0.6, right): coverage 1/2, accuracy 1; happy
  // keeps 1 of 3, sad 1 of 1.
  const [p] = thresholdSweep(t, [0.5]);
  assert.equal(p.coverage, 0.5);
  assert.equal(p.accuracy, 1);
  assert.deepEqual(p.classCoverage, { happy: 1 / 3, sad: 1 });
});

Deno.test("test sizes: two-proportion and McNemar formulas against hand-computed values", () => {
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959963985) < 1e-8);
  assert.ok(Math.abs(normalQuantile(0.8) - 0.841621234) < 1e-8);
  assert.ok(Math.abs(normalQuantile(0.01) + 2.326347874) < 1e-8);
  // (1.959964 + 0.841621)² · (0.6·0.4 + 0.62·0.38) / 0.02² = 7.848879 · 0.4756 / 0.0004 = 9332.3
  assert.equal(imagesForDifference(0.6, 0.02), 9333);
  // (1.959964·√0.2 + 0.841621·√0.1996)² / 0.0004 = (0.876522 + 0.376006)² / 0.0004 = 3922.1
  assert.equal(pairedImagesForDifference(0.2, 0.02), 3923);
  assert.throws(() => pairedImagesForDifference(0.0001, 0.02), /discordance/);
});

/**
 * An 8×8 photograph in `dir`, black except pixels x, y in 1..2 (255), with one labelled face box
 * {0, 0, 4×4} (happy), as a one-sample dataset.
 */
async function builtPhoto(dir: string): Promise<LoadedDataset> {
  const px = new Uint8Array(64);
  for (let y = 1; y <= 2; y++) for (let x = 1; x <= 2; x++) px[y * 8 + x] = 255;
  const path = join(dir, "photo.png");
  await sharp(px, { raw: { width: 8, height: 8, channels: 1 } }).png().toFile(path);
  const samples: Sample[] = [{
    id: "f1",
    source: { kind: "file", path },
    box: { x: 0, y: 0, width: 4, height: 4 },
    label: "happy",
    split: "test",
    group: "photo.png",
  }];
  return await builtDataset(dir, samples);
}

Deno.test("croppingStudy: the labelled box, scaled boxes and the whole photograph on a built image", async () => {
  // An 8×8 photograph, black except pixels x, y in 1..2 (255). The 1×1 threshold model sees the
  // centre of whatever is cut (half-pixel resize to 1×1 = mean of the middle 2×2 of an even crop,
  // or the middle pixel of an odd one):
  // - label box {0, 0, 4×4}: middle 2×2 = pixels 1..2 → 255 → happy (right);
  // - box ×0.5 about (2, 2) = {1, 1, 2×2}: all 255 → happy;
  // - box ×1.5 = {−1, −1, 6×6}, clipped to 0..4 (5×5): middle pixel (2, 2) = 255 → happy;
  // - whole photograph 8×8: middle 2×2 = pixels 3..4 → 0 → neutral (wrong).
  await withTempDir("pitfalls-crop-", async (dir) => {
    const dataset = await builtPhoto(dir);
    const r = await croppingStudy([await thresholdModel()], dataset, {
      conditions: [
        { id: "label", kind: "label-box" },
        { id: "half", kind: "scaled-box", factor: 0.5 },
        { id: "wide", kind: "scaled-box", factor: 1.5 },
        { id: "whole", kind: "whole-image" },
      ],
      predict: { cacheDir: join(dir, "cache") },
    });
    assert.deepEqual(r.rows.map((x) => [x.condition, x.accuracy.estimate]), [
      ["label", 1],
      ["half", 1],
      ["wide", 1],
      ["whole", 0],
    ]);
    assert.equal(r.rows[0].change, null);
    assert.deepEqual(r.detectors, [], "no detector condition, no detector in the provenance");
    assert.equal(r.rows[3].change!.accuracyChange.estimate, -1);
    assert.equal(r.rows[3].change!.flips, 1);

    // The section's finding: the largest change either way is the whole photograph's, −1 on the
    // one face (every resample of one face is that face: interval [−1, −1]).
    assert.deepEqual(croppingFindings({ value: r, missing: null }), [{
      id: "pitfalls.cropping.max-change",
      label: "Cropping: largest accuracy change against the labelled box (ExpW) " +
        "(threshold-test, whole)",
      value: -1,
      ci: [-1, -1],
      unit: "accuracy change",
      note: "1 faces; paired bootstrap 95 % CI",
      group: PITFALLS_GROUP,
    }]);
    // No condition with a prediction: no value, and why.
    const empty = r.rows.map((x) => x.change ? { ...x, change: { ...x.change, n: 0 } } : x);
    assert.deepEqual(
      croppingFindings({ value: { ...r, rows: empty }, missing: null }).map((
        f,
      ) => [f.value, f.note]),
      [[null, "missing: no condition produced predictions"]],
    );
  });
});

Deno.test("tensorToImage undoes the card's normalisation, channel order and layout", () => {
  const input = {
    ...grayInput(2),
    channels: 3 as const,
    colorOrder: "BGR" as const,
    layout: "NHWC" as const,
    normalization: { scale: 1 / 255, mean: [0.5, 0.4, 0.3], std: [0.5, 0.5, 0.5] },
  };
  const img = {
    data: Uint8Array.from({ length: 12 }, (_, i) => i * 20),
    width: 2,
    height: 2,
    channels: 3 as const,
  };
  const back = tensorToImage(preprocess(img, { input }), input);
  assert.deepEqual([...back.data], [...img.data]);
});

Deno.test("seededSubset: the same seed gives the same samples, in dataset order, with a new hash", async () => {
  const samples: Sample[] = Array.from({ length: 20 }, (_, i) => ({
    id: `s${String(i).padStart(2, "0")}`,
    source: { kind: "pixels", width: 1, height: 1, channels: 1, data: Uint8Array.of(i) },
    label: "happy",
    split: "test",
  }));
  const d: LoadedDataset = {
    name: "d",
    format: "folder",
    root: "/",
    samples,
    excluded: {},
    unreadable: [],
    classes: ["happy"],
    hash: await datasetHash(samples),
  };
  const a = await seededSubset(d, 5, 7), b = await seededSubset(d, 5, 7);
  assert.deepEqual(a.samples.map((s) => s.id), b.samples.map((s) => s.id));
  assert.equal(a.samples.length, 5);
  assert.deepEqual(a.samples.map((s) => s.id), a.samples.map((s) => s.id).sort());
  assert.notEqual(a.hash, d.hash);
  assert.equal((await seededSubset(d, 50, 7)).samples.length, 20);
});

Deno.test("metricPanel: accuracy, balanced accuracy, macro-F1 and κ of a built table", () => {
  // 6 happy, 2 sad; predictions: 5 of 6 happy right (1 → sad), 1 of 2 sad right (1 → happy).
  // accuracy 6/8 = 0.75; balanced (5/6 + 1/2)/2 = 2/3; F1 happy: P 5/6 R 5/6 → 5/6; sad: P 1/2
  // R 1/2 → 1/2; macro 2/3. κ: p_o 0.75, p_e = (6/8)(6/8) + (2/8)(2/8) = 0.625 → (0.125)/(0.375) = 1/3.
  const p = metricPanel(HAPPY_SAD_TABLE, ["happy", "sad"]);
  assert.equal(p.n, 8);
  assert.equal(p.accuracy.estimate, 0.75);
  assert.ok(Math.abs(p.balancedAccuracy.estimate - 2 / 3) < 1e-12);
  assert.ok(Math.abs(p.macroF1.estimate - 2 / 3) < 1e-12);
  assert.ok(Math.abs(p.cohenKappa.estimate - 1 / 3) < 1e-12);
});

/** An interval built by hand (the findings only read estimate, lower and upper). */
function interval(estimate: number, lower: number, upper: number): BootstrapInterval {
  return { estimate, lower, upper, level: 0.95, resamples: 1000, seed: 0, undefinedResamples: 0 };
}

Deno.test("duplicates and photo-leak findings: shares of test images with a twin or a shared photo", () => {
  // Test t1 has an exact twin in train (r1), t2 a near one (d = 1, r2), t3 none; the val image
  // has none. Exact: 1 of 3 test images; exact or near: 2 of 3.
  const hashed = (id: string, split: Split, pixel: string, dhash: string) => ({
    id,
    split,
    pixel,
    dhash,
  });
  const images: HashedImage[] = [
    hashed("t1", "test", "p1", "ffffffffffffffff"),
    hashed("t2", "test", "p2", "0000000000000000"),
    hashed("t3", "test", "p3", "00000000ffffffff"),
    hashed("r1", "train", "p1", "ffffffffffffffff"),
    hashed("r2", "train", "p4", "0000000000000001"),
    hashed("v1", "val", "p5", "0f0f0f0f0f0f0f0f"),
  ];
  const s = duplicateSummary(images, findDuplicates(images, 1), { maxDistance: 1, examples: 2 });
  const [f] = duplicatesFindings({ value: { ...s, exampleSamples: [] }, missing: null });
  const share = s.leaks.find((l) => l.split === "test" && l.kind === "exact or near")!.share;
  assert.deepEqual(f, {
    id: "pitfalls.duplicates.test-in-train",
    label: "Duplicates: FER2013 test images with an exact or near twin in Training",
    value: 2 / 3,
    ci: [share.lower, share.upper],
    unit: "share of test images",
    note: "2 of 3; exact 1; dHash ≤ 1; bootstrap 95 % CI",
    group: PITFALLS_GROUP,
  });

  // Photographs: split by face, 1 of the 3 test faces leaks (PHOTO_FACES); the kit's split (by
  // photograph) puts p1 wholly in train: none.
  const byFace = groupLeak(PHOTO_FACES);
  const kit = groupLeak(PHOTO_FACES.map((f) => f.id === "b" ? { ...f, split: "train" } : f));
  const [leak] = photoLeakFindings({ value: { byFace, kit }, missing: null });
  assert.equal(leak.id, "pitfalls.duplicates.expw-face-split");
  assert.ok(Math.abs(leak.value! - 1 / 3) < 1e-12);
  assert.equal(leak.unit, "share of test faces");
  assert.equal(leak.note, "1 photographs straddle; the kit's split: 0");
});

Deno.test("contamination, metric-choice and calibration findings on built section results", () => {
  const audit = (matchA: BootstrapInterval, disagreeing: number) => ({
    paired: 20,
    disagreeing,
    matchA,
    matchB: interval(1 - matchA.estimate, 0, 1),
    matchNeither: 0,
    accuracyA: 0.5,
    accuracyB: 0.5,
    accuracyChange: interval(0, 0, 0),
  });
  // The clean reference gets no finding of its own; one of two audited models is flagged.
  const contamination = contaminationSectionFindings({
    value: [
      {
        model: "clean",
        reference: true,
        audit: audit(interval(0.2, 0.1, 0.3), 10),
        flagged: false,
      },
      { model: "m1", reference: false, audit: audit(interval(0.6, 0.5, 0.7), 10), flagged: true },
      { model: "m2", reference: false, audit: audit(interval(0.25, 0.1, 0.4), 10), flagged: false },
    ],
    missing: null,
  });
  assert.deepEqual(
    contamination.map((f) => [f.id, f.value, f.ci, f.note]),
    [
      ["pitfalls.contamination.flagged", 1, undefined, "m1"],
      ["pitfalls.contamination.m1", 0.6, [0.5, 0.7], "10 disagreeing test images; flagged"],
      ["pitfalls.contamination.m2", 0.25, [0.1, 0.4], "10 disagreeing test images; not flagged"],
    ],
  );

  // Metric choice: 6 happy, 2 sad; always "happy" (the last row) scores accuracy 6/8, κ 0
  // (p_o = p_e = 0.75), balanced accuracy (1 + 0)/2, macro-F1 (F1 happy 2·0.75/1.75 = 6/7, sad
  // 0) / 2 = 3/7 = 0.429.
  const t = HAPPY_SAD_TABLE;
  const classes: Emotion[] = ["happy", "sad"];
  const [accuracy, kappa] = metricChoiceFindings({
    value: {
      dataset: "ferplus",
      baseline: "happy",
      rows: [
        { model: "m", panel: metricPanel(t, classes) },
        { model: 'always "happy"', panel: metricPanel(constantPredictions(t, "happy"), classes) },
      ],
    },
    missing: null,
  });
  assert.equal(
    accuracy.label,
    "Metric choice: accuracy of always predicting the majority class (happy, ferplus)",
  );
  assert.equal(accuracy.value, 0.75);
  assert.equal(accuracy.note, "n = 8; bootstrap 95 % CI");
  assert.equal(kappa.id, "pitfalls.metrics.baseline-kappa");
  assert.equal(kappa.value, 0);
  assert.equal(kappa.ci, undefined);
  assert.equal(kappa.note, "balanced accuracy 0.500, macro-F1 0.429");

  // Calibration: m1's four top-class probabilities 0.9 (right), 0.4 (wrong), 0.6 (right), 0.3
  // (right) fall in four bins: ECE = (0.1 + 0.4 + 0.4 + 0.7) / 4 = 0.4; m2 is always right with
  // probability 1: ECE 0. The largest is m1's.
  const m1 = CONFIDENCE_TABLE;
  const m2: PredictionTable = { ...m1, rows: m1.rows.map((r) => row(r.id, r.label, r.label)) };
  const [ece] = calibrationFindings({
    value: {
      dataset: "fer2013",
      rows: [
        { model: "m2", calibration: calibration(m2), sweep: [] },
        { model: "m1", calibration: calibration(m1), sweep: [] },
      ],
    },
    missing: null,
  });
  assert.equal(ece.label, "Calibration: largest expected calibration error (fer2013 test; m1)");
  assert.ok(Math.abs(ece.value! - 0.4) < 1e-12);
  assert.equal(ece.note, "n = 4; 15 bins; bootstrap 95 % CI");
});

Deno.test("small-test findings: widest by-subject interval, images a difference needs", () => {
  // a: by image width 0.1, by subject 0.25 → 2.5×; b: 0.2 and 0.3 → 1.5×. The widest is a.
  const rows = [
    {
      model: "b",
      images: 40,
      subjects: 8,
      byImage: interval(0.6, 0.5, 0.7),
      bySubject: interval(0.6, 0.45, 0.75),
    },
    {
      model: "a",
      images: 40,
      subjects: 8,
      byImage: interval(0.85, 0.8, 0.9),
      bySubject: interval(0.85, 0.7, 0.95),
    },
  ];
  const sizes = [{
    models: "a vs b",
    accuracy: 0.6,
    discordance: 0.2,
    independent: 9333,
    paired: 3923,
  }];
  const [ratio, needed] = smallTestFindings({
    value: { ckplus: rows, sizes, delta: 0.02 },
    missing: null,
  });
  assert.equal(
    ratio.label,
    "Small test sets: CK+ interval width by subject ÷ by image (widest model) (a)",
  );
  assert.ok(Math.abs(ratio.value! - 2.5) < 1e-12);
  assert.equal(ratio.digits, 2);
  assert.equal(
    ratio.note,
    "by subject 0.850 [0.700, 0.950], by image 0.850 [0.800, 0.900]; 8 subjects",
  );
  assert.deepEqual(needed, {
    id: "pitfalls.small-test.images-needed",
    label: "Small test sets: FER2013 test images a 2-point difference in accuracy needs (paired)",
    value: 3923,
    digits: 0,
    unit: "images",
    note: "a vs b; discordance 20.0 %; separate test sets: 9333 each",
    group: PITFALLS_GROUP,
  });
  // No CK+ rows and fewer than two models: both findings without a value, each saying why.
  assert.deepEqual(
    smallTestFindings({ value: { ckplus: [], sizes: [], delta: 0.02 }, missing: null })
      .map((f) => [f.id, f.value, f.note]),
    [
      ["pitfalls.small-test.width-ratio", null, "no CK+ predictions"],
      ["pitfalls.small-test.images-needed", null, "fewer than two models on FER2013"],
    ],
  );
});

Deno.test("pitfalls findings of missing sections: every id, no value, the reason as the note", async () => {
  const why = "X: test split missing";
  const none = { value: null, missing: why } as const;
  const all = [
    ...preprocessingFindings("FER2013", none),
    ...preprocessingFindings("ExpW", none),
    ...croppingFindings(none),
    ...labelRulesFindings(none),
    ...duplicatesFindings(none),
    ...photoLeakFindings(none),
    ...contaminationSectionFindings(none),
    ...metricChoiceFindings(none),
    ...calibrationFindings(none),
    ...smallTestFindings(none),
  ];
  assert.deepEqual(all.map((f) => f.id), [
    "pitfalls.preprocessing.fer2013.resize",
    "pitfalls.preprocessing.fer2013.normalisation",
    "pitfalls.preprocessing.expw.gray-weights",
    "pitfalls.preprocessing.expw.channel-order",
    "pitfalls.cropping.max-change",
    "pitfalls.labels.majority.affected",
    "pitfalls.labels.rank-changes",
    "pitfalls.duplicates.test-in-train",
    "pitfalls.duplicates.expw-face-split",
    "pitfalls.contamination.flagged",
    "pitfalls.metrics.baseline-accuracy",
    "pitfalls.metrics.baseline-kappa",
    "pitfalls.calibration.max-ece",
    "pitfalls.small-test.width-ratio",
    "pitfalls.small-test.images-needed",
  ]);
  for (const f of all) {
    assert.deepEqual([f.value, f.note, f.group], [null, `missing: ${why}`, PITFALLS_GROUP], f.id);
  }

  // A section function attaches them: calibration on a grid without the dataset.
  const grid = {
    dataRoot: "/nowhere",
    split: "test" as const,
    models: [],
    datasets: [],
    missingModels: [],
    missingDatasets: [{ id: "fer2013", reason: "not found\nsecond line" }],
    cells: [],
    failed: [],
  };
  const cal = await calibrationSection({ dataRoot: "/nowhere", grid }, {
    dataset: "fer2013",
    thresholds: [0.5],
  });
  assert.equal(cal.value, null);
  assert.deepEqual(cal.findings.map((f) => [f.id, f.value, f.note]), [[
    "pitfalls.calibration.max-ece",
    null,
    "missing: fer2013: fer2013 test split missing (not found)",
  ]]);
});

Deno.test({
  name: "croppingStudy: a detector condition records the detector's card and ONNX hash",
  ignore: !(await pathExists(join(await detectorsDir(), "face_detection_yunet_2023mar.onnx"))),
  async fn() {
    await withTempDir("pitfalls-crop-detector-", async (dir) => {
      const r = await croppingStudy([await thresholdModel()], await builtPhoto(dir), {
        conditions: [{ id: "label", kind: "label-box" }, {
          id: "YuNet box",
          kind: "detector",
          detector: "yunet",
        }],
        predict: { cacheDir: join(dir, "cache") },
      });
      const onnx = await Deno.readFile(
        join(await detectorsDir(), "face_detection_yunet_2023mar.onnx"),
      );
      assert.deepEqual(r.detectors, [{
        kind: "model",
        id: "yunet-2023mar",
        sha256: createHash("sha256").update(onnx).digest("hex"),
        detail: "face detector, ONNX face_detection_yunet_2023mar.onnx",
      }]);
      // No face on an 8×8 black photograph with a white square: the detector misses it.
      assert.equal(r.rows[1].missed + r.rows[1].predicted, 1);
    });
  },
});
