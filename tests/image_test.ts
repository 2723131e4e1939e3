/**
 * lib/image.ts: decoding (every PNG kind, JPEG, TIFF, corrupt files), crops, colour conversion.
 * Fixtures are made here with sharp in a temp dir; reference numbers for the shared data were
 * computed independently with OpenCV (python3-opencv: cv2.imread, cv2.cvtColor).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp, { type Sharp } from "sharp";
import {
  BT601,
  cropBox,
  cropRect,
  decodeImage,
  decodeImageBytes,
  decodeSimplePng,
  encodePng,
  forEachSampleImage,
  ImageError,
  type RawImage,
  readSampleImage,
  resizeForDisplay,
  toGray,
  toRgb,
} from "../lib/image.ts";
import type { Sample } from "../lib/sample.ts";

const DATA = Deno.env.get("FER_DATA");

/** A w×h×c image with a deterministic, non-trivial pattern. */
function pattern(width: number, height: number, channels: number): Uint8Array {
  const out = new Uint8Array(width * height * channels);
  for (let i = 0; i < out.length; i++) out[i] = (i * 37 + ((i * i) >> 3)) & 255;
  return out;
}

function sum(a: Uint8Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

async function encode(
  px: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  fmt: (s: Sharp) => Sharp,
): Promise<Uint8Array> {
  return new Uint8Array(await fmt(sharp(px, { raw: { width, height, channels } })).toBuffer());
}

Deno.test("decodeImage: 8-bit PNGs of every colour type decode exactly, alpha dropped", async () => {
  const w = 13, h = 7;
  const gray = pattern(w, h, 1), rgb = pattern(w, h, 3);
  const ga = pattern(w, h, 2), rgba = pattern(w, h, 4);
  const cases: [string, Uint8Array, 1 | 2 | 3 | 4, Uint8Array, 1 | 3][] = [
    ["gray", gray, 1, gray, 1],
    ["rgb", rgb, 3, rgb, 3],
    ["gray+alpha", ga, 2, ga.filter((_, i) => i % 2 === 0), 1],
    ["rgba", rgba, 4, rgba.filter((_, i) => i % 4 !== 3), 3],
  ];
  for (const [name, px, c, want, wantC] of cases) {
    const fmt = (s: Sharp) =>
      (c <= 2 ? s.toColourspace("b-w") : s).png({ adaptiveFiltering: true, compressionLevel: 9 });
    const bytes = await encode(px, w, h, c, fmt);
    const img = await decodeImageBytes(bytes, name);
    assert.equal(img.channels, wantC, name);
    assert.equal(img.width, w);
    assert.equal(img.height, h);
    assert.deepEqual(Array.from(img.data), Array.from(want), name);
    // The in-process PNG path agrees with libvips byte for byte.
    const fast = decodeSimplePng(bytes);
    assert.ok(fast !== null, `${name}: fast path taken`);
    assert.deepEqual(Array.from(fast.data), Array.from(want));
  }
});

Deno.test("decodeImage: interlaced, palette and 16-bit PNGs go through sharp", async () => {
  const w = 9, h = 6;
  const rgb = pattern(w, h, 3);
  const inter = await encode(rgb, w, h, 3, (s) => s.png({ progressive: true }));
  assert.equal(decodeSimplePng(inter), null);
  assert.deepEqual(Array.from((await decodeImageBytes(inter, "i")).data), Array.from(rgb));

  const pal = await encode(rgb, w, h, 3, (s) => s.png({ palette: true, colours: 256, dither: 0 }));
  assert.equal(decodeSimplePng(pal), null);
  const pimg = await decodeImageBytes(pal, "p");
  assert.equal(pimg.channels, 3);
  assert.equal(pimg.data.length, w * h * 3);

  const g16 = await encode(pattern(w, h, 1), w, h, 1, (s) => s.toColourspace("grey16").png());
  assert.equal(decodeSimplePng(g16), null);
  const gimg = await decodeImageBytes(g16, "g16");
  assert.equal(gimg.channels, 1);
  assert.deepEqual(Array.from(gimg.data), Array.from(pattern(w, h, 1)));
});

Deno.test("decodeImage: gray JPEG and TIFF stay 1 channel; RGB JPEG is 3", async () => {
  const w = 16, h = 16;
  const flat = new Uint8Array(w * h).fill(100);
  const jpg = await encode(flat, w, h, 1, (s) => s.toColourspace("b-w").jpeg({ quality: 100 }));
  const j = await decodeImageBytes(jpg, "j");
  assert.equal(j.channels, 1);
  assert.ok(j.data.every((v) => Math.abs(v - 100) <= 1));
  const px = pattern(w, h, 1);
  const tif = await encode(px, w, h, 1, (s) => s.toColourspace("b-w").tiff({ compression: "lzw" }));
  const t = await decodeImageBytes(tif, "t");
  assert.equal(t.channels, 1);
  assert.deepEqual(Array.from(t.data), Array.from(px));
  const rgbJpg = await encode(pattern(w, h, 3), w, h, 3, (s) => s.jpeg());
  assert.equal((await decodeImageBytes(rgbJpg, "c")).channels, 3);
});

Deno.test("decodeImage: corrupt, truncated, empty and missing files throw ImageError naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-image-" });
  try {
    const good = await encode(pattern(20, 20, 3), 20, 20, 3, (s) => s.png());
    const files: Record<string, Uint8Array> = {
      "truncated.png": good.slice(0, good.length - 30),
      "garbage.jpg": new TextEncoder().encode("this is not an image at all, just text"),
      "empty.png": new Uint8Array(0),
    };
    const jpg = await encode(pattern(64, 64, 3), 64, 64, 3, (s) => s.jpeg());
    files["cut.jpg"] = jpg.slice(0, Math.floor(jpg.length / 2));
    for (const [name, bytes] of Object.entries(files)) {
      const path = join(dir, name);
      await Deno.writeFile(path, bytes);
      await assert.rejects(decodeImage({ kind: "file", path }), (e: unknown) => {
        assert.ok(e instanceof ImageError, name);
        assert.equal(e.file, path);
        assert.ok(e.message.startsWith(path), e.message);
        return true;
      });
    }
    const missing = join(dir, "nope.png");
    await assert.rejects(decodeImage({ kind: "file", path: missing }), /nope\.png: file not found/);
    // A PixelSource whose buffer does not match its size is refused too.
    await assert.rejects(
      decodeImage({ kind: "pixels", width: 4, height: 4, channels: 1, data: new Uint8Array(10) }),
      ImageError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cropRect / cropBox: margins, anchors and clamping", () => {
  const w = 10, h = 8;
  const img: RawImage = {
    data: Uint8Array.from({ length: w * h }, (_, i) => i),
    width: w,
    height: h,
    channels: 1,
  };
  const box = { x: 2, y: 1, width: 4, height: 4 };
  assert.deepEqual(cropRect(w, h, box), { x0: 2, y0: 1, x1: 6, y1: 5 });
  // centre, margin 0.25: each side moves out by 1 px.
  assert.deepEqual(cropRect(w, h, box, 0.25, "center"), { x0: 1, y0: 0, x1: 7, y1: 6 });
  // top-left anchored, margin 0.5: 4 → 6 wide and high, x, y kept.
  assert.deepEqual(cropRect(w, h, box, 0.5, "top-left-anchored"), { x0: 2, y0: 1, x1: 8, y1: 7 });
  // Clamped to the image.
  assert.deepEqual(cropRect(w, h, { x: -3, y: 6, width: 5, height: 5 }), {
    x0: 0,
    y0: 6,
    x1: 2,
    y1: 8,
  });
  assert.throws(() => cropRect(w, h, { x: 20, y: 0, width: 3, height: 3 }), RangeError);
  const c = cropBox(img, box);
  assert.equal(c.width, 4);
  assert.equal(c.height, 4);
  // Rows 1..4, columns 2..5 of a 10-wide ramp.
  assert.deepEqual(Array.from(c.data.subarray(0, 4)), [12, 13, 14, 15]);
  assert.deepEqual(Array.from(c.data.subarray(12, 16)), [42, 43, 44, 45]);
  const rgb = toRgb(img);
  const crgb = cropBox(rgb, { x: 9, y: 7, width: 1, height: 1 });
  assert.deepEqual(Array.from(crgb.data), [79, 79, 79]);
});

