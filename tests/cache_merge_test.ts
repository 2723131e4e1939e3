/**
 * Sharded prediction and embedding runs and merged caches (lib/shard.ts, lib/cache_merge.ts,
 * `--shard`) on a folder dataset and a model built by the test: shards 0/3, 1/3 and 2/3 merged
 * give the unsharded predictions file byte for byte, with 0 images inferred, and the unsharded
 * embeddings bit for bit; merging refuses damaged chunks, false meta.json files and conflicting
 * results, and writes nothing then.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { mergeCaches, verifyCache } from "../lib/cache_merge.ts";
import { run as cacheCli } from "../lib/cli/cache.ts";
import { run as predictCli } from "../lib/cli/predict.ts";
import { loadDataset } from "../lib/datasets/mod.ts";
import { decodeVector, encodeVector } from "../lib/embedding_cache.ts";
import { extractEmbeddings } from "../lib/probe/embeddings.ts";
import { encodePng } from "../lib/image.ts";
import { loadCard, type ResolvedModel } from "../lib/models/registry.ts";
import { predictDataset } from "../lib/predict.ts";
import { formatPredictions } from "../lib/predictions.ts";
import { mulberry32 } from "../lib/random.ts";
import { shardOf } from "../lib/shard.ts";
import type { LoadedDataset } from "../lib/datasets/types.ts";
import { randomBytes, withTempDir, writeRegionModel } from "./support.ts";

/**
 * Class folders happy/ and neutral/ of 12 random 16x16 gray PNGs each; neutral/dup.png is a copy
 * of happy/0000.png (same content), and sad/broken.png is not an image.
 */
async function makeDataset(root: string): Promise<void> {
  const r = mulberry32(15);
  for (const cls of ["happy", "neutral", "sad"]) {
    await Deno.mkdir(join(root, cls), { recursive: true });
  }
  for (const cls of ["happy", "neutral"]) {
    for (let i = 0; i < 12; i++) {
      const png = await encodePng({
        data: randomBytes(256, r),
        width: 16,
        height: 16,
        channels: 1,
      });
      await Deno.writeFile(join(root, cls, `${String(i).padStart(4, "0")}.png`), png);
    }
  }
  await Deno.copyFile(join(root, "happy", "0000.png"), join(root, "neutral", "dup.png"));
  await Deno.writeFile(join(root, "sad", "broken.png"), new TextEncoder().encode("not a png"));
}

interface Fixture {
  dir: string;
  data: string;
  dataset: LoadedDataset;
  model: ResolvedModel;
  modelCard: string;
}

/** The fixture, with FER_CACHE (content index) pointed into the temporary folder. */
function withFixture(fn: (f: Fixture) => Promise<void>): Promise<void> {
  return withTempDir("fer-shards-", async (dir) => {
    const data = join(dir, "data");
    await makeDataset(data);
    const { card } = await writeRegionModel(dir, 8, (x, y) => x < y, "lower triangle");
    const before = Deno.env.get("FER_CACHE");
    Deno.env.set("FER_CACHE", join(dir, "fer-cache"));
    try {
      const model = await loadCard(card);
      await fn({ dir, data, dataset: await loadDataset(data), model, modelCard: card });
    } finally {
      if (before === undefined) Deno.env.delete("FER_CACHE");
      else Deno.env.set("FER_CACHE", before);
    }
  });
}

/** Run the three shards into their own caches `<dir>/shard-i`; returns their tables. */
async function runShards(f: Fixture) {
  const parts = [];
  for (let index = 0; index < 3; index++) {
    parts.push(
      await predictDataset(f.model, f.dataset, {
        shard: { index, count: 3 },
        cacheDir: join(f.dir, `shard-${index}`),
        progress: false,
      }),
    );
  }
  return parts;
}

/** Every chunk file (name → bytes) under a prediction-cache root. */
async function chunkFiles(root: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const m of Deno.readDir(root)) {
    for await (const e of Deno.readDir(join(root, m.name))) {
      if (e.name.startsWith("chunk-")) {
        out.set(`${m.name}/${e.name}`, await Deno.readFile(join(root, m.name, e.name)));
      }
    }
  }
  return out;
}

