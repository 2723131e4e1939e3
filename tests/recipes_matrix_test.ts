/**
 * The epoch recipes of the training matrix (models/recipes/train_epochs.py, data.py,
 * export_matrix.py):
 * - the recipe's data equals the kit's loaders (same ids per split, same labels, same pixels on a
 *   sample; ExpW faces cut by the kit's crop within the recipe's 8-bit rounding), and the carved
 *   validation parts are disjoint from training by subject / source image;
 * - a run interrupted after one epoch and resumed ends with the same weights and log as an
 *   uninterrupted run (CK+, 48 images, 2 epochs);
 * - every committed network of the matrix: card consistent with its training summary, ONNX
 *   logits equal PyTorch's (the reference export_matrix.py wrote) within 1e-4.
 * The first two need FER_DATA and Debian's python3-torch/opencv; they are ignored, with the
 * reason printed, where either is missing.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { PROJECT_ROOT } from "../lib/config.ts";
import { loadDataset } from "../lib/datasets/mod.ts";
import { readSampleImage } from "../lib/image.ts";
import type { ModelCard } from "../lib/models/card.ts";
import { listModels, loadCard } from "../lib/models/registry.ts";
import { preprocess } from "../lib/preprocess.ts";
import { matrixArch, type TrainedMatrix } from "../lib/matrix.ts";
import { grayInput, kitCommand, withTempDir } from "./support.ts";

const PYTHON = "/usr/bin/python3";
const RECIPES = join(PROJECT_ROOT, "models", "recipes");
const FER_DATA = Deno.env.get("FER_DATA");

function pythonHasTorch(): boolean {
  if (!existsSync(PYTHON)) return false;
  return new Deno.Command(PYTHON, {
    args: ["-c", "import torch, onnx, cv2"],
    stdout: "null",
    stderr: "null",
  }).outputSync().success;
}

const HAVE_TORCH = pythonHasTorch();
const ignoreData = !FER_DATA || !HAVE_TORCH;
if (ignoreData) {
  console.error(
    "recipes_matrix_test: data and training checks ignored: " +
      (!FER_DATA ? "FER_DATA is not set" : `${PYTHON} cannot import torch, onnx and cv2`),
  );
}

async function python(args: string[]): Promise<string> {
  const out = await new Deno.Command(PYTHON, {
    args,
    cwd: PROJECT_ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { OMP_NUM_THREADS: "1" },
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `${args.join(" ")} failed:\n${err}`);
  return new TextDecoder().decode(out.stdout);
}

interface RecipeDump {
  classes: string[];
  counts: Record<string, number>;
  ids: Record<"train" | "val" | "test", string[]>;
  groups: Record<"train" | "val" | "test", string[]>;
  sample: { part: string; id: string; label: string; pixelsBase64: string }[];
}

function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  return Uint8Array.from({ length: bin.length }, (_, i) => bin.charCodeAt(i));
}

for (const name of ["fer2013", "ferplus", "ckplus", "expw"]) {
  Deno.test({
    name: `recipes: ${name} data equals the kit's loader (ids, splits, labels, pixels)`,
    ignore: ignoreData,
    fn: async () => {
      const dump = JSON.parse(
        await python([
          join(RECIPES, "data.py"),
          "--dataset",
          name,
          "--data",
          FER_DATA!,
          "--cache",
          join(PROJECT_ROOT, ".cache", "recipes", "data"),
          "--every",
          "97",
        ]),
      ) as RecipeDump;
      const kit = await loadDataset(name, { dataRoot: FER_DATA });
      const kitIds = (split: string) =>
        kit.samples.filter((s) => s.split === split).map((s) => s.id).sort();
      const sorted = (a: string[]) => [...a].sort();
      assert.deepEqual(sorted(dump.ids.test), kitIds("test"), "test ids");
      if (name === "fer2013" || name === "ferplus") {
        assert.deepEqual(sorted(dump.ids.train), kitIds("train"), "train ids");
        assert.deepEqual(sorted(dump.ids.val), kitIds("val"), "val ids");
      } else {
        // Validation carved from the kit's train split, whole subjects / source images.
        assert.deepEqual(sorted([...dump.ids.train, ...dump.ids.val]), kitIds("train"));
        assert.ok(dump.ids.val.length > 0);
        const trainGroups = new Set(dump.groups.train);
        assert.ok(dump.groups.val.every((g) => !trainGroups.has(g)), "a group on both sides");
      }
      const byId = new Map(kit.samples.map((s) => [s.id, s]));
      assert.ok(dump.sample.length >= 10);
      const spec = { input: grayInput(48) };
      let maxDiff = 0;
      for (const r of dump.sample) {
        const s = byId.get(r.id)!;
        assert.equal(r.label, s.label, `${name} ${r.id}: label`);
        const kitPx = preprocess(await readSampleImage(s), spec);
        const px = decodeBase64(r.pixelsBase64);
        assert.equal(px.length, kitPx.length);
        for (let i = 0; i < px.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(px[i] - kitPx[i] * 255));
        }
      }
      // 48x48 PNGs are read as they are; ExpW crops are rounded to 8 bits by the recipe.
      assert.ok(maxDiff <= (name === "expw" ? 0.5001 : 1e-3), `${name}: max pixel diff ${maxDiff}`);
    },
  });
}

Deno.test({
  name: "recipes: a run interrupted after epoch 1 and resumed equals an uninterrupted run",
  ignore: ignoreData,
  fn: async () => {
    await withTempDir("resume-", async (dir) => {
      const run = (work: string, extra: string[]) =>
        python([
          join(RECIPES, "train_epochs.py"),
          ...["--arch", "simplecnn", "--dataset", "ckplus", "--id", "t", "--epochs", "2"],
          ...["--subset", "48", "--batch", "16", "--data", FER_DATA!, "--device", "cpu"],
          ...["--work", join(dir, work), "--logs", join(dir, work, "logs"), ...extra],
        ]);
      await Deno.mkdir(join(dir, "a", "data"), { recursive: true });
      await Deno.mkdir(join(dir, "b", "data"), { recursive: true });
      await run("a", []);
      const stopped = await run("b", ["--stop-after", "1"]);
      assert.match(stopped, /stopped after epoch 1/);
      assert.ok(!existsSync(join(dir, "b", "t.pt")), "an interrupted run wrote a final model");
      const resumed = await run("b", []);
      assert.match(resumed, /resuming after epoch 1/);
      const same = await python([
        "-c",
        "import sys, torch\n" +
        "a, b = (torch.load(p, map_location='cpu') for p in sys.argv[1:3])\n" +
        "keys = list(a['state_dict'])\n" +
        "assert keys == list(b['state_dict'])\n" +
        "d = max(float((a['state_dict'][k].double() - b['state_dict'][k].double()).abs().max())\n" +
        "        for k in keys if a['state_dict'][k].numel())\n" +
        "l = max(float((a['last_state_dict'][k].double() - b['last_state_dict'][k].double())" +
        ".abs().max()) for k in keys if a['last_state_dict'][k].numel())\n" +
        "print(d, l, a['summary']['best_epoch'], b['summary']['best_epoch'])",
        join(dir, "a", "t.pt"),
        join(dir, "b", "t.pt"),
      ]);
      const [best, last, ea, eb] = same.trim().split(" ").map(Number);
      assert.equal(best, 0, "best-epoch weights differ");
      assert.equal(last, 0, "last-epoch weights differ");
      assert.equal(ea, eb);
      const cols = (t: string) =>
        t.trim().split("\n").map((l) => l.split(",").slice(0, 9).join(","));
      assert.deepEqual(
        cols(await Deno.readTextFile(join(dir, "b", "logs", "t.epochs.csv"))),
        cols(await Deno.readTextFile(join(dir, "a", "logs", "t.epochs.csv"))),
      );
    });
  },
});

interface EpochSummary {
  id: string;
  dataset: string;
  classes: string[];
  epochs: number;
  seed: number;
  device: string;
  budget: "cpu" | "gpu";
  train_fraction: number;
  data_sha256: string;
  best_epoch: number;
  best: { val: { acc: number }; test: { acc: number; confusion: number[][] } };
}

/** Committed networks of the epoch recipes: cards with one of the recipe roles. */
async function recipeCards(): Promise<ModelCard[]> {
  const roles = ["training-matrix", "tao-split", "training-size"];
  return (await listModels()).map((m) => m.card).filter((c) =>
    c.source.kind === "repo" && (c.roles ?? []).some((r) => roles.includes(r)) &&
    c.training?.epochs !== undefined
  );
}

