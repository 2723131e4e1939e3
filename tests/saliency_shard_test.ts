/**
 * Sharded `kit saliency --dataset` (lib/saliency_cache.ts, lib/studies/saliency.ts
 * saliencyShard): shards 0/3, 1/3 and 2/3 fill their own map caches, `kit cache merge` joins
 * them, and the final unsharded run reads every map and deletion/insertion curve from the merged
 * cache (0 computed) and writes files byte-identical to an unsharded run's, on a manifest
 * dataset and a model built by the test.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import sharp from "sharp";
import { verifyCache } from "../lib/cache_merge.ts";
import { run as cacheCli } from "../lib/cli/cache.ts";
import { run as saliencyCli } from "../lib/cli/saliency.ts";
import { sourceTags } from "../lib/datasets/content.ts";
import { imageKey } from "../lib/prediction_cache.ts";
import { shardOf } from "../lib/shard.ts";
import { withTempDir, writeRegionModel } from "./support.ts";

const N = 48;
const inside = (x: number, y: number) => y >= 8 && y < 24 && x >= 26 && x < 42;

/** 12 faces (happy ones light the model's region up), one unreadable file, in manifest.csv. */
async function makeManifest(dir: string): Promise<string[]> {
  const lines = ["path,label,split"];
  const files: string[] = [];
  for (let i = 0; i < 12; i++) {
    const bright = i % 2 === 0 ? 200 + i : 60 + i;
    const px = Uint8Array.from({ length: N * N }, (_, p) => {
      const t = ((p * 7919 + i * 131) % 97) / 97;
      return inside(p % N, Math.floor(p / N)) ? Math.round(bright + 20 * t) : Math.round(100 * t);
    });
    const name = `img${i}.png`;
    await Deno.writeFile(
      join(dir, name),
      await sharp(px, { raw: { width: N, height: N, channels: 1 } }).png().toBuffer(),
    );
    lines.push(`${name},${i % 2 === 0 ? "happy" : "neutral"},test`);
    files.push(join(dir, name));
  }
  await Deno.writeTextFile(join(dir, "broken.png"), "not a png");
  lines.push("broken.png,happy,test");
  await Deno.writeTextFile(join(dir, "manifest.csv"), lines.join("\n") + "\n");
  return files;
}

/** Run the saliency CLI in this process with FER_CACHE set; exit code and output. */
async function saliency(args: string[], ferCache: string) {
  const before = Deno.env.get("FER_CACHE");
  Deno.env.set("FER_CACHE", ferCache);
  const errs: string[] = [];
  const outs: string[] = [];
  const [origErr, origLog] = [console.error, console.log];
  console.error = (...a: unknown[]) => errs.push(a.join(" "));
  console.log = (...a: unknown[]) => outs.push(a.join(" "));
  try {
    const code = await saliencyCli(args);
    return { code, stderr: errs.join("\n"), stdout: outs.join("\n") };
  } finally {
    [console.error, console.log] = [origErr, origLog];
    if (before === undefined) Deno.env.delete("FER_CACHE");
    else Deno.env.set("FER_CACHE", before);
  }
}

/** Every file of a folder: name → bytes. */
async function files(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) out.set(e.name, await Deno.readFile(join(dir, e.name)));
  }
  return out;
}

Deno.test("saliency shards 0/3, 1/3, 2/3 merged: the final run computes nothing and writes the unsharded files byte for byte", async () => {
  await withTempDir("fer-saliency-shards-", async (dir) => {
    const images = await makeManifest(dir);
    const { onnx, card } = await writeRegionModel(
      dir,
      N,
      inside,
      "class happy reads one rectangle",
    );
    const base = [
      "--model",
      onnx,
      "--card",
      card,
      "--dataset",
      join(dir, "manifest.csv"),
      "--split",
      "test",
      "--n",
      "120",
      "--per-class",
      "2",
      "--faithfulness",
      "--steps",
      "12",
      "--batch",
      "16",
    ];
    // The unsharded reference, in a cache of its own.
    const full = await saliency(
      [...base, "--randomization", "full", "--rand-images", "2", "--out", join(dir, "full")],
      join(dir, "cache-full"),
    );
    assert.equal(full.code, 0, full.stderr);
    const fullComputed = Number(/from cache, (\d+) computed/.exec(full.stderr)?.[1]);
    assert.ok(fullComputed > 0, full.stderr);

    // Every shard holds some of the 12 faces (the partition is by content hash).
    const tags = await sourceTags(images.map((path) => ({ kind: "file" as const, path })));
    const counts = [0, 0, 0];
    for (const t of tags) counts[shardOf(imageKey(t, undefined), 3)]++;
    assert.ok(counts.every((c) => c > 0), `faces per shard ${counts}`);

    const cache = join(dir, "cache-sharded");
    let computed = 0;
    for (let i = 0; i < 3; i++) {
      const r = await saliency(
        [...base, "--shard", `${i}/3`, "--cache-dir", join(dir, `shard-${i}`), "--threads", "2"],
        cache,
      );
      assert.equal(r.code, 0, r.stderr);
      const m = /shard \d\/3: (\d+) of 12 faces .* from cache, (\d+) computed/.exec(r.stdout);
      assert.ok(m, r.stdout);
      assert.equal(Number(m[1]), counts[i]);
      computed += Number(m[2]);
    }
    // The shards computed what the unsharded run did, each image once; no study, no output.
    assert.equal(computed, fullComputed);
    for (const sub of ["studies", "saliency"]) {
      assert.equal(await Deno.stat(join(cache, sub)).then(() => true, () => false), false);
    }

    const merged = await cacheCli([
      "merge",
      "--into",
      cache,
      ...[0, 1, 2].map((i) => join(dir, `shard-${i}`)),
    ]);
    assert.equal(merged, 0);
    const v = await verifyCache(cache);
    assert.deepEqual(v.problems, []);
    assert.ok(Object.values(v.kinds).every((k) => k === "saliency"));
    assert.equal(Object.values(v.images).reduce((a, b) => a + b, 0), computed);

    // Threads (as a Slurm task sets them) change speed, not the files.
    const final = await saliency(
      [...base, "--randomization", "full", "--rand-images", "2", "--out", join(dir, "final")]
        .concat("--threads", "2"),
      cache,
    );
    assert.equal(final.code, 0, final.stderr);
    assert.match(final.stderr, /\d+ maps and curves from cache, 0 computed/);

    const want = await files(join(dir, "full"));
    const got = await files(join(dir, "final"));
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    assert.ok(want.has("faithfulness.json") && want.has("randomization.json"));
    for (const [name, bytes] of want) {
      assert.ok(
        Buffer.compare(Buffer.from(bytes), Buffer.from(got.get(name)!)) === 0,
        `${name} differs`,
      );
    }
  });
});

Deno.test("kit saliency --shard refuses --out and a malformed shard, naming the flag", async () => {
  await withTempDir("fer-saliency-shard-args-", async (dir) => {
    await makeManifest(dir);
    const { onnx, card } = await writeRegionModel(dir, N, inside, "region");
    const base = ["--model", onnx, "--card", card, "--dataset", join(dir, "manifest.csv")];
    const out = await saliency(
      [...base, "--split", "test", "--shard", "0/2", "--out", join(dir, "x")],
      join(dir, "c"),
    );
    assert.equal(out.code, 2);
    assert.match(out.stderr, /--shard fills the map cache .* drop --out/);
    const bad = await saliency([...base, "--split", "test", "--shard", "3/3"], join(dir, "c"));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--shard: shard index must be below the count/);
  });
});
