/**
 * The one thing the saliency methods need from a model: class probabilities for a batch of
 * input tensors. Black-box by design (onnxruntime gives no gradients), so any ONNX model works.
 * `OrtScorer` runs an ONNX file or bytes with onnxruntime-node directly (used for the tests'
 * tiny models and for weight-randomised copies); `lib/saliency/engine_scorer.ts` adapts the
 * kit's inference engine.
 */
import * as ort from "onnxruntime-node";
import type { TensorShape } from "./tensor.ts";
import { tensorSize } from "./tensor.ts";
import { softmaxRows } from "../engine.ts";
import type { Provider } from "../provider.ts";
import { openSession } from "../session.ts";

/** A model seen as a batched function from input tensors to class probabilities. */
export interface BatchScorer {
  /** One image's input tensor shape. */
  readonly shape: TensorShape;
  /** Class names in the model's output order. */
  readonly classes: readonly string[];
  /** Images per forward pass the methods should use. */
  readonly batchSize: number;
  /** Tensor value of a black pixel, per channel (the model's normalisation of pixel 0). */
  readonly black?: readonly number[];
  /** Softmaxed probabilities for `n` images laid end to end in `x`: n x classes, row-major. */
  predict(x: Float32Array, n: number): Promise<Float32Array>;
}

/**
 * Score `count` variants of one image in batches: `fill(buffer, offset, i)` writes variant i
 * into `buffer` at `offset`; returns the probability of class `classIndex` for each variant
 * (and, when `allClasses` is given, copies all probabilities into it: count x classes).
 */
export async function scoreVariants(
  scorer: BatchScorer,
  count: number,
  classIndex: number,
  fill: (buffer: Float32Array, offset: number, i: number) => void,
  allClasses?: Float32Array,
): Promise<Float32Array> {
  const size = tensorSize(scorer.shape);
  const k = scorer.classes.length;
  const b = Math.max(1, Math.min(scorer.batchSize, count));
  const buffer = new Float32Array(b * size);
  const scores = new Float32Array(count);
  for (let start = 0; start < count; start += b) {
    const n = Math.min(b, count - start);
    for (let j = 0; j < n; j++) fill(buffer, j * size, start + j);
    const probs = await scorer.predict(n === b ? buffer : buffer.subarray(0, n * size), n);
    for (let j = 0; j < n; j++) scores[start + j] = probs[j * k + classIndex];
    if (allClasses) allClasses.set(probs.subarray(0, n * k), start * k);
  }
  return scores;
}

/** Index of `name` among the scorer's classes; a clear error listing them when absent. */
export function classIndexOf(scorer: BatchScorer, name: string): number {
  const i = scorer.classes.indexOf(name);
  if (i < 0) {
    throw new Error(
      `unknown class "${name}": this model's classes are ${scorer.classes.join(", ")}`,
    );
  }
  return i;
}

/**
 * Throw unless every index in `classIndices` is one of the scorer's classes (an integer in
 * 0..classes-1); `method` starts the message.
 */
export function checkClassIndices(
  scorer: BatchScorer,
  classIndices: readonly number[],
  method: string,
): void {
  const k = scorer.classes.length;
  for (const c of classIndices) {
    if (!(Number.isInteger(c) && c >= 0 && c < k)) {
      throw new Error(`${method}: class index ${c} is outside the model's ${k} classes`);
    }
  }
}

/** How to run an ONNX classifier directly. */
export interface OrtScorerSpec {
  shape: TensorShape;
  classes: readonly string[];
  /** Whether the output holds logits (softmaxed here) or probabilities. */
  outputKind: "logits" | "probabilities";
  /** Graph input / output names; default the first of each. */
  inputName?: string;
  outputName?: string;
  /** Images per forward pass; 1 for graphs with a fixed batch of 1. Default 64. */
  batchSize?: number;
  black?: readonly number[];
  /** onnxruntime intra-op threads; default onnxruntime's choice. */
  threads?: number;
  /** Execution provider (default: FER_PROVIDER, else cpu); the one that ran after create(). */
  provider?: Provider;
  /** Throw instead of falling back to cpu (default: FER_PROVIDER_STRICT=1). */
  strict?: boolean;
}

/** A BatchScorer over an onnxruntime-node session (real inference). */
export class OrtScorer implements BatchScorer {
  readonly shape: TensorShape;
  readonly classes: readonly string[];
  readonly batchSize: number;
  readonly black?: readonly number[];
  readonly #session: ort.InferenceSession;
  readonly #input: string;
  readonly #output: string;
  readonly #logits: boolean;
  readonly #fixedBatch: boolean;
  /** The execution provider that runs the model. */
  readonly provider: Provider;

  private constructor(session: ort.InferenceSession, spec: OrtScorerSpec, fixedBatch: boolean) {
    this.#session = session;
    this.shape = spec.shape;
    this.classes = spec.classes;
    this.black = spec.black;
    this.provider = spec.provider ?? "cpu";
    this.#input = spec.inputName ?? session.inputNames[0];
    this.#output = spec.outputName ?? session.outputNames[0];
    this.#logits = spec.outputKind === "logits";
    this.#fixedBatch = fixedBatch;
    this.batchSize = fixedBatch ? 1 : (spec.batchSize ?? 64);
  }

  /**
   * Open a session on an ONNX file path or the model's bytes, on the provider in effect
   * (spec.provider, else FER_PROVIDER, else cpu; lib/provider.ts).
   */
  static async create(model: string | Uint8Array, spec: OrtScorerSpec): Promise<OrtScorer> {
    const opts = (provider: Provider): ort.InferenceSession.SessionOptions => ({
      executionProviders: [provider],
      logSeverityLevel: 3,
      graphOptimizationLevel: "all",
      ...(spec.threads ? { intraOpNumThreads: spec.threads } : {}),
    });
    const { session, provider } = await openSession(model, opts, "saliency scorer", spec);
    spec = { ...spec, provider };
    const inputName = spec.inputName ?? session.inputNames[0];
    const meta = session.inputMetadata.find((m) => m.name === inputName);
    let fixed = false;
    if (meta && meta.isTensor && typeof meta.shape[0] === "number" && meta.shape[0] === 1) {
      fixed = true;
    }
    return new OrtScorer(session, spec, fixed || spec.batchSize === 1);
  }

  /** Softmaxed probabilities for n images: n x classes. */
  async predict(x: Float32Array, n: number): Promise<Float32Array> {
    const size = tensorSize(this.shape);
    const k = this.classes.length;
    const { channels: c, height: h, width: w } = this.shape;
    const dims = (m: number) => this.shape.layout === "NCHW" ? [m, c, h, w] : [m, h, w, c];
    const out = new Float32Array(n * k);
    const step = this.#fixedBatch ? 1 : n;
    for (let s = 0; s < n; s += step) {
      const m = Math.min(step, n - s);
      const t = new ort.Tensor("float32", x.subarray(s * size, (s + m) * size), dims(m));
      const res = await this.#session.run({ [this.#input]: t });
      const y = res[this.#output].data as Float32Array;
      if (y.length !== m * k) {
        throw new Error(
          `model output "${this.#output}" has ${
            y.length / m
          } values per image; expected ${k} classes`,
        );
      }
      out.set(y, s * k);
    }
    return this.#logits ? softmaxRows(out, n, k) : out;
  }

  /** Release the session. */
  async release(): Promise<void> {
    await this.#session.release();
  }
}
