/**
 * The GPU check that runs inside the pack (bench/gpu/pack.ts bundles it as check.js; run.sh
 * starts it there, offline): every model of the pack on FER2013 test, on CPU (all cores) and on
 * each GPU provider asked for, in one run — images/s of inference, per-image top-1 agreement with
 * CPU, the largest probability difference, and accuracy. Writes results.json and gpu.md.
 *
 *   deno run -A check.js --pack DIR --out DIR [--providers webgpu,cuda] [--batch 64]
 *                        [--budget-s 420] [--limit N]
 *
 * Providers are opened strictly: one that cannot start is reported with onnxruntime's reason,
 * never silently replaced by cpu. Models run until the time budget is spent; the rest are listed
 * as not run.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { Engine } from "../../lib/engine.ts";
import { loadCard } from "../../lib/models/registry.ts";
import { writeBatch } from "../../lib/preprocess.ts";
import type { RawImage } from "../../lib/image.ts";
import { parseProvider, type Provider } from "../../lib/provider.ts";
import { ONNXRUNTIME_VERSION } from "../../lib/session.ts";

/** The pack's FER2013 test images: n gray 48 × 48 images, one byte per pixel, and labels. */
export interface PackData {
  split: string;
  n: number;
  width: number;
  height: number;
  /** Emotion name of each image. */
  labels: string[];
}

/** One model on one provider. */
export interface ProviderRun {
  provider: Provider;
  status: "ok" | "unavailable" | "failed" | "not run";
  reason?: string;
  imagesPerSecond?: number;
  inferenceSeconds?: number;
  /** True for the first cpu run, the one the others are compared with. */
  reference?: boolean;
  /** Top-1 accuracy against the FER2013 labels the model has classes for. */
  accuracy?: number;
  /** Share of images whose top-1 class equals the CPU run's (GPU providers). */
  top1AgreementWithCpu?: number;
  /** Images whose top-1 differs from the CPU run's. */
  top1Disagreements?: number;
  /** Largest |p_gpu − p_cpu| over all images and classes. */
  maxProbabilityDifference?: number;
}

/** Results of a check. */
export interface CheckResult {
  date: string;
  machine: { cpu: string; cores: number; gpu: string | null };
  onnxruntime: string;
  deno: string;
  images: number;
  batch: number;
  models: { id: string; runs: ProviderRun[] }[];
  elapsedSeconds: number;
}

const CHUNK = 512;

function cpuModel(): string {
  try {
    const m = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.+)/);
    return m ? m[1].trim() : "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}

