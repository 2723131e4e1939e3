/**
 * Scale-out benchmark: what one node does and what sharding costs, measured in one run on
 * FER2013 test PNGs (FER_DATA), and the AffectNet-size plan computed from those figures.
 *
 *   (a) per-node throughput: `predictDataset` from the image files into a fresh prediction
 *       cache (decode, preprocessing, inference, cache writes), images/s, per model;
 *   (b) content keys: every shard hashes the images of the whole dataset to find its own
 *       (lib/datasets/content.ts), without and with the hash index, images/s;
 *   (c) one node running shards 0/3, 1/3, 2/3 one after another against the unsharded run
 *       (mini-xception): the cost of sharding itself, as a ratio;
 *   (d) `kit cache merge` + verify of the three shard caches, per 1000 results;
 *   (e) plan: node-hours and wall time for 1,000,000 images (AffectNet is about that size) on
 *       1, 10 and 50 nodes, from (a) and (b).
 *
 * `deno run -A bench/scale.ts [--images N] [--threads T] [--models a,b] [--no-write]`; records
 * the figures in bench/results/scale.md.
 */
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../lib/config.ts";
import { mergeCaches, verifyCache } from "../lib/cache_merge.ts";
import { sourceTags } from "../lib/datasets/content.ts";
import { loadDataset } from "../lib/datasets/mod.ts";
import { loadCard } from "../lib/models/registry.ts";
import { type PredictableDataset, predictDataset } from "../lib/predict.ts";
import { formatPredictions } from "../lib/predictions.ts";

const AFFECTNET_IMAGES = 1_000_000;

function opts() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      images: { type: "string", default: "600" },
      threads: { type: "string", default: "2" },
      models: { type: "string", default: "mini-xception-fer2013,densenet121-faceplugin" },
      "no-write": { type: "boolean", default: false },
    },
  });
  return {
    images: Number(values.images),
    threads: Number(values.threads),
    models: String(values.models).split(","),
    write: !values["no-write"],
  };
}

async function seconds<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, (performance.now() - t0) / 1000];
}

const fmt = (x: number, d = 1) => x.toFixed(d);

