/**
 * `deno task kit probe --backbone <id> --train <dataset>[:<split>] --test <dataset>[:<split>]`:
 * one linear probe on a frozen backbone's embeddings, one test part (one cell of `cross`).
 */
import { flag, noPositionals, parseArgs, required, UsageError, usageExit } from "./args.ts";
import { type CrossResult, parsePartSpec, runCross } from "../probe/cross.ts";
import {
  resultJson,
  runShardStep,
  SETTINGS_HELP,
  SETTINGS_OPTIONS,
  settingsFromArgs,
} from "./cross.ts";

export const summary = "train a linear probe on a backbone's embeddings, test it on one part";

const HELP = `usage: deno task kit probe --backbone <model-id> --train <dataset>[:<split>]
                            --test <dataset>[:<split>] [options]

Fits a multinomial L2 logistic regression (L-BFGS) on the backbone's embeddings of the training
part (default split train) and scores it on the test part (default split test).

  --backbone ID       registered model id (models/<id>.json) or a card path
  --train PART        e.g. fer2013, expw:train
  --test PART         e.g. ckplus, fer2013:val
${SETTINGS_HELP}

Label rule and method: docs/probes.md.`;

function cellText(r: CrossResult): string {
  const c = r.cells[0];
  const p = r.probes[0];
  const f1 = Object.entries(c.per_class_f1)
    .map(([k, v]) => `${k} ${(100 * (v ?? 0)).toFixed(1)}`)
    .join(", ");
  return [
    `backbone ${r.backbone} (${r.tensor}, ${r.dim} floats)`,
    `probe    trained on ${p.train}: ${p.n_train} items, ${p.classes.length} classes, ` +
    `${p.iterations} L-BFGS iterations, gradient norm ${
      p.gradient_norm.toExponential(2)
    } (${p.stop})`,
    `test     ${c.test}: ${c.n_test} items (${c.n_unpredictable} of classes the probe cannot output)`,
    `accuracy ${(100 * c.accuracy).toFixed(1)} %   macro-F1 ${(100 * c.macro_f1).toFixed(1)} %` +
    `   (shared classes: accuracy ${(100 * c.shared.accuracy).toFixed(1)} %, macro-F1 ${
      (100 * c.shared.macro_f1).toFixed(1)
    } %)`,
    `F1       ${f1}`,
    ...(r.unreadable.length ? [`skipped  ${r.unreadable.length} unreadable image(s)`] : []),
  ].join("\n");
}

export async function run(args: string[]): Promise<number> {
  try {
    const p = parseArgs(args, {
      ...SETTINGS_OPTIONS,
      backbone: { type: "string" },
      train: { type: "string" },
      test: { type: "string" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    noPositionals(p);
    const backbone = required(p, "backbone");
    let train, test;
    try {
      train = parsePartSpec(required(p, "train"), "train");
      test = parsePartSpec(required(p, "test"), "test");
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(e instanceof Error ? e.message : String(e));
    }
    const step = await runShardStep(p, backbone, [train], [test]);
    if (step !== undefined) return step;
    const result = await runCross(backbone, [train], [test], settingsFromArgs(p));
    const json = await resultJson(p, result);
    console.log(flag(p, "json") ? json.trimEnd() : cellText(result));
    return 0;
  } catch (e) {
    return usageExit(e, HELP);
  }
}
