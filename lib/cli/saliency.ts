/**
 * `deno task kit saliency`: black-box saliency maps for any registered (or user) ONNX model.
 *
 *   --model <id> --image <path> [--class <name>] [--method rise|occlusion] [--out overlay.png]
 *   --model <id> --dataset <name> --split <s> --out <dir> [--limit 300] [--faithfulness]
 *                [--randomization cascading|full]
 *
 * See docs/saliency.md for the methods, their options and the files written.
 */
import { basename, extname, join, resolve } from "node:path";
import { dataRoot } from "../config.ts";
import { loadDataset } from "../datasets/mod.ts";
import { writeFileAtomic } from "../fsutil.ts";
import { decodeImage, ImageError, readSampleImage } from "../image.ts";
import { loadCard, type ResolvedModel } from "../models/registry.ts";
import { preprocess } from "../preprocess.ts";
import { mulberry32, shuffled } from "../random.ts";
import { createProgress } from "../progress.ts";
import type { Split } from "../sample.ts";
import { LabelError, normalizeLabel } from "../taxonomy.ts";
import { flag, parseArgs, type ParsedArgs, str, UsageError } from "./args.ts";
import {
  argmaxMap,
  type BaselineKind,
  type ClassMeanMap,
  type DeletionInsertion,
  deletionInsertion,
  EngineScorer,
  type ExplainedFace,
  explainedFace,
  explainFace,
  explainMaps,
  faceCases,
  faceMeanMaps,
  type FacePixels,
  type FaithfulnessSummary,
  mapRaster,
  type MethodName,
  type MethodOptions,
  montagePng,
  type MontageTile,
  overlayPng,
  predictFaces,
  randomizationCheck,
  type RandomizationResult,
  randomMap,
  summarizeFaithfulness,
  tensorToFace,
  topClass,
} from "../saliency/mod.ts";

export const summary =
  "saliency maps (RISE, occlusion) as overlays; dataset views, faithfulness, sanity check";

