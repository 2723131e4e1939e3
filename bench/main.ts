/**
 * `deno task bench`: install what the baselines need (Debian's python3-opencv and python3-onnx
 * for bench/opencv_dnn.py, when missing and apt-get can run), then run every benchmark script
 * `bench/*.ts` (except this one), one after the other, each in its own process. Exit code 1 when
 * any failed.
 */
import { join } from "node:path";
import { PROJECT_ROOT } from "../lib/config.ts";

const PYTHON = "/usr/bin/python3";
const BASELINE_PACKAGES = ["python3-opencv", "python3-onnx"];

async function quiet(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output())
      .code === 0;
  } catch {
    return false;
  }
}

/** Make `import cv2, onnx` work in Debian's Python, with apt-get when it is missing. */
async function ensureBaselines(): Promise<void> {
  if (await quiet(PYTHON, ["-c", "import cv2, onnx"])) return;
  const install = ["install", "-y", "--no-install-recommends", ...BASELINE_PACKAGES];
  console.log(`bench: installing the OpenCV baseline's packages: apt-get ${install.join(" ")}`);
  const ok = await quiet("apt-get", install) ||
    (await quiet("apt-get", ["update"]) && await quiet("apt-get", install));
  if (!ok || !(await quiet(PYTHON, ["-c", "import cv2, onnx"]))) {
    console.error(
      `bench: could not install ${BASELINE_PACKAGES.join(", ")} (needs root and Debian's apt); ` +
        "the OpenCV columns of bench/inference.ts will say why they are missing",
    );
  }
}

await ensureBaselines();

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
