/**
 * `deno task kit doctor [--json] [--data DIR]`: what this machine can run — Deno and onnxruntime
 * versions, each execution provider (a real session) with the reason when it does not load, the
 * data root and datasets, models and face detectors, Jupyter and Chromium (lib/doctor.ts).
 * Exit code 0, or 1 when not even the cpu provider runs; 2 for a bad command line.
 */
import { flag, noPositionals, parseArgs, str, usageExit } from "./args.ts";
import { formatDoctor, runDoctor } from "../doctor.ts";

export const summary = "check this machine: providers (cpu, webgpu, cuda), data, models, tools";

const HELP = `usage: deno task kit doctor [options]

  --json        print the report as JSON
  --data DIR    data root to look at (default: $FER_DATA, else data/raw)
  -h, --help    this help

Each provider is checked by opening a real session; an unavailable one says why
(docs/gpu.md gives the WebGPU and CUDA routes).`;

/** Runs `kit doctor`; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  try {
    const p = parseArgs(args, {
      json: { type: "boolean" },
      data: { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    noPositionals(p);
    const report = await runDoctor({ data: str(p, "data") });
    if (flag(p, "json")) console.log(JSON.stringify(report, null, 2));
    else for (const line of formatDoctor(report)) console.log(line);
    return report.providers.find((x) => x.provider === "cpu")?.status === "ok" ? 0 : 1;
  } catch (e) {
    return usageExit(e, HELP, "doctor: ");
  }
}
