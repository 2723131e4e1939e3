/**
 * lib/preprocess.ts against independent implementations: TF.js `tf.image.resizeBilinear` /
 * `resizeNearestNeighbor` (npm @tensorflow/tfjs, cpu backend) and OpenCV `cv2.resize`
 * (python3-opencv through /usr/bin/python3), plus hand-computed pipeline values.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { decodeImage } from "../lib/image.ts";
import {
  faceCropRect,
  type FloatImage,
  grayToRgb,
  padToSquare,
  preprocess,
  type PreprocessSpec,
  type RawImage,
  resizeImage,
  sampleLength,
  tensorizeInto,
  toFloatImage,
  toGray,
  writeBatch,
} from "../lib/preprocess.ts";
import type { InputSpec, ResizeMethod } from "../lib/models/card.ts";
import { mulberry32, uniformFloat32 } from "../lib/random.ts";
import { maxAbsDiff, randomBytes } from "./support.ts";

await tf.setBackend("cpu");

const PY = "/usr/bin/python3";
const hasCv2 = (() => {
  try {
    return new Deno.Command(PY, { args: ["-c", "import cv2"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();
const FER_DATA = Deno.env.get("FER_DATA");

function randomImage(w: number, h: number, c: number, seed: number): FloatImage {
  return {
    data: uniformFloat32(w * h * c, 0, 255, mulberry32(seed)),
    width: w,
    height: h,
    channels: c,
  };
}

/** [inW, inH, outW, outH, channels]: up, down, non-integer ratios, non-square, 1 and 3 channels. */
const CASES: [number, number, number, number, number][] = [
  [48, 48, 224, 224, 3],
  [48, 48, 64, 64, 1],
  [100, 73, 37, 41, 3],
  [17, 29, 112, 112, 1],
  [320, 240, 48, 48, 3],
  [5, 7, 3, 2, 1],
];

const TF_MODES: [ResizeMethod, boolean, boolean][] = [
  ["bilinear-tf-legacy", false, false],
  ["bilinear-align-corners", true, false],
  ["bilinear-half-pixel", false, true],
];

Deno.test("resizeImage equals tf.image.resizeBilinear (all three TF conventions) to 1e-4", () => {
  let seed = 1;
  for (const [method, alignCorners, halfPixel] of TF_MODES) {
    for (const [iw, ih, ow, oh, c] of CASES) {
      const img = randomImage(iw, ih, c, seed++);
      const ours = resizeImage(img, ow, oh, method).data;
      const theirs = tf.tidy(() =>
        tf.image.resizeBilinear(
          tf.tensor3d(img.data, [ih, iw, c]),
          [oh, ow],
          alignCorners,
          halfPixel,
        ).dataSync()
      );
      const d = maxAbsDiff(ours, theirs);
      assert.ok(d < 1e-4, `${method} ${iw}x${ih}→${ow}x${oh}x${c}: max diff ${d}`);
    }
  }
});

Deno.test("nearest-tf-legacy equals tf.image.resizeNearestNeighbor default exactly", () => {
  let seed = 100;
  for (const [iw, ih, ow, oh, c] of CASES) {
    const img = randomImage(iw, ih, c, seed++);
    const ours = resizeImage(img, ow, oh, "nearest-tf-legacy").data;
    const theirs = tf.tidy(() =>
      tf.image.resizeNearestNeighbor(tf.tensor3d(img.data, [ih, iw, c]), [oh, ow]).dataSync()
    );
    assert.equal(maxAbsDiff(ours, theirs), 0, `${iw}x${ih}→${ow}x${oh}`);
  }
});

Deno.test("the three bilinear conventions really differ (a test that could fail)", () => {
  const img = randomImage(48, 48, 1, 7);
  const a = resizeImage(img, 64, 64, "bilinear-tf-legacy").data;
  const b = resizeImage(img, 64, 64, "bilinear-half-pixel").data;
  const c = resizeImage(img, 64, 64, "bilinear-align-corners").data;
  assert.ok(maxAbsDiff(a, b) > 10);
  assert.ok(maxAbsDiff(a, c) > 10);
  assert.ok(maxAbsDiff(b, c) > 10);
});

