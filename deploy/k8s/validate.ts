/**
 * Schema check of the kit's Kubernetes manifests without a cluster:
 * `deno run -A deploy/k8s/validate.ts deploy/k8s/predict-job.yaml`.
 *
 * `kubectl apply --dry-run=client` needs an API server (it downloads the server's OpenAPI
 * document), so it cannot run here. This checks each YAML document against the Kubernetes API
 * schema that the kubernetes-models package generates from the Kubernetes OpenAPI spec, in two
 * passes: its JSON-schema validators (required fields, types, enums, formats) and, for fields
 * the schema does not know (a misspelt `completionsMode`, `volumeMount`), TypeScript's
 * excess-property check of the document against the package's generated interfaces
 * (`deno check`). Every problem names the file, the document (kind/name, line) and the field.
 */
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { Job } from "kubernetes-models/batch/v1/Job";
import { PROJECT_ROOT } from "../../lib/config.ts";

/** The kinds the kit's manifests use: `apiVersion/kind` → model class and its interface. */
const KINDS: Record<string, { model: new (data: never) => { validate(): void }; iface: string }> = {
  "batch/v1/Job": { model: Job, iface: 'import("kubernetes-models/batch/v1/Job").IJob' },
  "v1/ConfigMap": {
    model: ConfigMap,
    iface: 'import("kubernetes-models/v1/ConfigMap").IConfigMap',
  },
  "v1/PersistentVolumeClaim": {
    model: PersistentVolumeClaim,
    iface: 'import("kubernetes-models/v1/PersistentVolumeClaim").IPersistentVolumeClaim',
  },
};

/** One parsed document of a manifest file. */
export interface ManifestDoc {
  /** 1-based line of the document's start in the file. */
  line: number;
  kind: string;
  name: string;
  value: Record<string, unknown>;
}

/** Parse every YAML document of `text`; YAML errors name the file and line. */
export function parseManifest(text: string, file: string): ManifestDoc[] {
  const lineOf = (offset: number) => text.slice(0, offset).split("\n").length;
  const docs: ManifestDoc[] = [];
  for (const doc of parseAllDocuments(text)) {
    if ("errors" in doc && doc.errors.length > 0) {
      const e = doc.errors[0];
      throw new Error(`${file}:${lineOf(e.pos[0])}: ${e.message.split("\n")[0]}`);
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    const line = lineOf(doc.contents?.range?.[0] ?? 0);
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new Error(`${file}:${line}: a document must be a mapping (a Kubernetes object)`);
    }
    const v = value as Record<string, unknown>;
    const meta = (v.metadata ?? {}) as Record<string, unknown>;
    docs.push({ line, kind: String(v.kind ?? ""), name: String(meta.name ?? ""), value: v });
  }
  return docs;
}

/**
 * Every schema problem of the manifest `file` (empty when it is valid). Runs `deno check` once
 * for the whole file (a few seconds).
 */
export async function validateManifestFile(file: string): Promise<string[]> {
  const docs = parseManifest(await Deno.readTextFile(file), file);
  const problems: string[] = [];
  const where = (d: ManifestDoc) => `${file}:${d.line} (${d.kind || "?"} ${d.name || "?"})`;
  const typed: { doc: ManifestDoc; iface: string }[] = [];
  for (const d of docs) {
    const key = `${d.value.apiVersion}/${d.kind}`;
    const k = KINDS[key];
    if (k === undefined) {
      problems.push(`${where(d)}: no schema here for ${key} (known: ${Object.keys(KINDS)})`);
      continue;
    }
    if (d.name === "") problems.push(`${where(d)}: metadata.name is required`);
    try {
      new k.model(d.value as never).validate();
    } catch (e) {
      problems.push(`${where(d)}: ${e instanceof Error ? e.message : String(e)}`);
    }
    typed.push({ doc: d, iface: k.iface });
  }
  if (typed.length > 0) problems.push(...await typeCheck(typed, where));
  return problems;
}

/** TypeScript's check of each document as an object literal of its kind's interface. */
async function typeCheck(
  docs: { doc: ManifestDoc; iface: string }[],
  where: (d: ManifestDoc) => string,
): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "fer-k8s-check-" });
  try {
    const src = join(dir, "manifest_check.ts");
    const lines = docs.map(({ doc, iface }, i) =>
      `export const doc${i}: ${iface} = ${JSON.stringify(doc.value)};`
    );
    await Deno.writeTextFile(src, lines.join("\n") + "\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "-q", "--config", join(PROJECT_ROOT, "deno.json"), src],
      cwd: PROJECT_ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.code === 0) return [];
    // deno check prints "TSxxxx [ERROR]: message\n    at file:///...:LINE:COL"; line i+1 is doc i.
    // deno-lint-ignore no-control-regex
    const text = new TextDecoder().decode(out.stderr).replace(/\x1b\[[0-9;]*m/g, "");
    const problems: string[] = [];
    for (const m of text.matchAll(/(TS\d+) \[ERROR\]: ([^\n]+)\n\s+at [^\n]*:(\d+):\d+/g)) {
      const d = docs[Number(m[3]) - 1]?.doc;
      problems.push(`${d ? where(d) : "?"}: ${m[2]} (${m[1]})`);
    }
    return problems.length > 0 ? problems : [`deno check failed: ${text.trim()}`];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  let bad = 0;
  for (const file of Deno.args) {
    const problems = await validateManifestFile(file);
    for (const p of problems) console.error(p);
    if (problems.length === 0) console.log(`${file}: valid`);
    bad += problems.length;
  }
  Deno.exit(bad > 0 ? 1 : 0);
}
