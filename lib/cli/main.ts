/**
 * `deno task kit <command> ...`: the kit's command-line entry.
 * Each command lives in its own module `lib/cli/<command>.ts` exporting
 * `run(args: string[]): Promise<number>` (the exit code) and `summary: string`.
 *
 * Options of every command, taken out here before the command parses its own: `--provider P`
 * and `--strict` (lib/provider.ts), so they reach every session the command opens, in this
 * process and in the ones it starts (notebook kernels).
 */
import { parseProvider, setDefaultProvider } from "../provider.ts";
import { PROJECT_ROOT } from "../config.ts";
import { reportError } from "./errors.ts";

/** Help lines of the options every command takes. */
export const GLOBAL_OPTIONS_HELP = `options of every command:
  --provider P   execution provider of every inference session: cpu (default), webgpu or cuda
                 (also $FER_PROVIDER); one that cannot start falls back to cpu with a note
  --strict       stop instead of falling back to cpu (also $FER_PROVIDER_STRICT=1)`;

/**
 * Take `--provider P`, `--provider=P` and `--strict` out of `args` and make them the process
 * default (FER_PROVIDER, FER_PROVIDER_STRICT). Returns the other arguments, or an error message.
 */
export function takeProviderFlags(args: string[]): string[] | string {
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      rest.push(...args.slice(i));
      break;
    }
    if (a === "--strict") {
      setDefaultProvider({ strict: true });
    } else if (a === "--provider" || a.startsWith("--provider=")) {
      const v = a === "--provider" ? args[++i] : a.slice("--provider=".length);
      if (v === undefined) return "--provider needs a value (cpu, webgpu or cuda)";
      try {
        setDefaultProvider({ provider: parseProvider(v, "--provider") });
      } catch (e) {
        return e instanceof Error ? e.message : String(e);
      }
    } else {
      rest.push(a);
    }
  }
  return rest;
}

/** Command name → module path (relative to this file). */
const COMMANDS: Readonly<Record<string, string>> = {
  setup: "./setup.ts",
  datasets: "./datasets.ts",
  predict: "./predict.ts",
  convert: "./convert.ts",
  metrics: "./metrics.ts",
  agreement: "./agreement.ts",
  saliency: "./saliency.ts",
  probe: "./probe.ts",
  cross: "./cross.ts",
  cache: "./cache.ts",
  matrix: "./matrix.ts",
  report: "./report.ts",
  doctor: "./doctor.ts",
  claims: "./claims.ts",
};

interface CommandModule {
  run(args: string[]): Promise<number>;
  summary: string;
}

async function load(name: string): Promise<CommandModule> {
  return (await import(COMMANDS[name])) as CommandModule;
}

async function usage(): Promise<string> {
  const lines = ["usage: deno task kit <command> [options]", "", "commands:"];
  for (const name of Object.keys(COMMANDS)) {
    let summary = "";
    try {
      summary = (await load(name)).summary;
    } catch {
      summary = "(not available)";
    }
    lines.push(`  ${name.padEnd(10)} ${summary}`);
  }
  lines.push("", GLOBAL_OPTIONS_HELP);
  lines.push("", "Run `deno task kit <command> --help` for a command's options.");
  return lines.join("\n");
}

/**
 * Runs the command named by args[0]; returns the exit code. Every error ends in the one error
 * boundary (lib/cli/errors.ts); `--debug` anywhere on the line adds the stack of an error.
 */
export async function main(args: string[]): Promise<number> {
  enterCallerFolder();
  const debug = args.includes("--debug");
  const argv = args.filter((a) => a !== "--debug");
  try {
    return await dispatch(argv);
  } catch (e) {
    return reportError(argv[0] ?? "", e, debug);
  }
}

/**
 * Run in the folder the user ran the command from, so relative paths mean what they mean there:
 * `deno task` (and ./fer-kit, through it) starts in the project root and leaves the caller's
 * folder in INIT_CWD. A process started elsewhere on purpose stays where it is.
 */
function enterCallerFolder(): void {
  const init = Deno.env.get("INIT_CWD");
  if (init === undefined) return;
  Deno.env.delete("INIT_CWD");
  if (init === Deno.cwd() || Deno.cwd() !== PROJECT_ROOT) return;
  try {
    Deno.chdir(init);
  } catch {
    // The caller's folder is gone: stay in the project.
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const args = takeProviderFlags(argv);
  if (typeof args === "string") {
    console.error(args);
    return 2;
  }
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(await usage());
    return name === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    console.error(`unknown command "${name}"\n\n${await usage()}`);
    return 2;
  }
  const mod = await load(name);
  return await mod.run(rest);
}

if (import.meta.main) {
  // A rejection nobody awaited ends in the same boundary, not in a raw stack trace.
  globalThis.addEventListener("unhandledrejection", (ev) => {
    ev.preventDefault();
    Deno.exit(reportError(Deno.args[0] ?? "", ev.reason, Deno.args.includes("--debug")));
  });
  Deno.exit(await main(Deno.args));
}
