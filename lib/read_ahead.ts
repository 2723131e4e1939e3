/**
 * A byte budget for images decoded ahead of their use (lib/predict.ts). Each image launched
 * takes a ticket, in the order the images will be used; once its header says how many bytes
 * its pixels take, it asks for them and starts decoding when granted. Grants go in ticket
 * order, and only while the bytes held stay within the limit, or when nothing is held (so an
 * image larger than the limit still passes, alone). An image gives its bytes back when it is
 * used. Since images are used in ticket order, every image before the one needed next has been
 * used and has given its bytes back: the next image is never kept waiting by later ones.
 */
export class ReadAhead {
  readonly limit: number;
  #held = 0;
  #peak = 0;
  #issued = 0;
  #next = 0;
  readonly #asks = new Map<number, { bytes: number; grant: () => void }>();

  /** A budget of `limit` bytes. */
  constructor(limit: number) {
    this.limit = limit;
  }

  /** The next ticket, in order of use. */
  ticket(): number {
    return this.#issued++;
  }

  /** Wait until ticket `ticket` may hold `bytes` (0 when it holds nothing new); once a ticket. */
  acquire(ticket: number, bytes: number): Promise<void> {
    if (ticket < this.#next || this.#asks.has(ticket) || ticket >= this.#issued) {
      throw new Error(`read-ahead ticket ${ticket} asked twice or never issued`);
    }
    return new Promise((grant) => {
      this.#asks.set(ticket, { bytes, grant });
      this.#pump();
    });
  }

  /** Give back `bytes` of a granted image that has been used. */
  release(bytes: number): void {
    this.#held -= bytes;
    this.#pump();
  }

  /** Bytes held now by granted images not yet used. */
  get held(): number {
    return this.#held;
  }

  /** The most bytes held at once so far. */
  get peak(): number {
    return this.#peak;
  }

  #pump(): void {
    for (;;) {
      const ask = this.#asks.get(this.#next);
      if (ask === undefined || (this.#held > 0 && this.#held + ask.bytes > this.limit)) return;
      this.#asks.delete(this.#next++);
      this.#held += ask.bytes;
      this.#peak = Math.max(this.#peak, this.#held);
      ask.grant();
    }
  }
}
