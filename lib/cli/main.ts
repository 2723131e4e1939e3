/**
 * `deno task kit <command> ...`: the kit's command-line entry.
 * Each command lives in its own module `lib/cli/<command>.ts` exporting
 * `run(args: string[]): Promise<number>` (the exit code) and `summary: string`.
 */

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
  lines.push("", "Run `deno task kit <command> --help` for a command's options.");
  return lines.join("\n");
}

/** Runs the command named by args[0]; returns the exit code. */
export async function main(args: string[]): Promise<number> {
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
  Deno.exit(await main(Deno.args));
}
