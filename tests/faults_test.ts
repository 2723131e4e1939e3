/**
 * The fault suite: hostile but fair inputs and faults, each a defect once found (issue 13), each
 * checked against the behaviour a user must get: a fresh result or a clear error, never a stale
 * or silently wrong one.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import sharp from "sharp";
import { loadDataset } from "../lib/datasets/mod.ts";
import { RACY_MS, sourceTags } from "../lib/datasets/content.ts";
import { loadCard } from "../lib/models/registry.ts";
import { predictDataset } from "../lib/predict.ts";
import { cacheRoot, PROJECT_ROOT } from "../lib/config.ts";
import { decodeImageBytes, ImageError } from "../lib/image.ts";
import { mapPeak } from "../lib/saliency/mod.ts";
import { reportError } from "../lib/cli/errors.ts";
import { InputError } from "../lib/errors.ts";
import {
  decodeVector,
  EMBEDDING_CACHE_VERSION,
  encodeVector,
  readEmbeddingCache,
  writeEmbeddingChunk,
} from "../lib/embedding_cache.ts";
import { checkWritable, WriteError, writeFileAtomic } from "../lib/fsutil.ts";
import { ReadAhead } from "../lib/read_ahead.ts";
import { kitCommand, pathExists, withTempDir, writeRegionModel } from "./support.ts";

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
    {
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

Deno.test("embedding cache: an edited chunk (still valid JSON) is listed as bad, moved aside, never used", async () => {
  await withTempDir("fer-fault-emb-chunk-", async (dir) => {
    const key = "k".repeat(64);
    const vector = encodeVector(Float32Array.of(1, 2, 3));
    const path = await writeEmbeddingChunk(dir, {
      v: EMBEDDING_CACHE_VERSION,
      key,
      dim: 3,
      entries: { a: { f32: vector } },
    });
    const good = await readEmbeddingCache(dir, key);
    assert.deepEqual(
      decodeVector((good.entries.get("a") as { f32: string }).f32, 3),
      Float32Array.of(1, 2, 3),
    );
    const chunk = JSON.parse(await Deno.readTextFile(path));
    chunk.entries.a.f32 = encodeVector(Float32Array.of(3, 2, 1));
    await Deno.writeTextFile(path, JSON.stringify(chunk));
    const edited = await readEmbeddingCache(dir, key);
    assert.equal(edited.entries.size, 0, "the edited vector is not used");
    assert.equal(edited.bad.length, 1);
    assert.match(edited.bad[0].reason, /checksum mismatch/);
    const names = await Array.fromAsync(Deno.readDir(dir), (e) => e.name);
    assert.deepEqual(names, [`bad-${basename(path)}`]);
  });
});

// --- CLI faults: one clear message, no stack trace ----------------------------------------------

const decoder = new TextDecoder();

/** Run the kit's CLI; returns exit code and stdout + stderr text. */
async function kit(
  args: string[],
  options: Omit<Deno.CommandOptions, "args" | "stdout" | "stderr"> = {},
): Promise<{ code: number; out: string; err: string }> {
  const r = await kitCommand(args, options).output();
  return { code: r.code, out: decoder.decode(r.stdout), err: decoder.decode(r.stderr) };
}

/** The message is plain text without a stack trace or colour codes. */
function assertClean(text: string): void {
  assert.doesNotMatch(text, /^\s+at /m, `stack trace printed:\n${text}`);
  assert.ok(!text.includes("\u001b["), `colour codes printed:\n${text}`);
}

const HEADER = "id,label,pred,p_angry,p_disgust,p_fear,p_happy,p_sad,p_surprise,p_neutral";

Deno.test("predict: a card that says probabilities for a network that outputs logits is an error naming output.kind", async () => {
  await withTempDir("fer-fault-logits-", async (dir) => {
    const data = join(dir, "data");
    await twoImageFolder(data);
    const { card } = await writeRegionModel(dir, 8, () => true, "logits, mislabelled");
    const json = JSON.parse(await Deno.readTextFile(card));
    json.output.kind = "probabilities";
    await Deno.writeTextFile(card, JSON.stringify(json));
    const r = await kit([
      "predict",
      "--model",
      card,
      "--dataset",
      data,
      "--out",
      join(dir, "p.csv"),
    ], {
      env: { FER_CACHE: join(dir, "cache") },
    });
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.err,
      /region\.json \(field output\.kind\): the card says output "z" holds probabilities/,
    );
    assert.match(r.err, /set "kind": "logits"/);
    assertClean(r.err);
    await assert.rejects(() => Deno.stat(join(dir, "p.csv")), "no predictions file written");
  });
});

