/**
 * Builds the GPU pack: one archive with everything a GPU machine without network access needs to
 * run the kit's models on FER2013 test on its GPU and on its CPU (bench/gpu/check.ts, started by
 * run.sh): the Deno binary, onnxruntime-node's Linux library and binding, the check bundled into
 * one file, the models, FER2013 test as raw 48 × 48 pixels, and Debian's Vulkan loader.
 *
 *   deno run -A bench/gpu/pack.ts [--densenet] [--out DIR] [--data DIR] [--test] [--reuse]
 *                                 [--record]
 *
 * Default: every registered model except DenseNet-121 (fer-kit-gpu.tar.xz); `--densenet`: a
 * second pack with DenseNet-121 alone (fer-kit-gpu-densenet.tar.xz: its card and 27 MB of weights,
 * which do not fit the 60 MiB limit beside the rest), unpacked over the first (both archives hold
 * the folder fer-kit-gpu/). `--test` unpacks the archive into a temporary folder
 * and runs it there on cpu (`run.sh --providers cpu`) with network-free settings. The archive
 * holds dataset images: it goes to bench/gpu/out/ (git-ignored), never into the repository.
 * `--reuse` takes an archive already in the output folder instead of building it again;
 * `--record` handles both packs and writes their sizes and the self-test's report to
 * bench/results/gpu.md.
 */
import { parseArgs } from "node:util";
import { basename, join } from "node:path";
import { PROJECT_ROOT } from "../../lib/config.ts";
import { listModels, loadCard } from "../../lib/models/registry.ts";
import { loadDataset } from "../../lib/datasets/mod.ts";
import { decodeImage } from "../../lib/image.ts";
import { ONNXRUNTIME_VERSION } from "../../lib/session.ts";
import { onnxruntimeLibDir } from "../../lib/doctor.ts";

/** Size limit of one pack, compressed. */
export const PACK_LIMIT_BYTES = 60 * 1024 * 1024;
const DENSENET = "densenet121-faceplugin";

