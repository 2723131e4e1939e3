/** Dense row-major feature matrices, the input of standardisation and linear probes. */

/** n rows (samples) x dim columns (features), row-major: row i is data[i*dim .. (i+1)*dim). */
export interface FeatureMatrix {
  rows: number;
  cols: number;
  data: Float32Array | Float64Array;
}

/** A row-major matrix held in double precision (what the solver works on). */
export interface Matrix64 {
  rows: number;
  cols: number;
  data: Float64Array;
}

/**
 * Check that `m.data` holds exactly rows x cols finite numbers; throws naming `what` and the
 * first bad row and column otherwise.
 */
export function checkMatrix(m: FeatureMatrix, what: string): void {
  if (!Number.isInteger(m.rows) || !Number.isInteger(m.cols) || m.rows < 0 || m.cols < 0) {
    throw new Error(`${what}: bad shape ${m.rows} x ${m.cols}`);
  }
  if (m.data.length !== m.rows * m.cols) {
    throw new Error(
      `${what}: data holds ${m.data.length} numbers, expected ${m.rows} x ${m.cols} = ${
        m.rows * m.cols
      }`,
    );
  }
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i])) {
      const row = Math.floor(i / m.cols);
      throw new Error(`${what}: row ${row}, column ${i - row * m.cols} is ${m.data[i]}`);
    }
  }
}

/** The rows of `m` at `indices`, in that order, as a new matrix of the same precision. */
export function selectRows(m: FeatureMatrix, indices: ArrayLike<number>): FeatureMatrix {
  const out = m.data instanceof Float32Array
    ? new Float32Array(indices.length * m.cols)
    : new Float64Array(indices.length * m.cols);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r];
    if (!Number.isInteger(i) || i < 0 || i >= m.rows) {
      throw new RangeError(`row index ${i} outside 0..${m.rows - 1}`);
    }
    out.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), r * m.cols);
  }
  return { rows: indices.length, cols: m.cols, data: out };
}
