/**
 * The trained-on-A / tested-on-B matrix: the label rule's scores against hand-computed numbers,
 * a whole matrix on built datasets (a built model whose embedding is computed here by hand), the
 * CLIs, and (with FER_DATA) a small real matrix where in-domain cells beat cross-domain ones.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { run as runCrossCli } from "../lib/cli/cross.ts";
import { run as runProbeCli } from "../lib/cli/probe.ts";
import { type CrossResult, parsePartSpec, runCross, scoreProbe } from "../lib/probe/cross.ts";
import { encodePng } from "../lib/image.ts";
import type { ModelCard } from "../lib/models/card.ts";
import { resolveOnnxPath } from "../lib/models/registry.ts";
import { attr, buildModel, floatTensor, node } from "../lib/onnx/mod.ts";
import { probePredict, stratifiedSubsample, trainProbe } from "../lib/probe/mod.ts";
import { mulberry32, uniformFloat32 } from "../lib/random.ts";
import { type Emotion, EMOTIONS } from "../lib/taxonomy.ts";
import { grayInput, pathExists, withTempDir } from "./support.ts";
import { mergeCaches } from "../lib/cache_merge.ts";
import { InputError } from "../lib/errors.ts";

const close = (a: number, b: number, tol = 1e-12) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

Deno.test("cross: scores follow the label rule (hand-computed example)", () => {
  const truth: Emotion[] = ["happy", "happy", "sad", "neutral", "contempt"];
  const pred: Emotion[] = ["happy", "sad", "sad", "happy", "happy"];
  // A probe without contempt (FER2013's seven classes).
  const s = scoreProbe(truth, pred, EMOTIONS.slice(0, 7));
  close(s.accuracy, 2 / 5);
  // happy: tp 1, predicted 3, support 2 -> P 1/3, R 1/2, F1 0.4; sad: P 1/2, R 1 -> 2/3;
  // neutral and contempt: 0. Macro over the test part's four classes.
  assert.deepEqual(Object.keys(s.per_class_f1), ["happy", "sad", "neutral", "contempt"]);
  close(s.per_class_f1.happy!, 0.4);
  close(s.per_class_f1.sad!, 2 / 3);
  close(s.per_class_f1.neutral!, 0);
  close(s.per_class_f1.contempt!, 0);
  close(s.macro_f1, (0.4 + 2 / 3) / 4);
  assert.equal(s.n_test, 5);
  assert.equal(s.n_unpredictable, 1);
  // Shared classes (happy, sad, neutral), items 0..3: truth h h s n, pred h s s h.
  assert.deepEqual(s.shared.classes, ["happy", "sad", "neutral"]);
  assert.equal(s.shared.n, 4);
  close(s.shared.accuracy, 2 / 4);
  close(s.shared.macro_f1, (0.5 + 2 / 3 + 0) / 3);
  // A probe with contempt: nothing is unpredictable, shared = everything.
  const all = scoreProbe(truth, pred, EMOTIONS);
  assert.equal(all.n_unpredictable, 0);
  close(all.shared.accuracy, all.accuracy);
  close(all.shared.macro_f1, all.macro_f1);
});

Deno.test("cross: dataset part specs", () => {
  assert.deepEqual(parsePartSpec("expw", "train"), { dataset: "expw", split: "train" });
  assert.deepEqual(parsePartSpec("fer2013:val", "train"), { dataset: "fer2013", split: "val" });
  assert.deepEqual(parsePartSpec("/data/my.csv:test", "train"), {
    dataset: "/data/my.csv",
    split: "test",
  });
  assert.throws(() => parsePartSpec("expw:training", "train"), /bad split "training"/);
  assert.throws(() => parsePartSpec(":test", "train"), /bad dataset part/);
});

// --- built datasets and model ----------------------------------------------------------------

const S = 6;

/** x [N,1,6,6] -> 2x2 average pool -> feat [N,9] (the embedding) -> Gemm -> logits [N,3]. */
function poolModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: "x", dims: ["N", 1, S, S] }],
    outputs: [{ name: "logits", dims: ["N", 3] }],
    initializers: [
      floatTensor("B", [9, 3], uniformFloat32(27, -0.5, 0.5, mulberry32(5))),
      floatTensor("C", [3], new Float32Array(3)),
    ],
    nodes: [
      node("AveragePool", ["x"], ["pool"], {
        kernel_shape: attr.ints([2, 2]),
        strides: attr.ints([2, 2]),
      }),
      node("Flatten", ["pool"], ["feat"], { axis: attr.int(1) }),
      node("Gemm", ["feat", "B", "C"], ["logits"]),
    ],
  });
}

