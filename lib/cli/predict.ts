/**
 * `deno task kit predict --model <id|path.onnx> [--card card.json] --dataset <name|folder|csv>
 *   [--split s] [--data DIR] [--out preds.csv] [--batch N] [--provider cpu] [--threads N]
 *   [--detect yunet|ultraface] [--shard i/N] [--cache-dir DIR]`: run a model over a dataset and
 *   write the predictions CSV.
 */
import { basename, dirname, join, resolve } from "node:path";
import { formatCsv } from "../csv.ts";
import { dataRoot } from "../config.ts";
import { checkWritable, writeFileAtomic } from "../fsutil.ts";
import { loadDataset } from "../datasets/mod.ts";
import type { Provider } from "../engine.ts";
import { loadCard } from "../models/registry.ts";
import { accuracy, predictDataset } from "../predict.ts";
import { formatPredictions } from "../predictions.ts";
import type { Split } from "../sample.ts";
import type { DetectorName } from "../detect/mod.ts";
import {
  flag,
  intFlag,
  numFlag,
  parseArgs,
  required,
  shardOption,
  str,
  UsageError,
} from "./args.ts";

export const summary = "run a model over a dataset and write its predictions CSV (cached)";

const HELP =
  `usage: deno task kit predict --model <id|model.onnx> --dataset <name|folder|csv> [options]

  --model ID|PATH     registered model id (models/<id>.json) or a .onnx file (needs --card)
  --card FILE         model card for a .onnx file (see models/*.json)
  --dataset SPEC      fer2013, ferplus, ckplus, expw, ... or a folder / CSV manifest
  --split S           train, val or test (default: all samples)
  --data DIR          data root (default: $FER_DATA, else data/raw)
  --out FILE          predictions CSV (default: predictions/<model>_<dataset>[_<split>].csv)
  --batch N           samples per inference call for dynamic-batch models (default 32)
  --provider P        cpu (default), webgpu or cuda; falls back to cpu with a note
  --threads N         onnxruntime intra-op threads (default: all cores)
  --detect D          find faces first: yunet or ultraface (largest face per image)
  --detect-threshold X  detector score threshold (default: the detector card's)
  --chunk-size N      samples per cache chunk (default 256)
  --shard i/N         run only shard i of N (0 <= i < N): the images whose content hash falls in
                      it; the CSV holds that shard's rows (see docs/scale.md)
  --cache-dir DIR     prediction cache folder (default: $FER_CACHE/predictions); a shard on a
                      cluster writes its own, merged afterwards with \`kit cache merge\`
  --no-cache          neither read nor write the prediction cache
  --quiet             no progress output

Unreadable images and images without a detected face are skipped and listed in
<out>.skipped.csv (id,file,reason). Results are cached under .cache/predictions/ (FER_CACHE);
an interrupted run resumes where it stopped.`;

