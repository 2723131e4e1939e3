/**
 * lib/provider.ts: the requested execution provider reaches every session the kit opens
 * (classifier engine, embeddings, saliency scorers, face detectors, `kit predict` and child
 * processes through FER_PROVIDER), a provider that cannot start falls back to cpu with the reason
 * recorded, and `--strict` stops instead. Runs on any machine: where a GPU provider does start,
 * the tests check that it was used instead of the fallback.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { PROJECT_ROOT } from "../lib/config.ts";
import { Engine } from "../lib/engine.ts";
import { extractEmbeddings } from "../lib/probe/embeddings.ts";
import { loadCard } from "../lib/models/registry.ts";
import { EngineScorer } from "../lib/saliency/engine_scorer.ts";
import { OrtScorer } from "../lib/saliency/scorer.ts";
import { createDetector } from "../lib/detect/mod.ts";
import { detectorsDir } from "../lib/detect/card.ts";
import { encodePng } from "../lib/image.ts";
import { openSession } from "../lib/session.ts";
import {
  type Provider,
  PROVIDER_ENV,
  ProviderUnavailableError,
  readProducerLog,
  readSessionLog,
  SESSION_LOG_ENV,
  type SessionRecord,
  sessionsOpened,
  STRICT_ENV,
  summarizeSessions,
} from "../lib/provider.ts";
import { takeProviderFlags } from "../lib/cli/main.ts";
import { mulberry32 } from "../lib/random.ts";
import { kitCommand, pathExists, randomBytes, withTempDir, writeRegionModel } from "./support.ts";

/** Run `fn` with environment variables set (undefined: removed), restored afterwards. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T | Promise<T>) {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) {
      x === undefined ? Deno.env.delete(k) : Deno.env.set(k, x);
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(before);
  }
}

/** Asserts `rec` asked for `requested` and either ran on it or fell back to cpu saying why. */
function assertRequested(rec: SessionRecord | undefined, requested: Provider, what: string) {
  assert.ok(rec !== undefined, `${what}: no session recorded`);
  assert.equal(rec.requested, requested, `${what}: requested provider`);
  assert.match(rec.onnxruntime, /^\d+\.\d+\.\d+/);
  if (rec.provider === requested) {
    assert.equal(rec.note, undefined, `${what}: ran on ${requested}, no note`);
  } else {
    assert.equal(rec.provider, "cpu", `${what}: the fallback is cpu`);
    assert.match(
      rec.note ?? "",
      new RegExp(`"${requested}" is not available here \\(.+\\); ran on cpu`),
    );
  }
}

/** The records of sessions opened while `fn` ran. */
async function opened(fn: () => Promise<void>): Promise<SessionRecord[]> {
  const before = sessionsOpened().length;
  await fn();
  return sessionsOpened().slice(before);
}

