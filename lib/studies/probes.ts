/**
 * Trained on A, tested on B with linear probes (notebook 01): `runCross` (lib/cross.ts) on a
 * frozen backbone, with the whole matrix cached under `<cacheRoot()>/studies/cross/` keyed by the
 * backbone's ONNX hash, every part's dataset hash and the settings. The embeddings underneath are
 * cached by lib/embeddings.ts, so a cold run costs the probe fits (tens of seconds per backbone)
 * once the embeddings exist, and a warm run costs reading one JSON file.
 */
import { loadDataset } from "../datasets/mod.ts";
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
import type { BootstrapInterval } from "../metrics/mod.ts";
import { loadCard } from "../models/registry.ts";
import { DEFAULT_LAMBDA } from "../probe/mod.ts";
import type { Split } from "../sample.ts";
import { cachedJson, type CachedResult } from "./cache.ts";
import type { Missing } from "./grid.ts";
import { type IndexStatistic, studyInterval } from "./scoring.ts";

/** A probe matrix and what it could not include. */
export interface ProbeStudy {
  backbone: string;
  result: CrossResult;
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
  const present: string[] = [];
  for (const name of datasets) {
    try {
      for (const split of ["train", "test"] as Split[]) {
        const d = await loadDataset(name, { split, dataRoot: opts.dataRoot });
        if (d.samples.length === 0) throw new Error(`no ${split} samples`);
        hashes[`${name}:${split}`] = d.hash;
      }
      present.push(name);
    } catch (e) {
      missing.push({ id: name, reason: e instanceof Error ? e.message : String(e) });
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
  const cached: CachedResult<CrossResult> = await cachedJson(
    "cross",
    {
      backbone,
      model: model.sha256,
      train: train.map(partLabel),
      test: test.map(partLabel),
      hashes,
      settings: resolved,
      labelRule: LABEL_RULE,
    },
    () =>
      runCross(backbone, train, test, {
        ...resolved,
        dataRoot: opts.dataRoot,
        batchSize: s.batchSize,
        cache: s.cache,
        progress: opts.progress ?? false,
      }),
    { root: opts.cacheDir },
  );
  return { backbone, result: cached.value, missing, cacheHit: cached.hit, seconds: cached.seconds };
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
 * Accuracy of a resample of n items of which the first `hits` are correct: resampling n items
 * with `hits` correct has the same distribution whichever items they are, so a cell's accuracy
 * can be bootstrapped from its counts alone (the probe matrix keeps only scores).
 */
export function hitsStatistic(hits: number): IndexStatistic {
  return (idx) => {
    let h = 0;
    for (let i = 0; i < idx.length; i++) if (idx[i] < hits) h++;
    return h / idx.length;
  };
}

/** The number of correct items behind an accuracy over n items (rounded). */
export function hitsOf(accuracy: number, n: number): number {
  return Math.round(accuracy * n);
}

/**
 * Percentile bootstrap interval of an accuracy from its counts (hitsStatistic; equal to the
 * bootstrap of the per-item outcomes), STUDY_BOOTSTRAP settings unless given.
 */
export function accuracyIntervalFromCounts(
  hits: number,
  n: number,
  opts: { resamples?: number; seed?: number; level?: number } = {},
): BootstrapInterval {
  if (!Number.isInteger(hits) || !Number.isInteger(n) || hits < 0 || hits > n || n < 1) {
    throw new Error(`accuracy interval: ${hits} hits of ${n} items is not a count`);
  }
  return studyInterval(n, hitsStatistic(hits), opts);
}
