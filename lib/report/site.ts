/**
 * Build the static report: execute the notebooks (`NN-*.ipynb`) on the real kernel, keep the
 * executed copies under `<out>/notebooks/`, and render `index.html` plus one page per notebook
 * from them. Relative links only and no network resources, so the site opens from file://.
 */
import { basename, join, resolve } from "node:path";
import { dataRoot, PROJECT_ROOT } from "../config.ts";
import type { Finding, ProvenanceRecord } from "../findings.ts";
import { collectFindings, collectProvenance } from "./findings.ts";
import { exists, sha256Hex, writeFileAtomic } from "../fsutil.ts";
import { DEFAULT_KERNEL, executeNotebook } from "../notebook/executor.ts";
import { type Notebook, parseNotebook, readNotebook } from "../notebook/nbformat.ts";
import { currentSessionLog, SESSION_LOG_ENV, withSessionLog } from "../provider.ts";
import {
  type InputKey,
  keyChange,
  type KeyContext,
  notebookInputKey,
  type SharedInputs,
  sharedInputs,
} from "./inputs.ts";
import { type NavItem, renderPage } from "./html.ts";
import { type NotebookSummary, renderIndexBody } from "./index_page.ts";
import { type NotebookRunMeta, notebookTitle, renderNotebookBody } from "./notebook_page.ts";
import { kitProvenance } from "./provenance.ts";
import { publishSite } from "./publish.ts";
import { kitVersion } from "./references.ts";
import { scorecard } from "../claims/scorecard.ts";
import { claimFindings, gatherEvidence } from "../claims/evidence.ts";
import { CLAIMS } from "../claims/registry.ts";
import { NOT_REPRODUCED_PAGE, renderNotReproducedBody } from "./scorecard_page.ts";

/** Notebook files the report picks up: two digits, a dash, a name. */
export const NOTEBOOK_PATTERN: RegExp = /^(\d\d)-[A-Za-z0-9_.-]+\.ipynb$/;

/** A notebook found in the notebooks folder. */
export interface NotebookFile {
  /** File name without `.ipynb`, e.g. "00-datasets". */
  slug: string;
  /** The two-digit number, e.g. "00". */
  number: string;
  path: string;
}

