/**
 * Predictions over a dataset, with a resumable, content-keyed on-disk cache.
 *
 * `predictDataset(model, dataset, opts)` decodes each sample's image, optionally finds the face
 * with a detector, preprocesses per the model card and runs the engine batch by batch. Without a
 * detector, a worker thread reads, decodes and preprocesses blocks of images ahead of inference
 * (lib/batch_prep.ts), since `session.run` holds the main thread; with one, or for a few images,
 * the main thread decodes a window of images ahead and preprocesses each batch itself. Probabilities are mapped
 * from the model's class order onto the kit's canonical columns (lib/predictions.ts).
 *
 * Cache (lib/prediction_cache.ts): `<cacheRoot()>/predictions/<model key>/`, model key =
 * SHA-256 of (cache version, ONNX SHA-256, output spec, preprocessing spec, detector). Results
 * are stored per image, keyed by the image's content hash and face box, so a changed image is
 * predicted again, the same image in two datasets is predicted once, and results of other runs
 * are reused whatever dataset they came from. Results are written in checksummed chunks of
 * `chunkSize` images as they arrive, so a killed run resumes where it stopped.
 */
import { join } from "node:path";
import { cacheRoot } from "./config.ts";
import { exists, sha256Hex, writeFileAtomic } from "./fsutil.ts";
import { sourceTags } from "./datasets/content.ts";
import {
  type CachedPrediction,
  type ChunkProducer,
  imageKey,
  PREDICTION_CACHE_VERSION,
  readPredictionCache,
  writePredictionChunk,
} from "./prediction_cache.ts";
import {
  decodeImage,
  ImageError,
  maxImagePixels,
  type RawImage,
  sourceName,
  type UnreadableFile,
} from "./image.ts";
import { BatchPreparer, type PreparedBlock } from "./batch_prep.ts";
import type { LoadedDataset } from "./datasets/types.ts";
import { Engine, type Provider } from "./engine.ts";
import { recordProducers } from "./provider.ts";
import { ONNXRUNTIME_VERSION } from "./session.ts";
import type { ResolvedModel } from "./models/registry.ts";
import type { InputSpec } from "./models/card.ts";
import { type Prediction, predictionClasses, type PredictionTable } from "./predictions.ts";
import { preprocessInto, preprocessKey, sampleLength } from "./preprocess.ts";
import { createProgress, type Progress } from "./progress.ts";
import type { FaceBox, Sample } from "./sample.ts";
import { inShard, type Shard } from "./shard.ts";
import type { Emotion } from "./taxonomy.ts";
import {
  createDetector,
  type DetectorName,
  type FaceDetector,
  pickFace,
  readDetectorCard,
} from "./detect/mod.ts";
import { ReadAhead } from "./read_ahead.ts";

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
  /** Results per cache chunk file (default 256). */
  chunkSize?: number;
  /** Images decoded ahead of inference on the main thread (default max(16, 2 × batch)). */
  prefetch?: number;
  /**
   * Bytes of decoded pixels held ahead of inference on the main thread, decoding included
   * (default 256 MiB); an image larger than this is decoded alone. (The worker decodes one image
   * at a time.)
   */
  prefetchBytes?: number;
  /**
   * Read, decode and preprocess the images on a worker thread, blocks ahead of inference, so
   * that they overlap with `session.run` (which holds the main thread); default: when no
   * detector is used and at least 64 images are to be run. The tensors are the same either way.
   */
  prepareInWorker?: boolean;
  /** Progress display: true (default: bar on a TTY, lines otherwise), false, or your own. */
  progress?: boolean | Progress;
  /** An already open engine for this model (not disposed here). */
  engine?: Engine;
  /**
   * Run only this shard of the dataset (lib/shard.ts, by image key): the table, the stats and
   * the cache entries written cover the shard's samples alone.
   */
  shard?: Shard;
}

