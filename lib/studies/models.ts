/**
 * Which models a study uses and what each was trained on come from the model cards' `roles` and
 * `training` fields (lib/models/registry.ts), so no notebook types a model list or a training set.
 */
export { modelsWithRole, trainingDatasetOf } from "../models/registry.ts";
import type { ModelCard } from "../models/card.ts";

/**
 * Roles of the kit's many small recipe networks (the trained-on × tested-on matrix, the
 * training-size curve), which the agreement benchmark leaves out: it compares the open
 * pretrained models and the kit's FER2013 CNNs, as the benchmark compared published models.
 */
export const NOT_BENCHMARKED_ROLES: readonly string[] = ["training-matrix", "training-size"];

/** True for a point of the training-size curve only (role `training-size` and no other). */
export function isTrainingSizePoint(card: Pick<ModelCard, "roles">): boolean {
  return card.roles !== undefined && card.roles.length === 1 && card.roles[0] === "training-size";
}

/** True when a model belongs to the agreement benchmark's model set (notebook 03, its claims). */
export function isBenchmarked(card: Pick<ModelCard, "roles">): boolean {
  return !(card.roles ?? []).some((r) => NOT_BENCHMARKED_ROLES.includes(r));
}

/**
 * A short display name for figures: the model id without "fer2013" segments, cut to its first
 * segment (or the first two when the first is shorter than 5 characters): mini-xception-fer2013
 * → "mini-xception", faceapi-expression → "faceapi", fer2013-simplecnn → "simplecnn".
 * The kit's epoch-recipe networks (models/recipes) read "<arch>@<training data>":
 * matrix-ferplus-simplecnn → "simplecnn@ferplus", size-fer2013-simplecnn-1of8 →
 * "simplecnn@fer2013-1of8", tao-fer2013-mobilenetv2 → "mobilenetv2@fer2013-last".
 */
export function shortModelName(id: string): string {
  const recipe = /^(matrix|size|tao)-([a-z0-9+]+)-([a-z0-9]+)(?:-(.+))?$/.exec(id);
  if (recipe !== null) {
    const [, kind, dataset, arch, rest] = recipe;
    const tail = kind === "tao" ? "-last" : rest !== undefined ? `-${rest}` : "";
    return `${arch}@${dataset}${tail}`;
  }
  const parts = id.split("-").filter((p) => p.toLowerCase() !== "fer2013" && p !== "");
  if (parts.length === 0) return id;
  return parts[0].length < 5 && parts.length > 1 ? `${parts[0]}-${parts[1]}` : parts[0];
}
