/**
 * Trained on A, tested on B with linear probes (notebook 01): `runCross` (lib/probe/cross.ts) on a
 * frozen backbone, with the whole matrix cached under `<cacheRoot()>/studies/cross/` keyed by the
 * backbone's ONNX hash, every part's dataset hash and the settings. The embeddings underneath are
 * cached by lib/probe/embeddings.ts, so a cold run costs the probe fits (tens of seconds per backbone)
 * once the embeddings exist, and a warm run costs reading one JSON file.
 */
import { loadDataset } from "../datasets/mod.ts";
import type { LoadedDataset } from "../datasets/types.ts";
import {
  type CrossResult,
  type CrossSettings,
  DEFAULT_MAX_TRAIN,
  DEFAULT_SEED,
  LABEL_RULE,
  partLabel,
  type PartSpec,
  runCross,
} from "../probe/cross.ts";
import { type BootstrapInterval, hitsOf, hitsStatistic } from "../metrics/mod.ts";
import { loadCard } from "../models/registry.ts";
import { DEFAULT_LAMBDA } from "../probe/mod.ts";
import type { Split } from "../sample.ts";
import { cachedJson, type CachedResult } from "./cache.ts";
import { clusteredDifference, clusterInterval, clusterKeys } from "./clusters.ts";
import type { Missing } from "./grid.ts";

/** A bootstrap interval as stored with a probe matrix. */
export interface StoredInterval {
  estimate: number;
  lower: number;
  upper: number;
}

/** One probe cell's accuracy interval, and its drop from the probe's in-domain cell. */
export interface ProbeCellIntervals {
  train: string;
  test: string;
  /** Accuracy with its bootstrap interval (see probeIntervals for what it resamples). */
  accuracy: StoredInterval;
  /**
   * In-domain accuracy minus this cell's (independent bootstrap); null for the in-domain cell
   * and when the training dataset has no test part in the matrix.
   */
  drop: StoredInterval | null;
}

/** A probe matrix, its intervals, and what it could not include. */
export interface ProbeStudy {
  backbone: string;
  result: CrossResult;
  /**
   * Accuracy and drop intervals of every cell (STUDY_BOOTSTRAP settings), resampling each test
   * part's clusters (CK+ subjects, ExpW photographs) where `clusters` has them.
   */
  intervals: ProbeCellIntervals[];
  /** Cluster key of each image of a test part, in `result.test_ids` order, by part label. */
  clusters: Record<string, string[]>;
  /** Datasets left out (not under the data root, or without the split). */
  missing: Missing[];
  /** Whether the matrix came from the study cache, and the seconds spent. */
  cacheHit: boolean;
  seconds: number;
}

/** Options of probeStudy. */
export interface ProbeStudyOptions {
  /** Data root (default FER_DATA, then data/raw). */
  dataRoot?: string;
  /** runCross settings (defaults: lib/probe/cross.ts). */
  settings?: Omit<CrossSettings, "dataRoot" | "progress">;
  /** Progress lines on stderr (default false). */
  progress?: boolean;
  /** Study cache folder (default `<cacheRoot()>/studies`). */
  cacheDir?: string;
  /**
   * Splits already loaded (e.g. the grid's test splits): their hashes are reused instead of
   * loading them again. Matched by name and split.
   */
  loaded?: readonly Pick<LoadedDataset, "name" | "samples" | "hash">[];
}

/**
 * The trained-on × tested-on matrix of `backbone` over `datasets` (train split → test split),
 * cached. Datasets missing under the data root are left out and listed; throws when fewer than
 * one dataset remains or the backbone cannot be loaded.
 */
