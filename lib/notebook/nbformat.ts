/**
 * Jupyter notebook (nbformat 4) types, as the executor writes them and the site builder reads
 * them. Reference: https://nbformat.readthedocs.io/en/latest/format_description.html
 */

/** A mime bundle: mime type → data (text as a string or a list of lines; JSON as objects). */
export type MimeBundle = Record<string, unknown>;

/** Text printed to stdout or stderr. */
export interface StreamOutput {
  output_type: "stream";
  name: "stdout" | "stderr";
  text: string | string[];
}

/** A rich display (Deno.jupyter.display and friends). */
export interface DisplayDataOutput {
  output_type: "display_data";
  data: MimeBundle;
  metadata?: Record<string, unknown>;
}

/** The value of a cell's last expression. */
export interface ExecuteResultOutput {
  output_type: "execute_result";
  data: MimeBundle;
  metadata?: Record<string, unknown>;
  execution_count: number | null;
}

/** An exception raised by a cell. */
export interface ErrorOutput {
  output_type: "error";
  ename: string;
  evalue: string;
  traceback: string[];
}

/** One output of a code cell. */
export type CellOutput = StreamOutput | DisplayDataOutput | ExecuteResultOutput | ErrorOutput;

/** How a cell's execution went, as the executor records it in `metadata.ferkit`. */
export type CellStatus = "ok" | "error" | "timeout" | "undrained" | "skipped" | "markdown" | "raw";

/** An error as the kernel reports it (ANSI colour codes may be present in the traceback). */
export interface CellError {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** Executor record kept in each cell's `metadata.ferkit`. */
export interface CellRunMeta {
  status: CellStatus;
  /** Wall time from the request to the proof that all outputs arrived, in milliseconds. */
  durationMs: number;
  error?: CellError;
  /** Outputs that arrived after the kernel announced idle for this cell. */
  lateOutputs?: number;
}

/** One notebook cell. */
export interface NotebookCell {
  cell_type: "code" | "markdown" | "raw";
  source: string | string[];
  metadata: Record<string, unknown> & { ferkit?: CellRunMeta };
  outputs?: CellOutput[];
  execution_count?: number | null;
  attachments?: Record<string, MimeBundle>;
  id?: string;
}

/** A whole notebook. */
export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/** Join a source or text field that nbformat may store as a list of lines. */
export function joinText(value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => String(v)).join("");
  if (typeof value === "string") return value;
  return "";
}

/** The source code or markdown of a cell, as one string. */
export function cellSource(cell: NotebookCell): string {
  return joinText(cell.source);
}

/**
 * Parse notebook JSON text and check its shape. Errors name the file and the offending cell
 * (1-based) or field.
 */
export function parseNotebook(text: string, file: string): Notebook {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof raw !== "object" || raw === null || !Array.isArray((raw as Notebook).cells)) {
    throw new Error(`${file}: not a Jupyter notebook (no "cells" list)`);
  }
  const nb = raw as Notebook;
  if (typeof nb.nbformat !== "number" || nb.nbformat < 4) {
    throw new Error(`${file}: field "nbformat" must be 4 or later (found ${String(nb.nbformat)})`);
  }
  nb.cells.forEach((cell, i) => {
    const where = `${file}: cell ${i + 1}`;
    if (!["code", "markdown", "raw"].includes(cell?.cell_type)) {
      throw new Error(`${where}: field "cell_type" is "${String(cell?.cell_type)}"`);
    }
    if (typeof cell.source !== "string" && !Array.isArray(cell.source)) {
      throw new Error(`${where}: field "source" must be a string or a list of strings`);
    }
    cell.metadata ??= {};
    if (cell.cell_type === "code") cell.outputs ??= [];
  });
  nb.metadata ??= {};
  return nb;
}

/** Read and parse a notebook file (see parseNotebook). */
export async function readNotebook(path: string): Promise<Notebook> {
  return parseNotebook(await Deno.readTextFile(path), path);
}

/** Every output of every code cell, with the index of its cell. */
export function allOutputs(nb: Notebook): { cell: number; output: CellOutput }[] {
  const out: { cell: number; output: CellOutput }[] = [];
  nb.cells.forEach((c, i) => {
    for (const o of c.outputs ?? []) out.push({ cell: i, output: o });
  });
  return out;
}

/** Remove ANSI colour/escape sequences (kernel tracebacks carry them). */
export function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "");
}