async function main(): Promise<number> {
  const o = opts();
  const loadStart = (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ")[0];
  const ds = await loadDataset("fer2013", { split: "test" });
  const data: PredictableDataset = {
    name: ds.name,
    samples: ds.samples.slice(0, o.images),
    hash: "bench-scale",
  };
  const n = data.samples.length;
  const tmp = await Deno.makeTempDir({ prefix: "fer-bench-scale-" });
  const lines: string[] = [];
  const say = (s: string) => {
    console.log(s);
    lines.push(s);
  };
  try {
    // (b) content keys, cold then warm.
    const sources = data.samples.map((s) => s.source);
    const [, cold] = await seconds(() => sourceTags(sources, { indexDir: null }));
    const indexDir = join(tmp, "index");
    await sourceTags(sources, { indexDir });
    const [, warm] = await seconds(() => sourceTags(sources, { indexDir }));

    // (a) per-node throughput.
    // CPU seconds per image (this process, onnxruntime's threads included) do not depend on
    // how many other jobs share the cores; wall images/s do.
    const rows: { id: string; ips: number; cpuPerImage: number; nodeIps: number }[] = [];
    const cores = navigator.hardwareConcurrency;
    for (const id of o.models) {
      const model = await loadCard(id);
      const cpu0 = process.cpuUsage();
      const [r] = await seconds(() =>
        predictDataset(model, data, {
          cacheDir: join(tmp, `cache-${id}`),
          threads: o.threads,
          progress: false,
        })
      );
      const cpu = process.cpuUsage(cpu0);
      const cpuPerImage = (cpu.user + cpu.system) / 1e6 / r.stats.inferred;
      const nodeIps = Math.min(cores, o.threads) / cpuPerImage;
      rows.push({ id, ips: r.stats.imagesPerSecond, cpuPerImage, nodeIps });
      console.error(`${id}: ${fmt(r.stats.imagesPerSecond)} images/s, ${cpuPerImage} cpu-s/image`);
    }

    // (c) shards one after another vs unsharded, and (d) merge + verify.
    const model = await loadCard(o.models[0]);
    const [full, tFull] = await seconds(() =>
      predictDataset(model, data, {
        cacheDir: join(tmp, "full"),
        threads: o.threads,
        progress: false,
      })
    );
    let tShards = 0;
    for (let index = 0; index < 3; index++) {
      const [, t] = await seconds(() =>
        predictDataset(model, data, {
          shard: { index, count: 3 },
          cacheDir: join(tmp, `shard-${index}`),
          threads: o.threads,
          progress: false,
        })
      );
      tShards += t;
    }
    const merged = join(tmp, "merged");
    const [report, tMerge] = await seconds(() =>
      mergeCaches([0, 1, 2].map((i) => join(tmp, `shard-${i}`)), merged)
    );
    const [verify, tVerify] = await seconds(() => verifyCache(merged));
    const rebuilt = await predictDataset(model, data, {
      cacheDir: join(merged, "predictions"),
      progress: false,
    });
    const same = formatPredictions(rebuilt) === formatPredictions(full) &&
      rebuilt.stats.inferred === 0;
    if (report.problems.length + verify.problems.length > 0 || !same) {
      console.error("merge check failed", report.problems, verify.problems, { same });
      return 1;
    }
    const results = Object.values(report.images).reduce((a, b) => a + b, 0);

    const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ")[0];
    const threads = Math.min(cores, o.threads);
    say(`- date: ${new Date().toISOString()}`);
    say(
      `- machine: ${cores} cores, load average ${loadStart} at the start and ${load} at the ` +
        "end (other jobs shared the cores: wall-clock figures are far below an idle node's)",
    );
    say(`- data: the first ${n} FER2013 test PNGs; onnxruntime cpu, intra-op threads ${o.threads}`);
    say("");
    say("Per-node throughput of `kit predict` (decode, preprocessing, inference, cache writes).");
    say(
      `"Measured" is wall-clock on this shared machine; "dedicated node" is ${threads} busy ` +
        "cores divided by the CPU seconds the run used per image (onnxruntime's threads " +
        "included), what a node whose cores are free for the task would do if the work kept " +
        `${threads} cores busy (an upper bound: decoding and inference overlap only in part).`,
    );
    say("");
    say(
      "| model | measured images/s | CPU s per image | dedicated node images/s | " +
        "node-hours for 1,000,000 images (dedicated) |",
    );
    say("| --- | --- | --- | --- | --- |");
    for (const r of rows) {
      say(
        `| ${r.id} | ${fmt(r.ips)} | ${fmt(r.cpuPerImage, 4)} | ${fmt(r.nodeIps)} | ` +
          `${fmt(AFFECTNET_IMAGES / r.nodeIps / 3600)} |`,
      );
    }
    say("");
    say(
      `Content keys (SHA-256 of each image file, which every shard computes for the whole ` +
        `dataset; the files were in the OS page cache, so a first read from a network ` +
        `filesystem is slower): ${fmt(n / cold, 0)} images/s without the hash index, ` +
        `${fmt(n / warm, 0)} images/s with it; for 1,000,000 images ` +
        `${fmt(AFFECTNET_IMAGES / (n / cold) / 60)} min without, ` +
        `${fmt(AFFECTNET_IMAGES / (n / warm) / 60)} min with the index, per shard.`,
    );
    say("");
    say(
      `Sharding on one node (${o.models[0]}): 3 shards one after another took ` +
        `${fmt(tShards, 2)} s against ${fmt(tFull, 2)} s unsharded ` +
        `(${fmt(tShards / tFull, 2)}×: each shard loads the model and hashes every image).`,
    );
    say(
      `Merge of the 3 shard caches: ${fmt(tMerge, 2)} s, verify ${fmt(tVerify, 2)} s for ` +
        `${results} results (${fmt((1000 * (tMerge + tVerify)) / results, 3)} s per 1000); ` +
        `the merged cache rebuilt the unsharded predictions file byte for byte with 0 inferred.`,
    );
    say("");
    say(
      "Plan for 1,000,000 images on dedicated nodes of this size (wall time: an ideal split " +
        "of the images plus each shard's cold key pass):",
    );
    say("");
    say("| model | 1 node | 10 nodes | 50 nodes |");
    say("| --- | --- | --- | --- |");
    const keyHours = AFFECTNET_IMAGES / (n / cold) / 3600;
    for (const r of rows) {
      const h = (nodes: number) => AFFECTNET_IMAGES / nodes / r.nodeIps / 3600 + keyHours;
      say(`| ${r.id} | ${fmt(h(1))} h | ${fmt(h(10))} h | ${fmt(h(50), 2)} h |`);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
  if (o.write) {
    const path = join(PROJECT_ROOT, "bench/results/scale.md");
    const intro = await Deno.readTextFile(path).then(
      (t) => t.split("<!-- results -->")[0],
      () => "# Scale-out benchmark (bench/scale.ts)\n\n",
    );
    await Deno.writeTextFile(path, `${intro}<!-- results -->\n\n${lines.join("\n")}\n`);
    console.log(`\nrecorded in ${path}`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
