/**
 * Building ONNX models in a few lines: `buildModel({inputs, outputs, nodes, initializers})`
 * for small hand-written graphs (tests, fixtures), and `GraphBuilder` for generated graphs
 * (the TF.js converter), which names intermediate tensors and constants uniquely.
 */
import {
  encodeModel,
  type Int64,
  type OnnxAttribute,
  type OnnxAttributeValue,
  type OnnxDim,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from "./model.ts";
import type { TensorElemType } from "./schema.ts";
import { type TensorData, tensorFromArray } from "./tensor.ts";

/** Default operator set of built models (onnxruntime 1.14+ runs it). */
export const DEFAULT_OPSET = 17;

/**
 * The IR version that goes with an ai.onnx opset version (ONNX's versioning table:
 * opset 9 → IR 4, 10 → 5, 11 → 6, 12–14 → 7, 15–18 → 8, 19–20 → 9, 21+ → 10).
 */
export function irVersionForOpset(opset: number): number {
  if (opset <= 8) return 3;
  if (opset === 9) return 4;
  if (opset === 10) return 5;
  if (opset === 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

/** Attribute value constructors, e.g. `{ axes: attr.ints([1]), epsilon: attr.float(1e-5) }`. */
export const attr = {
  float: (value: number): OnnxAttributeValue => ({ type: "float", value }),
  int: (value: Int64): OnnxAttributeValue => ({ type: "int", value }),
  string: (value: string): OnnxAttributeValue => ({ type: "string", value }),
  tensor: (value: OnnxTensor): OnnxAttributeValue => ({ type: "tensor", value }),
  floats: (value: number[]): OnnxAttributeValue => ({ type: "floats", value }),
  ints: (value: Int64[]): OnnxAttributeValue => ({ type: "ints", value }),
  strings: (value: string[]): OnnxAttributeValue => ({ type: "strings", value }),
};

/** A node from its op type, input and output names and attributes. */
export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, OnnxAttributeValue> = {},
  name?: string,
): OnnxNode {
  const attributes: OnnxAttribute[] = Object.entries(attrs).map(([k, v]) => ({ ...v, name: k }));
  const n: OnnxNode = { opType, inputs, outputs, attributes };
  if (name !== undefined) n.name = name;
  return n;
}

/** A graph input or output: name, shape (numbers, symbolic names or null), element type. */
export interface ValueSpec {
  name: string;
  /** Omit for unknown rank. */
  dims?: OnnxDim[];
  /** Default float32. */
  type?: TensorElemType;
}

/** Everything `buildModel` needs. */
export interface ModelSpec {
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: OnnxNode[];
  initializers?: OnnxTensor[];
  /** ai.onnx opset version (default DEFAULT_OPSET). */
  opset?: number;
  graphName?: string;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  metadata?: Record<string, string>;
  /** Intermediate values with known types/shapes (optional). */
  valueInfo?: ValueSpec[];
}

/** A value info from a ValueSpec. */
export function valueInfo(v: ValueSpec): OnnxValueInfo {
  const vi: OnnxValueInfo = { name: v.name, elemType: v.type ?? "float32" };
  if (v.dims !== undefined) vi.shape = [...v.dims];
  return vi;
}

/** An OnnxModel from a spec (checks that every node input is defined). */
export function makeModel(spec: ModelSpec): OnnxModel {
  const opset = spec.opset ?? DEFAULT_OPSET;
  const graph: OnnxGraph = {
    name: spec.graphName ?? "graph",
    nodes: spec.nodes,
    initializers: spec.initializers ?? [],
    inputs: spec.inputs.map(valueInfo),
    outputs: spec.outputs.map(valueInfo),
    valueInfo: (spec.valueInfo ?? []).map(valueInfo),
  };
  checkGraphWiring(graph);
  const model: OnnxModel = {
    irVersion: irVersionForOpset(opset),
    opsetImports: [{ domain: "", version: opset }],
    producerName: spec.producerName ?? "fer-kit",
    graph,
  };
  if (spec.producerVersion) model.producerVersion = spec.producerVersion;
  if (spec.docString) model.docString = spec.docString;
  if (spec.metadata) model.metadata = spec.metadata;
  return model;
}

/** Encoded ONNX bytes of a model built from a spec (see makeModel). */
export function buildModel(spec: ModelSpec): Uint8Array {
  return encodeModel(makeModel(spec));
}

/**
 * Throw when a node reads a tensor nothing defines, or a graph output is never produced
 * (nodes must be in topological order, as ONNX requires).
 */
export function checkGraphWiring(g: OnnxGraph): void {
  const defined = new Set<string>([
    ...g.inputs.map((v) => v.name),
    ...g.initializers.map((t) => t.name),
  ]);
  g.nodes.forEach((n, i) => {
    for (const inp of n.inputs) {
      if (inp !== "" && !defined.has(inp)) {
        throw new Error(`node #${i} (${n.opType}) reads "${inp}", which no earlier node defines`);
      }
    }
    for (const out of n.outputs) if (out !== "") defined.add(out);
  });
  for (const o of g.outputs) {
    if (!defined.has(o.name)) throw new Error(`graph output "${o.name}" is never produced`);
  }
}

/** Incremental graph construction with unique tensor names (used by generated graphs). */
export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly used = new Set<string>();

  /** A fresh tensor name based on `base` (sanitised; suffixed when taken). */
  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, "_") || "t";
    let name = clean;
    for (let k = 1; this.used.has(name); k++) name = `${clean}__${k}`;
    this.used.add(name);
    return name;
  }

  /** Reserve a name that comes from outside (e.g. a graph input); throws when taken. */
  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`tensor name "${name}" is already used`);
    this.used.add(name);
    return name;
  }

  /** Add an initializer from a typed array; returns its name. */
  constant(base: string, dims: readonly number[], data: TensorData, type?: TensorElemType): string {
    const name = this.unique(base);
    this.initializers.push(tensorFromArray(name, dims, data, type));
    return name;
  }

  /** Add a node with one output; returns the output name. */
  add(
    opType: string,
    inputs: string[],
    attrs: Record<string, OnnxAttributeValue> = {},
    outName?: string,
  ): string {
    const out = this.unique(outName ?? opType);
    this.nodes.push(node(opType, inputs, [out], attrs, out));
    return out;
  }

  /** Add a node with `count` outputs; returns their names. */
  addMulti(
    opType: string,
    inputs: string[],
    count: number,
    attrs: Record<string, OnnxAttributeValue> = {},
    outBase?: string,
  ): string[] {
    const outs = Array.from({ length: count }, (_, i) => this.unique(`${outBase ?? opType}_${i}`));
    this.nodes.push(node(opType, inputs, outs, attrs, outs[0]));
    return outs;
  }

  /** Finish: a model with these inputs and outputs (plus the spec's other options). */
  toModel(spec: Omit<ModelSpec, "nodes" | "initializers">): OnnxModel {
    return makeModel({ ...spec, nodes: this.nodes, initializers: this.initializers });
  }
}
