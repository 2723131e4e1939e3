/**
 * lib/engine.ts and lib/models/registry.ts on small ONNX models built by the test (lib/onnx
 * builder) and, when present, the registered models on real FER2013 images.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildModel, floatTensor, int64Tensor, node } from "../lib/onnx/mod.ts";
import { Engine, softmaxRows } from "../lib/engine.ts";
import {
  listModels,
  loadCard,
  ModelCardError,
  modelFromBytes,
  type ResolvedModel,
  validateCard,
} from "../lib/models/registry.ts";
import type { ModelCard } from "../lib/models/card.ts";
import { decodeImage } from "../lib/image.ts";
import { preprocess } from "../lib/preprocess.ts";
import { mulberry32, uniformFloat32 } from "../lib/random.ts";
import { grayInput, maxAbsDiff } from "./support.ts";

const FER_DATA = Deno.env.get("FER_DATA");

const r = mulberry32(3);
/** Weights of the tiny model: x[64] → relu(x·W1)[16] ("feat") → ·W2 + b [7] ("logits"). */
const W1 = uniformFloat32(64 * 16, -0.5, 0.5, r);
const W2 = uniformFloat32(16 * 7, -0.5, 0.5, r);
const B = uniformFloat32(7, -0.5, 0.5, r);

/** The tiny model's ONNX bytes, batch dimension symbolic ("N") or fixed. */
function tinyModel(batch: number | "N" = "N"): Uint8Array {
  return buildModel({
    inputs: [{ name: "x", dims: [batch, 1, 8, 8] }],
    outputs: [{ name: "logits", dims: [batch, 7] }],
    initializers: [
      floatTensor("W1", [64, 16], W1),
      floatTensor("W2", [16, 7], W2),
      floatTensor("B", [7], B),
      int64Tensor("shape", [2], [-1, 64]),
    ],
    nodes: [
      node("Reshape", ["x", "shape"], ["flat"]),
      node("MatMul", ["flat", "W1"], ["h"]),
      node("Relu", ["h"], ["feat"]),
      node("MatMul", ["feat", "W2"], ["z"]),
      node("Add", ["z", "B"], ["logits"]),
    ],
  });
}

/** Independent JS forward pass of the tiny model for one 64-float sample. */
function tinyForward(x: ArrayLike<number>): { feat: number[]; probs: number[] } {
  const feat = new Array<number>(16).fill(0);
  for (let j = 0; j < 16; j++) {
    let s = 0;
    for (let i = 0; i < 64; i++) s += x[i] * W1[i * 16 + j];
    feat[j] = Math.max(0, s);
  }
  const z = new Array<number>(7).fill(0);
  for (let k = 0; k < 7; k++) {
    let s = B[k];
    for (let j = 0; j < 16; j++) s += feat[j] * W2[j * 7 + k];
    z[k] = s;
  }
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return { feat, probs: e.map((v) => v / sum) };
}

function tinyCard(
  over: Partial<ModelCard> = {},
  input: Partial<ModelCard["input"]> = {},
): ModelCard {
  return {
    id: "tiny",
    name: "tiny test model",
    description: "built by tests/engine_test.ts",
    source: { kind: "repo", path: "none" },
    format: "onnx",
    onnx: "tiny.onnx",
    input: { ...grayInput(8), ...input },
    output: {
      name: "logits",
      kind: "logits",
      classes: ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
      sourceClasses: ["0", "1", "2", "3", "4", "5", "6"],
    },
    embedding: { tensor: "feat", dim: 16 },
    preprocessingSource: "test",
    trainingData: "none",
    licence: "none",
    citation: "none",
    ...over,
  };
}

function randomInput(n: number, seed: number): Float32Array {
  return uniformFloat32(n * 64, 0, 1, mulberry32(seed));
}

Deno.test("softmaxRows: stable and normalised", () => {
  const m = Float32Array.from([1000, 1001, 1002, 0, 0, 0]);
  softmaxRows(m, 2, 3);
  const e = [Math.exp(-2), Math.exp(-1), 1];
  const s = e[0] + e[1] + e[2];
  assert.ok(maxAbsDiff(m.subarray(0, 3), e.map((v) => v / s)) < 1e-7);
  assert.ok(maxAbsDiff(m.subarray(3), [1 / 3, 1 / 3, 1 / 3]) < 1e-7);
});

