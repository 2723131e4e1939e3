/**
 * The subset of the ONNX protobuf schema the kit reads and writes (onnx/onnx.proto, IR version
 * 3..10; field numbers as in the ONNX specification). Messages and fields the kit never needs
 * (training info, functions, sparse tensors, quantization annotations) are left out: protobufjs
 * skips them on decode, so decoding then re-encoding a model drops them (see model.ts).
 */
import protobuf from "protobufjs";

/** onnx.proto subset, written for the kit (proto2 syntax, as ONNX's canonical onnx.proto). */
export const ONNX_PROTO = `
syntax = "proto2";
package onnx;

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional bytes raw_data = 9;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
  optional string doc_string = 12;
  repeated StringStringEntryProto external_data = 13;
  optional int32 data_location = 14;
}

message AttributeProto {
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
  optional string doc_string = 13;
  optional int32 type = 20;
  optional string ref_attr_name = 21;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
  optional string domain = 7;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
  repeated StringStringEntryProto metadata_props = 14;
}
`;

/** ONNX TensorProto.DataType codes (onnx.proto `TensorProto.DataType`). */
export const DATA_TYPE_CODES = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  bfloat16: 16,
} as const;

/** Element type names (as onnxruntime's Tensor types name them). */
export type TensorElemType = keyof typeof DATA_TYPE_CODES;

/** ONNX AttributeProto.AttributeType codes. */
export const ATTRIBUTE_TYPE_CODES = {
  float: 1,
  int: 2,
  string: 3,
  tensor: 4,
  graph: 5,
  floats: 6,
  ints: 7,
  strings: 8,
  tensors: 9,
  graphs: 10,
} as const;

let cachedRoot: protobuf.Root | undefined;

/** The parsed schema (parsed once, on first use). */
export function onnxRoot(): protobuf.Root {
  if (cachedRoot === undefined) {
    cachedRoot = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
  }
  return cachedRoot;
}

/** One message type of the schema, e.g. `onnxType("ModelProto")`. */
export function onnxType(name: string): protobuf.Type {
  return onnxRoot().lookupType(`onnx.${name}`);
}

/** Element type name of an ONNX data type code; throws for codes the kit does not handle. */
export function elemTypeName(code: number): TensorElemType {
  for (const [name, c] of Object.entries(DATA_TYPE_CODES)) {
    if (c === code) return name as TensorElemType;
  }
  throw new Error(`unsupported ONNX tensor data type code ${code}`);
}

/** Bytes per element of a fixed-size element type (strings have no fixed size: 0). */
export function elemByteSize(t: TensorElemType): number {
  switch (t) {
    case "float64":
    case "int64":
    case "uint64":
      return 8;
    case "float32":
    case "int32":
    case "uint32":
      return 4;
    case "float16":
    case "bfloat16":
    case "int16":
    case "uint16":
      return 2;
    case "uint8":
    case "int8":
    case "bool":
      return 1;
    case "string":
      return 0;
  }
}
