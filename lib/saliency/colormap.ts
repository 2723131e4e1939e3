/**
 * The heat-map colour map: matplotlib's "inferno" (Smith & van der Walt 2015; perceptually
 * uniform, readable in grayscale and by colour-blind readers), approximated by 17 control
 * points sampled at t = 0, 1/16, ..., 1 and joined by linear interpolation in sRGB.
 * The largest difference from the full 256-entry table is 6.7 of 255 in one channel.
 */

/** sRGB control points of inferno at t = i / 16. */
export const INFERNO_POINTS: readonly (readonly [number, number, number])[] = [
  [0, 0, 4],
  [11, 7, 36],
  [33, 12, 74],
  [61, 9, 101],
  [87, 16, 110],
  [113, 25, 110],
  [138, 34, 106],
  [163, 44, 97],
  [188, 55, 84],
  [210, 70, 68],
  [228, 90, 49],
  [241, 115, 29],
  [249, 142, 9],
  [252, 172, 17],
  [249, 203, 53],
  [242, 234, 105],
  [252, 255, 164],
];

/** The colour of t in [0, 1] (clamped; NaN maps to 0) as [r, g, b], 0..255. */
export function inferno(t: number): [number, number, number] {
  const n = INFERNO_POINTS.length - 1;
  const u = Number.isNaN(t) ? 0 : Math.min(1, Math.max(0, t)) * n;
  const i = Math.min(n - 1, Math.floor(u));
  const f = u - i;
  const a = INFERNO_POINTS[i];
  const b = INFERNO_POINTS[i + 1];
  return [
    Math.round(a[0] + f * (b[0] - a[0])),
    Math.round(a[1] + f * (b[1] - a[1])),
    Math.round(a[2] + f * (b[2] - a[2])),
  ];
}

/** A 256-entry lookup table (RGB triples) of `inferno` at t = i / 255. */
export function infernoTable(): Uint8Array {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) lut.set(inferno(i / 255), i * 3);
  return lut;
}
