/** Per-item score or probability matrices (one row per item, one column per class). */

/** Row-major scores: `data[i * cols + j]` = score of item i for column j. */
export interface ScoreMatrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** A score matrix, or one array per item (e.g. `Prediction.probs` rows). */
export type ScoreInput = ScoreMatrix | readonly ArrayLike<number>[];

function isScoreMatrix(x: ScoreInput): x is ScoreMatrix {
  return !Array.isArray(x) && typeof (x as ScoreMatrix).cols === "number";
}

/**
 * Normalise `input` into a row-major ScoreMatrix. Throws an Error naming `name`, the row and the
 * column for a row of the wrong width or a value that is not a finite number.
 */
export function toScoreMatrix(input: ScoreInput, name = "scores"): ScoreMatrix {
  let m: ScoreMatrix;
  if (isScoreMatrix(input)) {
    if (input.data.length !== input.rows * input.cols) {
      throw new Error(`${name}: data has ${input.data.length} values, expected rows × cols`);
    }
    m = input;
  } else {
    const rows = input.length;
    const cols = rows > 0 ? input[0].length : 0;
    const data = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const r = input[i];
      if (r.length !== cols) {
        throw new Error(`${name}: row ${i} has ${r.length} values, expected ${cols}`);
      }
      for (let j = 0; j < cols; j++) data[i * cols + j] = r[j];
    }
    m = { rows, cols, data };
  }
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i])) {
      const row = Math.floor(i / m.cols);
      throw new Error(`${name}: row ${row} column ${i - row * m.cols} is not a finite number`);
    }
  }
  return m;
}

/**
 * The class id of each score column: `classes` when given (one id per column, no repeats),
 * else 0..cols-1.
 */
export function columnClasses(cols: number, classes?: ArrayLike<number>): Int32Array {
  if (classes === undefined) return Int32Array.from({ length: cols }, (_, j) => j);
  if (classes.length !== cols) {
    throw new Error(`classes: ${classes.length} class ids for ${cols} score columns`);
  }
  const seen = new Set<number>();
  for (let j = 0; j < cols; j++) {
    const c = classes[j];
    if (!Number.isInteger(c) || c < 0) throw new Error(`classes[${j}] = ${c} is not a class id`);
    if (seen.has(c)) throw new Error(`classes: class id ${c} listed twice`);
    seen.add(c);
  }
  return Int32Array.from(classes);
}

/**
 * Position in `cols` of the first largest of `values[offset + cols[j]]` (numpy.argmax's tie rule
 * over the chosen columns): the top class among a subset of classes.
 */
export function argmaxAmong(
  values: ArrayLike<number>,
  cols: readonly number[],
  offset = 0,
): number {
  let best = 0;
  for (let j = 1; j < cols.length; j++) {
    if (values[offset + cols[j]] > values[offset + cols[best]]) best = j;
  }
  return best;
}

/** Index of the first largest value in row `i` (numpy.argmax's tie rule). */
export function rowArgmax(m: ScoreMatrix, i: number): number {
  const base = i * m.cols;
  let best = 0;
  let bestValue = m.data[base];
  for (let j = 1; j < m.cols; j++) {
    if (m.data[base + j] > bestValue) {
      bestValue = m.data[base + j];
      best = j;
    }
  }
  return best;
}
