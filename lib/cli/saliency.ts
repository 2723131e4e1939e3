/**
 * `deno task kit saliency`: saliency maps for any registered (or user) ONNX model, of one image
 * (lib/saliency explainImage) or of a dataset split: the same cached study as notebook 04
 * (lib/studies/saliency.ts) written by lib/present/saliency_files.ts. This file turns flags into
 * settings; docs/saliency.md describes the methods and the files.
 */
import { basename, extname, resolve } from "node:path";
import { dataRoot } from "../config.ts";
import { loadDataset } from "../datasets/mod.ts";
import { decodeImage, ImageError } from "../image.ts";
import { loadCard, ModelCardError, type ResolvedModel } from "../models/registry.ts";
import { writeImageSaliency, writeSaliencyFiles } from "../present/saliency_files.ts";
import { type BaselineKind, EngineScorer, explainImage } from "../saliency/mod.ts";
import {
  DEFAULT_SALIENCY_SETTINGS,
  methodOptionsOf,
  type SaliencySettings,
  saliencyShard,
  saliencyStudy,
} from "../studies/saliency.ts";
import { LabelError, normalizeLabel } from "../taxonomy.ts";
import {
  choiceFlag,
  flag,
  intFlag,
  numFlag,
  type OptionSpec,
  parseArgs,
  type ParsedArgs,
  required,
  shardOption,
  str,
  stringFlags,
  UsageError,
} from "./args.ts";

export const summary =
  "saliency maps (RISE, occlusion) as overlays; dataset views, faithfulness, sanity check";