Deno.test("shards 0/3, 1/3, 2/3 merged equal the unsharded predictions file byte for byte", async () => {
  await withFixture(async (f) => {
    const full = await predictDataset(f.model, f.dataset, {
      cacheDir: join(f.dir, "full"),
      progress: false,
    });
    assert.equal(full.rows.length, 25);
    const parts = await runShards(f);

    // Each shard ran exactly the samples whose content hash falls in it (computed here), and
    // inferred each distinct readable image once.
    for (let index = 0; index < 3; index++) {
      const ids: string[] = [];
      const hashes = new Set<string>();
      for (const s of f.dataset.samples) {
        if (s.source.kind !== "file") throw new Error("a folder dataset has file sources");
        const hex = createHash("sha256").update(await Deno.readFile(s.source.path)).digest("hex");
        if (shardOf(`file:${hex}`, 3) !== index) continue;
        ids.push(s.id);
        if (!s.source.path.endsWith("broken.png")) hashes.add(hex);
      }
      assert.equal(parts[index].stats.total, ids.length, `shard ${index}: samples`);
      assert.deepEqual(
        parts[index].rows.map((r) => r.id),
        ids.filter((id) => !id.endsWith("broken.png")),
        `shard ${index}: rows in dataset order`,
      );
      assert.equal(parts[index].stats.inferred, hashes.size, `shard ${index}: inferred`);
    }
    // Same content, same shard: happy/0000.png and neutral/dup.png travel together.
    const owner = (id: string) => parts.findIndex((p) => p.rows.some((r) => r.id === id));
    assert.equal(owner("neutral/dup.png"), owner("happy/0000.png"));
    // Every row is in exactly one shard, and the parts' rows are the full file's rows.
    const partLines = parts.flatMap((p) => formatPredictions(p).trimEnd().split("\n").slice(1));
    const fullLines = formatPredictions(full).trimEnd().split("\n").slice(1);
    assert.deepEqual(partLines.slice().sort(), fullLines.slice().sort());
    // The broken file is reported by one shard only.
    assert.equal(parts.reduce((a, p) => a + p.stats.unreadable.length, 0), 1);

    const merged = join(f.dir, "merged");
    const shardDirs = [0, 1, 2].map((i) => join(f.dir, `shard-${i}`));
    const report = await mergeCaches(shardDirs, merged);
    assert.deepEqual(report.problems, []);
    const shardChunks = new Map(
      (await Promise.all(shardDirs.map(chunkFiles))).flatMap((m) => [...m]),
    );
    assert.equal(report.copied, shardChunks.size);
    assert.deepEqual(
      await chunkFiles(join(merged, "predictions")),
      shardChunks,
      "merge copies chunk files as they are",
    );
    // Merging again copies nothing.
    const again = await mergeCaches(shardDirs, merged);
    assert.equal(again.copied, 0);
    assert.equal(again.alreadyPresent, shardChunks.size);

    const rebuilt = await predictDataset(f.model, f.dataset, {
      cacheDir: join(merged, "predictions"),
      progress: false,
    });
    assert.equal(rebuilt.stats.inferred, 0);
    assert.equal(formatPredictions(rebuilt), formatPredictions(full));

    // The unsharded cache and the merged one agree entry for entry, bit for bit.
    const both = await mergeCaches([join(f.dir, "full")], merged);
    assert.deepEqual(both.problems, []);
  });
});

Deno.test("cache verify: complete after the merge, one shard alone misses the others' images", async () => {
  await withFixture(async (f) => {
    const parts = await runShards(f);
    const key = parts[0].stats.cacheKey;
    const images = [];
    for (const s of f.dataset.samples) {
      if (s.source.kind !== "file" || s.id === "sad/broken.png") continue;
      const hex = createHash("sha256").update(await Deno.readFile(s.source.path)).digest("hex");
      images.push(`file:${hex}`);
    }
    images.push(
      `file:${createHash("sha256").update("not a png").digest("hex")}`, // unreadable: a result
    );
    const alone = await verifyCache(join(f.dir, "shard-1"), {
      require: { key, images },
    });
    assert.deepEqual(alone.problems, []);
    assert.deepEqual(alone.missing, [...new Set(images)].filter((k) => shardOf(k, 3) !== 1));
    const merged = join(f.dir, "merged");
    await mergeCaches([0, 1, 2].map((i) => join(f.dir, `shard-${i}`)), merged);
    const whole = await verifyCache(merged, { require: { key, images } });
    assert.deepEqual(whole.problems, []);
    assert.deepEqual(whole.missing, []);
    assert.equal(whole.images[key], 25);

    // The CLI says the same, with exit codes.
    const args = ["verify", "--model", f.modelCard, "--dataset", f.data];
    assert.equal(await cacheCli([...args, "--cache-dir", merged]), 0);
    assert.equal(await cacheCli([...args, "--cache-dir", join(f.dir, "shard-1")]), 1);
  });
});

