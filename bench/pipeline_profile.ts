/**
 * Where the kit pipeline's time goes, per model, on the first N FER2013 test images: image
 * decoding, the kit's exact preprocessing (resize, normalisation, into the batch tensor) and
 * `session.run`, each timed alone in one process; and whether `session.run` lets the JavaScript
 * thread work meanwhile (onnxruntime-node runs it on the calling thread when it does not).
 *
 *   deno run -A bench/pipeline_profile.ts [--images 512] [--models a,b] [--threads T] [--no-write]
 *
 * The ratio raw / (decode + preprocess + raw) is the pipeline/raw a pipeline reaches when these
 * steps run one after the other on the thread that calls session.run; overlapping them with
 * inference needs another thread and a core that inference does not already use. Records in
 * bench/results/pipeline.md.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { PROJECT_ROOT } from "../lib/config.ts";
import { writeFileAtomic } from "../lib/fsutil.ts";
import { loadDataset } from "../lib/datasets/mod.ts";
import { decodeImage, type RawImage } from "../lib/image.ts";
import { listModels, loadCard } from "../lib/models/registry.ts";
import { Engine } from "../lib/engine.ts";
import { preprocessInto } from "../lib/preprocess.ts";

/** Milliseconds per image of each step, for one model. */
export interface StepProfile {
  model: string;
  batch: number;
  images: number;
  decodeMs: number;
  preprocessMs: number;
  runMs: number;
  /** raw / (decode + preprocess + raw): the serial pipeline's share of raw speed. */
  serialShare: number;
  /** Share of session.run's wall time during which a 1 ms timer still fired (0: it blocks). */
  eventLoopFreeShare: number;
}

async function eventLoopFree(engine: Engine, x: Float32Array, n: number): Promise<number> {
  let ticks = 0;
  const iv = setInterval(() => ticks++, 1);
  const t0 = performance.now();
  await engine.runTensor(x, n);
  const ms = performance.now() - t0;
  clearInterval(iv);
  return Math.min(1, ticks / Math.max(1, ms));
}

/** Profile one model over `images` (decoded once per step so each step is timed alone). */
export async function profileModel(
  id: string,
  files: readonly Parameters<typeof decodeImage>[0][],
  threads: number | undefined,
): Promise<StepProfile> {
  const model = await loadCard(id);
  const engine = await Engine.create(model, {
    provider: "cpu",
    ...(threads ? { intraOpThreads: threads } : {}),
  });
  try {
    const n = files.length;
    let t0 = performance.now();
    const imgs: RawImage[] = [];
    for (const f of files) imgs.push(await decodeImage(f));
    const decodeMs = (performance.now() - t0) / n;
    const x = new Float32Array(n * engine.sampleLength);
    t0 = performance.now();
    imgs.forEach((img, i) => preprocessInto(img, model.card, x, i));
    const preprocessMs = (performance.now() - t0) / n;
    await engine.runTensor(x, Math.min(n, engine.batchSize)); // warm-up
    t0 = performance.now();
    await engine.runTensor(x, n);
    const runMs = (performance.now() - t0) / n;
    const free = await eventLoopFree(engine, x, Math.min(n, 4 * engine.batchSize));
    return {
      model: id,
      batch: engine.batchSize,
      images: n,
      decodeMs,
      preprocessMs,
      runMs,
      serialShare: runMs / (decodeMs + preprocessMs + runMs),
      eventLoopFreeShare: free,
    };
  } finally {
    await engine.dispose();
  }
}

/** The profiles as a markdown table. */
export function formatProfiles(rows: StepProfile[]): string[] {
  const f = (x: number) => x.toFixed(3);
  return [
    "| model | batch | images | decode ms/img | preprocess ms/img | session.run ms/img | raw / serial pipeline | event loop free during run |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) =>
      `| ${r.model} | ${r.batch} | ${r.images} | ${f(r.decodeMs)} | ${f(r.preprocessMs)} | ${
        f(r.runMs)
      } | ${r.serialShare.toFixed(2)} | ${(100 * r.eventLoopFreeShare).toFixed(0)} % |`
    ),
  ];
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      images: { type: "string", default: "512" },
      models: { type: "string" },
      threads: { type: "string" },
      "no-write": { type: "boolean", default: false },
    },
  });
  const ds = await loadDataset("fer2013", { split: "test" });
  const files = ds.samples.slice(0, Number(values.images)).map((s) => s.source);
  const wanted = values.models?.split(",");
  const ids = (await listModels()).filter((m) => m.available && (!wanted || wanted.includes(m.id)))
    .map((m) => m.id);
  const rows: StepProfile[] = [];
  for (const id of ids) {
    const r = await profileModel(id, files, values.threads ? Number(values.threads) : undefined);
    rows.push(r);
    console.log(formatProfiles([r]).slice(2).join("\n"));
  }
  if (!values["no-write"]) {
    const load = Deno.loadavg().map((x) => x.toFixed(2)).join(", ");
    const md = [
      "# Pipeline profile (bench/pipeline_profile.ts)",
      "",
      "Where the kit pipeline's time goes on FER2013 test images, each step timed alone on CPU:",
      "decoding, the kit's preprocessing into the batch tensor, and `session.run` at the engine's",
      'batch. "raw / serial pipeline" is the share of raw inference speed a pipeline keeps when',
      'the three steps run one after the other on one thread; "event loop free" is the share of',
      "`session.run`'s time during which a 1 ms timer could still fire (0 %: onnxruntime-node runs",
      "inference on the calling thread, so decoding and preprocessing on that thread cannot overlap",
      "with it; only another thread on a spare core can).",
      "",
      `- date: ${new Date().toISOString()}`,
      `- machine: ${navigator.hardwareConcurrency} logical CPUs, load average ${load} (shared)`,
      "",
      ...formatProfiles(rows),
      "",
    ].join("\n");
    await writeFileAtomic(join(PROJECT_ROOT, "bench", "results", "pipeline.md"), md);
    console.log("recorded in bench/results/pipeline.md");
  }
}
