/** Flag parsing shared by every `deno task kit` command (node:util parseArgs, strict). */
import { parseArgs as nodeParseArgs } from "node:util";
import { parseShard, type Shard } from "../shard.ts";

/** Option spec: name → string or boolean flag, optional short alias and default. */
export type OptionSpec = Record<
  string,
  { type: "string" | "boolean"; short?: string; default?: string | boolean; multiple?: boolean }
>;

/** The `--shard i/N` flag (lib/shard.ts), or undefined; UsageError naming it when malformed. */
export function shardOption(p: ParsedArgs, name = "shard"): Shard | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  try {
    return parseShard(v);
  } catch (e) {
    throw new UsageError(`--${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Options for string flags named in a space-separated list (`"model card out"`). */
export function stringFlags(names: string): OptionSpec {
  return Object.fromEntries(names.split(/\s+/).filter(Boolean).map((n) => [n, { type: "string" }]));
}

/** Parsed flags and positional arguments. */
export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** Thrown for a bad command line; the CLI prints the message and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Parse `args` against `options`; unknown flags are a UsageError naming the flag. */
export function parseArgs(args: string[], options: OptionSpec): ParsedArgs {
  try {
    const { values, positionals } = nodeParseArgs({
      args,
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs["values"], positionals };
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

/** A string flag's value, or undefined. */
export function str(p: ParsedArgs, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === "string" ? v : undefined;
}

/** A required string flag's value; UsageError when missing. */
export function required(p: ParsedArgs, name: string): string {
  const v = str(p, name);
  if (v === undefined) throw new UsageError(`missing required option --${name}`);
  return v;
}

/** A boolean flag's value. */
export function flag(p: ParsedArgs, name: string): boolean {
  return p.values[name] === true;
}

/** UsageError when the command line has positional arguments (for commands that take none). */
export function noPositionals(p: ParsedArgs): void {
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
}

/**
 * What a command's `run` returns when it fails with `e`: for a UsageError, its message (after
 * `prefix`) and the help text on stderr, and exit code 2; any other error is thrown on.
 */
export function usageExit(e: unknown, help: string, prefix = ""): 2 {
  if (e instanceof UsageError) {
    console.error(`${prefix}${e.message}\n\n${help}`);
    return 2;
  }
  throw e;
}

/** An integer flag ≥ `min`, or undefined when absent; a UsageError naming the flag otherwise. */
export function intFlag(p: ParsedArgs, name: string, min = 0): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got "${v}"`);
  }
  return n;
}

/** Bounds of a number flag; `open` makes both bounds exclusive. */
export interface NumberRange {
  min?: number;
  max?: number;
  open?: boolean;
}

/** A finite number flag within `range`, or undefined when absent; a UsageError otherwise. */
export function numFlag(p: ParsedArgs, name: string, range: NumberRange = {}): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  const { min = -Infinity, max = Infinity, open = false } = range;
  const inside = open ? n > min && n < max : n >= min && n <= max;
  if (v.trim() === "" || !Number.isFinite(n) || !inside) {
    const [lo, hi] = open ? ["(", ")"] : ["[", "]"];
    const where = Number.isFinite(min) && Number.isFinite(max)
      ? ` in ${lo}${min}, ${max}${hi}`
      : Number.isFinite(min)
      ? ` ${open ? ">" : ">="} ${min}`
      : Number.isFinite(max)
      ? ` ${open ? "<" : "<="} ${max}`
      : "";
    throw new UsageError(`--${name} must be a number${where}, got "${v}"`);
  }
  return n;
}

/** One of `choices`, or undefined when absent; a UsageError listing the choices otherwise. */
export function choiceFlag<T extends string>(
  p: ParsedArgs,
  name: string,
  choices: readonly T[],
): T | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (!(choices as readonly string[]).includes(v)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got "${v}"`);
  }
  return v as T;
}
