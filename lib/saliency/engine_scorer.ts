/**
 * The kit's inference engine (lib/engine.ts) as a saliency `BatchScorer`, and helpers that open
 * one for a model card or for edited ONNX bytes (weight-randomised copies).
 */
import { Engine, type EngineOptions } from "../engine.ts";
import type { ModelCard } from "../models/card.ts";
import { modelFromBytes, type ResolvedModel } from "../models/registry.ts";
import type { BatchScorer } from "./scorer.ts";
import type { TensorShape } from "./tensor.ts";

/** The input tensor shape a card describes. */
export function cardShape(card: ModelCard): TensorShape {
  const i = card.input;
  return { channels: i.channels, height: i.height, width: i.width, layout: i.layout };
}

/** Tensor value of a black pixel (0) per fed channel under the card's normalisation. */
export function cardBlack(card: ModelCard): number[] {
  const n = card.input.normalization;
  return Array.from({ length: card.input.channels }, (_, c) => {
    const mean = n.mean[c] ?? n.mean[0] ?? 0;
    const std = n.std[c] ?? n.std[0] ?? 1;
    return (0 * n.scale - mean) / std;
  });
}

/** A BatchScorer that runs through an open Engine; call `engine.dispose()` when done. */
export class EngineScorer implements BatchScorer {
  readonly shape: TensorShape;
  readonly classes: readonly string[];
  readonly batchSize: number;
  readonly black: readonly number[];

  constructor(readonly engine: Engine, batchSize?: number) {
    const card = engine.model.card;
    this.shape = cardShape(card);
    this.classes = card.output.classes;
    this.black = cardBlack(card);
    this.batchSize = Math.max(1, batchSize ?? engine.batchSize);
  }

  /** Open an engine on a resolved model and wrap it. */
  static async open(
    model: ResolvedModel,
    opts: EngineOptions = {},
    batchSize?: number,
  ): Promise<EngineScorer> {
    return new EngineScorer(await Engine.create(model, opts), batchSize ?? opts.batchSize);
  }

  /** Open an engine on ONNX bytes that share `card`'s input and output (e.g. randomised). */
  static async fromBytes(
    bytes: Uint8Array,
    card: ModelCard,
    opts: EngineOptions = {},
    batchSize?: number,
  ): Promise<EngineScorer> {
    const model = await modelFromBytes(bytes, card, `${card.id} (edited weights)`);
    return await EngineScorer.open(model, opts, batchSize);
  }

  /**
   * The `makeScorer` / `dispose` pair `randomizationCheck` needs, opening engines on edited
   * bytes of the model `card` describes.
   */
  static factory(
    card: ModelCard,
    opts: EngineOptions = {},
    batchSize?: number,
  ): {
    makeScorer: (bytes: Uint8Array) => Promise<BatchScorer>;
    dispose: (s: BatchScorer) => Promise<void>;
  } {
    return {
      makeScorer: (bytes) => EngineScorer.fromBytes(bytes, card, opts, batchSize),
      dispose: async (s) => {
        if (s instanceof EngineScorer) await s.dispose();
      },
    };
  }

  /** Softmaxed probabilities, n x classes, model class order. */
  async predict(x: Float32Array, n: number): Promise<Float32Array> {
    return (await this.engine.runTensor(x, n)).probs;
  }

  /** Release the engine's session. */
  async dispose(): Promise<void> {
    await this.engine.dispose();
  }
}
