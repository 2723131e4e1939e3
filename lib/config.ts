/** Where the kit finds its data and keeps its caches. */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the project root (the folder holding deno.json). */
export const PROJECT_ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Where a folder setting is read: the process environment by default; the report's input key
 * passes a build's own settings and kit folder, so it hashes the folders the kernels will read.
 */
export interface SettingsSource {
  env: (name: string) => string | undefined;
  /** The kit's folder (default PROJECT_ROOT). */
  kitRoot: string;
}

/** The process environment and this kit's folder. */
export const PROCESS_SETTINGS: SettingsSource = {
  env: (name) => Deno.env.get(name) || undefined,
  kitRoot: PROJECT_ROOT,
};

/**
 * The data root: an explicit `--data` value wins, then the `FER_DATA` environment variable,
 * then `data/raw` under the project root. Relative paths resolve against the current directory.
 */
export function dataRoot(flag?: string, from: SettingsSource = PROCESS_SETTINGS): string {
  const chosen = flag ?? from.env("FER_DATA");
  return chosen ? resolve(chosen) : join(from.kitRoot, "data", "raw");
}

/** Cache folder for predictions, embeddings and fetched model packages (`FER_CACHE` overrides). */
export function cacheRoot(from: SettingsSource = PROCESS_SETTINGS): string {
  const env = from.env("FER_CACHE");
  return env ? resolve(env) : join(from.kitRoot, ".cache");
}