const POOL_CARD: Omit<ModelCard, "onnx"> = {
  id: "pool-test",
  name: "pool test model",
  description: "built by tests/cross_test.ts",
  source: { kind: "repo", path: "none" },
  format: "onnx",
  input: grayInput(S),
  output: {
    name: "logits",
    kind: "logits",
    classes: ["angry", "happy", "sad"],
    sourceClasses: ["angry", "happy", "sad"],
  },
  embedding: { tensor: "feat", dim: 9 },
  preprocessingSource: "test",
  trainingData: "none",
  licence: "none",
  citation: "none",
};

/** A class's 6x6 pattern with seeded noise: bright left / top / bottom half, or flat gray. */
function face(label: Emotion, r: () => number): Uint8Array {
  return Uint8Array.from({ length: S * S }, (_, i) => {
    const y = Math.floor(i / S);
    const x = i % S;
    const bright = label === "angry"
      ? x < 3
      : label === "happy"
      ? y < 3
      : label === "sad"
      ? y >= 3
      : null;
    const base = bright === null ? 125 : bright ? 200 : 50;
    return Math.max(0, Math.min(255, Math.round(base + (r() - 0.5) * 60)));
  });
}

/** 2x2 block means / 255 of a 6x6 image, row-major: the model's `feat`, by hand. */
function blockMeans(px: Uint8Array): number[] {
  const out: number[] = [];
  for (let by = 0; by < 3; by++) {
    for (let bx = 0; bx < 3; bx++) {
      let s = 0;
      for (let dy = 0; dy < 2; dy++) {
        for (let dx = 0; dx < 2; dx++) s += px[(2 * by + dy) * S + 2 * bx + dx];
      }
      out.push(s / 4 / 255);
    }
  }
  return out;
}

interface Built {
  manifest: string;
  items: { label: Emotion; split: "train" | "test"; px: Uint8Array }[];
}

async function buildDataset(
  dir: string,
  name: string,
  classes: Emotion[],
  perClass: { train: number; test: number },
  seed: number,
): Promise<Built> {
  const r = mulberry32(seed);
  const root = join(dir, name);
  await Deno.mkdir(root, { recursive: true });
  const lines = ["path,label,split"];
  const items: Built["items"] = [];
  for (const split of ["train", "test"] as const) {
    for (const label of classes) {
      for (let i = 0; i < perClass[split]; i++) {
        const px = face(label, r);
        const file = `${split}_${label}_${i}.png`;
        await Deno.writeFile(
          join(root, file),
          await encodePng({ width: S, height: S, channels: 1, data: px }),
        );
        lines.push(`${file},${label},${split}`);
        items.push({ label, split, px });
      }
    }
  }
  const manifest = join(root, `${name}.csv`);
  await Deno.writeTextFile(manifest, lines.join("\n") + "\n");
  return { manifest, items };
}

async function captureStdout(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const original = console.log;
  const lines: string[] = [];
  console.log = (...a: unknown[]) => lines.push(a.map(String).join(" "));
  try {
    const code = await fn();
    return { code, out: lines.join("\n") };
  } finally {
    console.log = original;
  }
}

