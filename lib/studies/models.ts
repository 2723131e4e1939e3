/**
 * Which models a study uses and what each was trained on, read from the model cards
 * (`trainingData`), so no notebook types a model list or a training set by hand.
 */
import type { ModelCard } from "../models/card.ts";
import { listModels } from "../models/registry.ts";

/** The FER2013-trained CNNs notebook 04 studies (Tao 2023's question), in display order. */
export const FER2013_CNNS: readonly string[] = [
  "mini-xception-fer2013",
  "fer2013-simplecnn",
  "fer2013-mobilenetv2",
];

/** What a card says about the model's training data. */
export interface TrainingData {
  /** Registered dataset the model was trained on, or null when the card does not say. */
  dataset: string | null;
  /** The card's own words. */
  text: string;
}

/**
 * The registered dataset a card's `trainingData` names first: "fer2013" when it starts with
 * "FER2013" (the kit's own CNNs and mini-Xception); null when it is unstated or another set.
 */
export function trainingDataset(card: Pick<ModelCard, "trainingData">): TrainingData {
  const text = card.trainingData.trim();
  const starts: [RegExp, string][] = [
    [/^FER2013\b/i, "fer2013"],
    [/^FER\+|^FERPlus\b/i, "ferplus"],
    [/^CK\+/i, "ckplus"],
    [/^ExpW\b/i, "expw"],
    [/^RAF-DB\b/i, "rafdb"],
    [/^AffectNet\b/i, "affectnet"],
  ];
  for (const [re, name] of starts) if (re.test(text)) return { dataset: name, text };
  return { dataset: null, text };
}

/**
 * Ids of registered models trained on FER2013 per their cards, FER2013_CNNS first (whether
 * or not their ONNX files exist yet), then any other card that says FER2013.
 */
export async function fer2013ModelIds(): Promise<string[]> {
  const ids = [...FER2013_CNNS];
  for (const m of await listModels()) {
    if (ids.includes(m.id)) continue;
    const card = JSON.parse(await Deno.readTextFile(m.cardPath)) as ModelCard;
    if (trainingDataset(card).dataset === "fer2013") ids.push(m.id);
  }
  return ids;
}

/**
 * A short display name for figures: the model id without "fer2013" segments, cut to its first
 * segment (or the first two when the first is shorter than 5 characters): mini-xception-fer2013
 * → "mini-xception", faceapi-expression → "faceapi", fer2013-simplecnn → "simplecnn".
 */
export function shortModelName(id: string): string {
  const parts = id.split("-").filter((p) => p.toLowerCase() !== "fer2013" && p !== "");
  if (parts.length === 0) return id;
  return parts[0].length < 5 && parts.length > 1 ? `${parts[0]}-${parts[1]}` : parts[0];
}
