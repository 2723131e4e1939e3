/**
 * Which models a study uses and what each was trained on come from the model cards' `roles` and
 * `training` fields (lib/models/registry.ts), so no notebook types a model list or a training set.
 */
export { modelsWithRole, trainingDatasetOf } from "../models/registry.ts";

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