Deno.test("metrics: rows that are not probabilities and missing class columns are errors naming file and line", async () => {
  await withTempDir("fer-fault-probs-", async (dir) => {
    const ok = "a,happy,happy,0.1,0,0,0.7,0.1,0,0.1";
    const cases: [string, string, RegExp][] = [
      [
        "sum3",
        `${HEADER}\n${ok}\nb,sad,sad,1,1,1,0,0,0,0\n`,
        /sum3\.csv:3: probabilities sum to 3\.000000/,
      ],
      [
        "zero",
        `${HEADER}\n${ok}\nb,sad,sad,0,0,0,0,0,0,0\n`,
        /zero\.csv:3: probabilities sum to 0\.000000/,
      ],
      [
        "negative",
        `${HEADER}\nb,sad,sad,-0.5,1.5,0,0,0,0,0\n`,
        /negative\.csv:2: values from -0\.5000 to 1\.5000/,
      ],
      [
        "logits",
        `${HEADER}\nb,sad,sad,-5.6,6.7,0,1,2,0,0\n`,
        /logits\.csv:2: values from -5\.6000 to 6\.7000/,
      ],
      [
        "noneutral",
        `${HEADER.replace(",p_neutral", "")}\nb,sad,sad,0.2,0.2,0.2,0.2,0.1,0.1\n`,
        /noneutral\.csv:1: missing probability column p_neutral/,
      ],
    ];
    for (const [name, text, want] of cases) {
      const file = join(dir, `${name}.csv`);
      await Deno.writeTextFile(file, text);
      const r = await kit(["metrics", file]);
      assert.equal(r.code, 1, `${name}: ${r.out}${r.err}`);
      assert.match(r.err, want);
      assertClean(r.err);
    }
    const good = join(dir, "good.csv");
    await Deno.writeTextFile(good, `${HEADER}\n${ok}\n`);
    assert.equal((await kit(["metrics", good])).code, 0);
  });
});

Deno.test("agreement: a file given twice, or a copy of it, is refused", async () => {
  await withTempDir("fer-fault-agree-", async (dir) => {
    const a = join(dir, "a.csv");
    await Deno.writeTextFile(
      a,
      `${HEADER}\nx,happy,happy,0,0,0,1,0,0,0\ny,sad,sad,0,0,0,0,1,0,0\n`,
    );
    await Deno.copyFile(a, join(dir, "b.csv"));
    const same = await kit(["agreement", a, a]);
    assert.equal(same.code, 1);
    assert.match(same.err, /a\.csv and .*a\.csv are the same file/);
    const copy = await kit(["agreement", a, join(dir, "b.csv")]);
    assert.equal(copy.code, 1);
    assert.match(copy.err, /are the same content/);
    // The same checks as metrics: a row that is not probabilities, a missing class column.
    const bad = join(dir, "bad.csv");
    await Deno.writeTextFile(
      bad,
      `${HEADER}\nx,happy,happy,0,0,0,1,0,0,0\ny,sad,sad,1,1,1,0,0,0,0\n`,
    );
    const sum = await kit(["agreement", a, bad]);
    assert.equal(sum.code, 1);
    assert.match(sum.err, /bad\.csv:3: probabilities sum to 3\.000000/);
    const nocol = join(dir, "nocol.csv");
    await Deno.writeTextFile(
      nocol,
      `${HEADER.replace(",p_neutral", "")}\nx,happy,happy,0,0,0,1,0,0\ny,sad,sad,0,0,0,0,1,0\n`,
    );
    const col = await kit(["agreement", a, nocol]);
    assert.equal(col.code, 1);
    assert.match(col.err, /nocol\.csv:1: missing probability column p_neutral/);
    assertClean(same.err + copy.err + sum.err + col.err);
  });
});

