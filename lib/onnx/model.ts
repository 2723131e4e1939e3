/**
 * ONNX models as plain TypeScript values, and their protobuf encoding.
 *
 * Tensor data is always held as little-endian `raw` bytes (ONNX's raw_data layout), whatever
 * field the file used; int64 attribute values are numbers when they fit in 2^53, else bigint,
 * so nothing is rounded. Fields outside the schema subset (schema.ts) are dropped on decode.
 */
import {
  ATTRIBUTE_TYPE_CODES,
  DATA_TYPE_CODES,
  elemByteSize,
  elemTypeName,
  onnxType,
  type TensorElemType,
} from "./schema.ts";

/** A tensor (initializer or attribute value). */
export interface OnnxTensor {
  name: string;
  dataType: TensorElemType;
  dims: number[];
  /** Little-endian element bytes (empty for string tensors). */
  raw: Uint8Array;
  /** Elements of a string tensor. */
  strings?: Uint8Array[];
  docString?: string;
}

/** One dimension of a shape: a fixed size, a symbolic name, or unknown (null). */
export type OnnxDim = number | string | null;

/** A typed graph value (input, output or intermediate): only tensor types are supported. */
export interface OnnxValueInfo {
  name: string;
  elemType: TensorElemType;
  /** Absent when the rank is unknown. */
  shape?: OnnxDim[];
  docString?: string;
}

/** An int64 value: a number when exactly representable, else a bigint. */
export type Int64 = number | bigint;

/** A node attribute's value, tagged with its ONNX attribute type. */
export type OnnxAttributeValue =
  | { type: "float"; value: number }
  | { type: "int"; value: Int64 }
  | { type: "string"; value: string }
  | { type: "tensor"; value: OnnxTensor }
  | { type: "graph"; value: OnnxGraph }
  | { type: "floats"; value: number[] }
  | { type: "ints"; value: Int64[] }
  | { type: "strings"; value: string[] }
  | { type: "tensors"; value: OnnxTensor[] }
  | { type: "graphs"; value: OnnxGraph[] };

/** A named node attribute. */
export type OnnxAttribute = OnnxAttributeValue & { name: string };

/** A graph node (one operator application). */
export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attributes: OnnxAttribute[];
  docString?: string;
}

/** A computation graph. */
export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
  docString?: string;
}

/** Operator set a model imports ("" = the default ai.onnx domain). */
export interface OnnxOpsetImport {
  domain: string;
  version: number;
}

/** A whole ONNX model. */
export interface OnnxModel {
  irVersion: number;
  opsetImports: OnnxOpsetImport[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: OnnxGraph;
  /** metadata_props as key → value. */
  metadata?: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Decoding

type Obj = Record<string, unknown>;

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

function int64Of(v: unknown): Int64 {
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : BigInt(v);
  }
  throw new Error(`expected an int64, got ${typeof v}`);
}

function numberOf(v: unknown, what: string): number {
  const x = int64Of(v);
  if (typeof x === "bigint") throw new Error(`${what}: value ${x} does not fit a JS number`);
  return x;
}

function arr(o: Obj, key: string): unknown[] {
  const v = o[key];
  return Array.isArray(v) ? v : [];
}

function optStr(o: Obj, key: string): string | undefined {
  const v = o[key];
  return typeof v === "string" ? v : undefined;
}

/** A plain Uint8Array copy (protobufjs may hand out Node Buffers that view a shared pool). */
function bytesOf(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) return new Uint8Array(0);
  const out = new Uint8Array(v.length);
  out.set(v);
  return out;
}

function packTyped(values: unknown[], t: TensorElemType, where: string): Uint8Array {
  const n = values.length;
  const out = new Uint8Array(n * elemByteSize(t));
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    switch (t) {
      case "float32":
        dv.setFloat32(i * 4, Number(v), true);
        break;
      case "float64":
        dv.setFloat64(i * 8, Number(v), true);
        break;
      case "int64":
        dv.setBigInt64(i * 8, BigInt(String(v)), true);
        break;
      case "uint64":
        dv.setBigUint64(i * 8, BigInt(String(v)), true);
        break;
      case "int32":
        dv.setInt32(i * 4, Number(v), true);
        break;
      case "uint32":
        dv.setUint32(i * 4, Number(v), true);
        break;
      // int32_data carries these narrower types, one per int32 (onnx.proto).
      case "int16":
        dv.setInt16(i * 2, Number(v), true);
        break;
      case "uint16":
      case "float16":
      case "bfloat16":
        dv.setUint16(i * 2, Number(v), true);
        break;
      case "int8":
        dv.setInt8(i, Number(v));
        break;
      case "uint8":
      case "bool":
        dv.setUint8(i, Number(v));
        break;
      default:
        throw new Error(`${where}: cannot hold ${t} values in a typed field`);
    }
  }
  return out;
}

