import { dataRoot } from "../lib/config.ts";
import { findDatasets, loadDataset, type LoadedDataset } from "../lib/datasets/mod.ts";
import { summarizeDataset } from "../lib/datasets/summary.ts";
import { EMOTIONS, type Emotion, emotionIndex } from "../lib/taxonomy.ts";
import { barChart, heatmap } from "../lib/plots.ts";
import { show, showMarkdown, showTable } from "../lib/display.ts";
import { emitFinding, emitProvenance } from "../lib/findings.ts";
import { montageSvg, pickPerClass } from "../lib/notebook/montage.ts";
import { bootstrapInterval, cohenKappa } from "../lib/metrics/mod.ts";
import { exists } from "../lib/fsutil.ts";

const root = dataRoot();
const found = (await exists(root)) ? await findDatasets(root) : [];
const haveData = found.length > 0;
if (haveData) {
  await showTable(found.map((f) => ({ dataset: f.name, layout: f.format, "read from": f.spec })), {
    caption: `Datasets found under ${root}`,
  });
} else {
  await showMarkdown(
    `**No datasets found under \`${root}\`.** Point the kit at your data with ` +
      "`deno task report --data DIR` or `FER_DATA=DIR` (see docs/datasets.md for the layouts). " +
      "The cells below state what they would show and skip their work.",
  );
}

const loaded: LoadedDataset[] = [];
for (const f of found) {
  try {
    loaded.push(await loadDataset(f.spec, { dataRoot: root }));
  } catch (e) {
    console.error(`${f.name}: could not be loaded: ${e instanceof Error ? e.message : e}`);
  }
}
const summaries = loaded.map(summarizeDataset);
const byName = new Map(loaded.map((d) => [d.name, d]));
if (summaries.length === 0) {
  console.log("No dataset loaded: nothing to summarise.");
} else {
  await showTable(
    summaries.map((s) => ({
      dataset: s.name,
      faces: s.all.total,
      classes: s.classes.length,
      train: s.splits.train?.total,
      val: s.splits.val?.total,
      test: s.splits.test?.total,
      "left out": s.excludedTotal,
      unreadable: s.unreadable.length,
      "imbalance (max/min)": s.all.imbalanceRatio,
      "sha-256": s.hash.slice(0, 12),
    })),
    { caption: "What was loaded (faces per split; records left out by the label rules)", formats: { "imbalance (max/min)": 1 } },
  );
  for (const s of summaries) {
    await emitProvenance({ kind: "dataset", id: s.name, sha256: s.hash, detail: `${s.all.total} faces, ${s.format}` });
  }
}

if (summaries.length > 0) {
  const shares = summaries.map((s) =>
    EMOTIONS.map((e) => s.classes.includes(e) ? (s.all.perClass[e] ?? 0) / s.all.total : NaN)
  );
  await show(
    heatmap(shares, summaries.map((s) => s.name), [...EMOTIONS], {
      title: "Share of each class (all splits)",
      format: "percent",
      domain: [0, 0.4],
      legendLabel: "share of the dataset's faces",
    }),
    "class shares per dataset",
  );
  await showTable(
    summaries.map((s) => Object.fromEntries([["dataset", s.name], ...EMOTIONS.map((e) => [e, s.all.perClass[e]])])),
    { caption: "Faces per class (a dash: class not defined by the dataset)" },
  );
} else {
  console.log("No data: the class-share heatmap is skipped.");
}

const imbalance = summaries.map((s) => {
  const part = s.splits.train ?? s.all;
  return { name: s.name, split: s.splits.train ? "train" : "all", ratio: part.imbalanceRatio, part };
});
if (imbalance.length > 0) {
  await show(
    barChart(
      imbalance.filter((r) => r.ratio !== null).map((r) => ({ label: `${r.name} (${r.split})`, value: r.ratio! })),
      { title: "Imbalance ratio: largest class / smallest class", xLabel: "ratio", format: 1 },
    ),
    "imbalance ratios",
  );
  for (const r of imbalance) {
    const counts = r.part.perClass;
    const classes = Object.keys(counts) as Emotion[];
    const largest = classes.reduce((a, b) => counts[b]! > counts[a]! ? b : a);
    const smallest = classes.reduce((a, b) => counts[b]! < counts[a]! ? b : a);
    await emitFinding({
      id: `datasets.imbalance.${r.name}`,
      label: counts[largest] === counts[smallest]
        ? `Imbalance ratio of ${r.name} (${r.split}): every class the same size`
        : `Imbalance ratio of ${r.name} (${r.split}): ${largest} / ${smallest}`,
      value: r.ratio,
      digits: 1,
      unit: "×",
      group: "Datasets",
      note: r.ratio === null ? "a class has no faces" : `${counts[largest]} vs ${counts[smallest]} faces; exact count, no interval`,
    });
  }
} else {
  await emitFinding({ id: "datasets.imbalance", label: "Imbalance ratios", value: null, group: "Datasets", note: "no data found" });
}

