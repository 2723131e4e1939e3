/**
 * Every dataset loader on fixtures this test builds in a temp dir (images made with sharp, label
 * files in each publisher's layout), so it runs everywhere. Expected samples, labels, splits and
 * exclusion counts are worked out by hand from the fixture below.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import sharp from "sharp";
import { checkImages, detectFormat, loadDataset, type LoadedDataset } from "../lib/datasets/mod.ts";
import { datasetHash } from "../lib/datasets/hash.ts";
import { parseFer2013Csv } from "../lib/datasets/fer2013.ts";
import { writeSplitManifest } from "../lib/datasets/split.ts";
import { decodeImage } from "../lib/image.ts";
import type { Sample } from "../lib/sample.ts";
import { LabelError } from "../lib/taxonomy.ts";
import { withTempDir } from "./support.ts";

/** A 48x48 gray face-sized pattern, different for each seed. */
function grayPixels(seed: number): Uint8Array {
  const out = new Uint8Array(48 * 48);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < out.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function writeImage(
  path: string,
  width: number,
  height: number,
  channels: 1 | 3,
  kind: "png" | "jpg",
  px?: Uint8Array,
): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const data = px ??
    Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 7) & 255);
  let s = sharp(data, { raw: { width, height, channels } });
  if (channels === 1) s = s.toColourspace("b-w");
  await Deno.writeFile(path, kind === "png" ? await s.png().toBuffer() : await s.jpeg().toBuffer());
}

async function writeText(path: string, text: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeTextFile(path, text);
}

function byId(d: LoadedDataset): Map<string, Sample> {
  return new Map(d.samples.map((s) => [s.id, s]));
}

function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  return withTempDir("fer-datasets-", fn);
}

/**
 * The FER2013 / FER+ fixture: 7 FER2013 rows.
 * row  usage        name            votes (neu hap sur sad ang dis fea con unk NF)  orig  image
 * 0    Training     fer0000000.png  6 4 0 0 0 0 0 0 0 0  → neutral                  6     yes
 * 1    Training     (dropped)       0 0 0 0 0 0 0 0 0 10                           -     -
 * 2    Training     fer0000002.png  5 5 0 0 0 0 0 0 0 0  → no majority             3     yes
 * 3    PublicTest   fer0000003.png  0 0 0 8 0 0 0 0 2 0  → sad                     4     yes
 * 4    PrivateTest  fer0000004.png  0 0 0 0 3 0 0 7 0 0  → contempt                0     yes
 * 5    PrivateTest  fer0000005.png  0 0 0 0 0 0 3 0 7 0  → winner unknown          2*    yes
 * 6    PrivateTest  fer0000006.png  0 0 10 0 0 0 0 0 0 0 → surprise                5     MISSING
 * (* certain = 0). FER2013Valid has no label.csv: its votes come from fer2013new.csv.
 */
const FER_ROWS = [
  { usage: "Training", name: "fer0000000.png", votes: "6,4,0,0,0,0,0,0,0,0", orig: "6" },
  { usage: "Training", name: "", votes: "0,0,0,0,0,0,0,0,0,10", orig: "3" },
  { usage: "Training", name: "fer0000002.png", votes: "5,5,0,0,0,0,0,0,0,0", orig: "3" },
  { usage: "PublicTest", name: "fer0000003.png", votes: "0,0,0,8,0,0,0,0,2,0", orig: "4" },
  { usage: "PrivateTest", name: "fer0000004.png", votes: "0,0,0,0,3,0,0,7,0,0", orig: "0" },
  { usage: "PrivateTest", name: "fer0000005.png", votes: "0,0,0,0,0,0,3,0,7,0", orig: "2" },
  { usage: "PrivateTest", name: "fer0000006.png", votes: "0,0,10,0,0,0,0,0,0,0", orig: "5" },
];
const FOLDER: Record<string, string> = {
  Training: "FER2013Train",
  PublicTest: "FER2013Valid",
  PrivateTest: "FER2013Test",
};

