/**
 * `deno task kit cache merge|verify`: merge the caches (predictions, embeddings, saliency) of a
 * sharded run into the kit's cache, and verify a cache (see lib/cache_merge.ts and docs/scale.md).
 */
import { resolve } from "node:path";
import { cacheRoot, dataRoot } from "../config.ts";
import { type CacheProblem, mergeCaches, verifyCache } from "../cache_merge.ts";
import { embeddingModelKey } from "../embedding_cache.ts";
import { preprocessKey } from "../preprocess.ts";
import { loadDataset } from "../datasets/mod.ts";
import { sourceTags } from "../datasets/content.ts";
import { loadCard } from "../models/registry.ts";
import { predictionCacheKey } from "../predict.ts";
import { imageKey } from "../prediction_cache.ts";
import type { Split } from "../sample.ts";
import { flag, parseArgs, str, UsageError, usageExit } from "./args.ts";

export const summary =
  "merge the caches of sharded runs (predictions, embeddings, saliency), verify one";

const HELP = `usage: deno task kit cache merge [--into DIR] [--tolerance X] SOURCE...
       deno task kit cache verify [--cache-dir DIR] [--tolerance X]
                                  [--model ID --dataset SPEC [--split S] [--data DIR]
                                   [--card FILE] [--detect D] [--detect-threshold X]
                                   [--embeddings [--tensor NAME]]]

merge    copy the chunk files of each SOURCE into the kit cache DIR (default: $FER_CACHE):
         prediction folders into DIR/predictions, embedding folders into DIR/embeddings, saliency
         folders into DIR/saliency. A SOURCE is a shard's --cache-dir (of \`kit predict\`,
         \`kit probe\`, \`kit cross\` or \`kit saliency\`) or a kit cache root. Everything is verified first: checksums, model keys, entries, and no
         two results for one image that disagree; on any problem nothing is written.
verify   check a cache (default: $FER_CACHE; or a --cache-dir of one kind) the same way; with
         --model and --dataset, also that every image of the dataset (split) has its result, so
         that \`kit predict\` rebuilds the predictions file with 0 images inferred (with
         --embeddings: that every image has its embedding, for \`kit probe\` and \`kit cross\`).

  --tolerance X   largest difference taken as the same result (default 0: equal)
Exit code 1 when a problem is found; every problem names its file.`;

