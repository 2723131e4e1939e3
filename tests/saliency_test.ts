/**
 * Saliency: a tiny ONNX model built here (lib/onnx buildModel) whose class-0 logit depends only
 * on one known rectangle of the input. Each method's map must peak inside it; the same seed
 * must give the same RISE map; deletion/insertion curves must equal the values computed here
 * in closed form; the randomisation check must see shuffled weights; dataset views, overlays
 * and the CLI's class-name error are checked on values worked out by hand.
 * The real-data part (FER_DATA + a converted FER model) is skipped when either is missing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import {
  attr,
  buildModel,
  decodeModel,
  floatTensor,
  node,
  tensorToFloat32,
} from "../lib/onnx/mod.ts";
import {
  argmaxMap,
  type BatchScorer,
  classIndexOf,
  classMeanMaps,
  deletionInsertion,
  differenceMap,
  gaussianBlur,
  inferno,
  makeBaseline,
  mapPoints,
  mapRaster,
  montagePng,
  occlusionMap,
  OrtScorer,
  overlayPng,
  parameterLayers,
  randomizationCheck,
  randomizeWeights,
  representativeCases,
  riseMap,
  riseMaps,
  type SaliencyMap,
  summarizeFaithfulness,
  type TensorShape,
} from "../lib/saliency/mod.ts";
import { spearman } from "../lib/metrics/descriptive.ts";
import { generateMask, riseSpec } from "../lib/saliency/rise.ts";
import { patchStarts } from "../lib/saliency/occlusion.ts";
import { EngineScorer } from "../lib/saliency/engine_scorer.ts";
import { cacheRoot } from "../lib/config.ts";
import { loadCard } from "../lib/models/registry.ts";
import { decodeImage } from "../lib/image.ts";
import { preprocess } from "../lib/preprocess.ts";
import { pathExists, writeRegionModel } from "./support.ts";

const H = 32;
const W = 32;
/** The region the tiny model looks at: rows 4..11, columns 18..27 (inclusive). */
const R = { y0: 4, y1: 12, x0: 18, x1: 28 };
const R_SIZE = (R.y1 - R.y0) * (R.x1 - R.x0);
const A = 6 / R_SIZE;
const B0 = -3;
const SHAPE: TensorShape = { channels: 1, height: H, width: W, layout: "NCHW" };

function inRegion(x: number, y: number): boolean {
  return y >= R.y0 && y < R.y1 && x >= R.x0 && x < R.x1;
}

/**
 * Flatten -> Gemm -> Softmax: z0 = B0 + A * sum of the region's pixels, z1 = 0, so
 * p0 = sigmoid(z0) and nothing outside the region matters.
 */
function regionModel(): Uint8Array {
  const w = new Float32Array(H * W * 2);
  for (let y = R.y0; y < R.y1; y++) for (let x = R.x0; x < R.x1; x++) w[(y * W + x) * 2] = A;
  return buildModel({
    inputs: [{ name: "x", dims: ["N", 1, H, W] }],
    outputs: [{ name: "p", dims: ["N", 2] }],
    nodes: [
      node("Flatten", ["x"], ["f"], { axis: attr.int(1) }, "flatten"),
      node("Gemm", ["f", "w", "b"], ["z"], {}, "dense"),
      node("Softmax", ["z"], ["p"], { axis: attr.int(1) }, "softmax"),
    ],
    initializers: [floatTensor("w", [H * W, 2], w), floatTensor("b", [2], [B0, 0])],
  });
}

/** Two dense layers (region -> 4 hidden units -> 2 logits), for the cascading check. */
function twoLayerModel(): Uint8Array {
  const w1 = new Float32Array(H * W * 4);
  for (let y = R.y0; y < R.y1; y++) {
    for (let x = R.x0; x < R.x1; x++) for (let k = 0; k < 4; k++) w1[(y * W + x) * 4 + k] = A;
  }
  const w2 = Float32Array.from([1, 0, 0.5, 0, 0.25, 0, 0.25, 0]);
  return buildModel({
    inputs: [{ name: "x", dims: ["N", 1, H, W] }],
    outputs: [{ name: "p", dims: ["N", 2] }],
    nodes: [
      node("Flatten", ["x"], ["f"], { axis: attr.int(1) }, "flatten"),
      node("Gemm", ["f", "w1", "b1"], ["h"], {}, "dense1"),
      node("Relu", ["h"], ["hr"], {}, "relu"),
      node("Gemm", ["hr", "w2", "b2"], ["z"], {}, "dense2"),
      node("Softmax", ["z"], ["p"], { axis: attr.int(1) }, "softmax"),
    ],
    initializers: [
      floatTensor("w1", [H * W, 4], w1),
      floatTensor("b1", [4], [0, 0, 0, 0]),
      floatTensor("w2", [4, 2], w2),
      floatTensor("b2", [2], [B0, 0]),
    ],
  });
}