/** What happened during a prediction run. */
export interface PredictStats {
  /** Samples in the dataset (in the shard, with a shard). */
  total: number;
  /** The shard run, when only one was. */
  shard?: Shard;
  /** Rows in the table (samples with a prediction). */
  predicted: number;
  /** Samples whose result came from the cache. */
  fromCache: number;
  /** Samples run through the model in this call. */
  inferred: number;
  /** Of those, the ones a worker thread read and preprocessed (PredictOptions.prepareInWorker). */
  preparedInWorker: number;
  /** Images that could not be read (file + reason); they have no row. */
  unreadable: UnreadableFile[];
  /** Ids of samples where the detector found no face; they have no row. */
  noFace: string[];
  /** Wall time of this call, seconds. */
  seconds: number;
  /** Inferred samples per second over the call (0 when everything came from the cache). */
  imagesPerSecond: number;
  /** The most bytes of decoded pixels held ahead of inference at once on the main thread. */
  aheadPeakBytes: number;
  /** Cache key (the model key, lib/prediction_cache.ts) and the model's cache folder. */
  cacheKey: string;
  cacheDir: string;
  /** Why the cache could not be written during this run (results were kept, not cached). */
  cacheWriteError?: string;
  /** Provider that ran the model ("cache" when nothing ran). */
  provider: Provider | "cache";
  providerNote?: string;
  /**
   * What produced the table's rows, one entry per provider and onnxruntime version (rows from
   * the cache keep the producer recorded in their chunk; "unknown" for older chunks).
   */
  producers: RowProducer[];
}

/** How many rows of a table one provider and onnxruntime version produced. */
export interface RowProducer {
  provider: string;
  onnxruntime: string;
  rows: number;
}

/** A prediction table with its run statistics. */
export type PredictResult = PredictionTable & { stats: PredictStats };

/**
 * The model key of a (model, preprocessing, detector) combination: SHA-256 hex of their
 * canonical JSON. Datasets are not part of it: entries inside are keyed per image.
 */
export async function predictionCacheKey(
  model: ResolvedModel,
  detect: string | undefined,
  detectThreshold: number | undefined,
): Promise<string> {
  return await modelKey(await modelKeyFields(model, detect, detectThreshold));
}

/**
 * What the model key stands for: the model's ONNX hash, output and preprocessing specs, and the
 * detector by its card's id and hash (so a new detector file is a new key; the file is checked
 * against that hash whenever the detector loads) with its threshold.
 */
export async function modelKeyFields(
  model: ResolvedModel,
  detect: string | undefined,
  detectThreshold: number | undefined,
): Promise<ModelKeyFields> {
  return {
    modelSha256: model.sha256,
    output: model.card.output,
    preprocess: preprocessKey(model.card),
    detect: detect === undefined ? null : await detectorIdentity(detect),
    detectThreshold: detectThreshold ?? null,
  };
}

/** A face detector's card id and ONNX hash, as the prediction cache keys it. */
async function detectorIdentity(name: string): Promise<string> {
  const card = await readDetectorCard(name);
  return `${card.id} sha256:${card.sha256}`;
}

/** What a model key stands for (as `meta.json` records it, with `preprocess` as JSON text). */
export interface ModelKeyFields {
  modelSha256: string;
  output: unknown;
  /** preprocessKey(card): canonical JSON text of the preprocessing spec. */
  preprocess: string;
  detect: string | null;
  detectThreshold: number | null;
}

/** The model key of `fields` (see predictionCacheKey). */
export async function modelKey(fields: ModelKeyFields): Promise<string> {
  return await sha256Hex(JSON.stringify({
    v: PREDICTION_CACHE_VERSION,
    model: fields.modelSha256,
    output: fields.output,
    preprocess: fields.preprocess,
    detect: fields.detect,
    detectThreshold: fields.detectThreshold,
  }));
}

/** A sample ready for the model (or why it is not). */
type Prepared =
  & { reserved: number }
  & (
    | { status: "ok"; img: RawImage; box?: FaceBox; detected?: FaceBox }
    | { status: "unreadable"; file: string; reason: string }
    | { status: "noface" }
  );

/** Default bytes of decoded pixels held ahead of inference (lib/read_ahead.ts). */
const PREFETCH_BYTES = 256 * 2 ** 20;

