/**
 * Predictions over a dataset, with a resumable on-disk cache.
 *
 * `predictDataset(model, dataset, opts)` decodes each sample's image (sharp, in libuv's thread
 * pool, a window of images ahead of inference), optionally finds the face with a detector,
 * preprocesses per the model card and runs the engine batch by batch. Probabilities are mapped
 * from the model's class order onto the kit's canonical columns (lib/predictions.ts).
 *
 * Cache: `<cacheRoot()>/predictions/<key>/`, key = SHA-256 of (ONNX SHA-256, dataset hash,
 * preprocessing spec, detector, chunk size). Samples are cut into chunks of `chunkSize` in
 * dataset order; each finished chunk is written atomically (`chunk-000000.json`), so a killed
 * run resumes at the first missing chunk, and a complete cache skips inference entirely.
 */
import { join } from "node:path";
import { cacheRoot } from "./config.ts";
import { exists, sha256Hex, writeFileAtomic } from "./fsutil.ts";
import {
  decodeImage,
  ImageError,
  type RawImage,
  sourceName,
  type UnreadableFile,
} from "./image.ts";
import type { LoadedDataset } from "./datasets/types.ts";
import { Engine, type Provider } from "./engine.ts";
import type { ResolvedModel } from "./models/registry.ts";
import { type Prediction, predictionClasses, type PredictionTable } from "./predictions.ts";
import { preprocessInto, preprocessKey } from "./preprocess.ts";
import { createProgress, type Progress } from "./progress.ts";
import type { FaceBox, Sample } from "./sample.ts";
import { type Emotion, EMOTIONS } from "./taxonomy.ts";
import { createDetector, type DetectorName, type FaceDetector, pickFace } from "./detect/mod.ts";

/** The parts of a loaded dataset that prediction needs. */
export type PredictableDataset = Pick<LoadedDataset, "name" | "samples" | "hash">;

/** Options of predictDataset. */
export interface PredictOptions {
  /** Samples per session.run for dynamic-batch models (default 32). */
  batchSize?: number;
  /** Execution provider (default cpu). */
  provider?: Provider;
  /** onnxruntime intra-op threads (default: onnxruntime's own choice). */
  threads?: number;
  /** Find faces with this detector (largest face, or the one matching the sample's box). */
  detect?: DetectorName;
  /** Override the detector card's score threshold. */
  detectThreshold?: number;
  /** Folder of the detector ONNX files (default: lib/detect/card.ts detectorsDir()). */
  detectorsDir?: string;
  /** Use and fill the on-disk cache (default true). */
  cache?: boolean;
  /** Cache folder (default `<cacheRoot()>/predictions`, i.e. FER_CACHE or .cache). */
  cacheDir?: string;
  /** Samples per cache chunk (default 256). */
  chunkSize?: number;
  /** Images decoded ahead of inference (default max(16, 2 × batch)). */
  prefetch?: number;
  /** Progress display: true (default: bar on a TTY, lines otherwise), false, or your own. */
  progress?: boolean | Progress;
  /** An already open engine for this model (not disposed here). */
  engine?: Engine;
}

/** What happened during a prediction run. */
export interface PredictStats {
  /** Samples in the dataset. */
  total: number;
  /** Rows in the table (samples with a prediction). */
  predicted: number;
  /** Samples whose result came from the cache. */
  fromCache: number;
  /** Samples run through the model in this call. */
  inferred: number;
  /** Images that could not be read (file + reason); they have no row. */
  unreadable: UnreadableFile[];
  /** Ids of samples where the detector found no face; they have no row. */
  noFace: string[];
  /** Wall time of this call, seconds. */
  seconds: number;
  /** Inferred samples per second over the call (0 when everything came from the cache). */
  imagesPerSecond: number;
  /** Cache key and folder. */
  cacheKey: string;
  cacheDir: string;
  /** Provider that ran the model ("cache" when nothing ran). */
  provider: Provider | "cache";
  providerNote?: string;
}

/** A prediction table with its run statistics. */
export type PredictResult = PredictionTable & { stats: PredictStats };

/** Version of the chunk file format; part of the cache key. */
const CACHE_VERSION = 1;

type SampleStatus = "ok" | "unreadable" | "noface";