const OPTIONS: OptionSpec = {
  ...stringFlags(
    "model card image dataset split data class method out n seed cell keep patch stride fill " +
      "layout json steps randomization rand-images rand-steps limit per-class sampling " +
      "faces-per-class faithful-per-class batch threads shard cache-dir",
  ),
  centered: { type: "boolean" },
  faithfulness: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

const HELP = `usage:
  deno task kit saliency --model <id> --image <path> [options]
  deno task kit saliency --model <id> --dataset <name> --split <s> --out <dir> [options]
  deno task kit saliency --model <id> --dataset <name> --split <s> --shard i/N --cache-dir <dir>

  --model <id|file.onnx> [--card <card.json>]   registered id, card JSON, or .onnx with its card
one image (already cropped to the face):
  --class <name>           class to explain (default: the model's top class)
  --out <file.png> --layout overlay|side-by-side   (default saliency-<image>-<method>.png, overlay)
  --json <file>            also write the map as {width, height, values} for Observable Plot
  --faithfulness           print this map's deletion/insertion areas
dataset views (the saliency study of notebook 04, written as files to --out):
  --sampling random|per-class   seeded; --limit <n> faces (300) or --faces-per-class <k> (20)
  --per-class <k>          cases per kind and class in the montage (default 3)
  --faithfulness [--faithful-per-class <k>]   deletion/insertion of RISE, occlusion, random map
  --randomization cascading|full [--rand-images <n>] [--rand-steps <k>]   sanity check (16, 4)
  --data <root>            data root (default FER_DATA, then data/raw)
  --cache-dir <dir>        per-image map cache (default $FER_CACHE/saliency)
  --shard i/N              only the faces of shard i of N (by content hash), into the map cache
                           (--cache-dir), no --out; merge the shards' caches with
                           \`kit cache merge\`, then run without --shard (see docs/scale.md)
method:
  --method rise|occlusion  (default rise); --seed <int> mask and sampling seed (default 0)
  --n <N> --cell <px> --keep <p> [--centered]   RISE masks (2000 one image, 500 dataset), cell
                           (input size / 8), keep probability (0.5), subtract the mean score
  --patch <px> --stride <px> --fill mean|zero|blur   occlusion (default size/6, patch/2, mean)
  --steps <k>              deletion/insertion steps (default 48)
  --batch <n> --threads <n>   images per forward pass (default 64), onnxruntime threads`;

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

/** The method settings of both modes (RISE masks default to `defaultN`). */
function methodSettings(p: ParsedArgs, defaultN: number): Partial<SaliencySettings> {
  return {
    method: choiceFlag(p, "method", ["rise", "occlusion"] as const) ?? "rise",
    riseN: intFlag(p, "n", 1) ?? defaultN,
    seed: intFlag(p, "seed", 0) ?? 0,
    centered: flag(p, "centered"),
    riseCell: intFlag(p, "cell", 1),
    riseKeep: numFlag(p, "keep", { min: 0, max: 1, open: true }),
    occlusion: {
      patchSize: intFlag(p, "patch", 1),
      stride: intFlag(p, "stride", 1),
      fill: choiceFlag<BaselineKind>(p, "fill", ["mean", "zero", "blur"]),
    },
  };
}

async function openScorer(p: ParsedArgs): Promise<{ model: ResolvedModel; scorer: EngineScorer }> {
  const model = await loadCard(required(p, "model"), str(p, "card"));
  const [batch, threads] = [intFlag(p, "batch", 1) ?? 64, intFlag(p, "threads", 1)];
  const engine = { batchSize: batch, ...(threads ? { intraOpThreads: threads } : {}) };
  return { model, scorer: await EngineScorer.open(model, engine, batch) };
}

// One image: lib/saliency explainImage, written and reported by lib/present/saliency_files.ts.

async function runImage(p: ParsedArgs, imagePath: string): Promise<number> {
  const settings = { ...DEFAULT_SALIENCY_SETTINGS, ...methodSettings(p, 2000) };
  const [method, opts] = [settings.method, methodOptionsOf(settings)];
  const layout = choiceFlag(p, "layout", ["overlay", "side-by-side"] as const) ?? "overlay";
  const { model, scorer } = await openScorer(p);
  try {
    const requested = str(p, "class");
    const image = await decodeImage({ kind: "file", path: resolve(imagePath) });
    const r = await explainImage(scorer, model.card, image, {
      method,
      opts,
      classIndex: requested === undefined ? undefined : resolveClass(requested, scorer.classes),
      faithfulnessSteps: flag(p, "faithfulness") ? intFlag(p, "steps", 2) ?? 48 : undefined,
    });
    const out = str(p, "out") ??
      `saliency-${basename(imagePath, extname(imagePath))}-${method}.png`;
    const report = await writeImageSaliency(r, {
      card: model.card,
      classes: scorer.classes,
      imagePath,
      method,
      opts,
      requested: requested !== undefined,
      out,
      layout,
      json: str(p, "json"),
    });
    console.log(report.lines.join("\n"));
    if (report.note !== undefined) console.error(`saliency: note: ${report.note}`);
  } finally {
    await scorer.dispose();
  }
  return 0;
}

// Dataset views: the saliency study of notebook 04 (lib/studies/saliency.ts), written as files.

async function runDataset(p: ParsedArgs, datasetName: string): Promise<number> {
  required(p, "split");
  const split = choiceFlag(p, "split", ["train", "val", "test"] as const)!;
  const shard = shardOption(p);
  if (shard !== undefined && str(p, "out") !== undefined) {
    throw new UsageError("--shard fills the map cache (--cache-dir) only: drop --out");
  }
  const outDir = shard === undefined ? required(p, "out") : "";
  const cacheDirFlag = str(p, "cache-dir");
  const mapCacheDir = cacheDirFlag === undefined ? undefined : resolve(cacheDirFlag);
  const sampling = choiceFlag(p, "sampling", ["random", "per-class"] as const) ?? "random";
  const settings: Partial<SaliencySettings> = {
    ...methodSettings(p, 500),
    sampling: sampling === "per-class" ? "perClass" : "random",
    limit: intFlag(p, "limit", 1) ?? 300,
    perClass: intFlag(p, "faces-per-class", 1) ?? 20,
    casesPerClass: intFlag(p, "per-class", 1) ?? 3,
    faithfulness: flag(p, "faithfulness"),
    faithfulnessPerClass: intFlag(p, "faithful-per-class", 1) ?? 1_000_000,
    faithfulnessRiseN: intFlag(p, "n", 1) ?? 500,
    steps: intFlag(p, "steps", 2) ?? 48,
    randomization: choiceFlag(p, "randomization", ["cascading", "full"] as const) ?? "none",
    randomizationImages: intFlag(p, "rand-images", 1) ?? 16,
    randomizationSteps: intFlag(p, "rand-steps", 1) ?? 4,
    batchSize: intFlag(p, "batch", 1) ?? 64,
    threads: intFlag(p, "threads", 1),
  };
  const ds = await loadDataset(datasetName, { dataRoot: dataRoot(str(p, "data")), split });
  if (ds.samples.length === 0) {
    throw new UsageError(`dataset "${datasetName}" has no ${split} samples under ${ds.root}`);
  }
  const model = await loadCard(required(p, "model"), str(p, "card"));
  const log = (line: string) => console.error(`saliency: ${line}`);
  const maps = (m: { hits: number; computed: number }) =>
    `${m.hits} maps and curves from cache, ${m.computed} computed`;
  if (shard !== undefined) {
    const r = await saliencyShard(model, ds, shard, { settings, mapCacheDir, log });
    console.log(
      `saliency: ${model.card.id} on ${ds.name} (${split}), shard ${shard.index}/${shard.count}: ` +
        `${r.inShard} of ${r.faces} faces (${r.faithful} scored for faithfulness); ` +
        `${maps(r.maps)} in ${r.seconds.toFixed(1)} s → ${mapCacheDir ?? "the kit's map cache"}`,
    );
    return 0;
  }
  const run = await saliencyStudy(model, ds, { settings, log, mapCacheDir });
  for (const u of run.study.unreadable) console.error(`skipped (unreadable): ${u.reason}`);
  const md = await writeSaliencyFiles(run.study, outDir);
  console.log(`${md}\nwritten: ${outDir}/{class_means,cases}.{png,json,csv}, summary.md`);
  const t = run.study.seconds;
  console.error(
    run.cacheHit
      ? "saliency: the study was read from the study cache"
      : `saliency: ${maps(run.maps!)}; ${t.rise.toFixed(1)} s maps, ` +
        `${t.faithfulness.toFixed(1)} s faithfulness, ${t.randomization.toFixed(1)} s sanity check`,
  );
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
    if (e instanceof ImageError || e instanceof LabelError || e instanceof ModelCardError) {
      console.error(`saliency: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