Deno.test("cross: a matrix on built datasets equals probes fitted on hand-computed embeddings", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-kit-cross-" });
  try {
    await Deno.writeFile(join(dir, "pool.onnx"), poolModel());
    const cardPath = join(dir, "pool.json");
    await Deno.writeTextFile(cardPath, JSON.stringify({ ...POOL_CARD, onnx: "pool.onnx" }));
    // A: angry, happy, sad. B: happy, sad, neutral (the same patterns for the shared classes).
    const a = await buildDataset(dir, "dsa", ["angry", "happy", "sad"], { train: 20, test: 10 }, 1);
    const b = await buildDataset(
      dir,
      "dsb",
      ["happy", "sad", "neutral"],
      { train: 12, test: 8 },
      2,
    );
    const settings = { maxTrain: 30, cache: false, progress: false, lambda: 0.01 };
    const parts = (m: string, split: "train" | "test") => ({ dataset: m, split });
    const res = await runCross(
      cardPath,
      [parts(a.manifest, "train"), parts(b.manifest, "train")],
      [parts(a.manifest, "test"), parts(b.manifest, "test")],
      settings,
    );
    assert.deepEqual(res.train_parts, ["dsa:train", "dsb:train"]);
    assert.deepEqual(res.test_parts, ["dsa:test", "dsb:test"]);
    assert.equal(res.dim, 9);
    assert.equal(res.cells.length, 4);
    // Training parts: A (60 items) subsampled to 30, stratified: 10 per class; B kept whole (36).
    assert.deepEqual(res.probes.map((p) => [p.n_available, p.n_train]), [[60, 30], [36, 30]]);
    assert.deepEqual(res.probes[0].classes, ["angry", "happy", "sad"]);
    assert.deepEqual(res.probes[1].classes, ["happy", "sad", "neutral"]);
    for (const p of res.probes) {
      assert.ok(p.converged && p.gradient_max_abs <= 1e-6, `${p.train}: ${p.stop}`);
    }

    const cell = (train: string, test: string) =>
      res.cells.find((c) => c.train === train && c.test === test)!;
    // In-domain on built data: the patterns are separable, so both diagonals are exact.
    assert.equal(cell("dsa:train", "dsa:test").accuracy, 1);
    assert.equal(cell("dsb:train", "dsb:test").accuracy, 1);
    assert.equal(cell("dsa:train", "dsa:test").macro_f1, 1);
    // A's probe on B: neutral (8 of 24) cannot be predicted; happy and sad are the same domain.
    const ab = cell("dsa:train", "dsb:test");
    assert.equal(ab.n_test, 24);
    assert.equal(ab.n_unpredictable, 8);
    assert.equal(ab.shared.accuracy, 1);
    close(ab.accuracy, 16 / 24);
    assert.equal(ab.per_class_f1.neutral, 0);
    assert.ok(ab.in_domain === false && cell("dsa:train", "dsa:test").in_domain === true);
    // B's probe on A: angry unpredictable (10 of 30).
    const ba = cell("dsb:train", "dsa:test");
    assert.equal(ba.n_unpredictable, 10);
    assert.equal(ba.shared.accuracy, 1);
    close(ba.accuracy, 20 / 30);

    // Every cell against an independent pipeline: embeddings computed by hand from the pixels,
    // the same seeded subsample of the training rows, a probe fitted on them, scored here.
    const handFeatures = (rows: Built["items"]) => ({
      rows: rows.length,
      cols: 9,
      data: Float64Array.from(rows.flatMap((it) => blockMeans(it.px))),
    });
    for (const [trainName, train] of [["dsa", a], ["dsb", b]] as const) {
      const rows = train.items.filter((it) => it.split === "train");
      const pick = stratifiedSubsample(rows.map((it) => it.label), 30, 2024).map((i) => rows[i]);
      const probe = trainProbe(handFeatures(pick), pick.map((it) => it.label), { lambda: 0.01 });
      for (const [testName, test] of [["dsa", a], ["dsb", b]] as const) {
        const testRows = test.items.filter((it) => it.split === "test");
        const pred = probePredict(probe, handFeatures(testRows));
        const ref = scoreProbe(testRows.map((it) => it.label), pred, probe.classes);
        const got = cell(`${trainName}:train`, `${testName}:test`);
        close(got.accuracy, ref.accuracy);
        close(got.macro_f1, ref.macro_f1);
        assert.deepEqual(got.per_class_f1, ref.per_class_f1);
      }
    }

    // The CLI: same numbers in --json, a Markdown record, exit 2 on bad flags.
    const record = join(dir, "cross.md");
    const flags = ["--max-train", "30", "--lambda", "0.01", "--no-cache", "--quiet", "--json"];
    const cli = await captureStdout(() =>
      runCrossCli([
        "--backbone",
        cardPath,
        "--datasets",
        `${a.manifest},${b.manifest}`,
        ...flags,
        "--record",
        record,
      ])
    );
    assert.equal(cli.code, 0);
    const fromCli = JSON.parse(cli.out) as CrossResult;
    assert.deepEqual(fromCli.cells, res.cells);
    const md = await Deno.readTextFile(record);
    assert.match(md, /<!-- cross:pool-test -->/);
    assert.match(md, /\| dsa:train +\| +\*\*100\.0\*\* +\| +66\.7 +\|/);
    // The record is formatted as `deno fmt --check` wants it (aligned table columns).
    assert.match(md, /\| -+ \| -+: \| -+: \|/);

    const one = await captureStdout(() =>
      runProbeCli([
        "--backbone",
        cardPath,
        "--train",
        `${b.manifest}:train`,
        "--test",
        `${a.manifest}:test`,
        ...flags,
      ])
    );
    assert.equal(one.code, 0);
    const oneRes = JSON.parse(one.out) as CrossResult;
    assert.deepEqual(oneRes.cells[0], { ...ba });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cross and probe --shard 0/3, 1/3, 2/3, merged: the unsharded results from the cache alone", async () => {
  await withTempDir("fer-kit-cross-shards-", async (dir) => {
    await Deno.writeFile(join(dir, "pool.onnx"), poolModel());
    const cardPath = join(dir, "pool.json");
    await Deno.writeTextFile(cardPath, JSON.stringify({ ...POOL_CARD, onnx: "pool.onnx" }));
    const a = await buildDataset(dir, "dsa", ["angry", "happy", "sad"], { train: 20, test: 10 }, 1);
    const b = await buildDataset(
      dir,
      "dsb",
      ["happy", "sad", "neutral"],
      { train: 12, test: 8 },
      2,
    );
    const cross = ["--backbone", cardPath, "--datasets", `${a.manifest},${b.manifest}`];
    const flags = ["--max-train", "30", "--lambda", "0.01", "--quiet"];
    const json = async (args: string[]) => {
      const r = await captureStdout(() => runCrossCli([...args, "--json"]));
      assert.equal(r.code, 0);
      // Everything but the run times.
      const { seconds: _, ...rest } = JSON.parse(r.out) as CrossResult;
      return { ...rest, probes: rest.probes.map(({ fit_seconds: _, ...p }) => p) };
    };
    const full = await json([...cross, ...flags, "--cache-dir", join(dir, "full")]);

    let computed = 0, inShard = 0;
    const shardDirs = [0, 1, 2].map((i) => join(dir, `shard-${i}`));
    for (let i = 0; i < 3; i++) {
      const r = await captureStdout(() =>
        runCrossCli([...cross, ...flags, "--shard", `${i}/3`, "--cache-dir", shardDirs[i]])
      );
      assert.equal(r.code, 0);
      // One line per distinct part: dsa:train (30 of 60), dsb:train (30 of 36), two test parts.
      const lines = [...r.out.matchAll(/: (\d+) of (\d+) items; 0 from cache, (\d+) computed/g)];
      assert.equal(lines.length, 4, r.out);
      for (const m of lines) {
        inShard += Number(m[1]);
        computed += Number(m[3]);
      }
    }
    assert.equal(inShard, 30 + 30 + 30 + 24, "every item of every part in exactly one shard");
    const merged = join(dir, "merged");
    const report = await mergeCaches(shardDirs, merged);
    assert.deepEqual(report.problems, []);
    assert.equal(Object.values(report.images).reduce((x, y) => x + y, 0), computed);

    // The merged cache holds every embedding: the runs write no chunk and give the same results.
    const chunks = async () => {
      const names: string[] = [];
      for await (const m of Deno.readDir(join(merged, "embeddings"))) {
        for await (const e of Deno.readDir(join(merged, "embeddings", m.name))) names.push(e.name);
      }
      return names.sort();
    };
    const before = await chunks();
    const cacheDir = ["--cache-dir", join(merged, "embeddings")];
    assert.deepEqual(await json([...cross, ...flags, ...cacheDir]), full);
    const probe = await captureStdout(() =>
      runProbeCli([
        "--backbone",
        cardPath,
        "--train",
        `${b.manifest}:train`,
        "--test",
        `${a.manifest}:test`,
        ...flags,
        ...cacheDir,
        "--json",
      ])
    );
    assert.equal(probe.code, 0);
    const cell = (JSON.parse(probe.out) as CrossResult).cells[0];
    assert.deepEqual(
      cell,
      full.cells.find((c) => c.train === "dsb:train" && c.test === "dsa:test"),
    );
    assert.deepEqual(await chunks(), before);
  });
});