/** Entry point of `kit cache`; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  try {
    const p = parseArgs(args, {
      into: { type: "string" },
      "cache-dir": { type: "string" },
      tolerance: { type: "string" },
      model: { type: "string" },
      card: { type: "string" },
      dataset: { type: "string" },
      split: { type: "string" },
      data: { type: "string" },
      detect: { type: "string" },
      "detect-threshold": { type: "string" },
      embeddings: { type: "boolean" },
      tensor: { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    const [sub, ...rest] = p.positionals;
    const tolText = str(p, "tolerance");
    const tolerance = tolText === undefined ? 0 : Number(tolText);
    if (!(tolerance >= 0)) {
      throw new UsageError(`--tolerance must be a number >= 0, got "${tolText}"`);
    }
    if (sub === "merge") return await merge(rest, str(p, "into"), tolerance);
    if (sub === "verify") {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      return await verify(p, tolerance);
    }
    throw new UsageError(
      sub === undefined ? "missing subcommand (merge or verify)" : `unknown subcommand "${sub}"`,
    );
  } catch (e) {
    if (e instanceof UsageError) return usageExit(e, HELP, "cache: ");
    if (e instanceof Error) {
      console.error(`cache: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

function printProblems(problems: readonly CacheProblem[]): void {
  for (const p of problems.slice(0, 50)) console.error(`  ${p.file}: ${p.problem}`);
  if (problems.length > 50) console.error(`  ... and ${problems.length - 50} more`);
}

async function merge(sources: string[], into: string | undefined, tolerance: number) {
  if (sources.length === 0) throw new UsageError("merge needs at least one SOURCE folder");
  for (const s of sources) {
    if (!(await Deno.stat(s).then((st) => st.isDirectory, () => false))) {
      throw new UsageError(`SOURCE ${s} is not a folder`);
    }
  }
  const target = into === undefined ? cacheRoot() : resolve(into);
  const report = await mergeCaches(sources.map((s) => resolve(s)), target, {
    tolerance,
  });
  if (report.problems.length > 0) {
    console.error(
      `cache merge: ${report.problems.length} problem(s); nothing was written to ${target}:`,
    );
    printProblems(report.problems);
    return 1;
  }
  const images = Object.values(report.images).reduce((a, b) => a + b, 0);
  if (report.stale.length > 0) {
    console.log(`  skipped ${report.stale.length} folder(s) of older cache formats`);
  }
  console.log(
    `cache merge: ${sources.length} source(s) → ${target}: ${report.copied} chunk(s) copied, ` +
      `${report.alreadyPresent} already there; ${report.models} model key(s), ` +
      `${images} image result(s) after the merge`,
  );
  return 0;
}

async function verify(p: ReturnType<typeof parseArgs>, tolerance: number): Promise<number> {
  const root = resolve(str(p, "cache-dir") ?? cacheRoot());
  const modelSpec = str(p, "model");
  const datasetSpec = str(p, "dataset");
  if ((modelSpec === undefined) !== (datasetSpec === undefined)) {
    throw new UsageError("--model and --dataset go together (to check a dataset's coverage)");
  }
  let require: { key: string; images: string[] } | undefined;
  /** Image key → the first sample id with that image, to name missing images. */
  const sampleOf = new Map<string, string>();
  let what = "";
  if (modelSpec !== undefined && datasetSpec !== undefined) {
    const split = str(p, "split");
    if (split !== undefined && !["train", "val", "test"].includes(split)) {
      throw new UsageError(`--split must be train, val or test, got "${split}"`);
    }
    const detect = str(p, "detect");
    const thText = str(p, "detect-threshold");
    const model = await loadCard(modelSpec, str(p, "card"));
    const dataset = await loadDataset(datasetSpec, {
      dataRoot: dataRoot(str(p, "data")),
      split: split as Split | undefined,
    });
    const tags = await sourceTags(dataset.samples.map((s) => s.source));
    dataset.samples.forEach((s, i) => {
      if (tags[i] === "file:missing") return; // no image, no result: predict reports it
      const k = imageKey(tags[i], s.box);
      if (!sampleOf.has(k)) sampleOf.set(k, s.id);
    });
    const tensor = str(p, "tensor") ?? model.card.embedding?.tensor;
    if (flag(p, "embeddings") && tensor === undefined) {
      throw new UsageError(`${model.card.id} declares no embedding tensor; name one (--tensor)`);
    }
    const key = flag(p, "embeddings")
      ? await embeddingModelKey({
        modelSha256: model.sha256,
        preprocess: preprocessKey(model.card),
        tensor: tensor!,
      })
      : await predictionCacheKey(model, detect, thText === undefined ? undefined : Number(thText));
    require = { key, images: [...sampleOf.keys()] };
    what = `; ${model.card.id}${flag(p, "embeddings") ? ` embeddings (${tensor})` : ""} on ` +
      `${dataset.name}${split ? ` (${split})` : ""}: `;
  }
  const report = await verifyCache(root, { tolerance, require });
  const images = Object.values(report.images).reduce((a, b) => a + b, 0);
  const coverage = require === undefined
    ? ""
    : `${what}${require.images.length - report.missing.length} of ` +
      `${require.images.length} images present`;
  const bad = report.problems.length > 0 || report.missing.length > 0;
  const stale = report.stale.length > 0
    ? ` (${report.stale.length} folder(s) of older cache formats not checked)`
    : "";
  const line = `cache verify: ${root}: ${report.models} model key(s), ${report.chunks} chunk(s), ` +
    `${images} image result(s)${stale}, ${report.problems.length} problem(s)${coverage}`;
  if (!bad) {
    console.log(line);
    return 0;
  }
  console.error(line);
  printProblems(report.problems);
  if (report.missing.length > 0) {
    console.error(
      `  missing the results of ${report.missing.length} image(s), e.g. ` +
        report.missing.slice(0, 5).map((k) => sampleOf.get(k) ?? k).join(", "),
    );
  }
  return 1;
}

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