Deno.test("runTensor: probabilities and an exposed inner tensor equal a JS forward pass", async () => {
  const model = await modelFromBytes(tinyModel(), tinyCard());
  const engine = await Engine.create(model, { extraOutputs: ["feat"], batchSize: 4 });
  try {
    assert.deepEqual(engine.inputShape, [1, 1, 8, 8]);
    assert.equal(engine.dynamicBatch, true);
    const n = 9;
    const x = randomInput(n, 11);
    const { probs, extra } = await engine.runTensor(x, n);
    assert.equal(probs.length, n * 7);
    assert.equal(extra.feat.length, n * 16);
    for (let i = 0; i < n; i++) {
      const want = tinyForward(x.subarray(i * 64, (i + 1) * 64));
      assert.ok(maxAbsDiff(probs.subarray(i * 7, (i + 1) * 7), want.probs) < 1e-5);
      assert.ok(maxAbsDiff(extra.feat.subarray(i * 16, (i + 1) * 16), want.feat) < 1e-4);
    }
  } finally {
    await engine.dispose();
  }
});

Deno.test("batched results equal batch size 1 (dynamic batch), and fixed-batch models run", async () => {
  const n = 13;
  const x = randomInput(n, 5);
  const one = await Engine.create(await modelFromBytes(tinyModel(), tinyCard()), { batchSize: 1 });
  const many = await Engine.create(await modelFromBytes(tinyModel(), tinyCard()), {
    batchSize: 5,
  });
  const fixed = await Engine.create(
    await modelFromBytes(tinyModel(4), tinyCard({}, { batch: 4 })),
    { batchSize: 32 },
  );
  try {
    const a = (await one.runTensor(x, n)).probs;
    const b = (await many.runTensor(x, n)).probs;
    const c = (await fixed.runTensor(x, n)).probs;
    assert.equal(fixed.batchSize, 4, "a fixed batch dimension wins over the option");
    assert.ok(maxAbsDiff(a, b) < 1e-6, `batch 5 vs 1: ${maxAbsDiff(a, b)}`);
    assert.ok(maxAbsDiff(a, c) < 1e-6, `fixed batch 4 (last batch padded) vs 1`);
  } finally {
    await one.dispose();
    await many.dispose();
    await fixed.dispose();
  }
});

Deno.test("a card that disagrees with the model: clear errors naming the card and field", async () => {
  const bytes = tinyModel();
  const cases: [ModelCard, RegExp][] = [
    [tinyCard({}, { height: 48, width: 48 }), /input\.height.*height is 8, but the card says 48/],
    [tinyCard({}, { name: "input_1" }), /input\.name.*no input "input_1".*its inputs: x/],
    [
      tinyCard({}, {
        channels: 3,
        colorOrder: "RGB",
        normalization: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
      }),
      /input\.channels/,
    ],
    [
      tinyCard({
        output: {
          name: "logits",
          kind: "logits",
          classes: ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "contempt"],
          sourceClasses: ["0", "1", "2", "3", "4", "5", "6", "7"],
        },
      }),
      /output\.classes.*7 classes.*lists 8/,
    ],
    [tinyCard({}, { layout: "NHWC" }), /input\.(height|channels)/],
  ];
  for (const [card, re] of cases) {
    const m = await modelFromBytes(bytes, card, "/cards/tiny.json");
    await assert.rejects(() => Engine.create(m), (e: Error) => {
      assert.ok(e instanceof ModelCardError, String(e));
      assert.match(e.message, /^\/cards\/tiny\.json \(field /);
      assert.match(e.message, re);
      return true;
    });
  }
  // A fixed-batch graph whose card claims a dynamic batch.
  const m = await modelFromBytes(tinyModel(1), tinyCard(), "/cards/tiny.json");
  await assert.rejects(() => Engine.create(m), /input\.batch.*fixed batch of 1/);
});

Deno.test("registry: training and roles are checked, naming the field", () => {
  const card = (extra: Record<string, unknown>) => ({ ...tinyCard(), ...extra });
  assert.deepEqual(validateCard(card({ training: null }), "c.json").training, null);
  const ok = { dataset: "fer2013", split: "train", dataHash: "a".repeat(64) };
  assert.deepEqual(validateCard(card({ training: ok, roles: ["fer2013-cnn"] }), "c.json").roles, [
    "fer2013-cnn",
  ]);
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ training: "FER2013" }, /c\.json \(field training\)/],
    [{ training: { dataset: "fer2013" } }, /field training\.split/],
    [{ training: { ...ok, dataHash: "abc" } }, /field training\.dataHash/],
    [{ roles: ["backbone"] }, /field roles\[0\]\): unknown role "backbone"/],
  ];
  for (const [extra, re] of bad) assert.throws(() => validateCard(card(extra), "c.json"), re);
});

