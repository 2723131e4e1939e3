/**
 * Cluster bootstrap (lib/metrics/cluster_bootstrap.ts) against hand-computed resamples, and its
 * exact resample distribution on two clusters.
 */
import assert from "node:assert/strict";
import {
  bootstrapValues,
  clusterBootstrapInterval,
  clusterBootstrapValues,
  clusterMembers,
} from "../lib/metrics/mod.ts";

// Six items in three clusters: a = items 0, 1 (values 1, 1); b = item 2 (0); c = items 3..5
// (1, 0, 0). Clusters are numbered by first appearance: a 0, b 1, c 2.
const clusters = ["a", "a", "b", "c", "c", "c"];
const values = [1, 1, 0, 1, 0, 0];
const mean = (idx: Int32Array) => idx.reduce((s, i) => s + values[i], 0) / idx.length;

Deno.test("clusterMembers: clusters by first appearance, items in order", () => {
  assert.deepEqual(clusterMembers(clusters).map((m) => Array.from(m)), [[0, 1], [2], [3, 4, 5]]);
});

Deno.test("cluster bootstrap: hand-computed resamples of seed 7", () => {
  // ResampleStream(3, 7) draws cluster numbers [0,1,1], [0,1,1], [1,1,2], [0,1,0] (the stream is
  // checked against numpy-independent draws in metrics_bootstrap_test.ts). So the resamples hold
  // a,b,b = items 0,1,2,2 (mean 2/4); again 2/4; b,b,c = items 2,2,3,4,5 (1/5);
  // a,b,a = items 0,1,2,0,1 (4/5).
  const seen: number[][] = [];
  const v = clusterBootstrapValues(clusters, (idx) => {
    seen.push(Array.from(idx));
    return mean(idx);
  }, { resamples: 4, seed: 7 });
  assert.deepEqual(seen, [[0, 1, 2, 2], [0, 1, 2, 2], [2, 2, 3, 4, 5], [0, 1, 2, 0, 1]]);
  assert.deepEqual(Array.from(v), [2 / 4, 2 / 4, 1 / 5, 4 / 5]);
  // Interval over those four values at level 0.5: numpy percentiles 25 and 75 of
  // [0.2, 0.5, 0.5, 0.8] with linear interpolation: index 0.75 → 0.425, index 2.25 → 0.575.
  const ci = clusterBootstrapInterval(clusters, mean, { resamples: 4, seed: 7, level: 0.5 });
  assert.equal(ci.estimate, 3 / 6);
  assert.ok(Math.abs(ci.lower - 0.425) < 1e-12, String(ci.lower));
  assert.ok(Math.abs(ci.upper - 0.575) < 1e-12, String(ci.upper));
  assert.equal(ci.clusters, 3);
});

Deno.test("cluster bootstrap: exact distribution on two clusters", () => {
  // Cluster A = three items of value 1, cluster B = one item of value 0. A resample is AA (mean 1,
  // probability 1/4), BB (0, 1/4) or AB/BA (3/4, 1/2): no other value can occur, whereas an
  // item-level bootstrap would also give 1/4 and 1/2.
  const cl = ["A", "A", "A", "B"];
  const x = [1, 1, 1, 0];
  const m = (idx: Int32Array) => idx.reduce((s, i) => s + x[i], 0) / idx.length;
  const v = Array.from(clusterBootstrapValues(cl, m, { resamples: 4000, seed: 11 }));
  const freq = (t: number) => v.filter((y) => y === t).length / v.length;
  assert.equal(freq(1) + freq(0) + freq(0.75), 1);
  assert.ok(Math.abs(freq(0.75) - 0.5) < 0.03, `P(3/4) ≈ 1/2, got ${freq(0.75)}`);
  assert.ok(Math.abs(freq(1) - 0.25) < 0.03, `P(1) ≈ 1/4, got ${freq(1)}`);
  const ci = clusterBootstrapInterval(cl, m, { resamples: 4000, seed: 11 });
  assert.deepEqual([ci.lower, ci.upper], [0, 1]);
});

Deno.test("cluster bootstrap: one item a cluster is the item bootstrap", () => {
  // With singleton clusters the draws are the item bootstrap's: same seed, same values.
  const cl = [0, 1, 2, 3, 4, 5];
  const v = clusterBootstrapValues(cl, mean, { resamples: 50, seed: 2 });
  assert.deepEqual(v, bootstrapValues(6, mean, { resamples: 50, seed: 2 }));
  assert.throws(() => clusterBootstrapValues([], mean), /no items/);
});