Deno.test("an unusable cache folder: --help and metrics work, setup names the folder and the fix", async () => {
  await withTempDir("fer-fault-cache-", async (dir) => {
    await Deno.writeTextFile(join(dir, "afile"), "not a folder");
    const env = { FER_CACHE: join(dir, "afile", "cache") };
    const good = join(dir, "good.csv");
    await Deno.writeTextFile(good, `${HEADER}\nx,happy,happy,0,0,0,1,0,0,0\n`);
    assert.equal((await kit(["--help"], { env })).code, 0);
    assert.equal((await kit(["metrics", good], { env })).code, 0);
    const script = await new Deno.Command(join(PROJECT_ROOT, "fer-kit"), {
      args: ["metrics", good],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(
      script.code,
      0,
      "./fer-kit metrics runs no model setup: " + decoder.decode(script.stderr),
    );
    const setup = await kit(["setup", "--models-only"], { env });
    assert.equal(setup.code, 1);
    assert.match(
      setup.err,
      new RegExp(`${env.FER_CACHE.replaceAll("/", "\\/")}.*\\n.*set FER_CACHE`),
    );
    assertClean(setup.err);
  });
});

Deno.test("relative paths mean the caller's folder, through ./fer-kit and deno task", async () => {
  await withTempDir("fer-fault-cwd-", async (dir) => {
    await Deno.writeTextFile(join(dir, "rel.csv"), `${HEADER}\nx,happy,happy,0,0,0,1,0,0,0\n`);
    const script = await new Deno.Command(join(PROJECT_ROOT, "fer-kit"), {
      args: ["metrics", "rel.csv"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(script.code, 0, decoder.decode(script.stderr));
    assert.match(decoder.decode(script.stdout), /^rel\.csv/);
    const data = join(dir, "data");
    await twoImageFolder(data);
    const { card } = await writeRegionModel(dir, 8, () => true, "all pixels");
    const task = await new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "-q",
        "--config",
        join(PROJECT_ROOT, "deno.json"),
        "kit",
        "predict",
        "--model",
        card,
        "--dataset",
        "data",
        "--out",
        "out/rel.csv",
        "--quiet",
      ],
      cwd: dir,
      env: { FER_CACHE: join(dir, "cache") },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(task.code, 0, decoder.decode(task.stderr));
    assert.ok((await Deno.stat(join(dir, "out", "rel.csv"))).isFile);
    await assert.rejects(() => Deno.stat(join(PROJECT_ROOT, "out", "rel.csv")));
  });
});

Deno.test("error boundary: an unexpected error is one short line and a hint, its stack only with --debug", async () => {
  const bug = new TypeError("x.y is undefined");
  const plain = await capturingErrors(() => Promise.resolve(reportError("predict", bug, false)));
  assert.equal(plain.value, 70);
  assert.deepEqual(plain.lines, [
    "fer-kit predict: unexpected error: TypeError: x.y is undefined",
    "  run again with --debug for the stack trace, and please report it",
  ]);
  const debug = await capturingErrors(() => Promise.resolve(reportError("predict", bug, true)));
  assert.equal(debug.value, 70);
  assert.match(debug.lines.join("\n"), /^\s+at /m, "--debug prints the stack");
  // A known error: exit 1, what and where, then what to do.
  const known = await capturingErrors(() =>
    Promise.resolve(reportError("metrics", new InputError("p.csv:3: bad row", "fix it"), false))
  );
  assert.equal(known.value, 1);
  assert.deepEqual(known.lines, ["fer-kit metrics: p.csv:3: bad row", "  fix it"]);
});

// --- images and memory ---------------------------------------------------------------------------

Deno.test("a decompression bomb is refused before decoding, naming the file and its size", async () => {
  // A PNG that claims 20000x20000 pixels: refused from its header, whatever its data.
  const bomb = Uint8Array.from(await flatPng(0));
  new DataView(bomb.buffer).setUint32(16, 20000);
  new DataView(bomb.buffer).setUint32(20, 20000);
  await assert.rejects(
    () => decodeImageBytes(bomb, "bomb.png"),
    (e: Error) =>
      e instanceof ImageError &&
      /^bomb\.png: 20000x20000 pixels \(400\.0 megapixels\) is over the limit/.test(e.message),
  );
  // A real, small file of many pixels, under a lowered limit, in the fast PNG path and in sharp's.
  {
    for (const png of [true, false]) {
      const img = sharp(new Uint8Array(2000 * 2000), {
        raw: { width: 2000, height: 2000, channels: 1 },
      });
      const buf = png ? await img.png().toBuffer() : await img.jpeg().toBuffer();
      assert.ok(buf.length < 200_000, `${buf.length} bytes`);
      await assert.rejects(
        () => decodeImageBytes(new Uint8Array(buf), "big", 1_000_000),
        (e: Error) =>
          /^big: 2000x2000 pixels \(4\.0 megapixels\) is over the limit of 1\.0/.test(e.message),
      );
    }
  }
});

Deno.test("read-ahead: grants in order of use, within the byte limit, one oversized image alone", async () => {
  const ahead = new ReadAhead(10);
  const order: number[] = [];
  const t = [0, 1, 2, 3].map(() => ahead.ticket());
  const asks = [
    ahead.acquire(t[2], 4).then(() => order.push(2)), // its header came first: waits for 0 and 1
    ahead.acquire(t[1], 6).then(() => order.push(1)),
  ];
  await Promise.resolve();
  assert.deepEqual([...order], []);
  asks.push(ahead.acquire(t[0], 3).then(() => order.push(0)));
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual([...order].sort(), [0, 1], "3 + 6 fit in 10; 3 + 6 + 4 does not");
  assert.equal(ahead.held, 9);
  ahead.release(3); // image 0 used
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual([...order].sort(), [0, 1, 2]);
  const big = ahead.acquire(t[3], 25).then(() => order.push(3));
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual([...order].sort(), [0, 1, 2], "an oversized image waits until nothing is held");
  ahead.release(6);
  ahead.release(4);
  await big;
  assert.equal(ahead.held, 25);
  assert.equal(ahead.peak, 25);
  assert.throws(() => ahead.acquire(t[3], 0), /asked twice/);
});

Deno.test("predict: images decoded ahead are bounded in bytes, decoding included, and results do not change", async () => {
  await withTempDir("fer-fault-ahead-", async (dir) => {
    const data = join(dir, "data", "happy");
    await Deno.mkdir(data, { recursive: true });
    const png = (side: number, v: number) =>
      sharp(new Uint8Array(side * side).fill(v), {
        raw: { width: side, height: side, channels: 1 },
      }).toColourspace("b-w").png().toBuffer();
    for (let i = 0; i < 24; i++) {
      await Deno.writeFile(join(data, `${String(i).padStart(2, "0")}.png`), await png(1000, i * 9));
    }
    // One image over the limit, in the middle: decoded alone.
    await Deno.writeFile(join(data, "12-big.png"), await png(2000, 77));
    const model = await loadCard((await writeRegionModel(dir, 8, () => true, "all pixels")).card);
    const ds = await loadDataset(join(dir, "data"));
    const opts = {
      progress: false as const,
      cache: false,
      batchSize: 4,
      prefetch: 16,
      prepareInWorker: false,
    };
    const bounded = await predictDataset(model, ds, { ...opts, prefetchBytes: 2_500_000 });
    assert.equal(bounded.stats.inferred, 25);
    assert.equal(bounded.stats.aheadPeakBytes, 4_000_000, "the big image, held alone");
    const free = await predictDataset(model, ds, opts);
    assert.ok(free.stats.aheadPeakBytes >= 16_000_000, `${free.stats.aheadPeakBytes}`);
    assert.deepEqual(bounded.rows, free.rows);
    const tight = await predictDataset(model, ds, {
      ...opts,
      prefetchBytes: 2_500_000,
      prefetch: 1,
    });
    assert.ok(tight.stats.aheadPeakBytes <= 4_000_000);
    assert.deepEqual(tight.rows, free.rows);
  });
});

// --- write failures ------------------------------------------------------------------------------

Deno.test("predict: an output that cannot be written is an error before inference, naming the target", async () => {
  await withTempDir("fer-fault-out-", async (dir) => {
    const data = join(dir, "data");
    await twoImageFolder(data);
    const { card } = await writeRegionModel(dir, 8, () => true, "all pixels");
    await Deno.writeTextFile(join(dir, "afile"), "");
    const target = join(dir, "afile", "p.csv");
    const r = await kit(["predict", "--model", card, "--dataset", data, "--out", target], {
      env: { FER_CACHE: join(dir, "cache") },
    });
    assert.equal(r.code, 1, r.out + r.err);
    assert.ok(r.err.includes(`cannot write ${target}: `), r.err);
    assert.doesNotMatch(r.err, /\.tmp-|\.probe/);
    assertClean(r.err);
    await assert.rejects(() => Deno.stat(join(dir, "cache", "predictions")), "no inference ran");
  });
});

Deno.test("a failed write names its target, never the temporary file, and leaves no temporary file", async () => {
  await withTempDir("fer-fault-write-", async (dir) => {
    // The rename onto a folder fails after the temporary file was written.
    const target = join(dir, "out.csv");
    await Deno.mkdir(target);
    await assert.rejects(
      () => writeFileAtomic(target, "a,b\n"),
      (e: Error) =>
        e instanceof WriteError && e.path === target &&
        e.message.startsWith(`cannot write ${target}: `) && !e.message.includes(".tmp-"),
    );
    // A folder that cannot be made.
    await Deno.writeTextFile(join(dir, "afile"), "");
    const inFile = join(dir, "afile", "x.json");
    await assert.rejects(
      () => writeFileAtomic(inFile, "{}"),
      (e: Error) => e instanceof WriteError && e.message.startsWith(`cannot write ${inFile}: `),
    );
    await assert.rejects(
      () => checkWritable(inFile),
      (e: Error) => e instanceof WriteError && e.path === inFile && !e.message.includes(".probe"),
    );
    const left = await Array.fromAsync(Deno.readDir(dir), (e) => e.name);
    assert.deepEqual(left.sort(), ["afile", "out.csv"], "no temporary file left");
  });
});

/** True when this process may mount a tmpfs (root in a container that allows it). */
async function canMountTmpfs(): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "fer-mount-probe-" });
  try {
    const m = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=4k", "tmpfs", dir],
      stdout: "null",
      stderr: "null",
    }).output().catch(() => ({ code: 1 }));
    if (m.code !== 0) return false;
    await new Deno.Command("umount", { args: [dir] }).output();
    return true;
  } finally {
    await Deno.remove(dir).catch(() => {});
  }
}

