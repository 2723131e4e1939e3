/** `deno task kit metrics <preds.csv> [--json] [--ci N] [--seed N]`: metrics of a predictions file. */
import { flag, intFlag, numFlag, parseArgs, str, UsageError, usageExit } from "./args.ts";
import { readPredictions } from "../predictions.ts";
import { type Emotion, normalizeLabel } from "../taxonomy.ts";
import { formatSummary, summarizePredictions } from "../metrics/summary.ts";

/** One-line description for the command list. */
export const summary = "metrics of a predictions CSV (accuracy, F1, kappa, ECE, bootstrap CIs)";

const HELP = `usage: deno task kit metrics <preds.csv> [options]

Reads a predictions CSV (id,label,pred,p_<class>...) and prints accuracy, balanced accuracy,
macro and weighted F1, Cohen's kappa, ECE, NLL, Brier, per-class precision/recall/F1/support
and the confusion matrix (scikit-learn's definitions, zero_division=0).

options:
  --json            print JSON instead of tables
  --ci <resamples>  percentile bootstrap intervals with this many resamples (e.g. 1000)
  --seed <n>        bootstrap seed, 0..2^32-1 (default 0)
  --level <x>       interval level (default 0.95)
  --bins <n>        ECE bins (default 15)
  --labels <a,b,..> classes to report, in order (default: classes in labels or predictions)
  -h, --help        this help`;

/** Runs the command; returns the exit code (2 for a bad command line, 1 for bad input). */
export async function run(args: string[]): Promise<number> {
  let file: string;
  let opts: Parameters<typeof summarizePredictions>[1];
  let json: boolean;
  try {
    const p = parseArgs(args, {
      json: { type: "boolean" },
      ci: { type: "string" },
      seed: { type: "string" },
      level: { type: "string" },
      bins: { type: "string" },
      labels: { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    if (p.positionals.length !== 1) throw new UsageError("expected one predictions CSV file");
    file = p.positionals[0];
    json = flag(p, "json");
    const level = numFlag(p, "level", { min: 0, max: 1, open: true });
    const seed = intFlag(p, "seed", 0);
    if (seed !== undefined && seed >= 2 ** 32) throw new UsageError("--seed must be below 2^32");
    const labelsText = str(p, "labels");
    let labels: Emotion[] | undefined;
    if (labelsText !== undefined) {
      labels = labelsText.split(",").map((s) => {
        try {
          return normalizeLabel(s, { file: "--labels" });
        } catch (e) {
          throw new UsageError(e instanceof Error ? e.message : String(e));
        }
      });
    }
    opts = {
      ci: intFlag(p, "ci", 0),
      seed,
      level,
      bins: intFlag(p, "bins", 1),
      labels,
    };
  } catch (e) {
    return usageExit(e, HELP);
  }
  try {
    const table = await readPredictions(file);
    const s = summarizePredictions(table, opts);
    console.log(json ? JSON.stringify(s, null, 2) : `${file}\n\n${formatSummary(s)}`);
    return 0;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      console.error(`metrics: no such file: ${file}`);
      return 1;
    }
    console.error(`metrics: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await run(Deno.args));
