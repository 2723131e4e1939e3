/** Where the kit finds its data and keeps its caches. */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the project root (the folder holding deno.json). */
export const PROJECT_ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The data root: an explicit `--data` value wins, then the `FER_DATA` environment variable,
 * then `data/raw` under the project root. Relative paths resolve against the current directory.
 */
export function dataRoot(flag?: string): string {
  const chosen = flag ?? Deno.env.get("FER_DATA");
  return chosen ? resolve(chosen) : join(PROJECT_ROOT, "data", "raw");
}

/** Cache folder for predictions, embeddings and fetched model packages (`FER_CACHE` overrides). */
export function cacheRoot(): string {
  const env = Deno.env.get("FER_CACHE");
  return env ? resolve(env) : join(PROJECT_ROOT, ".cache");
}