function decodeTensor(o: Obj, where: string): OnnxTensor {
  const name = optStr(o, "name") ?? "";
  const here = `${where} tensor "${name}"`;
  const dataType = elemTypeName(numberOf(o.data_type ?? 0, here));
  const dims = arr(o, "dims").map((d) => numberOf(d, `${here} dims`));
  if (arr(o, "external_data").length > 0 || o.data_location === 1) {
    throw new Error(`${here}: external data is not supported (save the model with data inline)`);
  }
  let raw = bytesOf(o.raw_data);
  let strings: Uint8Array[] | undefined;
  if (dataType === "string") {
    strings = arr(o, "string_data").map(bytesOf);
    raw = new Uint8Array(0);
  } else if (raw.length === 0) {
    const field = arr(o, "float_data").length > 0
      ? "float_data"
      : arr(o, "int32_data").length > 0
      ? "int32_data"
      : arr(o, "int64_data").length > 0
      ? "int64_data"
      : arr(o, "double_data").length > 0
      ? "double_data"
      : arr(o, "uint64_data").length > 0
      ? "uint64_data"
      : undefined;
    if (field !== undefined) raw = packTyped(arr(o, field), dataType, here);
  }
  const count = dims.reduce((a, b) => a * b, 1);
  if (dataType !== "string" && raw.length !== count * elemByteSize(dataType)) {
    throw new Error(
      `${here}: ${raw.length} data bytes for dims [${dims}] of ${dataType} (expected ${
        count * elemByteSize(dataType)
      })`,
    );
  }
  const t: OnnxTensor = { name, dataType, dims, raw };
  if (strings !== undefined) t.strings = strings;
  const doc = optStr(o, "doc_string");
  if (doc) t.docString = doc;
  return t;
}

function decodeValueInfo(o: Obj, where: string): OnnxValueInfo {
  const name = optStr(o, "name") ?? "";
  const type = (o.type ?? {}) as Obj;
  const tt = type.tensor_type as Obj | undefined;
  if (tt === undefined) {
    throw new Error(`${where} value "${name}": only tensor types are supported`);
  }
  const vi: OnnxValueInfo = {
    name,
    elemType: elemTypeName(numberOf(tt.elem_type ?? 0, `${where} value "${name}"`)),
  };
  const shape = tt.shape as Obj | undefined;
  if (shape !== undefined) {
    vi.shape = arr(shape, "dim").map((d) => {
      const dim = d as Obj;
      if (dim.dim_value !== undefined) return numberOf(dim.dim_value, `${where} "${name}" dim`);
      if (typeof dim.dim_param === "string") return dim.dim_param;
      return null;
    });
  }
  const doc = optStr(o, "doc_string");
  if (doc) vi.docString = doc;
  return vi;
}

function inferAttributeType(o: Obj): number {
  // Old files (IR < 3) may leave `type` unset: infer it from the field that holds data.
  if (o.f !== undefined) return ATTRIBUTE_TYPE_CODES.float;
  if (o.i !== undefined) return ATTRIBUTE_TYPE_CODES.int;
  if (o.s !== undefined) return ATTRIBUTE_TYPE_CODES.string;
  if (o.t !== undefined) return ATTRIBUTE_TYPE_CODES.tensor;
  if (o.g !== undefined) return ATTRIBUTE_TYPE_CODES.graph;
  if (arr(o, "floats").length) return ATTRIBUTE_TYPE_CODES.floats;
  if (arr(o, "ints").length) return ATTRIBUTE_TYPE_CODES.ints;
  if (arr(o, "strings").length) return ATTRIBUTE_TYPE_CODES.strings;
  if (arr(o, "tensors").length) return ATTRIBUTE_TYPE_CODES.tensors;
  if (arr(o, "graphs").length) return ATTRIBUTE_TYPE_CODES.graphs;
  return 0;
}

