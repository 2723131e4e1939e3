/**
 * Helpers shared by the test files (not a test file itself): seeded test data, running ONNX
 * bytes and the kit's CLI, temporary folders, and the tiny gray models the tests build.
 * Seeded numbers come from the kit's own generator, lib/random.ts `mulberry32`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { PROJECT_ROOT } from "../lib/config.ts";
import type { InputSpec } from "../lib/models/card.ts";
import { attr, buildModel, floatTensor, node } from "../lib/onnx/mod.ts";
import type { Rng } from "../lib/random.ts";

/** `n` bytes floor(rand() · 256): uniform 8-bit pixel values. */
export function randomBytes(n: number, rand: Rng): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
}

/** Largest |a[i] − b[i]|; asserts equal lengths first. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Run ONNX `bytes` once in a fresh onnxruntime session (released afterwards). */
export async function runOnnx(
  bytes: Uint8Array,
  feeds: Record<string, ort.Tensor>,
): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** True when something exists at `path` (false on any stat error): for skipping tests. */
export function pathExists(path: string): Promise<boolean> {
  return Deno.stat(path).then(() => true, () => false);
}

/** Run `fn` with a fresh temporary folder (name starting with `prefix`), removed afterwards. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The kit's CLI as users run it, `deno run -A lib/cli/main.ts <args>`, as a subprocess with
 * stdout and stderr piped; `options` adds env, cwd and the like.
 */
export function kitCommand(
  args: string[],
  options: Omit<Deno.CommandOptions, "args" | "stdout" | "stderr"> = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    ...options,
    args: ["run", "-A", join(PROJECT_ROOT, "lib/cli/main.ts"), ...args],
    stdout: "piped",
    stderr: "piped",
  });
}

/**
 * The card input of the tests' gray models: one NCHW channel of `height` x `width`, bilinear
 * half-pixel resizing, pixels / 255, dynamic batch.
 */
export function grayInput(height: number, width = height): InputSpec {
  return {
    name: "x",
    layout: "NCHW",
    height,
    width,
    channels: 1,
    colorOrder: "gray",
    resize: "bilinear-half-pixel",
    normalization: { scale: 1 / 255, mean: [0], std: [1] },
    batch: "dynamic",
  };
}

/**
 * Write `region.onnx` and its card `region.json` into `dir`: a gray `n` x `n` model ("region-test")
 * with two logits, happy = 6/256 · (sum of the pixel values where `inside(x, y)`) − 3 and
 * neutral = 0. `nodeNames` names the Flatten and Gemm nodes (unnamed by default).
 */
export async function writeRegionModel(
  dir: string,
  n: number,
  inside: (x: number, y: number) => boolean,
  description: string,
  nodeNames: [string, string] | [] = [],
): Promise<{ onnx: string; card: string }> {
  const w = new Float32Array(n * n * 2);
  for (let p = 0; p < n * n; p++) if (inside(p % n, Math.floor(p / n))) w[p * 2] = 6 / 256;
  const [flatten, dense] = nodeNames;
  const bytes = buildModel({
    inputs: [{ name: "x", dims: ["N", 1, n, n] }],
    outputs: [{ name: "z", dims: ["N", 2] }],
    nodes: [
      node("Flatten", ["x"], ["f"], { axis: attr.int(1) }, flatten),
      node("Gemm", ["f", "w", "b"], ["z"], {}, dense),
    ],
    initializers: [floatTensor("w", [n * n, 2], w), floatTensor("b", [2], [-3, 0])],
  });
  const onnx = join(dir, "region.onnx");
  await Deno.writeFile(onnx, bytes);
  const card = join(dir, "region.json");
  await Deno.writeTextFile(
    card,
    JSON.stringify({
      id: "region-test",
      name: "region test model",
      description,
      source: { kind: "repo", path: "region.onnx" },
      format: "onnx",
      onnx: "region.onnx",
      input: grayInput(n),
      output: {
        name: "z",
        kind: "logits",
        classes: ["happy", "neutral"],
        sourceClasses: ["h", "n"],
      },
      preprocessingSource: "test",
      trainingData: "none",
      licence: "test",
      citation: "test",
    }),
  );
  return { onnx, card };
}

/** A cell of a built notebook: code or Markdown source. */
export interface BuiltCell {
  type: "code" | "markdown";
  src: string;
}

/** An nbformat 4.5 notebook on the kit's Deno kernel holding `cells`, as JSON text. */
export function notebookJson(cells: readonly BuiltCell[]): string {
  return JSON.stringify({
    cells: cells.map((c) =>
      c.type === "code"
        ? { cell_type: "code", execution_count: null, metadata: {}, outputs: [], source: c.src }
        : { cell_type: "markdown", metadata: {}, source: c.src }
    ),
    metadata: {
      kernelspec: { name: "fer-kit-deno", display_name: "Deno", language: "typescript" },
    },
    nbformat: 4,
    nbformat_minor: 5,
  });
}