function openScorer(bytes: Uint8Array, batchSize = 64): Promise<OrtScorer> {
  return OrtScorer.create(bytes, {
    shape: SHAPE,
    classes: ["happy", "neutral"],
    outputKind: "probabilities",
    batchSize,
    threads: 1,
  });
}

/**
 * A textured input: the region bright, in [0.7, 1), the rest darker, in [0, 0.5); every pixel
 * differs a little from its neighbours.
 */
function texturedImage(): Float32Array {
  return Float32Array.from({ length: H * W }, (_, p) => {
    const t = ((p * 7919) % 97) / 97;
    return inRegion(p % W, Math.floor(p / W)) ? 0.7 + 0.3 * t : 0.5 * t;
  });
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

function assertPeakInRegion(map: SaliencyMap, what: string): void {
  const peak = argmaxMap(map);
  assert.ok(
    inRegion(peak.x, peak.y),
    `${what}: peak at (${peak.x}, ${peak.y}) is outside the region`,
  );
}

/** Mean of the map inside and outside the region. */
function insideOutside(map: SaliencyMap): [number, number] {
  let si = 0, so = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (inRegion(x, y)) si += map.data[y * W + x];
      else so += map.data[y * W + x];
    }
  }
  return [si / R_SIZE, so / (H * W - R_SIZE)];
}

Deno.test("the tiny model computes sigmoid(B0 + A * region sum), nothing else", async () => {
  const s = await openScorer(regionModel());
  const x = texturedImage();
  let sum = 0;
  for (let y = R.y0; y < R.y1; y++) for (let xx = R.x0; xx < R.x1; xx++) sum += x[y * W + xx];
  const p = await s.predict(x, 1);
  assert.ok(Math.abs(p[0] - sigmoid(B0 + A * sum)) < 1e-5);
  const y = x.slice();
  y[0] = 0; // outside the region
  assert.ok(Math.abs((await s.predict(y, 1))[0] - p[0]) < 1e-7);
  await s.release();
});

Deno.test("occlusion: the map peaks inside the region with every fill, and is zero far from it", async () => {
  const s = await openScorer(regionModel());
  const x = texturedImage();
  for (const fill of ["zero", "mean", "blur"] as const) {
    const m = await occlusionMap(s, x, { classIndex: 0, patchSize: 6, stride: 3, fill });
    assert.equal(m.width, W);
    assert.equal(m.height, H);
    assertPeakInRegion(m, `occlusion (${fill})`);
    // Bottom-left corner: no patch covering it touches the region, so no drop at all.
    assert.ok(Math.abs(m.data[(H - 1) * W]) < 1e-6, `occlusion (${fill}) corner not zero`);
  }
  // Zero fill: a patch fully inside the region removes exactly its pixels' share of z0.
  const m = await occlusionMap(s, x, { classIndex: 0, patchSize: 4, stride: 4, fill: "zero" });
  let full = 0;
  for (let y = R.y0; y < R.y1; y++) for (let xx = R.x0; xx < R.x1; xx++) full += x[y * W + xx];
  let patch = 0;
  for (let y = 4; y < 8; y++) for (let xx = 20; xx < 24; xx++) patch += x[y * W + xx];
  const expected = sigmoid(B0 + A * full) - sigmoid(B0 + A * (full - patch));
  assert.ok(Math.abs(m.data[5 * W + 21] - expected) < 1e-5, `${m.data[5 * W + 21]} vs ${expected}`);
  await s.release();
});

Deno.test("occlusion patch positions cover the far edge", () => {
  assert.deepEqual(patchStarts(10, 4, 3), [0, 3, 6]);
  assert.deepEqual(patchStarts(11, 4, 3), [0, 3, 6, 7]);
  assert.deepEqual(patchStarts(4, 8, 2), [0]);
});

