/**
 * TensorFlow.js graph model (model.json `format: "graph-model"`) → ONNX.
 *
 * Layout: the ONNX model keeps the TF model's NHWC input and NHWC tensors between ops; each
 * spatial op (Conv2D, depthwise conv, pooling) is wrapped in Transpose NHWC→NCHW and back, since
 * ONNX's Conv and pools are NCHW. onnxruntime's transpose optimizer removes the back-to-back
 * transposes when it loads the model, so the wrapping costs nothing at run time, and every
 * elementwise op, Mean axis, Concat axis and Reshape keeps TF's own semantics unchanged.
 *
 * Ops mapped: Placeholder, Const, Identity, Conv2D, _FusedConv2D / FusedConv2D,
 * DepthwiseConv2dNative, FusedDepthwiseConv2dNative, BiasAdd, Add, AddV2, Sub, Mul, RealDiv,
 * Maximum, Minimum, Relu, Relu6, Elu, Selu, Sigmoid, Tanh, LeakyRelu, Prelu, Rsqrt, Sqrt, Square,
 * MaxPool, AvgPool, Mean, Sum, Max, Softmax, Reshape, Squeeze, ExpandDims, Pad, PadV2, ConcatV2,
 * MatMul, _FusedMatMul, Flatten-free reshapes. Anything else is an error naming the node.
 */
import {
  attr,
  GraphBuilder,
  type OnnxAttributeValue,
  type OnnxModel,
  type ValueSpec,
} from "../onnx/mod.ts";
import type { WeightTensor } from "./tfjs_weights.ts";

/** A TF AttrValue as tfjs-converter writes it in model.json. */
interface TfAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: { dim?: { size: string | number }[]; unknownRank?: boolean };
  list?: { s?: string[]; i?: (string | number)[]; f?: number[]; b?: boolean[] };
  tensor?: unknown;
}

/** One node of a graph model's `modelTopology.node`. */
export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

/** The parts of a graph model.json the converter reads. */
export interface GraphModelJson {
  format?: string;
  modelTopology: { node: TfNode[]; library?: { function?: unknown[] }; versions?: object };
  signature?: GraphSignature;
  userDefinedMetadata?: { signature?: GraphSignature };
}

interface GraphSignature {
  inputs?: Record<string, { name: string }>;
  outputs?: Record<string, { name: string }>;
}

/** Options of convertGraphModel. */
export interface GraphConvertOptions {
  /** ONNX names for the graph inputs, by TF placeholder name (default: the TF name). */
  inputNames?: Record<string, string>;
  /** ONNX names for the graph outputs, by TF node name (default: the TF name). */
  outputNames?: Record<string, string>;
  /**
   * Extra tensors to add as dead-end nodes (not graph outputs): global average over H and W of
   * a TF NHWC tensor, named `name` (e.g. pooled features for a linear probe).
   */
  globalAverages?: { from: string; name: string }[];
  /** Producer name/version recorded in the ONNX file. */
  producerVersion?: string;
  /** Doc string for the ONNX model. */
  docString?: string;
}

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

function decodeB64(s: string): string {
  return atob(s);
}

function attrStr(node: TfNode, key: string): string | undefined {
  const v = node.attr?.[key]?.s;
  return v === undefined ? undefined : decodeB64(v);
}

function attrInts(node: TfNode, key: string): number[] | undefined {
  const v = node.attr?.[key]?.list?.i;
  return v === undefined ? undefined : v.map(Number);
}

function attrInt(node: TfNode, key: string): number | undefined {
  const v = node.attr?.[key]?.i;
  return v === undefined ? undefined : Number(v);
}

function attrFloat(node: TfNode, key: string): number | undefined {
  return node.attr?.[key]?.f;
}

function attrBool(node: TfNode, key: string): boolean | undefined {
  return node.attr?.[key]?.b;
}

function attrStrList(node: TfNode, key: string): string[] {
  return (node.attr?.[key]?.list?.s ?? []).map(decodeB64);
}

/** Error naming the node being converted. */
class ConvertError extends Error {
  constructor(node: TfNode, message: string) {
    super(`node "${node.name}" (${node.op}): ${message}`);
    this.name = "ConvertError";
  }
}

