/**
 * The model-randomisation sanity check (Adebayo et al. 2018, "Sanity Checks for Saliency
 * Maps", NeurIPS): a saliency method that explains the model must give different maps when
 * the model's learned weights are destroyed. Weights are the float initializers (two or more
 * values) of parameterised nodes (Conv, ConvTranspose, Gemm, MatMul, BatchNormalization,
 * InstanceNormalization, LayerNormalization, PRelu, and Add/Mul/Sub/Div with a constant
 * operand, e.g. biases and folded batch norms). They are replaced, seeded, either by a
 * permutation of their own values ("shuffle": keeps each tensor's distribution, so activations
 * keep their scale) or by Gaussian draws with the tensor's mean and SD ("gaussian").
 * Modes: "cascading" randomises layers from the output back towards the input in growing
 * steps (the paper's cascading randomisation); "full" randomises every layer at once.
 * Similarity between the trained and randomised model's maps is the Spearman rank correlation
 * over pixels (also of absolute values, as the paper reports both).
 */
import {
  decodeModel,
  encodeModel,
  type OnnxModel,
  tensorFromArray,
  tensorToFloat32,
} from "../onnx/mod.ts";
import { mulberry32, shuffleInPlace } from "../random.ts";
import { normal, streamSeed } from "./rng.ts";
import type { BatchScorer } from "./scorer.ts";
import type { SaliencyMap } from "./tensor.ts";
import { type MeanSd, meanSd, spearman } from "../metrics/descriptive.ts";

/** A node that holds learned weights, in graph order. */
export interface ParameterLayer {
  /** Node name, or `<opType>#<node index>` when unnamed. */
  name: string;
  opType: string;
  /** Names of the float initializers it consumes. */
  initializers: string[];
  /** Total number of weight values. */
  size: number;
}

const PARAM_OPS = new Set([
  "Conv",
  "ConvTranspose",
  "Gemm",
  "MatMul",
  "BatchNormalization",
  "InstanceNormalization",
  "LayerNormalization",
  "PRelu",
  "Add",
  "Mul",
  "Sub",
  "Div",
]);

/** The model's parameterised layers, in graph (input to output) order. */
export function parameterLayers(model: OnnxModel): ParameterLayer[] {
  const inits = new Map(model.graph.initializers.map((t) => [t.name, t]));
  const layers: ParameterLayer[] = [];
  model.graph.nodes.forEach((n, i) => {
    if (!PARAM_OPS.has(n.opType) || (n.domain ?? "") !== "") return;
    const names = n.inputs.filter((name) => {
      const t = inits.get(name);
      return t !== undefined && t.dataType === "float32" && t.dims.reduce((a, b) => a * b, 1) >= 2;
    });
    if (names.length === 0) return;
    const size = names.reduce((a, name) => a + inits.get(name)!.dims.reduce((x, y) => x * y, 1), 0);
    layers.push({
      name: n.name || `${n.opType}#${i}`,
      opType: n.opType,
      initializers: names,
      size,
    });
  });
  return layers;
}

/** How weights are replaced. */
export type WeightRandomization = "shuffle" | "gaussian";

/**
 * A copy of the model (ONNX bytes) with the weights of `layers` randomised. Each initializer's
 * new values depend only on (seed, its position in the initializer list), so nested layer sets
 * (cascading steps) randomise shared layers identically.
 */
export function randomizeWeights(
  model: Uint8Array | OnnxModel,
  layers: readonly ParameterLayer[],
  how: WeightRandomization,
  seed: number,
): Uint8Array {
  const m = model instanceof Uint8Array ? decodeModel(model) : model;
  const targets = new Set(layers.flatMap((l) => l.initializers));
  const initializers = m.graph.initializers.map((t, i) => {
    if (!targets.has(t.name)) return t;
    const values = tensorToFloat32(t);
    const rng = mulberry32(streamSeed(seed, i));
    if (how === "shuffle") {
      shuffleInPlace(values, rng);
    } else {
      let mean = 0;
      for (const v of values) mean += v / values.length;
      let sq = 0;
      for (const v of values) sq += (v - mean) ** 2 / values.length;
      const sd = Math.sqrt(sq);
      for (let j = 0; j < values.length; j++) values[j] = mean + sd * normal(rng);
    }
    return tensorFromArray(t.name, t.dims, values);
  });
  return encodeModel({ ...m, graph: { ...m.graph, initializers } });
}

/** A saliency method as the check calls it. */
export type ExplainFn = (
  scorer: BatchScorer,
  x: Float32Array,
  classIndex: number,
) => Promise<SaliencyMap>;