Deno.test("RISE: the map peaks inside the region; same seed same map, other seed other map", async () => {
  const s = await openScorer(regionModel());
  const x = texturedImage();
  const a = await riseMap(s, x, { classIndex: 0, n: 600, seed: 7, cellSize: 4 });
  assertPeakInRegion(a, "RISE");
  const [inside, outside] = insideOutside(a);
  assert.ok(inside > outside + 0.05, `RISE inside ${inside} vs outside ${outside}`);
  const again = await riseMap(s, x, { classIndex: 0, n: 600, seed: 7, cellSize: 4 });
  assert.deepEqual(again.data, a.data);
  const other = await riseMap(s, x, { classIndex: 0, n: 600, seed: 8, cellSize: 4 });
  assert.notDeepEqual(other.data, a.data);
  assertPeakInRegion(other, "RISE seed 8");
  // Batch size does not change the result (masks come from per-mask seeded streams).
  const s1 = await openScorer(regionModel(), 7);
  const b = await riseMap(s1, x, { classIndex: 0, n: 600, seed: 7, cellSize: 4 });
  for (let i = 0; i < a.data.length; i++) assert.ok(Math.abs(a.data[i] - b.data[i]) < 1e-6);
  // Class 1 is the complement: its map is 1/p * E[M] - map0 pointwise up to sampling, and
  // here exactly S0 + S1 = sum_i M_i / (N p) since p0 + p1 = 1.
  const [m0, m1] = await riseMaps(s, x, [0, 1], { n: 600, seed: 7, cellSize: 4 });
  const spec = riseSpec(W, H, { n: 600, seed: 7, cellSize: 4 });
  const masks = new Float32Array(H * W);
  const msum = new Float64Array(H * W);
  for (let i = 0; i < spec.n; i++) {
    generateMask(spec, i, masks);
    for (let p = 0; p < H * W; p++) msum[p] += masks[p];
  }
  for (let p = 0; p < H * W; p += 37) {
    const expected = msum[p] / (spec.n * spec.keepProb);
    assert.ok(Math.abs(m0.data[p] + m1.data[p] - expected) < 1e-4);
  }
  // Centred maps subtract each class's mean score: with p0 + p1 = 1 they cancel exactly.
  const [c0, c1] = await riseMaps(s, x, [0, 1], { n: 600, seed: 7, cellSize: 4, centered: true });
  for (let p = 0; p < H * W; p++) assert.ok(Math.abs(c0.data[p] + c1.data[p]) < 1e-5);
  assertPeakInRegion(c0, "centred RISE");
  await s.release();
  await s1.release();
});

Deno.test("RISE masks: values in [0, 1], mean near keepProb, smooth cells of the given size", () => {
  const spec = riseSpec(48, 48, { n: 400, seed: 3, cellSize: 6, keepProb: 0.3 });
  const m = new Float32Array(48 * 48);
  let sum = 0;
  for (let i = 0; i < spec.n; i++) {
    generateMask(spec, i, m);
    for (const v of m) {
      assert.ok(v >= 0 && v <= 1);
      sum += v;
    }
  }
  const mean = sum / (spec.n * 48 * 48);
  assert.ok(Math.abs(mean - 0.3) < 0.02, `mean mask value ${mean}`);
  // Neighbouring pixels differ by at most one cell's bilinear step: 1 / (cell (g+1)/g) < 1/6.
  generateMask(spec, 0, m);
  for (let y = 0; y < 48; y++) {
    for (let x = 1; x < 48; x++) {
      assert.ok(Math.abs(m[y * 48 + x] - m[y * 48 + x - 1]) <= 1 / 6 + 1e-6);
    }
  }
});

