/**
 * TF.js → ONNX converter checked against TF.js itself (npm @tensorflow/tfjs, CPU backend):
 * - a TF.js graph model built by the test (every op kind of the Human emotion model) always runs;
 * - the real converted models (Human's emotion graph, face-api's FaceExpressionNet run by
 *   face-api's own code) need the npm cache made by `deno task setup` and are skipped without it.
 * Criterion: max |ONNX − TF.js| ≤ 1e-5 and the same argmax, on ≥ 20 random inputs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { cacheRoot } from "../lib/config.ts";
import {
  buildOnnx,
  convertedModelIds,
  convertModel,
  onnxPathOf,
  readCard,
  readHashFile,
} from "../lib/convert/mod.ts";
import { convertGraphModel, type GraphModelJson, type TfNode } from "../lib/convert/tfjs_graph.ts";
import { decodeWeightsGroup, type WeightsGroup } from "../lib/convert/tfjs_weights.ts";
import { FetchError, fetchNpmFiles, hasFiles, npmPackageDir } from "../lib/models/fetch.ts";
import { encodeModel, exposeOutput } from "../lib/onnx/mod.ts";
import { sha256Hex } from "../lib/fsutil.ts";
import { mulberry32, uniformFloat32 } from "../lib/random.ts";
import { runOnnx } from "./support.ts";

await tf.setBackend("cpu");

/** Max |a−b| and whether row-wise argmaxes agree (rows of `cols`). */
function compare(a: ArrayLike<number>, b: ArrayLike<number>, cols: number) {
  assert.equal(a.length, b.length);
  let maxDiff = 0;
  let argmaxAgree = true;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  for (let r = 0; r < a.length / cols; r++) {
    let ia = 0;
    let ib = 0;
    for (let c = 1; c < cols; c++) {
      if (a[r * cols + c] > a[r * cols + ia]) ia = c;
      if (b[r * cols + c] > b[r * cols + ib]) ib = c;
    }
    if (ia !== ib) argmaxAgree = false;
  }
  return { maxDiff, argmaxAgree };
}

