/**
 * Reading TensorFlow.js weights: a weights manifest (`weightsManifest` of a model.json, or a
 * `*-weights_manifest.json` file) and its binary shards, decoded into named tensors.
 * Quantized weights are dequantized as TF.js does (tfjs-core io_utils `decodeWeights`):
 * uint8/uint16 → `q * scale + min` in float32; float16 → float32.
 */
import { dirname, join } from "node:path";

/** One weight entry of a manifest. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: "float32" | "int32" | "bool" | "string" | "complex64";
  quantization?: { dtype: "uint8" | "uint16" | "float16"; scale?: number; min?: number };
}

/** One group of a weights manifest: shards (concatenated in order) and the weights they hold. */
export interface WeightsGroup {
  paths: string[];
  weights: WeightSpec[];
}

/** A decoded weight. */
export interface WeightTensor {
  name: string;
  shape: number[];
  dtype: "float32" | "int32" | "bool";
  values: Float32Array | Int32Array | Uint8Array;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function float16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Decode the concatenated shard bytes of one group into its weights (`where` names the source). */
export function decodeWeightsGroup(
  group: WeightsGroup,
  bytes: Uint8Array,
  where: string,
): WeightTensor[] {
  const out: WeightTensor[] = [];
  let offset = 0;
  const buf = bytes.slice().buffer;
  for (const w of group.weights) {
    const n = elementCount(w.shape);
    const q = w.quantization;
    const elemBytes = q ? (q.dtype === "uint8" ? 1 : 2) : w.dtype === "bool" ? 1 : 4;
    const size = n * elemBytes;
    if (offset + size > bytes.length) {
      throw new Error(
        `${where}: weight "${w.name}" needs bytes ${offset}..${
          offset + size
        }, shards hold ${bytes.length}`,
      );
    }
    const slice = buf.slice(offset, offset + size);
    offset += size;
    if (w.dtype !== "float32" && w.dtype !== "int32" && w.dtype !== "bool") {
      throw new Error(`${where}: weight "${w.name}" has unsupported dtype ${w.dtype}`);
    }
    let values: Float32Array | Int32Array | Uint8Array;
    if (q !== undefined) {
      if (q.dtype === "uint8" || q.dtype === "uint16") {
        if (q.scale === undefined || q.min === undefined) {
          throw new Error(
            `${where}: weight "${w.name}": ${q.dtype} quantization without min/scale`,
          );
        }
        const qa = q.dtype === "uint8" ? new Uint8Array(slice) : new Uint16Array(slice);
        const deq = new Float32Array(n);
        for (let i = 0; i < n; i++) deq[i] = qa[i] * q.scale + q.min;
        values = w.dtype === "int32" ? Int32Array.from(deq, Math.round) : deq;
      } else if (q.dtype === "float16") {
        const ha = new Uint16Array(slice);
        values = Float32Array.from(ha, float16ToFloat32);
      } else {
        throw new Error(`${where}: weight "${w.name}": unknown quantization ${String(q.dtype)}`);
      }
    } else {
      values = w.dtype === "float32"
        ? new Float32Array(slice)
        : w.dtype === "int32"
        ? new Int32Array(slice)
        : new Uint8Array(slice);
    }
    out.push({ name: w.name, shape: [...w.shape], dtype: w.dtype, values });
  }
  if (offset !== bytes.length) {
    throw new Error(`${where}: ${bytes.length - offset} bytes left over after the last weight`);
  }
  return out;
}

/**
 * Load every weight of a manifest whose shard paths are relative to `baseDir`
 * (the folder of the model.json or manifest file).
 */
export async function loadWeights(
  manifest: WeightsGroup[],
  baseDir: string,
): Promise<Map<string, WeightTensor>> {
  const map = new Map<string, WeightTensor>();
  for (const group of manifest) {
    const shards = await Promise.all(group.paths.map((p) => Deno.readFile(join(baseDir, p))));
    const total = shards.reduce((a, s) => a + s.length, 0);
    const bytes = new Uint8Array(total);
    let off = 0;
    for (const s of shards) {
      bytes.set(s, off);
      off += s.length;
    }
    for (const w of decodeWeightsGroup(group, bytes, join(baseDir, group.paths.join("+")))) {
      map.set(w.name, w);
    }
  }
  return map;
}

/** Load a `*-weights_manifest.json` file and its shards (which sit beside it). */
export async function loadWeightsManifestFile(path: string): Promise<Map<string, WeightTensor>> {
  let manifest: WeightsGroup[];
  try {
    manifest = JSON.parse(await Deno.readTextFile(path)) as WeightsGroup[];
  } catch (e) {
    throw new Error(
      `${path}: not a readable weights manifest (${e instanceof Error ? e.message : e})`,
    );
  }
  if (!Array.isArray(manifest)) throw new Error(`${path}: a weights manifest is a JSON array`);
  return await loadWeights(manifest, dirname(path));
}
