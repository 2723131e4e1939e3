/**
 * Progress reporting for long runs: a one-line bar with items/s and ETA on a terminal,
 * plain periodic lines otherwise (logs, CI, notebooks). Writes to stderr.
 */

/** Something that hears about progress. */
export interface Progress {
  /** `n` more items done. */
  tick(n?: number): void;
  /** Set the count of items done (e.g. resumed from a cache). */
  set(done: number): void;
  /** Finish: print the final line. */
  finish(note?: string): void;
}

/** Options of createProgress. */
export interface ProgressOptions {
  /** Draw a redrawn bar (default: when stderr is a terminal). */
  tty?: boolean;
  /** Seconds between plain lines (default 10). */
  intervalSeconds?: number;
  /** Where the text goes (default stderr). */
  write?: (text: string) => void;
  /** Clock in milliseconds (default performance.now; tests pass their own). */
  now?: () => number;
}

/** "1h02m", "3m05s", "12s" for a duration in seconds. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/**
 * The status text for `done` of `total` items after `elapsed` seconds, counting only
 * `fresh` items (done in this run) in the rate: "label 1200/3573 (33.6%) 85.2 items/s ETA 27s".
 */
export function progressText(
  label: string,
  done: number,
  total: number,
  fresh: number,
  elapsed: number,
): string {
  const rate = elapsed > 0 ? fresh / elapsed : 0;
  const pct = total > 0 ? (100 * done) / total : 100;
  const eta = rate > 0 ? formatDuration((total - done) / rate) : "?";
  return `${label} ${done}/${total} (${pct.toFixed(1)}%) ${rate.toFixed(1)} items/s ETA ${eta}`;
}

/** A progress reporter for `total` items. */
export function createProgress(
  label: string,
  total: number,
  opts: ProgressOptions = {},
): Progress {
  const encoder = new TextEncoder();
  const write = opts.write ?? ((t: string) => Deno.stderr.writeSync(encoder.encode(t)));
  const now = opts.now ?? (() => performance.now());
  let tty = opts.tty;
  if (tty === undefined) {
    try {
      tty = Deno.stderr.isTerminal();
    } catch {
      tty = false;
    }
  }
  const interval = (opts.intervalSeconds ?? 10) * 1000;
  const start = now();
  let done = 0;
  let base = 0; // items already done when the run started (not counted in the rate)
  let lastDraw = -Infinity;
  const text = () => progressText(label, done, total, done - base, (now() - start) / 1000);
  const draw = (force: boolean) => {
    const t = now();
    if (tty) {
      if (!force && t - lastDraw < 200) return;
      const width = 24;
      const filled = total > 0 ? Math.round((width * done) / total) : width;
      write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${text()}\x1b[K`);
    } else {
      if (!force && t - lastDraw < interval) return;
      write(text() + "\n");
    }
    lastDraw = t;
  };
  return {
    tick(n = 1) {
      done += n;
      draw(false);
    },
    set(d: number) {
      if (done === 0 && base === 0) base = d;
      done = d;
      if (d > 0) draw(false);
    },
    finish(note?: string) {
      const elapsed = (now() - start) / 1000;
      const rate = elapsed > 0 ? (done - base) / elapsed : 0;
      const line = `${label} ${done}/${total} in ${formatDuration(elapsed)} ` +
        `(${rate.toFixed(1)} items/s)${note ? `; ${note}` : ""}`;
      write(tty ? `\r${line}\x1b[K\n` : line + "\n");
    },
  };
}