/** Tag of a file that could not be stat-ed (lib/datasets/content.ts). */
const MISSING_TAG = "file:missing";

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
  const card = model.card;
  const batch = opts.engine?.batchSize ??
    (typeof card.input.batch === "number"
      ? card.input.batch
      : Math.max(1, Math.floor(opts.batchSize ?? 32)));
  const perBlock = blockSize(card.input, batch);
  const start = () => new BatchPreparer(card, perBlock, sampleLength(card.input), maxImagePixels());
  // Without a cache every image is run: the worker thread starts while the images are hashed.
  let early = opts.cache === false && opts.detect === undefined &&
      opts.prepareInWorker !== false &&
      (opts.prepareInWorker === true || dataset.samples.length >= WORKER_MIN_SAMPLES)
    ? start()
    : undefined;
  const takePreparer = () => {
    const p = early ?? start();
    early = undefined;
    return p;
  };
  try {
    return await predictSamples(model, dataset, opts, t0, perBlock, takePreparer);
  } finally {
    early?.close(); // started early but not used: nothing to run, or an error before
  }
}

/** predictDataset's work, with the batch preparer to use when it runs images on a worker. */
async function predictSamples(
  model: ResolvedModel,
  dataset: PredictableDataset,
  opts: PredictOptions,
  t0: number,
  perBlock: number,
  takePreparer: () => BatchPreparer,
): Promise<PredictResult> {
  const card = model.card;
  const nClasses = card.output.classes.length;
  const chunkSize = Math.max(1, Math.floor(opts.chunkSize ?? 256));
  const useCache = opts.cache !== false;
  const key = await predictionCacheKey(model, opts.detect, opts.detectThreshold);
  const dir = join(opts.cacheDir ?? join(cacheRoot(), "predictions"), key);

  const allTags = await sourceTags(dataset.samples.map((s) => s.source));
  const allKeys = dataset.samples.map((s, i) => imageKey(allTags[i], s.box));
  // With a shard: only the samples whose image key falls in it, in dataset order.
  const kept = opts.shard === undefined
    ? undefined
    : allKeys.flatMap((k, i) => (inShard(k, opts.shard!) ? [i] : []));
  const samples = kept === undefined ? dataset.samples : kept.map((i) => dataset.samples[i]);
  const tags = kept === undefined ? allTags : kept.map((i) => allTags[i]);
  const keys = kept === undefined ? allKeys : kept.map((i) => allKeys[i]);
  const results = new Map<string, CachedPrediction>();
  const producers = new Map<string, ChunkProducer>();
  if (useCache) {
    const cached = await readPredictionCache(dir, key, nClasses);
    for (const b of cached.bad) {
      console.error(
        `warning: prediction cache chunk ${b.file} not used (${b.reason}); ` +
          `its images are predicted again`,
      );
    }
    for (const [k, v] of cached.entries) results.set(k, v);
    for (const [k, v] of cached.producers) producers.set(k, v);
  }
  // Samples to run: one per distinct image key not in the cache (missing files are not run).
  const todo: number[] = [];
  const queued = new Set<string>();
  let fromCache = 0;
  samples.forEach((_, i) => {
    if (tags[i] === MISSING_TAG) return;
    if (results.has(keys[i])) fromCache++;
    else if (!queued.has(keys[i])) {
      queued.add(keys[i]);
      todo.push(i);
    }
  });

  let provider: Provider | "cache" = "cache";
  let providerNote: string | undefined;
  let inferred = 0;
  let preparedInWorker = 0;
  let cacheWriteError: string | undefined;
  const ahead = new ReadAhead(opts.prefetchBytes ?? PREFETCH_BYTES);
  if (todo.length > 0) {
    if (useCache) {
      try {
        await writeMeta(dir, model, opts.detect, opts.detectThreshold);
      } catch (e) {
        cacheWriteError = cacheWarning(dir, e);
      }
    }
    // The worker starts reading and preprocessing while the session loads.
    const useWorker = opts.detect === undefined &&
      (opts.prepareInWorker ?? (todo.length >= WORKER_MIN_SAMPLES || todo.length > perBlock));
    const feed = useWorker ? new BlockFeed(takePreparer(), samples, todo) : undefined;
    let engine: Engine;
    try {
      engine = opts.engine ?? await Engine.create(model, {
        provider: opts.provider,
        intraOpThreads: opts.threads,
        batchSize: opts.batchSize,
      });
    } catch (e) {
      feed?.close();
      throw e;
    }
    provider = engine.provider;
    providerNote = engine.providerNote;
    let detector: FaceDetector | undefined;
    try {
      detector = opts.detect === undefined ? undefined : await createDetector(opts.detect, {
        scoreThreshold: opts.detectThreshold,
        intraOpThreads: opts.threads,
        dir: opts.detectorsDir,
      });
    } catch (e) {
      if (opts.engine === undefined) await engine.dispose();
      throw e;
    }
    const progress = opts.progress === false
      ? undefined
      : typeof opts.progress === "object"
      ? opts.progress
      : createProgress(
        `predict ${card.id} on ${dataset.name}` +
          (opts.shard ? ` (shard ${opts.shard.index}/${opts.shard.count})` : ""),
        samples.length,
      );
    progress?.set(samples.length - todo.length);
    try {
      const flush = async (done: [number, CachedPrediction][]) => {
        const producer: ChunkProducer = {
          created: new Date().toISOString(),
          provider: engine.provider,
          onnxruntime: ONNXRUNTIME_VERSION,
        };
        for (const [i, r] of done) {
          results.set(keys[i], r);
          producers.set(keys[i], producer);
        }
        // One chunk per `chunkSize` results, whatever the batches that produced them.
        for (
          let s = 0;
          s < done.length && useCache && cacheWriteError === undefined;
          s += chunkSize
        ) {
          try {
            await writePredictionChunk(dir, {
              v: PREDICTION_CACHE_VERSION,
              key,
              producer,
              entries: Object.fromEntries(
                done.slice(s, s + chunkSize).map(([i, r]) => [keys[i], r]),
              ),
            });
          } catch (e) {
            cacheWriteError = cacheWarning(dir, e);
          }
        }
        progress?.tick(done.length);
      };
      if (feed !== undefined) {
        ({ inferred, preparedInWorker } = await runPrepared(
          engine,
          feed,
          samples,
          chunkSize,
          flush,
        ));
      } else {
        inferred = await runMissing(
          engine,
          detector,
          samples,
          todo,
          chunkSize,
          opts.prefetch,
          ahead,
          flush,
        );
      }
      progress?.finish();
    } finally {
      feed?.close();
      if (opts.engine === undefined) await engine.dispose();
      await detector?.dispose();
    }
  }

  const table = assemble(card.output.classes, samples, tags, keys, results);
  const rowsBy = rowProducers(keys, tags, results, producers);
  recordProducers(`predictions ${card.id} on ${dataset.name}`, rowsBy);
  const seconds = (performance.now() - t0) / 1000;
  return {
    ...table,
    stats: {
      total: samples.length,
      ...(opts.shard !== undefined ? { shard: opts.shard } : {}),
      predicted: table.rows.length,
      fromCache,
      inferred,
      preparedInWorker,
      unreadable: table.unreadable,
      noFace: table.noFace,
      seconds,
      imagesPerSecond: inferred > 0 ? inferred / seconds : 0,
      aheadPeakBytes: ahead.peak,
      cacheKey: key,
      cacheDir: dir,
      provider,
      ...(providerNote !== undefined ? { providerNote } : {}),
      producers: rowsBy,
      ...(cacheWriteError !== undefined ? { cacheWriteError } : {}),
    },
  };
}

