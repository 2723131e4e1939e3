/**
 * The report: plots, tables, findings and the site builder. The site tests execute the two
 * fixture notebooks (tests/fixtures/notebooks/site/) on the real Deno kernel; one of them
 * fails on purpose.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as dfd from "danfojs-node";
import { PROJECT_ROOT } from "../lib/config.ts";
import { run as reportCli } from "../lib/cli/report.ts";
import { FINDING_MIME, formatFinding, validateFinding } from "../lib/findings.ts";
import { findingHtml } from "../lib/present/emit.ts";
import { formatNumber } from "../lib/present/format.ts";
import { collectFindings } from "../lib/report/findings.ts";
import { allOutputs, type Notebook, readNotebook } from "../lib/notebook/nbformat.ts";
import { barChart, confusionHeatmap, heatmap, lineChart, scatter } from "../lib/present/plots.ts";
import { renderMarkdown } from "../lib/report/markdown.ts";
import { renderOutput } from "../lib/report/notebook_page.ts";
import { buildReport, discoverNotebooks, selectNotebooks } from "../lib/report/site.ts";
import { pdfPageOrder } from "../lib/report/pdf.ts";
import { notebookJson, pathExists, withTempDir } from "./support.ts";
import { formatCell, tableHtml, tableText } from "../lib/present/tables.ts";

const FIXTURES = join(PROJECT_ROOT, "tests/fixtures/notebooks/site");

/** Text content of every <text> element of an SVG, in order. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

Deno.test("heatmap prints each value, draws one cell per entry, and shows missing as —", () => {
  const svg = heatmap([[0.123, 0.5], [0.75, NaN]], ["r1", "r2"], ["c1", "c2"], {
    title: "T <&>",
    format: 2,
  });
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const texts = svgTexts(svg);
  for (const v of ["0.12", "0.50", "0.75", "—", "T &lt;&amp;&gt;", "r1", "r2", "c1", "c2"]) {
    assert.ok(texts.includes(v), `missing text ${v} in ${texts.join("|")}`);
  }
  // Plot's cell mark: 4 rects in the "cell" group.
  const cellGroup = svg.match(/<g aria-label="cell"[^>]*>(.*?)<\/g>/)?.[1] ?? "";
  assert.equal((cellGroup.match(/<rect/g) ?? []).length, 4);
  assert.ok(!svg.includes("NaN") && !svg.includes("undefined"));
  assert.throws(() => heatmap([[1]], ["a", "b"], ["c"]), /1 rows but 2 row labels/);
});

Deno.test("confusionHeatmap normalises rows to recall", () => {
  // Row sums 10 and 4: recall 7/10 = 0.70, 3/10 = 0.30, 1/4 = 0.25, 3/4 = 0.75.
  const svg = confusionHeatmap([[7, 3], [1, 3]], ["happy", "sad"]);
  const texts = svgTexts(svg);
  for (const v of ["0.70", "0.30", "0.25", "0.75", "predicted", "true"]) {
    assert.ok(texts.includes(v), v);
  }
  const empty = confusionHeatmap([[0, 0], [2, 2]], ["a", "b"]);
  assert.equal(svgTexts(empty).filter((t) => t === "—").length, 2);
  const counts = confusionHeatmap([[7, 3], [1, 3]], ["happy", "sad"], { normalize: "counts" });
  for (const v of ["7", "3", "1"]) assert.ok(svgTexts(counts).includes(v), v);
});

Deno.test("bar, scatter and line charts render standalone SVG with values and legends", () => {
  const bars = barChart([
    { label: "angry", value: 0.5, lo: 0.4, hi: 0.6, group: "m1" },
    { label: "angry", value: 0.25, group: "m2" },
  ], { title: "F1" });
  const t = svgTexts(bars);
  for (const v of ["0.50", "0.25", "m1", "m2", "angry", "F1"]) assert.ok(t.includes(v), v);
  const sc = scatter([{ x: 0.5, y: 0.25, label: "p" }, { x: NaN, y: 1 }], { diagonal: true });
  assert.equal((sc.match(/<circle/g) ?? []).length, 1, "non-finite point dropped");
  const ln = lineChart([{ name: "s1", points: [{ x: 0, y: 1 }, { x: 1, y: 2 }] }]);
  assert.ok(svgTexts(ln).includes("s1"));
  assert.equal(formatNumber(0.4567, "percent"), "45.7%");
  assert.equal(formatNumber(undefined), "—");
});

Deno.test("tables format danfojs DataFrames and rows with missing values as —", () => {
  const df = new dfd.DataFrame([
    { name: "a", v: 1.23456, n: 3 },
    { name: "b", v: NaN, n: 4 },
    { name: "c", v: 2, n: null },
  ]);
  const html = tableHtml(df, { caption: "Cap", formats: { v: 2 } });
  assert.ok(!/NaN|undefined|null/.test(html), html);
  const cells = [...html.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]);
  assert.deepEqual(cells, ["a", "1.23", "3", "b", "—", "4", "c", "2.00", "—"]);
  assert.match(html, /<caption>Cap<\/caption>/);
  assert.match(html, /<th class="num">v<\/th>/);
  const rowsHtml = tableHtml([{ a: undefined, b: "x" }, { a: 1.5, c: true }]);
  const rowCells = [...rowsHtml.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]);
  assert.deepEqual(rowCells, ["—", "x", "—", "1.500", "—", "yes"]);
  assert.equal(tableText([{ k: "a", v: 1 }]), "k  v\n-  -\na  1");
  assert.equal(formatCell(Infinity), "—");
  assert.equal(formatCell(""), "—");
});

Deno.test("findings: validation names the field; collection reads the custom mime type", () => {
  assert.throws(
    () => validateFinding({ id: "x", label: "X", value: NaN }, "nb: cell 3"),
    /nb: cell 3: finding field "value"/,
  );
  assert.throws(
    () => validateFinding({ id: "x", label: "X", value: 1, ci: [2, 1] }, "w"),
    /field "ci"/,
  );
  const f = {
    id: "k",
    label: "Kappa",
    value: 0.41234,
    ci: [0.3, 0.5] as [number, number],
    digits: 2,
  };
  assert.equal(formatFinding(f), "0.41 [0.30, 0.50]");
  assert.match(findingHtml(f), /data-finding-id="k"/);
  const nb: Notebook = {
    cells: [{
      cell_type: "code",
      source: "",
      metadata: {},
      outputs: [
        { output_type: "stream", name: "stdout", text: "x" },
        { output_type: "display_data", data: { [FINDING_MIME]: f, "text/html": findingHtml(f) } },
      ],
    }],
    metadata: {},
    nbformat: 4,
    nbformat_minor: 5,
  };
  assert.deepEqual(collectFindings(nb, "03-agreement"), [{ ...f, notebook: "03-agreement" }]);
  const bad = structuredClone(nb);
  (bad.cells[0].outputs![1] as { data: Record<string, unknown> }).data[FINDING_MIME] = { id: "" };
  assert.throws(
    () => collectFindings(bad, "03-agreement"),
    /03-agreement: cell 1: finding field "id"/,
  );
});

Deno.test("page rendering: markdown, outputs by mime preference, errors without ANSI codes", () => {
  const md = renderMarkdown("## Cross data\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n*it*");
  assert.match(md, /<h2 id="cross-data">Cross data<\/h2>/);
  assert.match(md, /<td>1<\/td>/);
  assert.match(md, /<em>it<\/em>/);
  const svgOut = renderOutput({
    output_type: "display_data",
    data: {
      "image/svg+xml": '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>',
      "text/plain": "f",
    },
  });
  assert.equal(
    svgOut,
    '<figure class="output figure"><svg xmlns="http://www.w3.org/2000/svg"></svg></figure>',
  );
  const png = renderOutput({
    output_type: "display_data",
    data: { "image/png": "iVBORw0=\n", "text/plain": "pic" },
  });
  assert.match(png, /<img src="data:image\/png;base64,iVBORw0=" alt="pic">/);
  const err = renderOutput({
    output_type: "error",
    ename: "TypeError",
    evalue: "x <is> undefined",
    traceback: ["\u001b[31mTypeError\u001b[0m: x", "    at <anonymous>:1:1"],
  });
  assert.ok(!err.includes("\u001b"));
  assert.match(err, /<strong>TypeError: x &lt;is&gt; undefined<\/strong>/);
  const text = renderOutput({ output_type: "stream", name: "stdout", text: ["a<b\n", "c"] });
  assert.equal(text, '<pre class="output stream">a&lt;b\nc</pre>');
});

Deno.test("notebook discovery picks NN-*.ipynb in order; selection errors name the choices", async () => {
  const all = await discoverNotebooks(FIXTURES);
  assert.deepEqual(all.map((n) => n.slug), ["01-figures", "02-broken"]);
  assert.deepEqual(selectNotebooks(all, ["02"]).map((n) => n.slug), ["02-broken"]);
  assert.deepEqual(selectNotebooks(all, ["01-figures.ipynb"]).map((n) => n.slug), ["01-figures"]);
  assert.throws(
    () => selectNotebooks(all, ["07"]),
    /no notebook matches "07" \(have: 01-figures, 02-broken\)/,
  );
  assert.equal(
    await reportCli(["--notebooks", FIXTURES, "--notebook", "07", "--out", "/nonexistent/x"]),
    2,
  );
  assert.equal(await reportCli(["--bogus"]), 2);
});

Deno.test("site: built from real runs; failing notebook shows its error; one can be rebuilt", async () => {
  const out = await Deno.makeTempDir({ prefix: "ferkit-site-test-" });
  try {
    const code = await reportCli(["--notebooks", FIXTURES, "--out", out, "--cell-timeout", "120"]);
    assert.equal(code, 1, "a failing notebook makes the command exit non-zero");

    const index = await Deno.readTextFile(join(out, "index.html"));
    // Independent computation of the fixture's finding: xs = [3,1,4,1,5,9,2,6].
    const xs = [3, 1, 4, 1, 5, 9, 2, 6];
    let sum = 0;
    for (const x of xs) sum += x;
    const mean = sum / xs.length; // 3.875
    let ss = 0;
    for (const x of xs) ss += (x - mean) * (x - mean); // 52.875
    const half = 1.96 * Math.sqrt(ss / (xs.length - 1)) / Math.sqrt(xs.length);
    const expected = `${mean.toFixed(3)} [${(mean - half).toFixed(3)}, ${
      (mean + half).toFixed(3)
    }]`;
    assert.equal(expected, "3.875 [1.970, 5.780]");
    const row = index.match(/<tr data-finding-id="fixture\.mean">(.*?)<\/tr>/)?.[1] ?? "";
    assert.ok(row.includes(expected), row);
    assert.ok(row.includes('href="01-figures.html#finding-fixture.mean"'), row);
    assert.match(index, /<tr data-finding-id="fixture\.max">.*<td class="num">9<\/td>/);
    assert.match(index, /<tr data-finding-id="fixture\.missing">.*<td class="num missing">—<\/td>/);
    // Every finding of the group comes from one notebook: the header links to its page.
    assert.match(
      index,
      /<tr class="group"><th colspan="4">Fixture group <a class="group-notebook" href="01-figures.html">01-figures<\/a><\/th><\/tr>/,
    );
    // The scorecard opens the index (before the findings); without claim findings every claim
    // is "not testable here", and the not-reproduced page lists them.
    assert.ok(index.indexOf('id="scorecard"') < index.indexOf('id="key-findings"'));
    assert.match(
      index,
      /<tr data-claim-id="tao-neutral-weakness" class="verdict-not-testable-here">/,
    );
    const notRep = await Deno.readTextFile(join(out, "not-reproduced.html"));
    assert.match(notRep, /<li data-claim-id="benchmark-rafdb-lowest">/);
    // Provenance: commit, versions, the emitted dataset hash, timings.
    const head = new TextDecoder().decode(
      (await new Deno.Command("git", {
        args: ["rev-parse", "HEAD"],
        cwd: PROJECT_ROOT,
        stdout: "piped",
      }).output())
        .stdout,
    ).trim();
    assert.ok(index.includes(`<code>${head}</code>`), "kit commit shown");
    assert.ok(index.includes(Deno.version.deno));
    assert.match(index, /onnxruntime-node<\/dt><dd>\d+\.\d+\.\d+/);
    const xsHash = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(xs.join(",")))),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    assert.ok(index.includes(xsHash), "dataset hash emitted by the notebook");
    assert.match(index, /<tr class="state-failed"><td><code>02-broken<\/code>/);
    // Offline: no network references.
    for (const page of ["index.html", "01-figures.html", "02-broken.html"]) {
      const html = await Deno.readTextFile(join(out, page));
      assert.ok(!/(src|href)="(https?:)?\/\//.test(html), `${page} references the network`);
      assert.ok(!/@import|url\(http/.test(html));
    }

    const page1 = await Deno.readTextFile(join(out, "01-figures.html"));
    const nb1 = await readNotebook(join(out, "notebooks/01-figures.ipynb"));
    const svgOutputs = allOutputs(nb1).filter(({ output }) =>
      output.output_type !== "stream" && output.output_type !== "error" &&
      "image/svg+xml" in output.data
    ).length;
    assert.equal(svgOutputs, 3);
    assert.equal((page1.match(/<figure class="output figure"><svg/g) ?? []).length, svgOutputs);
    const codeCells = nb1.cells.filter((c) =>
      c.cell_type === "code"
    ).length;
    assert.equal((page1.match(/<details class="code">/g) ?? []).length, codeCells);
    assert.match(page1, /<h1 id="figures-fixture">Figures fixture<\/h1>/);
    const tables = page1.match(/<table class="ferkit-table">.*?<\/table>/gs) ?? [];
    assert.equal(tables.length, 1);
    assert.ok(!/NaN|undefined/.test(tables[0]), tables[0]);
    assert.match(tables[0], /<td class="num">1\.235<\/td>/);

    const page2 = await Deno.readTextFile(join(out, "02-broken.html"));
    assert.match(page2, /class="banner failed"/);
    assert.match(page2, /<strong>Error: fixture failure: key b is missing<\/strong>/);
    assert.match(page2, /status-skipped/);
    assert.equal(
      (page2.match(/<figure class="output figure"><svg/g) ?? []).length,
      1,
      "output before the failure kept",
    );

    // Rebuild only 01, forced (its inputs did not change): 02's executed copy is kept as it
    // was, 01's is new.
    const before2 = await Deno.readTextFile(join(out, "notebooks/02-broken.ipynb"));
    const stamp1 = (nb1.metadata.ferkit as { executedAt: string }).executedAt;
    const lines: string[] = [];
    const res = await buildReport({
      notebooksDir: FIXTURES,
      outDir: out,
      only: ["01"],
      rerun: true,
      log: (l) => lines.push(l),
    });
    const why = async () =>
      `${lines.join("\n")}\n${
        JSON.stringify(
          (await readNotebook(join(out, "notebooks/01-figures.ipynb"))).metadata.ferkit,
        )
      }`;
    assert.deepEqual(res.executed, ["01-figures"], await why());
    assert.deepEqual(res.failed, ["02-broken"], await why());
    assert.equal(res.ok, false);
    assert.equal(await Deno.readTextFile(join(out, "notebooks/02-broken.ipynb")), before2);
    const again = await readNotebook(join(out, "notebooks/01-figures.ipynb"));
    assert.notEqual((again.metadata.ferkit as { executedAt: string }).executedAt, stamp1);
    assert.deepEqual(res.findings.map((f) => f.id), [
      "fixture.mean",
      "fixture.max",
      "fixture.missing",
    ]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

/** A notebook of one heading and one code cell. */
function tinyNotebook(title: string): string {
  return notebookJson([{ type: "markdown", src: `# ${title}` }, { type: "code", src: "1 + 1" }]);
}