/** One cache chunk as stored on disk. */
interface ChunkFile {
  v: number;
  key: string;
  start: number;
  ids: string[];
  status: SampleStatus[];
  /** Model-order probabilities per sample (null when not ok). */
  probs: (number[] | null)[];
  /** Reasons for unreadable samples, by position in the chunk. */
  reasons: Record<string, string>;
  /** Files of unreadable samples, by position. */
  files: Record<string, string>;
  /** Detected face boxes, by position (with a detector). */
  boxes?: Record<string, FaceBox>;
}

/**
 * The cache key of a (model, dataset, preprocessing, detector, chunk size) combination:
 * SHA-256 hex of their canonical JSON.
 */
export async function predictionCacheKey(
  model: ResolvedModel,
  dataset: PredictableDataset,
  detect: string | undefined,
  detectThreshold: number | undefined,
  chunkSize: number,
): Promise<string> {
  return await sha256Hex(JSON.stringify({
    v: CACHE_VERSION,
    model: model.sha256,
    output: model.card.output,
    dataset: dataset.hash,
    preprocess: preprocessKey(model.card),
    detect: detect ?? null,
    detectThreshold: detectThreshold ?? null,
    chunkSize,
  }));
}

function chunkPath(dir: string, k: number): string {
  return join(dir, `chunk-${String(k).padStart(6, "0")}.json`);
}

async function readChunk(
  path: string,
  key: string,
  ids: readonly string[],
  classes: number,
): Promise<ChunkFile | undefined> {
  let c: ChunkFile;
  try {
    c = JSON.parse(await Deno.readTextFile(path)) as ChunkFile;
  } catch {
    return undefined; // missing or damaged: recompute
  }
  if (c.v !== CACHE_VERSION || c.key !== key || c.ids.length !== ids.length) return undefined;
  for (let i = 0; i < ids.length; i++) {
    if (c.ids[i] !== ids[i]) return undefined;
    const p = c.probs[i];
    if (c.status[i] === "ok" && (p === null || p.length !== classes)) return undefined;
  }
  return c;
}

/** A sample ready for the model (or why it is not). */
type Prepared =
  | { status: "ok"; img: RawImage; box?: FaceBox; detected?: FaceBox }
  | { status: "unreadable"; file: string; reason: string }
  | { status: "noface" };

/**
 * Run a model over a dataset (see the module comment for the pipeline and the cache). Rows come
 * in dataset order; unreadable images and images without a detected face are skipped and listed
 * in `stats`. Probability columns: the seven basic classes, plus contempt when the model has it.
 */
