/**
 * Where test items come in clusters and how the studies' intervals respect them: CK+ frames of
 * one subject, ExpW faces of one photograph (the loaders' `group`). Datasets without groups
 * (FER2013, FER+) have one item a cluster, so their cluster bootstrap is the item bootstrap.
 */
import type { LoadedDataset } from "../datasets/types.ts";
import {
  type BootstrapInterval,
  bootstrapSettings,
  clusterBootstrapInterval,
  clusterBootstrapValues,
  type IndexStatistic,
  intervalFromValues,
} from "../metrics/mod.ts";

/** Default bootstrap settings of the studies: 1000 resamples, seed 0, 95 % percentile. */
export const STUDY_BOOTSTRAP = { resamples: 1000, seed: 0, level: 0.95 } as const;

/** The unit the studies resample for each dataset that has one, and what it is. */
export const CLUSTER_UNITS: Readonly<Record<string, string>> = {
  ckplus: "subject",
  expw: "source photograph",
};

/** What one resampling unit of `dataset` is: its cluster unit, else "image". */
export function clusterUnit(dataset: string): string {
  return CLUSTER_UNITS[dataset] ?? "image";
}

/**
 * Cluster key of each id (in order): the sample's `group` for CK+ (subject) and ExpW
 * (photograph), else the id itself. Throws naming an id the dataset lacks.
 */
export function clusterKeys(
  dataset: Pick<LoadedDataset, "name" | "samples">,
  ids: readonly string[],
): string[] {
  const clustered = dataset.name in CLUSTER_UNITS;
  const group = new Map(dataset.samples.map((s) => [s.id, s.group]));
  return ids.map((id) => {
    if (!group.has(id)) throw new Error(`${dataset.name}: no sample "${id}"`);
    return clustered ? group.get(id) ?? id : id;
  });
}

/** Percentile cluster-bootstrap interval with the study defaults (1000 resamples, seed 0). */
export function clusterInterval(
  clusters: readonly string[],
  stat: IndexStatistic,
  opts: { resamples?: number; seed?: number; level?: number } = {},
): BootstrapInterval {
  return clusterBootstrapInterval(clusters, stat, { ...STUDY_BOOTSTRAP, ...opts });
}

/**
 * Interval of `statA − statB` for two independent samples, each resampled by its own clusters
 * (seeds `seed` and `seed + 1`), as independentDifference in lib/studies/scoring.ts.
 */
export function clusteredDifference(
  clustersA: readonly string[],
  statA: IndexStatistic,
  clustersB: readonly string[],
  statB: IndexStatistic,
  opts: { resamples?: number; seed?: number; level?: number } = {},
): BootstrapInterval {
  const settings = bootstrapSettings({ ...STUDY_BOOTSTRAP, ...opts });
  const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
  const estimate = statA(all(clustersA.length)) - statB(all(clustersB.length));
  const a = clusterBootstrapValues(clustersA, statA, settings);
  const b = clusterBootstrapValues(clustersB, statB, {
    ...settings,
    seed: (settings.seed + 1) >>> 0,
  });
  return intervalFromValues(estimate, a.map((v, i) => v - b[i]), settings);
}
