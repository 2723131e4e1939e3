/**
 * Black-box saliency for any ONNX FER model: occlusion and RISE maps, deletion/insertion
 * faithfulness, the model-randomisation sanity check, dataset views and heat-map output.
 * Import from here (notebooks, the CLI, the report).
 */
export {
  argmaxMap,
  type BaselineKind,
  type BaselineOptions,
  gaussianBlur,
  makeBaseline,
  type MapPeak,
  mapPeak,
  resizeMap,
  type SaliencyMap,
  type TensorShape,
} from "./tensor.ts";
export {
  type BatchScorer,
  checkClassIndices,
  classIndexOf,
  OrtScorer,
  type OrtScorerSpec,
} from "./scorer.ts";
export { occlusionMap, occlusionMaps, type OcclusionOptions } from "./occlusion.ts";
export { generateMask, riseMap, riseMaps, type RiseOptions } from "./rise.ts";
export {
  curvesFromScores,
  type DeletionInsertion,
  deletionInsertion,
  type DeletionInsertionOptions,
  type FaithfulnessCurve,
  type FaithfulnessSummary,
  summarizeFaithfulness,
} from "./faithfulness.ts";
export {
  type ExplainFn,
  type ParameterLayer,
  parameterLayers,
  randomizationCheck,
  type RandomizationCheckOptions,
  type RandomizationResult,
  type RandomizationStep,
  randomizeWeights,
  type WeightRandomization,
} from "./randomize.ts";
export {
  type Case,
  type CaseInput,
  type ClassCases,
  type ClassMeanMap,
  classMeanMaps,
  type ClassMeanOptions,
  differenceMap,
  type ExplainedImage,
  normalizeMap,
  representativeCases,
  type RepresentativeOptions,
} from "./dataset_views.ts";
export { inferno } from "./colormap.ts";
export {
  describeMethod,
  type ExplainedFace,
  explainedFace,
  explainFace,
  explainImage,
  explainMaps,
  faceCases,
  faceMeanMaps,
  type MethodName,
  type MethodOptions,
  predictFaces,
  randomMap,
  tensorToFace,
  topClass,
} from "./explain.ts";
export { cardBlack, cardShape, EngineScorer } from "./engine_scorer.ts";
export {
  type FacePixels,
  heatmapRgb,
  mapPoints,
  mapRaster,
  type MontageOptions,
  montagePng,
  type MontageTile,
  type OverlayOptions,
  overlayPng,
  overlayRgb,
} from "./overlay.ts";