export async function predictDataset(
  model: ResolvedModel,
  dataset: PredictableDataset,
  opts: PredictOptions = {},
): Promise<PredictResult> {
  const t0 = performance.now();
  const samples = dataset.samples;
  const card = model.card;
  const nClasses = card.output.classes.length;
  const chunkSize = Math.max(1, Math.floor(opts.chunkSize ?? 256));
  const useCache = opts.cache !== false;
  const key = await predictionCacheKey(
    model,
    dataset,
    opts.detect,
    opts.detectThreshold,
    chunkSize,
  );
  const dir = join(opts.cacheDir ?? join(cacheRoot(), "predictions"), key);
  const nChunks = Math.ceil(samples.length / chunkSize);
  const chunkIds = (k: number) =>
    samples.slice(k * chunkSize, (k + 1) * chunkSize).map((s) => s.id);

  const chunks: (ChunkFile | undefined)[] = new Array(nChunks).fill(undefined);
  if (useCache) {
    for (let k = 0; k < nChunks; k++) {
      chunks[k] = await readChunk(chunkPath(dir, k), key, chunkIds(k), nClasses);
    }
  }
  const missing = [...chunks.keys()].filter((k) => chunks[k] === undefined);
  const fromCache = samples.length -
    missing.reduce((a, k) => a + Math.min(chunkSize, samples.length - k * chunkSize), 0);

  let provider: Provider | "cache" = "cache";
  let providerNote: string | undefined;
  let inferred = 0;
  if (missing.length > 0) {
    if (useCache) {
      await Deno.mkdir(dir, { recursive: true });
      const metaPath = join(dir, "meta.json");
      if (!(await exists(metaPath))) {
        await writeFileAtomic(
          metaPath,
          JSON.stringify(
            {
              model: card.id,
              modelSha256: model.sha256,
              dataset: dataset.name,
              datasetHash: dataset.hash,
              samples: samples.length,
              chunkSize,
              detect: opts.detect ?? null,
              preprocess: JSON.parse(preprocessKey(card)),
              created: new Date().toISOString(),
            },
            null,
            2,
          ) + "\n",
        );
      }
    }
    const engine = opts.engine ?? await Engine.create(model, {
      provider: opts.provider,
      intraOpThreads: opts.threads,
      batchSize: opts.batchSize,
    });
    provider = engine.provider;
    providerNote = engine.providerNote;
    const detector = opts.detect === undefined ? undefined : await createDetector(opts.detect, {
      scoreThreshold: opts.detectThreshold,
      intraOpThreads: opts.threads,
      dir: opts.detectorsDir,
    });
    const progress = opts.progress === false
      ? undefined
      : typeof opts.progress === "object"
      ? opts.progress
      : createProgress(`predict ${card.id} on ${dataset.name}`, samples.length);
    progress?.set(fromCache);
    try {
      inferred = await runMissing(
        engine,
        detector,
        samples,
        missing,
        chunkSize,
        opts.prefetch,
        async (k, chunk) => {
          chunks[k] = chunk;
          if (useCache) await writeFileAtomic(chunkPath(dir, k), JSON.stringify(chunk));
          progress?.tick(chunk.ids.length);
        },
        key,
      );
      progress?.finish();
    } finally {
      if (opts.engine === undefined) await engine.dispose();
      await detector?.dispose();
    }
  }

  const table = assemble(card.output.classes, samples, chunks as ChunkFile[]);
  const seconds = (performance.now() - t0) / 1000;
  return {
    ...table,
    stats: {
      total: samples.length,
      predicted: table.rows.length,
      fromCache,
      inferred,
      unreadable: table.unreadable,
      noFace: table.noFace,
      seconds,
      imagesPerSecond: inferred > 0 ? inferred / seconds : 0,
      cacheKey: key,
      cacheDir: dir,
      provider,
      ...(providerNote !== undefined ? { providerNote } : {}),
    },
  };
}

/** Decode (and detect) one sample; never throws for a bad image. */
async function prepare(
  s: Sample,
  detector: FaceDetector | undefined,
  decoded: Map<string, Promise<RawImage>>,
): Promise<Prepared> {
  let img: RawImage;
  try {
    if (s.source.kind === "file") {
      // Samples of one image (several faces) are adjacent: decode the file once.
      let p = decoded.get(s.source.path);
      if (p === undefined) {
        p = decodeImage(s.source);
        decoded.set(s.source.path, p);
        if (decoded.size > 8) decoded.delete(decoded.keys().next().value as string);
      }
      img = await p;
    } else {
      img = await decodeImage(s.source);
    }
  } catch (e) {
    if (e instanceof ImageError) {
      return { status: "unreadable", file: e.file, reason: e.message.slice(e.file.length + 2) };
    }
    throw e;
  }
  if (detector === undefined) return { status: "ok", img, box: s.box };
  const face = pickFace(await detector.detect(img), s.box);
  if (face === undefined) return { status: "noface" };
  return { status: "ok", img, box: face.box, detected: face.box };
}