export async function probeStudy(
  backbone: string,
  datasets: readonly string[],
  opts: ProbeStudyOptions = {},
): Promise<ProbeStudy> {
  const model = await loadCard(backbone);
  const missing: Missing[] = [];
  const hashes: Record<string, string> = {};
  const known = new Map<string, string>();
  // Test splits (for the cluster keys of their images: CK+ subjects, ExpW photographs).
  const testSets = new Map<string, Pick<LoadedDataset, "name" | "samples">>();
  for (const d of opts.loaded ?? []) {
    const split = d.samples[0]?.split;
    if (split !== undefined && d.samples.every((x) => x.split === split)) {
      known.set(`${d.name}:${split}`, d.hash);
      if (split === "test") testSets.set(d.name, d);
    }
  }
  // Each dataset's splits, loaded at once (the loads are file-system bound).
  const loads = await Promise.all(datasets.map(async (name) => {
    try {
      const out: Record<string, string> = {};
      for (const split of ["train", "test"] as Split[]) {
        const hit = known.get(`${name}:${split}`);
        if (hit !== undefined) {
          out[`${name}:${split}`] = hit;
          continue;
        }
        const d = await loadDataset(name, { split, dataRoot: opts.dataRoot });
        if (d.samples.length === 0) throw new Error(`no ${split} samples`);
        out[`${name}:${split}`] = d.hash;
        if (split === "test") testSets.set(name, d);
      }
      return { name, out };
    } catch (e) {
      return { name, error: e instanceof Error ? e.message : String(e) };
    }
  }));
  const present: string[] = [];
  for (const l of loads) {
    if ("error" in l) missing.push({ id: l.name, reason: l.error as string });
    else {
      Object.assign(hashes, l.out);
      present.push(l.name);
    }
  }
  if (present.length === 0) {
    throw new Error(`probes on ${backbone}: none of ${datasets.join(", ")} found`);
  }
  const train: PartSpec[] = present.map((dataset) => ({ dataset, split: "train" }));
  const test: PartSpec[] = present.map((dataset) => ({ dataset, split: "test" }));
  const s = opts.settings ?? {};
  const resolved = {
    maxTrain: s.maxTrain ?? DEFAULT_MAX_TRAIN,
    maxTest: s.maxTest ?? 0,
    seed: s.seed ?? DEFAULT_SEED,
    lambda: s.lambda ?? DEFAULT_LAMBDA,
    classWeight: s.classWeight ?? "balanced",
  };
  const cached: CachedResult<{ result: CrossResult }> = await cachedJson(
    "cross",
    {
      version: 3,
      backbone,
      model: model.sha256,
      train: train.map(partLabel),
      test: test.map(partLabel),
      hashes,
      settings: resolved,
      labelRule: LABEL_RULE,
    },
    async () => ({
      result: await runCross(backbone, train, test, {
        ...resolved,
        dataRoot: opts.dataRoot,
        batchSize: s.batchSize,
        cache: s.cache,
        progress: opts.progress ?? false,
        perItem: true,
      }),
    }),
    { root: opts.cacheDir },
  );
  const result = cached.value.result;
  const clusters: Record<string, string[]> = {};
  for (const [part, ids] of Object.entries(result.test_ids ?? {})) {
    const d = testSets.get(part.split(":")[0]);
    if (d) clusters[part] = clusterKeys(d, ids);
  }
  return {
    backbone,
    result,
    intervals: probeIntervals(result, { clusters }),
    clusters,
    missing,
    cacheHit: cached.hit,
    seconds: cached.seconds,
  };
}

/** The matrix of one score: rows = training parts, columns = test parts (NaN where absent). Pure. */
export function probeMatrix(
  r: CrossResult,
  pick: (c: CrossResult["cells"][number]) => number,
): number[][] {
  return r.train_parts.map((train) =>
    r.test_parts.map((test) => {
      const c = r.cells.find((x) => x.train === train && x.test === test);
      return c === undefined ? NaN : pick(c);
    })
  );
}

/** A cell's per-image outcomes (1 right, 0 wrong), or null without `correct`. */
export function cellOutcomes(
  c: Pick<CrossResult["cells"][number], "correct">,
): Float64Array | null {
  return c.correct === undefined
    ? null
    : Float64Array.from(c.correct, (ch) => (ch === "1" ? 1 : 0));
}

/** Mean of per-item outcomes over the drawn indices. */
function outcomeMean(x: Float64Array) {
  return (idx: Int32Array): number => {
    let h = 0;
    for (let i = 0; i < idx.length; i++) h += x[idx[i]];
    return h / idx.length;
  };
}

/**
 * Every cell's accuracy interval and its drop from the in-domain cell of the same probe
 * (`<dataset>:train` → `<dataset>:test`; independent samples). Where the cell keeps its
 * per-image outcomes and `clusters` has its test part's keys, the intervals resample those
 * clusters (CK+ subjects, ExpW photographs); else they resample images, from the counts. Pure.
 */
export function probeIntervals(
  r: CrossResult,
  opts: {
    resamples?: number;
    seed?: number;
    level?: number;
    clusters?: Readonly<Record<string, readonly string[]>>;
  } = {},
): ProbeCellIntervals[] {
  const { clusters: byPart, ...boot } = opts;
  const stored = (iv: BootstrapInterval): StoredInterval => ({
    estimate: iv.estimate,
    lower: iv.lower,
    upper: iv.upper,
  });
  // Each cell as clusters and a statistic (per-image clusters from the counts otherwise).
  const sample = (c: CrossResult["cells"][number]) => {
    const x = cellOutcomes(c);
    const keys = byPart?.[c.test];
    if (x !== null && keys !== undefined && keys.length === x.length) {
      return { clusters: keys, stat: outcomeMean(x) };
    }
    return {
      clusters: Array.from({ length: c.n_test }, (_, i) => String(i)),
      stat: hitsStatistic(hitsOf(c.accuracy, c.n_test)),
    };
  };
  return r.cells.map((c) => {
    const own = r.cells.find((x) =>
      x.train === c.train && x.test === `${c.train.split(":")[0]}:test`
    );
    const a = sample(c);
    const drop = own === undefined || own === c ? null : (() => {
      const o = sample(own);
      return stored(clusteredDifference(o.clusters, o.stat, a.clusters, a.stat, boot));
    })();
    return {
      train: c.train,
      test: c.test,
      accuracy: stored(clusterInterval(a.clusters, a.stat, boot)),
      drop,
    };
  });
}