async function buildFer(root: string): Promise<void> {
  const fp = join(root, "ferplus");
  const labelCsv: Record<string, string[]> = { FER2013Train: [], FER2013Test: [] };
  for (const [i, r] of FER_ROWS.entries()) {
    if (r.name === "") continue;
    if (i !== 6) {
      await writeImage(join(fp, FOLDER[r.usage], r.name), 48, 48, 1, "png", grayPixels(i));
    }
    labelCsv[FOLDER[r.usage]]?.push(`${r.name},"(0, 0, 48, 48)",${r.votes}`);
  }
  await Deno.mkdir(join(fp, "FER2013Valid"), { recursive: true });
  for (const [f, lines] of Object.entries(labelCsv)) {
    await writeText(join(fp, f, "label.csv"), lines.join("\n") + "\n");
  }
  await writeText(
    join(fp, "fer2013new.csv"),
    "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n" +
      FER_ROWS.map((r) => `${r.usage},${r.name},${r.votes}`).join("\n") + "\n",
  );
  await writeText(
    join(root, "fer2013", "fer2013-original-labels.csv"),
    "image,Usage,emotion,certain\n" +
      FER_ROWS.filter((r) => r.name !== "").map((r) =>
        `${r.name},${r.usage},${r.orig},${r.name === "fer0000005.png" ? 0 : 1}`
      ).join("\n") + "\n",
  );
  const csvRow = (i: number) =>
    `${FER_ROWS[i].orig},${Array.from(grayPixels(i)).join(" ")},${FER_ROWS[i].usage}`;
  await writeText(
    join(root, "fer2013", "full.csv"),
    "emotion,pixels,Usage\n" + FER_ROWS.map((_, i) => csvRow(i)).join("\n") + "\n",
  );
  await writeText(
    join(root, "fer2013", "part.csv"),
    "emotion,pixels,Usage\n" + [2, 4].map(csvRow).join("\n") + "\n",
  );
}

Deno.test("ferplus: votes from label.csv and fer2013new.csv, majority rule, exclusions, missing image", async () => {
  await withTemp(async (root) => {
    await buildFer(root);
    const d = await loadDataset("ferplus", { dataRoot: root });
    assert.equal(d.format, "ferplus");
    assert.equal(d.name, "ferplus");
    const m = byId(d);
    assert.deepEqual([...m.keys()].sort(), ["fer0000000.png", "fer0000003.png", "fer0000004.png"]);
    assert.equal(m.get("fer0000000.png")!.label, "neutral");
    assert.equal(m.get("fer0000000.png")!.split, "train");
    assert.equal(m.get("fer0000003.png")!.label, "sad");
    assert.equal(m.get("fer0000003.png")!.split, "val");
    assert.equal(m.get("fer0000004.png")!.label, "contempt");
    assert.equal(m.get("fer0000004.png")!.split, "test");
    assert.deepEqual(m.get("fer0000003.png")!.votes, {
      angry: 0,
      disgust: 0,
      fear: 0,
      happy: 0,
      sad: 8,
      surprise: 0,
      neutral: 0,
      contempt: 0,
      other: 2,
    });
    // Valid's row 1 is not in Valid; Train's dropped row is not read (Train has label.csv).
    assert.deepEqual(d.excluded, { "no-majority": 1, "winner-unknown": 1 });
    assert.deepEqual(d.unreadable.map((u) => [u.file.split("/").slice(-2).join("/"), u.reason]), [
      ["FER2013Test/fer0000006.png", "file not found"],
    ]);
    assert.equal(d.classes.length, 8);
    assert.equal(d.hash, await datasetHash(d.samples));
    // Plurality: the 5-5 tie goes to happy (kit order); unknown still wins row 5.
    const p = byId(await loadDataset("ferplus", { dataRoot: root, ferplusLabel: "plurality" }));
    assert.equal(p.get("fer0000002.png")!.label, "happy");
    const k = await loadDataset("ferplus", { dataRoot: root, ferplusLabel: { atLeast: 7 } });
    assert.deepEqual(k.samples.map((s) => s.id).sort(), ["fer0000003.png", "fer0000004.png"]);
    assert.deepEqual(k.excluded, { "below-threshold": 2, "winner-unknown": 1 });
    const t = await loadDataset("ferplus", { dataRoot: root, split: "test" });
    assert.deepEqual(t.samples.map((s) => s.id), ["fer0000004.png"]);
    // Exclusions and unreadable files are those of the split asked for.
    assert.deepEqual(t.excluded, { "winner-unknown": 1 });
    assert.equal(t.unreadable.length, 1);
    const tr = await loadDataset("ferplus", { dataRoot: root, split: "train" });
    assert.deepEqual(tr.excluded, { "no-majority": 1 });
    assert.deepEqual(tr.unreadable, []);
    assert.notEqual(t.hash, d.hash);
    // When no folder has label.csv, fer2013new.csv supplies all votes and counts FER+'s drops.
    for (const f of ["FER2013Train", "FER2013Test"]) {
      await Deno.remove(join(root, "ferplus", f, "label.csv"));
    }
    const n = await loadDataset("ferplus", { dataRoot: root });
    assert.equal(n.excluded["dropped-by-ferplus"], 1);
    assert.equal(n.samples.length, 3);
  });
});