/** Split "name:1" into node name and output index; "^name" (control input) gives null. */
function parseInput(ref: string): { node: string; index: number } | null {
  if (ref.startsWith("^")) return null;
  const m = /^(.*?)(?::(\d+))?$/.exec(ref)!;
  return { node: m[1], index: m[2] === undefined ? 0 : Number(m[2]) };
}

/** Converter state: TF tensor → ONNX tensor names, constants and the graph being built. */
class Converter {
  readonly g = new GraphBuilder();
  /** TF output ref ("node" or "node:1") → ONNX tensor name. */
  private readonly tensors = new Map<string, string>();
  private readonly constInit = new Map<string, string>();
  readonly inputs: ValueSpec[] = [];

  constructor(
    private readonly nodes: Map<string, TfNode>,
    private readonly weights: Map<string, WeightTensor>,
    private readonly opts: GraphConvertOptions,
  ) {}

  /** Value of a Const node (from the weights). */
  constValue(ref: string, user: TfNode): WeightTensor {
    const p = parseInput(ref);
    const n = p && this.nodes.get(p.node);
    if (!n) throw new ConvertError(user, `input "${ref}" is not in the graph`);
    if (n.op === "Identity" && n.input?.length) return this.constValue(n.input[0], user);
    if (n.op !== "Const") {
      throw new ConvertError(user, `input "${ref}" must be a constant, is ${n.op}`);
    }
    const w = this.weights.get(n.name);
    if (!w) throw new ConvertError(user, `constant "${n.name}" has no values in the weights`);
    return w;
  }

  isConst(ref: string): boolean {
    const p = parseInput(ref);
    const n = p && this.nodes.get(p.node);
    return n?.op === "Const";
  }

  /** ONNX tensor for a TF input ref (a Const becomes an initializer on first use). */
  tensor(ref: string, user: TfNode): string {
    const p = parseInput(ref);
    if (!p) throw new ConvertError(user, `control input "${ref}" used as data`);
    const key = p.index === 0 ? p.node : `${p.node}:${p.index}`;
    const have = this.tensors.get(key);
    if (have !== undefined) return have;
    if (this.isConst(ref)) {
      const cached = this.constInit.get(p.node);
      if (cached) return cached;
      const w = this.constValue(ref, user);
      const name = w.dtype === "float32"
        ? this.g.constant(p.node, w.shape, w.values as Float32Array)
        : w.dtype === "int32"
        ? this.g.constant(p.node, w.shape, w.values as Int32Array)
        : this.g.constant(p.node, w.shape, w.values as Uint8Array, "bool");
      this.constInit.set(p.node, name);
      return name;
    }
    throw new ConvertError(user, `input "${ref}" is used before it is computed`);
  }

