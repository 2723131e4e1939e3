/**
 * What this machine can run, checked for real (`deno task kit doctor`): Deno and onnxruntime
 * versions; for each execution provider whether a session loads and, if not, why (no Vulkan
 * loader, no Vulkan driver, no adapter, missing provider library, the CUDA and cuDNN versions
 * found); the data root and the datasets in it; the models set up; Jupyter and the kernel;
 * Chromium. docs/gpu.md explains the GPU routes.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { dataRoot, PROJECT_ROOT } from "./config.ts";
import { findDatasets } from "./datasets/mod.ts";
import { DETECTOR_IDS, detectorsDir, readDetectorCard } from "./detect/card.ts";
import { listModels } from "./models/registry.ts";
import { pythonPath } from "./notebook/executor.ts";
import { kernelInstalled } from "./cli/setup.ts";
import { buildModel, node } from "./onnx/mod.ts";
import { errorGist, type Provider, PROVIDERS } from "./provider.ts";
import { ONNXRUNTIME_VERSION, openSession } from "./session.ts";

/** One provider's state on this machine. */
export interface ProviderCheck {
  provider: Provider;
  /** "ok": a session loads and runs; "unavailable": it does not (see reason). */
  status: "ok" | "unavailable";
  /** Why it is unavailable, as a user can act on it. */
  reason?: string;
  /** onnxruntime's own error, when it gave one. */
  error?: string;
  /** What was found on the way (loader, drivers, libraries, versions). */
  details: Record<string, string | boolean | string[] | null>;
}

/** Everything `kit doctor` reports. */
export interface DoctorReport {
  deno: string;
  onnxruntime: string;
  providers: ProviderCheck[];
  data: { root: string; exists: boolean; datasets: string[] };
  models: { id: string; available: boolean }[];
  detectors: { id: string; file: string; available: boolean }[];
  jupyter: { python: string; jupyterClient: boolean; kernelRegistered: boolean };
  chromium: string | null;
}

/** A one-node model (y = Relu(x), 1×4) every provider can run. */
function probeModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: "x", dims: [1, 4] }],
    outputs: [{ name: "y", dims: [1, 4] }],
    nodes: [node("Relu", ["x"], ["y"])],
    initializers: [],
  });
}

/** True when the shared library `name` can be loaded (dlopen through Deno's FFI). */
function canLoad(name: string): boolean {
  try {
    Deno.dlopen(name, {}).close();
    return true;
  } catch {
    return false;
  }
}

/** An integer a no-argument-but-pointer C function writes (e.g. cudaRuntimeGetVersion). */
function versionFrom(lib: string, symbol: string, kind: "out-int" | "return-usize"): number | null {
  try {
    if (kind === "out-int") {
      const l = Deno.dlopen(lib, { [symbol]: { parameters: ["buffer"], result: "i32" } });
      const out = new Int32Array(1);
      const rc = (l.symbols[symbol] as (b: Int32Array) => number)(out);
      l.close();
      return rc === 0 ? out[0] : null;
    }
    const l = Deno.dlopen(lib, { [symbol]: { parameters: [], result: "usize" } });
    const v = Number((l.symbols[symbol] as () => number | bigint)());
    l.close();
    return v;
  } catch {
    return null;
  }
}

/** Folder of onnxruntime-node's native libraries (where its CUDA provider files go). */
export function onnxruntimeLibDir(): string {
  return join(PROJECT_ROOT, "node_modules", "onnxruntime-node", "bin", "napi-v6", "linux", "x64");
}

const ICD_DIRS = [
  "/usr/share/vulkan/icd.d",
  "/etc/vulkan/icd.d",
  "/usr/local/share/vulkan/icd.d",
  "/usr/local/nvidia/share/vulkan/icd.d",
];

function vulkanDrivers(): string[] {
  const out: string[] = [];
  for (const env of ["VK_DRIVER_FILES", "VK_ICD_FILENAMES"]) {
    const v = Deno.env.get(env);
    if (v) out.push(...v.split(":").filter((f) => f !== ""));
  }
  for (const dir of ICD_DIRS) {
    try {
      for (const e of Deno.readDirSync(dir)) {
        if (e.name.endsWith(".json")) out.push(join(dir, e.name));
      }
    } catch { /* no such folder */ }
  }
  return out;
}

function nvidiaDriver(): string | null {
  try {
    const line = Deno.readTextFileSync("/proc/driver/nvidia/version").split("\n")[0];
    const m = line.match(/Kernel Module\s+([0-9.]+)/);
    return m ? m[1] : line.trim();
  } catch {
    return null;
  }
}