const fer = byName.get("fer2013");
const plus = byName.get("ferplus");
if (fer && plus) {
  const plusLabel = new Map(plus.samples.map((s) => [s.id, s.label]));
  const a: number[] = [];
  const b: number[] = [];
  for (const s of fer.samples) {
    const l = plusLabel.get(s.id);
    if (l !== undefined) {
      a.push(emotionIndex(s.label));
      b.push(emotionIndex(l));
    }
  }
  const A = Int32Array.from(a), B = Int32Array.from(b);
  const agree = bootstrapInterval(A.length, (idx) => {
    let same = 0;
    for (let i = 0; i < idx.length; i++) if (A[idx[i]] === B[idx[i]]) same++;
    return same / idx.length;
  }, { resamples: 1000, seed: 0 });
  const kappa = bootstrapInterval(A.length, (idx) => {
    const x = new Int32Array(idx.length), y = new Int32Array(idx.length);
    for (let i = 0; i < idx.length; i++) {
      x[i] = A[idx[i]];
      y[i] = B[idx[i]];
    }
    return cohenKappa(x, y);
  }, { resamples: 200, seed: 0 });
  await emitFinding({
    id: "datasets.fer2013-vs-ferplus.agreement",
    label: "FER2013 original label equals the FER+ majority label",
    value: agree.estimate,
    ci: [agree.lower, agree.upper],
    unit: "share of images",
    group: "Datasets",
    note: `${A.length} images with both labels; bootstrap 95 % CI`,
  });
  await emitFinding({
    id: "datasets.fer2013-vs-ferplus.kappa",
    label: "Cohen's κ, FER2013 original vs FER+ majority label",
    value: kappa.estimate,
    ci: [kappa.lower, kappa.upper],
    unit: "κ",
    group: "Datasets",
    note: "bootstrap 95 % CI, 200 resamples",
  });
  // Where do the FER2013 labels go under FER+? Rows: FER2013 label; columns: FER+ label.
  const rows = fer.classes, cols = plus.classes;
  const m = rows.map(() => new Array<number>(cols.length).fill(0));
  for (let i = 0; i < A.length; i++) m[rows.indexOf(EMOTIONS[A[i]])][cols.indexOf(EMOTIONS[B[i]])]++;
  const shares = m.map((r) => {
    const t = r.reduce((x, y) => x + y, 0);
    return r.map((v) => t > 0 ? v / t : NaN);
  });
  await show(
    heatmap(shares, [...rows], [...cols], {
      title: "Where each FER2013 label goes under FER+ (row shares)",
      xLabel: "FER+ majority label",
      yLabel: "FER2013 label",
      domain: [0, 1],
      legendLabel: "share of the FER2013 class",
    }),
    "FER2013 vs FER+ label transitions",
  );
  await showTable(
    Object.entries(plus.excluded).map(([reason, n]) => ({ "FER+ images left out": reason, images: n })),
    { caption: "FER+ images without a label under the majority rule" },
  );
} else {
  console.log("FER2013 and FER+ are not both available: the label comparison is skipped.");
  await emitFinding({
    id: "datasets.fer2013-vs-ferplus.agreement",
    label: "FER2013 original label equals the FER+ majority label",
    value: null,
    group: "Datasets",
    note: "FER2013 or FER+ not found under the data root",
  });
}

for (const name of ["fer2013", "ferplus", "ckplus", "expw"]) {
  const d = byName.get(name);
  if (!d) {
    console.log(`${name}: not available, no montage.`);
    continue;
  }
  const picked = pickPerClass(d.samples, d.classes, 8, 2024);
  const counts = summarizeDataset(d).all.perClass;
  const { svg, unreadable } = await montageSvg(
    d.classes.map((c) => ({ label: `${c} (${counts[c]})`, samples: picked.get(c) ?? [] })),
    { tile: 56, title: `${name}: eight faces per class (class size in brackets)` },
  );
  await show(svg, `${name} montage`);
  if (unreadable.length) console.log(`${name}: ${unreadable.length} images could not be read and were skipped`);
}