const OPTIONS = {
  model: { type: "string" },
  card: { type: "string" },
  image: { type: "string" },
  dataset: { type: "string" },
  split: { type: "string" },
  data: { type: "string" },
  class: { type: "string" },
  method: { type: "string" },
  out: { type: "string" },
  n: { type: "string" },
  seed: { type: "string" },
  cell: { type: "string" },
  keep: { type: "string" },
  centered: { type: "boolean" },
  patch: { type: "string" },
  stride: { type: "string" },
  fill: { type: "string" },
  layout: { type: "string" },
  json: { type: "string" },
  faithfulness: { type: "boolean" },
  steps: { type: "string" },
  randomization: { type: "string" },
  "rand-images": { type: "string" },
  "rand-steps": { type: "string" },
  limit: { type: "string" },
  "per-class": { type: "string" },
  batch: { type: "string" },
  threads: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const HELP = `usage:
  deno task kit saliency --model <id> --image <path> [options]
  deno task kit saliency --model <id> --dataset <name> --split <train|val|test> --out <dir> [options]

model:
  --model <id|file.onnx>   registered model id, card JSON, or an .onnx file with --card
  --card <card.json>       the card of an .onnx file
one image:
  --image <path>           face image (already cropped to the face)
  --class <name>           class to explain (default: the model's top class)
  --out <file.png>         overlay PNG (default saliency-<image>-<method>.png)
  --layout overlay|side-by-side   (default overlay)
  --json <file>            also write the map as {width, height, values} for Observable Plot
  --faithfulness           print this map's deletion/insertion areas
dataset views:
  --dataset <name> --split <s> --out <dir>   class mean maps, case montage, summary.md
  --limit <n>              images used, a seeded random subset of the split (default 300)
  --per-class <k>          cases per kind and class in the montage (default 3)
  --faithfulness           deletion/insertion areas of RISE, occlusion and a random map
  --randomization cascading|full   model-randomisation sanity check
  --rand-images <n>        images in the sanity check (default 16)
  --rand-steps <k>         cascading steps (default 4)
  --data <root>            data root (default FER_DATA, then data/raw)
method:
  --method rise|occlusion  (default rise)
  --n <N>                  RISE masks (default 2000 for one image, 500 for a dataset)
  --cell <px>              RISE cell size (default input size / 8)
  --keep <p>               RISE keep probability (default 0.5)
  --centered               RISE: subtract the mean score (control variate)
  --seed <int>             RISE mask seed and subset seed (default 0)
  --patch <px> --stride <px> --fill mean|zero|blur   occlusion (default size/6, patch/2, mean)
  --steps <k>              deletion/insertion steps (default 48)
  --batch <n>              images per forward pass (default 64)
  --threads <n>            onnxruntime threads per operator`;

function intOpt(p: ParsedArgs, name: string, def: number, min = 1): number {
  const v = str(p, name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer >= ${min} (got "${v}")`);
  }
  return n;
}

function numOpt(p: ParsedArgs, name: string): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number (got "${v}")`);
  return n;
}

function choice<T extends string>(p: ParsedArgs, name: string, values: readonly T[], def: T): T {
  const v = str(p, name) ?? def;
  if (!(values as readonly string[]).includes(v)) {
    throw new UsageError(`--${name} must be one of ${values.join(", ")} (got "${v}")`);
  }
  return v as T;
}

/**
 * The model's class index for a user-given class name (any case or synonym); a UsageError
 * listing the model's classes when the name is not one of them.
 */
export function resolveClass(name: string, classes: readonly string[]): number {
  const listing = `this model's classes are: ${classes.join(", ")}`;
  let canonical: string;
  try {
    canonical = normalizeLabel(name, { file: "--class" });
  } catch {
    throw new UsageError(`unknown class "${name}"; ${listing}`);
  }
  const i = classes.indexOf(canonical);
  if (i < 0) throw new UsageError(`the model has no class "${name}"; ${listing}`);
  return i;
}

function methodOptions(p: ParsedArgs, defaultN: number): MethodOptions {
  const keep = numOpt(p, "keep");
  if (keep !== undefined && !(keep > 0 && keep <= 1)) {
    throw new UsageError(`--keep must be in (0, 1] (got ${keep})`);
  }
  return {
    rise: {
      n: intOpt(p, "n", defaultN),
      seed: intOpt(p, "seed", 0, 0),
      cellSize: str(p, "cell") === undefined ? undefined : intOpt(p, "cell", 1),
      keepProb: keep,
      centered: flag(p, "centered"),
    },
    occlusion: {
      patchSize: str(p, "patch") === undefined ? undefined : intOpt(p, "patch", 1),
      stride: str(p, "stride") === undefined ? undefined : intOpt(p, "stride", 1),
      fill: choice<BaselineKind>(p, "fill", ["mean", "zero", "blur"], "mean"),
    },
  };
}

function describe(method: MethodName, o: MethodOptions, w: number, h: number): string {
  if (method === "rise") {
    const r = o.rise ?? {};
    const cell = r.cellSize ?? Math.ceil(Math.min(w, h) / 8);
    return `RISE N=${r.n} cell=${cell}px p=${r.keepProb ?? 0.5} seed=${r.seed ?? 0}` +
      (r.centered ? " centred" : "");
  }
  const c = o.occlusion ?? {};
  const patch = c.patchSize ?? Math.max(1, Math.round(w / 6));
  return `occlusion patch=${patch}px stride=${c.stride ?? Math.max(1, Math.floor(patch / 2))}px ` +
    `fill=${c.fill ?? "mean"}`;
}

async function openScorer(p: ParsedArgs): Promise<{ model: ResolvedModel; scorer: EngineScorer }> {
  const id = str(p, "model");
  if (id === undefined) throw new UsageError("missing required option --model");
  const model = await loadCard(id, str(p, "card"));
  const batch = intOpt(p, "batch", 64);
  const threads = str(p, "threads") === undefined ? undefined : intOpt(p, "threads", 1);
  const scorer = await EngineScorer.open(
    model,
    { batchSize: batch, ...(threads ? { intraOpThreads: threads } : {}) },
    batch,
  );
  return { model, scorer };
}

function fmt(v: number, d = 3): string {
  return Number.isFinite(v) ? v.toFixed(d) : "n/a";
}

// ---------------------------------------------------------------------------------------------
// One image

async function runImage(p: ParsedArgs, imagePath: string): Promise<number> {
  const method = choice<MethodName>(p, "method", ["rise", "occlusion"], "rise");
  const opts = methodOptions(p, 2000);
  const layout = choice(p, "layout", ["overlay", "side-by-side"] as const, "overlay");
  const { model, scorer } = await openScorer(p);
  try {
    const card = model.card;
    const classes = scorer.classes;
    const requested = str(p, "class");
    const classIdx = requested === undefined ? undefined : resolveClass(requested, classes);
    const img = await decodeImage({ kind: "file", path: resolve(imagePath) });
    const x = preprocess(img, card);
    const probs = await scorer.predict(x, 1);
    const top = topClass(probs, 0, classes.length);
    const c = classIdx ?? top;
    const t0 = performance.now();
    const [map] = await explainMaps(scorer, x, [c], method, opts);
    const ms = performance.now() - t0;
    const face = tensorToFace(x, card.input);
    const out = str(p, "out") ??
      `saliency-${basename(imagePath, extname(imagePath))}-${method}.png`;
    await writeFileAtomic(out, await overlayPng(face, map, { layout }));
    const ranked = classes.map((name, i) => ({ name, p: probs[i] }))
      .sort((a, b) => b.p - a.p).map((r) => `${r.name} ${fmt(r.p)}`).join(", ");
    const peak = argmaxMap(map);
    console.log(`model:      ${card.id} (${card.input.width}x${card.input.height})`);
    console.log(`image:      ${imagePath}`);
    console.log(`prediction: ${ranked}`);
    console.log(`explained:  ${classes[c]}${classIdx === undefined ? " (top class)" : ""}`);
    console.log(`method:     ${describe(method, opts, card.input.width, card.input.height)}`);
    console.log(`time:       ${ms.toFixed(0)} ms`);
    console.log(`peak:       x=${peak.x} y=${peak.y} value=${fmt(peak.value, 4)}`);
    console.log(`overlay:    ${out}`);
    const json = str(p, "json");
    if (json !== undefined) {
      await writeFileAtomic(
        json,
        JSON.stringify({
          model: card.id,
          image: imagePath,
          class: classes[c],
          method,
          ...mapRaster(map),
        }),
      );
      console.log(`map data:   ${json}`);
    }
    if (flag(p, "faithfulness")) {
      const steps = intOpt(p, "steps", 48);
      const di = await deletionInsertion(scorer, x, map, { classIndex: c, steps });
      const rnd = await deletionInsertion(scorer, x, randomMap(map.width, map.height, 1), {
        classIndex: c,
        steps,
      });
      console.log(
        `deletion AUC:  ${fmt(di.deletion.auc)} (random map ${
          fmt(rnd.deletion.auc)
        }; lower is better)`,
      );
      console.log(
        `insertion AUC: ${fmt(di.insertion.auc)} (random map ${
          fmt(rnd.insertion.auc)
        }; higher is better)`,
      );
    }
  } finally {
    await scorer.dispose();
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Dataset views

/** One tile per class (null where the class has no image, so rows line up by class). */
function meanTiles(
  means: ClassMeanMap[],
  face: (m: ClassMeanMap) => FacePixels,
): (MontageTile | null)[] {
  return means.map((m) =>
    m.count === 0 ? null : { face: face(m), map: m.mean, caption: `${m.className} (n=${m.count})` }
  );
}

function faithfulnessTable(rows: [string, FaithfulnessSummary][]): string {
  const lines = [
    "| map | images | deletion AUC (lower is better) | insertion AUC (higher is better) |",
    "| --- | ---: | ---: | ---: |",
  ];
  for (const [name, s] of rows) {
    lines.push(
      `| ${name} | ${s.images} | ${fmt(s.deletionAuc.mean)} ± ${fmt(s.deletionAuc.sd)} | ` +
        `${fmt(s.insertionAuc.mean)} ± ${fmt(s.insertionAuc.sd)} |`,
    );
  }
  return lines.join("\n");
}

/** The last two parts of a layer's path name (converted graphs nest names deeply). */
function shortLayer(name: string): string {
  return name.split("/").slice(-2).join("/");
}

function randomizationTable(r: RandomizationResult): string {
  const lines = [
    `Weights ${r.weights === "shuffle" ? "shuffled" : "redrawn (Gaussian)"}, ${r.mode} ` +
    `randomisation, seed ${r.seed}; ${r.layers.length} parameterised layers.`,
    "",
    "| layers randomised (from the output) | deepest randomised layer | Spearman ρ | Spearman ρ of abs | top-1 unchanged |",
    "| ---: | --- | ---: | ---: | ---: |",
  ];
  for (const s of r.steps) {
    lines.push(
      `| ${s.layersRandomized} / ${r.layers.length} | ${shortLayer(s.deepestLayer)} | ` +
        `${fmt(s.spearman.mean)} ± ${fmt(s.spearman.sd)} | ` +
        `${fmt(s.spearmanAbs.mean)} ± ${fmt(s.spearmanAbs.sd)} | ${
          fmt(100 * s.top1Agreement, 0)
        } % |`,
    );
  }
  return lines.join("\n");
}

async function runDataset(p: ParsedArgs, datasetName: string): Promise<number> {
  const split = str(p, "split");
  if (split === undefined) throw new UsageError("--dataset needs --split train|val|test");
  if (!["train", "val", "test"].includes(split)) {
    throw new UsageError(`--split must be train, val or test (got "${split}")`);
  }
  const outDir = str(p, "out");
  if (outDir === undefined) throw new UsageError("--dataset needs --out <dir>");
  const method = choice<MethodName>(p, "method", ["rise", "occlusion"], "rise");
  const opts = methodOptions(p, 500);
  const limit = intOpt(p, "limit", 300);
  const perClass = intOpt(p, "per-class", 3);
  const seed = intOpt(p, "seed", 0, 0);
  const steps = intOpt(p, "steps", 48);
  const randMode = str(p, "randomization");
  if (randMode !== undefined && randMode !== "cascading" && randMode !== "full") {
    throw new UsageError(`--randomization must be cascading or full (got "${randMode}")`);
  }
  const ds = await loadDataset(datasetName, {
    dataRoot: dataRoot(str(p, "data")),
    split: split as Split,
  });
  if (ds.samples.length === 0) {
    throw new UsageError(`dataset "${datasetName}" has no ${split} samples under ${ds.root}`);
  }
  const { model, scorer } = await openScorer(p);
  const t0 = performance.now();
  try {
    const card = model.card;
    const classes = scorer.classes;
    const chosen = shuffled(ds.samples, mulberry32(seed)).slice(0, limit);
    const items: ExplainedFace[] = [];
    const skipped: string[] = [];
    let notInModel = 0;
    for (const s of chosen) {
      const label = classes.indexOf(s.label);
      if (label < 0) {
        notInModel++;
        continue;
      }
      try {
        const img = await readSampleImage(s, { useBox: false });
        let x: Float32Array;
        try {
          x = preprocess(img, card, s.box);
        } catch (e) {
          skipped.push(`${s.id}: ${e instanceof Error ? e.message : String(e)}`);
          continue;
        }
        items.push(explainedFace(s, x, card.input, label));
      } catch (e) {
        if (!(e instanceof ImageError)) throw e;
        skipped.push(e.message);
      }
    }
    for (const msg of skipped) console.error(`skipped (unreadable): ${msg}`);
    if (items.length === 0) throw new UsageError("no usable images in the chosen subset");
    // Predictions for all items in one batched run.
    await predictFaces(scorer, items);
    const correct = items.filter((it) => it.pred === it.label).length;

    // Maps for the true and the predicted class (one set of forward passes per image).
    const progress = createProgress(`saliency ${method}`, items.length);
    for (const it of items) {
      await explainFace(scorer, it, method, opts);
      progress.tick();
    }
    progress.finish();

    await Deno.mkdir(outDir, { recursive: true });
    const order = classes.filter((c) =>
      items.some((it) => classes[it.label] === c || classes[it.pred] === c)
    );
    const { byLabel, byPred } = faceMeanMaps(items, classes, order);
    const meanFace = (m: ClassMeanMap): FacePixels => ({
      width: m.mean.width,
      height: m.mean.height,
      channels: 1,
      data: m.meanImage ?? new Uint8Array(m.mean.width * m.mean.height),
    });
    const labelTiles = meanTiles(byLabel, meanFace);
    const predTiles = meanTiles(byPred, meanFace);
    await writeFileAtomic(
      join(outDir, "class_means.png"),
      await montagePng([labelTiles, predTiles], {
        rowTitles: ["by true label", "by prediction"],
      }),
    );
    await writeFileAtomic(
      join(outDir, "class_means.json"),
      JSON.stringify({
        model: card.id,
        dataset: ds.name,
        split,
        method: describe(method, opts, card.input.width, card.input.height),
        normalisation: "each map scaled to 0..1 (min-max) before averaging",
        byLabel: byLabel.map((m) => ({ class: m.className, count: m.count, ...mapRaster(m.mean) })),
        byPrediction: byPred.map((m) => ({
          class: m.className,
          count: m.count,
          ...mapRaster(m.mean),
        })),
      }),
    );

    // Representative cases, each shown with the map of its predicted class.
    const cases = faceCases(items, classes, {
      perClass,
      classes: order.filter((c) => items.some((it) => classes[it.label] === c)),
    });
    const byId = new Map(items.map((it) => [it.sample.id, it]));
    const tile = (id: string | undefined, kind: string): MontageTile | null => {
      if (id === undefined) return null;
      const it = byId.get(id)!;
      const conf = fmt(it.probs[it.pred], 2);
      return {
        face: it.face,
        map: it.mapPred!,
        caption: kind === "correct" ? `${conf}` : `→ ${classes[it.pred]} ${conf}`,
      };
    };
    const rows = cases.map((c) => {
      const cells: (MontageTile | null)[] = [];
      for (
        const [kind, list] of [
          ["correct", c.correct],
          ["wrong", c.wrong],
          ["mostConfidentWrong", c.mostConfidentWrong],
        ] as const
      ) {
        for (let j = 0; j < perClass; j++) cells.push(tile(list[j]?.id, kind));
      }
      return cells;
    });
    const colTitles = Array.from(
      { length: 3 * perClass },
      (_, j) =>
        j % perClass === 0
          ? ["correct", "wrong (typical)", "most confident wrong"][j / perClass]
          : "",
    );
    await writeFileAtomic(
      join(outDir, "cases.png"),
      await montagePng(rows, { rowTitles: cases.map((c) => c.className), columnTitles: colTitles }),
    );
    const csv = ["class,kind,id,label,pred,confidence,label_prob"];
    for (const c of cases) {
      for (
        const [kind, list] of [
          ["correct", c.correct],
          ["wrong", c.wrong],
          ["most_confident_wrong", c.mostConfidentWrong],
        ] as const
      ) {
        for (const e of list) {
          csv.push(
            [c.className, kind, e.id, e.label, e.pred, fmt(e.confidence, 6), fmt(e.labelProb, 6)]
              .join(","),
          );
        }
      }
    }
    await writeFileAtomic(join(outDir, "cases.csv"), csv.join("\n") + "\n");

    const md: string[] = [
      `# Saliency: ${card.id} on ${ds.name} ${split}`,
      "",
      `- Images: ${items.length} (seeded random subset, seed ${seed}, of ${ds.samples.length} in the split)` +
      (notInModel ? `; ${notInModel} left out (label not among the model's classes)` : "") +
      (skipped.length ? `; ${skipped.length} unreadable, skipped` : ""),
      `- Top-1 accuracy on these images: ${fmt((100 * correct) / items.length, 1)} %`,
      `- Method: ${describe(method, opts, card.input.width, card.input.height)}`,
      "- `class_means.png`: mean face and mean map (each map min-max scaled first) per true label " +
      "(map of the true class) and per prediction (map of the predicted class).",
      "- `cases.png` / `cases.csv`: per true class, the most confident correct cases, typical errors " +
      "and the most confident errors, each with the map of its predicted class.",
    ];
    const result: Record<string, unknown> = {
      model: card.id,
      dataset: ds.name,
      split,
      images: items.length,
      accuracy: correct / items.length,
      method: describe(method, opts, card.input.width, card.input.height),
    };

    if (flag(p, "faithfulness")) {
      const per: Record<string, DeletionInsertion[]> = { rise: [], occlusion: [], random: [] };
      const fp = createProgress("deletion/insertion", items.length);
      for (let i = 0; i < items.length; i++) {
        const it = items[i];
        const c = it.pred;
        const rise = method === "rise"
          ? it.mapPred!
          : (await explainMaps(scorer, it.x, [c], "rise", opts))[0];
        const occ = method === "occlusion"
          ? it.mapPred!
          : (await explainMaps(scorer, it.x, [c], "occlusion", opts))[0];
        const rnd = randomMap(rise.width, rise.height, seed * 100003 + i);
        for (const [name, map] of [["rise", rise], ["occlusion", occ], ["random", rnd]] as const) {
          per[name].push(await deletionInsertion(scorer, it.x, map, { classIndex: c, steps }));
        }
        fp.tick();
      }
      fp.finish();
      const summaries: [string, FaithfulnessSummary][] = [
        [
          describe("rise", opts, card.input.width, card.input.height),
          summarizeFaithfulness(per.rise),
        ],
        [
          describe("occlusion", opts, card.input.width, card.input.height),
          summarizeFaithfulness(per.occlusion),
        ],
        ["random map (control)", summarizeFaithfulness(per.random)],
      ];
      await writeFileAtomic(
        join(outDir, "faithfulness.json"),
        JSON.stringify({
          steps,
          explained: "predicted class",
          methods: Object.fromEntries(summaries),
        }),
      );
      md.push(
        "",
        "## Faithfulness (deletion / insertion, Petsiuk et al. 2018)",
        "",
        `Explained class: the prediction. ${steps} steps; deletion to black, insertion from a ` +
          "blurred copy (sigma = width / 16). Mean ± SD over images.",
        "",
        faithfulnessTable(summaries),
      );
      result.faithfulness = Object.fromEntries(summaries.map(([n, s]) => [n, {
        deletionAuc: s.deletionAuc,
        insertionAuc: s.insertionAuc,
      }]));
    }

    if (randMode !== undefined) {
      const nImages = Math.min(items.length, intOpt(p, "rand-images", 16));
      const subset = items.slice(0, nImages);
      const bytes = model.bytes ?? await Deno.readFile(model.onnxPath);
      const batchSize = intOpt(p, "batch", 64);
      console.error(`randomisation check (${randMode}) on ${nImages} images...`);
      const r = await randomizationCheck({
        model: bytes,
        ...EngineScorer.factory(card, { batchSize }, batchSize),
        inputs: subset.map((it) => it.x),
        classIndices: subset.map((it) => it.pred),
        explain: async (s, x, c) => (await explainMaps(s, x, [c], method, opts))[0],
        mode: randMode,
        cascadeSteps: intOpt(p, "rand-steps", 4),
        seed,
      });
      await writeFileAtomic(join(outDir, "randomization.json"), JSON.stringify(r));
      md.push(
        "",
        "## Model-randomisation check (Adebayo et al. 2018)",
        "",
        `${nImages} images, maps of the trained model's predicted class; Spearman rank correlation ` +
          "between the trained and the randomised model's maps (near 0: the map depends on the " +
          "weights, as it should).",
        "",
        randomizationTable(r),
      );
      result.randomization = r.steps.map((s) => ({
        layersRandomized: s.layersRandomized,
        spearman: s.spearman,
        spearmanAbs: s.spearmanAbs,
      }));
    }
    const seconds = (performance.now() - t0) / 1000;
    md.push("", `Run time: ${seconds.toFixed(0)} s.`, "");
    result.seconds = seconds;
    await writeFileAtomic(join(outDir, "summary.md"), md.join("\n"));
    await writeFileAtomic(join(outDir, "summary.json"), JSON.stringify(result, null, 2));
    console.log(md.join("\n"));
    console.log(
      `written: ${outDir}/{class_means.png,class_means.json,cases.png,cases.csv,summary.md}`,
    );
  } finally {
    await scorer.dispose();
  }
  return 0;
}

/** Entry point of `deno task kit saliency`. */
export async function run(args: string[]): Promise<number> {
  try {
    const p = parseArgs(args, OPTIONS);
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    const image = str(p, "image");
    const dataset = str(p, "dataset");
    if ((image === undefined) === (dataset === undefined)) {
      throw new UsageError("give either --image <path> or --dataset <name> (see --help)");
    }
    return image !== undefined ? await runImage(p, image) : await runDataset(p, dataset!);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`saliency: ${e.message}`);
      return 2;
    }
    if (
      e instanceof ImageError || e instanceof LabelError ||
      (e instanceof Error && e.name === "ModelCardError")
    ) {
      console.error(`saliency: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