Deno.test("registry: missing model file, unknown class, .onnx without a card, good card", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-engine-" });
  try {
    const cardPath = join(dir, "tiny.json");
    await Deno.writeTextFile(cardPath, JSON.stringify(tinyCard()));
    await assert.rejects(() => loadCard(cardPath), (e: Error) => {
      assert.match(e.message, /tiny\.json \(field onnx\): model file .*tiny\.onnx not found/);
      assert.match(e.message, /deno task setup/);
      return true;
    });
    await Deno.writeFile(join(dir, "tiny.onnx"), tinyModel());
    const ok = await loadCard(cardPath);
    assert.equal(ok.onnxPath, join(dir, "tiny.onnx"));
    assert.match(ok.sha256, /^[0-9a-f]{64}$/);
    // The same model given as a path with --card.
    const byPath = await loadCard(join(dir, "tiny.onnx"), cardPath);
    assert.equal(byPath.sha256, ok.sha256);
    await assert.rejects(() => loadCard(join(dir, "tiny.onnx")), /needs a card.*--card/);

    const bad = tinyCard();
    (bad.output.classes as string[])[2] = "scared-ish";
    await Deno.writeTextFile(cardPath, JSON.stringify(bad));
    await assert.rejects(
      () => loadCard(cardPath),
      /tiny\.json \(field output\.classes\[2\]\): unknown class "scared-ish"/,
    );

    await Deno.writeTextFile(
      cardPath,
      JSON.stringify({ ...tinyCard(), onnxSha256: "0".repeat(64) }),
    );
    await assert.rejects(
      () => loadCard(cardPath),
      /field onnxSha256.*not the model the card describes/,
    );

    await Deno.writeTextFile(cardPath, "{ not json");
    await assert.rejects(() => loadCard(cardPath), /tiny\.json: not valid JSON/);

    await assert.rejects(() => loadCard("no-such-model-id"), /unknown model "no-such-model-id"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing execution provider falls back to cpu and says so", async () => {
  const x = randomInput(3, 8);
  const cpu = await Engine.create(await modelFromBytes(tinyModel(), tinyCard()));
  const want = (await cpu.runTensor(x, 3)).probs;
  await cpu.dispose();
  for (const provider of ["webgpu", "cuda"] as const) {
    const e = await Engine.create(await modelFromBytes(tinyModel(), tinyCard()), { provider });
    try {
      if (e.provider === "cpu") {
        assert.match(
          e.providerNote ?? "",
          new RegExp(`"${provider}" is not available.*ran on cpu`),
        );
      } else {
        assert.equal(e.provider, provider);
        assert.equal(e.providerNote, undefined);
      }
      assert.ok(maxAbsDiff((await e.runTensor(x, 3)).probs, want) < 1e-4);
    } finally {
      await e.dispose();
    }
  }
});

const registered = await listModels().catch(() => []);
const dynamicModel = registered.find((m) => m.available && m.id === "mini-xception-fer2013");

Deno.test({
  name: "registered model on real FER2013 images: batch of 8 equals one at a time",
  ignore: FER_DATA === undefined || dynamicModel === undefined,
  fn: async () => {
    const model: ResolvedModel = await loadCard(dynamicModel!.id);
    const dir = join(FER_DATA!, "ferplus", "FER2013Test");
    const names = (await Array.fromAsync(Deno.readDir(dir)))
      .map((e) => e.name).filter((n) => n.endsWith(".png")).sort().slice(0, 8);
    const imgs = await Promise.all(
      names.map((n) => decodeImage({ kind: "file", path: join(dir, n) })),
    );
    const one = await Engine.create(model, { batchSize: 1 });
    const many = await Engine.create(model, { batchSize: 8 });
    try {
      const a = await one.predictImages(imgs);
      const b = await many.predictImages(imgs);
      assert.ok(maxAbsDiff(a.probs, b.probs) < 1e-5);
      // predictImages = preprocess + runTensor.
      const t = preprocess(imgs[3], model.card);
      const c = await one.runTensor(t, 1);
      assert.ok(
        maxAbsDiff(c.probs, a.probs.subarray(3 * one.numClasses, 4 * one.numClasses)) < 1e-6,
      );
    } finally {
      await one.dispose();
      await many.dispose();
    }
  },
});
