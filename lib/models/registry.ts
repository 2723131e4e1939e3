/**
 * The model registry: find a model card (a registered id under `models/<id>.json`, a card path,
 * or a user's own `.onnx` with a card), validate it, and resolve its ONNX file.
 * Errors name the card file and the field at fault, and say how to fix the problem.
 */
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { cacheRoot, PROCESS_SETTINGS, type SettingsSource } from "../config.ts";
import { exists, sha256Hex } from "../fsutil.ts";
import { EMOTIONS, isEmotion } from "../taxonomy.ts";
import { MODEL_ROLES, type ModelCard, type ModelRole, type ResizeMethod } from "./card.ts";

/**
 * Folder holding the registered cards (`models/<id>.json`); the `FER_MODELS_DIR` environment
 * variable points the kit at another registry (the notebook tests use one of tiny models).
 */
export function modelsDir(from: SettingsSource = PROCESS_SETTINGS): string {
  const env = from.env("FER_MODELS_DIR");
  return env ? resolve(env) : join(from.kitRoot, "models");
}

/** A card that passed validation, with its ONNX file located and hashed. */
export interface ResolvedModel {
  card: ModelCard;
  /** Absolute path of the card JSON ("<inline>" for cards built in code). */
  cardPath: string;
  /** Absolute path of the ONNX file the engine runs. */
  onnxPath: string;
  /** SHA-256 (hex) of the ONNX file's bytes (or of `bytes` when given). */
  sha256: string;
  /**
   * Model bytes to load instead of `onnxPath` (e.g. a graph edited by lib/onnx `exposeOutput`);
   * `sha256` must then be the hash of these bytes.
   */
  bytes?: Uint8Array;
}

/** A card or model that cannot be used; the message names the card file and field. */
export class ModelCardError extends Error {
  constructor(message: string, readonly file: string, readonly field?: string) {
    super(`${file}${field !== undefined ? ` (field ${field})` : ""}: ${message}`);
    this.name = "ModelCardError";
  }
}

const RESIZE_METHODS: readonly ResizeMethod[] = [
  "bilinear-half-pixel",
  "bilinear-tf-legacy",
  "bilinear-align-corners",
  "nearest-tf-legacy",
];

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Check that parsed JSON is a complete, consistent model card; throws ModelCardError naming
 * `file` and the first bad field (e.g. `output.classes[2]`, `input.normalization.mean`).
 */
