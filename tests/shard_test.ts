import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { formatShard, inShard, parseShard, selectShard, shardOf } from "../lib/shard.ts";
import { mulberry32, shuffleInPlace } from "../lib/random.ts";

/** 3000 distinct content-like keys (SHA-256 hex of "item-<i>"). */
const KEYS = Array.from(
  { length: 3000 },
  (_, i) => createHash("sha256").update(`item-${i}`).digest("hex"),
);

Deno.test("parseShard reads i/N and refuses what is not a shard, quoting it", () => {
  assert.deepEqual(parseShard("0/3"), { index: 0, count: 3 });
  assert.deepEqual(parseShard(" 2 / 3 "), { index: 2, count: 3 });
  assert.deepEqual(parseShard("0/1"), { index: 0, count: 1 });
  assert.equal(formatShard(parseShard("15/16")), "15/16");
  assert.throws(() => parseShard("3/3"), /index must be below the count \(0\.\.2\), got "3\/3"/);
  assert.throws(() => parseShard("0/0"), /count must be at least 1, got "0\/0"/);
  assert.throws(() => parseShard("1"), /must be i\/N \(e\.g\. 0\/3\), got "1"/);
  assert.throws(() => parseShard("-1/3"), /must be i\/N/);
  assert.throws(() => parseShard("1.5/3"), /must be i\/N/);
});

Deno.test("shardOf matches values computed independently with Python's hashlib", () => {
  // int.from_bytes(sha256(b"fer-kit-shard-v1\n" + key).digest()[:8], "big") % N, for N = 2, 3, 7,
  // 1000 (Python 3.11 hashlib). A change here re-partitions every sharded run ever made.
  const expected: [string, number[]][] = [
    ["a", [1, 0, 4, 743]],
    ["fer0000123.png", [0, 2, 2, 450]],
    ["S005_001_00000011", [1, 2, 0, 369]],
    ["27276ddb5fec00e50a566a875b12e0ec14f075ff739fcb8ae9926392dbec3411", [0, 0, 5, 130]],
    ["", [0, 0, 5, 182]],
  ];
  for (const [key, byCount] of expected) {
    assert.deepEqual([2, 3, 7, 1000].map((n) => shardOf(key, n)), byCount, key);
    assert.equal(shardOf(key, 1), 0);
  }
  assert.throws(() => shardOf("a", 0), /positive integer, got 0/);
});

Deno.test("every item is in exactly one shard, for N = 1, 2, 3 and 16", () => {
  for (const count of [1, 2, 3, 16]) {
    const owner = new Map<string, number>();
    for (let index = 0; index < count; index++) {
      for (const key of selectShard(KEYS, (k) => k, { index, count })) {
        assert.equal(owner.get(key), undefined, `${key} in shards ${owner.get(key)} and ${index}`);
        owner.set(key, index);
        assert.ok(inShard(key, { index, count }));
      }
    }
    assert.equal(owner.size, KEYS.length, `N=${count}: every item in some shard`);
  }
});

Deno.test("a shard holds the same items whatever order the dataset lists them in", () => {
  const shuffled = KEYS.slice();
  shuffleInPlace(shuffled, mulberry32(7));
  for (let index = 0; index < 3; index++) {
    const shard = { index, count: 3 };
    const a = selectShard(KEYS, (k) => k, shard);
    const b = selectShard(shuffled, (k) => k, shard);
    assert.deepEqual(new Set(b), new Set(a));
    // Order within the shard follows the input order.
    assert.deepEqual(b, shuffled.filter((k) => new Set(a).has(k)));
  }
});

Deno.test("items with the same content key land in the same shard", () => {
  const items = [
    { id: "x1", key: KEYS[5] },
    { id: "x2", key: KEYS[5] },
    { id: "y", key: KEYS[6] },
  ];
  for (let index = 0; index < 5; index++) {
    const ids = selectShard(items, (it) => it.key, { index, count: 5 }).map((it) => it.id);
    assert.ok(ids.includes("x1") === ids.includes("x2"), `shard ${index}: ${ids}`);
  }
});

Deno.test("shard sizes are balanced: 3000 items in 3 shards, each within 1000 ± 100", () => {
  const sizes = [0, 1, 2].map((index) => selectShard(KEYS, (k) => k, { index, count: 3 }).length);
  assert.equal(sizes[0] + sizes[1] + sizes[2], 3000);
  for (const s of sizes) assert.ok(Math.abs(s - 1000) <= 100, `sizes ${sizes}`);
});
