/**
 * The inference engine: one onnxruntime-node session per model, checked against its card,
 * batched where the graph's batch dimension is dynamic, returning class probabilities in the
 * MODEL's class order (softmax applied when the card says the output is logits).
 *
 * Execution providers: onnxruntime-node 1.30 bundles "cpu" and "webgpu" (which needs a GPU
 * adapter: Vulkan on Linux); "cuda" needs the CUDA 12 libraries, which `npm install` fetches
 * only online. The provider is the option's, else FER_PROVIDER's, else cpu; when it cannot
 * start, the engine says why and runs on cpu, or throws when strict (lib/provider.ts;
 * `Engine.provider` and `Engine.providerNote` tell what ran).
 */
import * as ort from "onnxruntime-node";
import { exposeOutput } from "./onnx/mod.ts";
import type { RawImage } from "./image.ts";
import type { FaceBox } from "./sample.ts";
import { ModelCardError, type ResolvedModel } from "./models/registry.ts";
import { sampleLength, writeBatch } from "./preprocess.ts";
import { type Provider, ProviderUnavailableError } from "./provider.ts";
import { openSession } from "./session.ts";
import { probabilityProblem } from "./predictions.ts";

export type { Provider } from "./provider.ts";

/** Engine options. */
export interface EngineOptions {
  /**
   * Execution provider (default: FER_PROVIDER, else "cpu"); falls back to cpu with a note when
   * unavailable, unless `strict`.
   */
  provider?: Provider;
  /** Throw ProviderUnavailableError instead of falling back (default: FER_PROVIDER_STRICT=1). */
  strict?: boolean;
  /** Threads inside one operator (onnxruntime intraOpNumThreads; default: its own, all cores). */
  intraOpThreads?: number;
  /** Threads across operators (onnxruntime interOpNumThreads). */
  interOpThreads?: number;
  /**
   * Let onnxruntime's worker threads busy-wait between tasks (its default). Off by default here:
   * on a machine whose cores are shared with other work, spinning threads steal the time the
   * computing ones need (measured on 2 shared cores: DenseNet-121 7.9 → 14.2 runs/s without).
   */
  spin?: boolean;
  /** Samples per session.run for dynamic-batch models (default 32); fixed-batch models use N. */
  batchSize?: number;
  /**
   * Inner tensors to return with the probabilities (e.g. the card's embedding tensor). Tensors
   * that are not graph outputs are exposed with lib/onnx `exposeOutput` before loading.
   */
  extraOutputs?: string[];
}

/** Result of a run over n samples. */
export interface EngineRun {
  /** n × classes, row-major, in the model's class order (card.output.classes), rows sum to 1. */
  probs: Float32Array;
  /** Each extra output, n × (its per-sample size), row-major. */
  extra: Record<string, Float32Array>;
}

/**
 * The onnxruntime session options the kit uses: full graph optimisation, the given provider and
 * thread counts, and thread spinning off unless `spin` (see EngineOptions.spin).
 */
export function ortSessionOptions(
  opts: Pick<EngineOptions, "provider" | "intraOpThreads" | "interOpThreads" | "spin"> = {},
): ort.InferenceSession.SessionOptions {
  const o: ort.InferenceSession.SessionOptions = {
    executionProviders: [opts.provider ?? "cpu"],
    graphOptimizationLevel: "all",
  };
  if (opts.intraOpThreads !== undefined) o.intraOpNumThreads = opts.intraOpThreads;
  if (opts.interOpThreads !== undefined) o.interOpNumThreads = opts.interOpThreads;
  if (opts.spin !== true) {
    const off = { allow_spinning: "0" };
    o.extra = { session: { intra_op: off, inter_op: off } };
  }
  return o;
}

/**
 * Throw a ModelCardError naming the card's `output.kind` when a network whose card says
 * "probabilities" returns rows that are not probability vectors (values in [0, 1] summing to 1
 * within lib/predictions.ts PROBABILITY_SUM_TOLERANCE): most often the network outputs logits.
 */
export function checkProbabilityOutput(
  probs: Float32Array,
  rows: number,
  cols: number,
  model: Pick<ResolvedModel, "cardPath" | "card">,
): void {
  for (let r = 0; r < rows; r++) {
    const why = probabilityProblem(probs.subarray(r * cols, (r + 1) * cols));
    if (why === undefined) continue;
    throw new ModelCardError(
      `the card says output "${model.card.output.name}" holds probabilities, but for sample ` +
        `${r + 1} of a batch the network returned ${why}. If the network outputs logits, set ` +
        `"kind": "logits" in the card's output.`,
      model.cardPath,
      "output.kind",
    );
  }
}