Deno.test("deletion / insertion curves equal the closed-form values of the tiny model", async () => {
  const s = await openScorer(regionModel());
  const x = texturedImage();
  // A map with distinct values: region pixels first (in index order), then the rest.
  const data = Float32Array.from(
    { length: H * W },
    (_, p) => inRegion(p % W, Math.floor(p / W)) ? 2 - p / (H * W) : 1 - p / (H * W),
  );
  const map = { width: W, height: H, data };
  const steps = 16;
  const r = await deletionInsertion(s, x, map, {
    classIndex: 0,
    steps,
    deletionBaseline: "zero",
    insertionBaseline: "zero",
  });
  const order = Array.from({ length: H * W }, (_, p) => p).sort((a, b) => data[b] - data[a]);
  const del: number[] = [];
  const ins: number[] = [];
  for (let j = 0; j <= steps; j++) {
    const changed = new Set(order.slice(0, (j * H * W) / steps));
    let kept = 0, inserted = 0;
    for (let y = R.y0; y < R.y1; y++) {
      for (let xx = R.x0; xx < R.x1; xx++) {
        const p = y * W + xx;
        if (changed.has(p)) inserted += x[p];
        else kept += x[p];
      }
    }
    del.push(sigmoid(B0 + A * kept));
    ins.push(sigmoid(B0 + A * inserted));
  }
  for (let j = 0; j <= steps; j++) {
    assert.ok(Math.abs(r.deletion.scores[j] - del[j]) < 1e-5, `deletion step ${j}`);
    assert.ok(Math.abs(r.insertion.scores[j] - ins[j]) < 1e-5, `insertion step ${j}`);
    assert.equal(r.deletion.fractions[j], j / steps);
  }
  const auc = (ys: number[]) => {
    let a = 0;
    for (let j = 1; j < ys.length; j++) a += (ys[j] + ys[j - 1]) / 2 / steps;
    return a;
  };
  assert.ok(Math.abs(r.deletion.auc - auc(del)) < 1e-5);
  assert.ok(Math.abs(r.insertion.auc - auc(ins)) < 1e-5);
  // The region is 80 of 1024 pixels: all of it is gone after step 2 (128 pixels).
  assert.ok(Math.abs(r.deletion.scores[2] - sigmoid(B0)) < 1e-5);

  // RISE is more faithful than the reverse of itself, by both measures.
  const rise = await riseMap(s, x, { classIndex: 0, n: 400, seed: 1, cellSize: 4 });
  const reversed = { ...rise, data: rise.data.map((v) => -v) };
  // (Insertion from black: a blurred start keeps the region's mean, so the linear model's
  // insertion curve would be nearly flat for any order.)
  const opts = { classIndex: 0, insertionBaseline: "zero" } as const;
  const good = await deletionInsertion(s, x, rise, opts);
  const bad = await deletionInsertion(s, x, reversed, opts);
  assert.ok(
    good.deletion.auc < bad.deletion.auc - 0.3,
    `${good.deletion.auc} vs ${bad.deletion.auc}`,
  );
  assert.ok(good.insertion.auc > bad.insertion.auc + 0.3);
  const summary = summarizeFaithfulness([good, bad]);
  assert.equal(summary.images, 2);
  assert.ok(
    Math.abs(summary.deletionAuc.mean - (good.deletion.auc + bad.deletion.auc) / 2) < 1e-12,
  );
  assert.ok(
    Math.abs(summary.deletionAuc.sd - Math.abs(good.deletion.auc - bad.deletion.auc) / Math.SQRT2) <
      1e-12,
  );
  await s.release();
});

Deno.test("baselines: black from the normalisation, per-channel mean, blur keeps constants", () => {
  const shape: TensorShape = { channels: 3, height: 4, width: 5, layout: "NHWC" };
  const x = Float32Array.from({ length: 60 }, (_, i) => (i % 3) + Math.floor(i / 3) * 0.01);
  const zero = makeBaseline(x, shape, { kind: "zero", black: [-1, -2, -3] });
  assert.deepEqual(Array.from(zero.slice(0, 6)), [-1, -2, -3, -1, -2, -3]);
  const mean = makeBaseline(x, shape, { kind: "mean" });
  // channel c holds c + 0.01 * pixel, pixel = 0..19 -> mean c + 0.095
  assert.ok(Math.abs(mean[4] - (1 + 0.095)) < 1e-6);
  const constant = new Float32Array(60).fill(0.25);
  const blurred = gaussianBlur(constant, shape, 1.5);
  for (const v of blurred) assert.ok(Math.abs(v - 0.25) < 1e-6);
  // An impulse spreads symmetrically and keeps its mass (away from the edges).
  const big: TensorShape = { channels: 1, height: 21, width: 21, layout: "NCHW" };
  const imp = new Float32Array(441);
  imp[10 * 21 + 10] = 1;
  const b = gaussianBlur(imp, big, 1);
  assert.ok(Math.abs(b.reduce((a, v) => a + v, 0) - 1) < 1e-5);
  assert.ok(Math.abs(b[10 * 21 + 9] - b[10 * 21 + 11]) < 1e-7);
  assert.ok(Math.abs(b[9 * 21 + 10] - b[10 * 21 + 9]) < 1e-7);
  // 1D Gaussian with sigma 1 at offset 1 over offset 0: exp(-1/2).
  assert.ok(Math.abs(b[10 * 21 + 11] / b[10 * 21 + 10] - Math.exp(-0.5)) < 1e-3);
});

Deno.test("spearman matches scipy.stats.spearmanr (ties averaged)", () => {
  assert.ok(Math.abs(spearman([1, 2, 2, 3, 5], [2, 1, 4, 4, 9]) - 0.7631578947368421) < 1e-12);
  assert.ok(
    Math.abs(spearman([3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8, 2, 8, 1, 8]) - 0.19885368120992467) <
      1e-12,
  );
  assert.equal(spearman([1, 1, 1], [1, 2, 3]), 0);
});