/** Describe the model key once in `<dir>/meta.json` (what cache merge recomputes the key from). */
async function writeMeta(
  dir: string,
  model: ResolvedModel,
  detect: string | undefined,
  detectThreshold: number | undefined,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const metaPath = join(dir, "meta.json");
  if (await exists(metaPath)) return;
  const fields = await modelKeyFields(model, detect, detectThreshold);
  await writeFileAtomic(
    metaPath,
    JSON.stringify(
      {
        v: PREDICTION_CACHE_VERSION,
        model: model.card.id,
        modelSha256: fields.modelSha256,
        output: fields.output,
        detect: fields.detect,
        detectThreshold: fields.detectThreshold,
        preprocess: JSON.parse(fields.preprocess),
        created: new Date().toISOString(),
      },
      null,
      2,
    ) + "\n",
  );
}

/** Print (once per run) that the cache cannot be written; the run goes on without it. */
function cacheWarning(dir: string, e: unknown): string {
  const why = e instanceof Error ? e.message : String(e);
  console.error(
    `warning: cannot write the prediction cache in ${dir} (${why}); this run goes on and ` +
      `keeps its results, but they are not cached. Free space or set FER_CACHE, then rerun to ` +
      `cache them (what was cached so far is kept).`,
  );
  return why;
}