/** Options for `randomizationCheck`. */
export interface RandomizationCheckOptions {
  /** ONNX bytes of the trained model. */
  model: Uint8Array;
  /** Opens a scorer on ONNX bytes (same input/output spec as the trained model). */
  makeScorer: (bytes: Uint8Array) => Promise<BatchScorer>;
  /** Input tensors to explain (model-input resolution). */
  inputs: readonly Float32Array[];
  /** Class explained per input; default the trained model's top-1 class. */
  classIndices?: readonly number[];
  /** The saliency method (e.g. `(s, x, c) => riseMap(s, x, { classIndex: c, n: 1000 })`). */
  explain: ExplainFn;
  /** "cascading" (default) or "full". */
  mode?: "cascading" | "full";
  /** Number of cascading steps (top 1/k, 2/k, ..., all of the layers); default 4. */
  cascadeSteps?: number;
  /** How weights are replaced; default "shuffle". */
  weights?: WeightRandomization;
  /** Seed of the weight randomisation; default 0. */
  seed?: number;
  /** Called with each scorer the check is done with, e.g. to release sessions. */
  dispose?: (scorer: BatchScorer) => Promise<void>;
}

/** One randomised model's comparison with the trained one. */
export interface RandomizationStep {
  /** Layers randomised, counted from the output. */
  layersRandomized: number;
  /** Output-most and input-most randomised layer names. */
  topLayer: string;
  deepestLayer: string;
  /** Spearman correlation of trained vs randomised maps, per image and summarised. */
  perImage: number[];
  spearman: MeanSd;
  /** The same over absolute map values. */
  spearmanAbs: MeanSd;
  /** Fraction of inputs whose top-1 class is unchanged by the randomisation. */
  top1Agreement: number;
}

/** Result of `randomizationCheck`. */
export interface RandomizationResult {
  mode: "cascading" | "full";
  weights: WeightRandomization;
  seed: number;
  /** All parameterised layers, input to output. */
  layers: string[];
  steps: RandomizationStep[];
}

async function top1(scorer: BatchScorer, inputs: readonly Float32Array[]): Promise<number[]> {
  const k = scorer.classes.length;
  const out: number[] = [];
  for (const x of inputs) {
    const p = await scorer.predict(x, 1);
    let best = 0;
    for (let j = 1; j < k; j++) if (p[j] > p[best]) best = j;
    out.push(best);
  }
  return out;
}

/**
 * Model-randomisation check: maps of the trained model vs maps of weight-randomised copies,
 * compared by Spearman rank correlation per image (low = the method depends on the weights,
 * as it should; near 1 = the map reflects the input more than the model).
 */
export async function randomizationCheck(
  opts: RandomizationCheckOptions,
): Promise<RandomizationResult> {
  const decoded = decodeModel(opts.model);
  const layers = parameterLayers(decoded);
  if (layers.length === 0) {
    throw new Error("randomisation check: the model has no float weight initializers to randomise");
  }
  if (opts.inputs.length === 0) throw new Error("randomisation check: no inputs");
  const mode = opts.mode ?? "cascading";
  const how = opts.weights ?? "shuffle";
  const seed = (opts.seed ?? 0) >>> 0;
  const trained = await opts.makeScorer(opts.model);
  const trainedTop = await top1(trained, opts.inputs);
  const classes = opts.classIndices ?? trainedTop;
  const trainedMaps: SaliencyMap[] = [];
  for (let i = 0; i < opts.inputs.length; i++) {
    trainedMaps.push(await opts.explain(trained, opts.inputs[i], classes[i]));
  }
  await opts.dispose?.(trained);
  const stepCount = mode === "full"
    ? 1
    : Math.max(1, Math.min(layers.length, opts.cascadeSteps ?? 4));
  const steps: RandomizationStep[] = [];
  for (let s = 1; s <= stepCount; s++) {
    const count = mode === "full" ? layers.length : Math.round((s * layers.length) / stepCount);
    const chosen = layers.slice(layers.length - count);
    const bytes = randomizeWeights(decoded, chosen, how, seed);
    const scorer = await opts.makeScorer(bytes);
    const top = await top1(scorer, opts.inputs);
    const perImage: number[] = [];
    const perImageAbs: number[] = [];
    for (let i = 0; i < opts.inputs.length; i++) {
      const m = await opts.explain(scorer, opts.inputs[i], classes[i]);
      perImage.push(spearman(trainedMaps[i].data, m.data));
      perImageAbs.push(
        spearman(trainedMaps[i].data.map(Math.abs), m.data.map(Math.abs)),
      );
    }
    await opts.dispose?.(scorer);
    steps.push({
      layersRandomized: count,
      topLayer: chosen[chosen.length - 1].name,
      deepestLayer: chosen[0].name,
      perImage,
      spearman: meanSd(perImage),
      spearmanAbs: meanSd(perImageAbs),
      top1Agreement: top.filter((c, i) => c === trainedTop[i]).length / top.length,
    });
  }
  return { mode, weights: how, seed, layers: layers.map((l) => l.name), steps };
}
