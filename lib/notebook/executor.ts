/**
 * Execute a notebook headless on a real Jupyter kernel (the Deno kernel by default) and keep
 * every output. The protocol work is done by `execute.py` (jupyter_client, Debian's
 * python3-jupyter-client); see that file for the drain design that stops late outputs from
 * being dropped.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheRoot, dataRoot, PROJECT_ROOT } from "../config.ts";
import { exists, sha256Hex, writeFileAtomic } from "../fsutil.ts";
import { type CellError, type CellStatus, type Notebook, readNotebook } from "./nbformat.ts";

/** Name of the kernelspec the kit registers (`deno task setup`). */
export const DEFAULT_KERNEL = "fer-kit-deno";

/** Options for executeNotebook. */
export interface ExecuteOptions {
  /** Where to write the executed notebook; default: a temporary file. */
  outPath?: string;
  /** Jupyter kernelspec name; default `fer-kit-deno`. */
  kernel?: string;
  /** Kernel working directory; default `<project>/notebooks`. */
  cwd?: string;
  /** Data root passed to the kernel as FER_DATA; default: `dataRoot()` (FER_DATA or data/raw). */
  data?: string;
  /** Extra environment variables for the kernel. */
  env?: Record<string, string>;
  /** Per-cell time limit in seconds (default 600); on expiry the kernel is stopped. */
  cellTimeoutS?: number;
  /** Kernel start-up limit in seconds per attempt (default 180); a failed start is retried twice. */
  startupTimeoutS?: number;
  /** Limit in seconds for the drain proof after each cell (default 120). */
  drainTimeoutS?: number;
  /** Python interpreter with jupyter_client; default /usr/bin/python3 when present. */
  python?: string;
}

/** How one cell ran. */
export interface CellRun {
  /** 0-based index of the cell in the notebook (markdown cells included). */
  index: number;
  status: CellStatus;
  /** Milliseconds from the request to the proof that all its outputs arrived. */
  durationMs: number;
  error?: CellError;
  /** Outputs that arrived after the kernel had announced idle for the cell (kept). */
  lateOutputs?: number;
}

/** The kernel's self-description (kernel_info_reply). */
export interface KernelInfo {
  implementation?: string;
  implementation_version?: string;
  language_info?: Record<string, unknown>;
  /** Errors of kernel starts that failed before the one that ran the notebook. */
  startFailures?: string[];
}

/** A notebook after execution. */
export interface ExecutedNotebook {
  /** The notebook that was executed. */
  source: string;
  /** The executed notebook file (outputs and `metadata.ferkit` records). */
  path: string;
  notebook: Notebook;
  /** True when every code cell ran without error and its outputs were all collected. */
  ok: boolean;
  cells: CellRun[];
  /** Wall time of the whole execution, kernel start included, in milliseconds. */
  durationMs: number;
  kernel: KernelInfo;
  /** The first failure (cell index 0-based), or null. */
  error: (CellError & { cell?: number }) | null;
}

interface Summary {
  ok: boolean;
  cells: CellRun[];
  kernel: KernelInfo;
  error: (CellError & { cell?: number }) | null;
  durationMs: number;
}

const SCRIPT = fileURLToPath(new URL("./execute.py", import.meta.url));

/** The Python that runs notebooks: `explicit`, else /usr/bin/python3 when present, else python3. */
export async function pythonPath(explicit?: string): Promise<string> {
  if (explicit) return explicit;
  return (await exists("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
}

/**
 * Writes a kernelspec for the kit's kernel that runs the very Deno binary running this process,
 * under cacheRoot()/jupyter/<hash of that binary's path>, and returns that JUPYTER_PATH entry.
 * The user-level kernelspec that `deno task setup` registers may point at another checkout's
 * Deno; this one cannot, even when checkouts share one cache folder (FER_CACHE).
 */
async function localKernelPath(): Promise<string> {
  const deno = await sha256Hex(Deno.execPath());
  const root = join(cacheRoot(), "jupyter", deno.slice(0, 16));
  const spec = {
    argv: [Deno.execPath(), "jupyter", "--kernel", "--conn", "{connection_file}"],
    display_name: "Deno (fer-kit)",
    language: "typescript",
  };
  await writeFileAtomic(
    join(root, "kernels", DEFAULT_KERNEL, "kernel.json"),
    JSON.stringify(spec, null, 2),
  );
  return root;
}

/**
 * Execute `path` top to bottom on a real kernel and return the executed notebook.
 * A failing cell stops the run (later cells are "skipped") and is reported in the result,
 * not thrown; the function throws only when the notebook cannot be read or the executor
 * itself cannot run (no Python / jupyter_client), with the file named in the message.
 */
export async function executeNotebook(
  path: string,
  opts: ExecuteOptions = {},
): Promise<ExecutedNotebook> {
  await readNotebook(path); // validate first: errors name the file and cell
  let outPath = opts.outPath;
  let tmpDir: string | undefined;
  if (outPath === undefined) {
    tmpDir = await Deno.makeTempDir({ prefix: "ferkit-nb-" });
    outPath = join(tmpDir, "executed.ipynb");
  }
  const request = {
    notebook: path,
    output: outPath,
    kernel: opts.kernel ?? DEFAULT_KERNEL,
    cwd: opts.cwd ?? join(PROJECT_ROOT, "notebooks"),
    env: { FER_DATA: dataRoot(opts.data), DENO_NO_UPDATE_CHECK: "1", ...opts.env },
    cellTimeoutS: opts.cellTimeoutS ?? 600,
    startupTimeoutS: opts.startupTimeoutS ?? 180,
    drainTimeoutS: opts.drainTimeoutS ?? 120,
  };
  const python = await pythonPath(opts.python);
  const jupyterPath = await localKernelPath();
  const inherited = Deno.env.get("JUPYTER_PATH");
  const child = new Deno.Command(python, {
    args: [SCRIPT],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: {
      PYDEVD_DISABLE_FILE_VALIDATION: "1",
      JUPYTER_PATH: inherited ? `${jupyterPath}:${inherited}` : jupyterPath,
    },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(request)));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const outText = new TextDecoder().decode(stdout).trim();
  const lastLine = outText.split("\n").at(-1) ?? "";
  if (code !== 0 || !lastLine.startsWith("{")) {
    const err = new TextDecoder().decode(stderr).trim().split("\n").slice(-15).join("\n");
    throw new Error(`${path}: executor failed (exit ${code}):\n${err}`);
  }
  const summary = JSON.parse(lastLine) as Summary;
  const notebook = await readNotebook(outPath);
  return {
    source: path,
    path: outPath,
    notebook,
    ok: summary.ok,
    cells: summary.cells,
    durationMs: summary.durationMs,
    kernel: summary.kernel,
    error: summary.error,
  };
}