Deno.test("randomisation: shuffled weights keep their values, change the maps (low Spearman)", async () => {
  const bytes = regionModel();
  const layers = parameterLayers(decodeModel(bytes));
  assert.deepEqual(layers.map((l) => l.name), ["dense"]);
  assert.deepEqual(layers[0].initializers, ["w", "b"]);
  const shuffled = decodeModel(randomizeWeights(bytes, layers, "shuffle", 5));
  const before = tensorToFloat32(decodeModel(bytes).graph.initializers[0]);
  const after = tensorToFloat32(shuffled.graph.initializers[0]);
  assert.deepEqual(Array.from(after).sort(), Array.from(before).sort());
  assert.notDeepEqual(after, before);
  const again = tensorToFloat32(
    decodeModel(randomizeWeights(bytes, layers, "shuffle", 5)).graph.initializers[0],
  );
  assert.deepEqual(again, after);

  const x = texturedImage();
  const explain = (sc: BatchScorer, input: Float32Array, c: number) =>
    riseMap(sc, input, { classIndex: c, n: 400, seed: 2, cellSize: 4, centered: true });
  const full = await randomizationCheck({
    model: bytes,
    makeScorer: (b) => openScorer(b),
    dispose: (sc) => (sc as OrtScorer).release(),
    inputs: [x],
    classIndices: [0],
    explain,
    mode: "full",
    seed: 5,
  });
  assert.equal(full.steps.length, 1);
  assert.equal(full.steps[0].layersRandomized, 1);
  const rho = full.steps[0].spearman.mean;
  assert.ok(Math.abs(rho) < 0.3, `Spearman after shuffling ${rho}`);
  // Independent recomputation of the reported correlation.
  const trained = await openScorer(bytes);
  const rand = await openScorer(randomizeWeights(bytes, layers, "shuffle", 5));
  const r = spearman((await explain(trained, x, 0)).data, (await explain(rand, x, 0)).data);
  assert.ok(Math.abs(r - full.steps[0].perImage[0]) < 1e-9);
  await trained.release();
  await rand.release();

  const two = twoLayerModel();
  const cascade = await randomizationCheck({
    model: two,
    makeScorer: (b) => openScorer(b),
    dispose: (sc) => (sc as OrtScorer).release(),
    inputs: [x, x.map((v) => 1.4 - v)],
    explain,
    mode: "cascading",
    cascadeSteps: 2,
    weights: "gaussian",
  });
  assert.deepEqual(cascade.layers, ["dense1", "dense2"]);
  assert.deepEqual(cascade.steps.map((s) => s.layersRandomized), [1, 2]);
  assert.deepEqual(cascade.steps.map((s) => s.topLayer), ["dense2", "dense2"]);
  assert.deepEqual(cascade.steps.map((s) => s.deepestLayer), ["dense2", "dense1"]);
  // Randomising only the last layer keeps the region as the only input that matters (the
  // Gaussian draw may flip which class it drives, hence the absolute value); randomising the
  // first layer too spreads the dependence over the whole image.
  const [top, all] = cascade.steps.map((s) => Math.abs(s.spearman.mean));
  assert.ok(top > 0.8, `last layer only: |Spearman| ${top}`);
  assert.ok(all < top - 0.2, `all layers: |Spearman| ${all} vs ${top}`);
});

