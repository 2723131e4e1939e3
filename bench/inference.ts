/**
 * Inference benchmark: images/s of every available registered model on CPU, on FER2013 test
 * images (FER_DATA), measured in one run so the ratios compare like with like:
 *   (a) raw onnxruntime session.run on prepared tensors, batch 1 and the best batch;
 *   (b) the kit pipeline from the PNG files (`predictDataset`, cache off: hashing, reading,
 *       decoding, preprocessing, inference, the table) with the session open, in rounds that
 *       alternate with raw runs on the same images (the machine's load drifts; each round's
 *       ratio compares neighbours in time), wall time and CPU time (all threads) per image;
 *   (c) the whole `predictDataset` call (session load included) over the test split, in a child
 *       process whose peak RSS (VmHWM) is recorded;
 *   (d) the same ONNX through OpenCV DNN in Python (bench/opencv_dnn.py), raw and pipeline (net
 *       loaded, as in (b)).
 * Prints the figures and the ratios pipeline/raw and kit/OpenCV (targets, issue 14: ≥ 0.95 and
 * ≥ 2.0; peak RSS over the whole test split ≤ 1.5 GB), and records them in
 * bench/results/inference.md.
 *
 * `deno run -A bench/inference.ts [--images N] [--threads T] [--models a,b] [--rounds R] [--full]
 *   [--no-write]`. The child run covers the whole test split for models faster than 20 images/s
 * raw, else N images (all with --full).
 */
import * as ort from "onnxruntime-node";
import { join } from "node:path";
import { PROJECT_ROOT } from "../lib/config.ts";
import { loadDataset } from "../lib/datasets/mod.ts";
import type { LoadedDataset } from "../lib/datasets/types.ts";
import { decodeImage } from "../lib/image.ts";
import { listModels, loadCard, type ResolvedModel } from "../lib/models/registry.ts";
import { predictDataset } from "../lib/predict.ts";
import { Engine, ortSessionOptions } from "../lib/engine.ts";
import process from "node:process";
import { preprocessInto, sampleLength } from "../lib/preprocess.ts";
import { parseArgs } from "node:util";

const PY = "/usr/bin/python3";

interface ChildResult {
  images: number;
  seconds: number;
  imagesPerSecond: number;
  peakRssBytes: number;
}

interface OpenCvResult {
  opencv?: string;
  error?: string;
  raw_b1?: number;
  raw_best?: number;
  raw_batch?: number;
  pipeline?: number;
}

/** One round of the interleaved comparison: images/s and CPU ms per image of each. */
interface Round {
  raw: number;
  pipeline: number;
  /** The pipeline with everything on the main thread (PredictOptions.prepareInWorker false). */
  mainThread: number;
  rawCpuMs: number;
  pipelineCpuMs: number;
}

interface ModelResult {
  id: string;
  /** Interleaved raw / pipeline rounds at the best batch (session open). */
  rounds: Round[];
  /** Images per round. */
  nRound: number;
  /** Images the worker thread prepared in the last pipeline round. */
  preparedInWorker: number;
  /** Images in the raw and OpenCV runs. */
  nRaw: number;
  rawB1: number;
  rawBest: number;
  bestBatch: number;
  rawByBatch: Record<number, number>;
  pipeline: ChildResult;
  pipelineBatch: number;
  opencv: OpenCvResult;
  /** Share of images where onnxruntime and OpenCV agree on the top class. */
  agreement?: number;
}