Deno.test("ferplus: a malformed label.csv line is a LabelError naming file and line", async () => {
  await withTemp(async (root) => {
    await buildFer(root);
    const file = join(root, "ferplus", "FER2013Train", "label.csv");
    await Deno.writeTextFile(
      file,
      `fer0000000.png,"(0, 0, 48, 48)",6,4,0,0,0,0,0,0,0,0\nfer0000002.png,"(0, 0, 48, 48)",5,x,0,0,0,0,0,0,0,0\n`,
    );
    await assert.rejects(loadDataset("ferplus", { dataRoot: root }), (e: unknown) => {
      assert.ok(e instanceof LabelError);
      assert.equal(e.origin.file, file);
      assert.equal(e.origin.line, 2);
      assert.equal(e.origin.field, "happiness");
      return true;
    });
    await Deno.writeTextFile(file, `fer0000000.png,"(0, 0, 48, 48)",6,4,0\n`);
    await assert.rejects(
      loadDataset("ferplus", { dataRoot: root }),
      /label\.csv:1: expected 12 fields/,
    );
  });
});

Deno.test("fer2013 folder layout: original labels, FER+ images and votes, uncertain labels", async () => {
  await withTemp(async (root) => {
    await buildFer(root);
    const d = await loadDataset("fer2013", { dataRoot: root });
    assert.equal(d.format, "fer2013-folder");
    const m = byId(d);
    assert.deepEqual(
      [...m.values()].map((s) => [s.id, s.label, s.split]).sort(),
      [
        ["fer0000000.png", "neutral", "train"],
        ["fer0000002.png", "happy", "train"],
        ["fer0000003.png", "sad", "val"],
        ["fer0000004.png", "angry", "test"],
        ["fer0000005.png", "fear", "test"],
      ],
    );
    assert.equal(m.get("fer0000004.png")!.votes!.contempt, 7);
    assert.equal(d.unreadable.length, 1);
    assert.equal(d.classes.length, 7);
    const img = await decodeImage(m.get("fer0000002.png")!.source);
    assert.deepEqual(Array.from(img.data), Array.from(grayPixels(2)));
    const u = await loadDataset("fer2013", { dataRoot: root, excludeUncertain: true });
    assert.deepEqual(u.excluded, { "uncertain-label": 1 });
    assert.equal(u.samples.length, 4);
  });
});

Deno.test("fer2013 CSV: pixels, ids from fer2013new.csv row order, partial CSV matched by pixels", async () => {
  await withTemp(async (root) => {
    await buildFer(root);
    const full = await loadDataset(join(root, "fer2013", "full.csv"));
    assert.equal(full.format, "fer2013-csv");
    assert.deepEqual(full.samples.map((s) => s.id), [
      "fer0000000.png",
      "fer2013-row1",
      "fer0000002.png",
      "fer0000003.png",
      "fer0000004.png",
      "fer0000005.png",
      "fer0000006.png",
    ]);
    assert.deepEqual(full.samples.map((s) => s.label), [
      "neutral",
      "happy",
      "happy",
      "sad",
      "angry",
      "fear",
      "surprise",
    ]);
    assert.deepEqual(full.samples.map((s) => s.split), [
      "train",
      "train",
      "train",
      "val",
      "test",
      "test",
      "test",
    ]);
    const px = await decodeImage(full.samples[4].source);
    assert.deepEqual([px.width, px.height, px.channels], [48, 48, 1]);
    assert.deepEqual(Array.from(px.data), Array.from(grayPixels(4)));
    const part = await loadDataset(join(root, "fer2013", "part.csv"));
    assert.deepEqual(part.samples.map((s) => s.id), ["fer0000002.png", "fer0000004.png"]);
    const plain = await loadDataset(join(root, "fer2013", "part.csv"), {
      matchFerplusNames: false,
    });
    assert.deepEqual(plain.samples.map((s) => s.id), ["part-row0", "part-row1"]);
    // The registered name prefers fer2013.csv when it is there.
    await Deno.copyFile(join(root, "fer2013", "full.csv"), join(root, "fer2013", "fer2013.csv"));
    assert.equal((await loadDataset("fer2013", { dataRoot: root })).format, "fer2013-csv");
  });
});

