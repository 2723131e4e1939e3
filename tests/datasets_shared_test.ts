/**
 * The loaders and `kit datasets` on the real shared data (FER_DATA). Skipped when FER_DATA is
 * unset. Expected counts: the data's README (FER2013 original labels, CK+, ExpW) and, for FER+,
 * an independent Python count over the label.csv files with the FERPlus reference majority rule.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDataset, type LoadedDataset } from "../lib/datasets/mod.ts";
import { readSplitManifest } from "../lib/datasets/split.ts";
import { PROJECT_ROOT } from "../lib/config.ts";
import { type Emotion } from "../lib/taxonomy.ts";
import type { DatasetsReport } from "../lib/cli/datasets.ts";
import type { Split } from "../lib/sample.ts";
import { kitCommand } from "./support.ts";

const DATA = Deno.env.get("FER_DATA");
const ignore = DATA === undefined;

function counts(d: LoadedDataset, split?: Split): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of d.samples) {
    if (split === undefined || s.split === split) out[s.label] = (out[s.label] ?? 0) + 1;
  }
  return out;
}

function perClass(order: Emotion[], values: number[]): Record<string, number> {
  return Object.fromEntries(order.map((e, i) => [e, values[i]]));
}

const B7: Emotion[] = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];

Deno.test({
  name: "shared fer2013: folder layout, original labels, exact split counts",
  ignore,
  fn: async () => {
    const d = await loadDataset("fer2013", { dataRoot: DATA });
    assert.equal(d.format, "fer2013-folder");
    assert.equal(d.samples.length, 35710);
    assert.deepEqual(d.unreadable, []);
    assert.deepEqual(counts(d, "train"), perClass(B7, [3987, 440, 4094, 7191, 4780, 3140, 4926]));
    assert.deepEqual(counts(d, "val"), perClass(B7, [469, 56, 497, 891, 648, 413, 605]));
    assert.deepEqual(counts(d, "test"), perClass(B7, [490, 55, 532, 876, 585, 411, 624]));
    const t = d.samples.find((s) => s.id === "fer0032220.png")!;
    assert.equal(t.label, "angry"); // fer2013-original-labels.csv line 2: emotion 0
    assert.equal(t.split, "test");
    assert.equal(t.votes!.contempt, 7); // FER2013Test/label.csv line 1
    assert.match(d.hash, /^[0-9a-f]{64}$/);
    const u = await loadDataset("fer2013", { dataRoot: DATA, excludeUncertain: true });
    assert.deepEqual(u.excluded, { "uncertain-label": 200 });
  },
});

Deno.test({
  name: "shared ferplus: majority labels (FERPlus reference rule) and exclusions",
  ignore,
  fn: async () => {
    const d = await loadDataset("ferplus", { dataRoot: DATA });
    const order: Emotion[] = [...B7, "contempt"];
    assert.deepEqual(
      counts(d, "train"),
      perClass(order, [2098, 116, 536, 7284, 3022, 3136, 8733, 120]),
    );
    assert.deepEqual(counts(d, "val"), perClass(order, [289, 25, 60, 862, 348, 411, 1180, 16]));
    assert.deepEqual(counts(d, "test"), perClass(order, [269, 16, 86, 892, 382, 394, 1083, 15]));
    assert.equal(d.samples.length, 25045 + 3191 + 3137);
    assert.deepEqual(d.excluded, {
      "no-majority": 4236,
      "winner-unknown": 99,
      "winner-not-face": 2,
    });
    // Ids join with the fer2013 folder layout.
    const f = await loadDataset("fer2013", { dataRoot: DATA, split: "test" });
    const ids = new Set(f.samples.map((s) => s.id));
    assert.ok(d.samples.filter((s) => s.split === "test").every((s) => ids.has(s.id)));
  },
});

Deno.test({
  name: "shared fer2013-sample.csv: pixels, and every row matched to its FER+ image name",
  ignore,
  fn: async () => {
    const d = await loadDataset(join(DATA!, "fer2013", "fer2013-sample.csv"));
    assert.equal(d.format, "fer2013-csv");
    assert.equal(d.samples.length, 1973);
    assert.equal(d.samples.filter((s) => s.split === "train").length, 1578);
    assert.equal(d.samples.filter((s) => s.split === "val").length, 197);
    assert.equal(d.samples.filter((s) => s.split === "test").length, 198);
    // Matched independently with OpenCV (hash of each PNG's pixels): first rows.
    assert.deepEqual(d.samples.slice(0, 4).map((s) => s.id), [
      "fer0000000.png",
      "fer0000019.png",
      "fer0000038.png",
      "fer0000056.png",
    ]);
    assert.ok(d.samples.every((s) => /^fer\d{7}\.png$/.test(s.id)));
    const folder = await loadDataset("fer2013", { dataRoot: DATA });
    const byId = new Map(folder.samples.map((s) => [s.id, s]));
    for (const s of d.samples) {
      const o = byId.get(s.id)!;
      assert.equal(o.label, s.label, s.id);
      assert.equal(o.split, s.split, s.id);
    }
  },
});

Deno.test({
  name: "shared ckplus and expw: counts, saved splits agree with the data",
  ignore,
  fn: async () => {
    const ck = await loadDataset("ckplus", { dataRoot: DATA });
    assert.equal(ck.samples.length, 981);
    assert.deepEqual(counts(ck), {
      angry: 135,
      contempt: 54,
      disgust: 177,
      fear: 75,
      happy: 207,
      sad: 84,
      surprise: 249,
    });
    const subjects = new Set(ck.samples.map((s) => s.group));
    assert.equal(subjects.size, 118);
    const testSubjects = new Set(ck.samples.filter((s) => s.split === "test").map((s) => s.group));
    for (const s of ck.samples) {
      if (s.split === "train") assert.ok(!testSubjects.has(s.group), s.id);
    }
    const ex = await loadDataset("expw", { dataRoot: DATA });
    assert.equal(ex.samples.length, 5705);
    assert.deepEqual(counts(ex), perClass(B7, Array(7).fill(815)));
    // 80/20 per class: round(815 × 0.2) = 163 test faces per class.
    assert.deepEqual(counts(ex, "test"), perClass(B7, Array(7).fill(163)));
    // Split by source image: no photograph has faces on both sides.
    const testImages = new Set(ex.samples.filter((s) => s.split === "test").map((s) => s.group));
    const straddling = ex.samples.filter((s) => s.split === "train" && testImages.has(s.group));
    assert.deepEqual(straddling.map((s) => s.id), []);
    const first = ex.samples.find((s) => s.id === "afraid_couple_455_face0")!;
    // label.lst line 1: top 32, left 48, right 144, bottom 128, label 2.
    assert.deepEqual(first.box, { x: 48, y: 32, width: 96, height: 96 });
    assert.equal(first.label, "fear");
    // The committed manifests hold exactly these ids, and the computed split equals them.
    for (const [name, d] of [["ckplus", ck], ["expw", ex]] as const) {
      const m = await readSplitManifest(join(PROJECT_ROOT, "data", "splits", `${name}.csv`));
      assert.equal(m.size, d.samples.length);
      const computed = await loadDataset(name, { dataRoot: DATA, splitsDir: null });
      assert.deepEqual(computed.samples.map((s) => s.split), d.samples.map((s) => s.split), name);
    }
  },
});

Deno.test({
  name: "shared: `kit datasets --json` reports the documented counts",
  ignore,
  fn: async () => {
    const out = await kitCommand(["datasets", "--data", DATA!, "--json"]).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const r = JSON.parse(new TextDecoder().decode(out.stdout)) as DatasetsReport;
    const get = (n: string) => r.datasets.find((d) => d.name === n)!;
    const fer = get("fer2013");
    assert.equal(fer.splits.test!.total, 3573);
    assert.deepEqual(fer.splits.test!.perClass, perClass(B7, [490, 55, 532, 876, 585, 411, 624]));
    assert.equal(fer.splits.val!.total, 3579);
    assert.equal(fer.splits.train!.total, 28558);
    assert.equal(get("ckplus").all.total, 981);
    assert.equal(get("ckplus").all.perClass.contempt, 54);
    assert.equal(get("expw").all.total, 5705);
    assert.deepEqual(Object.values(get("expw").all.perClass), Array(7).fill(815));
    assert.equal(get("expw").all.imbalanceRatio, 1);
    const fp = get("ferplus");
    assert.equal(fp.splits.test!.total, 3137);
    assert.equal(fp.excludedTotal, 4337);
    // FER+ train: neutral 8733 / disgust 116.
    assert.equal(fp.splits.train!.imbalanceRatio, 8733 / 116);
    assert.equal(get("fer2013-sample").all.total, 1973);
    assert.deepEqual(r.errors, []);
  },
});
