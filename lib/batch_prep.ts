/**
 * Batch tensors prepared off the main thread. onnxruntime-node's `session.run` runs on the thread
 * that calls it, so reading, decoding and preprocessing images on that thread stops while the
 * model runs. A BatchPreparer hands blocks of image files to a worker thread
 * (lib/batch_prep_worker.ts) that reads, decodes (plain PNGs, lib/png.ts) and preprocesses them
 * (lib/preprocess.ts, the same code, so the same bits) into a few batch buffers lent back and
 * forth (transferred, never copied or reallocated), a few blocks ahead of inference.
 *
 * Items the worker cannot prepare exactly as the main thread would are marked, and the caller
 * prepares them itself on its usual path (lib/predict.ts).
 */
import type { FaceBox } from "./sample.ts";
import type { PreprocessSpec } from "./preprocess.ts";

/** One image of a block: its file, and the face box to crop when the sample has one. */
export interface PrepItem {
  path: string;
  box?: FaceBox;
}

/** Message: what the worker prepares for (sent once). */
export interface PrepInit {
  type: "init";
  card: PreprocessSpec;
  /** Largest image decoded, in pixels (lib/image.ts maxImagePixels()). */
  maxPixels: number;
}

/** Message: a block to prepare into `buffer` (item i in slot i). */
export interface PrepBlock {
  type: "block";
  id: number;
  items: PrepItem[];
  buffer: ArrayBuffer;
}

/** Message: a prepared block; `status[i]` 0 = slot i holds item i, 1 = the caller prepares it. */
export interface PrepDone {
  type: "done";
  id: number;
  buffer: ArrayBuffer;
  status: Uint8Array;
}

/** A prepared block as the caller gets it. */
export interface PreparedBlock {
  /** Item i's tensor in slot i (sampleLength floats each), unless `needsCaller[i]`. */
  buffer: Float32Array;
  /** Items the worker left to the caller (another format, unreadable file, bad box). */
  needsCaller: boolean[];
}

/** Runs a worker that prepares blocks of items into a fixed set of buffers. */
export class BatchPreparer {
  private readonly worker: Worker;
  private readonly free: ArrayBuffer[] = [];
  private readonly waiting = new Map<
    number,
    { resolve: (b: PreparedBlock) => void; reject: (e: Error) => void }
  >();
  private nextId = 0;
  private failure: Error | undefined;

  /**
   * Start the worker for `card`, with `buffers` buffers of `blockSize` samples of
   * `sampleLength` floats (allocated once, here).
   */
  constructor(
    card: PreprocessSpec,
    readonly blockSize: number,
    readonly sampleLength: number,
    maxPixels: number,
    buffers = 3,
  ) {
    for (let i = 0; i < buffers; i++) {
      this.free.push(new ArrayBuffer(blockSize * sampleLength * 4));
    }
    this.worker = new Worker(new URL("./batch_prep_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.worker.onmessage = (e: MessageEvent<PrepDone>) => {
      const w = this.waiting.get(e.data.id);
      if (w === undefined) return;
      this.waiting.delete(e.data.id);
      w.resolve({
        buffer: new Float32Array(e.data.buffer),
        needsCaller: Array.from(e.data.status, (s) => s !== 0),
      });
    };
    this.worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.fail(new Error(`batch preparation worker failed: ${e.message}`));
    };
    const init: PrepInit = { type: "init", card: { input: card.input }, maxPixels };
    if (card.faceCrop !== undefined) init.card.faceCrop = card.faceCrop;
    this.worker.postMessage(init);
  }

  /** Buffers free to submit a block with. */
  get freeBuffers(): number {
    return this.free.length;
  }

  /**
   * Hand a block of at most `blockSize` items to the worker; resolves when it is prepared. Needs
   * a free buffer (see `recycle`).
   */
  submit(items: readonly PrepItem[]): Promise<PreparedBlock> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (items.length > this.blockSize) {
      throw new Error(`block of ${items.length} items, at most ${this.blockSize}`);
    }
    const buffer = this.free.pop();
    if (buffer === undefined) throw new Error("no free batch buffer: recycle one first");
    const id = this.nextId++;
    const p = new Promise<PreparedBlock>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
    });
    p.catch(() => {}); // a block nobody waits for any more (after close) is no error
    const msg: PrepBlock = { type: "block", id, items: [...items], buffer };
    this.worker.postMessage(msg, [buffer]);
    return p;
  }

  /** Give a block's buffer back once its tensors have been used. */
  recycle(buffer: Float32Array): void {
    this.free.push(buffer.buffer as ArrayBuffer);
  }

  /** Stop the worker (blocks still waiting are rejected). */
  close(): void {
    this.worker.terminate();
    this.fail(new Error("batch preparation stopped"));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}