Deno.test("site: a rebuild drops the page, executed copy and downloads of a removed notebook", async () => {
  await withTempDir("ferkit-site-removed-", async (dir) => {
    const [nbs, out] = [join(dir, "notebooks"), join(dir, "site")];
    await Deno.mkdir(nbs);
    await Deno.writeTextFile(join(nbs, "01-kept.ipynb"), tinyNotebook("Kept"));
    await Deno.writeTextFile(join(nbs, "02-gone.ipynb"), tinyNotebook("Gone"));
    const first = await buildReport({ notebooksDir: nbs, outDir: out, log: () => {} });
    assert.deepEqual(first.executed, ["01-kept", "02-gone"]);
    assert.ok(first.ok, JSON.stringify(first));
    await Deno.mkdir(join(out, "downloads", "02-gone"), { recursive: true });
    await Deno.writeTextFile(join(out, "downloads", "02-gone", "figure-1.svg"), "<svg/>");
    await Deno.writeTextFile(join(out, "03-mine.html"), "<p>a page the kit did not make</p>");
    await Deno.writeTextFile(join(out, "report.pdf"), "%PDF- printed with 02-gone in it");
    assert.deepEqual(await pdfPageOrder(out), [
      "index.html",
      "01-kept.html",
      "02-gone.html",
      "not-reproduced.html",
      "03-mine.html",
    ]);

    await Deno.remove(join(nbs, "02-gone.ipynb"));
    const lines: string[] = [];
    const second = await buildReport({
      notebooksDir: nbs,
      outDir: out,
      only: ["01"],
      log: (l) => lines.push(l),
    });
    assert.ok(second.ok);
    assert.ok(
      lines.includes("report: removed 02-gone from the site (its notebook is gone)"),
    );
    assert.ok(lines.some((l) => l.startsWith("report: removed report.pdf, which printed them")));
    for (
      const gone of ["02-gone.html", "notebooks/02-gone.ipynb", "downloads/02-gone", "report.pdf"]
    ) {
      assert.equal(await pathExists(join(out, gone)), false, `${gone} left in the site`);
    }
    assert.ok(await pathExists(join(out, "03-mine.html")), "a page the kit did not make is kept");
    assert.deepEqual(await pdfPageOrder(out), [
      "index.html",
      "01-kept.html",
      "not-reproduced.html",
      "03-mine.html",
    ]);
    const index = await Deno.readTextFile(join(out, "index.html"));
    assert.doesNotMatch(index, /02-gone/);
    const summary = JSON.parse(await Deno.readTextFile(join(out, "findings.json")));
    assert.deepEqual(summary.notebooks.map((n: { slug: string }) => n.slug), ["01-kept"]);
  });
});