Deno.test("FER_PROVIDER reaches the engine, embeddings and saliency sessions; the fallback is recorded", async () => {
  await withTempDir("fer-provider-", async (dir) => {
    const paths = await writeRegionModel(dir, 8, (x) => x < 4, "provider test");
    const model = await loadCard(paths.card);
    const bytes = await Deno.readFile(paths.onnx);
    const r = mulberry32(5);
    const samples = Array.from({ length: 3 }, (_, i) => ({
      id: `s${i}`,
      source: {
        kind: "pixels" as const,
        width: 8,
        height: 8,
        channels: 1 as const,
        data: randomBytes(64, r),
      },
      label: "happy" as const,
      split: "test" as const,
    }));
    for (const requested of ["webgpu", "cuda"] as const) {
      await withEnv({ [PROVIDER_ENV]: requested, [STRICT_ENV]: undefined }, async () => {
        let engine: Engine | undefined;
        const [e] = await opened(async () => {
          engine = await Engine.create(model);
        });
        assertRequested(e, requested, "engine");
        assert.equal(e.what, "model region-test");
        assert.equal(engine!.provider, e.provider);
        assert.equal(engine!.providerNote, e.note);
        // the engine still computes: happy logit = 6/256 · (left-half pixel sum) − 3
        const run = await engine!.runTensor(new Float32Array(64).fill(0), 1);
        assert.ok(Math.abs(run.probs[0] - 1 / (1 + Math.exp(3))) < 1e-6);
        await engine!.dispose();

        const [emb] = await opened(async () => {
          await extractEmbeddings(model, samples, { tensor: "f", cache: false, progress: null });
        });
        assertRequested(emb, requested, "embeddings");

        const [sal] = await opened(async () => {
          await EngineScorer.open(model);
        });
        assertRequested(sal, requested, "saliency (engine scorer)");

        let scorer: OrtScorer | undefined;
        const [ort] = await opened(async () => {
          scorer = await OrtScorer.create(bytes, {
            shape: { layout: "NCHW", channels: 1, height: 8, width: 8 },
            classes: ["happy", "neutral"],
            outputKind: "logits",
          });
        });
        assertRequested(ort, requested, "saliency (onnx scorer)");
        assert.equal(scorer!.provider, ort.provider);
      });
    }
    // An explicit option wins over the environment.
    await withEnv({ [PROVIDER_ENV]: "webgpu" }, async () => {
      const [e] = await opened(async () => {
        await (await Engine.create(model, { provider: "cpu" })).dispose();
      });
      assert.deepEqual([e.requested, e.provider, e.note], ["cpu", "cpu", undefined]);
    });
  });
});

Deno.test({
  name: "face detectors open on the requested provider (FER_PROVIDER)",
  ignore: !(await pathExists(join(await detectorsDir(), "face_detection_yunet_2023mar.onnx"))),
  fn: async () => {
    await withEnv({ [PROVIDER_ENV]: "webgpu", [STRICT_ENV]: undefined }, async () => {
      for (const name of ["yunet", "ultraface"]) {
        let provider = "";
        const [d] = await opened(async () => {
          const det = await createDetector(name);
          provider = det.provider;
          await det.dispose();
        });
        assertRequested(d, "webgpu", name);
        assert.match(d.what, /^detector /);
        assert.equal(provider, d.provider);
      }
    });
  },
});

Deno.test("strict: a provider that cannot start stops with the reason instead of falling back", async () => {
  await withTempDir("fer-provider-", async (dir) => {
    const paths = await writeRegionModel(dir, 8, (x) => x < 4, "provider test");
    const bytes = await Deno.readFile(paths.onnx);
    for (const requested of ["webgpu", "cuda"] as const) {
      const o = (p: Provider) => ({ executionProviders: [p] });
      try {
        const s = await openSession(bytes, o, "strict test", { provider: requested, strict: true });
        // This machine has the provider: it ran there, no fallback.
        assert.equal(s.provider, requested);
        await s.session.release();
      } catch (e) {
        assert.ok(e instanceof ProviderUnavailableError, String(e));
        assert.equal(e.provider, requested);
        assert.match(e.message, new RegExp(`"${requested}" is not available for strict test: .+`));
      }
    }
  });
});