Deno.test("recipes: matrix cards agree with their summaries; ONNX equals PyTorch within 1e-4", async () => {
  const cards = await recipeCards();
  for (const card of cards) {
    const m = await loadCard(card.id); // validates the card and the ONNX SHA-256
    const summaryId = card.id.startsWith("tao-") ? card.id.replace(/^tao-/, "matrix-") : card.id;
    const s = JSON.parse(
      await Deno.readTextFile(join(PROJECT_ROOT, "models", "logs", `${summaryId}.summary.json`)),
    ) as EpochSummary;
    assert.deepEqual(card.output.classes, s.classes);
    assert.deepEqual(card.training, {
      dataset: s.dataset,
      split: "train",
      dataHash: s.data_sha256,
      epochs: s.epochs,
      seed: s.seed,
      device: s.device,
      budget: s.budget,
      ...(s.train_fraction < 1 ? { fraction: s.train_fraction } : {}),
    });
    if (!card.id.startsWith("tao-")) assert.equal(card.reportedAccuracy?.value, s.best.test.acc);
    const ref = JSON.parse(
      await Deno.readTextFile(join(RECIPES, "reference", `${card.id}.parity.json`)),
    ) as { shape: number[]; pixelsBase64: string; logits: number[][] };
    const [n, c, h, w] = ref.shape;
    const input = Float32Array.from(decodeBase64(ref.pixelsBase64), (v) => v / 255);
    const session = await ort.InferenceSession.create(m.onnxPath);
    try {
      const out = await session.run({ input: new ort.Tensor("float32", input, [n, c, h, w]) });
      const k = s.classes.length;
      assert.deepEqual(out.logits.dims, [n, k]);
      const logits = out.logits.data as Float32Array;
      let maxDiff = 0, spread = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < k; j++) {
          maxDiff = Math.max(maxDiff, Math.abs(logits[i * k + j] - ref.logits[i][j]));
          spread = Math.max(spread, Math.abs(ref.logits[i][j] - ref.logits[0][j]));
        }
      }
      assert.ok(spread > 1e-3, `${card.id}: reference logits do not depend on the input`);
      assert.ok(maxDiff <= 1e-4, `${card.id}: max |ONNX - PyTorch| = ${maxDiff}`);
    } finally {
      await session.release();
    }
  }
});

