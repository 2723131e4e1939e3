/**
 * Embeddings: the tensor read out of a model equals the same tensor computed another way.
 * - Built model (always runs): Conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm, with the
 *   pooled features computed by hand in JS from the same pixels; the cache is exact and resumes;
 *   a corrupt image is skipped and reported.
 * - Registered models (with FER_DATA and the setup's ONNX files): each card's embedding tensor
 *   equals the output of a truncated copy of the graph whose only output IS that tensor, run
 *   directly in onnxruntime on the same preprocessed faces.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { embeddingMatrix, extractEmbeddings } from "../lib/probe/embeddings.ts";
import { loadDataset } from "../lib/datasets/mod.ts";
import { readSampleImage } from "../lib/image.ts";
import type { ModelCard } from "../lib/models/card.ts";
import { listModels, loadCard, modelFromBytes } from "../lib/models/registry.ts";
import {
  attr,
  buildModel,
  decodeModel,
  encodeModel,
  floatTensor,
  node,
  type OnnxModel,
} from "../lib/onnx/mod.ts";
import { preprocess } from "../lib/preprocess.ts";
import { stratifiedSubsample } from "../lib/probe/mod.ts";
import { mulberry32, uniformFloat32 } from "../lib/random.ts";
import type { Sample } from "../lib/sample.ts";
import { EMOTIONS } from "../lib/taxonomy.ts";
import { grayInput, maxAbsDiff, randomBytes } from "./support.ts";

const H = 6;
const W = 6;
const rand = mulberry32(11);
const KERNEL = uniformFloat32(2 * 9, -1, 1, rand);
const KBIAS = Float32Array.from([0.1, -0.2]);
const GEMM_B = uniformFloat32(2 * 3, -1, 1, rand);
const GEMM_C = Float32Array.from([0, 0.5, -0.5]);

/** x [N,1,6,6] -> conv [N,2,4,4] -> relu -> pool [N,2,1,1] -> feat [N,2] -> logits [N,3]. */
function tinyModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: "x", dims: ["N", 1, H, W] }],
    outputs: [{ name: "logits", dims: ["N", 3] }],
    initializers: [
      floatTensor("k", [2, 1, 3, 3], KERNEL),
      floatTensor("kb", [2], KBIAS),
      floatTensor("B", [2, 3], GEMM_B),
      floatTensor("C", [3], GEMM_C),
    ],
    nodes: [
      node("Conv", ["x", "k", "kb"], ["conv"], { kernel_shape: attr.ints([3, 3]) }),
      node("Relu", ["conv"], ["relu"]),
      node("GlobalAveragePool", ["relu"], ["pool"]),
      node("Flatten", ["pool"], ["feat"], { axis: attr.int(1) }),
      node("Gemm", ["feat", "B", "C"], ["logits"]),
    ],
  });
}

const TINY_CARD: ModelCard = {
  id: "tiny-embedding-test",
  name: "tiny test model",
  description: "built by tests/embeddings_test.ts",
  source: { kind: "repo", path: "none" },
  format: "onnx",
  onnx: "none.onnx",
  input: grayInput(H, W),
  output: {
    name: "logits",
    kind: "logits",
    classes: ["angry", "happy", "sad"],
    sourceClasses: ["angry", "happy", "sad"],
  },
  embedding: { tensor: "feat", dim: 2 },
  preprocessingSource: "test",
  trainingData: "none",
  licence: "none",
  citation: "none",
};

/** The conv+relu map [2,4,4] and the pooled features [2] of a 6x6 gray image, by hand. */
function byHand(pixels: Uint8Array): { relu: number[]; feat: number[] } {
  const relu: number[] = [];
  const feat: number[] = [];
  for (let o = 0; o < 2; o++) {
    let sum = 0;
    for (let y = 0; y < H - 2; y++) {
      for (let x = 0; x < W - 2; x++) {
        let s = KBIAS[o];
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            s += KERNEL[o * 9 + ky * 3 + kx] * (pixels[(y + ky) * W + x + kx] / 255);
          }
        }
        const r = Math.max(0, s);
        relu.push(r);
        sum += r;
      }
    }
    feat.push(sum / 16);
  }
  return { relu, feat };
}

