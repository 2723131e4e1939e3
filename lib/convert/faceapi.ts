/**
 * face-api's FaceExpressionNet (weights manifest `face_expression_model-weights_manifest.json`)
 * → ONNX, following face-api's own code (@vladmandic/face-api 1.7.15, package/src):
 *
 * - faceExpressionNet/FaceExpressionNet.ts `forwardInput`: softmax(FaceProcessor.runNet(x));
 * - faceProcessor/FaceProcessor.ts `runNet`: fullyConnectedLayer(features.as2D(N, -1), fc);
 * - faceFeatureExtractor/FaceFeatureExtractor.ts `forwardInput`: 4 × denseBlock4 (dense0 with a
 *   plain conv, strides 2), then avgPool 7×7 stride 2 'valid';
 * - faceFeatureExtractor/denseBlock.ts `denseBlock4`: out1 = relu(conv0), out2 = sep(out1),
 *   out3 = sep(relu(out1+out2)), out4 = sep(relu(out1+(out2+out3))),
 *   relu(out1+(out2+(out3+out4)));
 * - common/depthwiseSeparableConv.ts: tf.separableConv2d(x, dw, pw, stride, 'same') + bias.
 *
 * The ONNX input is the *normalised* NHWC batch [N,112,112,3] that denseBlock4 receives:
 * (RGB − [122.782, 117.001, 104.298]) / 255 (FaceFeatureExtractor.forwardInput); the kit's
 * engine does that normalisation from the card. Inside, the graph is NCHW after one Transpose.
 */
import { attr, GraphBuilder, type OnnxModel } from "../onnx/mod.ts";
import type { WeightTensor } from "./tfjs_weights.ts";

/** Names of the converted model's tensors (used by the card). */
export const FACEAPI_TENSORS = {
  input: "input",
  /** Pooled bottleneck features [N,256] (input of the fully connected classifier). */
  embedding: "embedding",
  logits: "logits",
  output: "probabilities",
} as const;

function need(weights: Map<string, WeightTensor>, name: string, shape?: number[]): WeightTensor {
  const w = weights.get(name);
  if (w === undefined) throw new Error(`face-api weights: "${name}" is missing`);
  if (w.dtype !== "float32") throw new Error(`face-api weights: "${name}" is ${w.dtype}`);
  if (shape && w.shape.join(",") !== shape.join(",")) {
    throw new Error(`face-api weights: "${name}" has shape [${w.shape}], expected [${shape}]`);
  }
  return w;
}

/** HWIO (TF conv filter) → OIHW (ONNX Conv weight). */
function hwioToOihw(w: WeightTensor): { dims: number[]; data: Float32Array } {
  const [kh, kw, cin, cout] = w.shape;
  const src = w.values as Float32Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let c = 0; c < cin; c++) {
        for (let o = 0; o < cout; o++) {
          out[((o * cin + c) * kh + i) * kw + j] = src[((i * kw + j) * cin + c) * cout + o];
        }
      }
    }
  }
  return { dims: [cout, cin, kh, kw], data: out };
}

/** Depthwise HWC1 filter → ONNX grouped-conv weight [C,1,kh,kw]. */
function depthwiseToOnnx(w: WeightTensor): { dims: number[]; data: Float32Array } {
  const [kh, kw, c, m] = w.shape;
  if (m !== 1) throw new Error(`face-api weights: depthwise multiplier ${m} (expected 1)`);
  const src = w.values as Float32Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let ch = 0; ch < c; ch++) out[(ch * kh + i) * kw + j] = src[(i * kw + j) * c + ch];
    }
  }
  return { dims: [c, 1, kh, kw], data: out };
}

/**
 * Build the ONNX model of FaceExpressionNet from its decoded weights (names as in the
 * manifest: dense{0..3}/conv{0..3}/..., fc/weights, fc/bias).
 */
