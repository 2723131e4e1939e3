/**
 * A small JSON cache for study results that are slow to compute (saliency maps, probe matrices):
 * `<cacheRoot()>/studies/<kind>/<key>.json`, key = SHA-256 of the canonical JSON of everything
 * the result depends on (model hashes, dataset hashes, settings). A second run with unchanged
 * inputs reads the file instead of recomputing; any changed input gives a new key.
 */
import { join } from "node:path";
import { cacheRoot } from "../config.ts";
import { sha256Hex, writeFileAtomic } from "../fsutil.ts";

/** Version of the study cache layout; part of every key. */
export const STUDY_CACHE_VERSION = 1;

/** Folder of one kind of cached study result (under `root`, default `<cacheRoot()>/studies`). */
export function studyCacheDir(kind: string, root?: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(kind)) {
    throw new Error(`study cache kind "${kind}" must be lower-case letters, digits and dashes`);
  }
  return join(root ?? join(cacheRoot(), "studies"), kind);
}

/** Canonical JSON: object keys sorted at every level, so equal inputs give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const src = v as Record<string, unknown>;
      return Object.fromEntries(Object.keys(src).sort().map((k) => [k, src[k]]));
    }
    return v;
  });
}

/** The cache key (hex SHA-256) of a result's inputs. */
export async function studyCacheKey(kind: string, inputs: unknown): Promise<string> {
  return await sha256Hex(canonicalJson({ v: STUDY_CACHE_VERSION, kind, inputs }));
}

/** Where a cached result came from, for the notebook's provenance lines. */
export interface CachedResult<T> {
  value: T;
  /** True when read from the cache, false when computed by this call. */
  hit: boolean;
  key: string;
  path: string;
  /** Seconds spent (reading or computing). */
  seconds: number;
}

/**
 * The result for `inputs`: read from the cache when present and readable, else computed by
 * `compute` and written atomically. `compute` must return JSON-serialisable data. A damaged
 * cache file is recomputed, never an error. `useCache: false` always computes (and writes).
 */
export async function cachedJson<T>(
  kind: string,
  inputs: unknown,
  compute: () => Promise<T>,
  opts: { useCache?: boolean; root?: string } = {},
): Promise<CachedResult<T>> {
  const t0 = performance.now();
  const key = await studyCacheKey(kind, inputs);
  const path = join(studyCacheDir(kind, opts.root), `${key}.json`);
  if (opts.useCache !== false) {
    try {
      const stored = JSON.parse(await Deno.readTextFile(path)) as { key: string; value: T };
      if (stored.key === key) {
        return { value: stored.value, hit: true, key, path, seconds: elapsed(t0) };
      }
    } catch {
      // missing or damaged: compute below
    }
  }
  const value = await compute();
  await writeFileAtomic(path, JSON.stringify({ key, inputs, value }));
  return { value, hit: false, key, path, seconds: elapsed(t0) };
}

function elapsed(t0: number): number {
  return (performance.now() - t0) / 1000;
}