/** Entry point of `kit predict`; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  try {
    const p = parseArgs(args, {
      model: { type: "string" },
      card: { type: "string" },
      dataset: { type: "string" },
      split: { type: "string" },
      data: { type: "string" },
      out: { type: "string" },
      batch: { type: "string" },
      provider: { type: "string" },
      threads: { type: "string" },
      detect: { type: "string" },
      "detect-threshold": { type: "string" },
      "chunk-size": { type: "string" },
      shard: { type: "string" },
      "cache-dir": { type: "string" },
      "no-cache": { type: "boolean" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    const modelSpec = required(p, "model");
    const datasetSpec = required(p, "dataset");
    const split = str(p, "split");
    if (split !== undefined && !["train", "val", "test"].includes(split)) {
      throw new UsageError(`--split must be train, val or test, got "${split}"`);
    }
    const provider = str(p, "provider");
    if (provider !== undefined && !["cpu", "webgpu", "cuda"].includes(provider)) {
      throw new UsageError(`--provider must be cpu, webgpu or cuda, got "${provider}"`);
    }
    const detect = str(p, "detect");
    if (detect !== undefined && detect !== "yunet" && detect !== "ultraface") {
      throw new UsageError(`--detect must be yunet or ultraface, got "${detect}"`);
    }
    const batch = intFlag(p, "batch", 1);
    const threads = intFlag(p, "threads", 1);
    const chunkSize = intFlag(p, "chunk-size", 1);
    const detectThreshold = numFlag(p, "detect-threshold", { min: 0, max: 1 });

    const shard = shardOption(p);
    const cacheDir = str(p, "cache-dir");

    const model = await loadCard(modelSpec, str(p, "card"));
    const dataset = await loadDataset(datasetSpec, {
      dataRoot: dataRoot(str(p, "data")),
      split: split as Split | undefined,
    });
    if (dataset.samples.length === 0) {
      console.error(`predict: dataset ${dataset.name}${split ? ` (${split})` : ""} has no samples`);
      return 1;
    }
    const part = shard === undefined ? "" : `_shard-${shard.index}-of-${shard.count}`;
    const out = resolve(
      str(p, "out") ??
        join(
          "predictions",
          `${model.card.id}_${dataset.name}${split ? `_${split}` : ""}${part}.csv`,
        ),
    );
    await checkWritable(out); // before inference, not after it
    const result = await predictDataset(model, dataset, {
      batchSize: batch,
      provider: provider as Provider | undefined,
      threads,
      detect: detect as DetectorName | undefined,
      detectThreshold,
      chunkSize,
      shard,
      cacheDir: cacheDir === undefined ? undefined : resolve(cacheDir),
      cache: !flag(p, "no-cache"),
      progress: !flag(p, "quiet"),
    });
    await writeFileAtomic(out, formatPredictions(result));
    const s = result.stats;
    const skipped = [
      ...dataset.unreadable.map((u) => ["", u.file, u.reason]),
      ...s.unreadable.map((u) => ["", u.file, u.reason]),
      ...s.noFace.map((id) => [id, "", "no face detected"]),
    ];
    const skippedPath = join(dirname(out), `${basename(out, ".csv")}.skipped.csv`);
    if (skipped.length > 0) {
      await writeFileAtomic(skippedPath, formatCsv([["id", "file", "reason"], ...skipped]));
    }
    const acc = accuracy(result);
    console.log(
      `predict: ${model.card.id} on ${dataset.name}${split ? ` (${split})` : ""}` +
        (shard
          ? `, shard ${shard.index}/${shard.count} (${s.total} of ` +
            `${dataset.samples.length} samples)`
          : "") +
        ": " +
        `${s.predicted} predictions → ${out}`,
    );
    console.log(
      `  accuracy ${(100 * acc).toFixed(2)}% over ${s.predicted} rows; ` +
        `${s.fromCache} from cache, ${s.inferred} inferred` +
        (s.inferred > 0 ? ` at ${s.imagesPerSecond.toFixed(1)} images/s on ${s.provider}` : ""),
    );
    if (s.providerNote) console.log(`  note: ${s.providerNote}`);
    // What computed the rows (cached rows keep their producer), beside the CSV.
    const provenancePath = join(dirname(out), `${basename(out, ".csv")}.provenance.json`);
    await writeFileAtomic(
      provenancePath,
      JSON.stringify(
        {
          model: model.card.id,
          modelSha256: model.sha256,
          dataset: dataset.name,
          split: split ?? null,
          written: new Date().toISOString(),
          producers: s.producers,
        },
        null,
        2,
      ) + "\n",
    );
    console.log(
      `  computed on ${
        s.producers.map((p) => `${p.provider} (onnxruntime ${p.onnxruntime}): ${p.rows} rows`)
          .join("; ")
      } → ${provenancePath}`,
    );
    if (skipped.length > 0) {
      console.log(
        `  skipped ${skipped.length}: ${dataset.unreadable.length + s.unreadable.length} ` +
          `unreadable, ${s.noFace.length} without a detected face → ${skippedPath}`,
      );
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`predict: ${e.message}\n\n${HELP}`);
      return 2;
    }
    if (e instanceof Error) {
      console.error(`predict: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
