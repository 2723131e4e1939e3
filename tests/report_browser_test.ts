/**
 * The report in a real browser: headless Chromium opens the index and a notebook page from
 * file://, every figure the executed notebook produced is in the rendered DOM, no table shows
 * "undefined" or "NaN", and screenshots are saved under report/artifacts/ for a person to look at.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseHTML } from "linkedom";
import sharp from "sharp";
import { PROJECT_ROOT } from "../lib/config.ts";
import { exists } from "../lib/fsutil.ts";
import { findChromium, runChromium } from "../lib/report/chromium.ts";
import { printSitePdf } from "../lib/report/pdf.ts";
import { renderPage } from "../lib/report/html.ts";
import { publishSite } from "../lib/report/publish.ts";
import { barChart } from "../lib/present/plots.ts";
import { allOutputs, readNotebook } from "../lib/notebook/nbformat.ts";
import { buildReport, REPORT_CSS } from "../lib/report/site.ts";

const FIXTURES = join(PROJECT_ROOT, "tests/fixtures/notebooks/site");
const ARTIFACTS = join(PROJECT_ROOT, "report/artifacts/browser");

function chromium(bin: string, profile: string, args: string[]): Promise<string> {
  return runChromium(bin, args, profile);
}

/** The DOM as Chromium rendered it, parsed back. */
async function renderedDom(bin: string, profile: string, file: string): Promise<Document> {
  const html = await chromium(bin, profile, ["--dump-dom", `file://${file}`]);
  assert.ok(html.includes("</html>"), `no DOM dumped for ${file}`);
  return parseHTML(html).document as unknown as Document;
}

/** Screenshot a page; returns the PNG's per-channel standard deviation (0 = blank). */
async function screenshot(
  bin: string,
  profile: string,
  file: string,
  png: string,
): Promise<number> {
  await chromium(bin, profile, [
    `--screenshot=${png}`,
    "--window-size=1280,2000",
    `file://${file}`,
  ]);
  const stats = await sharp(png).stats();
  return Math.max(...stats.channels.map((c) => c.stdev));
}

function tableTexts(doc: Document): string[] {
  return [...doc.querySelectorAll("table")].map((t) => t.textContent ?? "");
}

const bin = await findChromium();

