/**
 * The fault suite: hostile but fair inputs and faults, each a defect once found (issue 13), each
 * checked against the behaviour a user must get: a fresh result or a clear error, never a stale
 * or silently wrong one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { loadDataset } from "../lib/datasets/mod.ts";
import { RACY_MS, sourceTags } from "../lib/datasets/content.ts";
import { loadCard } from "../lib/models/registry.ts";
import { predictDataset } from "../lib/predict.ts";
import { withTempDir, writeRegionModel } from "./support.ts";

/** A gray 8x8 PNG stored without compression: its size depends on its shape only. */
async function flatPng(value: number): Promise<Uint8Array> {
  const buf = await sharp(new Uint8Array(64).fill(value), {
    raw: { width: 8, height: 8, channels: 1 },
  }).png({ compressionLevel: 0 }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Class folders happy/ and neutral/ with one flat image each (values 10 and 200). */
async function twoImageFolder(root: string): Promise<void> {
  await Deno.mkdir(join(root, "happy"), { recursive: true });
  await Deno.mkdir(join(root, "neutral"), { recursive: true });
  await Deno.writeFile(join(root, "happy", "a.png"), await flatPng(10));
  await Deno.writeFile(join(root, "neutral", "b.png"), await flatPng(200));
}

/** Set a file's access and modification times to `when` (seconds since epoch). */
async function age(path: string, when: number): Promise<void> {
  await Deno.utime(path, when, when);
}

/** Capture console.error lines while `fn` runs. */
async function capturingErrors<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    return { value: await fn(), lines };
  } finally {
    console.error = original;
  }
}

Deno.test("cache: an image replaced in place by one of the same size and mtime is predicted again", async () => {
  await withTempDir("fer-fault-swap-", async (dir) => {
    const data = join(dir, "data");
    await twoImageFolder(data);
    const a = join(data, "happy", "a.png");
    const past = Math.floor(Date.now() / 1000) - 3600;
    await age(a, past);
    const model = await loadCard((await writeRegionModel(dir, 8, () => true, "all pixels")).card);
    const opts = { progress: false as const, cacheDir: join(dir, "cache") };
    const indexDir = join(dir, "index");
    Deno.env.set("FER_CACHE", join(dir, "fer-cache"));
    try {
      const first = await predictDataset(model, await loadDataset(data), opts);
      assert.equal(first.stats.inferred, 2);
      const before = first.rows.find((r) => r.id === "happy/a.png")!;

      // Same byte count, same mtime, other pixels.
      const bright = await flatPng(250);
      assert.equal(bright.length, (await Deno.stat(a)).size, "the swap keeps the size");
      await Deno.writeFile(a, bright);
      await age(a, past);
      const second = await predictDataset(model, await loadDataset(data), opts);
      assert.equal(second.stats.inferred, 1, "only the swapped image runs again");
      assert.equal(second.stats.fromCache, 1);
      const after = second.rows.find((r) => r.id === "happy/a.png")!;
      // happy logit = 6/256 · Σ pixel/255 − 3: 64 pixels of 10 vs of 250.
      const happy = (v: number) => 1 / (1 + Math.exp(-(6 / 256 * 64 * v / 255 - 3)));
      assert.ok(Math.abs(before.probs[3] - happy(10)) < 1e-5, `${before.probs[3]}`);
      assert.ok(Math.abs(after.probs[3] - happy(250)) < 1e-5, `${after.probs[3]}`);
      const fresh = await predictDataset(model, await loadDataset(data), {
        ...opts,
        cache: false,
      });
      assert.deepEqual(second.rows, fresh.rows, "cached run equals a --no-cache run");

      // The persisted index is trusted only while size, mtime, ctime and inode match. Files
      // changed within RACY_MS of hashing are not recorded: wait that out first.
      await new Promise((r) => setTimeout(r, RACY_MS + 100));
      const [tag] = await sourceTags([{ kind: "file", path: a }], { indexDir });
      const index = (await Array.fromAsync(Deno.readDir(indexDir)))[0].name;
      const text = await Deno.readTextFile(join(indexDir, index));
      const forged = join(dir, "index-forged");
      await Deno.mkdir(forged);
      await Deno.writeTextFile(join(forged, index), text.replace(tag.slice(5), "f".repeat(64)));
      const [trusted] = await sourceTags([{ kind: "file", path: a }], { indexDir: forged });
      assert.equal(trusted, `file:${"f".repeat(64)}`, "an unchanged file is not read again");
      await Deno.writeFile(a, await flatPng(10));
      await age(a, past);
      const [reread] = await sourceTags([{ kind: "file", path: a }], { indexDir: forged });
      assert.notEqual(reread, trusted, "a rewritten file (new ctime) is read again");
    } finally {
      Deno.env.delete("FER_CACHE");
    }
  });
});

Deno.test("cache: the same images in two datasets are predicted once", async () => {
  await withTempDir("fer-fault-share-", async (dir) => {
    const one = join(dir, "one");
    const two = join(dir, "two");
    await twoImageFolder(one);
    // The same images under other labels and names: only the content counts.
    await Deno.mkdir(join(two, "sad"), { recursive: true });
    await Deno.copyFile(join(one, "happy", "a.png"), join(two, "sad", "x.png"));
    await Deno.copyFile(join(one, "neutral", "b.png"), join(two, "sad", "y.png"));
    const model = await loadCard((await writeRegionModel(dir, 8, () => true, "all pixels")).card);
    const opts = { progress: false as const, cacheDir: join(dir, "cache") };
    const first = await predictDataset(model, await loadDataset(one), opts);
    const second = await predictDataset(model, await loadDataset(two), opts);
    assert.equal(first.stats.inferred, 2);
    assert.equal(second.stats.inferred, 0);
    assert.equal(second.stats.fromCache, 2);
    assert.deepEqual(second.rows.map((r) => r.probs), first.rows.map((r) => r.probs));
    assert.deepEqual(second.rows.map((r) => r.label), ["sad", "sad"]);
  });
});

Deno.test("cache: an edited chunk (still valid JSON) is recomputed with a warning, never used", async () => {
  await withTempDir("fer-fault-chunk-", async (dir) => {
    const data = join(dir, "data");
    await twoImageFolder(data);
    const model = await loadCard((await writeRegionModel(dir, 8, () => true, "all pixels")).card);
    const opts = { progress: false as const, cacheDir: join(dir, "cache") };
    const ds = await loadDataset(data);
    const first = await predictDataset(model, ds, opts);
    const files = (await Array.fromAsync(Deno.readDir(first.stats.cacheDir)))
      .map((e) => e.name).filter((n) => n.startsWith("chunk-"));
    assert.equal(files.length, 1);
    const path = join(first.stats.cacheDir, files[0]);
    const chunk = JSON.parse(await Deno.readTextFile(path));
    for (const e of Object.values(chunk.entries) as { probs: number[] }[]) e.probs.reverse();
    await Deno.writeTextFile(path, JSON.stringify(chunk));

    const { value: second, lines } = await capturingErrors(() => predictDataset(model, ds, opts));
    assert.equal(second.stats.inferred, 2, "the edited chunk's images run again");
    assert.deepEqual(second.rows, first.rows, "the edited values are never used");
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], /chunk-[0-9a-f]{64}\.json not used \(checksum mismatch/);
    const after = (await Array.fromAsync(Deno.readDir(first.stats.cacheDir))).map((e) => e.name);
    assert.ok(after.includes(`bad-${files[0]}`), "the bad chunk is moved aside, kept for a look");
    const third = await predictDataset(model, ds, opts);
    assert.equal(third.stats.inferred, 0);
  });
});