export function validateCard(raw: unknown, file: string): ModelCard {
  const fail = (field: string, msg: string): never => {
    throw new ModelCardError(msg, file, field);
  };
  if (!isObject(raw)) throw new ModelCardError("a model card must be a JSON object", file);
  const str = (o: Json, key: string, path: string): string => {
    const v = o[key];
    if (typeof v !== "string" || v === "") {
      fail(path, `expected a non-empty string, got ${show(v)}`);
    }
    return v as string;
  };
  const int = (o: Json, key: string, path: string): number => {
    const v = o[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      fail(path, `expected a positive integer, got ${show(v)}`);
    }
    return v as number;
  };
  const oneOf = <T extends string>(o: Json, key: string, path: string, allowed: readonly T[]) => {
    const v = o[key];
    if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
      fail(path, `expected one of ${allowed.join(", ")}, got ${show(v)}`);
    }
    return v as T;
  };
  const numbers = (v: unknown, path: string, n: number): number[] => {
    if (!Array.isArray(v) || v.length !== n || v.some((x) => typeof x !== "number")) {
      fail(path, `expected ${n} number(s), got ${show(v)}`);
    }
    return v as number[];
  };

  str(raw, "id", "id");
  str(raw, "name", "name");
  str(raw, "onnx", "onnx");
  oneOf(raw, "format", "format", ["onnx", "tfjs-graph", "tfjs-layers", "tfjs-weights"]);
  if (raw.onnxSha256 !== undefined && !/^[0-9a-f]{64}$/.test(String(raw.onnxSha256))) {
    fail("onnxSha256", `expected 64 lower-case hex digits, got ${show(raw.onnxSha256)}`);
  }

  if (!isObject(raw.input)) fail("input", "missing input section");
  const input = raw.input as Json;
  str(input, "name", "input.name");
  oneOf(input, "layout", "input.layout", ["NCHW", "NHWC"]);
  int(input, "height", "input.height");
  int(input, "width", "input.width");
  const channels = input.channels;
  if (channels !== 1 && channels !== 3) {
    fail("input.channels", `expected 1 or 3, got ${show(channels)}`);
  }
  const color = oneOf(input, "colorOrder", "input.colorOrder", ["gray", "RGB", "BGR"]);
  if ((color === "gray") !== (channels === 1)) {
    fail("input.colorOrder", `"${color}" does not fit input.channels ${channels}`);
  }
  if (input.grayWeights !== undefined) numbers(input.grayWeights, "input.grayWeights", 3);
  if (input.grayBeforeResize !== undefined && typeof input.grayBeforeResize !== "boolean") {
    fail("input.grayBeforeResize", `expected true or false, got ${show(input.grayBeforeResize)}`);
  }
  oneOf(input, "resize", "input.resize", RESIZE_METHODS);
  if (input.padToSquare !== undefined) {
    oneOf(input, "padToSquare", "input.padToSquare", ["none", "bottom-right", "center"]);
  }
  if (!isObject(input.normalization)) fail("input.normalization", "missing normalization");
  const norm = input.normalization as Json;
  if (typeof norm.scale !== "number") fail("input.normalization.scale", "expected a number");
  numbers(norm.mean, "input.normalization.mean", channels as number);
  const std = numbers(norm.std, "input.normalization.std", channels as number);
  if (std.some((s) => s === 0)) fail("input.normalization.std", "a std of 0 divides by zero");
  const batch = input.batch;
  if (batch !== "dynamic" && !(typeof batch === "number" && Number.isInteger(batch) && batch > 0)) {
    fail("input.batch", `expected "dynamic" or a positive integer, got ${show(batch)}`);
  }

  if (!isObject(raw.output)) fail("output", "missing output section");
  const output = raw.output as Json;
  str(output, "name", "output.name");
  oneOf(output, "kind", "output.kind", ["logits", "probabilities"]);
  if (!Array.isArray(output.classes) || output.classes.length < 2) {
    fail("output.classes", "expected the model's class names, in its output order");
  }
  const classes = output.classes as unknown[];
  classes.forEach((c, i) => {
    if (typeof c !== "string" || !isEmotion(c)) {
      fail(
        `output.classes[${i}]`,
        `unknown class ${show(c)} (expected one of ${EMOTIONS.join(", ")})`,
      );
    }
  });
  const dup = classes.find((c, i) => classes.indexOf(c) !== i);
  if (dup !== undefined) fail("output.classes", `class "${dup}" appears twice`);
  if (
    output.sourceClasses !== undefined &&
    (!Array.isArray(output.sourceClasses) || output.sourceClasses.length !== classes.length)
  ) {
    fail("output.sourceClasses", `expected ${classes.length} names, one per output.classes entry`);
  }

  if (raw.faceCrop !== undefined) {
    if (!isObject(raw.faceCrop)) fail("faceCrop", "expected an object");
    const fc = raw.faceCrop as Json;
    if (typeof fc.margin !== "number" || fc.margin < 0) {
      fail("faceCrop.margin", `expected a number ≥ 0, got ${show(fc.margin)}`);
    }
    oneOf(fc, "anchor", "faceCrop.anchor", ["center", "top-left-anchored"]);
  }
  if (raw.embedding !== undefined) {
    if (!isObject(raw.embedding)) fail("embedding", "expected {tensor, dim}");
    const em = raw.embedding as Json;
    str(em, "tensor", "embedding.tensor");
    int(em, "dim", "embedding.dim");
  }
  if (raw.training !== undefined && raw.training !== null) {
    if (!isObject(raw.training)) fail("training", "expected {dataset, split, dataHash?} or null");
    const tr = raw.training as Json;
    str(tr, "dataset", "training.dataset");
    str(tr, "split", "training.split");
    if (tr.dataHash !== undefined && !/^[0-9a-f]{64}$/.test(String(tr.dataHash))) {
      fail("training.dataHash", `expected 64 lower-case hex digits, got ${show(tr.dataHash)}`);
    }
    if (tr.epochs !== undefined) int(tr, "epochs", "training.epochs");
    if (tr.seed !== undefined && !Number.isInteger(tr.seed)) {
      fail("training.seed", `expected an integer, got ${show(tr.seed)}`);
    }
    if (tr.device !== undefined) str(tr, "device", "training.device");
    if (tr.budget !== undefined) oneOf(tr, "budget", "training.budget", ["cpu", "gpu"]);
    if (
      tr.fraction !== undefined &&
      !(typeof tr.fraction === "number" && tr.fraction > 0 && tr.fraction <= 1)
    ) {
      fail("training.fraction", `expected a number in (0, 1], got ${show(tr.fraction)}`);
    }
  }
  if (raw.roles !== undefined) {
    if (!Array.isArray(raw.roles)) fail("roles", `expected a list of ${MODEL_ROLES.join(", ")}`);
    (raw.roles as unknown[]).forEach((r, i) => {
      if (typeof r !== "string" || !(MODEL_ROLES as readonly string[]).includes(r)) {
        fail(`roles[${i}]`, `unknown role ${show(r)} (expected one of ${MODEL_ROLES.join(", ")})`);
      }
    });
  }
  return raw as unknown as ModelCard;
}

function show(v: unknown): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v);
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}

/** Read and validate a card file (errors name the file). */
export async function readCard(path: string): Promise<ModelCard> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new ModelCardError("card file not found", path);
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelCardError(`not valid JSON: ${e instanceof Error ? e.message : e}`, path);
  }
  return validateCard(raw, path);
}

/**
 * Where a card's `onnx` field points: `cache:<file>` → `<cacheRoot()>/models/<file>`; a relative
 * path → relative to the card's folder (`models/` for registered cards); absolute as is.
 */