Deno.test({
  name: "browser: index and notebook pages render every figure; no undefined/NaN in tables",
  ignore: bin === undefined,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "ferkit-browser-site-" });
    const profile = await Deno.makeTempDir({ prefix: "ferkit-chromium-" });
    try {
      const res = await buildReport({
        notebooksDir: FIXTURES,
        outDir: out,
        cellTimeoutS: 120,
        log: () => {},
      });
      assert.deepEqual(res.failed, ["02-broken"]);
      await Deno.mkdir(ARTIFACTS, { recursive: true });

      // Index: findings table and notebook list, as the browser shows them.
      const index = await renderedDom(bin!, profile, join(out, "index.html"));
      const findingRows = [...index.querySelectorAll("table.findings tbody tr[data-finding-id]")];
      assert.deepEqual(
        findingRows.map((r) => r.getAttribute("data-finding-id")),
        res.findings.map((f) => f.id),
      );
      assert.equal(findingRows[0].querySelectorAll("td")[1].textContent, "3.875 [1.970, 5.780]");
      for (const t of tableTexts(index)) assert.ok(!/undefined|NaN/.test(t), t);
      const links = [...index.querySelectorAll("table.notebooks a")].map((a) =>
        a.getAttribute("href")
      );
      assert.deepEqual(links, ["01-figures.html", "02-broken.html"]);
      for (const href of links) assert.ok(await exists(join(out, href!)), `${href} exists`);

      // A notebook page: every SVG and image output is in the DOM.
      for (const slug of ["01-figures", "02-broken"]) {
        const nb = await readNotebook(join(out, "notebooks", `${slug}.ipynb`));
        const rich = allOutputs(nb).map(({ output }) => output)
          .filter((o) => o.output_type === "display_data" || o.output_type === "execute_result");
        const svgs = rich.filter((o) => "data" in o && "image/svg+xml" in o.data).length;
        const doc = await renderedDom(bin!, profile, join(out, `${slug}.html`));
        const figures = [...doc.querySelectorAll("figure.output")];
        assert.equal(
          doc.querySelectorAll("figure.output > svg").length,
          svgs,
          `${slug}: svg figures`,
        );
        assert.ok(svgs > 0);
        for (const f of figures) {
          const svg = f.querySelector("svg");
          if (svg) {
            assert.ok(
              Number(svg.getAttribute("width")) > 0 && svg.querySelectorAll("*").length > 10,
            );
          }
        }
        for (const t of tableTexts(doc)) assert.ok(!/undefined|NaN/.test(t), `${slug}: ${t}`);
        if (slug === "02-broken") {
          assert.equal(doc.querySelectorAll(".output.error").length, 1);
          assert.match(
            doc.querySelector(".banner.failed")?.textContent ?? "",
            /fixture failure: key b is missing/,
          );
        }
      }

      // Screenshots for people to look at (report/artifacts/browser/*.png); none is blank.
      for (const page of ["index", "01-figures", "02-broken"]) {
        const png = join(ARTIFACTS, `${page}.png`);
        const stdev = await screenshot(bin!, profile, join(out, `${page}.html`), png);
        assert.ok(stdev > 5, `${page}.png looks blank (stdev ${stdev.toFixed(1)})`);
      }

      // Downloads: in the browser's DOM every figure and every table has its link line, and
      // each linked file is there (PNG at 2x the figure's size).
      for (const page of ["index", "01-figures", "02-broken"]) {
        const doc = await renderedDom(bin!, profile, join(out, `${page}.html`));
        const figures = [...doc.querySelectorAll("main figure.output")];
        const tables = [...doc.querySelectorAll("main table")].filter((t) =>
          t.parentElement?.closest("table") === null
        );
        for (const f of figures) {
          const links = [...f.querySelectorAll("p.downloads a[download]")];
          assert.ok(links.length >= 1, `${page}: a figure without downloads`);
          for (const a of links) assert.ok(await exists(join(out, a.getAttribute("href")!)));
          const svg = f.querySelector("svg");
          const png = links.find((a) => a.getAttribute("href")!.endsWith(".png"));
          if (svg && png) {
            const meta = await sharp(join(out, png.getAttribute("href")!)).metadata();
            assert.equal(meta.width, 2 * Number(svg.getAttribute("width")));
          }
        }
        for (const t of tables) {
          const bar = t.nextElementSibling;
          assert.equal(
            bar?.getAttribute("class"),
            "downloads",
            `${page}: a table without downloads`,
          );
          const hrefs = [...bar!.querySelectorAll("a[download]")].map((a) =>
            a.getAttribute("href")!
          );
          assert.deepEqual(hrefs.map((h) => h.split(".").pop()), ["csv", "tex"]);
          for (const h of hrefs) assert.ok(await exists(join(out, h)), h);
        }
        assert.ok(doc.querySelector("section.references li#ref-fer-kit"), `${page}: references`);
      }

      // The PDF: the index first, then the notebooks in order, then the other pages the
      // navigation links to (the scorecard's not-reproduced page); its pages rendered to PNG for
      // a person to look at (report/artifacts/pdf/).
      const pdf = join(out, "report.pdf");
      const printed = await printSitePdf(out, pdf);
      assert.deepEqual(printed.pages, [
        "index.html",
        "01-figures.html",
        "02-broken.html",
        "not-reproduced.html",
      ]);
      const text = new TextDecoder().decode(
        (await new Deno.Command("pdftotext", { args: ["-layout", pdf, "-"], stdout: "piped" })
          .output()).stdout,
      );
      const at = (s: string) => text.indexOf(s);
      assert.ok(at("Key findings") >= 0 && at("Key findings") < at("Figures fixture"));
      assert.ok(at("Figures fixture") < at("Broken fixture"), "notebook order");
      assert.ok(!text.includes("emitFinding("), "code is folded away in print");
      const dir = join(PROJECT_ROOT, "report/artifacts/pdf");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.mkdir(dir, { recursive: true });
      const r = await new Deno.Command("pdftoppm", {
        args: ["-r", "50", "-png", pdf, join(dir, "page")],
      }).output();
      assert.equal(r.code, 0);
      const pngs = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      assert.ok(pngs.length >= 3, `${pngs.length} PDF pages`);
      for (const p of pngs) {
        const stats = await sharp(join(dir, p)).stats();
        assert.ok(Math.max(...stats.channels.map((c) => c.stdev)) > 5, `${p} is blank`);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "PDF: no figure is cut across a page break (tall figures, one page of the site)",
  ignore: bin === undefined,
  async fn() {
    const site = await Deno.makeTempDir({ prefix: "ferkit-pdf-breaks-" });
    try {
      // Bar charts of 20 to 90 bars (about 160 to 650 mm tall at 96 dpi): Chromium moves a
      // figure that does not fit to the next page, but one taller than a page is sliced across
      // pages unless the print stylesheet scales it down.
      const bars = [20, 90, 20, 60, 20, 20];
      const figures = bars.map((n, k) =>
        `<figure class="output figure">${
          barChart(
            Array.from({ length: n }, (_, i) => ({ label: `f${k + 1} c${i}`, value: i + k })),
            { title: `Tall figure ${k + 1}` },
          )
        }</figure>`
      ).join("\n");
      await Deno.mkdir(join(site, "assets"));
      await Deno.copyFile(REPORT_CSS, join(site, "assets/report.css"));
      await Deno.writeTextFile(
        join(site, "index.html"),
        renderPage({
          title: "t",
          css: "assets/report.css",
          nav: [],
          body: `<h1>Breaks</h1><p>${"Text. ".repeat(60)}</p>${figures}`,
          footer: "",
        }),
      );
      await publishSite(site);
      const pdf = join(site, "out.pdf");
      await printSitePdf(site, pdf);
      const pageText: string[] = [];
      for (let page = 1;; page++) {
        const out = await new Deno.Command("pdftotext", {
          args: ["-f", String(page), "-l", String(page), pdf, "-"],
          stdout: "piped",
          stderr: "null",
        }).output();
        if (out.code !== 0) break;
        pageText.push(new TextDecoder().decode(out.stdout));
      }
      assert.ok(pageText.length >= 4, `${pageText.length} pages`);
      // Each figure's title (top of its SVG), its first and last bars and its "Figure N" line
      // (under it, inside the same <figure>) are on one page.
      for (let k = 1; k <= 6; k++) {
        const page = pageText.find((t) => t.includes(`Tall figure ${k}`));
        assert.ok(page !== undefined, `figure ${k} printed`);
        for (const part of [`f${k} c0`, `f${k} c${bars[k - 1] - 1}`, `Figure ${k}`]) {
          assert.ok(page.includes(part), `figure ${k} is cut: "${part}" is on another page`);
        }
      }
    } finally {
      await Deno.remove(site, { recursive: true });
    }
  },
});
