/** Small file-system helpers shared by loaders, caches and the report. */
import { dirname } from "node:path";

/** True when a file or folder exists at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** A file that could not be written; the message names the target (never a temporary file). */
export class WriteError extends Error {
  constructor(readonly path: string, readonly reason: string) {
    super(`cannot write ${path}: ${reason}`);
    this.name = "WriteError";
  }
}

/** The OS's reason in a file-system error, without the temporary file's name. */
function writeReason(e: unknown, tmp: string): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/: (open|rename|mkdir|write)\s+'[^']*'.*$/, "").replace(tmp, "<tmp>");
}

/**
 * Write a file atomically: write to a temporary sibling, then rename over the target,
 * so a killed process never leaves a half-written file behind. On failure the temporary file
 * is removed and a WriteError names the target.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new WriteError(path, writeReason(e, tmp));
  }
}

/**
 * Check, before long work, that `path` can be written (its folder is created): a WriteError
 * naming it otherwise. Leaves no file behind.
 */
export async function checkWritable(path: string): Promise<void> {
  try {
    await writeFileAtomic(`${path}.probe`, "");
  } catch (e) {
    throw e instanceof WriteError ? new WriteError(path, e.reason) : e;
  }
  await Deno.remove(`${path}.probe`).catch(() => {});
}

/** Hex SHA-256 of bytes or text. */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
