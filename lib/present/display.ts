/**
 * Show figures, tables, HTML and images from a notebook through the Deno kernel's
 * `Deno.jupyter.display` (mime bundles, https://docs.deno.com/runtime/reference/cli/jupyter/).
 * Outside a kernel (plain `deno run`) each call prints its text/plain form instead, so the
 * same code runs in scripts and tests.
 */
import { type FrameLike, type Row, tableHtml, type TableOptions, tableText } from "./tables.ts";

/** A Jupyter mime bundle: mime type → data. */
export type MimeBundle = Record<string, string | object>;

/** The part of the kernel's `Deno.jupyter` API used here (typed in Deno's unstable lib). */
interface JupyterApi {
  display(obj: unknown, options?: { raw?: boolean }): Promise<void>;
}

function jupyterApi(): JupyterApi | undefined {
  try {
    const api = (Deno as unknown as { jupyter?: JupyterApi }).jupyter;
    return typeof api?.display === "function" ? api : undefined;
  } catch {
    return undefined; // reading Deno.jupyter outside `deno jupyter` throws
  }
}

/** Display a raw mime bundle (in a kernel) or print its text/plain (elsewhere). */
export async function display(bundle: MimeBundle): Promise<void> {
  const api = jupyterApi();
  if (api) {
    await api.display(bundle, { raw: true });
    return;
  }
  const text = bundle["text/plain"];
  console.log(typeof text === "string" ? text : `[${Object.keys(bundle).join(", ")}]`);
}

/** Show an SVG figure (e.g. from lib/plots.ts); `alt` is its text/plain description. */
export async function show(svg: string, alt = "[figure]"): Promise<void> {
  if (!svg.trimStart().startsWith("<svg")) throw new Error("show: expected an <svg> string");
  await display({ "image/svg+xml": svg, "text/plain": alt });
}

/** Show rows or a danfojs DataFrame as a table (missing values as "—"). */
export async function showTable(
  data: readonly Row[] | FrameLike,
  opts: TableOptions = {},
): Promise<void> {
  await display({ "text/html": tableHtml(data, opts), "text/plain": tableText(data, opts) });
}

/** Show a PNG image (bytes); `alt` is its text/plain description. */
export async function showPng(png: Uint8Array, alt = "[image]"): Promise<void> {
  await display({ "image/png": bytesToBase64(png), "text/plain": alt });
}

/** Show Markdown text. */
export async function showMarkdown(markdown: string): Promise<void> {
  await display({ "text/markdown": markdown, "text/plain": markdown });
}

/** Base64 of bytes (standard alphabet, with padding). */
export function bytesToBase64(bytes: Uint8Array): string {
  let s = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    s += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(s);
}
