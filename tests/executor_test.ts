/**
 * The notebook executor keeps every output of the real Deno kernel: the 40-output fixture is
 * executed 10 times and all 40 outputs, each tagged `out-NN`, are found every time, in order
 * and with the output type the fixture's code produces. Also: errors, timeouts, skipped cells,
 * environment and working directory.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PROJECT_ROOT } from "../lib/config.ts";
import { executeNotebook } from "../lib/notebook/executor.ts";
import { allOutputs, type CellOutput, joinText, type Notebook } from "../lib/notebook/nbformat.ts";
import { notebookJson } from "./support.ts";

const FORTY = join(PROJECT_ROOT, "tests/fixtures/notebooks/forty_outputs.ipynb");

/** Output kinds the fixture's code produces, cell by cell, in emission order (see fixture). */
const EXPECTED_KINDS: string[][] = [
  ["stream", "display_data", "display_data", "execute_result"],
  ["display_data", "stream", "display_data", "execute_result"],
  ["display_data", "stream", "display_data", "execute_result"],
  ["stream", "display_data", "display_data", "execute_result"],
  ["display_data", "display_data", "stream", "execute_result"],
];

function outputText(o: CellOutput): string {
  switch (o.output_type) {
    case "stream":
      return joinText(o.text);
    case "error":
      return `${o.ename}: ${o.evalue}`;
    default:
      return Object.values(o.data).map((v) =>
        typeof v === "string" || Array.isArray(v) ? joinText(v) : JSON.stringify(v)
      ).join(" ");
  }
}

/** The `out-NN` tag of each output, in order (one per output: mime bundles repeat it). */
function tagsOf(nb: Notebook): string[] {
  return allOutputs(nb).flatMap((
    { output },
  ) => [...new Set(outputText(output).match(/out-\d\d/g))]);
}

Deno.test("executor keeps all 40 rich outputs in each of 10 runs", async () => {
  const expectedTags = Array.from(
    { length: 40 },
    (_, i) => `out-${String(i + 1).padStart(2, "0")}`,
  );
  const late: number[] = [];
  for (let run = 0; run < 10; run++) {
    const ex = await executeNotebook(FORTY, { cellTimeoutS: 60 });
    assert.equal(ex.ok, true, `run ${run}: ${JSON.stringify(ex.error)}`);
    const outputs = allOutputs(ex.notebook);
    assert.equal(outputs.length, 40, `run ${run}: found ${outputs.length} outputs`);
    assert.deepEqual(tagsOf(ex.notebook), expectedTags, `run ${run}: tags out of order or missing`);
    const codeCells = ex.notebook.cells.filter((c) => c.cell_type === "code");
    assert.equal(codeCells.length, 10);
    codeCells.forEach((c, k) => {
      assert.deepEqual(
        (c.outputs ?? []).map((o) => o.output_type),
        EXPECTED_KINDS[k % 5],
        `run ${run}, code cell ${k}`,
      );
      assert.equal(c.execution_count, k + 1);
      assert.equal(c.metadata.ferkit?.status, "ok");
    });
    // Mime types survive: the SVG of cell 1 and the PNG of cell 2.
    const svg = codeCells[0].outputs?.[2];
    assert.ok(
      svg?.output_type === "display_data" && joinText(svg.data["image/svg+xml"]).includes("out-03"),
    );
    const png = codeCells[1].outputs?.[2];
    assert.ok(
      png?.output_type === "display_data" && joinText(png.data["image/png"]).startsWith("iVBOR"),
    );
    late.push(ex.cells.reduce((s, c) => s + (c.lateOutputs ?? 0), 0));
    await Deno.remove(ex.path);
  }
  console.log(`late outputs per run (kept): ${late.join(", ")}`);
});