  set(node: TfNode, onnxName: string, index = 0): void {
    this.tensors.set(index === 0 ? node.name : `${node.name}:${index}`, onnxName);
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  get(name: string): string | undefined {
    return this.tensors.get(name);
  }

  int64(base: string, values: number[]): string {
    return this.g.constant(base, [values.length], BigInt64Array.from(values.map(BigInt)));
  }

  floatScalar(base: string, v: number): string {
    return this.g.constant(base, [], Float32Array.of(v));
  }

  /** Apply a TF fused activation (from _Fused* ops) to `x`. */
  activation(node: TfNode, kind: string, x: string, extraArg?: string): string {
    const base = `${node.name}/${kind}`;
    switch (kind) {
      case "Relu":
        return this.g.add("Relu", [x], {}, base);
      case "Relu6":
        return this.g.add(
          "Clip",
          [x, this.floatScalar(`${base}/min`, 0), this.floatScalar(`${base}/max`, 6)],
          {},
          base,
        );
      case "Elu":
        return this.g.add("Elu", [x], { alpha: attr.float(1) }, base);
      case "Selu":
        return this.g.add("Selu", [x], {}, base);
      case "Sigmoid":
        return this.g.add("Sigmoid", [x], {}, base);
      case "Tanh":
        return this.g.add("Tanh", [x], {}, base);
      case "LeakyRelu":
        return this.g.add(
          "LeakyRelu",
          [x],
          {
            alpha: attr.float(
              attrFloat(node, "leakyrelu_alpha") ?? attrFloat(node, "alpha") ?? 0.2,
            ),
          },
          base,
        );
      case "Prelu":
        if (extraArg === undefined) throw new ConvertError(node, "Prelu without alpha");
        return this.g.add("PRelu", [x, extraArg], {}, base);
      default:
        throw new ConvertError(node, `unsupported fused activation "${kind}"`);
    }
  }

  /** Padding attributes of a TF conv/pool for an ONNX NCHW op. */
  padAttrs(node: TfNode): Record<string, OnnxAttributeValue> {
    const padding = attrStr(node, "padding") ?? "VALID";
    if (padding === "SAME") return { auto_pad: attr.string("SAME_UPPER") };
    if (padding === "VALID") return { auto_pad: attr.string("VALID") };
    if (padding === "EXPLICIT") {
      const p = attrInts(node, "explicit_paddings") ?? [];
      // NHWC pairs: [n0,n1,h0,h1,w0,w1,c0,c1] → ONNX [h_begin, w_begin, h_end, w_end]
      if (p.length !== 8) throw new ConvertError(node, "explicit_paddings must have 8 values");
      return { pads: attr.ints([p[2], p[4], p[3], p[5]]) };
    }
    throw new ConvertError(node, `unknown padding "${padding}"`);
  }

  checkNhwc(node: TfNode): void {
    const fmt = attrStr(node, "data_format") ?? "NHWC";
    if (fmt !== "NHWC") throw new ConvertError(node, `data_format ${fmt} is not supported`);
  }

  /** Strides or dilations [1,h,w,1] → [h,w]. */
  spatial(node: TfNode, key: string): number[] {
    const v = attrInts(node, key) ?? [1, 1, 1, 1];
    if (v.length !== 4 || v[0] !== 1 || v[3] !== 1) {
      throw new ConvertError(node, `${key} ${JSON.stringify(v)} not of the form [1,h,w,1]`);
    }
    return [v[1], v[2]];
  }

  /**
   * Conv2D / depthwise conv (+ fused bias and activation): x NHWC → Transpose → Conv → act →
   * Transpose back. `depthwise`: TF filter [kh,kw,C,m] → ONNX [C*m,1,kh,kw] with group C.
   */
  conv(node: TfNode, depthwise: boolean, fusedOps: string[]): string {
    this.checkNhwc(node);
    const inputs = node.input!.filter((r) => !r.startsWith("^"));
    const x = this.tensor(inputs[0], node);
    const w = this.constValue(inputs[1], node);
    if (w.dtype !== "float32" || w.shape.length !== 4) {
      throw new ConvertError(node, "filter must be a float32 rank-4 constant");
    }
    const [kh, kw, cin, cout] = w.shape;
    const src = w.values as Float32Array;
    let onnxW: Float32Array;
    let wShape: number[];
    if (depthwise) {
      // cout is the channel multiplier m; output channel c*m + j reads input channel c.
      onnxW = new Float32Array(kh * kw * cin * cout);
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          for (let c = 0; c < cin; c++) {
            for (let m = 0; m < cout; m++) {
              onnxW[((c * cout + m) * kh + i) * kw + j] = src[((i * kw + j) * cin + c) * cout + m];
            }
          }
        }
      }
      wShape = [cin * cout, 1, kh, kw];
    } else {
      onnxW = new Float32Array(kh * kw * cin * cout);
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          for (let c = 0; c < cin; c++) {
            for (let o = 0; o < cout; o++) {
              onnxW[((o * cin + c) * kh + i) * kw + j] = src[((i * kw + j) * cin + c) * cout + o];
            }
          }
        }
      }
      wShape = [cout, cin, kh, kw];
    }
    const wName = this.g.constant(`${node.name}/filter`, wShape, onnxW);
    const convInputs = [
      this.g.add("Transpose", [x], { perm: attr.ints(TO_NCHW) }, `${node.name}/nchw`),
      wName,
    ];
    let rest = fusedOps;
    let extra = inputs.slice(2);
    if (rest[0] === "BiasAdd") {
      const b = this.constValue(extra[0], node);
      convInputs.push(this.g.constant(`${node.name}/bias`, b.shape, b.values as Float32Array));
      rest = rest.slice(1);
      extra = extra.slice(1);
    } else if (rest[0] === "FusedBatchNorm") {
      throw new ConvertError(node, "fused batch norm is not supported");
    }
    const attrs: Record<string, OnnxAttributeValue> = {
      strides: attr.ints(this.spatial(node, "strides")),
      dilations: attr.ints(this.spatial(node, "dilations")),
      kernel_shape: attr.ints([kh, kw]),
      ...this.padAttrs(node),
    };
    if (depthwise) attrs.group = attr.int(cin);
    let y = this.g.add("Conv", convInputs, attrs, `${node.name}/conv`);
    for (const op of rest) {
      y = this.activation(node, op, y, extra.length ? this.tensor(extra[0], node) : undefined);
    }
    return this.g.add("Transpose", [y], { perm: attr.ints(TO_NHWC) }, node.name);
  }

  pool(node: TfNode, onnxOp: "MaxPool" | "AveragePool"): string {
    this.checkNhwc(node);
    const x = this.tensor(node.input![0], node);
    const attrs: Record<string, OnnxAttributeValue> = {
      kernel_shape: attr.ints(this.spatial(node, "ksize")),
      strides: attr.ints(this.spatial(node, "strides")),
      ...this.padAttrs(node),
    };
    // TF's AvgPool averages over the valid (unpadded) cells only.
    if (onnxOp === "AveragePool") attrs.count_include_pad = attr.int(0);
    const t = this.g.add("Transpose", [x], { perm: attr.ints(TO_NCHW) }, `${node.name}/nchw`);
    const y = this.g.add(onnxOp, [t], attrs, `${node.name}/pool`);
    return this.g.add("Transpose", [y], { perm: attr.ints(TO_NHWC) }, node.name);
  }

  reduce(node: TfNode, onnxOp: "ReduceMean" | "ReduceSum" | "ReduceMax"): string {
    const x = this.tensor(node.input![0], node);
    const axes = Array.from(this.constValue(node.input![1], node).values);
    const keep = attrBool(node, "keep_dims") ?? attrBool(node, "keepDims") ?? false;
    const keepdims = attr.int(keep ? 1 : 0);
    if (onnxOp === "ReduceSum") {
      // opset 13+: ReduceSum takes axes as an input.
      return this.g.add(
        onnxOp,
        [x, this.int64(`${node.name}/axes`, axes)],
        { keepdims },
        node.name,
      );
    }
    return this.g.add(onnxOp, [x], { axes: attr.ints(axes), keepdims }, node.name);
  }

  convertNode(node: TfNode): void {
    const data = (node.input ?? []).filter((r) => !r.startsWith("^"));
    const inp = (i: number) => this.tensor(data[i], node);
    const binary: Record<string, string> = {
      Add: "Add",
      AddV2: "Add",
      BiasAdd: "Add",
      Sub: "Sub",
      Mul: "Mul",
      RealDiv: "Div",
      Maximum: "Max",
      Minimum: "Min",
    };
    const unary: Record<string, string> = {
      Relu: "Relu",
      Sigmoid: "Sigmoid",
      Tanh: "Tanh",
      Sqrt: "Sqrt",
      Identity: "Identity",
      Selu: "Selu",
    };
    switch (node.op) {
      case "Const":
        return; // materialised on first use
      case "Placeholder": {
        const dims = (node.attr?.shape?.shape?.dim ?? []).map((d, i) => {
          const n = Number(d.size);
          return n < 0 ? (i === 0 ? "N" : null) : n;
        });
        const dtype = node.attr?.dtype?.type ?? "DT_FLOAT";
        if (dtype !== "DT_FLOAT") {
          throw new ConvertError(node, `input dtype ${dtype} not supported`);
        }
        const name = this.g.reserve(this.opts.inputNames?.[node.name] ?? node.name);
        this.inputs.push({ name, dims });
        this.set(node, name);
        return;
      }
      case "Conv2D":
        this.set(node, this.conv(node, false, []));
        return;
      case "DepthwiseConv2dNative":
      case "DepthwiseConv2D":
        this.set(node, this.conv(node, true, []));
        return;
      case "_FusedConv2D":
      case "FusedConv2D":
        this.set(node, this.conv(node, false, attrStrList(node, "fused_ops")));
        return;
      case "FusedDepthwiseConv2dNative":
        this.set(node, this.conv(node, true, attrStrList(node, "fused_ops")));
        return;
      case "MaxPool":
        this.set(node, this.pool(node, "MaxPool"));
        return;
      case "AvgPool":
        this.set(node, this.pool(node, "AveragePool"));
        return;
      case "Mean":
        this.set(node, this.reduce(node, "ReduceMean"));
        return;
      case "Sum":
        this.set(node, this.reduce(node, "ReduceSum"));
        return;
      case "Max":
        this.set(node, this.reduce(node, "ReduceMax"));
        return;
      case "Softmax":
        this.set(node, this.g.add("Softmax", [inp(0)], { axis: attr.int(-1) }, node.name));
        return;
      case "Relu6":
      case "Elu":
      case "LeakyRelu":
        this.set(node, this.activation(node, node.op, inp(0)));
        return;
      case "Prelu":
        this.set(node, this.activation(node, "Prelu", inp(0), inp(1)));
        return;
      case "Rsqrt": {
        const s = this.g.add("Sqrt", [inp(0)], {}, `${node.name}/sqrt`);
        this.set(node, this.g.add("Reciprocal", [s], {}, node.name));
        return;
      }
      case "Square":
        this.set(node, this.g.add("Mul", [inp(0), inp(0)], {}, node.name));
        return;
      case "Reshape": {
        const shape = Array.from(this.constValue(data[1], node).values);
        this.set(
          node,
          this.g.add("Reshape", [inp(0), this.int64(`${node.name}/shape`, shape)], {}, node.name),
        );
        return;
      }
      case "Squeeze": {
        const axes = attrInts(node, "squeeze_dims") ?? attrInts(node, "axis") ?? [];
        const ins = [inp(0)];
        if (axes.length) ins.push(this.int64(`${node.name}/axes`, axes));
        this.set(node, this.g.add("Squeeze", ins, {}, node.name));
        return;
      }
      case "ExpandDims": {
        const axes = Array.from(this.constValue(data[1], node).values);
        this.set(
          node,
          this.g.add("Unsqueeze", [inp(0), this.int64(`${node.name}/axes`, axes)], {}, node.name),
        );
        return;
      }
      case "Pad":
      case "PadV2": {
        const p = this.constValue(data[1], node);
        const rank = p.shape[0];
        const v = Array.from(p.values);
        const pads = [
          ...Array.from({ length: rank }, (_, i) => v[2 * i]),
          ...Array.from({ length: rank }, (_, i) => v[2 * i + 1]),
        ];
        const ins = [inp(0), this.int64(`${node.name}/pads`, pads)];
        if (node.op === "PadV2") ins.push(inp(2));
        this.set(node, this.g.add("Pad", ins, { mode: attr.string("constant") }, node.name));
        return;
      }
      case "ConcatV2": {
        const n = attrInt(node, "N") ?? data.length - 1;
        const axis = Number(this.constValue(data[n], node).values[0]);
        const ins = data.slice(0, n).map((r) => this.tensor(r, node));
        this.set(node, this.g.add("Concat", ins, { axis: attr.int(axis) }, node.name));
        return;
      }
      case "MatMul":
      case "_FusedMatMul": {
        let a = inp(0);
        let b = inp(1);
        if (attrBool(node, "transpose_a")) {
          a = this.g.add("Transpose", [a], { perm: attr.ints([1, 0]) }, `${node.name}/aT`);
        }
        if (attrBool(node, "transpose_b")) {
          b = this.g.add("Transpose", [b], { perm: attr.ints([1, 0]) }, `${node.name}/bT`);
        }
        let y = this.g.add(
          "MatMul",
          [a, b],
          {},
          node.op === "MatMul" ? node.name : `${node.name}/matmul`,
        );
        if (node.op === "_FusedMatMul") {
          let ops = attrStrList(node, "fused_ops");
          let k = 2;
          if (ops[0] === "BiasAdd") {
            y = this.g.add("Add", [y, inp(k++)], {}, `${node.name}/bias`);
            ops = ops.slice(1);
          }
          for (const op of ops) {
            y = this.activation(node, op, y, k < data.length ? inp(k) : undefined);
          }
          y = this.g.add("Identity", [y], {}, node.name);
        }
        this.set(node, y);
        return;
      }
      default:
        if (binary[node.op]) {
          if (node.op === "BiasAdd") this.checkNhwc(node);
          this.set(node, this.g.add(binary[node.op], [inp(0), inp(1)], {}, node.name));
          return;
        }
        if (unary[node.op]) {
          this.set(node, this.g.add(unary[node.op], [inp(0)], {}, node.name));
          return;
        }
        throw new ConvertError(node, "op not supported by the converter");
    }
  }
}