Deno.test("cache merge refuses damaged chunks, a false meta.json and conflicting results, writing nothing", async () => {
  await withFixture(async (f) => {
    await runShards(f);
    const src = join(f.dir, "shard-0");
    const [modelDir] = [...Deno.readDirSync(src)].map((e) => join(src, e.name));
    const [chunkName] = [...Deno.readDirSync(modelDir)]
      .map((e) => e.name)
      .filter((n) => n.startsWith("chunk-"));
    const chunkPath = join(modelDir, chunkName);
    const original = await Deno.readTextFile(chunkPath);
    const target = join(f.dir, "target");

    // 1. A chunk whose bytes no longer hash to its name.
    const bad = join(f.dir, "bad");
    await Deno.mkdir(join(bad, modelDir.slice(src.length + 1)), { recursive: true });
    const badModel = join(bad, modelDir.slice(src.length + 1));
    await Deno.copyFile(join(modelDir, "meta.json"), join(badModel, "meta.json"));
    await Deno.writeTextFile(join(badModel, chunkName), original.replace(/"ok"/, '"ok" '));
    let r = await mergeCaches([src, bad], target);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0].problem, /checksum mismatch/);
    assert.equal(r.problems[0].file, join(badModel, chunkName));
    assert.equal(await Deno.stat(target).then(() => true, () => false), false, "nothing written");
    assert.ok(await Deno.stat(join(badModel, chunkName)), "the source chunk is left in place");

    // 2. A valid chunk with another result for an image of shard 0: a conflict.
    await Deno.remove(join(badModel, chunkName));
    const chunk = JSON.parse(original) as { entries: Record<string, { probs?: number[] }> };
    const [img, entry] = Object.entries(chunk.entries).find(([, e]) => e.probs !== undefined)!;
    entry.probs = [entry.probs![1], entry.probs![0]];
    const text = JSON.stringify(chunk);
    const hex = createHash("sha256").update(text).digest("hex");
    await Deno.writeTextFile(join(badModel, `chunk-${hex}.json`), text);
    r = await mergeCaches([src, bad], target);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0].problem, new RegExp(`image ${img}: conflicting results`));
    assert.equal(await Deno.stat(target).then(() => true, () => false), false, "nothing written");
    // The same check inside one cache: verify finds it.
    await Deno.copyFile(join(badModel, `chunk-${hex}.json`), join(modelDir, `chunk-${hex}.json`));
    const v = await verifyCache(src);
    assert.equal(v.problems.length, 1);
    assert.match(v.problems[0].problem, /conflicting results/);
    await Deno.remove(join(modelDir, `chunk-${hex}.json`));
    await Deno.remove(join(badModel, `chunk-${hex}.json`));

    // 3. A meta.json that describes another model than its folder's key.
    const meta = JSON.parse(await Deno.readTextFile(join(badModel, "meta.json")));
    meta.modelSha256 = "0".repeat(64);
    await Deno.writeTextFile(join(badModel, "meta.json"), JSON.stringify(meta));
    r = await mergeCaches([src, bad], target);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0].problem, /meta\.json describes model key [0-9a-f]{64}, not its/);

    // The CLI: exit 1, problems named on stderr, and nothing written.
    assert.equal(await cacheCli(["merge", "--into", target, src, bad]), 1);
    assert.equal(await Deno.stat(target).then(() => true, () => false), false);
    assert.equal(await cacheCli(["merge", "--into", target, src]), 0);
    assert.ok((await chunkFiles(join(target, "predictions"))).size > 0);
  });
});