async function gpuName(): Promise<string | null> {
  try {
    const out = await new Deno.Command("nvidia-smi", {
      args: ["--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    return out.code === 0 && text !== "" ? text : null;
  } catch {
    return null;
  }
}

/** Run every image through `engine`: probabilities (n × classes) and seconds in session runs. */
async function runAll(
  engine: Engine,
  pixels: Uint8Array,
  data: PackData,
): Promise<{ probs: Float32Array; seconds: number }> {
  const c = engine.numClasses;
  const probs = new Float32Array(data.n * c);
  const size = data.width * data.height;
  // warm-up (first-run kernel compilation, memory arenas): not timed
  const first: RawImage[] = [{
    data: pixels.subarray(0, size),
    width: data.width,
    height: data.height,
    channels: 1,
  }];
  await engine.predictImages(first);
  let seconds = 0;
  for (let start = 0; start < data.n; start += CHUNK) {
    const m = Math.min(CHUNK, data.n - start);
    const images: RawImage[] = Array.from({ length: m }, (_, i) => ({
      data: pixels.subarray((start + i) * size, (start + i + 1) * size),
      width: data.width,
      height: data.height,
      channels: 1 as const,
    }));
    const input = writeBatch(images, engine.model.card);
    const t0 = performance.now();
    const run = await engine.runTensor(input, m);
    seconds += (performance.now() - t0) / 1000;
    probs.set(run.probs, start * c);
  }
  return { probs, seconds };
}

function argmaxRows(p: Float32Array, n: number, c: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (p[i * c + j] > p[i * c + best]) best = j;
    out[i] = best;
  }
  return out;
}

function accuracyOf(top: Int32Array, classes: readonly string[], labels: string[]): number {
  let hit = 0;
  let counted = 0;
  labels.forEach((l, i) => {
    if (!classes.includes(l)) return;
    counted++;
    if (classes[top[i]] === l) hit++;
  });
  return counted === 0 ? NaN : hit / counted;
}

/** The check over every model card in `pack/models`. */
export async function runCheck(opts: {
  pack: string;
  providers: Provider[];
  batch: number;
  budgetS: number;
  /** Use only the first `limit` images (a quick self-test); default all. */
  limit?: number;
  log?: (line: string) => void;
}): Promise<CheckResult> {
  const t0 = performance.now();
  const log = opts.log ?? ((l: string) => console.error(l));
  const data = JSON.parse(
    await Deno.readTextFile(join(opts.pack, "data", "fer2013-test.json")),
  ) as PackData;
  let pixels = await Deno.readFile(join(opts.pack, "data", "fer2013-test.u8"));
  if (pixels.length !== data.n * data.width * data.height) {
    throw new Error(`data/fer2013-test.u8: ${pixels.length} bytes, expected ${data.n}·48·48`);
  }
  if (opts.limit !== undefined && opts.limit < data.n) {
    data.n = opts.limit;
    data.labels = data.labels.slice(0, opts.limit);
    pixels = pixels.subarray(0, data.n * data.width * data.height);
  }
  const cards = [...Deno.readDirSync(join(opts.pack, "models"))]
    .filter((e) => e.name.endsWith(".json"))
    .map((e) => join(opts.pack, "models", e.name))
    .sort();
  const cores = navigator.hardwareConcurrency;
  const result: CheckResult = {
    date: new Date().toISOString(),
    machine: { cpu: cpuModel(), cores, gpu: await gpuName() },
    onnxruntime: ONNXRUNTIME_VERSION,
    deno: Deno.version.deno,
    images: data.n,
    batch: opts.batch,
    models: [],
    elapsedSeconds: 0,
  };
  // The first cpu run is the reference; each provider under test follows (cpu too, for a
  // self-test of the pack where no GPU is at hand: a second cpu run must agree exactly).
  const order: Provider[] = ["cpu", ...opts.providers];
  for (const cardPath of cards) {
    const model = await loadCard(cardPath);
    const runs: ProviderRun[] = [];
    result.models.push({ id: model.card.id, runs });
    let reference: { probs: Float32Array; top: Int32Array } | undefined;
    for (const [k, provider] of order.entries()) {
      const isReference = k === 0;
      if ((performance.now() - t0) / 1000 > opts.budgetS) {
        runs.push({ provider, status: "not run", reason: `time budget ${opts.budgetS} s spent` });
        continue;
      }
      let engine: Engine;
      try {
        engine = await Engine.create(model, {
          provider,
          strict: true,
          batchSize: opts.batch,
          ...(provider === "cpu" ? { intraOpThreads: cores } : {}),
        });
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        runs.push({ provider, status: "unavailable", reason });
        log(`${model.card.id} ${provider}: unavailable: ${reason}`);
        continue;
      }
      try {
        const { probs, seconds } = await runAll(engine, pixels, data);
        const c = engine.numClasses;
        const top = argmaxRows(probs, data.n, c);
        const run: ProviderRun = {
          provider,
          status: "ok",
          imagesPerSecond: data.n / seconds,
          inferenceSeconds: seconds,
          accuracy: accuracyOf(top, model.card.output.classes, data.labels),
          ...(isReference ? { reference: true } : {}),
        };
        if (isReference) {
          reference = { probs, top };
        } else if (reference !== undefined) {
          let same = 0;
          let maxDiff = 0;
          for (let i = 0; i < data.n; i++) if (top[i] === reference.top[i]) same++;
          for (let i = 0; i < probs.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(probs[i] - reference.probs[i]));
          }
          run.top1AgreementWithCpu = same / data.n;
          run.top1Disagreements = data.n - same;
          run.maxProbabilityDifference = maxDiff;
        }
        runs.push(run);
        log(
          `${model.card.id} ${provider}${isReference ? " (reference)" : ""}: ` +
            `${run.imagesPerSecond!.toFixed(0)} images/s` +
            (run.top1AgreementWithCpu !== undefined
              ? `, top-1 agreement ${(100 * run.top1AgreementWithCpu).toFixed(3)} %, ` +
                `max |Δp| ${run.maxProbabilityDifference!.toExponential(2)}`
              : ""),
        );
      } catch (e) {
        runs.push({
          provider,
          status: "failed",
          reason: e instanceof Error ? e.message : String(e),
        });
      } finally {
        await engine.dispose();
      }
    }
  }
  result.elapsedSeconds = (performance.now() - t0) / 1000;
  return result;
}

/** The result as bench/results/gpu.md. */
export function formatCheck(r: CheckResult): string {
  const gpuRan = r.models.some((m) =>
    m.runs.some((x) => x.provider !== "cpu" && x.status === "ok")
  );
  const pct = (x?: number) => (x === undefined ? "—" : `${(100 * x).toFixed(3)} %`);
  const lines = [
    "# GPU check",
    "",
    "Written by the GPU pack's check (bench/gpu/check.ts, started by run.sh inside the pack that",
    "bench/gpu/pack.ts builds): FER2013 test on CPU (all cores) and on each GPU provider in one run.",
    "",
    `- date: ${r.date}`,
    `- machine: ${r.machine.cpu}, ${r.machine.cores} logical CPUs; GPU: ${
      r.machine.gpu ?? "none found (nvidia-smi)"
    }`,
    `- onnxruntime-node ${r.onnxruntime}, deno ${r.deno}; ${r.images} images, batch ${r.batch}`,
    `- whole check: ${r.elapsedSeconds.toFixed(1)} s`,
    "",
    gpuRan
      ? "GPU providers ran; agreement and differences are against the CPU run of the same model."
      : "**No GPU provider ran in this run**: the figures are CPU only" +
        (r.models.some((m) => m.runs.some((x) => x.reason)) ? " (reasons below)." : "."),
    "",
    "| model | provider | status | images/s | accuracy | top-1 agreement with CPU | disagreeing images | max abs prob. difference |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const m of r.models) {
    for (const x of m.runs) {
      lines.push(
        `| ${m.id} | ${x.provider}${x.reference ? " (reference)" : ""} | ${x.status} | ${
          x.imagesPerSecond?.toFixed(0) ?? "—"
        } | ${pct(x.accuracy)} | ${pct(x.top1AgreementWithCpu)} | ${x.top1Disagreements ?? "—"} | ${
          x.maxProbabilityDifference?.toExponential(2) ?? "—"
        } |`,
      );
    }
  }
  const reasons = r.models.flatMap((m) =>
    m.runs.filter((x) => x.reason).map((x) => `- ${m.id} on ${x.provider}: ${x.reason}`)
  );
  if (reasons.length) lines.push("", "Not run or unavailable:", "", ...new Set(reasons));
  return lines.join("\n") + "\n";
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      pack: { type: "string", default: "." },
      out: { type: "string", default: "results" },
      providers: { type: "string", default: "webgpu,cuda" },
      batch: { type: "string", default: "64" },
      "budget-s": { type: "string", default: "420" },
      limit: { type: "string" },
    },
  });
  const providers = values.providers.split(",").filter((p) => p !== "").map((p) =>
    parseProvider(p, "--providers")
  );
  const r = await runCheck({
    pack: values.pack,
    providers,
    batch: Number(values.batch),
    budgetS: Number(values["budget-s"]),
    ...(values.limit !== undefined ? { limit: Number(values.limit) } : {}),
  });
  await Deno.mkdir(values.out, { recursive: true });
  await Deno.writeTextFile(join(values.out, "results.json"), JSON.stringify(r, null, 2) + "\n");
  await Deno.writeTextFile(join(values.out, "gpu.md"), formatCheck(r));
  console.log(formatCheck(r));
}
