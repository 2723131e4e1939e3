/**
 * Report benchmarks, printed and recorded in bench/results/report.md:
 * 1. Outputs kept: the 40-output fixture executed N times by nbconvert (Debian's
 *    jupyter-nbconvert, default ExecutePreprocessor) and by the kit's executor, outputs found.
 * 2. Report rebuild: `./fer-kit report` twice in a row into a new site folder: the first executes
 *    every notebook, the second, with unchanged inputs, reuses them; wall time of each, the
 *    build's time by step, the load, and whether findings.json came out the same.
 *    Target (issue 14): the second, warm run ≤ 8 s.
 * Each run adds a dated section at the end of the results file; earlier records stay.
 *
 * Usage: deno run -A bench/report.ts [--runs N] [--skip-nbconvert] [--skip-build]
 * (FER_DATA selects the data root and FER_CACHE the cache, as for the report.)
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { dataRoot, PROJECT_ROOT } from "../lib/config.ts";
import { executeNotebook } from "../lib/notebook/executor.ts";
import { allOutputs, readNotebook } from "../lib/notebook/nbformat.ts";

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
  // `./fer-kit report` as users run it (the wrapper's checks included), into a new site folder
  // (every notebook executes; the prediction cache is whatever FER_CACHE holds), then again
  // with nothing changed (every notebook should be reused).
  const out = await Deno.makeTempDir({ prefix: "ferkit-bench-site-" });
  const load = () => Deno.loadavg()[0].toFixed(1);
  const runs: { wall: number; load: string; steps: string; summary: string; lines: string[] }[] =
    [];
  const findingsOf = async () => {
    const f = JSON.parse(await Deno.readTextFile(join(out, "findings.json")));
    delete f.kit.generatedAt;
    return JSON.stringify(f);
  };
  const same: string[] = [];
  for (let i = 0; i < 2; i++) {
    const before = load();
    const t0 = performance.now();
    const r = await new Deno.Command(join(PROJECT_ROOT, "fer-kit"), {
      args: ["report", "--out", out],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const wall = (performance.now() - t0) / 1000;
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    const lines = text.split("\n").filter((l) => l.startsWith("report: "));
    runs.push({
      wall,
      load: `${before} → ${load()}`,
      steps: lines.find((l) => l.startsWith("report: time by step: "))?.slice(22) ?? "?",
      summary: lines.find((l) => l.includes("index.html ("))?.replace(/^.*index\.html /, "") ??
        `exit ${r.code}`,
      lines,
    });
    same.push(await findingsOf().catch(() => ""));
  }
  await Deno.remove(out, { recursive: true });
  const per = runs[0].lines.map((l) => l.match(/^report: (\d\d-\S+) ok \(([\d.]+) s\)$/))
    .filter((m) => m !== null).sort((a, b) => a![1].localeCompare(b![1]));
  say(`## Report rebuild with unchanged inputs (data root ${dataRoot()})`);
  say("");
  say("`./fer-kit report --out DIR` twice, one after the other, into a new site folder.");
  say("");
  say("| | first (new site folder) | second (unchanged inputs) |");
  say("|---|---:|---:|");
  say(`| wall, whole command | ${runs[0].wall.toFixed(1)} s | ${runs[1].wall.toFixed(1)} s |`);
  say(`| result | ${runs[0].summary} | ${runs[1].summary} |`);
  say(`| load average (1 min), start → end | ${runs[0].load} | ${runs[1].load} |`);
  say("");
  say(`First run, each notebook: ${per.map((m) => `${m![1]} ${m![2]} s`).join(", ")}.`);
  say("");
  say(`Time by step, first: ${runs[0].steps}.`);
  say("");
  say(`Time by step, second: ${runs[1].steps}.`);
  say("");
  say(
    `findings.json (findings, provenance, providers, scorecard; generation time left out) ` +
      `identical in the two: ${same[0] !== "" && same[0] === same[1] ? "yes" : "NO"}.`,
  );
  say("");
  say(
    `Target (issue 14): warm rebuild ≤ 8 s: ${runs[1].wall <= 8 ? "met" : "NOT met"} ` +
      `(${runs[1].wall.toFixed(1)} s) on ${navigator.hardwareConcurrency} CPUs (the machine is ` +
      "shared with other jobs).",
  );
}

// Add this run as a new dated section at the end; earlier records stay as they are.
const file = join(PROJECT_ROOT, "bench/results/report.md");
const previous = await Deno.readTextFile(file).catch(() => "");
const section = [
  "",
  ...lines.map((l) => l.replace(/^# /, "## ").replace(/^## (?!Report b)/, "### ")),
];
await Deno.mkdir(join(PROJECT_ROOT, "bench/results"), { recursive: true });
await Deno.writeTextFile(file, (previous.trimEnd() + "\n" + section.join("\n")).trim() + "\n");