/**
 * Decode (and detect) one sample; never throws for a bad image. With `ahead`, its decoded pixels
 * are counted there under its ticket (asked for from the header, before decoding); a sample that
 * shares another's decode, or fails before its header, asks for 0 bytes so later tickets go on.
 * `reserved` in the result is what the caller gives back once the sample is used.
 */
async function prepare(
  s: Sample,
  detector: FaceDetector | undefined,
  decoded: Map<string, Promise<RawImage>>,
  ahead?: { budget: ReadAhead; ticket: number },
): Promise<Prepared> {
  let reserved: number | undefined;
  const reserve = async (bytes: number) => {
    reserved = bytes;
    await ahead?.budget.acquire(ahead.ticket, bytes);
  };
  let img: RawImage;
  try {
    if (s.source.kind === "file") {
      // Samples of one image (several faces) are adjacent: decode the file once.
      let p = decoded.get(s.source.path);
      if (p === undefined) {
        p = decodeImage(s.source, reserve);
        decoded.clear(); // only the latest file: the ones before are done or held by their samples
        decoded.set(s.source.path, p);
      }
      img = await p;
    } else {
      img = await decodeImage(s.source); // pixels already in memory
    }
  } catch (e) {
    if (e instanceof ImageError) {
      if (reserved === undefined) await reserve(0);
      return {
        status: "unreadable",
        file: e.file,
        reason: e.message.slice(e.file.length + 2),
        reserved: reserved!,
      };
    }
    throw e;
  }
  if (reserved === undefined) await reserve(0);
  if (detector === undefined) return { status: "ok", img, box: s.box, reserved: reserved! };
  const face = pickFace(await detector.detect(img), s.box);
  if (face === undefined) return { status: "noface", reserved: reserved! };
  return { status: "ok", img, box: face.box, detected: face.box, reserved: reserved! };
}

/**
 * Run the samples at indices `todo`, in order; every `chunkSize` results (and at the end) calls
 * `flush` with (sample index, result) pairs. Returns the number of samples inferred.
 */
async function runMissing(
  engine: Engine,
  detector: FaceDetector | undefined,
  samples: readonly Sample[],
  todo: readonly number[],
  chunkSize: number,
  prefetch: number | undefined,
  budget: ReadAhead,
  flush: (done: [number, CachedPrediction][]) => Promise<void>,
): Promise<number> {
  const card = engine.model.card;
  const batch = engine.batchSize;
  const window = Math.max(1, prefetch ?? Math.max(16, 2 * batch));
  const decoded = new Map<string, Promise<RawImage>>();
  const pending = new Map<number, Promise<Prepared>>();
  let launched = 0;
  const launchOne = () => {
    const i = todo[launched++];
    pending.set(i, prepare(samples[i], detector, decoded, { budget, ticket: budget.ticket() }));
  };
  // Decode ahead: at most `window` images, and at most `budget.limit` bytes of pixels decoded
  // or being decoded (tickets in the order of use, lib/read_ahead.ts).
  const launch = (upTo: number) => {
    while (launched < todo.length && launched < upTo) launchOne();
  };
  const buffer = new Float32Array(batch * engine.sampleLength);
  let done: [number, CachedPrediction][] = [];
  let inferred = 0;
  for (let b = 0; b < todo.length; b += batch) {
    const bEnd = Math.min(todo.length, b + batch);
    launch(bEnd + window);
    const slots: { i: number; box?: FaceBox }[] = []; // samples in the batch buffer
    for (let t = b; t < bEnd; t++) {
      const i = todo[t];
      while (launched <= t) launchOne();
      const p = pending.get(i)!;
      pending.delete(i);
      const r = await p;
      budget.release(r.reserved);
      if (r.status === "unreadable") {
        done.push([i, { status: "unreadable", reason: r.reason }]);
        continue;
      }
      if (r.status === "noface") {
        done.push([i, { status: "noface" }]);
        continue;
      }
      try {
        preprocessInto(r.img, card, buffer, slots.length, r.box);
      } catch (e) {
        done.push([i, {
          status: "unreadable",
          reason: e instanceof Error ? e.message : String(e),
        }]);
        continue;
      }
      slots.push({ i, box: r.detected });
    }
    // Keep decoding ahead while the model runs (session.run blocks this thread).
    launch(bEnd + window);
    if (slots.length > 0) {
      const { probs } = await engine.runTensor(buffer, slots.length);
      const c = engine.numClasses;
      slots.forEach(({ i, box }, s) => {
        const entry: CachedPrediction = {
          status: "ok",
          probs: Array.from(probs.subarray(s * c, (s + 1) * c)),
        };
        if (box !== undefined) entry.box = box;
        done.push([i, entry]);
      });
      inferred += slots.length;
    }
    if (bEnd === todo.length) {
      await flush(done);
      done = [];
    } else if (done.length >= chunkSize) {
      // Whole chunks only; the rest waits for the next batches (no small leftover chunks).
      await flush(done.splice(0, done.length - (done.length % chunkSize)));
    }
  }
  return inferred;
}

