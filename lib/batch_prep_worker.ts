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
/**
 * The block's files, read synchronously: this thread has nothing else to do meanwhile, and a
 * synchronous read costs a third of the CPU of an asynchronous one for a small file.
 */
function readAll(paths: readonly string[]): (Uint8Array | null)[] {
  return paths.map((p, i) => {
    // Samples of one image (several faces) are adjacent: read the file once.
    if (p === "" || (i > 0 && p === paths[i - 1])) return null;
    try {
      return Deno.readFileSync(p);
    } catch {
      return null; // the main thread reads it again and names the error
    }
  });
}

function prepareBlock(block: PrepBlock, spec: PrepInit): PrepDone {
  const buffer = new Float32Array(block.buffer);
  const n = block.items.length;
  const status = new Uint8Array(n); // 0: in its slot, 1: for the main thread
  const bytes = readAll(block.items.map((it) => it.path));
  let lastImg: PngPixels | null = null;
  for (let i = 0; i < n; i++) {
    const item = block.items[i];
    let img: PngPixels | null = null;
    if (i > 0 && item.path !== "" && item.path === block.items[i - 1].path) img = lastImg;
    else {
      const b = bytes[i];
      const size = b === null ? null : pngSize(b);
      if (b !== null && size !== null && size.width * size.height <= spec.maxPixels) {
        img = decodeSimplePng(b);
      }
      lastImg = img;
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

self.onmessage = (e: MessageEvent<PrepInit | PrepBlock>) => {
  const m = e.data;
  if (m.type === "init") {
    init = m;
    return;
  }
  if (init === undefined) throw new Error("batch_prep_worker: block before init");
  const done = prepareBlock(m, init);
  self.postMessage(done, [done.buffer]);
};
