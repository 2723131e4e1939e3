/**
 * Execution providers for every onnxruntime session the kit opens (classifiers, embeddings and
 * probes, saliency, face detectors): which one is asked for, the fallback to cpu, and a record
 * of what actually ran.
 *
 * The provider comes from the session's own option, else `FER_PROVIDER` (cpu, webgpu or cuda),
 * else cpu. A provider that cannot start falls back to cpu with a note on stderr, or stops with
 * ProviderUnavailableError when strict (`strict` option, else `FER_PROVIDER_STRICT=1`). The
 * CLI's `--provider` and `--strict` set these two variables, so notebook kernels and other child
 * processes inherit them.
 *
 * Every session opened is recorded (sessionsOpened); when `FER_SESSION_LOG` names a file, a JSON
 * line per session is appended to it too, which is how the report collects the providers its
 * notebook kernels used. Sessions themselves are opened by lib/session.ts; this module stays free
 * of onnxruntime so that the CLI can read the flags without loading it.
 */
/** Execution providers the kit knows. */
export type Provider = "cpu" | "webgpu" | "cuda";

/** Every provider, in the order the kit tries and lists them. */
export const PROVIDERS: readonly Provider[] = ["cpu", "webgpu", "cuda"];

/** Environment variable naming the default provider. */
export const PROVIDER_ENV = "FER_PROVIDER";
/** Environment variable that makes a failing provider an error ("1") instead of a fallback. */
export const STRICT_ENV = "FER_PROVIDER_STRICT";
/** Environment variable naming a JSON-lines file that collects every session opened. */
export const SESSION_LOG_ENV = "FER_SESSION_LOG";

/** The requested provider could not start and strict mode forbids the cpu fallback. */
export class ProviderUnavailableError extends Error {
  constructor(readonly provider: Provider, readonly what: string, readonly reason: string) {
    super(`execution provider "${provider}" is not available for ${what}: ${reason}`);
    this.name = "ProviderUnavailableError";
  }
}

/** Which provider to ask for and whether a failure stops the run. */
export interface ProviderChoice {
  provider?: Provider;
  strict?: boolean;
}

/** `name` as a Provider; throws naming `source` (a flag or variable) for anything else. */
export function parseProvider(name: string, source: string): Provider {
  const p = name.trim().toLowerCase();
  if (!(PROVIDERS as readonly string[]).includes(p)) {
    throw new Error(`${source} must be one of ${PROVIDERS.join(", ")}, got "${name}"`);
  }
  return p as Provider;
}

function envGet(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: the defaults
  }
}

/** The provider and strictness in effect: explicit options, else the environment, else cpu. */
export function resolveProvider(choice: ProviderChoice = {}): Required<ProviderChoice> {
  const env = envGet(PROVIDER_ENV);
  const provider = choice.provider ??
    (env !== undefined && env !== "" ? parseProvider(env, PROVIDER_ENV) : "cpu");
  const strict = choice.strict ?? ["1", "true", "yes"].includes(envGet(STRICT_ENV) ?? "");
  return { provider, strict };
}

/**
 * Make `choice` the default of this process and of the processes it starts (sets FER_PROVIDER
 * and FER_PROVIDER_STRICT). Undefined fields leave the current setting.
 */
export function setDefaultProvider(choice: ProviderChoice): void {
  if (choice.provider !== undefined) Deno.env.set(PROVIDER_ENV, choice.provider);
  if (choice.strict !== undefined) Deno.env.set(STRICT_ENV, choice.strict ? "1" : "0");
}

/** One session the kit opened: what for, the provider asked for and the one that runs it. */
export interface SessionRecord {
  /** What the session serves: "model <id>", "detector <id>", "saliency", ... */
  what: string;
  requested: Provider;
  provider: Provider;
  /** Why the requested provider did not run, when it did not. */
  note?: string;
  onnxruntime: string;
}

const opened: SessionRecord[] = [];

/** The session log this isolate writes to instead of FER_SESSION_LOG (withSessionLog). */
let sessionLogOverride: string | undefined;

/**
 * Run `fn` with this isolate's sessions and producers logged to `path`, without touching the
 * process environment (which parallel test modules and other isolates share).
 */
export async function withSessionLog<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const before = sessionLogOverride;
  sessionLogOverride = path;
  try {
    return await fn();
  } finally {
    sessionLogOverride = before;
  }
}

/** The session log in effect: withSessionLog's, else FER_SESSION_LOG, else none. */
export function currentSessionLog(): string | undefined {
  const log = sessionLogOverride ?? envGet(SESSION_LOG_ENV);
  return log === "" ? undefined : log;
}

