/**
 * lib/predict.ts and `kit predict` on a folder dataset and ONNX models built by the test:
 * canonical columns, skipped corrupt images, cache hits, and resuming after a killed run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { attr, buildModel, floatTensor, int64Tensor, node } from "../lib/onnx/mod.ts";
import sharp from "sharp";
import { decodeImage, encodePng } from "../lib/image.ts";
import { loadDataset } from "../lib/datasets/mod.ts";
import { loadCard } from "../lib/models/registry.ts";
import type { ModelCard } from "../lib/models/card.ts";
import { Engine } from "../lib/engine.ts";
import { modelKeyFields, predictDataset, predictionCacheKey } from "../lib/predict.ts";
import { PROJECT_ROOT } from "../lib/config.ts";
import { parsePredictions, readPredictions } from "../lib/predictions.ts";
import type { Emotion } from "../lib/taxonomy.ts";
import type { Sample } from "../lib/sample.ts";
import { createProgress, formatDuration, progressText } from "../lib/progress.ts";
import { mulberry32 } from "../lib/random.ts";
import { grayInput, kitCommand, randomBytes, withTempDir } from "./support.ts";

/** A conv net on [N,1,48,48]: `layers` 3x3 convs of `width` channels, pool, linear to `classes`. */
function convModel(width: number, layers: number, classes: number): Uint8Array {
  const r = mulberry32(width * 100 + layers);
  const inits = [int64Tensor("shape", [2], [-1, width])];
  const nodes = [];
  let prev = "x";
  let cin = 1;
  for (let l = 0; l < layers; l++) {
    inits.push(
      floatTensor(
        `w${l}`,
        [width, cin, 3, 3],
        Array.from({ length: width * cin * 9 }, () => (r() - 0.5) / Math.sqrt(cin * 9) * 2),
      ),
    );
    nodes.push(node("Conv", [prev, `w${l}`], [`c${l}`], { pads: attr.ints([1, 1, 1, 1]) }));
    nodes.push(node("Relu", [`c${l}`], [`a${l}`]));
    prev = `a${l}`;
    cin = width;
  }
  inits.push(
    floatTensor(
      "fc",
      [width, classes],
      Array.from({ length: width * classes }, () => (r() - 0.5) * 8),
    ),
  );
  nodes.push(node("GlobalAveragePool", [prev], ["pool"]));
  nodes.push(node("Reshape", ["pool", "shape"], ["feat"]));
  nodes.push(node("MatMul", ["feat", "fc"], ["logits"]));
  return buildModel({
    inputs: [{ name: "x", dims: ["N", 1, 48, 48] }],
    outputs: [{ name: "logits", dims: ["N", classes] }],
    initializers: inits,
    nodes,
  });
}

/** faceapi's class order (not the kit's): tests the mapping onto canonical columns. */
const SEVEN: Emotion[] = ["neutral", "happy", "sad", "angry", "fear", "disgust", "surprise"];

function card(classes: Emotion[], onnx = "model.onnx"): ModelCard {
  return {
    id: "conv-test",
    name: "conv test model",
    description: "built by tests/predict_test.ts",
    source: { kind: "repo", path: "none" },
    format: "onnx",
    onnx,
    input: { ...grayInput(48), normalization: { scale: 1 / 255, mean: [0.5], std: [0.5] } },
    output: { name: "logits", kind: "logits", classes, sourceClasses: classes.map(String) },
    preprocessingSource: "test",
    trainingData: "none",
    licence: "none",
    citation: "none",
  };
}