Deno.test("cross: bad command lines exit 2 with a message", async () => {
  const errors: string[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => errors.push(a.map(String).join(" "));
  try {
    assert.equal(await runCrossCli(["--datasets", "expw"]), 2);
    assert.match(errors.join("\n"), /missing required option --backbone/);
    assert.equal(await runCrossCli(["--backbone", "x", "--max-train", "1.5"]), 2);
    assert.match(errors.join("\n"), /--max-train must be an integer >= 0, got "1.5"/);
    assert.equal(await runCrossCli(["--backbone", "x", "--datasets", "expw:test"]), 2);
    assert.equal(await runCrossCli(["--backbone", "x", "--bogus"]), 2);
    assert.equal(
      await runProbeCli(["--backbone", "x", "--train", "expw:nope", "--test", "ckplus"]),
      2,
    );
    assert.match(errors.join("\n"), /bad split "nope"/);
    assert.equal(
      await runProbeCli([
        "--backbone",
        "x",
        "--train",
        "expw",
        "--test",
        "ckplus",
        "--class-weight",
        "auto",
      ]),
      2,
    );
  } finally {
    console.error = original;
  }
});

const FER_DATA = Deno.env.get("FER_DATA");
const MINI_XCEPTION_CARD = join(import.meta.dirname!, "..", "models", "mini-xception-fer2013.json");
/** The card and the ONNX file `deno task setup` builds from it. */
const haveMiniXception = await pathExists(MINI_XCEPTION_CARD) &&
  await pathExists(
    resolveOnnxPath(
      JSON.parse(await Deno.readTextFile(MINI_XCEPTION_CARD)).onnx,
      MINI_XCEPTION_CARD,
    ),
  );

Deno.test({
  name: "cross: real data, mini-xception: in-domain cells beat cross-domain cells (FER2013 x CK+)",
  ignore: FER_DATA === undefined || !haveMiniXception,
  fn: async () => {
    const res = await runCross(
      "mini-xception-fer2013",
      [{ dataset: "fer2013", split: "train" }, { dataset: "ckplus", split: "train" }],
      [{ dataset: "fer2013", split: "test" }, { dataset: "ckplus", split: "test" }],
      { maxTrain: 500, maxTest: 300, progress: false },
    );
    const cell = (tr: string, te: string) =>
      res.cells.find((c) => c.train === tr && c.test === te)!;
    // Each test part: the probe trained on its own dataset is clearly better (measured here:
    // FER2013 test 61 % vs 30 %, CK+ test 85 % vs 43 %).
    assert.ok(
      cell("ckplus:train", "ckplus:test").accuracy >
        cell("fer2013:train", "ckplus:test").accuracy + 0.15,
    );
    assert.ok(
      cell("fer2013:train", "fer2013:test").accuracy >
        cell("ckplus:train", "fer2013:test").accuracy + 0.15,
    );
    // Subsample sizes: 500 of FER2013's 28,558 training faces; 300 of its 3,573 test faces.
    assert.deepEqual(res.probes.map((p) => p.n_train), [500, 500]);
    assert.equal(res.probes[0].n_available, 28558);
    assert.equal(cell("fer2013:train", "fer2013:test").n_test, 300);
    for (const c of res.cells) {
      const f1s = Object.values(c.per_class_f1) as number[];
      close(c.macro_f1, f1s.reduce((s, v) => s + v, 0) / f1s.length, 1e-12);
    }
    for (const p of res.probes) assert.ok(p.converged, `${p.train}: ${p.stop}`);
    // CK+ has contempt, FER2013 has neutral: each cross cell has items the probe cannot output.
    const fc = cell("fer2013:train", "ckplus:test");
    const cf = cell("ckplus:train", "fer2013:test");
    assert.equal(fc.n_unpredictable, fc.n_test - fc.shared.n);
    assert.ok(fc.n_unpredictable > 0 && cf.n_unpredictable > 0);
    assert.equal(cf.per_class_f1.neutral, 0);
  },
});

Deno.test("probe: a test part inside the training part is refused; a partial overlap warns", async () => {
  await withTempDir("fer-kit-cross-overlap-", async (dir) => {
    await Deno.writeFile(join(dir, "pool.onnx"), poolModel());
    const cardPath = join(dir, "pool.json");
    await Deno.writeTextFile(cardPath, JSON.stringify({ ...POOL_CARD, onnx: "pool.onnx" }));
    const a = await buildDataset(dir, "dsa", ["angry", "happy", "sad"], { train: 8, test: 4 }, 1);
    const settings = { cache: false, progress: false };
    await assert.rejects(
      () =>
        runCross(cardPath, [{ dataset: a.manifest, split: "test" }], [{
          dataset: a.manifest,
          split: "test",
        }], settings),
      (e: Error) =>
        e instanceof InputError && /every one of the 12 images of the test part/.test(e.message),
    );
    // One test image copied into the training part: scored, with a warning and a count.
    const lines = (await Deno.readTextFile(a.manifest)).trimEnd().split("\n");
    const firstTest = lines.find((l) => l.endsWith(",test"))!.split(",");
    await Deno.copyFile(join(dir, "dsa", firstTest[0]), join(dir, "dsa", "copy.png"));
    await Deno.writeTextFile(
      a.manifest,
      [...lines, `copy.png,${firstTest[1]},train`].join("\n") + "\n",
    );
    const warnings: string[] = [];
    const original = console.error;
    console.error = (...x: unknown[]) => warnings.push(x.map(String).join(" "));
    let r;
    try {
      r = await runCross(cardPath, [{ dataset: a.manifest, split: "train" }], [{
        dataset: a.manifest,
        split: "test",
      }], settings);
    } finally {
      console.error = original;
    }
    assert.equal(r.cells[0].shared_images, 1);
    assert.ok(
      warnings.some((w) => /1 of the 12 images of test part .* are also in training part/.test(w)),
      warnings.join("\n"),
    );
  });
});
