/**
 * `deno task kit cross --backbone <model-id> --datasets fer2013,ferplus,expw,ckplus`: the
 * trained-on-A / tested-on-B matrix of linear probes on a frozen backbone's embeddings.
 */
import { resolve } from "node:path";
import {
  choiceFlag,
  flag,
  intFlag,
  noPositionals,
  numFlag,
  parseArgs,
  type ParsedArgs,
  required,
  shardOption,
  str,
  UsageError,
  usageExit,
} from "./args.ts";
import {
  type CrossResult,
  type CrossSettings,
  DEFAULT_MAX_TRAIN,
  DEFAULT_SEED,
  embedShard,
  parsePartSpec,
  type PartSpec,
  runCross,
} from "../probe/cross.ts";
import { crossMarkdown, recordMarkdown } from "./cross_markdown.ts";
import { writeFileAtomic } from "../fsutil.ts";
import { DEFAULT_LAMBDA } from "../probe/mod.ts";

export const summary = "trained-on-A / tested-on-B matrix of linear probes on a backbone";

/** Flags shared by `cross` and `probe`. */
export const SETTINGS_OPTIONS = {
  "max-train": { type: "string" },
  "max-test": { type: "string" },
  seed: { type: "string" },
  lambda: { type: "string" },
  "class-weight": { type: "string" },
  data: { type: "string" },
  "batch-size": { type: "string" },
  "no-cache": { type: "boolean" },
  "cache-dir": { type: "string" },
  shard: { type: "string" },
  quiet: { type: "boolean" },
  json: { type: "boolean" },
  out: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Help text for the shared flags. */
export const SETTINGS_HELP =
  `  --max-train N       cap each training part at N items, seeded stratified subsample
                      (default ${DEFAULT_MAX_TRAIN}; 0 = all). Embedding extraction is the cost.
  --max-test N        cap each test part likewise (default 0 = whole test part)
  --seed S            subsample seed (default ${DEFAULT_SEED})
  --lambda L          probe L2 strength on the mean-loss scale (default ${DEFAULT_LAMBDA};
                      scikit-learn C = 1 / (L * n_train))
  --class-weight W    balanced (default) or none
  --data DIR          data root (default FER_DATA, else data/raw)
  --batch-size N      images per engine run (default 32)
  --no-cache          do not read or write the embedding cache
  --cache-dir DIR     embedding cache folder (default: $FER_CACHE/embeddings)
  --shard i/N         only the embedding step, for shard i of N (images by content hash), into
                      the cache; no probe. Merge the shards' --cache-dir with \`kit cache merge\`,
                      then run without --shard (see docs/scale.md)
  --quiet             no progress lines
  --json              print the result as JSON
  --out FILE          also write the JSON to FILE`;

/** CrossSettings from the shared flags; UsageError on a bad value. */
export function settingsFromArgs(p: ParsedArgs): CrossSettings {
  const lambda = numFlag(p, "lambda", { min: 0 });
  const cw = choiceFlag(p, "class-weight", ["balanced", "none"] as const);
  const data = str(p, "data");
  const cacheDir = str(p, "cache-dir");
  if (cacheDir !== undefined && flag(p, "no-cache")) {
    throw new UsageError("--cache-dir and --no-cache contradict each other");
  }
  return {
    maxTrain: intFlag(p, "max-train", 0),
    maxTest: intFlag(p, "max-test", 0),
    seed: intFlag(p, "seed", 0),
    lambda,
    classWeight: cw,
    dataRoot: data === undefined ? undefined : resolve(data),
    batchSize: intFlag(p, "batch-size", 1),
    cache: !flag(p, "no-cache"),
    cacheDir: cacheDir === undefined ? undefined : resolve(cacheDir),
    progress: !flag(p, "quiet"),
  };
}

/**
 * With --shard: the embedding step of that shard alone (lib/probe/cross.ts embedShard), a line per part;
 * undefined without --shard.
 */
export async function runShardStep(
  p: ParsedArgs,
  backbone: string,
  trainParts: readonly PartSpec[],
  testParts: readonly PartSpec[],
): Promise<number | undefined> {
  const shard = shardOption(p);
  if (shard === undefined) return undefined;
  if (flag(p, "no-cache")) throw new UsageError("--shard fills the cache: drop --no-cache");
  const parts = await embedShard(backbone, trainParts, testParts, shard, settingsFromArgs(p));
  for (const r of parts) {
    console.log(
      `${backbone} ${r.part}, shard ${shard.index}/${shard.count}: ${r.inShard} of ${r.items} ` +
        `items; ${r.cached} from cache, ${r.computed} computed, ${r.unreadable} unreadable`,
    );
  }
  return 0;
}

/** The result as pretty JSON (with a final newline), also written to --out FILE when given. */
export async function resultJson(p: ParsedArgs, result: CrossResult): Promise<string> {
  const json = JSON.stringify(result, null, 2) + "\n";
  const out = str(p, "out");
  if (out !== undefined) await writeFileAtomic(out, json);
  return json;
}

const HELP = `usage: deno task kit cross --backbone <model-id> --datasets a,b,... [options]

Trains one linear probe per dataset's training part on the backbone's embeddings (the card's
"embedding" tensor) and tests each on every dataset's test part. Splits: fer2013 / ferplus
Training -> train, PrivateTest -> test; expw and ckplus from the kit's saved splits.

  --backbone ID       registered model id (models/<id>.json) or a card path
  --datasets LIST     comma-separated dataset names (default fer2013,ferplus,expw,ckplus)
  --record FILE.md    write the matrices as this backbone's section of FILE.md
${SETTINGS_HELP}

Label rule and method: docs/probes.md.`;

export async function run(args: string[]): Promise<number> {
  try {
    const p = parseArgs(args, {
      ...SETTINGS_OPTIONS,
      backbone: { type: "string" },
      datasets: { type: "string" },
      record: { type: "string" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    noPositionals(p);
    const backbone = required(p, "backbone");
    const names = (str(p, "datasets") ?? "fer2013,ferplus,expw,ckplus")
      .split(",").map((s) => s.trim()).filter((s) => s !== "");
    if (names.length === 0) throw new UsageError("--datasets lists no dataset");
    for (const n of names) {
      if (n.includes(":")) {
        throw new UsageError(
          `--datasets takes dataset names ("${n}" names a split; use \`kit probe\` for one part)`,
        );
      }
    }
    const trainParts = names.map((n) => parsePartSpec(n, "train"));
    const testParts = names.map((n) => parsePartSpec(n, "test"));
    const step = await runShardStep(p, backbone, trainParts, testParts);
    if (step !== undefined) return step;
    const settings = settingsFromArgs(p);
    const result = await runCross(backbone, trainParts, testParts, settings);
    const json = await resultJson(p, result);
    const record = str(p, "record");
    if (record !== undefined) {
      await recordMarkdown(record, result, `deno task kit cross ${args.join(" ")}`);
      if (!flag(p, "quiet")) console.error(`recorded in ${record}`);
    }
    if (flag(p, "json")) console.log(json.trimEnd());
    else console.log(crossMarkdown(result).trimEnd());
    return 0;
  } catch (e) {
    return usageExit(e, HELP);
  }
}
