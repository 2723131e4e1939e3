/**
 * Cluster (block) bootstrap for items that come in clusters: CK+ frames of one subject, ExpW
 * faces of one photograph. Items of a cluster are not independent, so resampling items makes
 * intervals too narrow; resampling whole clusters keeps their dependence (Davison & Hinkley
 * 1997, §3.8, "resampling stage one only"; Field & Welsh 2007).
 *
 * Resample b draws G cluster numbers uniformly with replacement from the kit's resample stream
 * (`ResampleStream(G, seed)`, resample b = its b-th `next()`), clusters being numbered by first
 * appearance in `clusters`; the statistic receives the items of the drawn clusters, in draw
 * order and, within a cluster, in item order. Resamples hold a varying number of items.
 * The item-level bootstrap (lib/metrics/bootstrap.ts) is the special case of one item a cluster.
 */
import {
  type BootstrapInterval,
  type BootstrapOptions,
  bootstrapSettings,
  intervalFromValues,
  ResampleStream,
} from "./bootstrap.ts";

/** A bootstrap interval that also says how many clusters it resampled. */
export interface ClusterBootstrapInterval extends BootstrapInterval {
  /** Number of distinct clusters. */
  clusters: number;
}

/** Items of each cluster (clusters numbered by first appearance), as index lists. */
export function clusterMembers(clusters: ArrayLike<string | number>): Int32Array[] {
  const byKey = new Map<string | number, number[]>();
  for (let i = 0; i < clusters.length; i++) {
    const list = byKey.get(clusters[i]);
    if (list) list.push(i);
    else byKey.set(clusters[i], [i]);
  }
  return [...byKey.values()].map((l) => Int32Array.from(l));
}

/**
 * The statistic on every cluster resample. `statistic(indices)` gets the drawn items' indices
 * (a fresh array each resample, its length varying with the clusters drawn) and returns a
 * number (NaN when undefined there).
 */
export function clusterBootstrapValues(
  clusters: ArrayLike<string | number>,
  statistic: (indices: Int32Array) => number,
  opts: BootstrapOptions = {},
): Float64Array {
  const { resamples, seed } = bootstrapSettings(opts);
  const members = clusterMembers(clusters);
  if (members.length === 0) throw new Error("cluster bootstrap: no items");
  const stream = new ResampleStream(members.length, seed);
  const draw = new Int32Array(members.length);
  const out = new Float64Array(resamples);
  // The members flattened (cluster g's items are flat[start[g] .. start[g + 1])), copied item by
  // item below: a TypedArray.set call per cluster costs more than its few items.
  const start = new Int32Array(members.length + 1);
  members.forEach((m, g) => (start[g + 1] = start[g] + m.length));
  const flat = new Int32Array(start[members.length]);
  members.forEach((m, g) => flat.set(m, start[g]));
  const singletons = flat.length === members.length;
  for (let b = 0; b < resamples; b++) {
    stream.next(draw);
    let idx: Int32Array;
    if (singletons) {
      // One item a cluster (FER2013, FER+): the drawn items are the drawn clusters' items.
      idx = new Int32Array(draw.length);
      for (let g = 0; g < draw.length; g++) idx[g] = flat[draw[g]];
    } else {
      let size = 0;
      for (let g = 0; g < draw.length; g++) size += start[draw[g] + 1] - start[draw[g]];
      idx = new Int32Array(size);
      let at = 0;
      for (let g = 0; g < draw.length; g++) {
        for (let i = start[draw[g]], end = start[draw[g] + 1]; i < end; i++) idx[at++] = flat[i];
      }
    }
    out[b] = statistic(idx);
  }
  return out;
}

/**
 * Percentile cluster-bootstrap interval of a statistic of n = clusters.length items: the
 * estimate is `statistic(0..n-1)`, the bounds are percentiles (numpy linear) of the statistic
 * over cluster resamples. Default 1000 resamples, seed 0, 95 %.
 */
export function clusterBootstrapInterval(
  clusters: ArrayLike<string | number>,
  statistic: (indices: Int32Array) => number,
  opts: BootstrapOptions = {},
): ClusterBootstrapInterval {
  const settings = bootstrapSettings(opts);
  const all = Int32Array.from({ length: clusters.length }, (_, i) => i);
  const estimate = statistic(all);
  const values = clusterBootstrapValues(clusters, statistic, settings);
  const count = new Set(Array.from(clusters)).size;
  return { ...intervalFromValues(estimate, values, settings), clusters: count };
}

/**
 * The clustered counterpart of bootstrapStrata (lib/metrics/bootstrap.ts): resample b draws G
 * clusters with the same stream as clusterBootstrapValues, and `visit` receives how many drawn
 * items fall in each key (`counts`) and, with `values`, the sum of their values per key (`sums`,
 * exact). So a statistic of per-key counts (confusion cells, cells × confidence bins) computed in
 * `visit` equals clusterBootstrapValues of the same statistic on the drawn items. Buffers are
 * reused between calls.
 */
export function clusterStrata(
  keys: ArrayLike<number>,
  numKeys: number,
  clusters: ArrayLike<string | number>,
  opts: { resamples: number; seed: number; values?: ArrayLike<number> },
  visit: (counts: Float64Array, sums: Float64Array, b: number) => void,
): void {
  if (clusters.length !== keys.length) {
    throw new Error(`cluster bootstrap: ${clusters.length} cluster keys for ${keys.length} items`);
  }
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (!Number.isInteger(k) || k < 0 || k >= numKeys) {
      throw new Error(`bootstrap: key ${k} of item ${i} out of range`);
    }
  }
  const members = clusterMembers(clusters);
  if (members.length === 0) throw new Error("cluster bootstrap: no items");
  const values = opts.values;
  const stream = new ResampleStream(members.length, opts.seed);
  const draw = new Int32Array(members.length);
  const counts = new Float64Array(numKeys);
  const sums = new Float64Array(numKeys);
  for (let b = 0; b < opts.resamples; b++) {
    stream.next(draw);
    counts.fill(0);
    sums.fill(0);
    for (let g = 0; g < draw.length; g++) {
      const items = members[draw[g]];
      for (let j = 0; j < items.length; j++) {
        const i = items[j];
        counts[keys[i]]++;
        if (values !== undefined) sums[keys[i]] += values[i];
      }
    }
    visit(counts, sums, b);
  }
}