/** An in-memory IOHandler for tf.loadGraphModel (TF.js's own loader reads the artifacts). */
function memoryHandler(
  json: GraphModelJson,
  specs: WeightsGroup[],
  bin: Uint8Array,
): tf.io.IOHandler {
  return {
    load: () =>
      Promise.resolve({
        modelTopology: json.modelTopology,
        format: "graph-model",
        weightSpecs: specs.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
        weightData: bin.slice().buffer,
        userDefinedMetadata: json.userDefinedMetadata as unknown as Record<string, object>,
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// A graph model made here, in TF.js's model.json format.

const b64 = (s: string) => btoa(s);
const ints = (v: number[]) => ({ list: { i: v.map(String) } });

function fixtureGraph(): { json: GraphModelJson; specs: WeightsGroup[]; bin: Uint8Array } {
  const consts: { name: string; shape: number[]; dtype: "float32" | "int32"; values: number[] }[] =
    [];
  const r = mulberry32(11);
  const rand = (n: number) => Array.from({ length: n }, () => r() * 2 - 1);
  consts.push({ name: "w1", shape: [3, 3, 2, 4], dtype: "float32", values: rand(72) });
  consts.push({ name: "b1", shape: [4], dtype: "float32", values: rand(4) });
  consts.push({ name: "dw", shape: [3, 3, 4, 1], dtype: "float32", values: rand(36) });
  consts.push({ name: "pw", shape: [1, 1, 4, 5], dtype: "float32", values: rand(20) });
  consts.push({ name: "pb", shape: [5], dtype: "float32", values: rand(5) });
  consts.push({ name: "res", shape: [1, 1, 4, 5], dtype: "float32", values: rand(20) });
  consts.push({ name: "rb", shape: [5], dtype: "float32", values: rand(5) });
  consts.push({ name: "axes", shape: [2], dtype: "int32", values: [1, 2] });
  const conv = (strides: number[], padding: string, fused: string[]) => ({
    strides: ints(strides),
    padding: { s: b64(padding) },
    dilations: ints([1, 1, 1, 1]),
    data_format: { s: b64("NHWC") },
    ...(fused.length ? { fused_ops: { list: { s: fused.map(b64) } }, num_args: { i: "1" } } : {}),
  });
  const nodes: TfNode[] = [
    ...consts.map((c) => ({ name: c.name, op: "Const", attr: {} })),
    {
      name: "x",
      op: "Placeholder",
      attr: {
        shape: { shape: { dim: [{ size: "-1" }, { size: "9" }, { size: "9" }, { size: "2" }] } },
        dtype: { type: "DT_FLOAT" },
      },
    },
    {
      name: "c1",
      op: "_FusedConv2D",
      input: ["x", "w1", "b1"],
      attr: conv([1, 2, 2, 1], "VALID", ["BiasAdd", "Relu"]),
    },
    {
      name: "d1",
      op: "DepthwiseConv2dNative",
      input: ["c1", "dw"],
      attr: conv([1, 1, 1, 1], "SAME", []),
    },
    {
      name: "p1",
      op: "_FusedConv2D",
      input: ["d1", "pw", "pb"],
      attr: conv([1, 1, 1, 1], "VALID", ["BiasAdd"]),
    },
    {
      name: "mp",
      op: "MaxPool",
      input: ["p1"],
      attr: {
        ksize: ints([1, 3, 3, 1]),
        strides: ints([1, 2, 2, 1]),
        padding: { s: b64("SAME") },
        data_format: { s: b64("NHWC") },
      },
    },
    {
      name: "r1",
      op: "_FusedConv2D",
      input: ["c1", "res", "rb"],
      attr: conv([1, 2, 2, 1], "SAME", ["BiasAdd"]),
    },
    { name: "add", op: "AddV2", input: ["mp", "r1"], attr: {} },
    { name: "relu", op: "Relu", input: ["add"], attr: {} },
    {
      name: "ap",
      op: "AvgPool",
      input: ["relu"],
      attr: {
        ksize: ints([1, 2, 2, 1]),
        strides: ints([1, 1, 1, 1]),
        padding: { s: b64("SAME") },
        data_format: { s: b64("NHWC") },
      },
    },
    { name: "mean", op: "Mean", input: ["ap", "axes"], attr: { keep_dims: { b: false } } },
    { name: "sm", op: "Softmax", input: ["mean"], attr: {} },
    { name: "Identity", op: "Identity", input: ["sm"], attr: {} },
  ];
  const specs: WeightsGroup[] = [{
    paths: ["fixture.bin"],
    weights: consts.map((c) => ({ name: c.name, shape: c.shape, dtype: c.dtype })),
  }];
  const parts = consts.map((c) =>
    new Uint8Array(
      (c.dtype === "float32" ? Float32Array.from(c.values) : Int32Array.from(c.values)).buffer,
    )
  );
  const bin = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    bin.set(p, off);
    off += p.length;
  }
  return {
    json: { format: "graph-model", modelTopology: { node: nodes, versions: {} } },
    specs,
    bin,
  };
}

Deno.test("converter: a built TF.js graph (fused conv, depthwise, pools, Mean, Softmax) matches TF.js", async () => {
  const { json, specs, bin } = fixtureGraph();
  const weights = new Map(decodeWeightsGroup(specs[0], bin, "fixture").map((w) => [w.name, w]));
  const onnx = encodeModel(convertGraphModel(json, weights, {
    globalAverages: [{ from: "relu", name: "pooled" }],
  }));
  const model = await tf.loadGraphModel(memoryHandler(json, specs, bin));
  const n = 20;
  const x = uniformFloat32(n * 9 * 9 * 2, -1, 1, mulberry32(5));
  const ref = model.execute(tf.tensor4d(x, [n, 9, 9, 2])) as tf.Tensor;
  const refData = await ref.data();
  const out = await runOnnx(exposeOutput(onnx, "pooled"), {
    x: new ort.Tensor("float32", x, [n, 9, 9, 2]),
  });
  assert.deepEqual(out.Identity.dims, [n, 5]);
  const { maxDiff, argmaxAgree } = compare(out.Identity.data as Float32Array, refData, 5);
  assert.ok(maxDiff <= 1e-5, `max diff ${maxDiff}`);
  assert.ok(argmaxAgree);
  // Not a degenerate output: the rows differ from one another.
  assert.ok(Math.abs(refData[0] - refData[5]) > 1e-4);
  // The added global average equals TF.js's mean of the same tensor.
  const relu = model.execute(tf.tensor4d(x, [n, 9, 9, 2]), "relu") as tf.Tensor;
  const pooled = await tf.mean(relu, [1, 2]).data();
  assert.ok(compare(out.pooled.data as Float32Array, pooled, 5).maxDiff <= 1e-5);
});

Deno.test("converter: unsupported ops and bad weights give errors naming the node or weight", () => {
  const { json, specs, bin } = fixtureGraph();
  const weights = new Map(decodeWeightsGroup(specs[0], bin, "fixture").map((w) => [w.name, w]));
  const bad = structuredClone(json);
  bad.modelTopology.node.find((n) => n.name === "relu")!.op = "Cumprod";
  assert.throws(() => convertGraphModel(bad, weights), /node "relu" \(Cumprod\): op not supported/);
  assert.throws(
    () => decodeWeightsGroup(specs[0], bin.subarray(0, 100), "short.bin"),
    /short\.bin: weight "w1" needs bytes 0\.\.288/,
  );
});

Deno.test("uint8-quantized weights dequantize as TF.js's decodeWeights does", () => {
  const group: WeightsGroup = {
    paths: ["q.bin"],
    weights: [{
      name: "q",
      shape: [4],
      dtype: "float32",
      quantization: { dtype: "uint8", scale: 0.0057930146946626555, min: -0.7125408074435067 },
    }],
  };
  const bytes = Uint8Array.of(0, 1, 128, 255);
  const ours = decodeWeightsGroup(group, bytes, "q.bin")[0].values;
  const theirs = tf.io.decodeWeights(
    bytes.slice().buffer,
    group.weights as tf.io.WeightsManifestEntry[],
  ).q
    .dataSync();
  assert.deepEqual(Array.from(ours), Array.from(theirs));
});

Deno.test("fetch: cached files are reused without npm; bad paths are refused", async () => {
  const tmp = await Deno.makeTempDir();
  const before = Deno.env.get("FER_CACHE");
  Deno.env.set("FER_CACHE", tmp);
  try {
    const dir = npmPackageDir("@scope/pkg", "1.2.3");
    assert.equal(dir, join(tmp, "npm", "@scope/pkg@1.2.3"));
    assert.equal(await hasFiles(dir, ["a/b.json"]), false);
    await Deno.mkdir(join(dir, "a"), { recursive: true });
    await Deno.writeTextFile(join(dir, "a/b.json"), "{}");
    await Deno.writeTextFile(
      join(dir, ".fetched.json"),
      JSON.stringify({
        package: "@scope/pkg",
        version: "1.2.3",
        integrity: "sha512-x",
        files: ["a/b.json"],
      }),
    );
    // Already extracted: returns at once (no npm call for this made-up package).
    assert.equal(await fetchNpmFiles("@scope/pkg", "1.2.3", ["a/b.json"]), dir);
    await assert.rejects(fetchNpmFiles("@scope/pkg", "1.2.3", ["../etc/passwd"]), FetchError);
  } finally {
    if (before === undefined) Deno.env.delete("FER_CACHE");
    else Deno.env.set("FER_CACHE", before);
    await Deno.remove(tmp, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// The real models, after `deno task setup`.

async function cacheReady(id: string): Promise<boolean> {
  try {
    const card = await readCard(id);
    if (card.source.kind !== "npm") return false;
    const dir = npmPackageDir(card.source.package, card.source.version);
    return (await hasFiles(dir, card.source.files)) &&
      (await readHashFile(onnxPathOf(card))) !== undefined;
  } catch {
    return false;
  }
}

const FER_MODEL_IDS = await convertedModelIds();
const ready = Object.fromEntries(
  await Promise.all(FER_MODEL_IDS.map(async (id) => [id, await cacheReady(id)] as const)),
);
for (const id of FER_MODEL_IDS) {
  if (!ready[id]) {
    console.warn(
      `convert_test: ${id} not fetched/converted: run \`deno task setup\` first; skipping`,
    );
  }
}

Deno.test({
  name: "mini-xception-fer2013: ONNX equals TF.js's own run of Human's emotion graph on 20 inputs",
  ignore: !ready["mini-xception-fer2013"],
  fn: async () => {
    const card = await readCard("mini-xception-fer2013");
    const src = card.source as { package: string; version: string };
    const dir = npmPackageDir(src.package, src.version);
    const json = JSON.parse(await Deno.readTextFile(join(dir, "models/emotion.json"))) as
      & GraphModelJson
      & {
        weightsManifest: WeightsGroup[];
      };
    const bin = await Deno.readFile(join(dir, "models/emotion.bin"));
    const model = await tf.loadGraphModel(memoryHandler(json, json.weightsManifest, bin));
    const onnx = exposeOutput(await Deno.readFile(onnxPathOf(card)), card.embedding!.tensor);
    const n = 20;
    // Inputs in the model's range: (gray/255 - 0.5) * 2 ∈ [-1, 1].
    const x = uniformFloat32(n * 64 * 64, -1, 1, mulberry32(21));
    const input = tf.tensor4d(x, [n, 64, 64, 1]);
    const ref = await (model.execute(input) as tf.Tensor).data();
    const out = await runOnnx(onnx, {
      [card.input.name]: new ort.Tensor("float32", x, [n, 64, 64, 1]),
    });
    const { maxDiff, argmaxAgree } = compare(out[card.output.name].data as Float32Array, ref, 7);
    console.log(
      `mini-xception-fer2013: max |ONNX - TF.js| = ${maxDiff.toExponential(2)} over ${n} inputs`,
    );
    assert.ok(maxDiff <= 1e-5, `max diff ${maxDiff}`);
    assert.ok(argmaxAgree, "argmax differs");
    // Probabilities: rows sum to 1.
    const p = out[card.output.name].data as Float32Array;
    assert.ok(Math.abs(p.slice(0, 7).reduce((a, b) => a + b, 0) - 1) < 1e-5);
    // Embedding = mean over H, W of the classifier conv's input, computed by TF.js.
    const add2 = model.execute(input, "StatefulPartitionedCall/model_1/add_2/add") as tf.Tensor;
    const emb = await tf.mean(add2, [1, 2]).data();
    const e = out[card.embedding!.tensor];
    assert.deepEqual(e.dims, [n, card.embedding!.dim]);
    assert.ok(compare(e.data as Float32Array, emb, 256).maxDiff <= 1e-5);
  },
});

interface FaceApiModule {
  FaceExpressionNet: new () => {
    loadFromWeightMap(m: tf.NamedTensorMap): void;
    forwardInput(input: unknown): tf.Tensor;
    faceFeatureExtractor: { forwardInput(input: unknown): tf.Tensor };
  };
  NetInput: new (inputs: tf.Tensor3D[]) => unknown;
}

/**
 * face-api's own ESM build, loaded against the kit's npm @tensorflow/tfjs. Its WebGL and WASM
 * backend imports are replaced by empty modules (only the CPU backend runs here).
 */
async function importFaceApi(dir: string): Promise<FaceApiModule> {
  const src = (await Deno.readTextFile(join(dir, "dist/face-api.esm-nobundle.js")))
    .replace('"@tensorflow/tfjs/dist/index.js"', '"@tensorflow/tfjs"')
    .replace('"@tensorflow/tfjs-backend-webgl/dist/index.js"', '"data:text/javascript,export{}"')
    .replace('"@tensorflow/tfjs-backend-wasm/dist/index.js"', '"data:text/javascript,export{}"');
  const tmp = join(cacheRoot(), "tmp");
  await Deno.mkdir(tmp, { recursive: true });
  const file = join(tmp, `face-api-${crypto.randomUUID().slice(0, 8)}.mjs`);
  await Deno.writeTextFile(file, src);
  try {
    return (await import(`file://${file}`)) as FaceApiModule;
  } finally {
    await Deno.remove(file);
  }
}

Deno.test({
  name: "faceapi-expression: ONNX equals face-api's own FaceExpressionNet on 20 RGB images",
  ignore: !ready["faceapi-expression"],
  fn: async () => {
    const card = await readCard("faceapi-expression");
    const src = card.source as { package: string; version: string };
    const dir = await fetchNpmFiles(src.package, src.version, [
      ...card.source.kind === "npm" ? card.source.files : [],
      "dist/face-api.esm-nobundle.js",
    ]);
    const faceapi = await importFaceApi(dir);
    const manifest = JSON.parse(
      await Deno.readTextFile(join(dir, "model/face_expression_model-weights_manifest.json")),
    ) as WeightsGroup[];
    const bin = await Deno.readFile(join(dir, "model/face_expression_model.bin"));
    const net = new faceapi.FaceExpressionNet();
    net.loadFromWeightMap(
      tf.io.decodeWeights(bin.slice().buffer, manifest[0].weights as tf.io.WeightsManifestEntry[]),
    );

    const n = 20;
    const hw = 112 * 112 * 3;
    const pixels = uniformFloat32(n * hw, 0, 255, mulberry32(31));
    const images = Array.from(
      { length: n },
      (_, i) => tf.tensor3d(pixels.subarray(i * hw, (i + 1) * hw), [112, 112, 3]),
    );
    const netInput = new faceapi.NetInput(images);
    const ref = await net.forwardInput(netInput).data();
    // Bottleneck features of the first 4 images (face-api's FaceFeatureExtractor).
    const refEmb = await net.faceFeatureExtractor.forwardInput(
      new faceapi.NetInput(images.slice(0, 4)),
    )
      .data();

    // The card's normalisation, in float32 as face-api does it: (x - mean) / 255.
    const { mean, std, scale } = card.input.normalization;
    const x = new Float32Array(pixels.length);
    for (let i = 0; i < x.length; i++) {
      x[i] = Math.fround(Math.fround(pixels[i] * scale - mean[i % 3]) / std[i % 3]);
    }
    const onnx = exposeOutput(await Deno.readFile(onnxPathOf(card)), card.embedding!.tensor);
    const out = await runOnnx(onnx, {
      [card.input.name]: new ort.Tensor("float32", x, [n, 112, 112, 3]),
    });
    const { maxDiff, argmaxAgree } = compare(out[card.output.name].data as Float32Array, ref, 7);
    console.log(
      `faceapi-expression: max |ONNX - face-api| = ${maxDiff.toExponential(2)} over ${n} images`,
    );
    assert.ok(maxDiff <= 1e-5, `max diff ${maxDiff}`);
    assert.ok(argmaxAgree, "argmax differs");
    const emb = out[card.embedding!.tensor];
    assert.deepEqual(emb.dims, [n, 256]);
    const embDiff = compare((emb.data as Float32Array).subarray(0, 4 * 256), refEmb, 256).maxDiff;
    assert.ok(embDiff <= 1e-4, `embedding diff ${embDiff}`);
  },
});

Deno.test({
  name:
    "densenet121-faceplugin: cached ONNX is the package's file byte for byte; setup is idempotent",
  ignore: !ready["densenet121-faceplugin"],
  fn: async () => {
    const card = await readCard("densenet121-faceplugin");
    const src = card.source as { package: string; version: string; files: string[] };
    const original = await Deno.readFile(
      join(npmPackageDir(src.package, src.version), src.files[0]),
    );
    const cached = await Deno.readFile(onnxPathOf(card));
    const sha = await sha256Hex(cached);
    assert.equal(sha, await sha256Hex(original));
    assert.equal((await readHashFile(onnxPathOf(card)))?.sha256, sha);
    assert.deepEqual(await buildOnnx(card, npmPackageDir(src.package, src.version)), original);
    const again = await convertModel(card.id);
    assert.equal(again.status, "cached");
    assert.equal(again.sha256, sha);
  },
});

Deno.test("convertModel: unknown id names the known models", async () => {
  await assert.rejects(convertModel("no-such-model"), /known FER models: densenet121-faceplugin/);
});