function tinySamples(n: number, seed: number): Sample[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `img${String(i).padStart(3, "0")}`,
    source: {
      kind: "pixels" as const,
      width: W,
      height: H,
      channels: 1 as const,
      data: randomBytes(H * W, r),
    },
    label: EMOTIONS[i % 3 === 0 ? 0 : i % 3 === 1 ? 3 : 4],
    split: "train" as const,
  }));
}

Deno.test("embeddings: built model's pooled features equal the hand computation; cache exact and resumable", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-kit-emb-" });
  try {
    const model = await modelFromBytes(tinyModel(), TINY_CARD, "tiny-card.json");
    const samples = tinySamples(10, 3);
    // One corrupt file among them: skipped and reported, never a crash.
    const corrupt = join(dir, "corrupt.png");
    await Deno.writeFile(corrupt, Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5]));
    samples.splice(5, 0, {
      id: "broken",
      source: { kind: "file", path: corrupt },
      label: "sad",
      split: "train",
    });
    const opts = { cacheDir: join(dir, "cache"), chunkSize: 4, batchSize: 3, progress: null };
    const first = await extractEmbeddings(model, samples, opts);
    assert.equal(first.dim, 2);
    assert.equal(first.tensor, "feat");
    assert.equal(first.cachedRows, 0);
    assert.deepEqual(first.ids, samples.filter((s) => s.id !== "broken").map((s) => s.id));
    assert.equal(first.unreadable.length, 1);
    assert.equal(first.unreadable[0].file, corrupt);
    const expected = samples.filter((s) => s.id !== "broken").flatMap((s) =>
      byHand((s.source as { data: Uint8Array }).data).feat
    );
    assert.ok(
      maxAbsDiff(first.features, expected) <= 1e-5,
      `max diff ${maxAbsDiff(first.features, expected)}`,
    );
    // The features are not trivially zero (the check above could not pass by accident).
    assert.ok(Math.max(...expected) > 0.05);

    // Second call: every row from the cache, bit-identical.
    const second = await extractEmbeddings(model, samples, opts);
    assert.equal(second.cachedRows, samples.length);
    assert.deepEqual(second.features, first.features);
    assert.deepEqual(second.unreadable, first.unreadable);

    // A run killed after some chunks: drop one chunk file; only its images are computed again.
    const chunks = [...Deno.readDirSync(first.cacheDir!)]
      .map((e) => e.name)
      .filter((name) => name.startsWith("chunk-"))
      .sort();
    assert.equal(chunks.length, 3, "11 images in chunks of 4");
    const dropped = JSON.parse(await Deno.readTextFile(join(first.cacheDir!, chunks[1])));
    const lost = Object.keys(dropped.entries).length;
    await Deno.remove(join(first.cacheDir!, chunks[1]));
    const third = await extractEmbeddings(model, samples, opts);
    assert.equal(third.cachedRows, samples.length - lost);
    assert.equal(third.computed, lost);
    assert.deepEqual(third.features, first.features);

    // Any inner tensor, not only the card's: the ReLU map (32 floats per image), its own cache key.
    const relu = await extractEmbeddings(model, samples.slice(0, 4), { ...opts, tensor: "relu" });
    assert.equal(relu.dim, 32);
    assert.notEqual(relu.cacheKey, first.cacheKey);
    const reluExpected = samples.slice(0, 4).flatMap((s) =>
      byHand((s.source as { data: Uint8Array }).data).relu
    );
    assert.ok(maxAbsDiff(relu.features, reluExpected) <= 1e-5);

    const m = embeddingMatrix(first);
    assert.equal(m.rows, 10);
    assert.equal(m.cols, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("embeddings: a tensor the model lacks, or a dim that disagrees with the card, is a clear error", async () => {
  const model = await modelFromBytes(tinyModel(), TINY_CARD, "tiny-card.json");
  const samples = tinySamples(2, 5);
  await assert.rejects(
    () => extractEmbeddings(model, samples, { tensor: "nope", cache: false, progress: null }),
    /"nope" is not in the model/,
  );
  const wrong = await modelFromBytes(tinyModel(), {
    ...TINY_CARD,
    embedding: { tensor: "feat", dim: 5 },
  }, "wrong-card.json");
  await assert.rejects(
    () => extractEmbeddings(wrong, samples, { cache: false, progress: null }),
    /wrong-card\.json \(field embedding\.dim\).*2 values per sample, the card says 5/,
  );
  const none = await modelFromBytes(
    tinyModel(),
    { ...TINY_CARD, embedding: undefined },
    "none-card.json",
  );
  await assert.rejects(
    () => extractEmbeddings(none, samples, { cache: false, progress: null }),
    /none-card\.json \(field embedding\)/,
  );
});

/** A copy of `model` whose only output is `tensor`, keeping only the nodes that feed it. */
function truncateTo(bytes: Uint8Array, tensor: string): Uint8Array {
  const m: OnnxModel = decodeModel(bytes);
  const g = m.graph;
  const needed = new Set([tensor]);
  const keep: boolean[] = new Array(g.nodes.length).fill(false);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (n.outputs.some((o) => needed.has(o))) {
      keep[i] = true;
      for (const inp of n.inputs) if (inp !== "") needed.add(inp);
    }
  }
  const nodes = g.nodes.filter((_, i) => keep[i]);
  assert.ok(nodes.length < g.nodes.length, "truncation removed nothing: the tensor is the output?");
  const declared = g.valueInfo.find((v) => v.name === tensor);
  const out = { name: tensor, elemType: declared?.elemType ?? "float32" as const };
  return encodeModel({
    ...m,
    graph: {
      ...g,
      nodes,
      initializers: g.initializers.filter((t) => needed.has(t.name)),
      outputs: [out],
    },
  });
}

