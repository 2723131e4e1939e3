/**
 * Content-addressed chunk files, the unit of the prediction and embedding caches
 * (lib/prediction_cache.ts, lib/embedding_cache.ts): a chunk is JSON stored as
 * `chunk-<SHA-256 hex of the file's bytes>.json`, written atomically and never rewritten. A chunk
 * is read only when its bytes still hash to its name and parse; each cache then checks its own
 * version, key and entries. {@link readChunkFolder} walks a cache folder for all of them.
 */
import { join } from "node:path";
import { sha256Hex, writeFileAtomic } from "./fsutil.ts";

/** A chunk file's name; group 1 is the SHA-256 of its bytes. */
export const CHUNK_NAME = /^chunk-([0-9a-f]{64})\.json$/;

/**
 * Read a chunk file: its name must be a {@link CHUNK_NAME}, its bytes must hash to that name and
 * parse as JSON. Returns the parsed value, or the reason it cannot be used.
 */
export async function readChecksummedChunk(
  path: string,
): Promise<{ json: unknown } | { reason: string }> {
  const m = CHUNK_NAME.exec(path.slice(path.lastIndexOf("/") + 1));
  if (m === null) return { reason: "not a chunk file name" };
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    return { reason: `unreadable: ${e instanceof Error ? e.message : String(e)}` };
  }
  if ((await sha256Hex(bytes)) !== m[1]) return { reason: "checksum mismatch (edited or damaged)" };
  try {
    return { json: JSON.parse(new TextDecoder().decode(bytes)) };
  } catch {
    return { reason: "not valid JSON" };
  }
}

/** Write `value` atomically as `chunk-<sha256>.json` in `dir`; returns its path. */
export async function writeChecksummedChunk(dir: string, value: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  const path = join(dir, `chunk-${await sha256Hex(bytes)}.json`);
  await writeFileAtomic(path, bytes);
  return path;
}

/**
 * Read every `chunk-*.json` of `dir` in name order (a missing folder holds none): `verify` checks
 * each file, then `accept` may still refuse a verified chunk (returning the reason) or takes its
 * entries (returning undefined). Refused files are returned and, unless `quarantine` is false,
 * renamed `bad-<name>` so they are not read again.
 */
export async function readChunkFolder<T>(
  dir: string,
  verify: (path: string) => Promise<{ chunk: T } | { reason: string }>,
  accept: (path: string, chunk: T) => string | undefined,
  opts: { quarantine?: boolean } = {},
): Promise<{ file: string; reason: string }[]> {
  let names: string[];
  try {
    names = (await Array.fromAsync(Deno.readDir(dir)))
      .filter((e) => e.isFile && e.name.startsWith("chunk-") && e.name.endsWith(".json"))
      .map((e) => e.name)
      .sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const bad: { file: string; reason: string }[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const r = await verify(path);
    const reason = "reason" in r ? r.reason : accept(path, r.chunk);
    if (reason === undefined) continue;
    bad.push({ file: path, reason });
    if (opts.quarantine !== false) {
      await Deno.rename(path, join(dir, `bad-${name}`)).catch(() => {});
    }
  }
  return bad;
}
