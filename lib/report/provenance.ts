/** What the report records about the software that produced it (the provenance block). */
import { join } from "node:path";
import { PROJECT_ROOT } from "../config.ts";
import {
  currentSessionLog,
  type ProducerRecord,
  readProducerLog,
  readSessionLog,
  resolveProvider,
  type SessionRecord,
  sessionsOpened,
  summarizeProducers,
  summarizeSessions,
} from "../provider.ts";

/** Versions and source state of the kit at build time. */
export interface KitProvenance {
  /** Git commit of the kit (full hash), or null outside a git checkout. */
  commit: string | null;
  /** True when the checkout has uncommitted changes. */
  dirty: boolean;
  deno: string;
  v8: string;
  typescript: string;
  /** onnxruntime-node version installed (or pinned in deno.json), or null. */
  onnxruntime: string | null;
  /** Data root the notebooks were given (FER_DATA). */
  dataRoot: string;
  /** ISO 8601 time the site was generated. */
  generatedAt: string;
  /** Execution provider asked for (FER_PROVIDER or --provider) and whether a failure stops. */
  providerRequested: string;
  /**
   * The providers that ran the inference sessions opened during this build (warm-up and
   * notebook kernels), one summary line per provider and fallback (lib/provider.ts).
   */
  providers: string[];
  /** Providers that produced the predictions the build used, cached ones included. */
  predictionProducers: string[];
}

async function git(args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command("git", {
      args,
      cwd: PROJECT_ROOT,
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.code === 0 ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

/** onnxruntime-node's version: the installed package.json, else the deno.json pin. */
export async function onnxruntimeVersion(): Promise<string | null> {
  try {
    const pkg = JSON.parse(
      await Deno.readTextFile(join(PROJECT_ROOT, "node_modules/onnxruntime-node/package.json")),
    );
    if (typeof pkg.version === "string") return pkg.version;
  } catch { /* not installed here */ }
  try {
    const cfg = JSON.parse(await Deno.readTextFile(join(PROJECT_ROOT, "deno.json")));
    const spec = String(cfg.imports?.["onnxruntime-node"] ?? "");
    const m = spec.match(/@([0-9][^/]*)$/);
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

/**
 * Sessions opened during this build: those in the session log the report command set up
 * (FER_SESSION_LOG, written by every process it started), else this process's own.
 */
function buildSessions(): readonly SessionRecord[] {
  const log = currentSessionLog();
  return log ? readSessionLog(log) : sessionsOpened();
}

function buildProducers(): ProducerRecord[] {
  const log = currentSessionLog();
  return log ? readProducerLog(log) : [];
}

/** Gather the kit's provenance now (git state, runtime versions, providers used). */
export async function kitProvenance(dataRoot: string): Promise<KitProvenance> {
  const choice = resolveProvider();
  const commit = await git(["rev-parse", "HEAD"]);
  const status = commit === null
    ? null
    : await git(["status", "--porcelain", "--untracked-files=no"]);
  return {
    commit,
    dirty: status !== null && status !== "",
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    onnxruntime: await onnxruntimeVersion(),
    dataRoot,
    generatedAt: new Date().toISOString(),
    providerRequested: `${choice.provider}${choice.strict ? " (strict)" : ""}`,
    providers: summarizeSessions(buildSessions()),
    predictionProducers: summarizeProducers(buildProducers()),
  };
}