Deno.test({
  name:
    "recipes: `kit matrix --json` prints both matrices; in-domain cells equal the recipe's test",
  ignore: !FER_DATA || (await recipeCards()).length === 0,
  fn: async () => {
    const out = await kitCommand(["matrix", "--json", "--resamples", "100", "--data", FER_DATA!])
      .output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const m = JSON.parse(new TextDecoder().decode(out.stdout)) as TrainedMatrix;
    const matrixCards = (await recipeCards()).filter((c) => c.roles?.includes("training-matrix"));
    const archs = new Set(matrixCards.map((c) => matrixArch(c.id, c.training!.dataset)));
    assert.deepEqual(m.archs.map((a) => a.arch).sort(), [...archs].sort());
    for (const a of m.archs) {
      assert.equal(a.cells.length, a.train.length * a.test.length, `${a.arch}: a cell missing`);
      for (const c of a.cells.filter((c) => c.in_domain)) {
        const s = JSON.parse(
          await Deno.readTextFile(join(PROJECT_ROOT, "models", "logs", `${c.model}.summary.json`)),
        ) as EpochSummary;
        // The kit (onnxruntime, its own loaders and crops) against PyTorch on the recipe's data:
        // equal, but for ExpW, whose crops the recipe rounds to 8 bits (a face or two may flip).
        const tol = c.test === "expw" ? 2 / c.n : 1e-5;
        assert.ok(
          Math.abs(c.accuracy - s.best.test.acc) <= tol,
          `${c.model}: kit ${c.accuracy}, recipe ${s.best.test.acc}`,
        );
        assert.ok(c.ci.accuracy[0] <= c.accuracy && c.accuracy <= c.ci.accuracy[1]);
        assert.equal(c.ci.method, c.test === "ckplus" || c.test === "expw" ? "cluster" : "item");
      }
    }
  },
});