/** Options for buildReport. */
export interface BuildOptions {
  /** Folder holding `NN-*.ipynb` (default `<project>/notebooks`); also the kernel's cwd. */
  notebooksDir?: string;
  /** Output folder (default `<project>/report/site`). */
  outDir?: string;
  /** Only execute these notebooks (number "02" or slug); the rest are rendered from their last run. */
  only?: readonly string[];
  /** Data root for the notebooks (FER_DATA); default dataRoot(). */
  data?: string;
  /** Extra environment variables for the kernels (e.g. FER_CACHE, FER_MODELS_DIR). */
  env?: Record<string, string>;
  /** Per-cell time limit in seconds (default 1800: a first run computes every prediction). */
  cellTimeoutS?: number;
  /** Notebooks executed at the same time (default 2: one per core of the reference machine). */
  jobs?: number;
  /** Site title (default "fer-kit report"). */
  title?: string;
  /**
   * When no notebook emitted the claims' findings, compute them from the cached predictions
   * (lib/claims/evidence.ts) so the scorecard is filled (default: true for the project's own
   * notebooks folder, false for any other).
   */
  claimEvidence?: boolean;
  /**
   * Execute every selected notebook even when its executed copy from an earlier build could be
   * reused (same input key, lib/report/inputs.ts; every cell ran ok). Default false.
   */
  rerun?: boolean;
  /**
   * Work to do before the first notebook executes (the CLI's prediction warm-up). Skipped when
   * every selected notebook is reused and the previous build recorded the warm-up's session log
   * under the same inputs; those records are then carried over instead.
   */
  prepare?: () => Promise<void>;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

/** What a build did. */
export interface BuildResult {
  /** True when every notebook on the site ran without error. */
  ok: boolean;
  /** Slugs executed by this build. */
  executed: string[];
  /** Slugs whose executed copy from an earlier build was kept, its inputs unchanged. */
  reused: string[];
  /** Slugs whose run failed (this build or the kept earlier run). */
  failed: string[];
  /** Slugs without an executed copy (never built). */
  notBuilt: string[];
  findings: Finding[];
  indexPath: string;
  durationMs: number;
}

/** The `NN-*.ipynb` files of a folder, sorted by name. */
export async function discoverNotebooks(dir: string): Promise<NotebookFile[]> {
  const found: NotebookFile[] = [];
  for await (const e of Deno.readDir(dir)) {
    const m = e.isFile ? e.name.match(NOTEBOOK_PATTERN) : null;
    if (m) {
      found.push({
        slug: e.name.slice(0, -".ipynb".length),
        number: m[1],
        path: join(dir, e.name),
      });
    }
  }
  return found.sort((a, b) => a.slug.localeCompare(b.slug));
}

/** The notebooks `selectors` name ("02", "02-cross" or "02-cross.ipynb"); throws on no match. */
export function selectNotebooks(
  all: readonly NotebookFile[],
  selectors: readonly string[],
): NotebookFile[] {
  const picked = new Set<NotebookFile>();
  for (const s of selectors) {
    const key = basename(s).replace(/\.ipynb$/, "");
    const hits = all.filter((n) => n.number === key || n.slug === key);
    if (hits.length === 0) {
      throw new Error(
        `no notebook matches "${s}" (have: ${all.map((n) => n.slug).join(", ") || "none"})`,
      );
    }
    hits.forEach((h) => picked.add(h));
  }
  return all.filter((n) => picked.has(n));
}

/** Lines of a session log file (one JSON record a line); none when it is absent. */
async function logLines(path: string): Promise<string[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((l) => l.trim() !== "");
}

async function runOne(
  nb: NotebookFile,
  opts: Required<Pick<BuildOptions, "cellTimeoutS">> & {
    data: string;
    executedDir: string;
    env?: Record<string, string>;
    inputs: InputKey;
  },
): Promise<Notebook> {
  const target = join(opts.executedDir, `${nb.slug}.ipynb`);
  const sourceText = await Deno.readTextFile(nb.path);
  const sourceSha256 = await sha256Hex(sourceText);
  const executedAt = new Date().toISOString();
  // The kernel logs its sessions to a file of its own: kept with the run, so that a build
  // reusing it reports the same providers (replayed into the build's log, see buildReport).
  const sessionLog = await Deno.makeTempFile({ prefix: `fer-kit-sessions-${nb.slug}-` });
  let executed: Notebook;
  try {
    const tmp = `${target}.run-${Deno.pid}`;
    const ex = await executeNotebook(nb.path, {
      outPath: tmp,
      cwd: join(nb.path, ".."),
      data: opts.data,
      cellTimeoutS: opts.cellTimeoutS,
      env: { ...opts.env, [SESSION_LOG_ENV]: sessionLog },
    });
    executed = ex.notebook;
    await Deno.remove(tmp).catch(() => {});
  } catch (e) {
    // The executor could not run this notebook (malformed file, no kernel): keep its source
    // so the page still renders, with the error.
    const message = e instanceof Error ? e.message : String(e);
    try {
      executed = parseNotebook(sourceText, nb.path);
    } catch {
      executed = { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 };
    }
    executed.metadata.ferkit = {
      ok: false,
      durationMs: 0,
      error: { ename: "ExecutorError", evalue: message, traceback: [] },
    };
  }
  const sessions = await logLines(sessionLog);
  await Deno.remove(sessionLog).catch(() => {});
  const meta = (executed.metadata.ferkit ?? {}) as Record<string, unknown>;
  executed.metadata.ferkit = {
    ...meta,
    executedAt,
    sourceSha256,
    source: basename(nb.path),
    inputs: opts.inputs,
    sessionLog: sessions,
  };
  await writeFileAtomic(target, JSON.stringify(executed, null, 1) + "\n");
  return executed;
}

/**
 * Whether the executed copy at `path` can stand for a run of notebook `slug` with inputs `key`:
 * `{ nb }` when it can (it ran every cell ok, its findings read back, and it recorded the same
 * key), else `{ why }` ("no previous run", "previous run failed", "lib changed", ...).
 */
export async function reuseCheck(path: string, key: InputKey, slug: string): Promise<
  { why: string } | { nb: Notebook }
> {
  let nb: Notebook;
  try {
    nb = await readNotebook(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { why: "no previous run" };
    return { why: `previous run unreadable (${e instanceof Error ? e.message : String(e)})` };
  }
  const m = (nb.metadata.ferkit ?? {}) as Record<string, unknown>;
  const cellsOk = nb.cells.every((c) =>
    c.cell_type !== "code" ||
    (c.metadata.ferkit as { status?: string } | undefined)?.status === "ok"
  );
  if (m.ok !== true || !cellsOk) return { why: "previous run failed" };
  try {
    collectFindings(nb, slug);
    collectProvenance(nb, slug);
  } catch {
    return { why: "previous run's findings malformed" };
  }
  const change = keyChange(m.inputs, key);
  if (change !== null) return { why: change };
  if (!Array.isArray(m.sessionLog)) return { why: "previous run has no session log" };
  return { nb };
}

async function pool<T>(
  items: readonly T[],
  jobs: number,
  fn: (t: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
}

function runMeta(
  nb: Notebook,
): NotebookRunMeta & { kernel?: { implementation?: string; implementation_version?: string } } {
  return (nb.metadata.ferkit ?? {}) as NotebookRunMeta & {
    kernel?: { implementation?: string; implementation_version?: string };
  };
}

/** File name of the site's PDF (`report --pdf`), in the site folder. */
export const PDF_FILE = "report.pdf";

/**
 * Remove what earlier builds left of notebooks that are gone from the notebooks folder: the
 * executed copy `notebooks/<slug>.ipynb`, the page `<slug>.html` and `downloads/<slug>/`, so a
 * rebuild neither shows nor prints (PDF) a page whose notebook no longer exists; the PDF printed
 * before, which holds those pages, goes too. Only names of the notebook pattern are touched, and
 * a page only when the kit made it (executed copy or site navigation). Returns the slugs removed
 * and whether a PDF was.
 */
export async function dropRemovedNotebooks(
  outDir: string,
  present: readonly NotebookFile[],
): Promise<{ slugs: string[]; pdf: boolean }> {
  const keep = new Set(present.map((n) => n.slug));
  const stale = new Set<string>();
  const executedDir = join(outDir, "notebooks");
  const entries = async (dir: string) =>
    (await exists(dir)) ? await Array.fromAsync(Deno.readDir(dir)) : [];
  for (const e of await entries(executedDir)) {
    const slug = e.name.slice(0, -".ipynb".length);
    if (e.isFile && NOTEBOOK_PATTERN.test(e.name) && !keep.has(slug)) stale.add(slug);
  }
  for (const e of await entries(outDir)) {
    const slug = e.name.slice(0, -".html".length);
    if (!e.isFile || !e.name.endsWith(".html") || keep.has(slug) || stale.has(slug)) continue;
    if (!NOTEBOOK_PATTERN.test(`${slug}.ipynb`)) continue;
    const html = await Deno.readTextFile(join(outDir, e.name)).catch(() => "");
    if (html.includes('<nav class="site-nav">')) stale.add(slug);
  }
  for (const slug of stale) {
    for (const path of [join(executedDir, `${slug}.ipynb`), join(outDir, `${slug}.html`)]) {
      await Deno.remove(path).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    await Deno.remove(join(outDir, "downloads", slug), { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
  let pdf = false;
  if (stale.size > 0) {
    pdf = await Deno.remove(join(outDir, PDF_FILE)).then(() => true, (e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      return false;
    });
  }
  return { slugs: [...stale].sort(), pdf };
}

/** Default output folder of the site. */
export const SITE_DIR: string = join(PROJECT_ROOT, "report", "site");

/** Path of the report stylesheet shipped with the kit. */
export const REPORT_CSS: string = join(PROJECT_ROOT, "report", "assets", "report.css");

/**
 * Execute the selected notebooks (all by default) and (re)build the whole site from the
 * executed copies. A failing notebook still gets its page (with the error); the result's
 * `ok` is false then. Throws only for a bad selection or an unreadable notebooks folder.
 */
export async function buildReport(opts: BuildOptions = {}): Promise<BuildResult> {
  const given = currentSessionLog();
  if (given) return await build(opts, given);
  // No session log yet: one for this build, so that the provenance lists the warm-up's and the
  // kernels' sessions. Set for this isolate only (withSessionLog), not in the process
  // environment, which concurrent builds (parallel tests) share.
  const path = await Deno.makeTempFile({ prefix: "fer-kit-sessions-", suffix: ".jsonl" });
  try {
    return await withSessionLog(path, () => build(opts, path));
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}

/** The settings that name folders (resolved to absolute paths before kernels get them). */
const PATH_SETTINGS: readonly string[] = [
  "FER_CACHE",
  "FER_MODELS_DIR",
  "FER_DETECTORS",
  "FER_SPLITS_DIR",
];

/** File in the executed-notebooks folder recording the last warm-up's inputs and sessions. */
export const WARM_UP_FILE = ".warm-up.json";

/**
 * Run the warm-up `prepare` when a notebook will execute, or when no earlier warm-up under the
 * same shared inputs recorded its sessions; otherwise carry those records into the build's log.
 * Records what this warm-up logged, for the next build.
 */
async function warmUp(
  prepare: () => Promise<void>,
  shared: SharedInputs,
  executedDir: string,
  buildLog: string,
  needed: boolean,
  log: (line: string) => void,
): Promise<void> {
  const file = join(executedDir, WARM_UP_FILE);
  const key = await sha256Hex(JSON.stringify(shared.parts));
  if (!needed) {
    // A missing or damaged record only means the warm-up runs again.
    const last = await Deno.readTextFile(file)
      .then((t) => JSON.parse(t) as { key?: unknown; sessionLog?: unknown } | null)
      .catch(() => null);
    if (last?.key === key && Array.isArray(last.sessionLog)) {
      const lines = last.sessionLog.map(String);
      if (lines.length > 0) {
        await Deno.writeTextFile(buildLog, lines.join("\n") + "\n", { append: true, create: true });
      }
      log("report: warm-up skipped (every notebook reused; its last run's sessions carried over)");
      return;
    }
  }
  const before = (await logLines(buildLog)).length;
  await prepare();
  const lines = (await logLines(buildLog)).slice(before);
  await writeFileAtomic(file, JSON.stringify({ key, sessionLog: lines }, null, 1) + "\n");
}

async function build(opts: BuildOptions, buildLog: string): Promise<BuildResult> {
  const t0 = performance.now();
  // Where a build's time goes, printed as one line at the end (bench/results/report.md).
  const phases: [string, number][] = [];
  let mark = t0;
  const phase = (name: string) => {
    const now = performance.now();
    phases.push([name, now - mark]);
    mark = now;
  };
  const log = opts.log ?? ((s: string) => console.error(s));
  const notebooksDir = opts.notebooksDir ?? join(PROJECT_ROOT, "notebooks");
  const outDir = opts.outDir ?? SITE_DIR;
  const executedDir = join(outDir, "notebooks");
  const data = dataRoot(opts.data);
  const all = await discoverNotebooks(notebooksDir);
  const toRun = opts.only?.length ? selectNotebooks(all, opts.only) : all;
  await Deno.mkdir(executedDir, { recursive: true });

  // Folder settings as absolute paths: a kernel runs in its notebook's folder, so a relative
  // one would name another folder there than the one the input key hashed here.
  const given = { ...Deno.env.toObject(), ...opts.env };
  const kernelPaths = Object.fromEntries(
    PATH_SETTINGS.filter((k) => given[k]).map((k) => [k, resolve(given[k]!)]),
  );
  const executed: string[] = [];
  const reused: string[] = [];
  {
    const cellTimeoutS = opts.cellTimeoutS ?? 1800;
    // What each selected notebook's run depends on (lib/report/inputs.ts), and whether its
    // executed copy from an earlier build has the same inputs.
    const ctx: KeyContext = {
      env: {
        ...Deno.env.toObject(),
        FER_DATA: data,
        DENO_NO_UPDATE_CHECK: "1",
        ...opts.env,
        ...kernelPaths,
      },
      kernel: DEFAULT_KERNEL,
      cellTimeoutS,
      notebooksDir,
    };
    delete ctx.env[SESSION_LOG_ENV];
    const shared = toRun.length > 0 || opts.prepare ? await sharedInputs(ctx) : null;
    const plan: { nb: NotebookFile; inputs: InputKey; kept: Notebook | null; why: string }[] = [];
    for (const nb of toRun) {
      const inputs = await notebookInputKey(nb.path, shared!, ctx);
      const check = opts.rerun
        ? { why: "--rerun" }
        : await reuseCheck(join(executedDir, `${nb.slug}.ipynb`), inputs, nb.slug);
      plan.push({
        nb,
        inputs,
        kept: "nb" in check ? check.nb : null,
        why: "why" in check ? check.why : "",
      });
    }
    const toExecute = plan.filter((p) => p.kept === null);
    // Pages kept from an earlier build without being selected (--notebook): say when their
    // inputs have changed since, as a stale page must not pass unnoticed.
    for (const nb of all.filter((n) => !toRun.includes(n))) {
      const copy = join(executedDir, `${nb.slug}.ipynb`);
      if (shared === null || !(await exists(copy))) continue;
      const check = await reuseCheck(copy, await notebookInputKey(nb.path, shared, ctx), nb.slug);
      if ("why" in check) {
        log(
          `report: ${nb.slug} is shown from its last run, not executed now (${check.why}); ` +
            "build without --notebook to bring it up to date",
        );
      }
    }
    phase("input keys");
    if (opts.prepare) {
      await warmUp(opts.prepare, shared!, executedDir, buildLog, toExecute.length > 0, log);
      phase("warm-up");
    }
    for (const p of plan.filter((p) => p.kept !== null)) {
      const at = runMeta(p.kept!).executedAt;
      log(`report: ${p.nb.slug} reused (inputs unchanged${at ? `; run of ${at}` : ""})`);
      reused.push(p.nb.slug);
    }
    await pool(toExecute, opts.jobs ?? 2, async (p) => {
      const { nb, inputs, why } = p;
      log(`report: executing ${nb.slug} (${why}) ...`);
      const res = await runOne(nb, {
        cellTimeoutS,
        data,
        executedDir,
        env: { ...opts.env, ...kernelPaths },
        inputs,
      });
      const m = runMeta(res);
      log(
        `report: ${nb.slug} ${m.ok ? "ok" : "FAILED"} (${
          ((m.durationMs ?? 0) / 1000).toFixed(1)
        } s)` +
          (m.ok ? "" : `: ${m.error?.ename}: ${m.error?.evalue}`),
      );
      executed.push(nb.slug);
      p.kept = res;
    });
    phase("notebooks");
    // Every run of this build, executed or kept, adds its kernel's sessions to the build's log,
    // in notebook order (the same records whichever way the run came).
    for (const { kept } of plan) {
      const lines = (kept?.metadata.ferkit as { sessionLog?: unknown } | undefined)?.sessionLog;
      if (Array.isArray(lines) && lines.length > 0) {
        await Deno.writeTextFile(buildLog, lines.map(String).join("\n") + "\n", {
          append: true,
          create: true,
        });
      }
    }
  }
  const dropped = await dropRemovedNotebooks(outDir, all);
  for (const slug of dropped.slugs) {
    log(`report: removed ${slug} from the site (its notebook is gone)`);
  }
  if (dropped.pdf) log(`report: removed ${PDF_FILE}, which printed them (--pdf prints it again)`);
  // A PDF printed before this build shows the old numbers of every page that ran again.
  if (executed.length > 0 && !dropped.pdf) {
    const removed = await Deno.remove(join(outDir, PDF_FILE)).then(() => true, (e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      return false;
    });
    if (removed) {
      log(
        `report: removed the old ${PDF_FILE} (${executed.length} page(s) ran again; --pdf prints it)`,
      );
    }
  }
  // Load every notebook's latest executed copy (this build's, or an earlier one).
  const loaded: { file: NotebookFile; nb: Notebook | null }[] = [];
  for (const file of all) {
    const p = join(executedDir, `${file.slug}.ipynb`);
    loaded.push({ file, nb: (await exists(p)) ? await readNotebook(p) : null });
  }
  const findings: Finding[] = [];
  const records: ProvenanceRecord[] = [];
  const summaries: NotebookSummary[] = [];
  for (const { file, nb } of loaded) {
    if (nb === null) {
      const src = await readNotebook(file.path).catch(() => null);
      summaries.push({
        slug: file.slug,
        title: src ? notebookTitle(src, file.slug) : file.slug,
        state: "not built",
        findings: 0,
      });
      continue;
    }
    const m = runMeta(nb);
    let fs: Finding[] = [];
    let err = m.ok ? undefined : `${m.error?.ename ?? "Error"}: ${m.error?.evalue ?? ""}`;
    try {
      fs = collectFindings(nb, file.slug);
      records.push(...collectProvenance(nb, file.slug));
    } catch (e) {
      err = e instanceof Error ? e.message : String(e);
    }
    findings.push(...fs);
    summaries.push({
      slug: file.slug,
      title: notebookTitle(nb, file.slug),
      state: m.ok && err === undefined ? "ok" : "failed",
      durationMs: m.durationMs,
      executedAt: m.executedAt,
      error: err,
      findings: fs.length,
      kernel: m.kernel?.implementation
        ? `${m.kernel.implementation} ${m.kernel.implementation_version ?? ""}`.trim()
        : undefined,
    });
  }

  const title = opts.title ?? "fer-kit report";
  const nav = (current?: string): NavItem[] => [
    { href: "index.html", label: "Overview", current: current === undefined },
    ...summaries.filter((s) => s.state !== "not built").map((s) => ({
      href: `${s.slug}.html`,
      label: s.title === s.slug || s.title.startsWith(s.slug.slice(0, 2))
        ? s.title
        : `${s.slug.slice(0, 2)} · ${s.title}`,
      current: current === s.slug,
      failed: s.state === "failed",
    })),
    {
      href: NOT_REPRODUCED_PAGE,
      label: "Not reproduced",
      current: current === "not-reproduced",
    },
  ];
  phase("reading runs");
  const kit = await kitProvenance(data);
  phase("provenance");
  const footer = `${title} · generated ${kit.generatedAt}${
    kit.commit ? ` · kit ${kit.commit.slice(0, 10)}${kit.dirty ? "+dirty" : ""}` : ""
  }`;

  for (const { file, nb } of loaded) {
    if (nb === null) continue;
    const s = summaries.find((x) => x.slug === file.slug);
    await writeFileAtomic(
      join(outDir, `${file.slug}.html`),
      renderPage({
        title: `${s?.title ?? file.slug} — ${title}`,
        css: "assets/report.css",
        nav: nav(file.slug),
        body: renderNotebookBody(nb, file.slug),
        footer,
      }),
    );
  }
  // The claims of notebooks that emitted no claim findings (not built, or built before the
  // scorecard): computed here by the same functions, from the cached predictions (and, for the
  // probe claim, the probe matrices notebook 01 computes, read from the study cache).
  phase("pages");
  const fed = new Set(
    findings.filter((f) => f.id.startsWith("claim.")).map((f) => (f.notebook ?? "").slice(0, 2)),
  );
  const unfed = CLAIMS.filter((c) => c.rule.kind !== "not-testable" && !fed.has(c.notebook));
  if ((opts.claimEvidence ?? opts.notebooksDir === undefined) && unfed.length > 0) {
    try {
      log(
        `report: computing the findings of ${unfed.length} claim(s) no notebook emitted ` +
          "from the cached predictions ...",
      );
      const ids = unfed.map((c) => c.id);
      const inputs = await gatherEvidence({
        dataRoot: data,
        ...(ids.includes("jamroz-probe-transfer") ? { probes: "compute" as const } : {}),
      });
      const withAudit = !findings.some((f) => f.id.startsWith("contamination."));
      findings.push(...claimFindings(inputs, ids, withAudit));
    } catch (e) {
      log(`report: scorecard findings not computed: ${e instanceof Error ? e.message : e}`);
    }
  }
  phase("claims");
  const rows = scorecard(findings);
  await writeFileAtomic(
    join(outDir, NOT_REPRODUCED_PAGE),
    renderPage({
      title: `What was not reproduced — ${title}`,
      css: "assets/report.css",
      nav: nav("not-reproduced"),
      body: renderNotReproducedBody(rows),
      footer,
    }),
  );
  const indexPath = join(outDir, "index.html");
  await writeFileAtomic(
    indexPath,
    renderPage({
      title,
      css: "assets/report.css",
      nav: nav(),
      body: renderIndexBody({
        title,
        findings,
        notebooks: summaries,
        kit,
        records,
        scorecard: rows,
      }),
      footer,
    }),
  );
  await writeFileAtomic(join(outDir, "assets", "report.css"), await Deno.readTextFile(REPORT_CSS));
  await writeFileAtomic(
    join(outDir, "findings.json"),
    JSON.stringify(
      { kit, findings, scorecard: rows, provenance: records, notebooks: summaries },
      null,
      2,
    ) +
      "\n",
  );
  // Keep last: downloads (and references) for every page written above.
  phase("index");
  await publishSite(outDir, { records, kit, version: await kitVersion(PROJECT_ROOT) });
  phase("downloads and references");
  log(
    `report: time by step: ${
      phases.map(([n, ms]) => `${n} ${(ms / 1000).toFixed(2)} s`).join(", ")
    }`,
  );
  const failed = summaries.filter((s) => s.state === "failed").map((s) => s.slug);
  const notBuilt = summaries.filter((s) => s.state === "not built").map((s) => s.slug);
  return {
    ok: failed.length === 0 && notBuilt.length === 0,
    executed: all.filter((n) => executed.includes(n.slug)).map((n) => n.slug),
    reused: all.filter((n) => reused.includes(n.slug)).map((n) => n.slug),
    failed,
    notBuilt,
    findings,
    indexPath,
    durationMs: performance.now() - t0,
  };
}