/** Numerically stable softmax of each row of a rows × cols matrix, in place. */
export function softmaxRows(m: Float32Array, rows: number, cols: number): Float32Array {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, m[o + j]);
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(m[o + j] - max);
    // exp is recomputed in float64 rather than stored in the float32 row, so each probability is
    // rounded once (exp / sum), with no allocation per row.
    for (let j = 0; j < cols; j++) m[o + j] = Math.exp(m[o + j] - max) / sum;
  }
  return m;
}

function toFloat32(t: ort.Tensor, what: string): Float32Array {
  const d = t.data;
  if (d instanceof Float32Array) return d;
  if (typeof d === "string" || Array.isArray(d)) throw new Error(`${what}: not a numeric tensor`);
  const out = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  return out;
}

/** An onnxruntime session bound to a validated model card. */
export class Engine {
  /** Per-sample input shape including a batch dimension of 1 (e.g. [1, 1, 48, 48]). */
  readonly inputShape: readonly number[];
  /** Floats per sample (H·W·C). */
  readonly sampleLength: number;
  /** Samples per session.run. */
  readonly batchSize: number;
  /** True when the graph accepts any batch size. */
  readonly dynamicBatch: boolean;
  /** Number of classes the model outputs. */
  readonly numClasses: number;

  private constructor(
    readonly model: ResolvedModel,
    private readonly session: ort.InferenceSession,
    /** The provider that actually runs the model. */
    readonly provider: Provider,
    /** Why the requested provider did not run, when it did not. */
    readonly providerNote: string | undefined,
    fixedBatch: number | undefined,
    requestedBatch: number,
    private readonly extraOutputs: readonly string[],
  ) {
    const inp = model.card.input;
    this.inputShape = inp.layout === "NCHW"
      ? [1, inp.channels, inp.height, inp.width]
      : [1, inp.height, inp.width, inp.channels];
    this.sampleLength = sampleLength(inp);
    this.dynamicBatch = fixedBatch === undefined;
    this.batchSize = fixedBatch ?? Math.max(1, Math.floor(requestedBatch));
    this.numClasses = model.card.output.classes.length;
  }

