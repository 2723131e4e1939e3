/**
 * `deno task report [--notebook NN] [--data DIR] [--out DIR]`: execute the notebooks on the
 * real Deno Jupyter kernel and build the static site under report/site/.
 * Exit code: 0 when every notebook ran, 1 when one failed (its page shows the error), 2 for a
 * bad command line.
 */
import { flag, parseArgs, str, UsageError } from "./args.ts";
import { buildReport } from "../report/site.ts";
import { formatDuration } from "../report/html.ts";

export const summary = "execute the notebooks and build the static report site (report/site/)";

const HELP = `usage: deno task report [options]

  --notebook NN     execute only notebook NN (number or name; repeatable); the others are
                    rendered from their last run
  --data DIR        data root for the notebooks (default: $FER_DATA, else data/raw)
  --out DIR         output folder (default: report/site)
  --notebooks DIR   notebooks folder (default: notebooks)
  --cell-timeout S  per-cell time limit in seconds (default 1800)
  --jobs N          notebooks executed at the same time (default 1)
  -h, --help        this help`;

/** Runs the report command; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  try {
    const p = parseArgs(args, {
      notebook: { type: "string", multiple: true },
      data: { type: "string" },
      out: { type: "string" },
      notebooks: { type: "string" },
      "cell-timeout": { type: "string" },
      jobs: { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
    const positive = (name: string): number | undefined => {
      const v = str(p, name);
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) {
        throw new UsageError(`--${name} must be a positive number, got "${v}"`);
      }
      return n;
    };
    const only = (p.values.notebook as string[] | undefined) ?? [];
    let result;
    try {
      result = await buildReport({
        only,
        data: str(p, "data"),
        outDir: str(p, "out"),
        notebooksDir: str(p, "notebooks"),
        cellTimeoutS: positive("cell-timeout"),
        jobs: positive("jobs"),
      });
    } catch (e) {
      if (e instanceof Error && e.message.startsWith("no notebook matches")) {
        throw new UsageError(e.message);
      }
      throw e;
    }
    console.log(
      `report: ${result.indexPath} (${result.executed.length} executed, ${result.findings.length} findings, ` +
        `${formatDuration(result.durationMs)})`,
    );
    if (result.failed.length) {
      console.error(`report: failed notebooks: ${result.failed.join(", ")}`);
    }
    if (result.notBuilt.length) console.error(`report: never built: ${result.notBuilt.join(", ")}`);
    return result.ok ? 0 : 1;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`report: ${e.message}\n\n${HELP}`);
      return 2;
    }
    throw e;
  }
}