/** One cv2.resize job: an image (float32 or uint8, HWC) and the output size. */
interface Cv2Job {
  data: Float32Array | Uint8Array;
  w: number;
  h: number;
  c: number;
  ow: number;
  oh: number;
}

/** Run cv2.resize(INTER_LINEAR) in one Python process over all jobs; returns each output. */
async function cv2Resize(jobs: Cv2Job[]): Promise<Float32Array[]> {
  const dir = await Deno.makeTempDir({ prefix: "fer-pre-" });
  try {
    const meta = [];
    for (const [i, j] of jobs.entries()) {
      const dtype = j.data instanceof Float32Array ? "float32" : "uint8";
      await Deno.writeFile(
        join(dir, `in${i}.bin`),
        new Uint8Array(j.data.buffer, j.data.byteOffset, j.data.byteLength),
      );
      meta.push({ w: j.w, h: j.h, c: j.c, ow: j.ow, oh: j.oh, dtype });
    }
    await Deno.writeTextFile(join(dir, "jobs.json"), JSON.stringify(meta));
    const script = `
import sys, json, numpy as np, cv2
d = sys.argv[1]
for i, j in enumerate(json.load(open(d + "/jobs.json"))):
    a = np.fromfile(f"{d}/in{i}.bin", dtype=j["dtype"]).reshape(j["h"], j["w"], j["c"])
    if j["c"] == 1:
        a = a[:, :, 0]
    r = cv2.resize(a, (j["ow"], j["oh"]), interpolation=cv2.INTER_LINEAR)
    r.astype(np.float32).tofile(f"{d}/out{i}.bin")
`;
    const out = await new Deno.Command(PY, {
      args: ["-c", script, dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const results: Float32Array[] = [];
    for (let i = 0; i < jobs.length; i++) {
      const bytes = await Deno.readFile(join(dir, `out${i}.bin`));
      results.push(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
    }
    return results;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "bilinear-half-pixel equals OpenCV cv2.resize INTER_LINEAR on float32 input",
  ignore: !hasCv2,
  fn: async () => {
    // Values in [0, 1) (normalised pixels): OpenCV computes source coordinates and weights
    // in float32, so on 0..255 values the rounding alone reaches ~3e-3 on wide images.
    const imgs = CASES.map(([iw, ih, _ow, _oh, c], k) => {
      const img = randomImage(iw, ih, c, 200 + k);
      img.data.forEach((v, i) => (img.data[i] = v / 255));
      return img;
    });
    const cv = await cv2Resize(
      CASES.map(([w, h, ow, oh, c], k) => ({ data: imgs[k].data, w, h, c, ow, oh })),
    );
    for (const [k, [iw, ih, ow, oh, c]] of CASES.entries()) {
      const img = imgs[k];
      const ours = resizeImage(img, ow, oh, "bilinear-half-pixel").data;
      const theirs = cv[k];
      const d = maxAbsDiff(ours, theirs);
      assert.ok(d < 1e-4, `${iw}x${ih}→${ow}x${oh}x${c}: max diff ${d}`);
      // And TF legacy is NOT what OpenCV does.
      const legacy = resizeImage(img, ow, oh, "bilinear-tf-legacy").data;
      assert.ok(maxAbsDiff(legacy, theirs) > 0.01);
    }
  },
});

Deno.test({
  name: "OpenCV 8-bit INTER_LINEAR is fixed-point: within 1 gray level of the exact float result",
  ignore: !hasCv2,
  fn: async () => {
    // Documented tolerance: cv2.resize on uint8 uses 11-bit fixed-point weights and rounds to
    // 8 bits, so it can differ from the exact value by up to one level (never more).
    const u8 = randomBytes(48 * 48 * 3, mulberry32(9));
    const ours = resizeImage(
      { data: Float32Array.from(u8), width: 48, height: 48, channels: 3 },
      224,
      224,
      "bilinear-half-pixel",
    ).data;
    const [theirs] = await cv2Resize([{ data: u8, w: 48, h: 48, c: 3, ow: 224, oh: 224 }]);
    const d = maxAbsDiff(ours, theirs);
    assert.ok(d <= 1.0, `max diff ${d}`);
    assert.ok(d > 0, "8-bit output is rounded, so some difference is expected");
  },
});

const GRAY48: InputSpec = {
  name: "x",
  layout: "NHWC",
  height: 4,
  width: 4,
  channels: 1,
  colorOrder: "gray",
  resize: "bilinear-tf-legacy",
  normalization: { scale: 1 / 255, mean: [0.5], std: [0.5] },
  batch: "dynamic",
};

Deno.test("pipeline: gray weights, BGR order, NCHW/NHWC and normalisation by hand", () => {
  // 2x1 RGB image: pixel0 = (255, 0, 0), pixel1 = (10, 20, 30).
  const img: RawImage = {
    data: new Uint8Array([255, 0, 0, 10, 20, 30]),
    width: 2,
    height: 1,
    channels: 3,
  };
  const gray: PreprocessSpec = {
    input: {
      ...GRAY48,
      width: 2,
      height: 1,
      grayWeights: [0.2989, 0.587, 0.114],
      normalization: { scale: 1, mean: [0], std: [1] },
    },
  };
  const g = preprocess(img, gray);
  assert.ok(Math.abs(g[0] - 0.2989 * 255) < 1e-4);
  assert.ok(Math.abs(g[1] - (0.2989 * 10 + 0.587 * 20 + 0.114 * 30)) < 1e-4);

  const bgr: PreprocessSpec = {
    input: {
      ...GRAY48,
      width: 2,
      height: 1,
      channels: 3,
      colorOrder: "BGR",
      layout: "NCHW",
      normalization: { scale: 1, mean: [1, 2, 3], std: [2, 4, 8] },
    },
  };
  // NCHW: channel planes B, G, R; each (x - mean[c]) / std[c].
  assert.deepEqual(Array.from(preprocess(img, bgr)), [
    (0 - 1) / 2,
    (30 - 1) / 2,
    (0 - 2) / 4,
    (20 - 2) / 4,
    (255 - 3) / 8,
    (10 - 3) / 8,
  ]);
  const rgbHwc: PreprocessSpec = { input: { ...bgr.input, colorOrder: "RGB", layout: "NHWC" } };
  assert.deepEqual(Array.from(preprocess(img, rgbHwc)), [
    (255 - 1) / 2,
    (0 - 2) / 4,
    (0 - 3) / 8,
    (10 - 1) / 2,
    (20 - 2) / 4,
    (30 - 3) / 8,
  ]);
  // A gray image fed to an RGB model: the channel is replicated.
  const grayImg: RawImage = { data: new Uint8Array([7, 9]), width: 2, height: 1, channels: 1 };
  assert.deepEqual(Array.from(preprocess(grayImg, rgbHwc)), [3, 1.25, 0.5, 4, 1.75, 0.75]);
});

/**
 * The preprocessing as separate steps, each storing its float32 result (the module's own
 * step functions, composed in the documented order): the reference that the fused
 * `tensorizeInto` must equal bit for bit.
 */
function stepwise(img: RawImage, input: InputSpec): Float32Array {
  const gray = input.colorOrder === "gray";
  const weights = input.grayWeights ?? [0.299, 0.587, 0.114];
  let f = toFloatImage(img);
  if (!gray && f.channels === 1) f = grayToRgb(f);
  if (gray && f.channels === 3 && input.grayBeforeResize === true) f = toGray(f, weights);
  f = padToSquare(f, input.padToSquare ?? "none");
  f = resizeImage(f, input.width, input.height, input.resize);
  if (gray && f.channels === 3) f = toGray(f, weights);
  const { scale, mean, std } = input.normalization;
  const c = input.channels, hw = input.width * input.height;
  const out = new Float32Array(hw * c);
  for (let k = 0; k < c; k++) {
    const s = input.colorOrder === "BGR" ? c - 1 - k : k;
    for (let i = 0; i < hw; i++) {
      const at = input.layout === "NCHW" ? k * hw + i : i * c + k;
      out[at] = (f.data[i * c + s] * scale - mean[k]) / std[k];
    }
  }
  return out;
}

Deno.test("the fused tensorizeInto equals the step-by-step composition bit for bit", () => {
  const rand = mulberry32(77);
  const methods: ResizeMethod[] = [
    "bilinear-tf-legacy",
    "bilinear-half-pixel",
    "bilinear-align-corners",
    "nearest-tf-legacy",
  ];
  let cases = 0;
  for (const [iw, ih] of [[48, 48], [60, 45], [31, 57], [64, 64], [1, 3]]) {
    for (const channels of [1, 3] as const) {
      const img: RawImage = {
        data: randomBytes(iw * ih * channels, rand),
        width: iw,
        height: ih,
        channels,
      };
      for (const colorOrder of ["gray", "RGB", "BGR"] as const) {
        const c = colorOrder === "gray" ? 1 : 3;
        for (const method of methods) {
          for (const pad of ["none", "bottom-right", "center"] as const) {
            for (const [ow, oh] of [[48, 48], [64, 64], [112, 112], [37, 29]]) {
              const input: InputSpec = {
                name: "x",
                layout: cases % 2 === 0 ? "NCHW" : "NHWC",
                height: oh,
                width: ow,
                channels: c,
                colorOrder,
                grayWeights: cases % 3 === 0 ? [0.2989, 0.587, 0.114] : undefined,
                grayBeforeResize: cases % 4 < 2,
                resize: method,
                padToSquare: pad,
                normalization: c === 1
                  ? { scale: 1 / 255, mean: [0.5], std: [0.5] }
                  : { scale: 1, mean: [122.782, 117.001, 104.298], std: [255, 57.3, 1] },
                batch: "dynamic",
              };
              const want = stepwise(img, input);
              // Written at an offset of a dirty buffer, as the batch writer does.
              const got = new Float32Array(want.length + 5).fill(Number.NaN);
              tensorizeInto(img, input, got, 5);
              assert.equal(sampleLength(input), want.length);
              const a = new Uint32Array(want.buffer);
              const b = new Uint32Array(got.buffer, 20, want.length);
              for (let i = 0; i < a.length; i++) {
                if (a[i] !== b[i]) {
                  assert.fail(
                    `${iw}x${ih}x${channels} → ${JSON.stringify(input)}: value ${i} is ` +
                      `${got[5 + i]}, the steps give ${want[i]}`,
                  );
                }
              }
              cases++;
            }
          }
        }
      }
    }
  }
  assert.equal(cases, 5 * 2 * 3 * 4 * 3 * 4);
});

Deno.test("padToSquare: face-api bottom-right and centred padding", () => {
  const img: FloatImage = {
    data: Float32Array.from([1, 2, 3, 4]),
    width: 2,
    height: 2,
    channels: 1,
  };
  const wide: FloatImage = { data: Float32Array.from([1, 2, 3]), width: 3, height: 1, channels: 1 };
  assert.equal(padToSquare(img, "center"), img, "square images are untouched");
  assert.deepEqual(Array.from(padToSquare(wide, "bottom-right").data), [1, 2, 3, 0, 0, 0, 0, 0, 0]);
  // diff 2: round(1) = 1 row after, 1 row before.
  assert.deepEqual(Array.from(padToSquare(wide, "center").data), [0, 0, 0, 1, 2, 3, 0, 0, 0]);
  const tall: FloatImage = {
    data: Float32Array.from([1, 2, 3, 4]),
    width: 1,
    height: 4,
    channels: 1,
  };
  // diff 3: round(1.5) = 2 columns after, 1 before.
  const c = padToSquare(tall, "center").data;
  assert.deepEqual(Array.from(c.slice(0, 4)), [0, 1, 0, 0]);
});

Deno.test("faceCropRect: faceplugin's top-left-anchored 1.2x rect and a centred margin", () => {
  // faceplugin: cv.Rect(x, y, min(int(w*1.2), W-1), min(int(h*1.2), H-1)).
  assert.deepEqual(
    faceCropRect(
      { x: 10.7, y: 20.2, width: 50, height: 41 },
      {
        margin: 0.2,
        anchor: "top-left-anchored",
      },
      200,
      200,
    ),
    { x: 10, y: 20, width: 60, height: 49 },
  );
  assert.deepEqual(
    faceCropRect(
      { x: 10, y: 10, width: 20, height: 20 },
      { margin: 0.25, anchor: "center" },
      100,
      32,
    ),
    { x: 5, y: 5, width: 30, height: 27 },
  );
  assert.throws(
    () => faceCropRect({ x: 500, y: 0, width: 10, height: 10 }, undefined, 100, 100),
    /outside/,
  );
});

Deno.test("whole pipeline equals the same steps written with TF.js ops (face-api style)", () => {
  // pad bottom-right → resizeBilinear legacy to 112 → (x - mean) / 255, NHWC RGB.
  const w = 60, h = 45;
  const data = randomBytes(w * h * 3, mulberry32(42));
  const spec: PreprocessSpec = {
    input: {
      name: "input",
      layout: "NHWC",
      height: 112,
      width: 112,
      channels: 3,
      colorOrder: "RGB",
      resize: "bilinear-tf-legacy",
      padToSquare: "bottom-right",
      normalization: { scale: 1, mean: [122.782, 117.001, 104.298], std: [255, 255, 255] },
      batch: "dynamic",
    },
  };
  const ours = preprocess({ data, width: w, height: h, channels: 3 }, spec);
  const theirs = tf.tidy(() => {
    const t = tf.tensor3d(Float32Array.from(data), [h, w, 3]);
    const padded = tf.pad(t, [[0, w - h], [0, 0], [0, 0]]);
    const resized = tf.image.resizeBilinear(padded, [112, 112]);
    return resized.sub(tf.tensor1d([122.782, 117.001, 104.298])).div(255).dataSync();
  });
  assert.ok(maxAbsDiff(ours, theirs) < 1e-5);
  // The batch writer puts the same tensor in every slot it fills.
  const batch = writeBatch([{ data, width: w, height: h, channels: 3 }, {
    data,
    width: w,
    height: h,
    channels: 3,
  }], spec);
  assert.equal(maxAbsDiff(batch.subarray(ours.length), ours), 0);
});

Deno.test({
  name: "real FER2013 test image: TF-legacy and half-pixel resizes give different tensors",
  ignore: FER_DATA === undefined,
  fn: async () => {
    const file = join(FER_DATA!, "ferplus", "FER2013Test", "fer0032220.png");
    const img: RawImage = await decodeImage({ kind: "file", path: file });
    assert.equal(img.width, 48);
    const base: InputSpec = { ...GRAY48, height: 64, width: 64 };
    const legacy = preprocess(img, { input: { ...base, resize: "bilinear-tf-legacy" } });
    const half = preprocess(img, { input: { ...base, resize: "bilinear-half-pixel" } });
    let changed = 0;
    for (let i = 0; i < legacy.length; i++) if (Math.abs(legacy[i] - half[i]) > 1e-3) changed++;
    // Normalised to [-1, 1]: most pixels move, by up to a sizeable fraction of the range.
    assert.ok(changed > legacy.length / 2, `${changed} of ${legacy.length} values differ`);
    assert.ok(maxAbsDiff(legacy, half) > 0.05);
  },
});