  /**
   * Open a session for a resolved model and check it against the card: input name, rank and
   * H/W/C, batch dimension, output name and class count (errors name the card file and field).
   */
  static async create(model: ResolvedModel, opts: EngineOptions = {}): Promise<Engine> {
    const extra = [...new Set(opts.extraOutputs ?? [])];
    let source: string | Uint8Array = model.bytes ?? model.onnxPath;
    const sessionOpts = (provider: Provider) => ortSessionOptions({ ...opts, provider });
    const open = async (): Promise<[ort.InferenceSession, Provider, string | undefined]> => {
      try {
        const o = await openSession(source, sessionOpts, `model ${model.card.id}`, opts);
        return [o.session, o.provider, o.note];
      } catch (e) {
        if (e instanceof ProviderUnavailableError) throw e;
        throw new ModelCardError(
          `onnxruntime cannot load the model: ${errText(e)}`,
          model.cardPath,
          "onnx",
        );
      }
    };
    let [session, provider, note] = await open();
    const missing = extra.filter((t) => !session.outputNames.includes(t));
    if (missing.length > 0) {
      let bytes = model.bytes ?? await Deno.readFile(model.onnxPath);
      for (const t of missing) bytes = exposeOutput(bytes, t);
      await session.release();
      source = bytes;
      [session, provider, note] = await open();
    }
    try {
      const fixedBatch = checkSession(model, session);
      return new Engine(model, session, provider, note, fixedBatch, opts.batchSize ?? 32, extra);
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  /**
   * Run n preprocessed samples (n · sampleLength floats, the card's layout) through the model,
   * batch by batch. Returns probabilities in the model's class order and any extra outputs.
   */
  async runTensor(input: Float32Array, n: number): Promise<EngineRun> {
    const len = this.sampleLength;
    if (input.length < n * len) {
      throw new Error(`runTensor: ${n} samples need ${n * len} floats, got ${input.length}`);
    }
    const c = this.numClasses;
    const probs = new Float32Array(n * c);
    const extraParts: Record<string, Float32Array[]> = {};
    for (const t of this.extraOutputs) extraParts[t] = [];
    const card = this.model.card;
    const fetches = [card.output.name, ...this.extraOutputs];
    const dims = this.inputShape.slice(1);
    for (let start = 0; start < n; start += this.batchSize) {
      const b = Math.min(this.batchSize, n - start);
      const feedN = this.dynamicBatch ? b : this.batchSize;
      let data = input.subarray(start * len, (start + b) * len);
      if (feedN !== b) {
        const padded = new Float32Array(feedN * len);
        padded.set(data);
        data = padded;
      }
      const tensor = new ort.Tensor("float32", data, [feedN, ...dims]);
      const out = await this.session.run({ [card.input.name]: tensor }, fetches);
      const p = toFloat32(out[card.output.name], card.output.name);
      if (p.length !== feedN * c) {
        throw new ModelCardError(
          `output "${card.output.name}" holds ${p.length / feedN} values per sample, the card ` +
            `lists ${c} classes`,
          this.model.cardPath,
          "output.classes",
        );
      }
      probs.set(p.subarray(0, b * c), start * c);
      for (const t of this.extraOutputs) {
        const x = toFloat32(out[t], t);
        extraParts[t].push(x.slice(0, (x.length / feedN) * b));
      }
      for (const v of Object.values(out)) v.dispose();
    }
    if (card.output.kind === "logits") softmaxRows(probs, n, c);
    else checkProbabilityOutput(probs, n, c, this.model);
    const extra: Record<string, Float32Array> = {};
    for (const [t, parts] of Object.entries(extraParts)) extra[t] = concat(parts);
    return { probs, extra };
  }

  /** Preprocess images (cropping `boxes[i]` when given, per the card) and run them. */
  async predictImages(
    images: readonly RawImage[],
    boxes?: readonly (FaceBox | undefined)[],
  ): Promise<EngineRun> {
    const input = writeBatch(images, this.model.card, undefined, boxes);
    return await this.runTensor(input, images.length);
  }

  /** Release the session. */
  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Compare the session's declared input/output with the card. Returns the fixed batch size,
 * or undefined when the batch dimension is dynamic.
 */
function checkSession(model: ResolvedModel, session: ort.InferenceSession): number | undefined {
  const { card, cardPath } = model;
  const inp = card.input;
  if (!session.inputNames.includes(inp.name)) {
    throw new ModelCardError(
      `the model has no input "${inp.name}" (its inputs: ${session.inputNames.join(", ")})`,
      cardPath,
      "input.name",
    );
  }
  if (!session.outputNames.includes(card.output.name)) {
    throw new ModelCardError(
      `the model has no output "${card.output.name}" (its outputs: ${
        session.outputNames.join(", ")
      })`,
      cardPath,
      "output.name",
    );
  }
  const meta = session.inputMetadata.find((m) => m.name === inp.name);
  let fixedBatch: number | undefined;
  if (meta !== undefined && meta.isTensor) {
    const shape = meta.shape;
    const shapeText = `[${shape.join(", ")}]`;
    if (shape.length !== 4) {
      throw new ModelCardError(
        `the model's input "${inp.name}" has rank ${shape.length} ${shapeText}, the card ` +
          `describes a rank-4 ${inp.layout} image tensor`,
        cardPath,
        "input.layout",
      );
    }
    const [hi, wi, ci] = inp.layout === "NCHW" ? [2, 3, 1] : [1, 2, 3];
    const want: [string, number, number][] = [
      ["input.height", hi, inp.height],
      ["input.width", wi, inp.width],
      ["input.channels", ci, inp.channels],
    ];
    for (const [field, axis, value] of want) {
      const d = shape[axis];
      if (typeof d === "number" && d >= 0 && d !== value) {
        throw new ModelCardError(
          `the model's input "${inp.name}" has shape ${shapeText} (${inp.layout}), so ` +
            `${field.slice(6)} is ${d}, but the card says ${value}`,
          cardPath,
          field,
        );
      }
    }
    const b = shape[0];
    if (typeof b === "number" && b > 0) {
      fixedBatch = b;
      if (inp.batch !== b) {
        throw new ModelCardError(
          `the model's input "${inp.name}" has a fixed batch of ${b} ${shapeText}, the card says ` +
            `${JSON.stringify(inp.batch)}`,
          cardPath,
          "input.batch",
        );
      }
    }
  }
  const outMeta = session.outputMetadata.find((m) => m.name === card.output.name);
  if (outMeta !== undefined && outMeta.isTensor) {
    const last = outMeta.shape[outMeta.shape.length - 1];
    if (typeof last === "number" && last > 0 && last !== card.output.classes.length) {
      throw new ModelCardError(
        `the model's output "${card.output.name}" has ${last} classes [${
          outMeta.shape.join(", ")
        }], ` +
          `the card lists ${card.output.classes.length}`,
        cardPath,
        "output.classes",
      );
    }
  }
  return fixedBatch;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