const MOUNT = await canMountTmpfs();

Deno.test({
  name: "a full cache disk: the run keeps its results, says so, and leaves no temporary files",
  ignore: !MOUNT, // needs a small tmpfs (root); other write failures are tested above
  fn: async () => {
    await withTempDir("fer-fault-full-", async (dir) => {
      const data = join(dir, "data");
      await Deno.mkdir(join(data, "happy"), { recursive: true });
      for (let i = 0; i < 200; i++) {
        await Deno.writeFile(join(data, "happy", `${i}.png`), await flatPng(i));
      }
      const { card } = await writeRegionModel(dir, 8, () => true, "all pixels");
      const cache = join(dir, "cache");
      await Deno.mkdir(cache);
      const m = await new Deno.Command("mount", {
        args: ["-t", "tmpfs", "-o", "size=16k", "tmpfs", cache],
      }).output();
      assert.equal(m.code, 0);
      try {
        const args = [
          "predict",
          "--model",
          card,
          "--dataset",
          data,
          "--out",
          join(dir, "p.csv"),
          "--chunk-size",
          "4",
          "--quiet",
        ];
        const r = await kit(args, { env: { FER_CACHE: cache } });
        assert.equal(r.code, 0, r.err);
        assert.match(r.err, /cannot write the prediction cache .*No space left on device/);
        assert.match(r.out, /200 predictions/);
        const left: string[] = [];
        for await (const e of Deno.readDir(join(cache, "predictions"))) {
          for await (const f of Deno.readDir(join(cache, "predictions", e.name))) left.push(f.name);
        }
        assert.ok(!left.some((f) => f.includes(".tmp-")), left.join(" "));
        // The chunks that fit (4 results each: --chunk-size, whatever the batch) are kept and
        // used by the next run.
        const again = await kit(args, { env: { FER_CACHE: cache } });
        assert.equal(again.code, 0);
        const m2 = again.out.match(/(\d+) from cache, (\d+) inferred/);
        assert.ok(m2 && Number(m2[1]) > 0 && Number(m2[1]) + Number(m2[2]) === 200, again.out);
        assert.equal(Number(m2[1]) % 4, 0, again.out);
      } finally {
        await new Deno.Command("umount", { args: [cache] }).output();
      }
    });
  },
});

