/** Markdown → HTML for notebook markdown cells and text/markdown outputs (marked, GFM). */
import { marked } from "marked";

/**
 * Render Markdown (GitHub-flavoured: tables, fenced code, autolinks) to HTML. Notebook
 * markdown is the kit's own, so raw HTML in it is kept. Headings get ids from their text,
 * so pages can link to sections.
 */
export function renderMarkdown(markdown: string): string {
  const html = marked.parse(markdown, { async: false, gfm: true }) as string;
  return html.replace(/<h([1-6])>(.*?)<\/h\1>/g, (_m, level: string, inner: string) => {
    const id = inner.replace(/<[^>]+>/g, "").toLowerCase().replace(/&[a-z]+;/g, "")
      .replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
    return `<h${level} id="${id}">${inner}</h${level}>`;
  });
}
