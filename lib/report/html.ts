/** HTML building blocks shared by the report's pages: escaping and the page frame. */
import { escapeXml } from "../present/format.ts";

/** One entry of the site navigation. */
export interface NavItem {
  href: string;
  label: string;
  current?: boolean;
  failed?: boolean;
}

/** What a page frame needs. */
export interface PageFrame {
  title: string;
  /** Relative path of the stylesheet from this page (e.g. "assets/report.css"). */
  css: string;
  nav: readonly NavItem[];
  body: string;
  footer: string;
}

/** A complete HTML document: no external resources, relative links only (works from file://). */
export function renderPage(p: PageFrame): string {
  const nav = p.nav.map((n) => {
    const cls = [n.current ? "current" : "", n.failed ? "failed" : ""].filter(Boolean).join(" ");
    return `<a href="${escapeXml(n.href)}"${cls ? ` class="${cls}"` : ""}>${
      escapeXml(n.label)
    }</a>`;
  }).join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(p.title)}</title>
<link rel="stylesheet" href="${escapeXml(p.css)}">
</head>
<body>
<nav class="site-nav">
${nav}
</nav>
<main>
${p.body}
</main>
<footer>${p.footer}</footer>
</body>
</html>
`;
}

/** Format milliseconds as "850 ms", "12.3 s" or "4 min 05 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.round(s - m * 60)).padStart(2, "0")} s`;
}
