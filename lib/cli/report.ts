/**
 * `deno task report [--notebook NN] [--data DIR] [--out DIR] [--rerun]`: execute the notebooks on
 * the real Deno Jupyter kernel (reusing a previous run whose inputs did not change) and build the
 * static site under report/site/.
 * Exit code: 0 when every notebook ran, 1 when one failed (its page shows the error), 2 for a
 * bad command line.
 */
import {
  flag,
  intFlag,
  noPositionals,
  numFlag,
  parseArgs,
  str,
  UsageError,
  usageExit,
} from "./args.ts";
import { join } from "node:path";
import {
  buildReport,
  discoverNotebooks,
  PDF_FILE,
  selectNotebooks,
  SITE_DIR,
} from "../report/site.ts";
import { dataRoot, PROJECT_ROOT } from "../config.ts";
import { whereToGetData } from "../datasets/catalog.ts";
import { findDatasets } from "../datasets/mod.ts";
import { InputError } from "../errors.ts";
import { printSitePdf } from "../report/pdf.ts";
import { formatDuration } from "../report/html.ts";

export const summary = "execute the notebooks and build the static report site (report/site/)";

const HELP = `usage: deno task report [options]

  --notebook NN     execute only notebook NN (number or name; repeatable); the others are
                    rendered from their last run
  --rerun           execute the selected notebooks even when their inputs did not change
                    (by default a notebook whose last run succeeded with the same inputs:
                    notebook, lib/, models, data root files, FER_* settings, versions, is
                    reused without starting a kernel; the log says which input changed)
  --no-reuse        the same as --rerun
  --data DIR        data root for the notebooks (default: $FER_DATA, else data/raw)
  --out DIR         output folder (default: report/site)
  --notebooks DIR   notebooks folder (default: notebooks)
  --cell-timeout S  per-cell time limit in seconds (default 1800)
  --jobs N          notebooks executed at the same time (default 2)
  --pdf             also print the site to one PDF (<out>/report.pdf): headless Chromium,
                    the index first, then the notebooks in order; code folded away
  --pdf-only        print the site already built in <out> to PDF; execute nothing
  --no-prepare      skip the warm-up that fills the prediction cache (every model on every
                    dataset's test split) before the study notebooks run (no warm-up is done
                    with --notebooks, nor when every notebook is reused)
  --allow-missing   build even when no dataset is found under the data root (empty pages);
                    without it, no data is an error listing each dataset and where to get it
  -h, --help        this help`;

/**
 * Fills the prediction cache for every model on every study dataset before any notebook runs,
 * so that a first build from a clean checkout (tens of minutes for DenseNet-121 on 2 cores)
 * happens here, with a progress display, rather than inside a notebook cell's time limit.
 * A warm cache makes this a few seconds of hashing.
 */
async function prepare(data: string | undefined): Promise<void> {
  const t0 = performance.now();
  // Loaded here: onnxruntime and the study modules cost a second to import, for nothing when
  // every notebook is reused.
  const { modelsOnDatasets } = await import("../studies/grid.ts");
  const grid = await modelsOnDatasets({ dataRoot: data, progress: true });
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  console.error(
    `report: predictions ready for ${grid.models.length} models x ${grid.datasets.length} datasets ` +
      `(${grid.cells.length} cells, ${seconds} s)`,
  );
  for (const m of [...grid.missingModels, ...grid.missingDatasets]) {
    console.error(`report: missing ${m.id}: ${m.reason}`);
  }
  for (const f of grid.failed) {
    console.error(`report: ${f.model} on ${f.dataset} failed: ${f.reason}`);
  }
}

/** Print the site in `outDir` to `<outDir>/report.pdf` and say so; false when it could not. */
async function writePdf(outDir: string): Promise<boolean> {
  const t0 = performance.now();
  try {
    const r = await printSitePdf(outDir, join(outDir, PDF_FILE));
    const mb = (r.bytes / 1e6).toFixed(1);
    const took = formatDuration(performance.now() - t0);
    console.log(`report: ${r.pdfPath} (${r.pages.length} pages of the site, ${mb} MB, ${took})`);
    return true;
  } catch (e) {
    console.error(`report: no PDF: ${e instanceof Error ? e.message : String(e)}`);
    return false;
  }
}

/** InputError when no registered dataset is found under `root`: the report would be empty. */
async function requireSomeData(root: string): Promise<void> {
  if ((await findDatasets(root)).length > 0) return;
  throw new InputError(
    `no dataset found under the data root ${root}: the report would have only empty pages`,
    [
      "put one or more datasets there in their publishers' layout (or set --data / FER_DATA):",
      ...whereToGetData(root),
      "or build the empty skeleton with --allow-missing; `kit datasets --check` checks a download",
    ].join("\n"),
  );
}

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
      "no-prepare": { type: "boolean" },
      "allow-missing": { type: "boolean" },
      pdf: { type: "boolean" },
      rerun: { type: "boolean" },
      "no-reuse": { type: "boolean" },
      "pdf-only": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    noPositionals(p);
    const outDir = str(p, "out") ?? SITE_DIR;
    if (flag(p, "pdf-only")) return (await writePdf(outDir)) ? 0 : 1;
    const only = (p.values.notebook as string[] | undefined) ?? [];
    // Every argument is checked before the warm-up, which can take minutes.
    const cellTimeoutS = numFlag(p, "cell-timeout", { min: 0, open: true });
    const jobs = intFlag(p, "jobs", 1);
    const notebooksDir = str(p, "notebooks");
    try {
      selectNotebooks(
        await discoverNotebooks(notebooksDir ?? join(PROJECT_ROOT, "notebooks")),
        only,
      );
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message : String(e));
    }
    if (notebooksDir === undefined && !flag(p, "allow-missing")) {
      await requireSomeData(dataRoot(str(p, "data")));
    }
    // The warm-up serves the kit's own study notebooks; another notebooks folder needs none.
    // buildReport logs every session opened (warm-up, notebook kernels) for the provenance.
    const warm = !flag(p, "no-prepare") && notebooksDir === undefined;
    const result = await buildReport({
      only,
      data: str(p, "data"),
      outDir,
      notebooksDir,
      cellTimeoutS,
      jobs,
      rerun: flag(p, "rerun") || flag(p, "no-reuse"),
      prepare: warm ? () => prepare(str(p, "data")) : undefined,
    });
    console.log(
      `report: ${result.indexPath} (${result.executed.length} executed, ${result.reused.length} reused, ` +
        `${result.findings.length} findings, ` +
        `${formatDuration(result.durationMs)})`,
    );
    if (result.failed.length) {
      console.error(`report: failed notebooks: ${result.failed.join(", ")}`);
    }
    if (result.notBuilt.length) console.error(`report: never built: ${result.notBuilt.join(", ")}`);
    const pdfOk = flag(p, "pdf") ? await writePdf(outDir) : true;
    return result.ok && pdfOk ? 0 : 1;
  } catch (e) {
    return usageExit(e, HELP, "report: ");
  }
}