/**
 * Images to run from which predictDataset prepares them on a worker (its start costs about
 * 0.1 s); fewer when they fill more than one block (large inputs, slow models).
 */
const WORKER_MIN_SAMPLES = 64;
/** Input tensor bytes per block prepared by the worker (at least one engine batch). */
const BLOCK_BYTES = 8 * 2 ** 20;
/** Samples per block, at most. */
const BLOCK_MAX = 256;

/** Samples per block handed to the worker: whole engine batches, about BLOCK_BYTES of tensor. */
function blockSize(input: InputSpec, batch: number): number {
  const fit = Math.min(BLOCK_MAX, BLOCK_BYTES / (4 * sampleLength(input)));
  return batch * Math.max(1, Math.floor(fit / batch));
}

/**
 * The todo list cut into blocks of whole engine batches, handed to a BatchPreparer as its
 * buffers come back: the worker works on the next blocks while the model runs the current one.
 */
class BlockFeed {
  readonly blocks: number[][] = [];
  private readonly pending: Promise<PreparedBlock>[] = [];

  constructor(
    private readonly prep: BatchPreparer,
    private readonly samples: readonly Sample[],
    todo: readonly number[],
  ) {
    for (let b = 0; b < todo.length; b += prep.blockSize) {
      this.blocks.push(todo.slice(b, b + prep.blockSize));
    }
    this.fill();
  }

  /** Block `k`, prepared (blocks are taken in order). */
  take(k: number): Promise<PreparedBlock> {
    return this.pending[k];
  }

  /** Give block `k`'s buffer back; the next block waiting for one is submitted. */
  recycle(k: number, block: PreparedBlock): void {
    delete this.pending[k];
    this.prep.recycle(block.buffer);
    this.fill();
  }

  close(): void {
    this.prep.close();
  }

  private fill(): void {
    while (this.pending.length < this.blocks.length && this.prep.freeBuffers > 0) {
      const items = this.blocks[this.pending.length].map((i) => {
        const s = this.samples[i];
        // In-memory pixels are preprocessed by the caller ("" is no file).
        return { path: s.source.kind === "file" ? s.source.path : "", box: s.box };
      });
      this.pending.push(this.prep.submit(items));
    }
  }
}

/**
 * runMissing with the images prepared by a worker (BlockFeed): the same batches (whole engine
 * batches of `todo`, unreadable images left out), the same tensors, the same results.
 */