/** A class-per-folder dataset of `perClass` random 40x40 gray PNGs per class, plus one corrupt. */
async function makeDataset(root: string, perClass: number): Promise<void> {
  const r = mulberry32(77);
  for (const cls of ["happy", "sad", "angry", "surprise"]) {
    await Deno.mkdir(join(root, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const data = randomBytes(40 * 40, r);
      const png = await encodePng({ data, width: 40, height: 40, channels: 1 });
      await Deno.writeFile(join(root, cls, `${String(i).padStart(4, "0")}.png`), png);
    }
  }
  await Deno.writeFile(
    join(root, "sad", "9999-corrupt.png"),
    new TextEncoder().encode("not a png"),
  );
}

interface Fixture {
  dir: string;
  data: string;
  /** Prediction cache folder of this fixture (never the project's). */
  cacheDir: string;
}

function withFixture(perClass: number, fn: (f: Fixture) => Promise<void>): Promise<void> {
  return withTempDir("fer-predict-", async (dir) => {
    const data = join(dir, "data");
    await makeDataset(data, perClass);
    await fn({ dir, data, cacheDir: join(dir, "cache", "predictions") });
  });
}

async function writeModel(
  dir: string,
  name: string,
  bytes: Uint8Array,
  c: ModelCard,
): Promise<string> {
  await Deno.writeFile(join(dir, `${name}.onnx`), bytes);
  const path = join(dir, `${name}.json`);
  await Deno.writeTextFile(path, JSON.stringify({ ...c, onnx: `${name}.onnx` }));
  return path;
}

Deno.test("predictDataset: canonical columns, engine-checked probabilities, corrupt image reported, cache hit", async () => {
  await withFixture(6, async ({ dir, data, cacheDir }) => {
    const model = await loadCard(await writeModel(dir, "m7", convModel(4, 1, 7), card(SEVEN)));
    const ds = await loadDataset(data);
    assert.equal(ds.samples.length, 25);
    const res = await predictDataset(model, ds, {
      progress: false,
      batchSize: 4,
      chunkSize: 10,
      cacheDir,
    });
    assert.deepEqual(res.classes, [
      "angry",
      "disgust",
      "fear",
      "happy",
      "sad",
      "surprise",
      "neutral",
    ]);
    assert.equal(res.stats.total, 25);
    assert.equal(res.stats.predicted, 24);
    assert.equal(res.stats.inferred, 24);
    assert.equal(res.stats.unreadable.length, 1);
    assert.match(res.stats.unreadable[0].file, /9999-corrupt\.png$/);
    assert.ok(!res.rows.some((r) => r.id.includes("corrupt")));
    // 25 results in chunks of 10 (batches of 4 arrive 12 at a time): 10, 10 and the last 5,
    // never a small leftover chunk after each batch.
    const sizes: number[] = [];
    for await (const folder of Deno.readDir(cacheDir)) {
      if (!folder.isDirectory) continue;
      for await (const f of Deno.readDir(join(cacheDir, folder.name))) {
        if (!f.name.startsWith("chunk-")) continue;
        const chunk = JSON.parse(await Deno.readTextFile(join(cacheDir, folder.name, f.name)));
        sizes.push(Object.keys(chunk.entries).length);
      }
    }
    assert.deepEqual(sizes.sort((a, b) => a - b), [5, 10, 10]);

    // Independent path: decode, preprocess and run one image through the engine directly.
    const row = res.rows[7];
    const sample = ds.samples.find((s) => s.id === row.id)!;
    assert.equal(row.label, sample.label);
    const engine = await Engine.create(model);
    const { probs } = await engine.predictImages([await decodeImage(sample.source)]);
    await engine.dispose();
    for (let m = 0; m < 7; m++) {
      const col = res.classes.indexOf(SEVEN[m]);
      assert.ok(Math.abs(row.probs[col] - probs[m]) < 1e-6, `${SEVEN[m]}`);
    }
    let best = 0;
    for (let m = 1; m < 7; m++) if (probs[m] > probs[best]) best = m;
    assert.equal(row.pred, SEVEN[best]);
    assert.ok(Math.abs(row.probs.reduce((a, b) => a + b, 0) - 1) < 1e-5);

    // Second run: everything from the cache, nothing inferred, same table.
    const again = await predictDataset(model, ds, {
      progress: false,
      batchSize: 4,
      chunkSize: 10,
      cacheDir,
    });
    assert.equal(again.stats.inferred, 0);
    assert.equal(again.stats.fromCache, 25);
    assert.equal(again.stats.provider, "cache");
    assert.equal(again.stats.unreadable.length, 1, "unreadable images are remembered by the cache");
    assert.deepEqual(again.rows, res.rows);

    // A different preprocessing spec is a different cache entry.
    const other = {
      ...model,
      card: {
        ...model.card,
        input: { ...model.card.input, resize: "bilinear-tf-legacy" as const },
      },
    };
    const third = await predictDataset(other, ds, { progress: false, chunkSize: 10, cacheDir });
    assert.equal(third.stats.inferred, 24);
    assert.notEqual(third.stats.cacheKey, res.stats.cacheKey);
  });
});

Deno.test("images prepared on the worker thread give the same table as on the main thread", async () => {
  await withTempDir("fer-predict-worker-", async (dir) => {
    const model = await loadCard(await writeModel(dir, "m7", convModel(4, 1, 7), card(SEVEN)));
    const r = mulberry32(11);
    const samples: Sample[] = [];
    const add = (id: string, source: Sample["source"], box?: Sample["box"]) =>
      samples.push({ id, source, label: "happy", split: "test", ...(box ? { box } : {}) });
    const file = async (name: string, bytes: Uint8Array) => {
      await Deno.writeFile(join(dir, name), bytes);
      return { kind: "file" as const, path: join(dir, name) };
    };
    for (let i = 0; i < 70; i++) {
      const png = await encodePng({
        data: randomBytes(40 * 40, r),
        width: 40,
        height: 40,
        channels: 1,
      });
      add(`g${i}`, await file(`g${i}.png`, png));
    }
    // Formats the worker leaves to the main thread (sharp): JPEG, 16-bit PNG; an RGB PNG it does.
    const rgb = randomBytes(30 * 50 * 3, r);
    const raw = { raw: { width: 50, height: 30, channels: 3 as const } };
    add("jpeg", await file("c.jpg", new Uint8Array(await sharp(rgb, raw).jpeg().toBuffer())));
    add(
      "rgb",
      await file("c.png", await encodePng({ data: rgb, width: 50, height: 30, channels: 3 })),
    );
    add(
      "png16",
      await file(
        "w.png",
        new Uint8Array(await sharp(rgb, raw).png().toColourspace("rgb16").toBuffer()),
      ),
    );
    add("corrupt", await file("bad.png", new TextEncoder().encode("not a png")));
    add("missing", { kind: "file", path: join(dir, "nowhere.png") });
    const big = await file(
      "big.png",
      await encodePng({ data: randomBytes(64 * 64, r), width: 64, height: 64, channels: 1 }),
    );
    add("face-a", big, { x: 4, y: 6, width: 30, height: 28 });
    add("face-b", big, { x: 20, y: 10, width: 40, height: 40 });
    add("face-out", big, { x: 100, y: 100, width: 10, height: 10 });
    add("pixels", {
      kind: "pixels",
      width: 40,
      height: 40,
      channels: 1,
      data: randomBytes(1600, r),
    });
    add("again", samples[3].source); // the same image twice: predicted once
    const ds = { name: "mixed", samples, hash: "t" };
    const run = (prepareInWorker: boolean, batchSize: number) =>
      predictDataset(model, ds, { progress: false, cache: false, prepareInWorker, batchSize });
    for (const batchSize of [1, 4, 32]) {
      const main = await run(false, batchSize);
      const worker = await run(true, batchSize);
      assert.equal(main.stats.preparedInWorker, 0);
      // 70 gray PNGs, the RGB PNG and the two faces of the plain PNG.
      assert.equal(worker.stats.preparedInWorker, 73, `batch ${batchSize}`);
      assert.equal(worker.stats.inferred, main.stats.inferred);
      assert.equal(main.stats.inferred, 76);
      assert.deepEqual(worker.stats.unreadable, main.stats.unreadable);
      assert.deepEqual(
        main.stats.unreadable.map((u) => u.file.split("/").pop()),
        ["bad.png", "nowhere.png", "big.png"],
      );
      assert.deepEqual(worker.rows.map((x) => x.id), main.rows.map((x) => x.id));
      worker.rows.forEach((row, i) => {
        assert.deepEqual(Array.from(row.probs), Array.from(main.rows[i].probs), row.id);
      });
    }
    // The default: on the worker from 64 images to run, on the main thread below.
    assert.ok(
      (await predictDataset(model, ds, { progress: false, cache: false })).stats.preparedInWorker >
        0,
    );
    const few = { ...ds, samples: samples.slice(0, 10) };
    assert.equal(
      (await predictDataset(model, few, { progress: false, cache: false })).stats.preparedInWorker,
      0,
    );
  });
});

Deno.test("a model with contempt gets a p_contempt column; a CLI run writes CSV and skipped list", async () => {
  await withFixture(3, async ({ dir, data }) => {
    const eight: Emotion[] = [...SEVEN, "contempt"];
    const cardPath = await writeModel(dir, "m8", convModel(4, 1, 8), card(eight));
    const out = join(dir, "out", "preds.csv");
    const cmd = kitCommand(
      ["predict", "--model", cardPath, "--dataset", data, "--out", out, "--quiet"],
      { env: { FER_CACHE: join(dir, "cache") } },
    );
    const res = await cmd.output();
    const text = new TextDecoder().decode(res.stdout) + new TextDecoder().decode(res.stderr);
    assert.equal(res.code, 0, text);
    assert.match(text, /12 predictions/);
    assert.match(text, /skipped 1: 1 unreadable/);
    const table = await readPredictions(out);
    assert.equal(table.classes.length, 8);
    assert.equal(table.classes[7], "contempt");
    assert.equal(table.rows.length, 12);
    const skipped = await Deno.readTextFile(join(dir, "out", "preds.skipped.csv"));
    assert.match(skipped, /^id,file,reason\n,.*9999-corrupt\.png,/);

    const bad = await kitCommand(
      ["predict", "--model", cardPath, "--dataset", data, "--batch", "zero"],
    ).output();
    assert.equal(bad.code, 2);
    assert.match(new TextDecoder().decode(bad.stderr), /--batch must be an integer >= 1/);
  });
});

Deno.test("a killed run resumes where it stopped and ends with the same CSV as a clean run", async () => {
  await withFixture(100, async ({ dir, data }) => {
    // Heavy enough (3 convs of 32 channels at 48x48) that the run takes seconds.
    const cardPath = await writeModel(dir, "slow", convModel(32, 3, 7), card(SEVEN));
    const cli = (out: string, cache: string, extra: string[] = []) =>
      kitCommand([
        "predict",
        "--model",
        cardPath,
        "--dataset",
        data,
        "--out",
        out,
        "--chunk-size",
        "20",
        "--batch",
        "4",
        "--threads",
        "1",
        "--quiet",
        ...extra,
      ], { env: { FER_CACHE: cache } });
    const cache = join(dir, "cache-resume");
    const child = cli(join(dir, "killed.csv"), cache).spawn();
    // Wait for the first chunks to land, then kill the process outright.
    const chunks = async () => {
      try {
        const sub = (await Array.fromAsync(Deno.readDir(join(cache, "predictions"))))[0];
        if (sub === undefined) return 0;
        const files = await Array.fromAsync(Deno.readDir(join(cache, "predictions", sub.name)));
        return files.filter((f) => /^chunk-[0-9a-f]{64}\.json$/.test(f.name)).length;
      } catch {
        return 0;
      }
    };
    const deadline = Date.now() + 60_000;
    while ((await chunks()) < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill("SIGKILL");
    const killed = await child.output();
    assert.notEqual(killed.code, 0, "the first run was killed before it finished");
    const done = await chunks();
    assert.ok(done >= 2 && done < 21, `chunks written before the kill: ${done}`);
    await assert.rejects(() => Deno.stat(join(dir, "killed.csv")), "no CSV from a killed run");

    const resumed = await cli(join(dir, "resumed.csv"), cache).output();
    const rText = new TextDecoder().decode(resumed.stdout);
    assert.equal(resumed.code, 0, new TextDecoder().decode(resumed.stderr));
    const m = rText.match(/(\d+) from cache, (\d+) inferred/);
    assert.ok(m, rText);
    const [fromCache, inferred] = [Number(m[1]), Number(m[2])];
    assert.equal(fromCache, done * 20, `resumed: ${m[0]} after ${done} chunks`);
    // 401 samples, one unreadable (counted in its chunk, never inferred).
    assert.ok(fromCache + inferred >= 400 && fromCache + inferred <= 401, m[0]);

    const clean = await cli(join(dir, "clean.csv"), join(dir, "cache-clean"), ["--no-cache"])
      .output();
    assert.equal(clean.code, 0);
    const a = await Deno.readTextFile(join(dir, "resumed.csv"));
    const b = await Deno.readTextFile(join(dir, "clean.csv"));
    assert.equal(a, b);
    assert.equal(parsePredictions(a, "resumed.csv").rows.length, 400);
  });
});

Deno.test("progress: plain periodic lines with items/s and ETA, a redrawn bar on a TTY", () => {
  assert.equal(formatDuration(5), "5s");
  assert.equal(formatDuration(185), "3m05s");
  assert.equal(formatDuration(3720), "1h02m");
  assert.equal(progressText("p", 50, 200, 50, 10), "p 50/200 (25.0%) 5.0 items/s ETA 30s");
  let t = 0;
  const out: string[] = [];
  const plain = createProgress("run", 100, {
    tty: false,
    intervalSeconds: 10,
    now: () => t,
    write: (s) => out.push(s),
  });
  plain.set(20); // resumed from a cache: not counted in the rate
  t = 2000;
  plain.tick(10); // < 10 s since the first line: no new line
  t = 12000;
  plain.tick(10);
  plain.finish();
  assert.deepEqual(out, [
    "run 20/100 (20.0%) 0.0 items/s ETA ?\n",
    "run 40/100 (40.0%) 1.7 items/s ETA 36s\n",
    "run 40/100 in 12s (1.7 items/s)\n",
  ]);
  const bar: string[] = [];
  const tty = createProgress("run", 4, { tty: true, now: () => t, write: (s) => bar.push(s) });
  t += 1000;
  tty.tick(2);
  assert.equal(
    bar[0],
    `\r[${"#".repeat(12)}${".".repeat(12)}] run 2/4 (50.0%) 2.0 items/s ETA 1s\x1b[K`,
  );
});

Deno.test("prediction cache key: a detector stands in it by its card's id and ONNX hash", async () => {
  await withTempDir("fer-predict-key-", async (dir) => {
    const model = await loadCard(await writeModel(dir, "m7", convModel(4, 1, 7), card(SEVEN)));
    const yunet = JSON.parse(
      await Deno.readTextFile(join(PROJECT_ROOT, "models", "yunet-2023mar.json")),
    ) as { id: string; sha256: string };
    const fields = await modelKeyFields(model, "yunet", 0.8);
    assert.equal(fields.detect, `${yunet.id} sha256:${yunet.sha256}`);
    assert.equal(fields.detectThreshold, 0.8);
    assert.equal((await modelKeyFields(model, undefined, undefined)).detect, null);
    const keys = new Set([
      await predictionCacheKey(model, undefined, undefined),
      await predictionCacheKey(model, "yunet", undefined),
      await predictionCacheKey(model, "ultraface", undefined),
      await predictionCacheKey(model, "yunet", 0.8),
    ]);
    assert.equal(keys.size, 4);
  });
});