const FER_DATA = Deno.env.get("FER_DATA");
const probeModels = (await listModels().catch(() => [])).filter((m) => m.available);

Deno.test({
  name:
    "embeddings: registered models' embedding tensors equal a truncated graph's output (real CK+ faces)",
  ignore: FER_DATA === undefined || probeModels.length === 0,
  fn: async () => {
    const ds = await loadDataset("ckplus", { split: "test" });
    const pick = stratifiedSubsample(ds.samples.map((s) => s.label), 12, 1).map((i) =>
      ds.samples[i]
    );
    let checked = 0;
    for (const listing of probeModels) {
      const model = await loadCard(listing.id);
      const emb = model.card.embedding;
      if (emb === undefined) continue;
      const got = await extractEmbeddings(model, pick, { cache: false, progress: null });
      assert.equal(got.dim, emb.dim);
      assert.equal(got.ids.length, pick.length);
      // The other way: preprocess the same faces, run the truncated graph directly.
      const truncated = truncateTo(await Deno.readFile(model.onnxPath), emb.tensor);
      const session = await ort.InferenceSession.create(truncated);
      try {
        const inp = model.card.input;
        const dims = inp.layout === "NCHW"
          ? [inp.channels, inp.height, inp.width]
          : [inp.height, inp.width, inp.channels];
        const fixed = inp.batch === "dynamic" ? null : inp.batch;
        for (let i = 0; i < pick.length; i++) {
          const img = await readSampleImage(pick[i], { useBox: false });
          const x = preprocess(img, model.card, pick[i].box);
          const batch = fixed ?? 1;
          const feed = new Float32Array(batch * x.length);
          feed.set(x);
          const out = await session.run({
            [inp.name]: new ort.Tensor("float32", feed, [batch, ...dims]),
          });
          const ref = (out[emb.tensor].data as Float32Array).subarray(0, emb.dim);
          const row = got.features.subarray(i * emb.dim, (i + 1) * emb.dim);
          const diff = maxAbsDiff(row, ref);
          assert.ok(diff <= 1e-5, `${listing.id} sample ${pick[i].id}: max diff ${diff}`);
          let norm = 0;
          for (const v of ref) norm += v * v;
          assert.ok(norm > 0, `${listing.id}: embedding is all zero`);
        }
      } finally {
        await session.release();
      }
      checked++;
    }
    assert.ok(checked > 0, "no registered model declares an embedding");
  },
});
