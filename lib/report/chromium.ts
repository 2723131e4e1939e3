/**
 * Headless Chromium for the report: find the browser, run it with the flags a headless,
 * sandbox-less, offline run needs (screenshots, DOM dumps, PDF printing).
 */
import { exists } from "../fsutil.ts";

/** Where Debian and other distributions install Chromium. */
export const CHROMIUM_PATHS: readonly string[] = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
];

/** The first Chromium found ($CHROMIUM first), or undefined. */
export async function findChromium(): Promise<string | undefined> {
  const env = Deno.env.get("CHROMIUM");
  for (const p of env ? [env, ...CHROMIUM_PATHS] : CHROMIUM_PATHS) {
    if (await exists(p)) return p;
  }
  return undefined;
}

/**
 * Run headless Chromium with `args` (a URL last) and a throwaway or given profile; returns
 * stdout. Throws with the end of stderr when it exits non-zero.
 */
export async function runChromium(
  bin: string,
  args: readonly string[],
  profile?: string,
): Promise<string> {
  const dir = profile ?? await Deno.makeTempDir({ prefix: "ferkit-chromium-" });
  try {
    const out = await new Deno.Command(bin, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--hide-scrollbars",
        `--user-data-dir=${dir}`,
        ...args,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.code !== 0) {
      throw new Error(
        `chromium failed (${out.code}): ${new TextDecoder().decode(out.stderr).slice(-800)}`,
      );
    }
    return new TextDecoder().decode(out.stdout);
  } finally {
    if (profile === undefined) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