// --- manifests -----------------------------------------------------------------------------------

Deno.test("manifest: one image named twice is an error naming both lines; folders and non-UTF-8 names get their own reasons", async () => {
  await withTempDir("fer-fault-manifest-", async (dir) => {
    await Deno.mkdir(join(dir, "img", "sub"), { recursive: true });
    await Deno.writeFile(join(dir, "img", "x.png"), await flatPng(9));
    await Deno.writeTextFile(
      join(dir, "dup.csv"),
      "path,label\nimg/x.png,happy\n./img/x.png,happy\n",
    );
    await assert.rejects(
      () => loadDataset(join(dir, "dup.csv")),
      /dup\.csv:3: "\.\/img\/x\.png" is the same image as "img\/x\.png" of line 2/,
    );
    const bytes = new TextEncoder().encode(
      "path,label\nimg/x.png,happy\nimg/sub,sad\nimg/\xff.png,sad\n",
    );
    const text = Uint8Array.from([...bytes].map((b) => b === 0xc3 ? 0xff : b)).filter((b) =>
      b !== 0xbf
    );
    await Deno.writeFile(join(dir, "odd.csv"), text);
    const d = await loadDataset(join(dir, "odd.csv"));
    assert.equal(d.samples.length, 1);
    const reasons = d.unreadable.map((u) => u.reason);
    assert.deepEqual(reasons.length, 2);
    assert.match(reasons[0], /a folder, not an image file/);
    assert.match(reasons[1], /not valid UTF-8/);
  });
});

Deno.test("two runs on one cache at once both finish with the same predictions", async () => {
  await withTempDir("fer-fault-concurrent-", async (dir) => {
    const data = join(dir, "data");
    await Deno.mkdir(join(data, "happy"), { recursive: true });
    for (let i = 0; i < 30; i++) {
      await Deno.writeFile(join(data, "happy", `${i}.png`), await flatPng(i * 7));
    }
    const { card } = await writeRegionModel(dir, 8, () => true, "all pixels");
    const env = { FER_CACHE: join(dir, "cache") };
    const run = (out: string) =>
      kit([
        "predict",
        "--model",
        card,
        "--dataset",
        data,
        "--out",
        join(dir, out),
        "--chunk-size",
        "3",
        "--quiet",
      ], { env });
    const [a, b] = await Promise.all([run("a.csv"), run("b.csv")]);
    assert.equal(a.code, 0, a.err);
    assert.equal(b.code, 0, b.err);
    assert.equal(
      await Deno.readTextFile(join(dir, "a.csv")),
      await Deno.readTextFile(join(dir, "b.csv")),
    );
    const c = await run("c.csv");
    assert.match(c.out, /30 from cache, 0 inferred/);
  });
});

