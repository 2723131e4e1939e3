/**
 * Graph edits on encoded models: discover the tensors a model computes (`listTensors`) and
 * expose an inner tensor as an extra graph output (`exposeOutput`), e.g. the pooled features
 * before a classifier, for linear probes.
 *
 * `exposeOutput` splices the new output into the protobuf bytes instead of decoding and
 * re-encoding the model, so every field (even ones outside the kit's schema subset) and every
 * weight byte is kept as it was.
 */
import { decodeModel, encodeValueInfo, type OnnxDim, type OnnxModel } from "./model.ts";
import type { TensorElemType } from "./schema.ts";

/** One tensor of a model, for discovery. */
export interface TensorListing {
  name: string;
  /** "input" (graph input), "initializer" (weights), "node" (computed by a node). */
  kind: "input" | "initializer" | "node";
  /** The producing node's op type and index, for "node" tensors. */
  producer?: { opType: string; index: number; name?: string };
  /** Element type and shape when the model declares them (inputs, outputs, value_info). */
  elemType?: TensorElemType;
  shape?: OnnxDim[];
  /** Shape of an initializer. */
  dims?: number[];
  isOutput: boolean;
}

/**
 * Every tensor of the main graph, in definition order: graph inputs, initializers, then each
 * node's outputs (types and shapes from the model's own declarations, when present).
 */
export function listTensors(model: Uint8Array | OnnxModel): TensorListing[] {
  const m = model instanceof Uint8Array ? decodeModel(model) : model;
  const g = m.graph;
  const declared = new Map<string, { elemType: TensorElemType; shape?: OnnxDim[] }>();
  for (const v of [...g.valueInfo, ...g.inputs, ...g.outputs]) declared.set(v.name, v);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const inits = new Set(g.initializers.map((t) => t.name));
  const list: TensorListing[] = [];
  const withDecl = (t: TensorListing): TensorListing => {
    const d = declared.get(t.name);
    if (d !== undefined) {
      t.elemType = d.elemType;
      if (d.shape !== undefined) t.shape = d.shape;
    }
    return t;
  };
  for (const inp of g.inputs) {
    if (inits.has(inp.name)) continue; // old IR: initializers also listed as inputs
    list.push(withDecl({ name: inp.name, kind: "input", isOutput: outputs.has(inp.name) }));
  }
  for (const t of g.initializers) {
    list.push({
      name: t.name,
      kind: "initializer",
      elemType: t.dataType,
      dims: t.dims,
      isOutput: outputs.has(t.name),
    });
  }
  g.nodes.forEach((n, index) => {
    for (const out of n.outputs) {
      if (out === "") continue;
      const producer: TensorListing["producer"] = { opType: n.opType, index };
      if (n.name) producer.name = n.name;
      list.push(withDecl({ name: out, kind: "node", producer, isOutput: outputs.has(out) }));
    }
  });
  return list;
}

/** Options of exposeOutput. */
export interface ExposeOptions {
  /** Element type to declare when the model does not declare the tensor (default float32). */
  elemType?: TensorElemType;
  /** Shape to declare (overrides the model's declaration; omit for the model's, or unknown). */
  shape?: OnnxDim[];
}

// --- protobuf wire helpers -------------------------------------------------------------------

function readVarint(buf: Uint8Array, pos: number): [value: number, next: number] {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new Error("truncated varint");
    const b = buf[pos++];
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [result, pos];
    mul *= 128;
  }
  throw new Error("varint too long");
}

function writeVarint(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Byte ranges of one top-level field occurrence. */
interface FieldSpan {
  field: number;
  wire: number;
  start: number; // tag start
  payloadStart: number;
  end: number;
}

function scanFields(buf: Uint8Array): FieldSpan[] {
  const spans: FieldSpan[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [tag, p1] = readVarint(buf, pos);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    let payloadStart = p1;
    let end: number;
    switch (wire) {
      case 0: {
        end = readVarint(buf, p1)[1];
        break;
      }
      case 1:
        end = p1 + 8;
        break;
      case 2: {
        const [len, p2] = readVarint(buf, p1);
        payloadStart = p2;
        end = p2 + len;
        break;
      }
      case 5:
        end = p1 + 4;
        break;
      default:
        throw new Error(`unsupported protobuf wire type ${wire} at byte ${start}`);
    }
    if (end > buf.length) throw new Error(`field ${field} at byte ${start} runs past the end`);
    spans.push({ field, wire, start, payloadStart, end });
    pos = end;
  }
  return spans;
}

const MODEL_GRAPH_FIELD = 7;
const GRAPH_OUTPUT_FIELD = 12;

/**
 * Add the inner tensor `tensorName` as an extra (last) graph output of an encoded model, with
 * the type and shape the model declares for it (value_info), else `opts` or float32 of unknown
 * shape (onnxruntime infers the shape when it runs). Returns the new model bytes; a model that
 * already outputs the tensor is returned unchanged. Throws when no node, input or initializer
 * defines the tensor, naming close matches.
 */
export function exposeOutput(
  model: Uint8Array,
  tensorName: string,
  opts: ExposeOptions = {},
): Uint8Array {
  const decoded = decodeModel(model);
  const tensors = listTensors(decoded);
  const found = tensors.find((t) => t.name === tensorName);
  if (found === undefined) {
    const near = tensors
      .filter((t) => t.kind === "node" && t.name.toLowerCase().includes(tensorName.toLowerCase()))
      .slice(0, 5)
      .map((t) => t.name);
    throw new Error(
      `tensor "${tensorName}" is not in the model${
        near.length ? ` (did you mean ${near.join(", ")}?)` : ""
      }`,
    );
  }
  if (found.isOutput) return model;
  const shape = opts.shape ?? found.shape ?? (found.dims ? [...found.dims] : undefined);
  const vi = encodeValueInfo({
    name: tensorName,
    elemType: found.elemType ?? opts.elemType ?? "float32",
    ...(shape !== undefined ? { shape } : {}),
  });
  const outputField = concat([writeVarint(GRAPH_OUTPUT_FIELD * 8 + 2), writeVarint(vi.length), vi]);

  const spans = scanFields(model);
  const graphSpans = spans.filter((s) => s.field === MODEL_GRAPH_FIELD && s.wire === 2);
  if (graphSpans.length === 0) throw new Error("model has no graph field");
  // When the graph field occurs more than once, parsers merge the occurrences: appending the
  // output to the last one keeps it last among the outputs.
  const target = graphSpans[graphSpans.length - 1];
  const graphBytes = model.subarray(target.payloadStart, target.end);
  const newGraph = concat([graphBytes, outputField]);
  return concat([
    model.subarray(0, target.start),
    writeVarint(MODEL_GRAPH_FIELD * 8 + 2),
    writeVarint(newGraph.length),
    newGraph,
    model.subarray(target.end),
  ]);
}