Deno.test("class mean maps and representative cases, on hand-checked values", () => {
  const m = (vals: number[]): SaliencyMap => ({
    width: 2,
    height: 1,
    data: Float32Array.from(vals),
  });
  const means = classMeanMaps([
    { map: m([0, 2]), label: "happy", pred: "happy", image: Uint8Array.from([10, 20]) },
    { map: m([3, 1]), label: "happy", pred: "neutral", image: Uint8Array.from([30, 41]) },
    { map: m([5, 5]), label: "neutral", pred: "neutral" },
  ], { classes: ["neutral", "happy", "sad"] });
  assert.deepEqual(means.map((c) => [c.className, c.count]), [["neutral", 1], ["happy", 2], [
    "sad",
    0,
  ]]);
  // minmax: [0, 1] and [1, 0] -> mean [0.5, 0.5]; a constant map becomes 0.
  assert.deepEqual(Array.from(means[1].mean.data), [0.5, 0.5]);
  assert.deepEqual(Array.from(means[0].mean.data), [0, 0]);
  assert.deepEqual(Array.from(means[1].meanImage!), [20, 31]);
  const byPred = classMeanMaps([
    { map: m([0, 2]), label: "happy", pred: "happy" },
    { map: m([3, 1]), label: "happy", pred: "neutral" },
  ], { groupBy: "pred", normalize: "sum" });
  assert.deepEqual(byPred.map((c) => c.className), ["happy", "neutral"]);
  assert.deepEqual(Array.from(byPred[1].mean.data), [0.75, 0.25]);
  assert.deepEqual(Array.from(differenceMap(m([1, 2]), m([0.5, 3])).data), [0.5, -1]);
  assert.throws(
    () =>
      classMeanMaps([{ map: m([1, 2]), label: "a" }, {
        map: { width: 1, height: 2, data: new Float32Array(2) },
        label: "a",
      }]),
    /aligned faces of one size/,
  );

  const classes = ["happy", "neutral", "sad"];
  const p = (id: string, label: string, pred: string, probs: number[]) => ({
    id,
    label,
    pred,
    probs,
    classes,
  });
  const cases = representativeCases([
    p("a", "happy", "happy", [0.9, 0.05, 0.05]),
    p("b", "happy", "happy", [0.6, 0.3, 0.1]),
    p("c", "happy", "neutral", [0.2, 0.7, 0.1]),
    p("d", "happy", "neutral", [0.3, 0.5, 0.2]),
    p("e", "happy", "sad", [0.1, 0.0, 0.9]),
    p("f", "happy", "neutral", [0.35, 0.4, 0.25]),
    p("g", "neutral", "happy", [0.99, 0.01, 0]),
  ], { perClass: 1 });
  assert.deepEqual(cases.map((c) => c.className), ["happy", "neutral"]);
  assert.deepEqual(cases[0].correct.map((c) => c.id), ["a"]);
  assert.deepEqual(cases[0].mostConfidentWrong.map((c) => c.id), ["e"]);
  // remaining errors c (0.7), d (0.5), f (0.4): median 0.5 -> d
  assert.deepEqual(cases[0].wrong.map((c) => c.id), ["d"]);
  assert.equal(cases[0].wrong[0].labelProb, 0.3);
  assert.deepEqual(cases[1].correct, []);
  assert.deepEqual(cases[1].mostConfidentWrong.map((c) => c.id), ["g"]);
});

Deno.test("overlay PNG: size, colours of the peak and of the minimum; raster data", async () => {
  const map: SaliencyMap = {
    width: 4,
    height: 2,
    data: Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]),
  };
  const face = { width: 4, height: 2, channels: 1 as const, data: new Uint8Array(8).fill(100) };
  const png = await overlayPng(face, map, { scale: 1, alpha: 0.5 });
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [4, 2, 3]);
  const top = inferno(1);
  const bottom = inferno(0);
  assert.deepEqual(top, [252, 255, 164]);
  assert.deepEqual(bottom, [0, 0, 4]);
  assert.deepEqual(Array.from(data.subarray(21, 24)), top.map((c) => Math.round(50 + c / 2)));
  assert.deepEqual(Array.from(data.subarray(0, 3)), bottom.map((c) => Math.round(50 + c / 2)));
  // Default scale makes a 48x48 face 192x192; side by side is three panels wide.
  const big = await overlayPng(
    { width: 48, height: 48, channels: 1, data: new Uint8Array(48 * 48) },
    { width: 48, height: 48, data: new Float32Array(48 * 48) },
    { layout: "side-by-side" },
  );
  const meta = await sharp(big).metadata();
  assert.deepEqual([meta.width, meta.height], [576, 192]);
  const raster = mapRaster(map);
  assert.deepEqual([raster.width, raster.height, raster.values[5]], [4, 2, 5]);
  assert.deepEqual(mapPoints(map)[6], { x: 2, y: 1, value: 6 });
  const montage = await montagePng([[{ face, map, caption: "a" }, null], [{ face, map }]], {
    scale: 10,
    rowTitles: ["happy", "neutral"],
    columnTitles: ["correct", "wrong"],
  });
  const mm = await sharp(montage).metadata();
  assert.ok(mm.width! > 80 && mm.height! > 40);
});

Deno.test("a bad class name is a clear error listing the model's classes", async () => {
  const s = await openScorer(regionModel());
  assert.throws(() => classIndexOf(s, "joy"), /unknown class "joy".*happy, neutral/);
  assert.equal(classIndexOf(s, "neutral"), 1);
  await s.release();
});

