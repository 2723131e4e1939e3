/**
 * Publishing aids: figure and table downloads (PNG at 2×, CSV, LaTeX booktabs), references
 * (BibTeX written, parsed back, checked by Debian's bibtool when installed) and the publishing
 * pass over a site. CSV and LaTeX are read back by small parsers written here, independent of
 * the writers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { run as reportCli } from "../lib/cli/report.ts";
import { PROJECT_ROOT } from "../lib/config.ts";
import { exists } from "../lib/fsutil.ts";
import type { ProvenanceRecord } from "../lib/findings.ts";
import { listModels } from "../lib/models/registry.ts";
import { barChart } from "../lib/present/plots.ts";
import { tableHtml } from "../lib/present/tables.ts";
import { bibEscape, BibtexError, formatBibtex, parseBibtex } from "../lib/report/bibtex.ts";
import {
  elementSpans,
  readTable,
  svgToPng,
  tableCsv,
  tableLatex,
} from "../lib/report/downloads.ts";
import { renderPage } from "../lib/report/html.ts";
import { pdfPageOrder } from "../lib/report/pdf.ts";
import { publishSite } from "../lib/report/publish.ts";
import {
  cardsFor,
  DATASET_PAPERS,
  datasetKey,
  modelEntry,
  modelKey,
  PAPERS,
} from "../lib/report/references.ts";

/** RFC 4180 CSV → rows of fields (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += c;
  }
  assert.equal(field, "", "CSV ends with CRLF");
  return rows;
}

/** A booktabs tabular → column spec and rows of cells (LaTeX escapes undone). */
function parseTabular(tex: string): { spec: string; rows: string[][]; rules: string[] } {
  const body = tex.split("\n").filter((l) => !l.startsWith("%")).join("\n");
  const m = body.match(/\\begin\{tabular\}\{([lrc]+)\}([\s\S]*)\\end\{tabular\}/);
  assert.ok(m, "a tabular environment");
  const rules = [...m[2].matchAll(/\\(toprule|midrule|bottomrule)/g)].map((r) => r[1]);
  const rows = m[2].replace(/\\(toprule|midrule|bottomrule)/g, "").split("\\\\")
    .map((r) => r.trim()).filter((r) => r !== "")
    .map((r) =>
      r.split(/(?<!\\)&/).map((c) =>
        c.trim().replace(/^\{\}/, "").replace(
          /\\multicolumn\{\d+\}\{l\}\{(?:\\textit\{)?([^}]*)\}?\}/,
          "$1",
        )
          .replace(/\\([&%_#$])/g, "$1").replace(/\$\\kappa\$/g, "κ").replace(/^---$/, "—")
      )
    );
  return { spec: m[1], rows, rules };
}

const ROWS = [
  { model: "net_a", dataset: "FER+", accuracy: 0.7234, ci: "0.72 [0.70, 0.74]", n: 3573 },
  { model: "net b, large", dataset: "CK+", accuracy: NaN, ci: "—", n: 12 },
  { model: 'say "κ"', dataset: "ExpW 50%", accuracy: 0.5, ci: "0.50 [0.45, 0.55]", n: 0 },
];

Deno.test("a table reads back from its CSV and its LaTeX tabular, intervals and missing kept", () => {
  const html = tableHtml(ROWS, { caption: "Scores & intervals" });
  const t = readTable(html);
  assert.equal(t.caption, "Scores & intervals");
  assert.equal(t.columns, 5);

  const csv = parseCsv(tableCsv(t));
  assert.deepEqual(csv[0], ["model", "dataset", "accuracy", "ci", "n"]);
  assert.deepEqual(csv[1], ["net_a", "FER+", "0.723", "0.72 [0.70, 0.74]", "3573"]);
  assert.deepEqual(csv[2], ["net b, large", "CK+", "", "", "12"], "missing values are empty");
  assert.deepEqual(csv[3], ['say "κ"', "ExpW 50%", "0.500", "0.50 [0.45, 0.55]", "0"]);

  const tex = tableLatex(t, "Table 1 of test");
  assert.match(tex, /^% Table 1 of test\n% Caption: Scores & intervals\n/);
  const p = parseTabular(tex);
  assert.equal(p.spec, "llrrr", "numeric columns, intervals included, right-aligned");
  assert.deepEqual(p.rules, ["toprule", "midrule", "bottomrule"]);
  assert.deepEqual(p.rows[0], ["model", "dataset", "accuracy", "ci", "n"]);
  assert.deepEqual(p.rows[1], ["net_a", "FER+", "0.723", "0.72 [0.70, 0.74]", "3573"]);
  assert.deepEqual(p.rows[2], ["net b, large", "CK+", "—", "—", "12"]);
  assert.deepEqual(p.rows[3], ['say "κ"', "ExpW 50%", "0.500", "0.50 [0.45, 0.55]", "0"]);
  assert.ok(tex.includes("net\\_a") && tex.includes("50\\%") && tex.includes("$\\kappa$"));

  // A group row spanning the table, as the index's findings table has.
  const grouped = readTable(
    `<table><thead><tr><th>Finding</th><th class="num">Value</th></tr></thead><tbody>` +
      `<tr class="group"><th colspan="2">Drops</th></tr>` +
      `<tr><td>Drop A<div class="note">n = 10</div></td><td class="num">[0.1, 0.2]</td></tr>` +
      `</tbody></table>`,
  );
  assert.deepEqual(parseCsv(tableCsv(grouped)), [["Finding", "Value"], ["Drops", ""], [
    "Drop A n = 10",
    "[0.1, 0.2]",
  ]]);
  const gt = tableLatex(grouped);
  assert.match(gt, /\\multicolumn\{2\}\{l\}\{\\textit\{Drops\}\} \\\\/);
  assert.match(gt, /Drop A n = 10 & \{\}\[0\.1, 0\.2\] \\\\/, "a leading [ is protected");
});

Deno.test("elementSpans finds top-level elements only, not escaped or nested ones", () => {
  const html = `<p>&lt;svg&gt;</p><svg a="1"><svg/><g></g></svg><table><tr><td>` +
    `<table><tr><td>x</td></tr></table></td></tr></table><svg/>`;
  const svgs = elementSpans(html, "svg").map((s) => html.slice(s.start, s.end));
  assert.deepEqual(svgs, [`<svg a="1"><svg/><g></g></svg>`, "<svg/>"]);
  const tables = elementSpans(html, "table");
  assert.equal(tables.length, 1);
  assert.ok(html.slice(tables[0].start, tables[0].end).endsWith("</table></td></tr></table>"));
});

/** Pixels darker than mid-grey in a PNG. */
async function darkPixels(png: Uint8Array): Promise<number> {
  const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
  let n = 0;
  for (let i = 0; i < info.width * info.height; i++) if (data[i * info.channels] < 128) n++;
  return n;
}

Deno.test("PNG downloads: 2x the SVG's size, and the SVG's text is drawn in a real font", async () => {
  const svg = barChart([{ label: "fear", value: 0.4 }, { label: "happy", value: 0.9 }], {
    title: "F1",
  });
  const w = Number(svg.match(/width="(\d+)"/)![1]);
  const h = Number(svg.match(/height="(\d+)"/)![1]);
  const meta = await sharp(await svgToPng(svg)).metadata();
  assert.equal(meta.format, "png");
  assert.deepEqual([meta.width, meta.height], [2 * w, 2 * h]);

  // With no usable font, librsvg draws nothing or the same box for every glyph: "iii" and "WWW"
  // would then cover the same area. Real glyphs differ several-fold.
  const text = (s: string) =>
    `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60" ` +
    `font-family="system-ui, sans-serif"><text x="10" y="45" font-size="40">${s}</text></svg>`;
  const thin = await darkPixels(await svgToPng(text("iii")));
  const wide = await darkPixels(await svgToPng(text("WWW")));
  assert.ok(thin > 50, `"iii" drew ${thin} dark pixels`);
  assert.ok(wide > 3 * thin, `"WWW" ${wide} vs "iii" ${thin} dark pixels: glyphs not rendered`);
});

Deno.test("BibTeX: accents and specials escaped; parser reads it back and names bad lines", () => {
  assert.equal(bibEscape("Jamróz & Mühler_50%"), "Jamr{\\'o}z \\& M{\\\"u}hler\\_50\\%");
  const bib = formatBibtex([
    { type: "misc", key: "model:a", fields: { title: "A {b}", note: "x_y", doi: "10.1/a_b" } },
  ]);
  const [e] = parseBibtex(bib);
  assert.equal(e.key, "model:a");
  assert.equal(e.fields.title, "{A \\{b\\}}");
  assert.equal(e.fields.note, "x\\_y");
  assert.equal(e.fields.doi, "10.1/a_b", "identifiers verbatim");
  assert.throws(
    () => parseBibtex("@misc{a,\n title = {x}\n}\n@misc{a, title={y}}"),
    (err) => err instanceof BibtexError && err.line === 4 && /duplicate key "a"/.test(err.message),
  );
  assert.throws(() => parseBibtex("@misc{b,\n title = {x {y\n}\n"), /line 2: unbalanced braces/);
  assert.throws(() => parseBibtex("@misc{c,\n title {x}}"), /line 2: .*expected "=" after title/);
});

const BIBTOOL = "/usr/bin/bibtool";
const hasBibtool = await exists(BIBTOOL);

/** The kit's provenance as a build records it. */
const KIT = {
  commit: "0123456789abcdef0123456789abcdef01234567",
  dirty: false,
  deno: "x",
  v8: "x",
  typescript: "x",
  onnxruntime: null,
  dataRoot: "/data",
  generatedAt: "2026-01-02T03:04:05.000Z",
  providerRequested: "cpu",
  providers: ["cpu (onnxruntime 1.30.0): 2 sessions"],
  predictionProducers: ["cpu (onnxruntime 1.30.0): 1 predictions table"],
};

/** Records as the study notebooks emit them: every registered model, four test splits. */
async function studyRecords(): Promise<ProvenanceRecord[]> {
  const models = await listModels();
  return [
    ...models.map((m, i): ProvenanceRecord => ({
      kind: "model",
      id: m.id,
      sha256: String(i % 10).repeat(64),
      detail: `ONNX ${m.id}.onnx`,
      notebook: "01-cross",
    })),
    ...["fer2013", "ferplus", "ckplus", "expw"].map((d): ProvenanceRecord => ({
      kind: "dataset",
      id: `${d}:test`,
      sha256: "ab".repeat(32),
      detail: "100 faces (folder)",
      notebook: "02-minority",
    })),
    { kind: "dataset", id: "my_faces", sha256: "cd".repeat(32), notebook: "02-minority" },
  ];
}

Deno.test("publishing pass: every figure and table gets its files; pages end with references", async () => {
  const site = await Deno.makeTempDir({ prefix: "ferkit-publish-" });
  try {
    const records = await studyRecords();
    const fig = barChart([{ label: "sad", value: 0.3 }], { title: "Bars" });
    const embedded = await svgToPng(fig, 1);
    const page = (title: string, body: string) =>
      renderPage({ title, css: "assets/report.css", nav: [], body, footer: "" });
    await Deno.writeTextFile(
      join(site, "01-cross.html"),
      page(
        "Cross",
        `<p>Jamróz et al. (2024).</p><figure class="output figure">${fig}</figure>` +
          tableHtml(ROWS) +
          `<figure class="output image"><img src="data:image/png;base64,${
            btoa(String.fromCharCode(...embedded))
          }" alt="x"></figure>`,
      ),
    );
    await Deno.writeTextFile(join(site, "02-minority.html"), page("Minority", "<p>none</p>"));
    await Deno.writeTextFile(join(site, "index.html"), page("Index", tableHtml(ROWS)));
    const kit = KIT;
    const res = await publishSite(site, { records, kit, version: "9.9.9" });
    assert.deepEqual([res.figures, res.tables], [2, 2]);

    const cross = await Deno.readTextFile(join(site, "01-cross.html"));
    for (
      const f of ["figure-1.svg", "figure-1.png", "figure-2.png", "table-1.csv", "table-1.tex"]
    ) {
      assert.ok(cross.includes(`href="downloads/01-cross/${f}"`), f);
      assert.ok(await exists(join(site, "downloads/01-cross", f)), f);
    }
    // An image the page embeds is saved as the very bytes it embeds.
    assert.deepEqual(await Deno.readFile(join(site, "downloads/01-cross/figure-2.png")), embedded);
    const png = await sharp(join(site, "downloads/01-cross/figure-1.png")).metadata();
    assert.equal(png.width, 2 * Number(fig.match(/width="(\d+)"/)![1]));
    const svgFile = await Deno.readTextFile(join(site, "downloads/01-cross/figure-1.svg"));
    assert.ok(svgFile.startsWith('<?xml version="1.0"'));
    assert.equal((await sharp(new TextEncoder().encode(svgFile)).metadata()).format, "svg");
    assert.deepEqual(
      parseCsv(await Deno.readTextFile(join(site, "downloads/index/table-1.csv")))[1][3],
      "0.72 [0.70, 0.74]",
    );

    // References: the page names Jamróz and has model records; 02 has the dataset records.
    const refs = (html: string) => [...html.matchAll(/<li id="ref-([^"]+)">/g)].map((m) => m[1]);
    const crossRefs = refs(cross);
    assert.deepEqual(crossRefs[0], "jamroz2024");
    assert.ok(!crossRefs.includes("tao2023"));
    for (const r of records.filter((r) => r.kind === "model")) {
      assert.ok(crossRefs.includes(modelKey(r.id)), r.id);
    }
    assert.equal(crossRefs.at(-1), "fer-kit");
    const minority = refs(await Deno.readTextFile(join(site, "02-minority.html")));
    assert.ok(minority.includes("goodfellow2013") && minority.includes(datasetKey("fer2013")));
    assert.ok(minority.includes(datasetKey("my_faces")));

    // references.bib parses, and holds every paper, dataset and model of the provenance.
    const bibText = await Deno.readTextFile(join(site, "references.bib"));
    const bib = new Map(parseBibtex(bibText).map((e) => [e.key, e]));
    for (const p of PAPERS) assert.ok(bib.has(p.key), p.key);
    for (const r of records) {
      const key = r.kind === "model" ? modelKey(r.id) : datasetKey(r.id.split(":")[0]);
      assert.ok(bib.get(key)?.fields.note.includes(r.sha256), `${key} with its hash`);
    }
    for (const d of ["fer2013", "ferplus", "ckplus", "expw"]) {
      assert.equal(bib.get(datasetKey(d))!.fields.related, DATASET_PAPERS[d].key);
      assert.ok(bib.has(DATASET_PAPERS[d].key));
    }
    const card = JSON.parse(
      await Deno.readTextFile(join(PROJECT_ROOT, "models/mini-xception-fer2013.json")),
    );
    const mx = bib.get(modelKey("mini-xception-fer2013"))!;
    assert.equal(mx.fields.title, `{${bibEscape(card.name)}}`);
    assert.equal(mx.fields.version, card.source.version);
    assert.match(mx.fields.note, /Arriaga/);
    const kitBib = bib.get("fer-kit")!;
    assert.equal(kitBib.fields.version, "9.9.9");
    assert.match(kitBib.fields.note, new RegExp(`Commit ${kit.commit}\\.`));

    // A second pass changes nothing (no doubled links or references).
    const again = await publishSite(site, { records, kit, version: "9.9.9" });
    assert.deepEqual([again.figures, again.tables], [0, 0]);
    assert.equal(await Deno.readTextFile(join(site, "01-cross.html")), cross);
  } finally {
    await Deno.remove(site, { recursive: true });
  }
});

Deno.test({
  // Ignored only where Debian's bibtool is not installed (./fer-kit installs it).
  name: "references.bib passes Debian's bibtool without errors or warnings",
  ignore: !hasBibtool,
  async fn() {
    const site = await Deno.makeTempDir({ prefix: "ferkit-bibtool-" });
    try {
      await Deno.writeTextFile(join(site, "index.html"), "<main></main>");
      const res = await publishSite(site, {
        records: await studyRecords(),
        kit: { ...KIT, commit: null },
        version: null,
      });
      const out = await new Deno.Command(BIBTOOL, {
        args: ["-d", "-o", join(site, "out.bib"), res.bibPath!],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, err);
      assert.ok(!/ERROR|WARNING/.test(err), err);
      // bibtool re-wrote every entry it read.
      const rewritten = await Deno.readTextFile(join(site, "out.bib"));
      assert.equal(
        (rewritten.match(/^@/gm) ?? []).length,
        res.references.length,
      );
    } finally {
      await Deno.remove(site, { recursive: true });
    }
  },
});

Deno.test("PDF page order: the index, the pages of its navigation in order, then the rest", async () => {
  const site = await Deno.makeTempDir({ prefix: "ferkit-pdf-order-" });
  try {
    const nav = [
      { href: "index.html", label: "Overview", current: true },
      { href: "01-b.html", label: "01" },
      { href: "00-a.html", label: "00" },
    ];
    for (const page of ["index", "00-a", "01-b", "zz-extra", "a-extra"]) {
      await Deno.writeTextFile(
        join(site, `${page}.html`),
        renderPage({ title: page, css: "x.css", nav, body: page, footer: "" }),
      );
    }
    assert.deepEqual(await pdfPageOrder(site), [
      "index.html",
      "01-b.html",
      "00-a.html",
      "a-extra.html",
      "zz-extra.html",
    ]);
    await Deno.remove(join(site, "index.html"));
    await assert.rejects(() => pdfPageOrder(site), /index\.html: no index page/);
    // The command says so and exits 1, for an empty folder and for none at all.
    assert.equal(await reportCli(["--pdf-only", "--out", site]), 1);
    assert.equal(await reportCli(["--pdf-only", "--out", join(site, "none")]), 1);
  } finally {
    await Deno.remove(site, { recursive: true });
  }
});

Deno.test("references: a face detector in the provenance is cited from its card", async () => {
  const card = JSON.parse(
    await Deno.readTextFile(join(PROJECT_ROOT, "models", "yunet-2023mar.json")),
  ) as { name: string; citation: string; licence: string; source: { url: string } };
  const records: ProvenanceRecord[] = [
    { kind: "model", id: "yunet-2023mar", sha256: "ab12", detail: "face detector" },
    { kind: "model", id: "no-such-model", sha256: "cd34" },
  ];
  const cards = await cardsFor(records);
  const entry = modelEntry("yunet-2023mar", cards.get("yunet-2023mar") ?? null, records);
  assert.equal(entry.key, modelKey("yunet-2023mar"));
  assert.equal(entry.fields.title, card.name);
  assert.equal(entry.fields.howpublished, `Downloaded from ${card.source.url}`);
  assert.ok(entry.fields.note.startsWith(card.citation.trim().replace(/\.?$/, ".")));
  assert.ok(entry.fields.note.includes("ONNX SHA-256 ab12."));
  assert.ok(entry.fields.note.endsWith(`Licence: ${card.licence}.`));
  assert.equal(cards.get("no-such-model"), null);
  const missing = modelEntry("no-such-model", null, records);
  assert.equal(missing.fields.note, "No model card in models/. ONNX SHA-256 cd34.");
});