const NOTEBOOKS = join(PROJECT_ROOT, "notebooks");
const SHARED_DATA = Deno.env.get("FER_DATA");

Deno.test("every notebooks/NN-*.ipynb type-checks (the kernel does not check types)", async () => {
  const all = await discoverNotebooks(NOTEBOOKS);
  assert.ok(all.some((n) => n.slug === "00-datasets"));
  const files = new Map<string, string>(); // temp file -> notebook
  try {
    for (const nb of all) {
      const parsed = await readNotebook(nb.path);
      const code = parsed.cells.filter((c) => c.cell_type === "code")
        .map((c) => Array.isArray(c.source) ? c.source.join("") : c.source).join("\n\n");
      const tmp = join(NOTEBOOKS, `.typecheck-${nb.slug}-${Deno.pid}.ts`);
      await Deno.writeTextFile(tmp, code + "\n");
      files.set(tmp, nb.path);
    }
    // One `deno check` for all notebooks: they share most of lib/.
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", ...files.keys()],
      cwd: PROJECT_ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    let err = new TextDecoder().decode(out.stderr);
    for (const [tmp, path] of files) err = err.replaceAll(tmp, path);
    assert.equal(out.code, 0, `notebook type errors\n${err.slice(0, 4000)}`);
  } finally {
    for (const tmp of files.keys()) await Deno.remove(tmp).catch(() => {});
  }
});

