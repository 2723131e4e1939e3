/**
 * Trained on A, tested on B with linear probes (notebook 01): `runCross` (lib/cross.ts) on a
 * frozen backbone, with the whole matrix cached under `<cacheRoot()>/studies/cross/` keyed by the
 * backbone's ONNX hash, every part's dataset hash and the settings. The embeddings underneath are
 * cached by lib/embeddings.ts, so a cold run costs the probe fits (tens of seconds per backbone)
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
} from "../cross.ts";
import {
  accuracyIntervalFromCounts,
  type BootstrapInterval,
  hitsOf,
  hitsStatistic,
  independentDifference,
} from "../metrics/mod.ts";
import { loadCard } from "../models/registry.ts";
import { DEFAULT_LAMBDA } from "../probe/mod.ts";
import type { Split } from "../sample.ts";
import { cachedJson, type CachedResult } from "./cache.ts";
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
  /** Accuracy with its bootstrap interval (from the cell's counts). */
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
  /** Accuracy and drop intervals of every cell (STUDY_BOOTSTRAP settings). */
  intervals: ProbeCellIntervals[];
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
  /** runCross settings (defaults: lib/cross.ts). */
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
  for (const d of opts.loaded ?? []) {
    const split = d.samples[0]?.split;
    if (split !== undefined && d.samples.every((x) => x.split === split)) {
      known.set(`${d.name}:${split}`, d.hash);
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
  const cached: CachedResult<{ result: CrossResult; intervals: ProbeCellIntervals[] }> =
    await cachedJson(
      "cross",
      {
        version: 2,
        backbone,
        model: model.sha256,
        train: train.map(partLabel),
        test: test.map(partLabel),
        hashes,
        settings: resolved,
        labelRule: LABEL_RULE,
      },
      async () => {
        const result = await runCross(backbone, train, test, {
          ...resolved,
          dataRoot: opts.dataRoot,
          batchSize: s.batchSize,
          cache: s.cache,
          progress: opts.progress ?? false,
        });
        return { result, intervals: probeIntervals(result) };
      },
      { root: opts.cacheDir },
    );
  return {
    backbone,
    result: cached.value.result,
    intervals: cached.value.intervals,
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

/**
 * Every cell's accuracy interval (from its counts) and its drop from the in-domain cell of the
 * same probe (`<dataset>:train` → `<dataset>:test`), with independent bootstrap intervals. Pure.
 */
export function probeIntervals(
  r: CrossResult,
  opts: { resamples?: number; seed?: number; level?: number } = {},
): ProbeCellIntervals[] {
  const stored = (iv: BootstrapInterval): StoredInterval => ({
    estimate: iv.estimate,
    lower: iv.lower,
    upper: iv.upper,
  });
  return r.cells.map((c) => {
    const hits = hitsOf(c.accuracy, c.n_test);
    const own = r.cells.find((x) =>
      x.train === c.train && x.test === `${c.train.split(":")[0]}:test`
    );
    const drop = own === undefined || own === c ? null : stored(
      independentDifference(
        own.n_test,
        hitsStatistic(hitsOf(own.accuracy, own.n_test)),
        c.n_test,
        hitsStatistic(hits),
        opts,
      ),
    );
    return {
      train: c.train,
      test: c.test,
      accuracy: stored(accuracyIntervalFromCounts(hits, c.n_test, opts)),
      drop,
    };
  });
}
