/**
 * The batch preparation worker (lib/batch_prep.ts starts it): reads image files, decodes the
 * plain PNGs with lib/png.ts and preprocesses them with lib/preprocess.ts into the batch buffer it
 * is lent, on its own thread, while the main thread runs inference. Anything it cannot do exactly
 * as the main thread would (another format, a file it cannot read, a PNG over the pixel limit, a
 * box outside the image) is marked for the main thread, which then takes its usual path and
 * reports its usual error. Loads no native module.
 */
/// <reference lib="deno.worker" />
import { decodeSimplePng, type PngPixels, pngSize } from "./png.ts";
import { preprocessInto } from "./preprocess.ts";
import type { PrepBlock, PrepDone, PrepInit } from "./batch_prep.ts";

let init: PrepInit | undefined;
/** Files read at the same time. */
const READ_AHEAD = 16;

async function readAll(paths: readonly string[]): Promise<(Uint8Array | null)[]> {
  const out = new Array<Uint8Array | null>(paths.length).fill(null);
  let next = 0;
  const reader = async () => {
    while (next < paths.length) {
      const i = next++;
      // Samples of one image (several faces) are adjacent: read the file once.
      if (paths[i] === "" || (i > 0 && paths[i] === paths[i - 1])) continue;
      try {
        out[i] = await Deno.readFile(paths[i]);
      } catch {
        out[i] = null; // the main thread reads it again and names the error
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_AHEAD, paths.length) }, reader));
  return out;
}

async function prepareBlock(block: PrepBlock, spec: PrepInit): Promise<PrepDone> {
  const buffer = new Float32Array(block.buffer);
  const n = block.items.length;
  const status = new Uint8Array(n); // 0: in its slot, 1: for the main thread
  const bytes = await readAll(block.items.map((it) => it.path));
  let last: { at: number; img: PngPixels | null } = { at: -1, img: null };
  for (let i = 0; i < n; i++) {
    const item = block.items[i];
    let img: PngPixels | null = null;
    if (i > 0 && item.path === block.items[i - 1].path) img = last.img;
    else {
      const b = bytes[i];
      const size = b === null ? null : pngSize(b);
      if (b !== null && size !== null && size.width * size.height <= spec.maxPixels) {
        img = decodeSimplePng(b);
      }
      last = { at: i, img };
    }
    if (img === null) {
      status[i] = 1;
      continue;
    }
    try {
      preprocessInto(img, spec.card, buffer, i, item.box);
    } catch {
      status[i] = 1;
    }
  }
  return { type: "done", id: block.id, buffer: block.buffer, status };
}

self.onmessage = async (e: MessageEvent<PrepInit | PrepBlock>) => {
  const m = e.data;
  if (m.type === "init") {
    init = m;
    return;
  }
  if (init === undefined) throw new Error("batch_prep_worker: block before init");
  const done = await prepareBlock(m, init);
  self.postMessage(done, [done.buffer]);
};