Deno.test("fer2013new.csv naming one image twice: the row whose pixels match gets the name", async () => {
  await withTemp(async (root) => {
    const fp = join(root, "ferplus");
    await writeImage(join(fp, "FER2013Train", "fer0000007.png"), 48, 48, 1, "png", grayPixels(11));
    await writeImage(join(fp, "FER2013Train", "fer0000008.png"), 48, 48, 1, "png", grayPixels(12));
    await writeText(
      join(fp, "fer2013new.csv"),
      "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n" +
        "Training,fer0000007.png,0,9,0,0,0,0,1,0,0,0\n" +
        "Training,fer0000007.png,0,0,0,0,0,0,0,0,0,10\n" +
        "Training,fer0000008.png,0,0,8,0,0,0,2,0,0,0\n",
    );
    // Row 0 holds other pixels; row 1 holds fer0000007.png's pixels.
    const rows = [[3, 10], [3, 11], [5, 12]].map(([code, seed]) =>
      `${code},${Array.from(grayPixels(seed)).join(" ")},Training`
    );
    await writeText(
      join(root, "fer2013", "fer2013.csv"),
      "emotion,pixels,Usage\n" + rows.join("\n") + "\n",
    );
    const d = await loadDataset("fer2013", { dataRoot: root });
    assert.equal(d.format, "fer2013-csv");
    assert.deepEqual(d.samples.map((s) => s.id), [
      "fer2013-row0",
      "fer0000007.png",
      "fer0000008.png",
    ]);
    // FER+ from fer2013new.csv alone: the first record wins, the repeat is counted.
    const f = await loadDataset("ferplus", { dataRoot: root });
    assert.deepEqual(f.samples.map((s) => [s.id, s.label]), [["fer0000007.png", "happy"], [
      "fer0000008.png",
      "surprise",
    ]]);
    assert.deepEqual(f.excluded, { "duplicate-name": 1 });
  });
});

Deno.test("fer2013 CSV: malformed rows are LabelErrors naming file and line", () => {
  const px = Array(2304).fill("7").join(" ");
  const cases: [string, RegExp][] = [
    [
      `emotion,pixels,Usage\n3,${px},Training\n9,${px},Training\n`,
      /f\.csv:3 \(field emotion\): unknown fer2013 label code "9"/,
    ],
    [`emotion,pixels,Usage\n3,${px},Training,extra\n`, /f\.csv:2: expected 3 fields, found 4/],
    [
      `emotion,pixels,Usage\n3,1 2 3,Training\n`,
      /f\.csv:2 \(field pixels\): expected 2304 pixel values, found 3/,
    ],
    [
      `emotion,pixels,Usage\n3,${px.replace("7", "256")},Training\n`,
      /f\.csv:2 \(field pixels\): pixel value 256 > 255/,
    ],
    [
      `emotion,pixels,Usage\n\n3,${px},Holdout\n`,
      /f\.csv:3 \(field Usage\): unknown Usage "Holdout"/,
    ],
    [`label,pixels,Usage\n`, /f\.csv:1: no "emotion" column/],
  ];
  for (const [text, re] of cases) assert.throws(() => parseFer2013Csv(text, "f.csv"), re);
});

async function buildCkplus(root: string, subjects: number): Promise<void> {
  const classes = ["anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"];
  for (let s = 0; s < subjects; s++) {
    const subject = `S${String(5 + s * 3).padStart(3, "0")}`;
    const cls = classes[s % classes.length];
    for (let f = 0; f < 1 + (s % 3); f++) {
      const name = `${subject}_00${1 + (s % 2)}_0000001${f}.png`;
      await writeImage(
        join(root, "ckplus", "CK+48", cls, name),
        48,
        48,
        1,
        "png",
        grayPixels(s * 10 + f),
      );
    }
  }
}

