/**
 * `deno task bench`: run every benchmark script `bench/*.ts` (except this one), one after the
 * other, each in its own process. Exit code 1 when any failed.
 */
import { join } from "node:path";
import { PROJECT_ROOT } from "../lib/config.ts";

const dir = join(PROJECT_ROOT, "bench");
const scripts = (await Array.fromAsync(Deno.readDir(dir)))
  .filter((e) => e.isFile && e.name.endsWith(".ts") && e.name !== "main.ts")
  .map((e) => e.name)
  .sort();
let failed = 0;
for (const s of scripts) {
  console.log(`=== bench/${s}`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(dir, s)],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    console.error(`bench/${s} exited with ${code}`);
    failed++;
  }
}
Deno.exit(failed > 0 ? 1 : 0);