/** Run every missing chunk; calls `done` as each completes. Returns the samples inferred. */
async function runMissing(
  engine: Engine,
  detector: FaceDetector | undefined,
  samples: readonly Sample[],
  missing: readonly number[],
  chunkSize: number,
  prefetch: number | undefined,
  done: (k: number, chunk: ChunkFile) => Promise<void>,
  key: string,
): Promise<number> {
  const card = engine.model.card;
  const batch = engine.batchSize;
  const window = Math.max(1, prefetch ?? Math.max(16, 2 * batch));
  // Global order of sample indices to process, chunk by chunk.
  const order: number[] = [];
  for (const k of missing) {
    for (let i = k * chunkSize; i < Math.min(samples.length, (k + 1) * chunkSize); i++) {
      order.push(i);
    }
  }
  const decoded = new Map<string, Promise<RawImage>>();
  const pending = new Map<number, Promise<Prepared>>();
  let launched = 0;
  const launch = (upTo: number) => {
    while (launched < order.length && launched < upTo) {
      const i = order[launched++];
      pending.set(i, prepare(samples[i], detector, decoded));
    }
  };
  const buffer = new Float32Array(batch * engine.sampleLength);
  let pos = 0; // position in `order`
  let inferred = 0;
  for (const k of missing) {
    const start = k * chunkSize;
    const end = Math.min(samples.length, start + chunkSize);
    const n = end - start;
    const chunk: ChunkFile = {
      v: CACHE_VERSION,
      key,
      start,
      ids: samples.slice(start, end).map((s) => s.id),
      status: new Array<SampleStatus>(n).fill("ok"),
      probs: new Array<number[] | null>(n).fill(null),
      reasons: {},
      files: {},
    };
    for (let b = start; b < end; b += batch) {
      const bEnd = Math.min(end, b + batch);
      launch(pos + (bEnd - b) + window);
      const slots: number[] = []; // sample indices in the batch buffer
      for (let i = b; i < bEnd; i++, pos++) {
        const p = pending.get(i)!;
        pending.delete(i);
        const r = await p;
        const j = i - start;
        if (r.status === "unreadable") {
          chunk.status[j] = "unreadable";
          chunk.reasons[j] = r.reason;
          chunk.files[j] = r.file;
          continue;
        }
        if (r.status === "noface") {
          chunk.status[j] = "noface";
          continue;
        }
        try {
          preprocessInto(r.img, card, buffer, slots.length, r.box);
        } catch (e) {
          chunk.status[j] = "unreadable";
          chunk.reasons[j] = e instanceof Error ? e.message : String(e);
          chunk.files[j] = sourceName(samples[i].source);
          continue;
        }
        if (r.detected !== undefined) (chunk.boxes ??= {})[j] = r.detected;
        slots.push(i);
      }
      // Keep decoding ahead while the model runs (session.run blocks this thread).
      launch(pos + window);
      if (slots.length === 0) continue;
      const { probs } = await engine.runTensor(buffer, slots.length);
      const c = engine.numClasses;
      slots.forEach((i, s) => {
        chunk.probs[i - start] = Array.from(probs.subarray(s * c, (s + 1) * c));
      });
      inferred += slots.length;
    }
    await done(k, chunk);
  }
  return inferred;
}

/** Build the canonical table from complete chunks. */
function assemble(
  modelClasses: readonly Emotion[],
  samples: readonly Sample[],
  chunks: readonly ChunkFile[],
): PredictionTable & { unreadable: UnreadableFile[]; noFace: string[] } {
  const classes = predictionClasses(modelClasses);
  const column = modelClasses.map((c) => classes.indexOf(c));
  const rows: Prediction[] = [];
  const unreadable: UnreadableFile[] = [];
  const noFace: string[] = [];
  let i = 0;
  for (const chunk of chunks) {
    for (let j = 0; j < chunk.ids.length; j++, i++) {
      const s = samples[i];
      if (chunk.status[j] === "unreadable") {
        unreadable.push({ file: chunk.files[j] ?? s.id, reason: chunk.reasons[j] ?? "unreadable" });
        continue;
      }
      if (chunk.status[j] === "noface") {
        noFace.push(s.id);
        continue;
      }
      const p = chunk.probs[j]!;
      const probs = new Float64Array(classes.length);
      let best = 0;
      for (let m = 0; m < p.length; m++) {
        probs[column[m]] = p[m];
        if (p[m] > p[best]) best = m;
      }
      rows.push({ id: s.id, label: s.label, pred: modelClasses[best], probs });
    }
  }
  return { classes, rows, unreadable, noFace };
}

/** Share of rows whose prediction equals the label (0 for an empty table). */
export function accuracy(table: PredictionTable): number {
  if (table.rows.length === 0) return 0;
  return table.rows.filter((r) => r.pred === r.label).length / table.rows.length;
}

/** Per-class counts of labels, for summaries: canonical name → rows with that label. */
export function labelCounts(table: PredictionTable): Partial<Record<Emotion, number>> {
  const out: Partial<Record<Emotion, number>> = {};
  for (const e of EMOTIONS) {
    const n = table.rows.filter((r) => r.label === e).length;
    if (n > 0) out[e] = n;
  }
  return out;
}
