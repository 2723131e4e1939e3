/**
 * Shards: a deterministic partition of a dataset's items into N parts, for running one part per
 * machine (a Slurm array task, a Kubernetes Job index) and merging the caches afterwards.
 *
 * An item belongs to shard `shardOf(key, N)`, where `key` is the item's content key (the hash
 * its cache entry is stored under). The function reads nothing but the key, so the partition is
 * the same on every machine, does not depend on the order the items were listed in, and puts
 * items with the same content in the same shard (they share one cache entry). Every item is in
 * exactly one shard. Sizes are balanced in expectation (a hash partition: about n/N ± √(n/N)).
 */
import { createHash } from "node:crypto";

/** Shard `index` of `count` (0 ≤ index < count), written `index/count` on command lines. */
export interface Shard {
  index: number;
  count: number;
}

/** Version tag hashed with each key; bump it and every partition changes. */
const SHARD_VERSION = "fer-kit-shard-v1";

/**
 * Parse `i/N` (e.g. `0/3`): integers with 0 ≤ i < N. Throws a RangeError that quotes the text
 * when it is not of that form.
 */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (m === null) throw new RangeError(`shard must be i/N (e.g. 0/3), got "${text}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(`shard count must be at least 1, got "${text}"`);
  }
  if (index >= count) {
    throw new RangeError(`shard index must be below the count (0..${count - 1}), got "${text}"`);
  }
  return { index, count };
}

/** `i/N`, the inverse of parseShard. */
export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/**
 * The shard (0..count-1) an item with content key `key` belongs to: the first 8 bytes of
 * SHA-256("fer-kit-shard-v1\n" + key), read as an unsigned big-endian integer, modulo `count`.
 */
export function shardOf(key: string, count: number): number {
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(`shard count must be a positive integer, got ${count}`);
  }
  if (count === 1) return 0;
  const digest = createHash("sha256").update(`${SHARD_VERSION}\n${key}`).digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(count));
}

/** Whether the item with content key `key` is in `shard`. */
export function inShard(key: string, shard: Shard): boolean {
  return shardOf(key, shard.count) === shard.index;
}

/**
 * The items of `shard`, in their given order; `keyOf` gives each item's content key. Without a
 * shard, all items.
 */
export function selectShard<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  shard: Shard | undefined,
): T[] {
  if (shard === undefined) return items.slice();
  return items.filter((item) => inShard(keyOf(item), shard));
}