/** Sessions opened by this process so far, oldest first. */
export function sessionsOpened(): readonly SessionRecord[] {
  return opened;
}

/** Record a session opened (lib/session.ts does, for every session). */
export function recordSession(rec: SessionRecord): void {
  opened.push(rec);
  const log = currentSessionLog();
  if (log === undefined) return;
  try {
    Deno.writeTextFileSync(log, JSON.stringify(rec) + "\n", { append: true, create: true });
  } catch (e) {
    console.error(`provider: cannot append to ${SESSION_LOG_ENV} ${log}: ${e}`);
  }
}

/** A predictions table's rows by producer, as logged for the report (recordProducers). */
export interface ProducerRecord {
  kind: "predictions";
  what: string;
  producers: { provider: string; onnxruntime: string; rows: number }[];
}

/**
 * Log which providers produced a predictions table's rows (cached rows keep their original
 * producer) to FER_SESSION_LOG, when set: the report lists them in its provenance.
 */
export function recordProducers(what: string, producers: ProducerRecord["producers"]): void {
  const log = currentSessionLog();
  if (log === undefined) return;
  const rec: ProducerRecord = { kind: "predictions", what, producers };
  try {
    Deno.writeTextFileSync(log, JSON.stringify(rec) + "\n", { append: true, create: true });
  } catch (e) {
    console.error(`provider: cannot append to ${SESSION_LOG_ENV} ${log}: ${e}`);
  }
}

/** The predictions records of a session log file. */
export function readProducerLog(path: string): ProducerRecord[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return [];
  }
  const out: ProducerRecord[] = [];
  for (const line of text.split("\n")) {
    try {
      const r = JSON.parse(line) as ProducerRecord;
      if (r?.kind === "predictions" && Array.isArray(r.producers)) out.push(r);
    } catch { /* empty or cut-short line */ }
  }
  return out;
}

/**
 * The producers behind the predictions tables a build used, one line each ("cpu (onnxruntime
 * 1.30.0): 14 tables"); "unknown" stands for cache chunks written before producers were recorded.
 */
export function summarizeProducers(records: readonly ProducerRecord[]): string[] {
  const tables = new Map<string, Set<string>>();
  for (const r of records) {
    for (const p of r.producers) {
      const key = `${p.provider} (onnxruntime ${p.onnxruntime})`;
      const set = tables.get(key) ?? new Set<string>();
      set.add(r.what);
      tables.set(key, set);
    }
  }
  return [...tables].map(([k, s]) => `${k}: ${s.size} predictions table${s.size === 1 ? "" : "s"}`);
}

/** Records of a session log file (FER_SESSION_LOG); malformed lines are skipped. */
export function readSessionLog(path: string): SessionRecord[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return [];
  }
  const out: SessionRecord[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const r = JSON.parse(line) as SessionRecord;
      if (typeof r?.what === "string" && typeof r.provider === "string") out.push(r);
    } catch { /* a line cut short by a killed process */ }
  }
  return out;
}

/**
 * Providers used, one line each ("cpu: 12 sessions", "cpu instead of webgpu: 3 sessions —
 * reason"), for provenance blocks.
 */
export function summarizeSessions(records: readonly SessionRecord[]): string[] {
  const groups = new Map<string, { n: number; note?: string }>();
  for (const r of records) {
    const key = r.requested === r.provider
      ? `${r.provider} (onnxruntime ${r.onnxruntime})`
      : `${r.provider} instead of ${r.requested} (onnxruntime ${r.onnxruntime})`;
    const g = groups.get(key) ?? { n: 0, note: r.note };
    g.n++;
    groups.set(key, g);
  }
  return [...groups].map(([key, g]) =>
    `${key}: ${g.n} session${g.n === 1 ? "" : "s"}${g.note ? ` — ${g.note}` : ""}`
  );
}

/** The gist of an onnxruntime error: from its "Failed to ..." sentence when it has one. */
export function errorGist(s: string): string {
  const at = s.indexOf("Failed to");
  const text = at >= 0 ? s.slice(at) : s;
  const line = text.split("\n").find((l) => l.trim() !== "") ?? text;
  return line.length > 200 ? line.slice(0, 197) + "..." : line;
}

/** What each provider needs, for fallback notes. */
export const PROVIDER_NEEDS: Readonly<Record<Provider, string>> = {
  cpu: "",
  webgpu: "webgpu needs a GPU adapter: libvulkan1 and the GPU driver's Vulkan ICD (docs/gpu.md)",
  cuda: "cuda needs onnxruntime's CUDA provider libraries, CUDA 12 and cuDNN 9 (docs/gpu.md)",
};