async function runPrepared(
  engine: Engine,
  feed: BlockFeed,
  samples: readonly Sample[],
  chunkSize: number,
  flush: (done: [number, CachedPrediction][]) => Promise<void>,
): Promise<{ inferred: number; preparedInWorker: number }> {
  const card = engine.model.card;
  const batch = engine.batchSize;
  const len = engine.sampleLength;
  const c = engine.numClasses;
  const decoded = new Map<string, Promise<RawImage>>();
  const done: [number, CachedPrediction][] = [];
  let inferred = 0;
  let inWorker = 0;
  for (let k = 0; k < feed.blocks.length; k++) {
    const ids = feed.blocks[k];
    const block = await feed.take(k);
    const buf = block.buffer;
    // What the worker left: prepared here, exactly as runMissing does.
    const ok = ids.map((_, j) => !block.needsCaller[j]);
    inWorker += ok.filter((x) => x).length;
    for (let j = 0; j < ids.length; j++) {
      if (ok[j]) continue;
      const r = await prepare(samples[ids[j]], undefined, decoded);
      if (r.status !== "ok") {
        done.push([
          ids[j],
          r.status === "unreadable"
            ? { status: "unreadable", reason: r.reason }
            : { status: "noface" },
        ]);
        continue;
      }
      try {
        preprocessInto(r.img, card, buf, j, r.box);
        ok[j] = true;
      } catch (e) {
        done.push([ids[j], {
          status: "unreadable",
          reason: e instanceof Error ? e.message : String(e),
        }]);
      }
    }
    // One engine batch per `batch` items of the todo list, the usable ones packed to the front.
    for (let b = 0; b < ids.length; b += batch) {
      const end = Math.min(ids.length, b + batch);
      const slots: number[] = [];
      for (let j = b; j < end; j++) {
        if (!ok[j]) continue;
        const to = b + slots.length;
        if (to !== j) buf.copyWithin(to * len, j * len, (j + 1) * len);
        slots.push(ids[j]);
      }
      if (slots.length > 0) {
        const { probs } = await engine.runTensor(buf.subarray(b * len), slots.length);
        slots.forEach((i, s) => {
          done.push([i, { status: "ok", probs: Array.from(probs.subarray(s * c, (s + 1) * c)) }]);
        });
        inferred += slots.length;
      }
      if (done.length >= chunkSize) {
        // Whole chunks only; the rest waits for the next block (no small leftover chunks).
        await flush(done.splice(0, done.length - (done.length % chunkSize)));
      }
    }
    feed.recycle(k, block);
  }
  await flush(done);
  return { inferred, preparedInWorker: inWorker };
}

/** Rows per producer (provider and onnxruntime version) among the samples that have a prediction. */
function rowProducers(
  keys: readonly string[],
  tags: readonly string[],
  results: ReadonlyMap<string, CachedPrediction>,
  producers: ReadonlyMap<string, ChunkProducer>,
): RowProducer[] {
  const counts = new Map<string, RowProducer>();
  keys.forEach((k, i) => {
    if (tags[i] === MISSING_TAG || results.get(k)?.status !== "ok") return;
    const p = producers.get(k);
    const provider = p?.provider ?? "unknown";
    const onnxruntime = p?.onnxruntime ?? "unknown";
    const id = `${provider}|${onnxruntime}`;
    const c = counts.get(id) ?? { provider, onnxruntime, rows: 0 };
    c.rows++;
    counts.set(id, c);
  });
  return [...counts.values()].sort((a, b) => b.rows - a.rows);
}

/** Build the canonical table, in dataset order, from the results by image key. */
function assemble(
  modelClasses: readonly Emotion[],
  samples: readonly Sample[],
  tags: readonly string[],
  keys: readonly string[],
  results: ReadonlyMap<string, CachedPrediction>,
): PredictionTable & { unreadable: UnreadableFile[]; noFace: string[] } {
  const classes = predictionClasses(modelClasses);
  const column = modelClasses.map((c) => classes.indexOf(c));
  const rows: Prediction[] = [];
  const unreadable: UnreadableFile[] = [];
  const noFace: string[] = [];
  samples.forEach((s, i) => {
    const r = tags[i] === MISSING_TAG ? undefined : results.get(keys[i]);
    if (r === undefined || r.status === "unreadable") {
      const reason = r?.reason ?? "file not found";
      unreadable.push({ file: sourceName(s.source), reason });
      return;
    }
    if (r.status === "noface") {
      noFace.push(s.id);
      return;
    }
    const p = r.probs!;
    const probs = new Float64Array(classes.length);
    let best = 0;
    for (let m = 0; m < p.length; m++) {
      probs[column[m]] = p[m];
      if (p[m] > p[best]) best = m;
    }
    rows.push({ id: s.id, label: s.label, pred: modelClasses[best], probs });
  });
  return { classes, rows, unreadable, noFace };
}

/** Share of rows whose prediction equals the label (0 for an empty table). */
export function accuracy(table: PredictionTable): number {
  if (table.rows.length === 0) return 0;
  return table.rows.filter((r) => r.pred === r.label).length / table.rows.length;
}
