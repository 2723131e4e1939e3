/**
 * A fixture data root and model registry, built by the tests (not a test file itself): tiny gray
 * faces in each publisher's layout (FER2013 original labels over FER+ folders with crowd votes,
 * CK+48 class folders, ExpW images with label.lst) and two tiny ONNX models with cards, roles and
 * training data. Every notebook runs on it in seconds (tests/notebooks_test.ts). Nothing here is
 * cut from real data: pixels are seeded patterns.
 */
import { dirname, join } from "node:path";
import sharp from "sharp";
import { buildModel, floatTensor, node } from "../lib/onnx/mod.ts";
import { mulberry32, uniformFloat32 } from "../lib/random.ts";
import { grayInput } from "./support.ts";

const N = 48;

/** FER+ vote columns, in label.csv order (then unknown, NF). */
const FERPLUS_CLASSES = [
  "neutral",
  "happiness",
  "surprise",
  "sadness",
  "anger",
  "disgust",
  "fear",
  "contempt",
];
/** FER2013's code of each FER+ class (contempt has none: it becomes disgust, code 1). */
const FER2013_CODE = [6, 3, 5, 4, 0, 1, 2, 1];

/** A seeded 48x48 gray face-sized pattern, brighter in the top half for even classes. */
function pixels(seed: number, cls: number): Uint8Array {
  const rand = mulberry32(seed);
  return Uint8Array.from({ length: N * N }, (_, p) => {
    const top = Math.floor(p / N) < N / 2;
    return Math.floor(rand() * 120) + (top === (cls % 2 === 0) ? 100 : 20);
  });
}

async function png(path: string, px: Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeFile(
    path,
    await sharp(px, { raw: { width: N, height: N, channels: 1 } }).png().toBuffer(),
  );
}

async function text(path: string, body: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeTextFile(path, body);
}

/** FER+ folders with votes and FER2013's original labels of the same images. */
async function writeFer(root: string): Promise<void> {
  const parts = [
    { usage: "Training", folder: "FER2013Train", perClass: 6 },
    { usage: "PublicTest", folder: "FER2013Valid", perClass: 2 },
    { usage: "PrivateTest", folder: "FER2013Test", perClass: 4 },
  ];
  const newRows: string[] = [];
  const original: string[] = [];
  let id = 0;
  for (const part of parts) {
    const labels: string[] = [];
    for (let k = 0; k < part.perClass; k++) {
      for (let c = 0; c < FERPLUS_CLASSES.length; c++) {
        const name = `fer${String(id).padStart(7, "0")}.png`;
        const votes = new Array<number>(10).fill(0);
        votes[c] = 7;
        votes[(c + 1 + k) % 8] += 3;
        await png(join(root, "ferplus", part.folder, name), pixels(id, c));
        labels.push(`${name},"(0, 0, 48, 48)",${votes.join(",")}`);
        newRows.push(`${part.usage},${name},${votes.join(",")}`);
        // Every seventh image carries a different original label (label noise).
        const code = FER2013_CODE[id % 7 === 3 ? (c + 1) % 8 : c];
        original.push(`${name},${part.usage},${code},1`);
        id++;
      }
    }
    await text(join(root, "ferplus", part.folder, "label.csv"), labels.join("\n") + "\n");
  }
  await text(
    join(root, "ferplus", "fer2013new.csv"),
    "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n" +
      newRows.join("\n") + "\n",
  );
  await text(
    join(root, "fer2013", "fer2013-original-labels.csv"),
    "image,Usage,emotion,certain\n" + original.join("\n") + "\n",
  );
}

/** CK+48 class folders: 28 subjects, one class each, one to three frames. */
async function writeCkplus(root: string): Promise<void> {
  const classes = ["anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"];
  for (let s = 0; s < 28; s++) {
    const subject = `S${String(10 + s).padStart(3, "0")}`;
    for (let f = 0; f < 1 + (s % 3); f++) {
      const name = `${subject}_001_0000001${f}.png`;
      await png(join(root, "ckplus", "CK+48", classes[s % 7], name), pixels(1000 + s * 10 + f, s));
    }
  }
}