Deno.test("ckplus: class folders, subject groups, subject-disjoint folds, saved split manifest", async () => {
  await withTemp(async (root) => {
    await buildCkplus(root, 12); // 12 subjects, 1-3 frames each: 24 images
    const d = await loadDataset("ckplus", { dataRoot: root, splitsDir: null });
    assert.equal(d.format, "ckplus");
    assert.equal(d.samples.length, 24);
    const s0 = byId(d).get("S005_001_00000010")!;
    assert.equal(s0.label, "angry");
    assert.equal(s0.group, "S005");
    assert.equal(byId(d).get("S008_002_00000010")!.label, "contempt");
    assert.equal(byId(d).get("S020_002_00000010")!.label, "sad");
    assert.deepEqual(d.classes, [
      "angry",
      "disgust",
      "fear",
      "happy",
      "sad",
      "surprise",
      "contempt",
    ]);
    const testSubjects = new Set(d.samples.filter((s) => s.split === "test").map((s) => s.group));
    const trainSubjects = new Set(d.samples.filter((s) => s.split === "train").map((s) => s.group));
    assert.ok(testSubjects.size >= 1);
    for (const g of testSubjects) assert.ok(!trainSubjects.has(g), `${g} in both splits`);
    // Another test fold gives other test subjects; folds: 3 gives about a third of the images.
    const d3 = await loadDataset("ckplus", {
      dataRoot: root,
      splitsDir: null,
      folds: 3,
      testFold: 1,
    });
    const n3 = d3.samples.filter((s) => s.split === "test").length;
    assert.ok(n3 >= 6 && n3 <= 10, `fold size ${n3}`);
    // A saved manifest wins when the options are the defaults, and must match the data.
    const splitsDir = join(root, "splits");
    const saved = d.samples.map((s) => ({
      id: s.id,
      split: s.id.startsWith("S005") ? "test" as const : "train" as const,
    }));
    await writeSplitManifest(join(splitsDir, "ckplus.csv"), saved);
    const fromFile = await loadDataset("ckplus", { dataRoot: root, splitsDir });
    assert.deepEqual(
      fromFile.samples.filter((s) => s.split === "test").map((s) => s.id),
      ["S005_001_00000010"],
    );
    const custom = await loadDataset("ckplus", { dataRoot: root, splitsDir, folds: 3 });
    assert.notDeepEqual(custom.samples.map((s) => s.split), fromFile.samples.map((s) => s.split));
    await writeSplitManifest(join(splitsDir, "ckplus.csv"), saved.slice(1));
    await assert.rejects(
      loadDataset("ckplus", { dataRoot: root, splitsDir }),
      /ckplus\.csv: saved split manifest does not match the data: 1 sample id\(s\) not in it/,
    );
    // Too few subjects for 10 folds.
    await assert.rejects(
      loadDataset("ckplus", { dataRoot: root, splitsDir: null, folds: 20 }),
      /12 groups cannot fill 20 folds/,
    );
  });
});

Deno.test("ckplus: unknown class folder and odd file names are LabelErrors naming them", async () => {
  await withTemp(async (root) => {
    await buildCkplus(root, 10);
    await writeImage(
      join(root, "ckplus", "CK+48", "bored", "S999_001_00000001.png"),
      8,
      8,
      1,
      "png",
    );
    await assert.rejects(
      loadDataset("ckplus", { dataRoot: root, splitsDir: null }),
      (e: unknown) => {
        assert.ok(e instanceof LabelError);
        assert.match(e.message, /CK\+48\/bored: unknown ckplus label code "bored"/);
        return true;
      },
    );
    await Deno.remove(join(root, "ckplus", "CK+48", "bored"), { recursive: true });
    await writeImage(join(root, "ckplus", "CK+48", "happy", "face1.png"), 8, 8, 1, "png");
    await assert.rejects(
      loadDataset("ckplus", { dataRoot: root, splitsDir: null }),
      /happy\/face1\.png: file name is not S<subject>/,
    );
  });
});