Deno.test("executor records a failing cell, skips the rest, and passes cwd and FER_DATA", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferkit-exec-test-" });
  try {
    const nbPath = join(dir, "fail.ipynb");
    await Deno.writeTextFile(
      nbPath,
      notebookJson([
        { type: "markdown", src: "# A notebook that fails" },
        {
          type: "code",
          src:
            'console.log("cwd=" + Deno.cwd());\nconsole.log("data=" + Deno.env.get("FER_DATA"));',
        },
        { type: "code", src: 'const x = 6 * 7;\nthrow new RangeError("boom-" + x);' },
        { type: "code", src: 'console.log("never");' },
      ]),
    );
    const ex = await executeNotebook(nbPath, {
      cwd: dir,
      data: "/nonexistent/ferdata",
      cellTimeoutS: 60,
    });
    assert.equal(ex.ok, false);
    assert.deepEqual(ex.cells.map((c) => c.status), ["markdown", "ok", "error", "skipped"]);
    const text = joinText((ex.notebook.cells[1].outputs?.[0] as { text: string }).text);
    assert.equal(text, `cwd=${await Deno.realPath(dir)}\ndata=/nonexistent/ferdata\n`);
    assert.equal(ex.error?.cell, 2);
    assert.equal(ex.error?.ename, "RangeError");
    assert.match(ex.error?.evalue ?? "", /boom-42/);
    const errOut = ex.notebook.cells[2].outputs?.find((o) => o.output_type === "error");
    assert.ok(errOut !== undefined, "error output kept in the cell");
    assert.deepEqual(ex.notebook.cells[3].outputs, []);
    assert.equal(ex.notebook.cells[3].metadata.ferkit?.status, "skipped");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("executor stops a cell at its time limit and reports it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferkit-exec-test-" });
  try {
    const nbPath = join(dir, "slow.ipynb");
    await Deno.writeTextFile(
      nbPath,
      notebookJson([
        { type: "code", src: 'console.log("before");' },
        { type: "code", src: "await new Promise((r) => setTimeout(r, 120000));" },
        { type: "code", src: 'console.log("after");' },
      ]),
    );
    const t0 = performance.now();
    const ex = await executeNotebook(nbPath, { cwd: dir, cellTimeoutS: 3 });
    const seconds = (performance.now() - t0) / 1000;
    assert.ok(seconds < 60, `took ${seconds.toFixed(1)} s`);
    assert.equal(ex.ok, false);
    assert.deepEqual(ex.cells.map((c) => c.status), ["ok", "timeout", "skipped"]);
    assert.equal(ex.error?.ename, "CellTimeoutError");
    assert.equal(ex.error?.evalue, "cell 2 did not finish within 3 s");
    assert.equal(ex.error?.cell, 1);
    assert.equal(
      joinText((ex.notebook.cells[0].outputs?.[0] as { text: string }).text),
      "before\n",
    );
    assert.ok(
      ex.cells[1].durationMs >= 3000 && ex.cells[1].durationMs < 20000,
      String(ex.cells[1].durationMs),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("executor names the file when the notebook is malformed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferkit-exec-test-" });
  try {
    const p = join(dir, "bad.ipynb");
    await Deno.writeTextFile(p, '{"cells": [{"cell_type": "code", "source": 3}], "nbformat": 4}');
    await assert.rejects(executeNotebook(p), (e: Error) => e.message.includes(`${p}: cell 1`));
    await Deno.writeTextFile(p, "{not json");
    await assert.rejects(
      executeNotebook(p),
      (e: Error) => e.message.startsWith(`${p}: not valid JSON`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("executor starts the kernel again when a start fails, and records the failure", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferkit-exec-restart-" });
  const before = Deno.env.get("JUPYTER_PATH");
  try {
    // A real Deno kernel behind a launcher that exits 3 on its first start (a start lost to a
    // loaded machine or a port taken by another process looks the same to the executor).
    const marker = join(dir, "started-once");
    const launcher = join(dir, "flaky-kernel.sh");
    await Deno.writeTextFile(
      launcher,
      `#!/bin/sh\nif [ ! -e '${marker}' ]; then touch '${marker}'; exit 3; fi\n` +
        `exec '${Deno.execPath()}' jupyter --kernel --conn "$1"\n`,
    );
    await Deno.chmod(launcher, 0o755);
    const spec = join(dir, "jupyter", "kernels", "flaky-deno", "kernel.json");
    await Deno.mkdir(join(spec, ".."), { recursive: true });
    await Deno.writeTextFile(
      spec,
      JSON.stringify({
        argv: [launcher, "{connection_file}"],
        display_name: "flaky",
        language: "typescript",
      }),
    );
    Deno.env.set("JUPYTER_PATH", join(dir, "jupyter"));
    const nbPath = join(dir, "one.ipynb");
    await Deno.writeTextFile(nbPath, notebookJson([{ type: "code", src: "console.log(6 * 7);" }]));
    const ex = await executeNotebook(nbPath, { kernel: "flaky-deno", cwd: dir, cellTimeoutS: 60 });
    assert.equal(ex.ok, true, JSON.stringify(ex.error));
    assert.equal(joinText((ex.notebook.cells[0].outputs?.[0] as { text: string }).text), "42\n");
    assert.equal(ex.kernel.implementation, "Deno kernel");
    assert.equal(ex.kernel.startFailures?.length, 1, JSON.stringify(ex.kernel));
    assert.match(ex.kernel.startFailures?.[0] ?? "", /died|exit/i);
  } finally {
    if (before === undefined) Deno.env.delete("JUPYTER_PATH");
    else Deno.env.set("JUPYTER_PATH", before);
    await Deno.remove(dir, { recursive: true });
  }
});