Deno.test("toGray matches OpenCV's cvtColor(RGB2GRAY); custom weights round; toRgb replicates", () => {
  const rgb: RawImage = {
    data: new Uint8Array([
      255,
      0,
      0,
      0,
      255,
      0,
      0,
      0,
      255,
      10,
      200,
      77,
      123,
      45,
      67,
      255,
      255,
      255,
    ]),
    width: 6,
    height: 1,
    channels: 3,
  };
  // cv2.cvtColor(np.array([[...]], np.uint8), cv2.COLOR_RGB2GRAY) = [76, 150, 29, 129, 71, 255]
  // (OpenCV 4.6); cv2 gives 91 for (10, 110, 210), where 14-bit weights would give 92.
  assert.equal(
    toGray({ data: new Uint8Array([10, 110, 210]), width: 1, height: 1, channels: 3 }).data[0],
    91,
  );
  assert.deepEqual(Array.from(toGray(rgb).data), [76, 150, 29, 129, 71, 255]);
  // A 64x64 pattern image: cv2 gray sum 516100, Σ index × value 1058729552, first ten values.
  const big = toGray({ data: pattern(64, 64, 3), width: 64, height: 64, channels: 3 });
  assert.equal(sum(big.data), 516100);
  assert.equal(big.data.reduce((a, v, i) => a + v * i, 0), 1058729552);
  assert.deepEqual(Array.from(big.data.subarray(0, 10)), [
    30,
    143,
    78,
    119,
    209,
    104,
    199,
    98,
    198,
    102,
  ]);
  // TF.js weights: 0.2989*10 + 0.587*200 + 0.114*77 = 129.067 → 129.
  const tf = toGray(rgb, [0.2989, 0.587, 0.114]);
  assert.equal(tf.data[3], 129);
  assert.equal(tf.data[0], Math.round(0.2989 * 255));
  assert.deepEqual(BT601, [0.299, 0.587, 0.114]);
  const g: RawImage = { data: new Uint8Array([3, 200]), width: 2, height: 1, channels: 1 };
  assert.equal(toGray(g), g);
  assert.deepEqual(Array.from(toRgb(g).data), [3, 3, 3, 200, 200, 200]);
});

