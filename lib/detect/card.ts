/**
 * Face-detector cards (`models/<id>.json` with `"kind": "face-detector"`) and where the
 * detector ONNX files are found.
 *
 * Detector folder, first that applies: the `FER_DETECTORS` environment variable; else
 * `<project>/../shared/models` when it exists; else `<project>/models/detectors/`.
 * The files are not committed: download them from the card's `source.url` (and check
 * `sha256`) into one of those folders.
 */
import { join } from "node:path";
import { PROCESS_SETTINGS, PROJECT_ROOT, type SettingsSource } from "../config.ts";
import { exists, sha256Hex } from "../fsutil.ts";

/** A face-detector card. */
export interface DetectorCard {
  kind: "face-detector";
  id: string;
  name: string;
  description: string;
  /** Which output decoder runs the model. */
  decoder: "yunet" | "ultraface";
  /** ONNX file name inside the detector folder. */
  file: string;
  /** SHA-256 of the ONNX file (checked on load). */
  sha256: string;
  source: { kind: "url"; url: string; sha256: string };
  input: {
    name: string;
    width: number;
    height: number;
    colorOrder: "RGB" | "BGR";
    /**
     * "letterbox": scale down (never up) to fit, zero-pad bottom/right (OpenCV FaceDetectorYN);
     * "stretch": resize to width × height ignoring aspect (UltraFace's demo, cv2.resize).
     */
    fit: "letterbox" | "stretch";
    /** x' = (x · scale − mean) / std on 0..255 values, the same for every channel. */
    normalization: { scale: number; mean: number; std: number };
  };
  /** Faces scoring below this are dropped before NMS. */
  scoreThreshold: number;
  /** IoU above which the lower-scoring of two boxes is suppressed. */
  nmsThreshold: number;
  /** At most this many candidates enter NMS. */
  topK: number;
  /** Where each choice comes from in the source code. */
  preprocessingSource: string;
  licence: string;
  citation: string;
  notes?: string[];
}

/** Registered detector ids (their cards are `models/<id>.json`) and CLI short names. */
export const DETECTOR_IDS: Readonly<Record<string, string>> = {
  yunet: "yunet-2023mar",
  ultraface: "ultraface-rfb-320",
};

/** The detector folder (see the module comment for the order). */
export async function detectorsDir(from: SettingsSource = PROCESS_SETTINGS): Promise<string> {
  const env = from.env("FER_DETECTORS");
  if (env) return env;
  const shared = join(from.kitRoot, "..", "shared", "models");
  if (await exists(shared)) return shared;
  return join(from.kitRoot, "models", "detectors");
}

/** Read a detector card by short name ("yunet", "ultraface") or id; errors name the file. */
export async function readDetectorCard(nameOrId: string): Promise<DetectorCard> {
  const id = DETECTOR_IDS[nameOrId] ?? nameOrId;
  const file = join(PROJECT_ROOT, "models", `${id}.json`);
  if (!(await exists(file))) {
    throw new Error(
      `unknown face detector "${nameOrId}" (no ${file}); known: ${
        Object.keys(DETECTOR_IDS).join(", ")
      }`,
    );
  }
  return await readDetectorCardFile(file);
}

/** Read and check a detector card file; errors name the file and the field. */
export async function readDetectorCardFile(file: string): Promise<DetectorCard> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new Error(`${file}: ${e instanceof Error ? e.message : e}`);
  }
  return detectorCardFromText(text, file);
}

/** Parse and check a detector card's JSON text (`file` names it in errors). */
export function detectorCardFromText(text: string, file: string): DetectorCard {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: ${e instanceof Error ? e.message : e}`);
  }
  const c = raw as Partial<DetectorCard>;
  for (const k of ["id", "file", "sha256", "decoder"] as const) {
    if (typeof c[k] !== "string") throw new Error(`${file} (field ${k}): missing or not a string`);
  }
  if (c.kind !== "face-detector") throw new Error(`${file} (field kind): expected "face-detector"`);
  if (c.decoder !== "yunet" && c.decoder !== "ultraface") {
    throw new Error(`${file} (field decoder): expected "yunet" or "ultraface"`);
  }
  if (typeof c.input !== "object" || c.input === null) {
    throw new Error(`${file} (field input): missing`);
  }
  return c as DetectorCard;
}

/**
 * Locate (in `folder`, default detectorsDir()) and verify a detector's ONNX file; returns its
 * bytes. Errors say where the kit looked and where to download the file.
 */
export async function readDetectorModel(
  card: DetectorCard,
  folder?: string,
): Promise<Uint8Array> {
  const dir = folder ?? await detectorsDir();
  const path = join(dir, card.file);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new Error(
      `face detector file ${path} not found. Download ${card.source.url} into ${dir} ` +
        "(or set FER_DETECTORS to the folder holding it)",
    );
  }
  const sha = await sha256Hex(bytes);
  if (sha !== card.sha256) {
    throw new Error(`${path}: SHA-256 ${sha} differs from the card's ${card.sha256}`);
  }
  return bytes;
}