Deno.test("expw: one sample per face, box from top/left/right/bottom, stratified split, errors", async () => {
  await withTemp(async (root) => {
    const dir = join(root, "expw");
    await writeImage(join(dir, "Images", "happy_man_1.jpg"), 120, 100, 3, "jpg");
    await writeImage(join(dir, "Images", "sad_woman_2.jpg"), 64, 64, 3, "jpg");
    const lines = [
      "happy_man_1.jpg 0 10 20 60 70 88.5 3", // top 10, left 20, right 60, bottom 70
      "happy_man_1.jpg 1 5 70 110 50 12.25 4",
      "sad_woman_2.jpg 0 0 0 64 64 50.0 4",
      "gone_3.jpg 0 1 2 30 40 9.9 0",
    ];
    for (let i = 0; i < 16; i++) {
      lines.push(`sad_woman_2.jpg ${i + 2} 0 0 10 10 1.0 ${i % 2 === 0 ? 4 : 3}`);
    }
    await writeText(join(dir, "label.lst"), lines.join("\n") + "\n");
    const d = await loadDataset("expw", { dataRoot: root, splitsDir: null });
    assert.equal(d.format, "expw");
    const m = byId(d);
    assert.equal(d.samples.length, 19);
    assert.deepEqual(m.get("happy_man_1_face0")!.box, { x: 20, y: 10, width: 40, height: 60 });
    assert.equal(m.get("happy_man_1_face0")!.label, "happy");
    assert.deepEqual(m.get("happy_man_1_face1")!.box, { x: 70, y: 5, width: 40, height: 45 });
    assert.equal(m.get("happy_man_1_face1")!.label, "sad");
    assert.equal(m.get("happy_man_1_face1")!.group, "happy_man_1.jpg");
    assert.deepEqual(d.unreadable.map((u) => u.file.split("/").pop()), ["gone_3.jpg"]);
    // Split by source image over all 20 faces: quotas angry round(0.2)=0, happy round(1.8)=2,
    // sad round(2)=2. sad_woman_2 (17 faces) is too big for any quota and gone_3's angry face
    // has none, so only happy_man_1 (one happy, one sad) goes to test, whole.
    const test = d.samples.filter((s) => s.split === "test").map((s) => s.id).sort();
    assert.deepEqual(test, ["happy_man_1_face0", "happy_man_1_face1"]);
    const again = await loadDataset("expw", { dataRoot: root, splitsDir: null });
    assert.equal(again.hash, d.hash);
    const other = await loadDataset("expw", { dataRoot: root, splitsDir: null, seed: 99 });
    assert.deepEqual(other.samples.filter((s) => s.split === "test").length, 2);
    // Malformed lines.
    const bad: [string, RegExp][] = [
      ["a.jpg 0 1 2 3 4 5\n", /label\.lst:1: expected 8 fields/],
      [
        "a.jpg 0 1 2 30 40 5 3\na.jpg 1 1 x 30 40 5 3\n",
        /label\.lst:2 \(field left\): "x" is not a non-negative integer/,
      ],
      ["a.jpg 0 10 20 15 40 5 3\n", /label\.lst:1: empty face box/],
      ["a.jpg 0 1 2 30 40 5 7\n", /label\.lst:1 \(field label\): unknown expw label code "7"/],
      [
        "a.jpg 0 1 2 30 40 5 3\na.jpg 0 1 2 30 40 5 3\n",
        /label\.lst:2: face 0 of a\.jpg already on line 1/,
      ],
    ];
    for (const [text, re] of bad) {
      await Deno.writeTextFile(join(dir, "label.lst"), text);
      await assert.rejects(loadDataset("expw", { dataRoot: root, splitsDir: null }), re);
    }
  });
});

Deno.test("rafdb: list_patition_label.txt, aligned images, splits from names", async () => {
  await withTemp(async (root) => {
    const dir = join(root, "rafdb");
    for (const n of ["train_00001", "train_00002", "test_0001"]) {
      await writeImage(join(dir, "Image", "aligned", `${n}_aligned.jpg`), 100, 100, 3, "jpg");
    }
    await writeText(
      join(dir, "EmoLabel", "list_patition_label.txt"),
      "train_00001.jpg 5\ntrain_00002.jpg 1\ntest_0001.jpg 7\ntest_0002.jpg 6\n",
    );
    const d = await loadDataset("rafdb", { dataRoot: root });
    assert.equal(d.format, "rafdb");
    assert.deepEqual(d.samples.map((s) => [s.id, s.label, s.split]), [
      ["train_00001", "sad", "train"],
      ["train_00002", "surprise", "train"],
      ["test_0001", "neutral", "test"],
    ]);
    assert.ok(d.unreadable[0].file.endsWith("test_0002_aligned.jpg"));
    const img = await decodeImage(d.samples[0].source);
    assert.deepEqual([img.width, img.height, img.channels], [100, 100, 3]);
    await Deno.writeTextFile(
      join(dir, "EmoLabel", "list_patition_label.txt"),
      "train_00001.jpg 5\nval_1.jpg 2\n",
    );
    await assert.rejects(
      loadDataset("rafdb", { dataRoot: root }),
      /list_patition_label\.txt:2: image name "val_1\.jpg"/,
    );
    await Deno.writeTextFile(
      join(dir, "EmoLabel", "list_patition_label.txt"),
      "train_00001.jpg 8\n",
    );
    await assert.rejects(
      loadDataset("rafdb", { dataRoot: root }),
      /:1 \(field label\): unknown rafdb label code "8"/,
    );
  });
});