function cudaVersion(v: number | null): string | null {
  return v === null ? null : `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
}

/** Try a session on `provider`; ok or onnxruntime's error gist. */
async function trySession(provider: Provider): Promise<string | null> {
  try {
    const s = await openSession(
      probeModel(),
      (p) => ({ executionProviders: [p], logSeverityLevel: 4 }),
      `doctor ${provider}`,
      { provider, strict: true },
    );
    await s.session.release();
    return null;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return errorGist(msg.replace(/^.*?is not available for doctor \w+: /, ""));
  }
}

/** Check one provider: a real session, and what it depends on. */
export async function checkProvider(provider: Provider): Promise<ProviderCheck> {
  const error = await trySession(provider);
  const details: ProviderCheck["details"] = {};
  let reason: string | undefined;
  if (provider === "webgpu") {
    const loader = canLoad("libvulkan.so.1");
    const drivers = vulkanDrivers();
    details.vulkanLoader = loader;
    details.vulkanDrivers = drivers;
    details.nvidiaDriver = nvidiaDriver();
    if (error !== null) {
      reason = !loader
        ? "no Vulkan loader (libvulkan.so.1): install libvulkan1 (docs/gpu.md)"
        : drivers.length === 0
        ? `no Vulkan driver (ICD) in ${ICD_DIRS.join(", ")}: install the GPU driver's Vulkan ` +
          "part, e.g. NVIDIA's libnvidia-gl or mesa-vulkan-drivers (docs/gpu.md)"
        : `no WebGPU adapter: the Vulkan driver found no usable GPU (${error})`;
    }
  } else if (provider === "cuda") {
    const dir = onnxruntimeLibDir();
    const cudaLib = existsSync(join(dir, "libonnxruntime_providers_cuda.so"));
    const shared = existsSync(join(dir, "libonnxruntime_providers_shared.so"));
    const cudart = versionFrom("libcudart.so.12", "cudaRuntimeGetVersion", "out-int");
    const cudnn = versionFrom("libcudnn.so.9", "cudnnGetVersion", "return-usize");
    details.providerLibrary = cudaLib;
    details.providerSharedLibrary = shared;
    details.cudaRuntime = cudaVersion(cudart);
    details.cudnn = cudnn === null
      ? null
      : `${Math.floor(cudnn / 10000)}.${Math.floor((cudnn % 10000) / 100)}.${cudnn % 100}`;
    details.nvidiaDriver = nvidiaDriver();
    if (error !== null) {
      reason = !cudaLib || !shared
        ? `onnxruntime's CUDA provider libraries are not in ${dir} ` +
          "(libonnxruntime_providers_cuda.so, libonnxruntime_providers_shared.so; docs/gpu.md)"
        : cudart === null
        ? "no CUDA 12 runtime (libcudart.so.12) on the library path"
        : cudnn === null
        ? "no cuDNN 9 (libcudnn.so.9) on the library path"
        : details.nvidiaDriver === null
        ? "no NVIDIA driver loaded (/proc/driver/nvidia/version)"
        : `the CUDA provider did not start (${error})`;
    }
  } else if (error !== null) {
    reason = `onnxruntime cannot run on cpu (${error})`;
  }
  return {
    provider,
    status: error === null ? "ok" : "unavailable",
    ...(reason !== undefined ? { reason } : {}),
    ...(error !== null ? { error } : {}),
    details,
  };
}

async function hasJupyterClient(python: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(python, {
      args: ["-c", "import jupyter_client"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.code === 0;
  } catch {
    return false;
  }
}

function findChromium(): string | null {
  for (const bin of ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]) {
    if (existsSync(bin)) return bin;
  }
  return null;
}

/** Run every check (a few seconds: one tiny session per provider). */
export async function runDoctor(opts: { data?: string } = {}): Promise<DoctorReport> {
  const providers: ProviderCheck[] = [];
  for (const p of PROVIDERS) providers.push(await checkProvider(p));
  const root = dataRoot(opts.data);
  const rootExists = existsSync(root);
  const datasets = rootExists ? (await findDatasets(root)).map((d) => d.name) : [];
  const models = (await listModels()).map((m) => ({ id: m.id, available: m.available }));
  const dir = await detectorsDir();
  const detectors = [];
  for (const id of Object.values(DETECTOR_IDS)) {
    const card = await readDetectorCard(id);
    detectors.push({ id, file: join(dir, card.file), available: existsSync(join(dir, card.file)) });
  }
  const python = await pythonPath();
  return {
    deno: Deno.version.deno,
    onnxruntime: ONNXRUNTIME_VERSION,
    providers,
    data: { root, exists: rootExists, datasets },
    models,
    detectors,
    jupyter: {
      python,
      jupyterClient: await hasJupyterClient(python),
      kernelRegistered: await kernelInstalled(),
    },
    chromium: findChromium(),
  };
}

/** The report as lines for a terminal. */
export function formatDoctor(r: DoctorReport): string[] {
  const yes = (b: boolean) => (b ? "yes" : "no");
  const lines = [`deno ${r.deno}, onnxruntime-node ${r.onnxruntime}`, "", "execution providers:"];
  for (const p of r.providers) {
    lines.push(`  ${p.provider.padEnd(7)} ${p.status}${p.reason ? `: ${p.reason}` : ""}`);
    const found = Object.entries(p.details).map(([k, v]) =>
      `${k} ${Array.isArray(v) ? (v.length ? v.join(", ") : "none") : v === null ? "none" : v}`
    );
    if (found.length) lines.push(`          found: ${found.join("; ")}`);
  }
  lines.push(
    "",
    `data root ${r.data.root}${r.data.exists ? "" : " (missing)"}: ${
      r.data.datasets.join(", ") || "no datasets"
    }`,
    `models: ${r.models.map((m) => `${m.id}${m.available ? "" : " (not set up)"}`).join(", ")}`,
    `face detectors: ${
      r.detectors.map((d) => `${d.id}${d.available ? "" : ` (missing: ${d.file})`}`).join(", ")
    }`,
    `jupyter: ${r.jupyter.python} with jupyter_client ${yes(r.jupyter.jupyterClient)}; ` +
      `kernel registered (deno task setup) ${yes(r.jupyter.kernelRegistered)}`,
    `chromium: ${r.chromium ?? "not found (report PNG/PDF checks need it)"}`,
  );
  return lines;
}