export function resolveOnnxPath(onnx: string, cardPath: string): string {
  if (onnx.startsWith("cache:")) return join(cacheRoot(), "models", onnx.slice("cache:".length));
  return isAbsolute(onnx) ? onnx : resolve(dirname(cardPath), onnx);
}

/**
 * Load a model: `idOrPath` is a registered id (`models/<id>.json`), a card JSON path, or a path
 * to any `.onnx` file — then `cardPath` must give its card (the card's `onnx` field is ignored).
 * Checks the card, that the ONNX file exists (else says to run `deno task setup`) and, when the
 * card records `onnxSha256`, that the file matches it. Input shape and output size are checked
 * against the ONNX graph when the engine opens it (lib/engine.ts).
 */
export async function loadCard(idOrPath: string, cardPath?: string): Promise<ResolvedModel> {
  let card: ModelCard;
  let cardFile: string;
  let onnxPath: string;
  if (idOrPath.toLowerCase().endsWith(".onnx")) {
    if (cardPath === undefined) {
      throw new ModelCardError(
        "a model file needs a card describing its preprocessing and classes: pass " +
          "--card card.json (see models/*.json for examples)",
        idOrPath,
      );
    }
    cardFile = resolve(cardPath);
    card = await readCard(cardFile);
    onnxPath = resolve(idOrPath);
    if (!(await exists(onnxPath))) throw new ModelCardError("model file not found", onnxPath);
  } else {
    if (idOrPath.toLowerCase().endsWith(".json")) {
      cardFile = resolve(cardPath ?? idOrPath);
    } else {
      cardFile = cardPath !== undefined ? resolve(cardPath) : join(modelsDir(), `${idOrPath}.json`);
      if (cardPath === undefined && !(await exists(cardFile))) {
        const known = (await listModels()).map((m) => m.id);
        throw new ModelCardError(
          `unknown model "${idOrPath}" (registered: ${known.join(", ") || "none"}; or pass a ` +
            ".onnx path with --card)",
          cardFile,
        );
      }
    }
    card = await readCard(cardFile);
    onnxPath = resolveOnnxPath(card.onnx, cardFile);
    if (!(await exists(onnxPath))) {
      throw new ModelCardError(
        `model file ${onnxPath} not found; run \`deno task setup\` to fetch and convert ` +
          "the registered models",
        cardFile,
        "onnx",
      );
    }
  }
  const sha256 = await sha256Hex(await Deno.readFile(onnxPath));
  if (card.onnxSha256 !== undefined && card.onnxSha256 !== sha256) {
    throw new ModelCardError(
      `${basename(onnxPath)} has SHA-256 ${sha256}, the card records ${card.onnxSha256}; ` +
        "the file is not the model the card describes (rerun `deno task setup`, or fix the card)",
      cardFile,
      "onnxSha256",
    );
  }
  return { card, cardPath: cardFile, onnxPath, sha256 };
}

/** One registered model, for listings. */
export interface ModelListing {
  id: string;
  name: string;
  cardPath: string;
  onnxPath: string;
  /** True when its ONNX file is in place (else `deno task setup` makes it). */
  available: boolean;
  /** The validated card. */
  card: ModelCard;
}

/**
 * The registered FER models: every `models/*.json` that is a model card (face-detector cards,
 * `"kind": "face-detector"`, are left out), sorted by id. Invalid cards throw ModelCardError.
 */
export async function listModels(dir: string = modelsDir()): Promise<ModelListing[]> {
  const out: ModelListing[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  for (const e of entries) {
    if (!e.isFile || !e.name.endsWith(".json")) continue;
    const path = join(dir, e.name);
    const raw: unknown = JSON.parse(await Deno.readTextFile(path));
    if (!isObject(raw) || raw.kind === "face-detector" || !("output" in raw)) continue;
    const card = validateCard(raw, path);
    const onnxPath = resolveOnnxPath(card.onnx, path);
    out.push({
      id: card.id,
      name: card.name,
      cardPath: path,
      onnxPath,
      available: await exists(onnxPath),
      card,
    });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * A ResolvedModel for ONNX bytes held in memory (e.g. an edited graph) with a card object;
 * `name` stands for the card file in messages.
 */
export async function modelFromBytes(
  bytes: Uint8Array,
  card: ModelCard,
  name = "<inline>",
): Promise<ResolvedModel> {
  const checked = validateCard(card, name);
  return { card: checked, cardPath: name, onnxPath: name, sha256: await sha256Hex(bytes), bytes };
}

/** The data a card says the model was trained on, or null when it does not say. */
export function trainingDatasetOf(card: Pick<ModelCard, "training">): string | null {
  return card.training?.dataset ?? null;
}

/**
 * Registered models with a role, pretrained models (fetched from npm or a URL) first, then the
 * kit's own (committed in the repository), each group by id.
 */
export async function modelsWithRole(
  role: ModelRole,
  dir: string = modelsDir(),
): Promise<ModelListing[]> {
  const withRole = (await listModels(dir)).filter((m) => m.card.roles?.includes(role));
  const own = (m: ModelListing) => (m.card.source.kind === "repo" ? 1 : 0);
  return withRole.sort((a, b) => own(a) - own(b));
}