Deno.test("affectnet: both lists, face boxes, codes 8-10 excluded with counts", async () => {
  await withTemp(async (root) => {
    const dir = join(root, "affectnet");
    const img = join(dir, "Manually_Annotated", "Manually_Annotated_Images");
    await writeImage(join(img, "1", "a.jpg"), 80, 80, 3, "jpg");
    await writeImage(join(img, "2", "b.png"), 50, 40, 3, "png");
    await writeImage(join(img, "3", "c.jpg"), 60, 60, 3, "jpg");
    const header =
      "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal\n";
    await writeText(
      join(dir, "Manually_Annotated_file_lists", "training.csv"),
      header +
        `1/a.jpg,10,12,50,52,"1.0;2.0;3.0;4.0",1,0.8,0.2\n` +
        `1/x.jpg,0,0,10,10,"",8,0,0\n` +
        `1/y.jpg,0,0,10,10,"",9,0,0\n` +
        `2/b.png,5,5,30,30,"",4,-0.5,0.6\n`,
    );
    await writeText(
      join(dir, "Manually_Annotated_file_lists", "validation.csv"),
      header + `3/c.jpg,1,2,40,41,"",7,-0.1,0.1\n3/z.jpg,0,0,5,5,"",10,0,0\n`,
    );
    const d = await loadDataset("affectnet", { dataRoot: root });
    assert.equal(d.format, "affectnet");
    assert.deepEqual(d.samples.map((s) => [s.id, s.label, s.split]), [
      ["1/a.jpg", "happy", "train"],
      ["2/b.png", "fear", "train"],
      ["3/c.jpg", "contempt", "test"],
    ]);
    assert.deepEqual(d.samples[0].box, { x: 10, y: 12, width: 50, height: 52 });
    assert.deepEqual(d.excluded, { none: 1, uncertain: 1, "no-face": 1 });
    assert.equal(d.classes.length, 8);
    await Deno.writeTextFile(
      join(dir, "Manually_Annotated_file_lists", "validation.csv"),
      header + `3/c.jpg,1,2,forty,41,"",7,-0.1,0.1\n`,
    );
    await assert.rejects(
      loadDataset("affectnet", { dataRoot: root }),
      /validation\.csv:2 \(field face_width\): "forty" is not a number/,
    );
  });
});

Deno.test("class-per-folder trees: synonyms in any case, split folders, unknown folder", async () => {
  await withTemp(async (root) => {
    const flat = join(root, "mine");
    await writeImage(join(flat, "Happiness", "a.png"), 10, 10, 3, "png");
    await writeImage(join(flat, "ANGER", "sub", "b.jpg"), 10, 10, 1, "jpg");
    await writeText(join(flat, "ANGER", "notes.txt"), "not an image");
    const d = await loadDataset(flat);
    assert.equal(d.format, "folder");
    assert.equal(d.name, "mine");
    assert.deepEqual(d.samples.map((s) => [s.id, s.label, s.split]), [
      ["ANGER/sub/b.jpg", "angry", "test"],
      ["Happiness/a.png", "happy", "test"],
    ]);
    assert.deepEqual(d.classes, ["angry", "happy"]);
    const split = join(root, "split");
    await writeImage(join(split, "train", "surprised", "x.png"), 10, 10, 1, "png");
    await writeImage(join(split, "validation", "sad", "y.png"), 10, 10, 1, "png");
    await writeImage(join(split, "test", "Neutral", "z.png"), 10, 10, 1, "png");
    const s = await loadDataset(split);
    assert.deepEqual(s.samples.map((x) => [x.id, x.label, x.split]), [
      ["test/Neutral/z.png", "neutral", "test"],
      ["train/surprised/x.png", "surprise", "train"],
      ["validation/sad/y.png", "sad", "val"],
    ]);
    await writeImage(join(flat, "bored", "c.png"), 10, 10, 1, "png");
    await assert.rejects(
      loadDataset(flat),
      /mine\/bored \(field folder name\): unknown label "bored"/,
    );
  });
});