// --- no data, no success; a clean clone stays clean ------------------------------------------------

Deno.test("report without any dataset fails at once with one message naming each dataset; bad flags fail before the warm-up", async () => {
  await withTempDir("fer-fault-nodata-", async (dir) => {
    const r = await kit(["report", "--data", dir, "--out", join(dir, "site")]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(
      r.err,
      /no dataset found under the data root .*: the report would have only empty pages/,
    );
    for (const name of ["fer2013", "ferplus", "ckplus", "expw", "rafdb", "affectnet"]) {
      assert.match(r.err, new RegExp(`${dir}/${name}/ `), name);
    }
    assert.match(r.err, /--allow-missing/);
    assertClean(r.err);
    await assert.rejects(() => Deno.stat(join(dir, "site")), "no site built");
    const jobs = await kit(["report", "--data", dir, "--jobs", "zero"]);
    assert.equal(jobs.code, 2);
    assert.match(jobs.err, /--jobs must be an integer >= 1/);
    const nb = await kit(["report", "--data", dir, "--notebook", "99"]);
    assert.equal(nb.code, 2);
    assert.match(nb.err, /no notebook matches "99"/);
  });
});

Deno.test("datasets --check: found or not, counts against the published count, hash, where to get the rest", async () => {
  await withTempDir("fer-fault-check-", async (dir) => {
    await Deno.mkdir(join(dir, "ckplus", "CK+48", "happy"), { recursive: true });
    for (let i = 10; i < 22; i++) { // twelve subjects: enough for the kit's ten CK+ folds
      const file = join(dir, "ckplus", "CK+48", "happy", `S0${i}_001_00000001.png`);
      await Deno.writeFile(file, await flatPng(i));
    }
    const r = await kit(["datasets", "--check", "--data", dir]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /ckplus\s+found\s+12 labelled samples \(published 981\)\s+hash [0-9a-f]{16}/,
    );
    assert.match(r.out, /fer2013\s+not found/);
    assert.match(r.out, /where to get them/);
    assert.doesNotMatch(r.out, /ckplus\/ +CK\+/, "no download line for a dataset that is there");
    const none = await kit(["datasets", "--check", "--data", join(dir, "ckplus", "CK+48")]);
    assert.equal(none.code, 1);
  });
});

Deno.test("clean clone: the tools lockfile is complete (npm ci installs it unchanged) and ./fer-kit uses npm ci", async () => {
  const lock = JSON.parse(
    await Deno.readTextFile(join(PROJECT_ROOT, "tools", "package-lock.json")),
  );
  const deno = JSON.parse(
    await Deno.readTextFile(join(PROJECT_ROOT, "tools", "node_modules", "deno", "package.json")),
  );
  // npm records every optional platform package of the deno package; a lockfile without them
  // is rewritten by the first `npm install`, and the clone then looks modified.
  for (const dep of Object.keys(deno.optionalDependencies ?? {})) {
    assert.ok(lock.packages[`node_modules/${dep}`], `tools/package-lock.json lacks ${dep}`);
  }
  const script = await Deno.readTextFile(join(PROJECT_ROOT, "fer-kit"));
  assert.match(script, /npm ci /);
  assert.doesNotMatch(script, /npm install/);
});

// --- saliency ------------------------------------------------------------------------------------

Deno.test("saliency: a flat map is said to be flat, not given a peak; a uniform image gets a note", async () => {
  assert.deepEqual(mapPeak({ width: 2, height: 2, data: new Float32Array(4).fill(0.25) }), {
    flat: true,
    value: 0.25,
  });
  assert.deepEqual(mapPeak({ width: 2, height: 2, data: Float32Array.of(0, 0, 0.5, 0) }), {
    flat: false,
    x: 0,
    y: 1,
    value: 0.5,
  });
  await withTempDir("fer-fault-saliency-", async (dir) => {
    const { onnx, card } = await writeRegionModel(dir, 8, () => true, "all pixels");
    const image = join(dir, "one.png");
    await sharp(Uint8Array.of(128), { raw: { width: 1, height: 1, channels: 1 } }).png()
      .toFile(image);
    // Occlusion by the image's own mean changes nothing: the map is 0 everywhere.
    const r = await kit([
      "saliency",
      "--model",
      onnx,
      "--card",
      card,
      "--image",
      image,
      "--method",
      "occlusion",
      "--out",
      join(dir, "o.png"),
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^peak: +none \(the map is flat: every value 0\.0000\)$/m);
    assert.doesNotMatch(r.out, /x=\d+ y=\d+/);
    assert.match(r.err, /one\.png is uniform \(every pixel 128 as the model sees it\)/);
    assertClean(r.err);
  });
});

// --- the user's Jupyter kernelspec -----------------------------------------------------------------

Deno.test("only setup writes the user's Jupyter kernelspec: ./fer-kit commands and the report leave it alone", async () => {
  await withTempDir("fer-fault-kernelspec-", async (home) => {
    const dataHome = join(home, ".local", "share");
    const spec = join(dataHome, "jupyter", "kernels", "fer-kit-deno", "kernel.json");
    await Deno.mkdir(join(spec, ".."), { recursive: true });
    // Another checkout's kernelspec, as `setup` there wrote it.
    const other = JSON.stringify({
      argv: ["/elsewhere/fer-kit/tools/node_modules/.bin/deno", "jupyter", "--kernel", "--conn"],
      display_name: "Deno (fer-kit)",
      language: "typescript",
    });
    await Deno.writeTextFile(spec, other);
    const realHome = Deno.env.get("HOME") ?? "/root";
    const env = {
      HOME: home,
      XDG_DATA_HOME: dataHome,
      JUPYTER_DATA_DIR: join(dataHome, "jupyter"),
      DENO_DIR: Deno.env.get("DENO_DIR") ?? join(realHome, ".cache", "deno"),
    };
    const untouched = async (what: string) => {
      assert.equal(await Deno.readTextFile(spec), other, `${what} rewrote the user's kernelspec`);
      const names = await Array.fromAsync(Deno.readDir(join(spec, "..", "..")), (e) => e.name);
      assert.deepEqual(names, ["fer-kit-deno"], `${what} added a kernelspec`);
    };

    const good = join(home, "good.csv");
    await Deno.writeTextFile(good, `${HEADER}\nx,happy,happy,0,0,0,1,0,0,0\n`);
    // Through the script: a command without models, and one that runs the models' setup.
    for (const args of [["metrics", good], ["predict", "--help"]]) {
      const r = await new Deno.Command(join(PROJECT_ROOT, "fer-kit"), {
        args,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(r.code, 0, `./fer-kit ${args[0]}: ${decoder.decode(r.stderr)}`);
      await untouched(`./fer-kit ${args[0]}`);
    }
    // The report runs notebooks on the kit's per-checkout kernelspec, whatever the user's says.
    const nbs = join(home, "notebooks");
    await Deno.mkdir(nbs);
    await Deno.writeTextFile(
      join(nbs, "01-one.ipynb"),
      JSON.stringify({
        cells: [{
          cell_type: "code",
          metadata: {},
          execution_count: null,
          outputs: [],
          source: "1",
        }],
        metadata: {},
        nbformat: 4,
        nbformat_minor: 5,
      }),
    );
    const report = await kit(["report", "--notebooks", nbs, "--out", join(home, "site")], { env });
    assert.equal(report.code, 0, report.err);
    await untouched("report");

    // `setup` is the one command that registers the kernel for the user: this test can see it.
    const setup = await kit(["setup"], { env });
    assert.equal(setup.code, 0, setup.err);
    const written = JSON.parse(await Deno.readTextFile(spec));
    assert.equal(Deno.realPathSync(written.argv[0]), Deno.realPathSync(Deno.execPath()));
  });
});

Deno.test("report --allow-missing without data builds the empty skeleton and says what is missing", async () => {
  await withTempDir("fer-fault-allow-missing-", async (dir) => {
    const [data, site] = [join(dir, "data"), join(dir, "site")];
    await Deno.mkdir(data);
    const r = await kit([
      "report",
      "--data",
      data,
      "--allow-missing",
      "--notebook",
      "00",
      "--out",
      site,
    ]);
    assert.doesNotMatch(r.err, /no dataset found under the data root/);
    for (const name of ["fer2013", "ferplus", "ckplus", "expw"]) {
      assert.match(r.err, new RegExp(`report: missing ${name}: ${data}/${name}: dataset`), name);
    }
    assert.match(r.out, /report: .*index\.html \(1 executed/);
    // Only 00 ran: the other notebooks are never built, so the command still exits 1.
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /never built: 01-/);
    assertClean(r.err);
    const page = await Deno.readTextFile(join(site, "00-datasets.html"));
    assert.match(page, new RegExp(`No datasets found under <code>${data}</code>`));
    const built = JSON.parse(await Deno.readTextFile(join(site, "findings.json")));
    const own = built.findings.filter((f: { notebook: string }) => f.notebook === "00-datasets");
    assert.ok(own.length > 0 && own.every((f: { value: unknown }) => f.value === null));
  });
});

const IS_CHECKOUT = await pathExists(join(PROJECT_ROOT, ".git"));

Deno.test({
  name:
    "clean clone: ./fer-kit report in a fresh clone records its commit as clean and leaves no tracked file changed",
  ignore: !IS_CHECKOUT, // needs the kit as a git checkout to clone
  fn: async () => {
    await withTempDir("fer-fault-clone-", async (dir) => {
      const clone = join(dir, "fer-kit");
      const git = async (args: string[], cwd = clone) => {
        const r = await new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "piped" })
          .output();
        assert.equal(r.code, 0, `git ${args.join(" ")}: ${decoder.decode(r.stderr)}`);
        return decoder.decode(r.stdout).trim();
      };
      await git(["clone", "--quiet", PROJECT_ROOT, clone], dir);
      // The whole first-run path: ./fer-kit installs Deno by npm ci (from npm's local cache when
      // it has the package, as after this checkout's own install) and the npm dependencies; the
      // converted models come from this checkout's cache folder, shared as FER_CACHE allows.
      const empty = join(dir, "no-data");
      await Deno.mkdir(empty);
      const site = join(dir, "site");
      const r = await new Deno.Command(join(clone, "fer-kit"), {
        args: [
          "report",
          "--data",
          empty,
          "--allow-missing",
          "--notebook",
          "00",
          "--no-prepare",
          "--out",
          site,
        ],
        env: { FER_CACHE: cacheRoot(), npm_config_prefer_offline: "true", INIT_CWD: dir },
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = decoder.decode(r.stderr);
      assert.match(decoder.decode(r.stdout), /report: .*index\.html \(1 executed/, err);
      const head = await git(["rev-parse", "HEAD"]);
      assert.equal(await git(["status", "--porcelain"]), "", "the first run changed the clone");
      const built = JSON.parse(await Deno.readTextFile(join(site, "findings.json")));
      assert.equal(built.kit.commit, head);
      assert.equal(built.kit.dirty, false);
      const index = await Deno.readTextFile(join(site, "index.html"));
      assert.ok(index.includes(`<dt>Kit commit</dt><dd><code>${head}</code></dd>`));
      assert.doesNotMatch(index, /uncommitted changes|\+dirty/);
      // The clone's notebooks ran on its own Deno through a kernelspec of its own, apart from
      // this checkout's in the shared cache folder.
      const specs = new Map<string, string>(); // Deno binary -> its kernelspec folder
      for await (const e of Deno.readDir(join(cacheRoot(), "jupyter"))) {
        const spec = join(cacheRoot(), "jupyter", e.name, "kernels", "fer-kit-deno", "kernel.json");
        if (!(await pathExists(spec))) continue;
        specs.set(
          JSON.parse(await Deno.readTextFile(spec)).argv[0],
          join(cacheRoot(), "jupyter", e.name),
        );
      }
      const own = [...specs].filter(([deno]) => deno.startsWith(`${clone}/tools/node_modules/`));
      assert.equal(own.length, 1, [...specs.keys()].join(" "));
      await Deno.remove(own[0][1], { recursive: true });
    });
  },
});

Deno.test("probe and cross: an unknown backbone, an unknown dataset and an empty training split are one clear line each", async () => {
  await withTempDir("fer-fault-probe-", async (dir) => {
    const data = join(dir, "m");
    await Deno.mkdir(data);
    for (const i of [0, 1]) await Deno.writeFile(join(data, `${i}.png`), await flatPng(i * 90));
    const manifest = join(data, "m.csv");
    await Deno.writeTextFile(manifest, "path,label,split\n0.png,happy,test\n1.png,sad,test\n");
    const { card } = await writeRegionModel(dir, 8, () => true, "all pixels");
    const cases: [string[], RegExp][] = [
      [
        ["probe", "--backbone", "nope", "--train", manifest, "--test", manifest],
        /^fer-kit probe: .*nope\.json: unknown model "nope" \(registered: /,
      ],
      [
        ["cross", "--backbone", "nope", "--datasets", `${manifest},ckplus`],
        /^fer-kit cross: .*nope\.json: unknown model "nope"/,
      ],
      [
        ["probe", "--backbone", card, "--train", "nosuch", "--test", manifest],
        /^fer-kit probe: nosuch: no such dataset: not a registered name \(fer2013, /,
      ],
      [
        ["probe", "--backbone", card, "--train", "m/m.csv:train", "--test", "m/m.csv:test"],
        /^fer-kit probe: m\/m\.csv:train: the train split of m is empty \(its splits: test 2\)\n {2}name a split that has images, e\.g\. m\/m\.csv:test\n$/,
      ],
      [
        ["cross", "--backbone", card, "--datasets", "m/m.csv"],
        /the train split of m is empty/,
      ],
    ];
    for (const [args, want] of cases) {
      const r = await kit(args, { cwd: dir, env: { FER_CACHE: join(dir, "cache") } });
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.out}${r.err}`);
      assert.match(r.err, want, args.join(" "));
      assert.doesNotMatch(r.err, /unexpected error|please report/);
      assertClean(r.err);
    }
  });
});
