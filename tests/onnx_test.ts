/**
 * ONNX tooling: models built with lib/onnx load in onnxruntime and give the numbers computed
 * independently in JS; decode/encode round-trips; exposeOutput returns the inner tensor.
 * The DenseNet-121 part uses the model the setup fetched (.cache/models) and is skipped
 * without it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { cacheRoot } from "../lib/config.ts";
import {
  attr,
  buildModel,
  decodeModel,
  encodeModel,
  exposeOutput,
  floatTensor,
  int64Tensor,
  listTensors,
  type ModelSpec,
  node,
  type OnnxModel,
  tensorToFloat32,
} from "../lib/onnx/mod.ts";
import { onnxType } from "../lib/onnx/schema.ts";
import { mulberry32, uniformFloat32 } from "../lib/random.ts";
import { runOnnx } from "./support.ts";

// Mask: 1 on the upper half of the 8x8 image, -0.5 on the lower half.
const MASK = Float32Array.from({ length: 64 }, (_, i) => (i < 32 ? 1 : -0.5));

/** Input [N,1,8,8] → Mul by mask → ReduceSum → [s, -s] → Softmax: two-class probabilities. */
function tinySpec(): ModelSpec {
  return {
    inputs: [{ name: "x", dims: ["N", 1, 8, 8] }],
    outputs: [{ name: "probs", dims: ["N", 2] }],
    initializers: [
      floatTensor("mask", [1, 1, 8, 8], MASK),
      int64Tensor("axes", [3], [1, 2, 3]),
      int64Tensor("one", [1], [1]),
    ],
    nodes: [
      node("Mul", ["x", "mask"], ["masked"]),
      node("ReduceSum", ["masked", "axes"], ["s"], { keepdims: attr.int(0) }),
      node("Unsqueeze", ["s", "one"], ["s1"]),
      node("Neg", ["s1"], ["neg"]),
      node("Concat", ["s1", "neg"], ["pair"], { axis: attr.int(1) }),
      node("Softmax", ["pair"], ["probs"], { axis: attr.int(1) }),
    ],
    opset: 17,
  };
}

function tinyModelBytes(): Uint8Array {
  return buildModel(tinySpec());
}

/** Independent JS computation of the tiny model for one image. */
function tinyExpected(img: Float32Array): [number, number] {
  let s = 0;
  for (let i = 0; i < 64; i++) s += img[i] * MASK[i];
  const p0 = 1 / (1 + Math.exp(-2 * s));
  return [p0, 1 - p0];
}

Deno.test("built tiny model runs in onnxruntime and matches a JS computation", async () => {
  const bytes = tinyModelBytes();
  const n = 5;
  const x = uniformFloat32(n * 64, -0.1, 0.1, mulberry32(1));
  const out = await runOnnx(bytes, { x: new ort.Tensor("float32", x, [n, 1, 8, 8]) });
  assert.deepEqual(out.probs.dims, [n, 2]);
  const probs = out.probs.data as Float32Array;
  for (let k = 0; k < n; k++) {
    const [p0, p1] = tinyExpected(x.subarray(k * 64, (k + 1) * 64));
    assert.ok(Math.abs(probs[2 * k] - p0) < 1e-6, `sample ${k}: ${probs[2 * k]} vs ${p0}`);
    assert.ok(Math.abs(probs[2 * k + 1] - p1) < 1e-6);
  }
  // Not trivially 0.5: the inputs were chosen so the classes differ.
  assert.ok(Math.abs(probs[0] - 0.5) > 1e-3);
});

Deno.test("decode → encode round-trips the tiny model exactly", () => {
  const bytes = tinyModelBytes();
  const m = decodeModel(bytes);
  assert.equal(m.irVersion, 8);
  assert.deepEqual(m.opsetImports, [{ domain: "", version: 17 }]);
  assert.deepEqual(m.graph.inputs[0], { name: "x", elemType: "float32", shape: ["N", 1, 8, 8] });
  assert.deepEqual(m.graph.nodes.map((n) => n.opType), [
    "Mul",
    "ReduceSum",
    "Unsqueeze",
    "Neg",
    "Concat",
    "Softmax",
  ]);
  assert.deepEqual(Array.from(tensorToFloat32(m.graph.initializers[0])), Array.from(MASK));
  const again = encodeModel(m);
  assert.deepEqual(again, bytes);
  assert.deepEqual(decodeModel(again), m);
});

Deno.test("int64 attributes beyond 2^53 survive as bigint; typed data fields become raw", () => {
  const big = 9223372036854775807n;
  const model: OnnxModel = decodeModel(buildModel({
    inputs: [{ name: "x", dims: [4] }],
    outputs: [{ name: "y", dims: [4] }],
    nodes: [node("Identity", ["x"], ["y"], { big: attr.int(big), small: attr.ints([-1, 3]) })],
  }));
  const attrs = model.graph.nodes[0].attributes;
  assert.deepEqual(attrs[0], { name: "big", type: "int", value: big });
  assert.deepEqual(attrs[1], { name: "small", type: "ints", value: [-1, 3] });

  // A TensorProto written with float_data (as some exporters do) decodes to the same raw bytes.
  const T = onnxType("ModelProto");
  const legacy = T.encode(T.fromObject({
    ir_version: 7,
    opset_import: [{ domain: "", version: 13 }],
    graph: {
      name: "g",
      initializer: [{ name: "w", data_type: 1, dims: [3], float_data: [1.5, -2, 0.25] }],
      output: [{
        name: "w",
        type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 3 }] } } },
      }],
    },
  })).finish();
  const w = decodeModel(legacy).graph.initializers[0];
  assert.deepEqual(Array.from(tensorToFloat32(w)), [1.5, -2, 0.25]);
});