/** Peak resident set size of this process (Linux VmHWM), bytes; 0 when unknown. */
function peakRss(): number {
  try {
    const m = Deno.readTextFileSync("/proc/self/status").match(/VmHWM:\s+(\d+) kB/);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function testSplit(): Promise<LoadedDataset> {
  return await loadDataset("fer2013", { split: "test" });
}

/** Child mode: the kit pipeline over the first `images` test samples; prints JSON. */
async function child(modelId: string, images: number, batch: number, threads: number) {
  const model = await loadCard(modelId);
  const ds = await testSplit();
  const samples = images > 0 ? ds.samples.slice(0, images) : ds.samples;
  const res = await predictDataset(model, { name: ds.name, samples, hash: "bench" }, {
    cache: false,
    progress: false,
    batchSize: batch,
    threads,
  });
  const out: ChildResult = {
    images: res.stats.inferred,
    seconds: res.stats.seconds,
    imagesPerSecond: res.stats.imagesPerSecond,
    peakRssBytes: peakRss(),
  };
  console.log(JSON.stringify(out));
}

/** images/s of raw session.run over `n` prepared samples at batch `b` (after a warm-up). */
async function timeRaw(
  session: ort.InferenceSession,
  model: ResolvedModel,
  x: Float32Array,
  n: number,
  b: number,
): Promise<number> {
  return (await timeRawCpu(session, model, x, n, b))[0];
}

/** timeRaw, and the CPU ms per image (every thread of this process) of the timed runs. */
async function timeRawCpu(
  session: ort.InferenceSession,
  model: ResolvedModel,
  x: Float32Array,
  n: number,
  b: number,
): Promise<[number, number]> {
  const inp = model.card.input;
  const len = sampleLength(inp);
  const dims = inp.layout === "NCHW"
    ? [inp.channels, inp.height, inp.width]
    : [inp.height, inp.width, inp.channels];
  const feeds = [];
  for (let i = 0; i < n; i += b) {
    const k = Math.min(b, n - i);
    feeds.push(new ort.Tensor("float32", x.subarray(i * len, (i + k) * len), [k, ...dims]));
  }
  await session.run({ [inp.name]: feeds[0] });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const f of feeds) {
    const out = await session.run({ [inp.name]: f });
    for (const v of Object.values(out)) v.dispose();
  }
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return [n / s, (cpu.user + cpu.system) / 1000 / n];
}

/** Wall-clock images/s and CPU ms per image (every thread of this process) of `fn` over n images. */
async function timed(n: number, fn: () => Promise<unknown>): Promise<[number, number]> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return [n / s, (cpu.user + cpu.system) / 1000 / n];
}