Deno.test("00-datasets without a data root says so, still renders, and emits empty findings", async () => {
  const out = await Deno.makeTempDir({ prefix: "ferkit-nodata-site-" });
  try {
    const res = await buildReport({
      notebooksDir: NOTEBOOKS,
      outDir: out,
      only: ["00"],
      data: join(out, "no-such-data-root"),
      log: () => {},
    });
    assert.deepEqual(res.executed, ["00-datasets"]);
    assert.ok(!res.failed.includes("00-datasets"), "00 must not fail without data");
    const page = await Deno.readTextFile(join(out, "00-datasets.html"));
    assert.match(page, /No datasets found under <code>[^<]*no-such-data-root<\/code>/);
    const fs = res.findings.filter((f) => f.notebook === "00-datasets");
    assert.ok(fs.length > 0 && fs.every((f) => f.value === null), JSON.stringify(fs));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test({
  name: "00-datasets on the shared data: counts match the publishers' numbers",
  ignore: SHARED_DATA === undefined,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "ferkit-data-site-" });
    try {
      const res = await buildReport({
        notebooksDir: NOTEBOOKS,
        outDir: out,
        only: ["00"],
        log: () => {},
      });
      assert.ok(!res.failed.includes("00-datasets"), JSON.stringify(res));
      const byId = new Map(res.findings.map((f) => [f.id, f]));
      // FER2013 Training counts published in the data README: happy 7191, disgust 440.
      assert.equal(byId.get("datasets.imbalance.fer2013")?.value, 7191 / 440);
      const page = await Deno.readTextFile(join(out, "00-datasets.html"));
      const agree = byId.get("datasets.fer2013-vs-ferplus.agreement");
      assert.ok(agree?.value !== null && agree?.ci !== undefined);
      assert.ok(agree!.ci![0] <= agree!.value! && agree!.value! <= agree!.ci![1]);
      assert.ok(agree!.value! > 0.4 && agree!.value! < 0.95, String(agree!.value));
      // One montage per dataset with its faces decoded at run time (an embedded JPEG each).
      assert.equal((page.match(/ href="data:image\/jpeg;base64,/g) ?? []).length, 4);
      const nb = await readNotebook(join(out, "notebooks/00-datasets.ipynb"));
      const errors = allOutputs(nb).filter(({ output }) => output.output_type === "error");
      assert.equal(errors.length, 0);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