/** Nodes in an order where each node comes after its inputs (Kahn's algorithm, stable). */
function topoSort(nodes: TfNode[]): TfNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const done = new Set<string>();
  const order: TfNode[] = [];
  const visiting = new Set<string>();
  const visit = (n: TfNode) => {
    if (done.has(n.name)) return;
    if (visiting.has(n.name)) throw new Error(`graph has a cycle through "${n.name}"`);
    visiting.add(n.name);
    for (const ref of n.input ?? []) {
      const p = parseInput(ref.replace(/^\^/, ""));
      const dep = p && byName.get(p.node);
      if (dep) visit(dep);
    }
    visiting.delete(n.name);
    done.add(n.name);
    order.push(n);
  };
  for (const n of nodes) visit(n);
  return order;
}

/**
 * Convert a TF.js graph model (parsed model.json and its decoded weights) to ONNX. The outputs
 * are the signature's outputs, else the nodes nobody consumes. Throws naming the first node
 * whose op is not supported.
 */
export function convertGraphModel(
  json: GraphModelJson,
  weights: Map<string, WeightTensor>,
  opts: GraphConvertOptions = {},
): OnnxModel {
  if (json.format !== undefined && json.format !== "graph-model") {
    throw new Error(`not a graph model (format "${json.format}")`);
  }
  if ((json.modelTopology.library?.function ?? []).length > 0) {
    throw new Error("graph models with functions (control flow) are not supported");
  }
  const nodes = json.modelTopology.node;
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const c = new Converter(byName, weights, opts);
  for (const n of topoSort(nodes)) c.convertNode(n);

  const sig = json.signature ?? json.userDefinedMetadata?.signature;
  let outputNodes = Object.values(sig?.outputs ?? {}).map((o) => o.name.replace(/:0$/, ""));
  if (outputNodes.length === 0) {
    const consumed = new Set(
      nodes.flatMap((n) =>
        (n.input ?? []).map((r) => parseInput(r.replace(/^\^/, ""))?.node ?? "")
      ),
    );
    outputNodes = nodes.filter((n) => n.op !== "Const" && !consumed.has(n.name)).map((n) => n.name);
  }
  const outputs: ValueSpec[] = outputNodes.map((tfName) => {
    const t = c.get(tfName);
    if (t === undefined) throw new Error(`output "${tfName}" was not converted`);
    const want = opts.outputNames?.[tfName] ?? tfName;
    const name = t === want ? t : c.g.add("Identity", [t], {}, want);
    return { name };
  });
  for (const ga of opts.globalAverages ?? []) {
    const t = c.get(ga.from);
    if (t === undefined) throw new Error(`globalAverages: "${ga.from}" is not a converted tensor`);
    c.g.add("ReduceMean", [t], { axes: attr.ints([1, 2]), keepdims: attr.int(0) }, ga.name);
  }
  return c.g.toModel({
    inputs: c.inputs,
    outputs,
    opset: 17,
    producerName: "fer-kit tfjs-graph converter",
    ...(opts.producerVersion ? { producerVersion: opts.producerVersion } : {}),
    ...(opts.docString ? { docString: opts.docString } : {}),
    graphName: "tfjs_graph_model",
  });
}
