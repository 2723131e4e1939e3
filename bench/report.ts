/**
 * Report benchmarks, printed and recorded in bench/results/report.md:
 * 1. Outputs kept: the 40-output fixture executed N times by nbconvert (Debian's
 *    jupyter-nbconvert, default ExecutePreprocessor) and by the kit's executor, outputs found.
 * 2. Report rebuild: `buildReport` on notebooks/ twice in a row with unchanged inputs (the second
 *    run reuses the prediction cache); wall time of each, per notebook, and their ratio.
 *    Target (issue 14): the second, warm run ≤ 8 s. The previous record is kept below the new one.
 *
 * Usage: deno run -A bench/report.ts [--runs N] [--skip-nbconvert] [--skip-build]
 * (FER_DATA selects the data root, as for the report.)
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { dataRoot, PROJECT_ROOT } from "../lib/config.ts";
import { executeNotebook } from "../lib/notebook/executor.ts";
import { allOutputs, readNotebook } from "../lib/notebook/nbformat.ts";
import { buildReport } from "../lib/report/site.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "5" },
    "skip-nbconvert": { type: "boolean", default: false },
    "skip-build": { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
const FORTY = join(PROJECT_ROOT, "tests/fixtures/notebooks/forty_outputs.ipynb");
const lines: string[] = [`# Report benchmarks (${new Date().toISOString()})`, ""];
const say = (s: string) => {
  console.log(s);
  lines.push(s);
};

if (!values["skip-nbconvert"]) {
  const tmp = await Deno.makeTempDir({ prefix: "ferkit-bench-nbconvert-" });
  const nbc: number[] = [];
  const ours: number[] = [];
  const late: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = join(tmp, `nbc${i}.ipynb`);
    const r = await new Deno.Command("/usr/bin/python3", {
      args: [
        "-m",
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        "--ExecutePreprocessor.kernel_name=fer-kit-deno",
        "--output",
        out,
        FORTY,
      ],
      cwd: join(PROJECT_ROOT, "notebooks"),
      stdout: "null",
      stderr: "null",
    }).output();
    nbc.push(r.code === 0 ? allOutputs(await readNotebook(out)).length : NaN);
    const ex = await executeNotebook(FORTY, { outPath: join(tmp, `ours${i}.ipynb`) });
    ours.push(allOutputs(ex.notebook).length);
    late.push(ex.cells.reduce((s, c) => s + (c.lateOutputs ?? 0), 0));
  }
  await Deno.remove(tmp, { recursive: true });
  say(`## Outputs kept, 40-output fixture, ${runs} runs each`);
  say("");
  say(`- nbconvert (default): ${nbc.join(", ")} of 40`);
  say(`- fer-kit executor:    ${ours.join(", ")} of 40`);
  say(`- of which arrived after the kernel's idle (kept by the drain): ${late.join(", ")}`);
  say("");
}

if (!values["skip-build"]) {
  const out = await Deno.makeTempDir({ prefix: "ferkit-bench-site-" });
  const times: number[] = [];
  const per: Record<string, number>[] = [];
  for (let i = 0; i < 2; i++) {
    const res = await buildReport({ outDir: out, log: () => {} });
    times.push(res.durationMs / 1000);
    const row: Record<string, number> = {};
    for (const slug of res.executed) {
      const nb = await readNotebook(join(out, "notebooks", `${slug}.ipynb`));
      row[slug] = ((nb.metadata.ferkit as { durationMs?: number }).durationMs ?? NaN) / 1000;
    }
    per.push(row);
    if (!res.ok) say(`(run ${i + 1}: failed notebooks: ${res.failed.join(", ")})`);
  }
  await Deno.remove(out, { recursive: true });
  say(`## Report build on notebooks/ (data root ${dataRoot()}), unchanged inputs`);
  say("");
  say(`| notebook | first run (s) | second run (s) |`);
  say(`|---|---:|---:|`);
  for (const slug of Object.keys(per[0])) {
    say(`| ${slug} | ${per[0][slug].toFixed(1)} | ${(per[1][slug] ?? NaN).toFixed(1)} |`);
  }
  say(`| **whole site** | ${times[0].toFixed(1)} | ${times[1].toFixed(1)} |`);
  say("");
  say(
    `second / first = ${(times[1] / times[0]).toFixed(2)}; target: second (warm) run ≤ 8 s: ` +
      (times[1] <= 8 ? "met" : "NOT met"),
  );
  say("");
  say(
    `Load average during the builds: ${
      Deno.loadavg().map((x) => x.toFixed(1)).join(", ")
    } on ${navigator.hardwareConcurrency} CPUs (the machine is shared with other jobs).`,
  );
}

// Keep the previous record below the new one (before/after).
const file = join(PROJECT_ROOT, "bench/results/report.md");
const previous = await Deno.readTextFile(file).catch(() => "");
if (previous.trim() !== "") {
  const body = previous.split("\n## Previous record")[0].trim().replace(/^# /, "");
  lines.push(
    "",
    "## Previous record",
    "",
    ...body.split("\n").map((l) => l.replace(/^## /, "### ")),
  );
}
await Deno.mkdir(join(PROJECT_ROOT, "bench/results"), { recursive: true });
await Deno.writeTextFile(file, lines.join("\n") + "\n");
