/**
 * The report as one PDF: each page printed by headless Chromium (`--print-to-pdf`, the site's
 * print stylesheet: A4, code folded away, figures kept whole, links as text), in the order of
 * the site navigation (the index first, then the notebooks), joined by poppler's `pdfunite`.
 */
import { join } from "node:path";
import { exists } from "../fsutil.ts";
import { findChromium, runChromium } from "./chromium.ts";
import { sitePages } from "./publish.ts";

/** Where poppler-utils installs pdfunite (Debian). */
const PDFUNITE = ["/usr/bin/pdfunite", "/usr/local/bin/pdfunite"];

/**
 * The pages to print, in order: index.html, then the pages its navigation links to, in the
 * navigation's order, then any other page of the site by name.
 */
export async function pdfPageOrder(siteDir: string): Promise<string[]> {
  if (!(await exists(join(siteDir, "index.html")))) {
    throw new Error(`${join(siteDir, "index.html")}: no index page (build the site first)`);
  }
  const pages = await sitePages(siteDir);
  const index = await Deno.readTextFile(join(siteDir, "index.html"));
  const nav = index.match(/<nav class="site-nav">([\s\S]*?)<\/nav>/)?.[1] ?? "";
  const linked = [...nav.matchAll(/href="([^"#?]+\.html)"/g)].map((m) => m[1]);
  const order = ["index.html"];
  for (const p of [...linked, ...pages]) if (pages.includes(p) && !order.includes(p)) order.push(p);
  return order;
}

/** What printSitePdf wrote. */
export interface PdfResult {
  pdfPath: string;
  /** The pages printed, in order. */
  pages: string[];
  bytes: number;
}

async function tool(candidates: readonly string[], what: string): Promise<string> {
  for (const p of candidates) if (await exists(p)) return p;
  throw new Error(`${what} not found (${candidates.join(", ")}); ./fer-kit installs it`);
}

/** Print the built site at `siteDir` to one PDF at `pdfPath`. */
export async function printSitePdf(siteDir: string, pdfPath: string): Promise<PdfResult> {
  const chromium = await findChromium();
  if (chromium === undefined) {
    throw new Error("chromium not found (install Debian's chromium; ./fer-kit installs it)");
  }
  const pdfunite = await tool(PDFUNITE, "pdfunite (Debian poppler-utils)");
  const pages = await pdfPageOrder(siteDir);
  const tmp = await Deno.makeTempDir({ prefix: "ferkit-pdf-" });
  try {
    const parts: string[] = [];
    for (const [i, page] of pages.entries()) {
      const part = join(tmp, `${String(i).padStart(3, "0")}.pdf`);
      await runChromium(chromium, [
        "--no-pdf-header-footer",
        "--run-all-compositor-stages-before-draw",
        `--print-to-pdf=${part}`,
        `file://${join(siteDir, page)}`,
      ], join(tmp, "profile"));
      if (!(await exists(part))) throw new Error(`chromium printed nothing for ${page}`);
      parts.push(part);
    }
    const out = await new Deno.Command(pdfunite, {
      args: [...parts, pdfPath],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.code !== 0) {
      throw new Error(`pdfunite failed: ${new TextDecoder().decode(out.stderr).slice(-500)}`);
    }
    return { pdfPath, pages, bytes: (await Deno.stat(pdfPath)).size };
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}