/** The median of the values. */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function benchModel(
  model: ResolvedModel,
  ds: LoadedDataset,
  n: number,
  threads: number,
  full: boolean,
  tmp: string,
  nRounds: number,
): Promise<ModelResult> {
  const card = model.card;
  const id = card.id;
  const samples = ds.samples.slice(0, n);
  const len = sampleLength(card.input);
  const prepare = async (count: number): Promise<Float32Array> => {
    const t = new Float32Array(count * len);
    for (let i = 0; i < count; i++) {
      preprocessInto(await decodeImage(samples[i].source), card, t, i, samples[i].box);
    }
    return t;
  };
  // The same session options as the kit's engine (lib/engine.ts ortSessionOptions).
  const session = await ort.InferenceSession.create(
    model.onnxPath,
    ortSessionOptions({ intraOpThreads: threads }),
  );
  // Size the raw runs to ~15 s per batch size on this machine (at least 32 images).
  const probe = await timeRaw(session, model, await prepare(Math.min(8, n)), Math.min(8, n), 1);
  const nRaw = Math.max(32, Math.min(n, Math.round(15 * probe)));
  const x = await prepare(nRaw);
  const rawByBatch: Record<number, number> = {};
  const batches = card.input.batch === "dynamic" ? [1, 8, 32, 64] : [card.input.batch];
  for (const b of batches) rawByBatch[b] = await timeRaw(session, model, x, nRaw, b);
  // Batch-1 top classes for the agreement check with OpenCV.
  const ortTop: number[] = [];
  const dims = card.input.layout === "NCHW"
    ? [card.input.channels, card.input.height, card.input.width]
    : [card.input.height, card.input.width, card.input.channels];
  for (let i = 0; i < nRaw; i++) {
    const out = await session.run({
      [card.input.name]: new ort.Tensor("float32", x.subarray(i * len, (i + 1) * len), [
        1,
        ...dims,
      ]),
    });
    ortTop.push(argmax(out[card.output.name].data as Float32Array));
  }
  const bestBatch = Number(
    Object.entries(rawByBatch).sort((a, b) => b[1] - a[1])[0][0],
  );
  const rawBefore = rawByBatch[bestBatch];

  // (b) Interleaved rounds at the best batch, ~4 s of raw inference each: raw session.run on
  // the prepared tensors, then the pipeline from the files of the same images (engine open).
  const nRound = Math.max(
    Math.min(nRaw, 8),
    Math.min(ds.samples.length, bestBatch * Math.ceil((4 * rawBefore) / bestBatch)),
  );
  const roundSamples = ds.samples.slice(0, nRound);
  const xr = nRound <= nRaw ? x : await (async () => {
    const t = new Float32Array(nRound * len);
    for (let i = 0; i < nRound; i++) {
      preprocessInto(await decodeImage(roundSamples[i].source), card, t, i, roundSamples[i].box);
    }
    return t;
  })();
  const engine = await Engine.create(model, {
    provider: "cpu",
    intraOpThreads: threads,
    batchSize: bestBatch,
  });
  const rounds: Round[] = [];
  let preparedInWorker = 0;
  const pipelineRun = (prepareInWorker?: boolean) =>
    predictDataset(model, { name: ds.name, samples: roundSamples, hash: "bench" }, {
      cache: false,
      progress: false,
      engine,
      prepareInWorker,
    });
  await pipelineRun(); // warm-up: file cache, content index, worker module
  for (let r = 0; r < nRounds; r++) {
    const [raw, rawCpuMs] = await timeRawCpu(session, model, xr, nRound, bestBatch);
    let inferred = nRound;
    const [pipeline, pipelineCpuMs] = await timed(nRound, async () => {
      const res = await pipelineRun();
      inferred = res.stats.inferred;
      preparedInWorker = res.stats.preparedInWorker;
    });
    const [mainThread] = await timed(nRound, () => pipelineRun(false));
    // Duplicate images are predicted once: count what ran.
    const scale = inferred / nRound;
    rounds.push({
      raw,
      pipeline: pipeline * scale,
      mainThread: mainThread * scale,
      rawCpuMs,
      pipelineCpuMs: pipelineCpuMs / scale,
    });
  }
  await engine.dispose();

  const whole = full || rawBefore >= 20;
  const pipelineImages = whole ? 0 : n;
  const c = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(PROJECT_ROOT, "bench", "inference.ts"),
      "--child",
      id,
      "--images",
      String(pipelineImages),
      "--batch",
      String(bestBatch),
      "--threads",
      String(threads),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!c.success) throw new Error(`pipeline child failed: ${new TextDecoder().decode(c.stderr)}`);
  const lines = new TextDecoder().decode(c.stdout).trim().split("\n");
  const pipeline = JSON.parse(lines[lines.length - 1]) as ChildResult;
  // Raw again after the pipeline: the machine is shared, so average the two raw figures.
  const rawAfter = await timeRaw(session, model, x, nRaw, bestBatch);
  await session.release();
  const rawBest = (rawBefore + rawAfter) / 2;

  // OpenCV DNN on the same tensors and files.
  const tensors = join(tmp, `${id}.bin`);
  await Deno.writeFile(tensors, new Uint8Array(x.buffer, x.byteOffset, nRaw * len * 4));
  const files = join(tmp, `${id}.txt`);
  await Deno.writeTextFile(
    files,
    samples.slice(0, nRaw).map((s) => (s.source.kind === "file" ? s.source.path : "")).join(
      "\n",
    ) + "\n",
  );
  const outJson = join(tmp, `${id}.json`);
  const probs = join(tmp, `${id}.probs`);
  const py = await new Deno.Command(PY, {
    args: [
      join(PROJECT_ROOT, "bench", "opencv_dnn.py"),
      "--onnx",
      model.onnxPath,
      "--card",
      model.cardPath,
      "--tensors",
      tensors,
      "--n",
      String(nRaw),
      "--files",
      files,
      "--batch",
      String(bestBatch),
      "--threads",
      String(threads),
      "--out",
      outJson,
      "--probs",
      probs,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  let opencv: OpenCvResult;
  if (!py.success) {
    opencv = { error: new TextDecoder().decode(py.stderr).trim().split("\n").pop() ?? "failed" };
  } else {
    opencv = JSON.parse(await Deno.readTextFile(outJson)) as OpenCvResult;
  }
  let agreement: number | undefined;
  if (opencv.error === undefined) {
    const b = await Deno.readFile(probs);
    const p = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    const k = card.output.classes.length;
    let same = 0;
    for (let i = 0; i < nRaw; i++) {
      if (argmax(p.subarray(i * k, (i + 1) * k)) === ortTop[i]) same++;
    }
    agreement = same / nRaw;
  }
  return {
    id,
    rounds,
    nRound,
    preparedInWorker,
    nRaw,
    rawB1: rawByBatch[batches[0]],
    rawBest,
    bestBatch,
    rawByBatch,
    pipeline,
    pipelineBatch: bestBatch,
    opencv,
    agreement,
  };
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

function f1(v: number | undefined): string {
  return v === undefined ? "–" : v.toFixed(1);
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? "–" : `${(a / b).toFixed(2)}×`;
}

/** Median pipeline images/s and the median, lowest and highest per-round pipeline/raw. */
function roundStats(r: ModelResult) {
  const ratios = r.rounds.map((x) => x.pipeline / x.raw);
  return {
    pipeline: median(r.rounds.map((x) => x.pipeline)),
    ratio: median(ratios),
    lo: Math.min(...ratios),
    hi: Math.max(...ratios),
    mainRatio: median(r.rounds.map((x) => x.mainThread / x.raw)),
    rawCpuMs: median(r.rounds.map((x) => x.rawCpuMs)),
    pipelineCpuMs: median(r.rounds.map((x) => x.pipelineCpuMs)),
  };
}

function report(results: ModelResult[], meta: Record<string, string>): string {
  const lines = [
    "| model | raw b1 | raw best (batch) | pipeline, session open (rounds × images) | pipeline/raw, median of rounds [range] | same, all on the main thread | CPU ms/img raw → pipeline | whole call (images) | whole call/raw | OpenCV raw b1 | OpenCV raw best | OpenCV pipeline | kit/OpenCV raw | kit/OpenCV pipeline | top-1 agreement ORT vs OpenCV | peak RSS |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of results) {
    const cv = r.opencv;
    const st = roundStats(r);
    lines.push(
      `| ${r.id} | ${f1(r.rawB1)} | ${f1(r.rawBest)} (${r.bestBatch}) | ${
        f1(st.pipeline)
      } (${r.rounds.length} × ${r.nRound}) | ${st.ratio.toFixed(2)}× [${st.lo.toFixed(2)}–${
        st.hi.toFixed(2)
      }] | ${st.mainRatio.toFixed(2)}× | ${st.rawCpuMs.toFixed(2)} → ${
        st.pipelineCpuMs.toFixed(2)
      } | ${f1(r.pipeline.imagesPerSecond)} (${r.pipeline.images}) | ${
        ratio(r.pipeline.imagesPerSecond, r.rawBest)
      } | ${cv.error ? "fails to load" : f1(cv.raw_b1)} | ${
        cv.error ? "–" : `${f1(cv.raw_best)} (${cv.raw_batch})`
      } | ${f1(cv.pipeline)} | ${ratio(r.rawBest, cv.raw_best)} | ${
        ratio(st.pipeline, cv.pipeline)
      } | ${r.agreement === undefined ? "–" : `${(100 * r.agreement).toFixed(1)} %`} | ${
        (r.pipeline.peakRssBytes / 2 ** 20).toFixed(0)
      } MiB |`,
    );
  }
  return [
    ...Object.entries(meta).map(([k, v]) => `- ${k}: ${v}`),
    "",
    "Throughput in images/s (higher is better).",
    "",
    ...lines,
  ].join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      images: { type: "string", default: "512" },
      threads: { type: "string", default: String(navigator.hardwareConcurrency) },
      models: { type: "string" },
      full: { type: "boolean", default: false },
      rounds: { type: "string", default: "3" },
      "no-write": { type: "boolean", default: false },
      child: { type: "string" },
      batch: { type: "string", default: "32" },
    },
  });
  const threads = Number(values.threads);
  if (values.child !== undefined) {
    await child(values.child, Number(values.images), Number(values.batch), threads);
    return 0;
  }
  if (!Deno.env.get("FER_DATA")) {
    console.log("bench/inference: FER_DATA is not set; skipped (needs the FER2013 test PNGs)");
    return 0;
  }
  const n = Number(values.images);
  const loadAtStart = Deno.loadavg().map((x) => x.toFixed(1)).join(", ");
  const ids = values.models?.split(",") ??
    (await listModels()).filter((m) => m.available).map((m) => m.id);
  const ds = await testSplit();
  const tmp = await Deno.makeTempDir({ prefix: "fer-bench-" });
  const results: ModelResult[] = [];
  try {
    for (const id of ids) {
      console.log(`bench/inference: ${id} ...`);
      const r = await benchModel(
        await loadCard(id),
        ds,
        n,
        threads,
        values.full,
        tmp,
        Math.max(1, Number(values.rounds)),
      );
      const st = roundStats(r);
      console.log(
        `  raw ${f1(r.rawB1)} img/s (b1), ${f1(r.rawBest)} (b${r.bestBatch}); pipeline ${
          f1(st.pipeline)
        } = ${st.ratio.toFixed(2)}× raw [${st.lo.toFixed(2)}–${
          st.hi.toFixed(2)
        }] over ${r.rounds.length} rounds of ${r.nRound} images (${r.preparedInWorker} prepared ` +
          `on the worker; ${st.mainRatio.toFixed(2)}× all on the main thread); ` +
          `CPU ms/img ${st.rawCpuMs.toFixed(2)} → ${st.pipelineCpuMs.toFixed(2)}; whole call ${
            f1(r.pipeline.imagesPerSecond)
          } over ${r.pipeline.images} images = ${
            ratio(r.pipeline.imagesPerSecond, r.rawBest)
          } raw; peak RSS ${(r.pipeline.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
      );
      console.log(
        r.opencv.error
          ? `  OpenCV: ${r.opencv.error}`
          : `  OpenCV ${r.opencv.opencv}: raw ${f1(r.opencv.raw_b1)} (b1), ${
            f1(r.opencv.raw_best)
          } (b${r.opencv.raw_batch}), pipeline ${f1(r.opencv.pipeline)}; kit/OpenCV raw ${
            ratio(r.rawBest, r.opencv.raw_best)
          }, pipeline ${ratio(st.pipeline, r.opencv.pipeline)}; top-1 agreement ${
            (100 * (r.agreement ?? 0)).toFixed(1)
          } %`,
      );
      results.push(r);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
  const cpu = (() => {
    try {
      const m = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/);
      return m ? m[1] : "unknown";
    } catch {
      return "unknown";
    }
  })();
  const full = values.full;
  const meta: Record<string, string> = {
    date: new Date().toISOString(),
    machine: `${cpu}, ${navigator.hardwareConcurrency} cores, ${Deno.build.os}`,
    runtime:
      `deno ${Deno.version.deno}, onnxruntime-node 1.30.0 (cpu), intra-op threads ${threads}`,
    data: `FER2013 test (PrivateTest) PNGs; raw and OpenCV figures on the first ` +
      `min(${n}, ~15 s worth) images; interleaved raw/pipeline rounds on ~4 s of raw inference ` +
      `each; whole call and peak RSS over the whole split (3573 images) for models ≥ 20 ` +
      `images/s${full ? " and, with --full, all others" : ", else the first " + n}`,
    load: `load average ${loadAtStart} at the start, ${
      Deno.loadavg().map((x) => x.toFixed(1)).join(", ")
    } at the end (1, 5, 15 min) on ${navigator.hardwareConcurrency} CPUs`,
  };
  const table = report(results, meta);
  console.log("\n" + table);
  if (!values["no-write"]) {
    const path = join(PROJECT_ROOT, "bench", "results", "inference.md");
    const intro = await Deno.readTextFile(path).then(
      (t) => t.split("<!-- results -->")[0],
      () => "# Inference benchmark\n\n",
    );
    await Deno.writeTextFile(path, `${intro}<!-- results -->\n\n${table}\n`);
    console.log(`\nrecorded in ${path}`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