function decodeAttribute(o: Obj, where: string): OnnxAttribute {
  const name = optStr(o, "name") ?? "";
  const here = `${where} attribute "${name}"`;
  if (optStr(o, "ref_attr_name")) {
    throw new Error(`${here}: function attribute references unsupported`);
  }
  const code = o.type !== undefined ? numberOf(o.type, here) : inferAttributeType(o);
  const C = ATTRIBUTE_TYPE_CODES;
  switch (code) {
    case C.float:
      return { name, type: "float", value: Number(o.f ?? 0) };
    case C.int:
      return { name, type: "int", value: int64Of(o.i ?? 0) };
    case C.string:
      return { name, type: "string", value: textDecoder.decode(bytesOf(o.s)) };
    case C.tensor:
      return { name, type: "tensor", value: decodeTensor((o.t ?? {}) as Obj, here) };
    case C.graph:
      return { name, type: "graph", value: decodeGraph((o.g ?? {}) as Obj, here) };
    case C.floats:
      return { name, type: "floats", value: arr(o, "floats").map(Number) };
    case C.ints:
      return { name, type: "ints", value: arr(o, "ints").map(int64Of) };
    case C.strings:
      return {
        name,
        type: "strings",
        value: arr(o, "strings").map((s) => textDecoder.decode(bytesOf(s))),
      };
    case C.tensors:
      return {
        name,
        type: "tensors",
        value: arr(o, "tensors").map((t) => decodeTensor(t as Obj, here)),
      };
    case C.graphs:
      return {
        name,
        type: "graphs",
        value: arr(o, "graphs").map((g) => decodeGraph(g as Obj, here)),
      };
    default:
      throw new Error(`${here}: unsupported attribute type code ${code}`);
  }
}

function decodeNode(o: Obj, where: string, index: number): OnnxNode {
  const opType = optStr(o, "op_type") ?? "";
  const node: OnnxNode = {
    opType,
    inputs: arr(o, "input").map(String),
    outputs: arr(o, "output").map(String),
    attributes: [],
  };
  const name = optStr(o, "name");
  const here = `${where} node #${index} (${opType}${name ? ` "${name}"` : ""})`;
  node.attributes = arr(o, "attribute").map((a) => decodeAttribute(a as Obj, here));
  if (name) node.name = name;
  const domain = optStr(o, "domain");
  if (domain) node.domain = domain;
  const doc = optStr(o, "doc_string");
  if (doc) node.docString = doc;
  return node;
}

function decodeGraph(o: Obj, where: string): OnnxGraph {
  const name = optStr(o, "name") ?? "";
  const here = `${where} graph "${name}"`;
  const g: OnnxGraph = {
    name,
    nodes: arr(o, "node").map((n, i) => decodeNode(n as Obj, here, i)),
    initializers: arr(o, "initializer").map((t) => decodeTensor(t as Obj, here)),
    inputs: arr(o, "input").map((v) => decodeValueInfo(v as Obj, `${here} input`)),
    outputs: arr(o, "output").map((v) => decodeValueInfo(v as Obj, `${here} output`)),
    valueInfo: arr(o, "value_info").map((v) => decodeValueInfo(v as Obj, `${here} value_info`)),
  };
  const doc = optStr(o, "doc_string");
  if (doc) g.docString = doc;
  return g;
}

/**
 * Decode ONNX model bytes (a `.onnx` file) into an OnnxModel.
 * `source` names the file in error messages.
 */
export function decodeModel(bytes: Uint8Array, source = "model"): OnnxModel {
  const T = onnxType("ModelProto");
  let msg;
  try {
    msg = T.decode(bytes);
  } catch (e) {
    throw new Error(`${source}: not a valid ONNX protobuf (${e instanceof Error ? e.message : e})`);
  }
  const o = T.toObject(msg, { longs: String, arrays: true, oneofs: false }) as Obj;
  if (o.graph === undefined) throw new Error(`${source}: ModelProto has no graph`);
  const model: OnnxModel = {
    irVersion: numberOf(o.ir_version ?? 0, `${source} ir_version`),
    opsetImports: arr(o, "opset_import").map((x) => {
      const op = x as Obj;
      return { domain: optStr(op, "domain") ?? "", version: numberOf(op.version ?? 0, source) };
    }),
    graph: decodeGraph(o.graph as Obj, source),
  };
  const producerName = optStr(o, "producer_name");
  if (producerName) model.producerName = producerName;
  const producerVersion = optStr(o, "producer_version");
  if (producerVersion) model.producerVersion = producerVersion;
  const domain = optStr(o, "domain");
  if (domain) model.domain = domain;
  if (o.model_version !== undefined) {
    model.modelVersion = numberOf(o.model_version, `${source} model_version`);
  }
  const doc = optStr(o, "doc_string");
  if (doc) model.docString = doc;
  const meta = arr(o, "metadata_props");
  if (meta.length > 0) {
    model.metadata = Object.fromEntries(
      meta.map((m) => [optStr(m as Obj, "key") ?? "", optStr(m as Obj, "value") ?? ""]),
    );
  }
  return model;
}

