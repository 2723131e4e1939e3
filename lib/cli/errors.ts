/**
 * The CLI's error boundary: every error that leaves a command ends here and becomes one clear
 * message and an exit code. Known errors (by class) print what, where and what to do; anything
 * else prints a short "unexpected error" line and its stack only with `--debug`.
 */
import { cacheRoot } from "../config.ts";
import { InputError } from "../errors.ts";
import { WriteError } from "../fsutil.ts";
import { ImageError } from "../image.ts";
import { FetchError } from "../models/fetch.ts";
import { ModelCardError } from "../models/registry.ts";
import { ProviderUnavailableError } from "../provider.ts";
import { LabelError } from "../taxonomy.ts";
import { UsageError } from "./args.ts";

/** What the boundary prints for an error, and the exit code. */
export interface ErrorReport {
  /** 2 for a bad command line, 1 for bad input or environment, 70 for a bug. */
  code: number;
  /** The message, one line. */
  message: string;
  /** What to do about it. */
  hint?: string;
  /** False for an error the kit did not anticipate (a bug to report). */
  known: boolean;
}

/** Deno's "(os error N)" number of a system error, if any. */
function osError(e: Error): number | undefined {
  const m = /\(os error (\d+)\)/.exec(e.message);
  return m === null ? undefined : Number(m[1]);
}

/** Hint for a file-system error on `message`'s path. */
function fsHint(message: string): string | undefined {
  const cache = cacheRoot();
  if (message.includes(cache)) {
    return `the cache folder ${cache} must be writable: fix its permissions or space, ` +
      `or set FER_CACHE to another folder`;
  }
  return undefined;
}

/** Map an error to what the user sees (see the module comment). */
export function describeError(e: unknown): ErrorReport {
  if (e instanceof UsageError) return { code: 2, message: e.message, known: true };
  if (e instanceof InputError) return { code: 1, message: e.message, hint: e.hint, known: true };
  if (
    e instanceof LabelError || e instanceof ModelCardError || e instanceof ImageError
  ) return { code: 1, message: e.message, known: true };
  if (e instanceof ProviderUnavailableError) {
    return { code: 1, message: `${e.message} (--strict)`, known: true };
  }
  if (e instanceof WriteError) {
    const full = /os error 28|No space left/i.test(e.reason);
    return {
      code: 1,
      message: e.message,
      hint: full
        ? "the disk is full: free some space and rerun (what was cached so far is kept)"
        : fsHint(e.path) ?? "check that the folder exists and is writable, or choose another path",
      known: true,
    };
  }
  if (e instanceof FetchError) {
    return {
      code: 1,
      message: e.message,
      hint: "the models come from npm: check that npm can reach its registry, then rerun",
      known: true,
    };
  }
  if (e instanceof Deno.errors.NotFound) {
    return { code: 1, message: `not found: ${e.message}`, hint: fsHint(e.message), known: true };
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return {
      code: 1,
      message: `permission denied: ${e.message}`,
      hint: fsHint(e.message) ?? "check the permissions of the file or folder named",
      known: true,
    };
  }
  if (
    e instanceof Deno.errors.IsADirectory || e instanceof Deno.errors.NotADirectory ||
    e instanceof Deno.errors.AlreadyExists || e instanceof Deno.errors.InvalidData
  ) return { code: 1, message: e.message, hint: fsHint(e.message), known: true };
  if (e instanceof Error && osError(e) === 28) {
    return {
      code: 1,
      message: `disk full: ${e.message}`,
      hint: "free some space and rerun: what was cached so far is kept and the run resumes",
      known: true,
    };
  }
  if (e instanceof Error && osError(e) === 30) {
    return {
      code: 1,
      message: `read-only file system: ${e.message}`,
      hint: fsHint(e.message),
      known: true,
    };
  }
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return {
    code: 70,
    message: `unexpected error: ${message.split("\n")[0]}`,
    hint: "run again with --debug for the stack trace, and please report it",
    known: false,
  };
}

/**
 * Print `e` for command `name` on stderr as {@link describeError} says (the stack only when
 * `debug`); returns the exit code.
 */
export function reportError(name: string, e: unknown, debug: boolean): number {
  const r = describeError(e);
  const prefix = name === "" ? "fer-kit" : `fer-kit ${name}`;
  console.error(`${prefix}: ${r.message}`);
  if (r.hint !== undefined) console.error(`  ${r.hint}`);
  if (debug && e instanceof Error && e.stack !== undefined) console.error(e.stack);
  return r.code;
}
