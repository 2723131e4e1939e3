/** Making ONNX tensors from JS arrays, and reading their values back. */
import type { OnnxTensor } from "./model.ts";
import { elemByteSize, type TensorElemType } from "./schema.ts";

/** Typed arrays that map one-to-one onto an ONNX element type. */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

function elemTypeOfArray(data: TensorData): TensorElemType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Uint8Array) return "uint8";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Uint16Array) return "uint16";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint32Array) return "uint32";
  if (data instanceof BigInt64Array) return "int64";
  return "uint64";
}

/** A fresh ArrayBuffer holding exactly `bytes` (safe for typed-array views at offset 0). */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out.buffer;
}

/** Number of elements of a shape (1 for a scalar, []). */
export function shapeSize(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * A tensor holding a copy of `data` (row-major, C order) with shape `dims`; the element type
 * follows the array type unless `dataType` overrides it (e.g. "bool" over a Uint8Array).
 */
export function tensorFromArray(
  name: string,
  dims: readonly number[],
  data: TensorData,
  dataType?: TensorElemType,
): OnnxTensor {
  const type = dataType ?? elemTypeOfArray(data);
  if (data.length !== shapeSize(dims)) {
    throw new Error(`tensor "${name}": ${data.length} values for shape [${dims}]`);
  }
  if (data.BYTES_PER_ELEMENT !== elemByteSize(type)) {
    throw new Error(`tensor "${name}": a ${data.constructor.name} cannot hold ${type}`);
  }
  const raw = new Uint8Array(
    ownBuffer(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
  );
  return { name, dataType: type, dims: [...dims], raw };
}

/** A float32 tensor from numbers. */
export function floatTensor(
  name: string,
  dims: readonly number[],
  values: ArrayLike<number>,
): OnnxTensor {
  return tensorFromArray(name, dims, Float32Array.from(values));
}

/** An int64 tensor from integers (numbers or bigints). */
export function int64Tensor(
  name: string,
  dims: readonly number[],
  values: ArrayLike<number | bigint>,
): OnnxTensor {
  return tensorFromArray(name, dims, BigInt64Array.from(Array.from(values, (v) => BigInt(v))));
}

/** The values of a float32 tensor, as a fresh Float32Array. */
export function tensorToFloat32(t: OnnxTensor): Float32Array {
  if (t.dataType !== "float32") throw new Error(`tensor "${t.name}" is ${t.dataType}, not float32`);
  return new Float32Array(ownBuffer(t.raw));
}

/**
 * The values of a numeric tensor as JS numbers (int64 / uint64 converted with Number(); float16
 * and bfloat16 are not decoded and throw).
 */
export function tensorToNumbers(t: OnnxTensor): number[] {
  const buf = ownBuffer(t.raw);
  switch (t.dataType) {
    case "float32":
      return Array.from(new Float32Array(buf));
    case "float64":
      return Array.from(new Float64Array(buf));
    case "int8":
      return Array.from(new Int8Array(buf));
    case "uint8":
    case "bool":
      return Array.from(new Uint8Array(buf));
    case "int16":
      return Array.from(new Int16Array(buf));
    case "uint16":
      return Array.from(new Uint16Array(buf));
    case "int32":
      return Array.from(new Int32Array(buf));
    case "uint32":
      return Array.from(new Uint32Array(buf));
    case "int64":
      return Array.from(new BigInt64Array(buf), Number);
    case "uint64":
      return Array.from(new BigUint64Array(buf), Number);
    default:
      throw new Error(`tensor "${t.name}": cannot read ${t.dataType} values as numbers`);
  }
}
