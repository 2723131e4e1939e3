/**
 * ONNX tooling: protobuf read/write (model.ts), tensors (tensor.ts), a small graph builder
 * (builder.ts) and graph edits (edit.ts). Import from here.
 */
export {
  decodeModel,
  encodeModel,
  type Int64,
  type OnnxAttribute,
  type OnnxAttributeValue,
  type OnnxDim,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxOpsetImport,
  type OnnxTensor,
  type OnnxValueInfo,
} from "./model.ts";
export { DATA_TYPE_CODES, type TensorElemType } from "./schema.ts";
export {
  floatTensor,
  int64Tensor,
  shapeSize,
  type TensorData,
  tensorFromArray,
  tensorToFloat32,
  tensorToNumbers,
} from "./tensor.ts";
export {
  attr,
  buildModel,
  checkGraphWiring,
  DEFAULT_OPSET,
  GraphBuilder,
  irVersionForOpset,
  makeModel,
  type ModelSpec,
  node,
  valueInfo,
  type ValueSpec,
} from "./builder.ts";
export { type ExposeOptions, exposeOutput, listTensors, type TensorListing } from "./edit.ts";
