/**
 * The publishing pass over a built site: every page (`*.html` in the site folder, whatever
 * wrote it) gets download links for its figures and tables and ends with its references, and
 * the site gets `references.bib`. It runs last in a build, so pages added by any part of the
 * builder are covered.
 */
import { join } from "node:path";
import type { ProvenanceRecord } from "../findings.ts";
import { writeFileAtomic } from "../fsutil.ts";
import { type BibEntry, formatBibtex } from "./bibtex.ts";
import { addDownloads } from "./downloads.ts";
import { cardsFor, kitEntry, referencesFor, referencesSection } from "./references.ts";
import type { KitProvenance } from "./provenance.ts";

/** What the pages cite: the run's provenance records and the kit. */
export interface PublishSources {
  records: readonly ProvenanceRecord[];
  kit: KitProvenance;
  /** The kit's version (deno.json), or null. */
  version: string | null;
}

/** What the pass did. */
export interface PublishResult {
  pages: string[];
  figures: number;
  tables: number;
  /** Path of references.bib (when sources were given). */
  bibPath?: string;
  references: BibEntry[];
}

/** The site's pages: the `*.html` files of its top folder, sorted by name. */
export async function sitePages(siteDir: string): Promise<string[]> {
  const pages: string[] = [];
  for await (const e of Deno.readDir(siteDir)) {
    if (e.isFile && e.name.endsWith(".html")) pages.push(e.name);
  }
  return pages.sort();
}

/** File name of the site's bibliography. */
export const BIB_FILE = "references.bib";

const REFS_MARK = '<section class="references"';

/** Visible text of a page's <main> (tags dropped), for finding the papers it names. */
function mainText(html: string): string {
  const main = html.match(/<main>([\s\S]*)<\/main>/)?.[1] ?? html;
  return main.replace(/<[^>]+>/g, " ");
}

/**
 * Add downloads to every page of the site at `siteDir`; with `sources`, end each page with its
 * references (the index with all of them) and write `references.bib`.
 */
export async function publishSite(
  siteDir: string,
  sources?: PublishSources,
): Promise<PublishResult> {
  const res: PublishResult = { pages: [], figures: 0, tables: 0, references: [] };
  const refSrc = sources && {
    records: sources.records,
    cards: await cardsFor(sources.records),
    kit: kitEntry(sources.kit, sources.version),
  };
  for (const page of await sitePages(siteDir)) {
    const path = join(siteDir, page);
    let html = await Deno.readTextFile(path);
    const before = html;
    const slug = page.slice(0, -".html".length);
    const d = await addDownloads(html, slug, siteDir);
    html = d.html;
    if (refSrc && !html.includes(REFS_MARK) && html.includes("</main>")) {
      const index = slug === "index";
      const records = index ? refSrc.records : refSrc.records.filter((r) => r.notebook === slug);
      const refs = referencesFor(mainText(html), records, refSrc, index);
      html = html.replace("</main>", `${referencesSection(refs, BIB_FILE)}\n</main>`);
    }
    if (html !== before) await writeFileAtomic(path, html);
    res.pages.push(page);
    res.figures += d.figures;
    res.tables += d.tables;
  }
  if (refSrc) {
    res.references = referencesFor("", refSrc.records, refSrc, true);
    res.bibPath = join(siteDir, BIB_FILE);
    await writeFileAtomic(res.bibPath, formatBibtex(res.references));
  }
  return res;
}