async function sh(cmd: string, args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  if (out.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}): ${dec.decode(out.stderr)}`);
  }
  return dec.decode(out.stdout);
}

async function copyTree(from: string, to: string, keep: (rel: string) => boolean, rel = "") {
  for await (const e of Deno.readDir(join(from, rel))) {
    const r = join(rel, e.name);
    if (!keep(r)) continue;
    if (e.isDirectory) {
      await Deno.mkdir(join(to, r), { recursive: true });
      await copyTree(from, to, keep, r);
    } else if (e.isFile || e.isSymlink) {
      await Deno.mkdir(join(to, rel), { recursive: true });
      await Deno.copyFile(join(from, r), join(to, r));
    }
  }
}

/** Copy the registered models (DenseNet-121 alone, or all the others) into `stage/models`. */
async function stageModels(stage: string, densenet: boolean, notes: string[]): Promise<void> {
  await Deno.mkdir(join(stage, "models"), { recursive: true });
  for (const m of await listModels()) {
    if ((m.id === DENSENET) !== densenet) continue;
    if (!m.available) {
      notes.push(`${m.id} left out: its ONNX file is not set up (deno task setup)`);
      continue;
    }
    const model = await loadCard(m.id);
    await Deno.copyFile(model.onnxPath, join(stage, "models", `${m.id}.onnx`));
    const card = JSON.parse(await Deno.readTextFile(model.cardPath));
    await Deno.writeTextFile(
      join(stage, "models", `${m.id}.json`),
      JSON.stringify({ ...card, onnx: `${m.id}.onnx` }, null, 2) + "\n",
    );
  }
}

/** Stage the pack's files under `stage`; returns notes for the manifest. */
async function stagePack(stage: string, densenet: boolean, data?: string): Promise<string[]> {
  const notes: string[] = [];
  if (densenet) {
    // The add-on: DenseNet-121's card and weights only, unpacked over the main pack's folder.
    await stageModels(stage, true, notes);
    return notes;
  }
  // Deno itself
  await Deno.copyFile(Deno.execPath(), join(stage, "deno"));
  await Deno.chmod(join(stage, "deno"), 0o755);
  // onnxruntime-node (JS, the Linux x64 binding and library) and onnxruntime-common
  const ortSrc = await Deno.realPath(join(PROJECT_ROOT, "node_modules", "onnxruntime-node"));
  const libRel = onnxruntimeLibDir().slice(
    join(PROJECT_ROOT, "node_modules", "onnxruntime-node").length + 1,
  );
  await copyTree(
    ortSrc,
    join(stage, "node_modules", "onnxruntime-node"),
    (r) =>
      r === "package.json" || r === "dist" || r.startsWith("dist/") ||
      libRel.startsWith(r) || r.startsWith(libRel),
  );
  const common = await Deno.realPath(join(ortSrc, "..", "onnxruntime-common"));
  await copyTree(
    common,
    join(stage, "node_modules", "onnxruntime-common"),
    (r) => r === "package.json" || r === "dist" || r.startsWith("dist/"),
  );
  await Deno.writeTextFile(
    join(stage, "package.json"),
    JSON.stringify(
      {
        name: "fer-kit-gpu-check",
        private: true,
        type: "module",
        dependencies: { "onnxruntime-node": ONNXRUNTIME_VERSION },
      },
      null,
      2,
    ) + "\n",
  );
  // the check, bundled (the kit's engine and preprocessing inside), and its starter
  await sh(Deno.execPath(), [
    "bundle",
    "--quiet",
    "--platform",
    "deno",
    "--external",
    "onnxruntime-node",
    "-o",
    join(stage, "check.js"),
    join(PROJECT_ROOT, "bench", "gpu", "check.ts"),
  ], PROJECT_ROOT);
  await Deno.copyFile(join(PROJECT_ROOT, "bench", "gpu", "run.sh"), join(stage, "run.sh"));
  await Deno.chmod(join(stage, "run.sh"), 0o755);
  // models: cards next to their ONNX files
  await stageModels(stage, false, notes);
  // FER2013 test: raw 48 × 48 gray pixels and the labels
  const ds = await loadDataset("fer2013", { dataRoot: data, split: "test" });
  const n = ds.samples.length;
  const pixels = new Uint8Array(n * 48 * 48);
  const labels: string[] = [];
  for (const [i, s] of ds.samples.entries()) {
    const img = await decodeImage(s.source);
    if (img.width !== 48 || img.height !== 48 || img.channels !== 1) {
      throw new Error(`fer2013 test sample ${s.id}: expected 48 × 48 gray pixels`);
    }
    pixels.set(img.data, i * 48 * 48);
    labels.push(s.label ?? "");
  }
  await Deno.mkdir(join(stage, "data"));
  await Deno.writeFile(join(stage, "data", "fer2013-test.u8"), pixels);
  await Deno.writeTextFile(
    join(stage, "data", "fer2013-test.json"),
    JSON.stringify({ split: "test", n, width: 48, height: 48, labels }) + "\n",
  );
  // Debian's Vulkan loader, for machines that have the NVIDIA driver but no libvulkan1
  await Deno.mkdir(join(stage, "vulkan"));
  try {
    await sh("apt-get", ["download", "libvulkan1"], join(stage, "vulkan"));
  } catch (e) {
    notes.push(`libvulkan1 not carried (apt-get download failed: ${String(e).slice(0, 200)})`);
  }
  // CUDA provider files, when this checkout has them
  for (const f of ["libonnxruntime_providers_cuda.so", "libonnxruntime_providers_shared.so"]) {
    const from = join(onnxruntimeLibDir(), f);
    if (!(await Deno.stat(from).then(() => true, () => false))) {
      notes.push(`${f} not carried (not installed here): cuda will be unavailable`);
      continue;
    }
    await Deno.mkdir(join(stage, "cuda"), { recursive: true });
    await Deno.copyFile(from, join(stage, "cuda", f));
  }
  return notes;
}

async function sizeOf(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    out[e.name] = e.isDirectory
      ? Object.values(await sizeOf(p)).reduce((a, b) => a + b, 0)
      : (await Deno.stat(p)).size;
  }
  return out;
}

function manifestName(pack: string): string {
  return pack === "fer-kit-gpu"
    ? "MANIFEST.json"
    : `MANIFEST-${pack.slice("fer-kit-gpu-".length)}.json`;
}

/** Build one pack; returns its path, compressed size and the staged sizes per entry. */
export async function buildPack(opts: { densenet?: boolean; out?: string; data?: string }) {
  const out = opts.out ?? join(PROJECT_ROOT, "bench", "gpu", "out");
  const name = opts.densenet ? "fer-kit-gpu-densenet" : "fer-kit-gpu";
  const tmp = await Deno.makeTempDir({ prefix: "fer-kit-pack-" });
  try {
    // Both archives unpack into one folder, fer-kit-gpu/: the DenseNet-121 add-on merges in.
    const stage = join(tmp, "fer-kit-gpu");
    await Deno.mkdir(stage);
    const notes = await stagePack(stage, opts.densenet ?? false, opts.data);
    const staged = await sizeOf(stage);
    await Deno.writeTextFile(
      join(stage, manifestName(name)),
      JSON.stringify(
        {
          built: new Date().toISOString(),
          onnxruntime: ONNXRUNTIME_VERSION,
          deno: Deno.version.deno,
          staged,
          notes,
        },
        null,
        2,
      ) + "\n",
    );
    await Deno.mkdir(out, { recursive: true });
    const archive = join(out, `${name}.tar.xz`);
    await sh("sh", ["-c", `tar -C "${tmp}" -cf - fer-kit-gpu | xz -9 -T0 > "${archive}"`]);
    const size = (await Deno.stat(archive)).size;
    return { archive, size, staged, notes };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/**
 * Unpack `archive` into a temporary folder and run it on cpu there, with a bare environment
 * (no FER_* variables, an empty HOME and Deno cache): the CPU self-test of the pack.
 */
export async function testPack(archives: string[], extraArgs: string[] = []) {
  const tmp = await Deno.makeTempDir({ prefix: "fer-kit-pack-test-" });
  try {
    for (const a of archives) await sh("tar", ["-C", tmp, "-xJf", a]);
    const dir = join(tmp, "fer-kit-gpu");
    const t0 = performance.now();
    const run = await new Deno.Command(join(dir, "run.sh"), {
      args: ["--providers", "cpu", "--out", join(dir, "results"), ...extraArgs],
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", HOME: tmp },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const seconds = (performance.now() - t0) / 1000;
    const dec = new TextDecoder();
    if (run.code !== 0) {
      throw new Error(`run.sh failed (${run.code}): ${dec.decode(run.stderr).slice(-2000)}`);
    }
    return {
      seconds,
      gpuMd: await Deno.readTextFile(join(dir, "results", "gpu.md")),
      results: JSON.parse(await Deno.readTextFile(join(dir, "results", "results.json"))),
    };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** bench/results/gpu.md for a pack built and self-tested here (no GPU at hand). */
export function formatPackRecord(
  packs: { archive: string; size: number; staged: Record<string, number> }[],
  selfTest: { seconds: number; gpuMd: string; how: string } | undefined,
  notes: string[] = [],
): string {
  const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
  const lines = [
    "# GPU pack and check",
    "",
    "Built by `deno run -A bench/gpu/pack.ts` (docs/gpu.md). Limit: 60 MiB compressed per pack.",
    "",
    ...notes.flatMap((n) => [n, ""]),
    "| pack | compressed | unpacked parts |",
    "| --- | ---: | --- |",
    ...packs.map((p) =>
      `| ${basename(p.archive)} | ${mib(p.size)} | ${
        Object.entries(p.staged).map(([k, v]) => `${k} ${mib(v)}`).join(", ")
      } |`
    ),
    "",
  ];
  if (selfTest !== undefined && /No GPU provider ran/.test(selfTest.gpuMd)) {
    lines.push(
      "**No GPU figures**: the machine that built and tested this pack has no GPU (its check ran",
      "on CPU only). On a GPU machine, run the pack there (docs/gpu.md) and replace this file",
      "with the `gpu.md` it writes.",
      "",
    );
  }
  if (selfTest !== undefined) {
    lines.push(
      "## Self-test on this machine's CPU",
      "",
      `${selfTest.how}: ${selfTest.seconds.toFixed(1)} s in all, on a shared 2-core machine.`,
      "Its own report follows.",
      "",
      selfTest.gpuMd.replace(/^# GPU check\n/, "").trim(),
      "",
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      densenet: { type: "boolean", default: false },
      out: { type: "string" },
      data: { type: "string" },
      test: { type: "boolean", default: false },
      reuse: { type: "boolean", default: false },
      record: { type: "boolean", default: false },
    },
  });
  const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
  const out = values.out ?? join(PROJECT_ROOT, "bench", "gpu", "out");
  const names = values.record ? ["fer-kit-gpu", "fer-kit-gpu-densenet"] : [
    values.densenet ? "fer-kit-gpu-densenet" : "fer-kit-gpu",
  ];
  const packs = [];
  for (const name of names) {
    const archive = join(out, `${name}.tar.xz`);
    const densenet = name.endsWith("densenet");
    if (values.reuse && (await Deno.stat(archive).then(() => true, () => false))) {
      const staged = JSON.parse(
        await sh("sh", ["-c", `tar -xJOf "${archive}" "fer-kit-gpu/${manifestName(name)}"`]),
      ).staged as Record<string, number>;
      packs.push({ archive, size: (await Deno.stat(archive)).size, staged, notes: [] as string[] });
    } else {
      packs.push(await buildPack({ densenet, out: values.out, data: values.data }));
    }
  }
  let over = false;
  for (const p of packs) {
    console.log(`${p.archive}: ${mib(p.size)} compressed (limit ${mib(PACK_LIMIT_BYTES)})`);
    for (const [k, v] of Object.entries(p.staged)) console.log(`  ${k}: ${mib(v)} unpacked`);
    for (const n of p.notes) console.log(`  note: ${n}`);
    if (p.size > PACK_LIMIT_BYTES) {
      console.error(`pack: ${mib(p.size)} is over the ${mib(PACK_LIMIT_BYTES)} limit`);
      over = true;
    }
  }
  let selfTest;
  if (values.test) {
    // A quick self-test: a 90 s budget (models after it are listed as not run).
    selfTest = {
      ...await testPack(packs.map((p) => p.archive), ["--budget-s", "90"]),
      how: "Both packs unpacked into one temporary folder and run there with a bare environment " +
        "(`run.sh --providers cpu --budget-s 90`: cpu as the provider under test; runs that " +
        "would start after 90 s are listed as not run)",
    };
    console.log(`CPU self-test in a bare environment: ${selfTest.seconds.toFixed(1)} s`);
    console.log(selfTest.gpuMd);
  }
  if (values.record) {
    await Deno.writeTextFile(
      join(PROJECT_ROOT, "bench", "results", "gpu.md"),
      formatPackRecord(packs, selfTest),
    );
    console.log("recorded in bench/results/gpu.md");
  }
  if (over) Deno.exit(1);
}
