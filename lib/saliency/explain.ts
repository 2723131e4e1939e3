/**
 * One entry point over the methods (by name, with their options), a random-map control for
 * the faithfulness scores, and the model's view of an input as displayable pixels.
 */
import type { InputSpec } from "../models/card.ts";
import { mulberry32 } from "./rng.ts";
import type { BatchScorer } from "./scorer.ts";
import type { SaliencyMap } from "./tensor.ts";
import { elementIndex, resizeMap } from "./tensor.ts";
import { occlusionMaps, type OcclusionOptions } from "./occlusion.ts";
import { riseMaps, type RiseOptions } from "./rise.ts";
import type { FacePixels } from "./overlay.ts";

/** Saliency methods by name. */
export type MethodName = "rise" | "occlusion";

/** Options of every method, each used by its own method. */
export interface MethodOptions {
  rise?: Omit<RiseOptions, "classIndex">;
  occlusion?: Omit<OcclusionOptions, "classIndex">;
}

/** Maps of several classes for one input with the named method (same forward passes). */
export function explainMaps(
  scorer: BatchScorer,
  x: Float32Array,
  classIndices: readonly number[],
  method: MethodName,
  opts: MethodOptions = {},
): Promise<SaliencyMap[]> {
  return method === "rise"
    ? riseMaps(scorer, x, classIndices, opts.rise)
    : occlusionMaps(scorer, x, classIndices, opts.occlusion);
}

/**
 * A smooth random map (seeded): uniform values on a grid of `cellSize`-pixel cells (default
 * min(width, height) / 8, as RISE's cells), upsampled bilinearly. The control for the
 * faithfulness scores: deleting pixels in the order of independent per-pixel noise leaves
 * salt-and-pepper images that no model has seen and whose scores collapse at once, so a
 * per-pixel random order would look "faithful" on deletion; blobs like real maps' do not.
 */
export function randomMap(
  width: number,
  height: number,
  seed: number,
  cellSize = Math.ceil(Math.min(width, height) / 8),
): SaliencyMap {
  const rng = mulberry32(seed);
  const gw = Math.max(1, Math.ceil(width / cellSize));
  const gh = Math.max(1, Math.ceil(height / cellSize));
  const grid = { width: gw, height: gh, data: Float32Array.from({ length: gw * gh }, () => rng()) };
  return resizeMap(grid, width, height);
}

/**
 * The input tensor as 8-bit pixels (what the model sees after resizing and padding): the
 * card's normalisation inverted, pixel = (t * std + mean) / scale, clamped to 0..255; BGR
 * inputs are turned back into RGB.
 */
export function tensorToFace(x: Float32Array, input: InputSpec): FacePixels {
  const { width, height, channels, layout } = input;
  const { scale, mean, std } = input.normalization;
  const shape = { width, height, channels, layout };
  const data = new Uint8Array(width * height * channels);
  for (let c = 0; c < channels; c++) {
    const m = mean[c] ?? mean[0] ?? 0;
    const s = std[c] ?? std[0] ?? 1;
    const outC = input.colorOrder === "BGR" ? channels - 1 - c : c;
    for (let p = 0; p < width * height; p++) {
      const v = (x[elementIndex(shape, c, p)] * s + m) / scale;
      data[p * channels + outC] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return { width, height, channels, data };
}