Deno.test("readSampleImage crops the box; forEachSampleImage lists unreadable files and goes on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-image-" });
  try {
    const px = pattern(30, 20, 3);
    const path = join(dir, "a.png");
    await Deno.writeFile(path, await encodePng({ data: px, width: 30, height: 20, channels: 3 }));
    const bad = join(dir, "bad.png");
    await Deno.writeTextFile(bad, "not a png");
    const s: Sample = {
      id: "a",
      source: { kind: "file", path },
      box: { x: 5, y: 4, width: 10, height: 8 },
      label: "happy",
      split: "test",
    };
    const face = await readSampleImage(s);
    assert.equal(face.width, 10);
    assert.equal(face.height, 8);
    assert.deepEqual(
      Array.from(face.data.subarray(0, 3)),
      Array.from(px.subarray((4 * 30 + 5) * 3, (4 * 30 + 5) * 3 + 3)),
    );
    const grayFace = await readSampleImage(s, {
      color: "gray",
      crop: { margin: 0.1, anchor: "center" },
    });
    assert.equal(grayFace.channels, 1);
    assert.equal(grayFace.width, 12);
    const samples: Sample[] = [
      s,
      { ...s, id: "b", source: { kind: "file", path: bad } },
      { ...s, id: "c", source: { kind: "file", path: join(dir, "missing.png") } },
      { ...s, id: "d", box: undefined },
    ];
    const seen: string[] = [];
    const { unreadable, ok } = await forEachSampleImage(samples, (x) => void seen.push(x.id));
    assert.equal(ok, 2);
    assert.deepEqual(seen.sort(), ["a", "d"]);
    assert.deepEqual(unreadable.map((u) => u.file).sort(), [bad, join(dir, "missing.png")].sort());
    assert.ok(unreadable.every((u) => u.reason.length > 0 && !u.reason.includes(dir)));
    const small = await resizeForDisplay(face, 5, 4);
    assert.equal(small.width * small.height * small.channels, small.data.length);
    assert.equal(small.width, 5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "decodeImage on shared data matches OpenCV (FER PNG, ExpW JPEG)",
  ignore: DATA === undefined,
  fn: async () => {
    const fer = await decodeImage({
      kind: "file",
      path: join(DATA!, "ferplus", "FER2013Test", "fer0032220.png"),
    });
    assert.equal(fer.channels, 1);
    assert.equal(fer.width, 48);
    // cv2.imread(..., 0): first pixels and sum.
    assert.deepEqual(Array.from(fer.data.subarray(0, 8)), [170, 118, 101, 88, 88, 75, 78, 82]);
    assert.equal(sum(fer.data), 318894);
    const jpg = await decodeImage({
      kind: "file",
      path: join(DATA!, "expw", "Images", "afraid_couple_455.jpg"),
    });
    assert.deepEqual([jpg.width, jpg.height, jpg.channels], [192, 176, 3]);
    assert.equal(sum(jpg.data), 17628869); // cv2.imread(...).sum()
    assert.equal(sum(toGray(jpg).data), 5861766); // cv2.cvtColor(BGR2GRAY).sum()
    // label.lst face 0: top 32, left 48, right 144, bottom 128 → im[32:128, 48:144].sum()
    assert.equal(sum(cropBox(jpg, { x: 48, y: 32, width: 96, height: 96 }).data), 4216491);
  },
});
