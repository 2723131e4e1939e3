/**
 * Pure parts of the dataset layer: FER+ label rules, seeded splits, the dataset hash recipe and
 * the summary counts. Expected values are worked out by hand (or, for Mulberry32, with an
 * independent Python port) and written out here.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { ferplusLabel, votesRecord } from "../lib/datasets/ferplus.ts";
import {
  applySplitManifest,
  groupKFold,
  mulberry32,
  readSplitManifest,
  stratifiedGroupSplit,
  stratifiedSplit,
  writeSplitManifest,
} from "../lib/datasets/split.ts";
import { datasetHash } from "../lib/datasets/hash.ts";
import { splitCounts } from "../lib/datasets/summary.ts";
import type { Sample } from "../lib/sample.ts";
import { LabelError } from "../lib/taxonomy.ts";

// Vote columns: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF.
const v = (...x: number[]) => x;

Deno.test("FER+ majority: strictly more than half of the valid votes, single votes discarded", () => {
  assert.deepEqual(ferplusLabel(v(6, 4, 0, 0, 0, 0, 0, 0, 0, 0)), { label: "neutral" });
  // 5 of 10 is not a majority.
  assert.deepEqual(ferplusLabel(v(5, 5, 0, 0, 0, 0, 0, 0, 0, 0)), { excluded: "no-majority" });
  // 5 happiness + 5 single votes: the singles are discarded, 5 of 5 valid votes wins.
  assert.deepEqual(ferplusLabel(v(1, 5, 1, 1, 1, 1, 0, 0, 0, 0)), { label: "happy" });
  // 4 anger, 3 sadness, 3 fear: 4 of 10 valid.
  assert.deepEqual(ferplusLabel(v(0, 0, 0, 3, 4, 0, 3, 0, 0, 0)), { excluded: "no-majority" });
  // 4 contempt + 2 disgust + 4 singles: 4 of 6 valid.
  assert.deepEqual(ferplusLabel(v(1, 1, 0, 0, 1, 2, 1, 4, 0, 0)), { label: "contempt" });
  assert.deepEqual(ferplusLabel(v(2, 0, 0, 0, 0, 0, 0, 0, 8, 0)), { excluded: "winner-unknown" });
  assert.deepEqual(ferplusLabel(v(0, 0, 0, 0, 0, 0, 0, 0, 0, 10)), { excluded: "winner-not-face" });
  assert.deepEqual(ferplusLabel(v(1, 1, 1, 1, 1, 1, 1, 1, 1, 1)), { excluded: "no-votes" });
});

Deno.test("FER+ plurality: most valid votes; ties go to an emotion, then kit class order", () => {
  assert.deepEqual(ferplusLabel(v(0, 0, 0, 3, 4, 0, 3, 0, 0, 0), "plurality"), { label: "angry" });
  // neutral 4 vs happiness 4: happy comes before neutral in the kit's order.
  assert.deepEqual(ferplusLabel(v(4, 4, 2, 0, 0, 0, 0, 0, 0, 0), "plurality"), { label: "happy" });
  // sadness 3 vs fear 3 vs surprise 3: fear first (angry, disgust, fear, ...).
  assert.deepEqual(ferplusLabel(v(0, 0, 3, 3, 0, 0, 3, 0, 1, 0), "plurality"), { label: "fear" });
  // unknown 4 ties contempt 4: the emotion wins.
  assert.deepEqual(ferplusLabel(v(0, 0, 0, 0, 0, 0, 0, 4, 4, 2), "plurality"), {
    label: "contempt",
  });
  assert.deepEqual(ferplusLabel(v(0, 0, 0, 0, 0, 0, 0, 0, 6, 4), "plurality"), {
    excluded: "winner-unknown",
  });
});

Deno.test("FER+ atLeast k: raw votes, unique top class with at least k", () => {
  const votes = v(0, 7, 2, 1, 0, 0, 0, 0, 0, 0);
  assert.deepEqual(ferplusLabel(votes, { atLeast: 7 }), { label: "happy" });
  assert.deepEqual(ferplusLabel(votes, { atLeast: 8 }), { excluded: "below-threshold" });
  assert.deepEqual(ferplusLabel(v(4, 4, 2, 0, 0, 0, 0, 0, 0, 0), { atLeast: 3 }), {
    excluded: "tie",
  });
  // Single votes count for atLeast (raw votes): 1 of 1.
  assert.deepEqual(ferplusLabel(v(0, 0, 0, 0, 0, 1, 0, 0, 0, 0), { atLeast: 1 }), {
    label: "disgust",
  });
  assert.throws(() => ferplusLabel(votes, { atLeast: 0 }), RangeError);
  assert.throws(() => ferplusLabel([1, 2, 3]), RangeError);
});

Deno.test("votesRecord: canonical keys, unknown + NF pooled in other", () => {
  assert.deepEqual(votesRecord(v(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)), {
    neutral: 1,
    happy: 2,
    surprise: 3,
    sad: 4,
    angry: 5,
    disgust: 6,
    fear: 7,
    contempt: 8,
    other: 19,
  });
});

Deno.test("mulberry32 reproduces an independent implementation", () => {
  // Python port of Mulberry32, seed 2024: first three draws.
  const r = mulberry32(2024);
  assert.equal(r(), 0.811762373894453);
  assert.equal(r(), 0.7108214949257672);
  assert.equal(r(), 0.6505258858669549);
});

Deno.test("stratifiedSplit: round(n × fraction) per class, reproducible, seed-dependent", () => {
  const labels = [
    ...Array(10).fill("a"),
    ...Array(7).fill("b"),
    ...Array(3).fill("c"),
  ] as string[];
  const s1 = stratifiedSplit(labels, 0.2, 1);
  const test = (l: string, s: string[]) =>
    s.filter((x, i) => x === "test" && labels[i] === l).length;
  // round(10*0.2)=2, round(7*0.2)=round(1.4)=1, round(3*0.2)=round(0.6)=1.
  assert.equal(test("a", s1), 2);
  assert.equal(test("b", s1), 1);
  assert.equal(test("c", s1), 1);
  assert.deepEqual(stratifiedSplit(labels, 0.2, 1), s1);
  const seeds = [2, 3, 4, 5, 6].map((s) => stratifiedSplit(labels, 0.2, s).join());
  assert.ok(seeds.some((x) => x !== s1.join()), "another seed gives another split");
  assert.deepEqual(stratifiedSplit(labels, 0, 1), labels.map(() => "train"));
  assert.deepEqual(stratifiedSplit(labels, 1, 1), labels.map(() => "test"));
  assert.throws(() => stratifiedSplit(labels, 1.5, 1), RangeError);
});

Deno.test("stratifiedGroupSplit: groups whole, quotas never exceeded and filled by singletons", () => {
  // Group "p" holds 3 faces (a, a, b); "q" holds 2 (b, b); 20 singletons: 10 a, 10 b.
  const labels = ["a", "a", "b", "b", "b"];
  const groups = ["p", "p", "p", "q", "q"];
  for (let i = 0; i < 20; i++) {
    labels.push(i < 10 ? "a" : "b");
    groups.push(`s${i}`);
  }
  // Quotas: a round(12 × 0.25) = 3, b round(13 × 0.25) = round(3.25) = 3.
  const split = stratifiedGroupSplit(labels, groups, 0.25, 5);
  const side = new Map<string, Set<string>>();
  groups.forEach((g, i) => side.set(g, (side.get(g) ?? new Set()).add(split[i])));
  for (const [g, s] of side) assert.equal(s.size, 1, `${g} on one side`);
  const nTest = (l: string) => split.filter((x, i) => x === "test" && labels[i] === l).length;
  assert.equal(nTest("a"), 3);
  assert.equal(nTest("b"), 3);
  // Largest first: p (a 2, b 1) fits, leaving a 1, b 2; q (b 2) fits, leaving a 1, b 0; one
  // a-singleton fills the rest.
  assert.deepEqual(split.slice(0, 5), ["test", "test", "test", "test", "test"]);
  assert.deepEqual(stratifiedGroupSplit(labels, groups, 0.25, 5), split);
  assert.throws(() => stratifiedGroupSplit(labels, groups.slice(1), 0.25, 5), RangeError);
  assert.throws(() => stratifiedGroupSplit(labels, groups, -0.1, 5), RangeError);
  // A group larger than its quota stays in train.
  assert.deepEqual(stratifiedGroupSplit(["a", "a", "a"], ["g", "g", "g"], 0.5, 1), [
    "train",
    "train",
    "train",
  ]);
});

Deno.test("groupKFold: groups never straddle folds; fold sizes balanced; reproducible", () => {
  // 12 groups of sizes 1..12 (78 items) into 4 folds.
  const groups: string[] = [];
  for (let g = 1; g <= 12; g++) for (let i = 0; i < g; i++) groups.push(`g${g}`);
  const folds = groupKFold(groups, 4, 7);
  const foldOf = new Map<string, Set<number>>();
  groups.forEach((g, i) => foldOf.set(g, (foldOf.get(g) ?? new Set()).add(folds[i])));
  for (const [g, set] of foldOf) assert.equal(set.size, 1, `${g} in one fold`);
  const sizes = [0, 1, 2, 3].map((f) => folds.filter((x) => x === f).length);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 78);
  // Largest first to the lightest fold: 12,11,10,9 open the folds; 8,7,6,5 bring each to 17;
  // then 4 → fold 0 (21), 3 → fold 1 (20), 2 → fold 2 (19), 1 → fold 3 (18).
  assert.deepEqual(sizes, [21, 20, 19, 18]);
  assert.deepEqual(groupKFold(groups, 4, 7), folds);
  assert.throws(() => groupKFold(["a", "b"], 3, 1), RangeError);
  assert.throws(() => groupKFold(groups, 1, 1), RangeError);
});

Deno.test("split manifests: written sorted, read back, mismatches are errors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-splits-" });
  try {
    const file = join(dir, "x.csv");
    await writeSplitManifest(file, [{ id: "b", split: "test" }, { id: "a", split: "train" }]);
    assert.equal(await Deno.readTextFile(file), "id,split\na,train\nb,test\n");
    const m = await readSplitManifest(file);
    const samples: Sample[] = ["a", "b"].map((id) => ({
      id,
      source: { kind: "file", path: id },
      label: "happy",
      split: "val",
    }));
    applySplitManifest(samples, m, file);
    assert.deepEqual(samples.map((s) => s.split), ["train", "test"]);
    const more = [...samples, { ...samples[0], id: "c" }];
    assert.throws(() => applySplitManifest(more, m, file), (e: unknown) => {
      assert.ok(e instanceof LabelError);
      assert.match(e.message, /x\.csv: .*1 sample id\(s\) not in it \(e\.g\. c\)/);
      return true;
    });
    assert.throws(
      () => applySplitManifest(samples.slice(0, 1), m, file),
      /1 id\(s\) not in the data \(e\.g\. b\)/,
    );
    await Deno.writeTextFile(file, "id,split\na,train\nb,holdout\n");
    await assert.rejects(readSplitManifest(file), /x\.csv:3: unknown split "holdout"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("datasetHash follows its documented recipe; moves with labels, not with the root", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-hash-" });
  try {
    await Deno.writeFile(join(dir, "a.png"), new Uint8Array(123));
    const px = new Uint8Array([1, 2, 3, 4]);
    const samples: Sample[] = [
      {
        id: "z",
        source: { kind: "file", path: join(dir, "a.png") },
        box: { x: 1, y: 2, width: 3, height: 4 },
        label: "fear",
        split: "test",
      },
      {
        id: "m",
        source: { kind: "pixels", width: 2, height: 2, channels: 1, data: px },
        label: "sad",
        split: "train",
      },
    ];
    const pxHash = createHash("sha256").update(px).digest("hex");
    const fileHash = createHash("sha256").update(new Uint8Array(123)).digest("hex");
    const text = "fer-kit-dataset-hash-v2\n" +
      `m\tsad\ttrain\tpixels:2x2x1:${pxHash}\t-\n` +
      `z\tfear\ttest\tfile:${fileHash}\t1,2,3,4\n`;
    const want = createHash("sha256").update(text).digest("hex");
    assert.equal(await datasetHash(samples), want);
    assert.equal(await datasetHash([...samples].reverse()), want, "order-independent");
    const relabelled = [{ ...samples[0], label: "angry" as const }, samples[1]];
    assert.notEqual(await datasetHash(relabelled), want);
    // Same bytes elsewhere: same hash (paths are not hashed).
    const dir2 = await Deno.makeTempDir({ prefix: "fer-hash-" });
    await Deno.writeFile(join(dir2, "b.png"), new Uint8Array(123));
    const moved = [
      { ...samples[0], source: { kind: "file" as const, path: join(dir2, "b.png") } },
      samples[1],
    ];
    assert.equal(await datasetHash(moved), want);
    await Deno.remove(dir2, { recursive: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("splitCounts: per-class counts with zeros, imbalance = largest / smallest", () => {
  const c = splitCounts(["happy", "happy", "happy", "sad", "fear", "happy"], [
    "fear",
    "happy",
    "sad",
  ]);
  assert.deepEqual(c.perClass, { fear: 1, happy: 4, sad: 1 });
  assert.equal(c.total, 6);
  assert.equal(c.imbalanceRatio, 4);
  assert.equal(splitCounts(["happy"], ["happy", "sad"]).imbalanceRatio, null);
});