export function convertFaceExpressionNet(weights: Map<string, WeightTensor>): OnnxModel {
  const g = new GraphBuilder();
  const input = g.reserve(FACEAPI_TENSORS.input);
  let x = g.add("Transpose", [input], { perm: attr.ints([0, 3, 1, 2]) }, "input_nchw");

  const conv = (prefix: string, src: string, stride: number): string => {
    const f = hwioToOihw(need(weights, `${prefix}/filters`));
    const b = need(weights, `${prefix}/bias`);
    const w = g.constant(`${prefix}/filters`, f.dims, f.data);
    const bias = g.constant(`${prefix}/bias`, b.shape, b.values as Float32Array);
    return g.add("Conv", [src, w, bias], {
      kernel_shape: attr.ints(f.dims.slice(2)),
      strides: attr.ints([stride, stride]),
      auto_pad: attr.string("SAME_UPPER"),
    }, prefix);
  };

  // tf.separableConv2d = depthwise conv (stride, 'same') then 1×1 pointwise conv; then + bias.
  const sepConv = (prefix: string, src: string, stride: number): string => {
    const dw = depthwiseToOnnx(need(weights, `${prefix}/depthwise_filter`));
    const pw = hwioToOihw(need(weights, `${prefix}/pointwise_filter`));
    const b = need(weights, `${prefix}/bias`);
    const dwName = g.constant(`${prefix}/depthwise_filter`, dw.dims, dw.data);
    const pwName = g.constant(`${prefix}/pointwise_filter`, pw.dims, pw.data);
    const biasName = g.constant(`${prefix}/bias`, b.shape, b.values as Float32Array);
    const d = g.add("Conv", [src, dwName], {
      kernel_shape: attr.ints(dw.dims.slice(2)),
      strides: attr.ints([stride, stride]),
      group: attr.int(dw.dims[0]),
      auto_pad: attr.string("SAME_UPPER"),
    }, `${prefix}/depthwise`);
    return g.add("Conv", [d, pwName, biasName], { kernel_shape: attr.ints([1, 1]) }, prefix);
  };

  const denseBlock4 = (prefix: string, src: string, isFirstLayer: boolean): string => {
    const out1 = g.add(
      "Relu",
      [isFirstLayer ? conv(`${prefix}/conv0`, src, 2) : sepConv(`${prefix}/conv0`, src, 2)],
      {},
      `${prefix}/out1`,
    );
    const out2 = sepConv(`${prefix}/conv1`, out1, 1);
    const in3 = g.add(
      "Relu",
      [g.add("Add", [out1, out2], {}, `${prefix}/sum12`)],
      {},
      `${prefix}/in3`,
    );
    const out3 = sepConv(`${prefix}/conv2`, in3, 1);
    const s23 = g.add("Add", [out2, out3], {}, `${prefix}/sum23`);
    const in4 = g.add(
      "Relu",
      [g.add("Add", [out1, s23], {}, `${prefix}/sum123`)],
      {},
      `${prefix}/in4`,
    );
    const out4 = sepConv(`${prefix}/conv3`, in4, 1);
    const s34 = g.add("Add", [out3, out4], {}, `${prefix}/sum34`);
    const s234 = g.add("Add", [out2, s34], {}, `${prefix}/sum234`);
    return g.add(
      "Relu",
      [g.add("Add", [out1, s234], {}, `${prefix}/sum1234`)],
      {},
      `${prefix}/out`,
    );
  };

  x = denseBlock4("dense0", x, true);
  x = denseBlock4("dense1", x, false);
  x = denseBlock4("dense2", x, false);
  x = denseBlock4("dense3", x, false);
  const pooled = g.add("AveragePool", [x], {
    kernel_shape: attr.ints([7, 7]),
    strides: attr.ints([2, 2]),
    auto_pad: attr.string("VALID"),
  }, "avgpool");
  // [N,256,1,1] → [N,256]; the same order as face-api's as2D of its [N,1,1,256] NHWC tensor.
  const embedding = g.add("Flatten", [pooled], { axis: attr.int(1) }, FACEAPI_TENSORS.embedding);
  const fcW = need(weights, "fc/weights");
  const fcB = need(weights, "fc/bias");
  const [fin, fout] = fcW.shape;
  const wName = g.constant("fc/weights", fcW.shape, fcW.values as Float32Array);
  const bName = g.constant("fc/bias", fcB.shape, fcB.values as Float32Array);
  const mm = g.add("MatMul", [embedding, wName], {}, "fc/matmul");
  const logits = g.add("Add", [mm, bName], {}, FACEAPI_TENSORS.logits);
  g.add("Softmax", [logits], { axis: attr.int(-1) }, FACEAPI_TENSORS.output);
  if (fin !== 256) throw new Error(`face-api weights: fc/weights has ${fin} inputs, expected 256`);

  return g.toModel({
    inputs: [{ name: input, dims: ["N", 112, 112, 3] }],
    outputs: [{ name: FACEAPI_TENSORS.output, dims: ["N", fout] }],
    valueInfo: [{ name: FACEAPI_TENSORS.embedding, dims: ["N", fin] }],
    opset: 17,
    producerName: "fer-kit face-api converter",
    graphName: "face_expression_net",
    docString:
      "face-api FaceExpressionNet (@vladmandic/face-api 1.7.15) converted by fer-kit; input is " +
      "NHWC [N,112,112,3] = (RGB - [122.782,117.001,104.298]) / 255",
  });
}