Deno.test("CLI: --provider/--strict are taken by every command and reach kit predict's sessions", async () => {
  // flag parsing: both spellings, a bad name is an error naming the flag
  await withEnv({ [PROVIDER_ENV]: undefined, [STRICT_ENV]: undefined }, () => {
    assert.deepEqual(takeProviderFlags(["predict", "--provider", "webgpu", "--x", "1"]), [
      "predict",
      "--x",
      "1",
    ]);
    assert.equal(Deno.env.get(PROVIDER_ENV), "webgpu");
    assert.deepEqual(takeProviderFlags(["report", "--provider=cuda", "--strict"]), ["report"]);
    assert.equal(Deno.env.get(PROVIDER_ENV), "cuda");
    assert.equal(Deno.env.get(STRICT_ENV), "1");
    assert.match(
      String(takeProviderFlags(["x", "--provider", "tpu"])),
      /--provider must be one of cpu, webgpu, cuda, got "tpu"/,
    );
    assert.match(String(takeProviderFlags(["x", "--provider"])), /needs a value/);
  });
  await withTempDir("fer-provider-cli-", async (dir) => {
    const paths = await writeRegionModel(dir, 8, (x) => x < 4, "provider test");
    const r = mulberry32(9);
    for (const cls of ["happy", "neutral"]) {
      await Deno.mkdir(join(dir, "data", cls), { recursive: true });
      await Deno.writeFile(
        join(dir, "data", cls, "a.png"),
        await encodePng({ width: 8, height: 8, channels: 1, data: randomBytes(64, r) }),
      );
    }
    const log = join(dir, "sessions.jsonl");
    const args = ["predict", "--model", paths.card, "--dataset", join(dir, "data")];
    const env = { [SESSION_LOG_ENV]: log, FER_CACHE: join(dir, "cache") };
    const out = await kitCommand([...args, "--provider", "webgpu", "--out", join(dir, "p.csv")], {
      env,
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const recs = readSessionLog(log);
    assert.equal(recs.length, 1);
    assertRequested(recs[0], "webgpu", "kit predict");
    const stdout = new TextDecoder().decode(out.stdout);
    if (recs[0].provider === "cpu") {
      assert.match(stdout, /note: execution provider "webgpu" is not available/);
    }
    assert.match(summarizeSessions(recs)[0], /session/);
    // The predictions file's provenance and the cache chunk record the provider and onnxruntime.
    const producer = [{ provider: recs[0].provider, onnxruntime: ort.env.versions.node, rows: 2 }];
    const side = JSON.parse(await Deno.readTextFile(join(dir, "p.provenance.json")));
    assert.deepEqual(side.producers, producer);
    assert.equal(side.model, "region-test");
    const chunks = [];
    for await (const e of Deno.readDir(join(dir, "cache", "predictions"))) {
      if (!e.isDirectory) continue;
      for await (const f of Deno.readDir(join(dir, "cache", "predictions", e.name))) {
        if (f.name.startsWith("chunk-")) {
          chunks.push(join(dir, "cache", "predictions", e.name, f.name));
        }
      }
    }
    assert.equal(chunks.length, 1);
    const chunk = JSON.parse(await Deno.readTextFile(chunks[0]));
    assert.equal(chunk.producer.provider, recs[0].provider);
    assert.equal(chunk.producer.onnxruntime, ort.env.versions.node);
    // A second run takes every row from the cache: no session, the same producer recorded.
    const again = await kitCommand([...args, "--out", join(dir, "p2.csv")], { env }).output();
    assert.equal(again.code, 0);
    assert.equal(readSessionLog(log).length, 1);
    assert.deepEqual(readProducerLog(log).map((r) => r.producers), [producer, producer]);
    const side2 = JSON.parse(await Deno.readTextFile(join(dir, "p2.provenance.json")));
    assert.deepEqual(side2.producers, producer);
    // strict: exit 1 with the reason when the provider cannot start
    const strict = await kitCommand([
      ...args,
      "--no-cache",
      "--provider",
      "cuda",
      "--strict",
      "--out",
      join(dir, "q.csv"),
    ], {
      env,
    }).output();
    const recs2 = readSessionLog(log);
    if (recs2.length === 1) {
      assert.equal(strict.code, 1);
      assert.match(
        new TextDecoder().decode(strict.stderr),
        /"cuda" is not available for model region-test: .+/,
      );
    } else {
      assert.equal(strict.code, 0, "cuda started here");
      assert.equal(recs2[1].provider, "cuda");
    }
  });
});

Deno.test("FER_PROVIDER=webgpu report: a notebook's model runs, and the provenance names the provider that ran", async () => {
  // Inside the project (its deno.json resolves the notebook's npm imports), removed afterwards.
  await Deno.mkdir(join(PROJECT_ROOT, ".cache"), { recursive: true });
  const dir = await Deno.makeTempDir({
    dir: join(PROJECT_ROOT, ".cache"),
    prefix: "test-provider-report-",
  });
  try {
    const notebooks = join(dir, "notebooks");
    await Deno.mkdir(join(dir, "images"), { recursive: true });
    await Deno.mkdir(notebooks);
    const paths = await writeRegionModel(dir, 8, (x) => x < 4, "provider report test");
    // 80 images: enough for predictDataset's worker thread, which must run inside the kernel too.
    const r = mulberry32(21);
    const files: string[] = [];
    for (let i = 0; i < 80; i++) {
      const data = randomBytes(64, r);
      files.push(join(dir, "images", `i${i}.png`));
      await Deno.writeFile(files[i], await encodePng({ data, width: 8, height: 8, channels: 1 }));
    }
    const lib = (m: string) => JSON.stringify(pathToFileURL(join(PROJECT_ROOT, "lib", m)).href);
    const code = [
      `import { loadCard } from ${lib("models/registry.ts")};`,
      `import { predictDataset } from ${lib("predict.ts")};`,
      `const files: string[] = ${JSON.stringify(files)};`,
      `const model = await loadCard(${JSON.stringify(paths.card)});`,
      "const samples = files.map((path, i) => ({",
      '  id: `i${i}`, source: { kind: "file" as const, path }, label: "happy" as const,',
      '  split: "test" as const,',
      "}));",
      'const res = await predictDataset(model, { name: "t", samples, hash: "t" }, {',
      "  cache: false, progress: false,",
      "});",
      "console.log(`rows ${res.rows.length} worker ${res.stats.preparedInWorker} ` +",
      "  `provider ${res.stats.provider}`);",
    ].join("\n");
    const nb = {
      cells: [{
        cell_type: "code",
        execution_count: null,
        metadata: {},
        outputs: [],
        source: code,
      }],
      metadata: {
        kernelspec: {
          display_name: "Deno (fer-kit)",
          language: "typescript",
          name: "fer-kit-deno",
        },
        language_info: { name: "typescript" },
      },
      nbformat: 4,
      nbformat_minor: 5,
    };
    await Deno.writeTextFile(join(notebooks, "01-model.ipynb"), JSON.stringify(nb));
    const out = join(dir, "site");
    const res = await kitCommand(["report", "--notebooks", notebooks, "--out", out], {
      env: { [PROVIDER_ENV]: "webgpu", FER_CACHE: join(dir, "cache") },
    }).output();
    const err = new TextDecoder().decode(res.stderr);
    assert.equal(res.code, 0, err);
    const ran = await Deno.readTextFile(join(out, "01-model.html"));
    const m = ran.match(/rows (\d+) worker (\d+) provider (\w+)/);
    assert.ok(m, "the notebook printed its run");
    assert.deepEqual(m.slice(1, 3).map(Number), [80, 80]);
    const index = await Deno.readTextFile(join(out, "index.html"));
    assert.match(index, /requested webgpu/);
    if (m[3] === "webgpu") {
      assert.match(index, /webgpu \(onnxruntime [0-9.]+\): 1 session/);
    } else {
      // No GPU adapter here: the session ran on cpu, and the provenance says so and why.
      assert.equal(m[3], "cpu");
      assert.match(index, /cpu instead of webgpu \(onnxruntime [0-9.]+\): 1 session — .+/);
    }
    const json = JSON.parse(await Deno.readTextFile(join(out, "findings.json")));
    assert.equal(json.kit.providerRequested, "webgpu");
    assert.equal(json.kit.providers.length, 1, JSON.stringify(json.kit.providers));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("session summaries group providers and fallbacks for the report's provenance", () => {
  const rec = (requested: Provider, provider: Provider, note?: string): SessionRecord => ({
    what: "model m",
    requested,
    provider,
    ...(note ? { note } : {}),
    onnxruntime: "1.30.0",
  });
  assert.deepEqual(
    summarizeSessions([
      rec("cpu", "cpu"),
      rec("webgpu", "cpu", "no adapter"),
      rec("webgpu", "cpu", "no adapter"),
      rec("cpu", "cpu"),
    ]),
    [
      "cpu (onnxruntime 1.30.0): 2 sessions",
      "cpu instead of webgpu (onnxruntime 1.30.0): 2 sessions — no adapter",
    ],
  );
});
