/**
 * FER-2013 in the Kaggle folder layout (train/<class>/Training_<n>.jpg, test/<class>/
 * PublicTest_<n>.jpg | PrivateTest_<n>.jpg) on a fixture this test builds in a temp dir (gray
 * JPEGs made with sharp from a counter, no data): detection, ids, labels, both split options,
 * `kit datasets` on it, and the errors for a wrong layout.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import sharp from "sharp";
import { detectFormat, loadDataset } from "../lib/datasets/mod.ts";
import type { DatasetsReport } from "../lib/cli/datasets.ts";
import { LabelError } from "../lib/taxonomy.ts";
import { kitCommand, withTempDir } from "./support.ts";

async function writeJpeg(path: string, seed: number): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const px = Uint8Array.from({ length: 48 * 48 }, (_, i) => (i * 7 + seed * 13) & 255);
  const jpg = await sharp(px, { raw: { width: 48, height: 48, channels: 1 } })
    .toColourspace("b-w").jpeg().toBuffer();
  await Deno.writeFile(path, jpg);
}

/** [top folder, class folder, file name] of the fixture: 4 train, 3 PublicTest, 2 PrivateTest. */
const FILES: [string, string, string][] = [
  ["train", "angry", "Training_10.jpg"],
  ["train", "happy", "Training_3.jpg"],
  ["train", "neutral", "Training_7.jpg"],
  ["train", "surprise", "Training_12.jpg"],
  ["test", "sad", "PublicTest_1.jpg"],
  ["test", "neutral", "PublicTest_5.jpg"],
  ["test", "disgust", "PublicTest_9.jpg"],
  ["test", "fear", "PrivateTest_2.jpg"],
  ["test", "neutral", "PrivateTest_4.jpg"],
];

async function buildKaggle(root: string): Promise<string> {
  const dir = join(root, "fer2013");
  for (const [i, [top, cls, name]] of FILES.entries()) {
    await writeJpeg(join(dir, top, cls, name), i);
  }
  return dir;
}

Deno.test("kaggle layout: detected, ids and labels from names and folders", async () => {
  await withTempDir("kaggle-", async (root) => {
    const dir = await buildKaggle(root);
    assert.equal(await detectFormat(dir), "fer2013-kaggle");
    const d = await loadDataset("fer2013", { dataRoot: root });
    assert.equal(d.format, "fer2013-kaggle");
    const byId = new Map(d.samples.map((s) => [s.id, s]));
    assert.equal(d.samples.length, 9);
    assert.equal(byId.get("Training_10")!.label, "angry");
    assert.equal(byId.get("Training_10")!.split, "train");
    assert.equal(byId.get("PublicTest_9")!.label, "disgust");
    assert.equal(byId.get("PublicTest_9")!.split, "val");
    assert.equal(byId.get("PrivateTest_4")!.split, "test");
    assert.deepEqual(d.classes, [
      "angry",
      "disgust",
      "fear",
      "happy",
      "sad",
      "surprise",
      "neutral",
    ]);
  });
});

Deno.test("kaggle layout: default split vs --fer2013-split kaggle (test = whole test folder)", async () => {
  await withTempDir("kaggle-", async (root) => {
    await buildKaggle(root);
    const count = async (opts: Parameters<typeof loadDataset>[1]) => {
      const d = await loadDataset("fer2013", { dataRoot: root, ...opts });
      return d.samples.map((s) => `${s.split}:${s.id}`).sort();
    };
    const def = await count({});
    assert.deepEqual(def.filter((s) => s.startsWith("test:")), [
      "test:PrivateTest_2",
      "test:PrivateTest_4",
    ]);
    assert.equal(def.filter((s) => s.startsWith("val:")).length, 3);
    const kaggle = await count({ fer2013Split: "kaggle" });
    assert.equal(kaggle.filter((s) => s.startsWith("test:")).length, 5);
    assert.equal(kaggle.filter((s) => s.startsWith("val:")).length, 0);
    assert.equal(kaggle.filter((s) => s.startsWith("train:")).length, 4);
    // The split filter applies after the remap.
    const testOnly = await loadDataset("fer2013", {
      dataRoot: root,
      fer2013Split: "kaggle",
      split: "test",
    });
    assert.deepEqual(
      testOnly.samples.map((s) => s.id).sort(),
      ["PrivateTest_2", "PrivateTest_4", "PublicTest_1", "PublicTest_5", "PublicTest_9"],
    );
  });
});

Deno.test("kaggle layout: `kit datasets --json` with both split options", async () => {
  await withTempDir("kaggle-", async (root) => {
    await buildKaggle(root);
    for (const [opt, test, val] of [["default", 2, 3], ["kaggle", 5, undefined]] as const) {
      const out = await kitCommand(["datasets", "--data", root, "--json", "--fer2013-split", opt])
        .output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const r = JSON.parse(new TextDecoder().decode(out.stdout)) as DatasetsReport;
      const fer = r.datasets.find((d) => d.name === "fer2013")!;
      assert.equal(fer.format, "fer2013-kaggle");
      assert.equal(r.fer2013Split, opt);
      assert.equal(fer.splits.test!.total, test);
      assert.equal(fer.splits.val?.total, val);
      assert.equal(fer.splits.train!.total, 4);
      assert.equal(fer.splits.test!.perClass.neutral, opt === "kaggle" ? 2 : 1);
    }
    const bad = await kitCommand(["datasets", "--data", root, "--fer2013-split", "tao"]).output();
    assert.equal(bad.code, 2);
    assert.match(new TextDecoder().decode(bad.stderr), /--fer2013-split must be default or kaggle/);
  });
});

Deno.test("kaggle layout: wrong names and folders are errors naming the file", async () => {
  await withTempDir("kaggle-", async (root) => {
    const dir = await buildKaggle(root);
    await writeJpeg(join(dir, "test", "happy", "Training_99.jpg"), 1);
    await assert.rejects(
      () => loadDataset(dir),
      (e: unknown) =>
        e instanceof LabelError && /Training image under test/.test(e.message) &&
        e.message.includes("Training_99.jpg"),
    );
    await Deno.remove(join(dir, "test", "happy", "Training_99.jpg"));
    await writeJpeg(join(dir, "test", "contempt", "PublicTest_77.jpg"), 2);
    // An unknown class folder: no longer this layout, so the generic folder tree takes it
    // and its ids are the relative paths.
    assert.equal(await detectFormat(dir), "folder");
  });
});