Deno.test("bad bytes and bad wiring give clear errors", () => {
  assert.throws(
    () => decodeModel(Uint8Array.from([0x0a, 0xff, 0xff, 0x01]), "broken.onnx"),
    /broken\.onnx: not a valid ONNX protobuf/,
  );
  assert.throws(
    () =>
      buildModel({
        inputs: [{ name: "x", dims: [1] }],
        outputs: [{ name: "y", dims: [1] }],
        nodes: [node("Add", ["x", "missing"], ["y"])],
      }),
    /reads "missing"/,
  );
});

Deno.test("exposeOutput returns the inner tensor, equal to a truncated model's output", async () => {
  const bytes = tinyModelBytes();
  const names = listTensors(bytes);
  assert.deepEqual(
    names.filter((t) => t.kind === "node").map((t) => t.name),
    ["masked", "s", "s1", "neg", "pair", "probs"],
  );
  assert.equal(names.find((t) => t.name === "probs")?.isOutput, true);
  assert.deepEqual(names.find((t) => t.name === "mask")?.dims, [1, 1, 8, 8]);

  const exposed = exposeOutput(bytes, "s1", { shape: ["N", 1] });
  assert.deepEqual(decodeModel(exposed).graph.outputs.map((o) => o.name), ["probs", "s1"]);
  assert.equal(exposeOutput(exposed, "s1"), exposed, "already exposed: unchanged");
  assert.throws(() => exposeOutput(bytes, "nope"), /tensor "nope" is not in the model/);

  // The same tensor computed another way: a model truncated at s1.
  const spec = tinySpec();
  spec.nodes = spec.nodes.slice(0, 3);
  spec.outputs = [{ name: "s1", dims: ["N", 1] }];
  const truncated = buildModel(spec);

  const x = uniformFloat32(3 * 64, -1, 1, mulberry32(7));
  const feeds = { x: new ort.Tensor("float32", x, [3, 1, 8, 8]) };
  const a = await runOnnx(exposed, feeds);
  const b = await runOnnx(truncated, feeds);
  assert.deepEqual(a.s1.dims, [3, 1]);
  assert.deepEqual(Array.from(a.s1.data as Float32Array), Array.from(b.s1.data as Float32Array));
  // And by hand: s = Σ x·mask.
  for (let k = 0; k < 3; k++) {
    let s = 0;
    for (let i = 0; i < 64; i++) s += x[k * 64 + i] * MASK[i];
    assert.ok(Math.abs((a.s1.data as Float32Array)[k] - s) < 1e-5);
  }
});

const DENSENET = join(cacheRoot(), "models", "densenet121-faceplugin.onnx");
const haveDensenet = (() => {
  try {
    return Deno.statSync(DENSENET).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "DenseNet-121 (faceplugin): re-encode is faithful; exposed embedding × classifier = logits",
  ignore: !haveDensenet,
  fn: async () => {
    const bytes = await Deno.readFile(DENSENET);
    const m = decodeModel(bytes, DENSENET);
    assert.equal(m.graph.nodes.length, 375);
    const last = m.graph.nodes[m.graph.nodes.length - 1];
    assert.equal(last.opType, "Gemm");
    const embName = last.inputs[0];
    const exposed = exposeOutput(bytes, embName);
    const reencoded = encodeModel(m);

    const x = uniformFloat32(3 * 224 * 224, 0, 1, mulberry32(3));
    const feeds = { input: new ort.Tensor("float32", x, [1, 3, 224, 224]) };
    const a = await runOnnx(exposed, feeds);
    const b = await runOnnx(reencoded, feeds);
    assert.deepEqual(
      Array.from(a.output.data as Float32Array),
      Array.from(b.output.data as Float32Array),
    );
    const emb = a[embName].data as Float32Array;
    assert.equal(emb.length, 1024);

    // logits = W·emb + b, with W [7,1024] and b [7] read from the decoded initializers.
    const init = (name: string) => m.graph.initializers.find((t) => t.name === name)!;
    const W = tensorToFloat32(init(last.inputs[1]));
    const bias = tensorToFloat32(init(last.inputs[2]));
    const logits = a.output.data as Float32Array;
    for (let c = 0; c < 7; c++) {
      let s = bias[c];
      for (let j = 0; j < 1024; j++) s += W[c * 1024 + j] * emb[j];
      assert.ok(Math.abs(s - logits[c]) < 1e-4, `class ${c}: ${s} vs ${logits[c]}`);
    }
  },
});
