/**
 * Benchmark: RISE cost per image against plain inference of the same number of images.
 * RISE with N masks runs N masked forward passes; mask generation and combination must be cheap
 * beside them. Target: (ms per RISE image at N = 2000) / (ms to infer 2000 images) <= 1.2.
 *
 *   deno run -A bench/saliency.ts [--model mini-xception-fer2013] [--n 2000] [--images 5]
 *                                 [--reps 3] [--batch 64] [--threads N] [--no-write]
 *
 * Images: FER2013 PrivateTest faces from FER_DATA (ferplus/FER2013Test); the run stops with a
 * message when FER_DATA is unset. Measurements alternate (plain, RISE, plain, RISE, ...) so
 * that load from other processes affects both alike; the ratio is the median over pairs. Writes
 * bench/results/saliency.md.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../lib/config.ts";
import { writeFileAtomic } from "../lib/fsutil.ts";
import { decodeImage } from "../lib/image.ts";
import { loadCard } from "../lib/models/registry.ts";
import { preprocess } from "../lib/preprocess.ts";
import { EngineScorer } from "../lib/saliency/engine_scorer.ts";
import { occlusionMap } from "../lib/saliency/occlusion.ts";
import { riseMap, riseMasks, riseSpec } from "../lib/saliency/rise.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string", default: "mini-xception-fer2013" },
    n: { type: "string", default: "2000" },
    images: { type: "string", default: "5" },
    reps: { type: "string", default: "3" },
    batch: { type: "string", default: "64" },
    threads: { type: "string" },
    "no-write": { type: "boolean", default: false },
  },
});

const dataRootEnv = Deno.env.get("FER_DATA");
if (!dataRootEnv) {
  console.error("bench/saliency.ts: set FER_DATA to the data root (needs ferplus/FER2013Test)");
  Deno.exit(2);
}
const N = Number(values.n);
const IMAGES = Number(values.images);
const REPS = Number(values.reps);
const BATCH = Number(values.batch);
const threads = values.threads === undefined ? undefined : Number(values.threads);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const model = await loadCard(values.model!);
const scorer = await EngineScorer.open(
  model,
  { batchSize: BATCH, ...(threads ? { intraOpThreads: threads } : {}) },
  BATCH,
);
const card = model.card;
const dir = join(dataRootEnv, "ferplus", "FER2013Test");
const names = (await Array.fromAsync(Deno.readDir(dir)))
  .filter((e) => e.name.endsWith(".png")).map((e) => e.name).sort();
const len = scorer.shape.channels * scorer.shape.height * scorer.shape.width;
// Plain inference input: N real faces (the first N of the split, repeated if fewer).
const plainInput = new Float32Array(N * len);
const tensors: Float32Array[] = [];
for (let i = 0; i < Math.min(N, names.length); i++) {
  const x = preprocess(await decodeImage({ kind: "file", path: join(dir, names[i]) }), card);
  tensors.push(x);
}
for (let i = 0; i < N; i++) plainInput.set(tensors[i % tensors.length], i * len);
const riseImages = tensors.slice(0, IMAGES);

// Warm-up (session, allocator) outside the timings.
await scorer.predict(plainInput.subarray(0, BATCH * len), BATCH);

// Mask generation alone (first use of a mask set), then cached.
const spec = riseSpec(scorer.shape.width, scorer.shape.height, { n: N, seed: 12345 });
let t = performance.now();
riseMasks(spec);
const maskGenMs = performance.now() - t;

const plainMs: number[] = [];
const riseMs: number[] = [];
const pairRatios: number[] = [];
const occMs: number[] = [];
for (let r = 0; r < REPS; r++) {
  for (const x of riseImages) {
    t = performance.now();
    await scorer.predict(plainInput, N);
    const p = performance.now() - t;
    t = performance.now();
    await riseMap(scorer, x, { classIndex: 0, n: N, seed: 12345 });
    const q = performance.now() - t;
    plainMs.push(p);
    riseMs.push(q);
    pairRatios.push(q / p);
  }
  t = performance.now();
  await occlusionMap(scorer, riseImages[0], { classIndex: 0 });
  occMs.push(performance.now() - t);
}
// Cost of everything but the forward passes: RISE with a scorer that returns at once.
const nullScorer = {
  shape: scorer.shape,
  classes: scorer.classes,
  batchSize: scorer.batchSize,
  black: scorer.black,
  predict: (_x: Float32Array, n: number) =>
    Promise.resolve(new Float32Array(n * scorer.classes.length).fill(1 / scorer.classes.length)),
};
const overheadMs: number[] = [];
for (let r = 0; r < REPS; r++) {
  t = performance.now();
  await riseMap(nullScorer, riseImages[0], { classIndex: 0, n: N, seed: 12345 });
  overheadMs.push(performance.now() - t);
}
await scorer.dispose();

const plain = median(plainMs);
const rise = median(riseMs);
const overhead = median(overheadMs);
const ratio = median(pairRatios);
const lines = [
  `model ${card.id}, input ${scorer.shape.width}x${scorer.shape.height}x${scorer.shape.channels}, ` +
  `batch ${BATCH}, N = ${N}, ${IMAGES} images x ${REPS} reps, each RISE run paired with a ` +
  `plain run just before it (medians)`,
  `plain inference of ${N} images: ${plain.toFixed(0)} ms (${(plain / N).toFixed(3)} ms/image)`,
  `RISE N=${N}, one image:        ${rise.toFixed(0)} ms`,
  `  of which masking + combining (no model): ${overhead.toFixed(0)} ms`,
  `  mask generation (once per mask set, then cached): ${maskGenMs.toFixed(0)} ms`,
  `ratio RISE / plain (median of ${pairRatios.length} pairs): ${ratio.toFixed(3)} ` +
  `[pairs: ${pairRatios.map((v) => v.toFixed(2)).join(", ")}] ` +
  `(target <= 1.2: ${ratio <= 1.2 ? "met" : "NOT met"})`,
  `ratio of the overhead alone (masking + combining / plain): ${(overhead / plain).toFixed(3)}`,
  `occlusion (default patch ${Math.round(scorer.shape.width / 6)} px, stride half), one image: ` +
  `${median(occMs).toFixed(0)} ms`,
];
for (const l of lines) console.log(l);

if (!values["no-write"]) {
  const cpu = navigator.hardwareConcurrency;
  const md = [
    "# Saliency benchmark (bench/saliency.ts)",
    "",
    `Run ${
      new Date().toISOString().slice(0, 10)
    } with Deno ${Deno.version.deno}, onnxruntime-node ` +
    `CPU, ${cpu} logical cores (shared with other jobs; timings alternate plain / RISE so load ` +
    "affects both alike).",
    "",
    "```",
    ...lines,
    "```",
    "",
    "RISE cost = N masked forward passes + masking and combining in typed arrays; masks are",
    "generated once per (N, cell size, keep probability, seed, input size) and reused for",
    "every image of a run. On a loaded shared machine the paired ratios scatter widely (a",
    "forward pass costs what the other jobs leave); the overhead ratio, measured with a model",
    "that returns at once, is the load-independent part of the cost RISE adds.",
    "",
  ];
  const out = join(PROJECT_ROOT, "bench", "results", "saliency.md");
  await writeFileAtomic(out, md.join("\n"));
  // Keep the file as `deno fmt` wants it (the repository's check runs fmt --check).
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", out], cwd: PROJECT_ROOT }).output();
  console.log("written bench/results/saliency.md");
}