// ---------------------------------------------------------------------------------------------
// Encoding

function int64Out(v: Int64): number | string {
  return typeof v === "bigint" ? v.toString() : v;
}

function encodeTensorObj(t: OnnxTensor): Obj {
  const o: Obj = {
    name: t.name,
    data_type: DATA_TYPE_CODES[t.dataType],
    dims: t.dims,
  };
  if (t.dataType === "string") o.string_data = t.strings ?? [];
  else o.raw_data = t.raw;
  if (t.docString) o.doc_string = t.docString;
  return o;
}

function encodeValueInfoObj(v: OnnxValueInfo): Obj {
  const tensorType: Obj = { elem_type: DATA_TYPE_CODES[v.elemType] };
  if (v.shape !== undefined) {
    tensorType.shape = {
      dim: v.shape.map((d) =>
        typeof d === "number" ? { dim_value: d } : typeof d === "string" ? { dim_param: d } : {}
      ),
    };
  }
  const o: Obj = { name: v.name, type: { tensor_type: tensorType } };
  if (v.docString) o.doc_string = v.docString;
  return o;
}

function encodeAttributeObj(a: OnnxAttribute): Obj {
  const o: Obj = { name: a.name, type: ATTRIBUTE_TYPE_CODES[a.type] };
  switch (a.type) {
    case "float":
      o.f = a.value;
      break;
    case "int":
      o.i = int64Out(a.value);
      break;
    case "string":
      o.s = textEncoder.encode(a.value);
      break;
    case "tensor":
      o.t = encodeTensorObj(a.value);
      break;
    case "graph":
      o.g = encodeGraphObj(a.value);
      break;
    case "floats":
      o.floats = a.value;
      break;
    case "ints":
      o.ints = a.value.map(int64Out);
      break;
    case "strings":
      o.strings = a.value.map((s) => textEncoder.encode(s));
      break;
    case "tensors":
      o.tensors = a.value.map(encodeTensorObj);
      break;
    case "graphs":
      o.graphs = a.value.map(encodeGraphObj);
      break;
  }
  return o;
}

function encodeNodeObj(n: OnnxNode): Obj {
  const o: Obj = {
    input: n.inputs,
    output: n.outputs,
    op_type: n.opType,
    attribute: n.attributes.map(encodeAttributeObj),
  };
  if (n.name) o.name = n.name;
  if (n.domain) o.domain = n.domain;
  if (n.docString) o.doc_string = n.docString;
  return o;
}

function encodeGraphObj(g: OnnxGraph): Obj {
  const o: Obj = {
    node: g.nodes.map(encodeNodeObj),
    name: g.name,
    initializer: g.initializers.map(encodeTensorObj),
    input: g.inputs.map(encodeValueInfoObj),
    output: g.outputs.map(encodeValueInfoObj),
    value_info: g.valueInfo.map(encodeValueInfoObj),
  };
  if (g.docString) o.doc_string = g.docString;
  return o;
}

/** Encode an OnnxModel as ONNX protobuf bytes (what a `.onnx` file holds). */
export function encodeModel(model: OnnxModel): Uint8Array {
  const T = onnxType("ModelProto");
  const o: Obj = {
    ir_version: model.irVersion,
    opset_import: model.opsetImports.map((op) => ({ domain: op.domain, version: op.version })),
    graph: encodeGraphObj(model.graph),
  };
  if (model.producerName) o.producer_name = model.producerName;
  if (model.producerVersion) o.producer_version = model.producerVersion;
  if (model.domain) o.domain = model.domain;
  if (model.modelVersion !== undefined) o.model_version = model.modelVersion;
  if (model.docString) o.doc_string = model.docString;
  if (model.metadata) {
    o.metadata_props = Object.entries(model.metadata).map(([key, value]) => ({ key, value }));
  }
  return T.encode(T.fromObject(o)).finish();
}

/** Encode one ValueInfoProto (used by graph edits that splice bytes). */
export function encodeValueInfo(v: OnnxValueInfo): Uint8Array {
  const T = onnxType("ValueInfoProto");
  return T.encode(T.fromObject(encodeValueInfoObj(v))).finish();
}