/** A 48x48 gray model reading rows 8..23, columns 26..41, with its card, in a temp folder. */
async function cliFixture(): Promise<{ dir: string; onnx: string; card: string; image: string }> {
  const dir = await Deno.makeTempDir({ prefix: "saliency-test-" });
  const n = 48;
  const inside = (x: number, y: number) => y >= 8 && y < 24 && x >= 26 && x < 42;
  const { onnx, card } = await writeRegionModel(dir, n, inside, "class happy reads one rectangle");
  const pixels = Uint8Array.from({ length: n * n }, (_, p) => {
    const t = ((p * 7919) % 97) / 97;
    return inside(p % n, Math.floor(p / n)) ? Math.round(180 + 70 * t) : Math.round(120 * t);
  });
  const image = join(dir, "face.png");
  await Deno.writeFile(
    image,
    await sharp(pixels, { raw: { width: n, height: n, channels: 1 } }).png().toBuffer(),
  );
  return { dir, onnx, card, image };
}

async function runCli(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const { run } = await import("../lib/cli/saliency.ts");
  const errs: string[] = [];
  const outs: string[] = [];
  const origErr = console.error;
  const origLog = console.log;
  console.error = (...a: unknown[]) => errs.push(a.join(" "));
  console.log = (...a: unknown[]) => outs.push(a.join(" "));
  try {
    const code = await run(args);
    return { code, stderr: errs.join("\n"), stdout: outs.join("\n") };
  } finally {
    console.error = origErr;
    console.log = origLog;
  }
}