Deno.test("manifest CSV: relative paths, header optional, unknown label / bad line name the line; corrupt image listed", async () => {
  await withTemp(async (root) => {
    const dir = join(root, "m");
    await writeImage(join(dir, "img", "a.png"), 12, 12, 3, "png");
    await writeImage(join(dir, "img", "b.jpg"), 12, 12, 3, "jpg");
    await writeText(join(dir, "img", "broken.png"), "\x89PNG but not really");
    const file = join(dir, "list.csv");
    await writeText(
      file,
      "path,label,split\nimg/a.png,Happy,train\nimg/b.jpg,sadness,\nimg/broken.png,fear,test\nimg/gone.png,anger,val\n",
    );
    const d = await loadDataset(file);
    assert.equal(d.format, "manifest");
    assert.equal(d.name, "list");
    assert.deepEqual(d.samples.map((s) => [s.id, s.label, s.split]), [
      ["img/a.png", "happy", "train"],
      ["img/b.jpg", "sad", "test"],
      ["img/broken.png", "fear", "test"],
    ]);
    assert.deepEqual(d.unreadable.map((u) => [u.file, u.reason]), [[
      join(dir, "img", "gone.png"),
      "file not found",
    ]]);
    // With checkImages the corrupt PNG is skipped and listed, never a crash.
    const c = await loadDataset(file, { checkImages: true });
    assert.deepEqual(c.samples.map((s) => s.id), ["img/a.png", "img/b.jpg"]);
    assert.equal(c.unreadable.length, 2);
    const broken = c.unreadable.find((u) => u.file === join(dir, "img", "broken.png"));
    assert.ok(
      broken !== undefined && /cannot decode image/.test(broken.reason),
      JSON.stringify(c.unreadable),
    );
    assert.equal(c.hash, await datasetHash(c.samples));
    // The same check as a separate call.
    assert.deepEqual((await checkImages(d.samples)).map((u) => u.file), [
      join(dir, "img", "broken.png"),
    ]);
    // No header is fine too.
    await Deno.writeTextFile(file, "img/a.png,joy\n");
    assert.equal((await loadDataset(file)).samples[0].label, "happy");
    const bad: [string, RegExp][] = [
      [
        "path,label\nimg/a.png,happy\nimg/b.jpg,bored\n",
        /list\.csv:3 \(field label\): unknown label "bored"/,
      ],
      ["img/a.png,happy,train,extra\n", /list\.csv:1: expected 2 or 3 fields/],
      ["img/a.png,happy,holdout\n", /list\.csv:1 \(field split\): unknown split "holdout"/],
      ["img/a.png,happy\nimg/a.png,sad\n", /list\.csv:2: duplicate path "img\/a\.png"/],
    ];
    for (const [text, re] of bad) {
      await Deno.writeTextFile(file, text);
      await assert.rejects(loadDataset(file), re);
    }
  });
});

Deno.test("loadDataset: layout detection, registered names, clear errors for missing data", async () => {
  await withTemp(async (root) => {
    await buildFer(root);
    await buildCkplus(root, 10);
    assert.equal(await detectFormat(join(root, "ferplus")), "ferplus");
    assert.equal(await detectFormat(join(root, "fer2013")), "fer2013-folder");
    assert.equal(await detectFormat(join(root, "ckplus")), "ckplus");
    assert.equal(await detectFormat(join(root, "ckplus", "CK+48")), "ckplus");
    assert.equal(await detectFormat(join(root, "fer2013", "part.csv")), "fer2013-csv");
    assert.equal(
      await detectFormat(join(root, "fer2013", "fer2013-original-labels.csv")),
      "manifest",
    );
    const viaPath = await loadDataset(join(root, "ckplus", "CK+48"), { splitsDir: null });
    assert.equal(
      viaPath.samples.length,
      (await loadDataset("ckplus", { dataRoot: root, splitsDir: null })).samples.length,
    );
    await assert.rejects(
      loadDataset("expw", { dataRoot: root }),
      /expw: dataset "expw" not found \(set --data or FER_DATA/,
    );
    await assert.rejects(loadDataset(join(root, "nothing-here")), /not a registered name/);
  });
});