/** ExpW: 56 photographs, one face each (the whole image), eight per class. */
async function writeExpw(root: string): Promise<void> {
  const lines: string[] = [];
  for (let i = 0; i < 56; i++) {
    const name = `face_${i}.jpg`;
    const px = pixels(2000 + i, i);
    const rgb = Uint8Array.from({ length: N * N * 3 }, (_, p) => px[Math.floor(p / 3)]);
    await Deno.mkdir(join(root, "expw", "Images"), { recursive: true });
    await Deno.writeFile(
      join(root, "expw", "Images", name),
      await sharp(rgb, { raw: { width: N, height: N, channels: 3 } }).jpeg().toBuffer(),
    );
    lines.push(`${name} 0 0 0 ${N} ${N} 50.0 ${i % 7}`);
  }
  await text(join(root, "expw", "label.lst"), lines.join("\n") + "\n");
}

/** Write the four datasets under `root`. */
export async function writeFixtureData(root: string): Promise<void> {
  await writeFer(root);
  await writeCkplus(root);
  await writeExpw(root);
}

/**
 * A tiny 7-class gray CNN stand-in: 48x48 → Flatten → Gemm(16) → Relu ("embedding") →
 * Gemm(7) logits, seeded weights, FER2013 class order.
 */
function tinyModel(seed: number): Uint8Array {
  const r = mulberry32(seed);
  return buildModel({
    inputs: [{ name: "x", dims: ["N", 1, N, N] }],
    outputs: [{ name: "logits", dims: ["N", 7] }],
    nodes: [
      node("Flatten", ["x"], ["f"], {}, "flatten"),
      node("Gemm", ["f", "w1", "b1"], ["h"], {}, "dense1"),
      node("Relu", ["h"], ["embedding"], {}, "relu"),
      node("Gemm", ["embedding", "w2", "b2"], ["logits"], {}, "dense2"),
    ],
    initializers: [
      floatTensor("w1", [N * N, 16], uniformFloat32(N * N * 16, -0.05, 0.05, r)),
      floatTensor("b1", [16], uniformFloat32(16, 0, 0.5, r)),
      floatTensor("w2", [16, 7], uniformFloat32(16 * 7, -1, 1, r)),
      floatTensor("b2", [7], uniformFloat32(7, -0.2, 0.2, r)),
    ],
  });
}

/**
 * Two registered tiny models under `dir` (a registry for FER_MODELS_DIR): `tiny-a` (trained on
 * FER2013 per its card; roles fer2013-cnn and probe-backbone) and `tiny-b` (training unknown;
 * role fer2013-cnn).
 */
export async function writeFixtureModels(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const models = [
    {
      id: "tiny-a",
      seed: 1,
      training: { dataset: "fer2013", split: "train" },
      roles: ["fer2013-cnn", "probe-backbone"],
    },
    { id: "tiny-b", seed: 2, training: null, roles: ["fer2013-cnn"] },
  ];
  for (const m of models) {
    await Deno.writeFile(join(dir, `${m.id}.onnx`), tinyModel(m.seed));
    await Deno.writeTextFile(
      join(dir, `${m.id}.json`),
      JSON.stringify({
        id: m.id,
        name: `${m.id} (test model)`,
        description: "a seeded random network for the notebook tests",
        source: { kind: "repo", path: `${m.id}.onnx` },
        format: "onnx",
        onnx: `${m.id}.onnx`,
        input: grayInput(N),
        output: {
          name: "logits",
          kind: "logits",
          classes: ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
          sourceClasses: ["0", "1", "2", "3", "4", "5", "6"],
        },
        embedding: { tensor: "embedding", dim: 16 },
        preprocessingSource: "test",
        trainingData: m.training ? "FER2013 Training (fixture)" : "none",
        training: m.training,
        roles: m.roles,
        reportedAccuracy: { value: 0.5, dataset: "fixture" },
        licence: "test",
        citation: "test",
      }),
    );
  }
}