Deno.test("kit predict --shard refuses what is not a shard, naming the flag", async () => {
  const errors: string[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => errors.push(a.map(String).join(" "));
  try {
    const code = await predictCli(["--model", "m", "--dataset", "d", "--shard", "3/3"]);
    assert.equal(code, 2);
  } finally {
    console.error = original;
  }
  assert.match(errors[0], /--shard: shard index must be below the count \(0\.\.2\), got "3\/3"/);
});

Deno.test("embedding shards 0/3, 1/3, 2/3 merged give the unsharded embeddings bit for bit, 0 computed", async () => {
  await withFixture(async (f) => {
    const opts = { tensor: "f", progress: null, chunkSize: 5 };
    const samples = f.dataset.samples;
    const full = await extractEmbeddings(f.model, samples, {
      ...opts,
      cacheDir: join(f.dir, "emb-full"),
    });
    assert.equal(full.dim, 64);
    assert.equal(full.ids.length, 25);
    const shardDirs = [0, 1, 2].map((i) => join(f.dir, `emb-shard-${i}`));
    let computed = 0;
    for (let index = 0; index < 3; index++) {
      const part = await extractEmbeddings(f.model, samples, {
        ...opts,
        shard: { index, count: 3 },
        cacheDir: shardDirs[index],
      });
      computed += part.computed;
    }
    assert.equal(computed, full.computed, "each distinct image computed by exactly one shard");
    const merged = join(f.dir, "merged");
    const report = await mergeCaches(shardDirs, merged);
    assert.deepEqual(report.problems, []);
    assert.deepEqual(Object.values(report.kinds), ["embeddings"]);
    const rebuilt = await extractEmbeddings(f.model, samples, {
      ...opts,
      cacheDir: join(merged, "embeddings"),
    });
    assert.equal(rebuilt.computed, 0);
    assert.deepEqual(rebuilt.ids, full.ids);
    assert.deepEqual(rebuilt.unreadable, full.unreadable);
    assert.deepEqual(
      new Uint8Array(rebuilt.features.buffer),
      new Uint8Array(full.features.buffer),
    );
    // The unsharded cache agrees with the merged one; an altered vector is a conflict.
    assert.deepEqual((await mergeCaches([join(f.dir, "emb-full")], merged)).problems, []);
    const [modelDir] = [...Deno.readDirSync(shardDirs[0])].map((e) => join(shardDirs[0], e.name));
    const name = [...Deno.readDirSync(modelDir)].find((e) => e.name.startsWith("chunk-"))!.name;
    const chunk = JSON.parse(await Deno.readTextFile(join(modelDir, name)));
    const [img, entry] = Object.entries(chunk.entries).find(([, e]) =>
      typeof (e as { f32?: string }).f32 === "string"
    ) as [string, { f32: string }];
    const v = decodeVector(entry.f32, 64)!;
    v[0] += 1;
    entry.f32 = encodeVector(v);
    const text = JSON.stringify(chunk);
    const other = join(f.dir, "emb-other", modelDir.slice(shardDirs[0].length + 1));
    await Deno.mkdir(other, { recursive: true });
    await Deno.copyFile(join(modelDir, "meta.json"), join(other, "meta.json"));
    const hex = createHash("sha256").update(text).digest("hex");
    await Deno.writeTextFile(join(other, `chunk-${hex}.json`), text);
    const r = await mergeCaches([join(f.dir, "emb-other")], merged);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0].problem, new RegExp(`image ${img}: conflicting results`));

    // A folder of the previous embedding layout (meta.json "version": 1) is skipped, not an error.
    const old = join(f.dir, "emb-old", "a".repeat(64));
    await Deno.mkdir(old, { recursive: true });
    await Deno.writeTextFile(join(old, "meta.json"), '{"version":1,"tensor":"f","dim":64}');
    const skipped = await mergeCaches([join(f.dir, "emb-old"), shardDirs[0]], merged);
    assert.deepEqual(skipped.problems, []);
    assert.deepEqual(skipped.stale, [old]);
    assert.deepEqual((await verifyCache(join(f.dir, "emb-old"))).stale, [old]);
  });
});
