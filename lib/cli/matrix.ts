/**
 * `deno task kit matrix [--arch ARCH] [--json]`: the trained-on × tested-on matrix of the networks
 * the kit trains itself (models with the role `training-matrix`), one table per architecture:
 * accuracy, macro-F1 and accuracy on shared classes, each with a bootstrap interval (clustered
 * for CK+ and ExpW). See lib/matrix.ts.
 */
import { dataRoot } from "../config.ts";
import { matrixMarkdown, trainedMatrix } from "../matrix.ts";
import { SCORING_RULE } from "../studies/scoring.ts";
import { flag, noPositionals, parseArgs, str, UsageError, usageExit } from "./args.ts";

/** One-line description for `deno task kit --help`. */
export const summary = "trained-on x tested-on matrix of the networks the kit trains (per arch)";

const USAGE = `usage: deno task kit matrix [options]

  --arch ARCH     only this architecture (simplecnn, mobilenetv2)
  --json          print JSON: { archs: [{ arch, train, test, cells: [{ model, arch, train, test,
                  accuracy, macro_f1, shared, ci }], inDomain }], bootstrap, ... }
  --data DIR      data root (default: $FER_DATA, else data/raw)
  --resamples N   bootstrap resamples (default 1000)
  --no-cache      do not read or write the prediction cache
  --quiet         no progress lines`;

/** Runs `kit matrix`; exit code 0, 1 (no matrix model or a failed cell), 2 (usage). */
export async function run(args: string[]): Promise<number> {
  let p;
  let resamples: number | undefined;
  try {
    p = parseArgs(args, {
      arch: { type: "string" },
      json: { type: "boolean" },
      data: { type: "string" },
      resamples: { type: "string" },
      "no-cache": { type: "boolean" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
    noPositionals(p);
    const r = str(p, "resamples");
    if (r !== undefined) {
      resamples = Number(r);
      if (!Number.isInteger(resamples) || resamples < 1) {
        throw new UsageError(`--resamples expects an integer >= 1, got "${r}"`);
      }
    }
  } catch (e) {
    return usageExit(e, USAGE);
  }
  if (flag(p, "help")) {
    console.log(USAGE);
    return 0;
  }
  const m = await trainedMatrix({
    dataRoot: dataRoot(str(p, "data")),
    progress: !flag(p, "quiet") && !flag(p, "json"),
    cache: !flag(p, "no-cache"),
    ...(str(p, "arch") !== undefined ? { arch: str(p, "arch") } : {}),
    ...(resamples !== undefined ? { resamples } : {}),
  });
  if (flag(p, "json")) {
    console.log(JSON.stringify({ ...m, scoring_rule: SCORING_RULE }, null, 2));
  } else {
    console.log(matrixMarkdown(m, "accuracy"));
    console.log(matrixMarkdown(m, "macro_f1"));
    for (const a of m.archs) {
      for (const d of a.inDomain) {
        console.log(
          `${a.arch}, tested on ${d.test}: ${d.below} of ${d.of} cross-domain networks below ` +
            "the in-domain one (accuracy)",
        );
      }
    }
    console.log(`\nScoring: ${SCORING_RULE}`);
  }
  for (const x of m.missingModels) console.error(`missing model ${x.id}: ${x.reason}`);
  for (const x of m.missingDatasets) console.error(`missing dataset ${x.id}: ${x.reason}`);
  for (const x of m.failed) console.error(`failed ${x.model} on ${x.dataset}: ${x.reason}`);
  if (m.archs.length === 0) {
    console.error("no trained matrix network is registered (bash models/recipes/train-matrix.sh)");
    return 1;
  }
  return m.failed.length > 0 ? 1 : 0;
}