Deno.test("kit saliency: a bad class name exits 2 listing the model's classes", async () => {
  const f = await cliFixture();
  try {
    const base = ["--model", f.onnx, "--card", f.card, "--image", f.image];
    const bad = await runCli([...base, "--class", "joyful-ish"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown class "joyful-ish".*classes are: happy, neutral/);
    const absent = await runCli([...base, "--class", "anger"]);
    assert.equal(absent.code, 2);
    assert.match(absent.stderr, /no class "anger".*happy, neutral/);
    const noImage = await runCli([
      "--model",
      f.onnx,
      "--card",
      f.card,
      "--image",
      join(f.dir, "nope.png"),
    ]);
    assert.equal(noImage.code, 1);
    assert.match(noImage.stderr, /nope\.png: file not found/);
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("kit saliency: each method writes an overlay whose map peaks inside the region", async () => {
  const f = await cliFixture();
  try {
    for (const method of ["rise", "occlusion"]) {
      const out = join(f.dir, `${method}.png`);
      const json = join(f.dir, `${method}.json`);
      const r = await runCli([
        "--model",
        f.onnx,
        "--card",
        f.card,
        "--image",
        f.image,
        "--class",
        "happiness",
        "--method",
        method,
        "--n",
        "300",
        "--out",
        out,
        "--json",
        json,
        "--faithfulness",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /explained: +happy/);
      const meta = await sharp(out).metadata();
      assert.deepEqual([meta.width, meta.height], [192, 192]);
      const m = JSON.parse(await Deno.readTextFile(json));
      const values: number[] = m.values;
      const best = values.indexOf(Math.max(...values));
      const [x, y] = [best % 48, Math.floor(best / 48)];
      assert.ok(y >= 8 && y < 24 && x >= 26 && x < 42, `${method} peak at (${x}, ${y})`);
      const del = Number(/deletion AUC: +([0-9.]+) \(random map ([0-9.]+)/.exec(r.stdout)![1]);
      const delRandom = Number(
        /deletion AUC: +([0-9.]+) \(random map ([0-9.]+)/.exec(r.stdout)![2],
      );
      assert.ok(del < delRandom, `${method}: deletion AUC ${del} vs random ${delRandom}`);
    }
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("kit saliency --dataset: views, faithfulness and sanity check on a built manifest", async () => {
  const f = await cliFixture();
  try {
    const n = 48;
    const inside = (x: number, y: number) => y >= 8 && y < 24 && x >= 26 && x < 42;
    const lines = ["path,label,split"];
    for (let i = 0; i < 8; i++) {
      const bright = i < 4 ? 230 : 40; // happy faces light the region up, neutral ones do not
      const px = Uint8Array.from({ length: n * n }, (_, p) => {
        const t = ((p * 7919 + i * 131) % 97) / 97;
        return inside(p % n, Math.floor(p / n)) ? Math.round(bright + 20 * t) : Math.round(100 * t);
      });
      await Deno.writeFile(
        join(f.dir, `img${i}.png`),
        await sharp(px, { raw: { width: n, height: n, channels: 1 } }).png().toBuffer(),
      );
      lines.push(`img${i}.png,${i < 4 ? "happy" : "neutral"},test`);
    }
    await Deno.writeTextFile(join(f.dir, "broken.png"), "not a png");
    lines.push("broken.png,happy,test");
    await Deno.writeTextFile(join(f.dir, "manifest.csv"), lines.join("\n") + "\n");
    const out = join(f.dir, "views");
    const r = await runCli([
      "--model",
      f.onnx,
      "--card",
      f.card,
      "--dataset",
      join(f.dir, "manifest.csv"),
      "--split",
      "test",
      "--out",
      out,
      "--n",
      "200",
      "--per-class",
      "1",
      "--faithfulness",
      "--randomization",
      "full",
      "--rand-images",
      "2",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /broken\.png/);
    const summary = JSON.parse(await Deno.readTextFile(join(out, "summary.json")));
    assert.equal(summary.images, 8);
    assert.equal(summary.accuracy, 1);
    const faith = summary.faithfulness;
    assert.ok(faith.rise.deletionAuc.mean < faith.random.deletionAuc.mean);
    assert.equal(summary.randomization.length, 1);
    const means = JSON.parse(await Deno.readTextFile(join(out, "class_means.json")));
    assert.deepEqual(
      means.byLabel.map((m: { class: string; count: number }) => [m.class, m.count]),
      [["happy", 4], ["neutral", 4]],
    );
    const happy: number[] = means.byLabel[0].values;
    const best = happy.indexOf(Math.max(...happy));
    assert.ok(inside(best % n, Math.floor(best / n)), `happy mean map peak at ${best}`);
    const cases = (await Deno.readTextFile(join(out, "cases.csv"))).trim().split("\n");
    assert.equal(cases[0], "class,kind,id,label,pred,confidence,label_prob");
    assert.equal(cases.length, 3); // one correct case per class, no errors
    for (const png of ["class_means.png", "cases.png"]) {
      assert.ok((await sharp(join(out, png)).metadata()).width! > 100);
    }
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

const FER_DATA = Deno.env.get("FER_DATA");
const MINI_XCEPTION = join(cacheRoot(), "models", "mini-xception-fer2013.onnx");
const haveRealModel = await pathExists(MINI_XCEPTION);

Deno.test({
  name: "real data: mini-xception on FER2013 test faces, occlusion beats its own reverse",
  ignore: FER_DATA === undefined || !haveRealModel,
  fn: async () => {
    const model = await loadCard("mini-xception-fer2013");
    const scorer = await EngineScorer.open(model, { batchSize: 64 }, 64);
    try {
      const dir = join(FER_DATA!, "ferplus", "FER2013Test");
      const names = ["fer0032220.png", "fer0032222.png", "fer0032223.png"];
      const imgs = await Promise.all(
        names.map((n) => decodeImage({ kind: "file", path: join(dir, n) })),
      );
      // The adapter gives exactly the engine's probabilities.
      const direct = await scorer.engine.predictImages(imgs);
      const xs = imgs.map((img) => preprocess(img, model.card));
      const k = scorer.classes.length;
      const delGood: number[] = [],
        delBad: number[] = [],
        insGood: number[] = [],
        insBad: number[] = [];
      for (let i = 0; i < xs.length; i++) {
        const p = await scorer.predict(xs[i], 1);
        assert.deepEqual(Array.from(p), Array.from(direct.probs.subarray(i * k, (i + 1) * k)));
        const c = p.indexOf(Math.max(...p));
        const map = await occlusionMap(scorer, xs[i], { classIndex: c });
        assert.equal(map.width, 64);
        assert.ok(map.data.every(Number.isFinite));
        const rev = { ...map, data: map.data.map((v) => -v) };
        const a = await deletionInsertion(scorer, xs[i], map, { classIndex: c, steps: 16 });
        const b = await deletionInsertion(scorer, xs[i], rev, { classIndex: c, steps: 16 });
        delGood.push(a.deletion.auc);
        delBad.push(b.deletion.auc);
        insGood.push(a.insertion.auc);
        insBad.push(b.insertion.auc);
      }
      const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
      assert.ok(
        mean(delGood) < mean(delBad),
        `deletion ${mean(delGood)} vs reversed ${mean(delBad)}`,
      );
      assert.ok(
        mean(insGood) > mean(insBad),
        `insertion ${mean(insGood)} vs reversed ${mean(insBad)}`,
      );
    } finally {
      await scorer.dispose();
    }
  },
});
