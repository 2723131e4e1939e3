/**
 * A real single-node Slurm (Debian's slurm-wlm and munge), started for this file and stopped
 * after it: the engine alone, then deploy/slurm/submit.sh running `kit predict` and
 * `kit saliency --dataset` in 3 shards over CK+ test with mini-xception, merging and verifying,
 * against unsharded runs. Where Slurm cannot start here, or the data or model are missing, the
 * tests are reported as ignored with the reason.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cacheRoot, dataRoot, PROJECT_ROOT } from "../lib/config.ts";
import { loadCard } from "../lib/models/registry.ts";
import { type LocalSlurm, sbatch, startLocalSlurm, waitForJobs } from "./slurm_local.ts";
import { kitCommand, pathExists } from "./support.ts";

/** A job's log file in `runDir`, or "(no log)". */
async function readLog(runDir: string, name: string): Promise<string> {
  return await Deno.readTextFile(join(runDir, name)).catch(() => "(no log)");
}

/**
 * Wait for array job `array` (tasks 0-2) and job `after`; every one must end COMPLETED with exit
 * 0, else the failure message shows the `logs` files of `runDir` (or the job ids without them).
 * Ids are compared as sorted strings on both sides ("10" sorts before "9_0").
 */
async function assertAllCompleted(
  slurm: LocalSlurm,
  array: string,
  after: string,
  timeoutMs: number,
  logs?: { runDir: string; names: string[] },
): Promise<void> {
  const ends = await waitForJobs(slurm, [array, after], timeoutMs);
  const message = logs === undefined
    ? `array ${array}, then job ${after}`
    : `logs:\n${(await Promise.all(logs.names.map((n) => readLog(logs.runDir, n)))).join("\n")}`;
  assert.deepEqual(
    ends.map((e) => [e.id, e.state, e.exitCode]).sort(),
    [
      [`${array}_0`, "COMPLETED", "0:0"],
      [`${array}_1`, "COMPLETED", "0:0"],
      [`${array}_2`, "COMPLETED", "0:0"],
      [after, "COMPLETED", "0:0"],
    ].sort(),
    message,
  );
}

const start = await startLocalSlurm();
const why = start.ok ? "" : ` (ignored: Slurm cannot start here: ${start.reason})`;
if (!start.ok) console.error(`slurm_test: Slurm cannot start here: ${start.reason}`);

const MODEL = "mini-xception-fer2013";
/** Why the sharded prediction test cannot run here ("" when it can). */
async function predictionBlocker(): Promise<string> {
  if (!start.ok) return `Slurm cannot start here: ${start.reason}`;
  if (!(await pathExists(join(dataRoot(), "ckplus")))) {
    return `no CK+ under the data root ${dataRoot()} (set FER_DATA)`;
  }
  try {
    await loadCard(MODEL);
  } catch (e) {
    return `model ${MODEL} not ready (${e instanceof Error ? e.message : e}); run ./fer-kit setup`;
  }
  return "";
}
const blocker = await predictionBlocker();
if (blocker !== "" && start.ok) console.error(`slurm_test: ${blocker}`);

/**
 * Stop the cluster when the last test that runs has finished (with a test filter, the unload
 * handler of tests/slurm_local.ts stops it).
 */
let testsLeft = (start.ok ? 1 : 0) + (blocker === "" ? 2 : 0);
async function stopAfterLastTest(): Promise<void> {
  if (--testsLeft === 0 && start.ok) await start.slurm.stop();
}

Deno.test({
  name: `slurm: an array job of 3 tasks and a job that depends on it all run${why}`,
  ignore: !start.ok,
  sanitizeResources: false,
  fn: async () => {
    if (!start.ok) return;
    const slurm = start.slurm;
    try {
      const out = join(slurm.dir, "out");
      await Deno.mkdir(out);
      const array = await sbatch(slurm, [
        "--array=0-2",
        `--output=${out}/task-%a.log`,
        "--wrap",
        `echo "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" > ${out}/shard-$SLURM_ARRAY_TASK_ID`,
      ]);
      const after = await sbatch(slurm, [
        `--dependency=afterok:${array}`,
        `--output=${out}/merge.log`,
        "--wrap",
        `cat ${out}/shard-0 ${out}/shard-1 ${out}/shard-2 > ${out}/merged`,
      ]);
      await assertAllCompleted(slurm, array, after, 60_000);
      assert.equal(await Deno.readTextFile(join(out, "merged")), "0/3\n1/3\n2/3\n");
    } finally {
      await stopAfterLastTest();
    }
  },
});

Deno.test({
  name: `slurm: submit.sh runs kit predict in 3 shards over CK+ test, merges and verifies; the ` +
    `predictions file equals the unsharded run byte for byte` +
    (blocker === "" ? "" : ` (ignored: ${blocker})`),
  ignore: blocker !== "",
  sanitizeResources: false,
  fn: async () => {
    if (!start.ok) return;
    const slurm = start.slurm;
    const work = join(slurm.dir, "kit");
    try {
      // A cache of its own (models linked from the kit's cache), so the merge writes nowhere else.
      const cache = join(work, "cache");
      await Deno.mkdir(cache, { recursive: true });
      await Deno.symlink(join(cacheRoot(), "models"), join(cache, "models"));
      const runDir = join(work, "run");
      const env = {
        ...slurm.env,
        FER_DATA: dataRoot(),
        FER_CACHE: cache,
        RUN_DIR: runDir,
        FER_KIT: PROJECT_ROOT,
      };
      const submit = await new Deno.Command("bash", {
        args: [join(PROJECT_ROOT, "deploy/slurm/submit.sh"), MODEL, "ckplus", "3", "test"],
        env,
        cwd: work,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const submitted = new TextDecoder().decode(submit.stdout);
      assert.equal(submit.code, 0, new TextDecoder().decode(submit.stderr));
      const [array, merge] = submitted.trim().split("\n").at(-1)!.split(" ");

      // Meanwhile, the unsharded reference run, outside Slurm, with a cache of its own.
      const full = join(work, "full.csv");
      const ref = await kitCommand([
        "predict",
        "--model",
        MODEL,
        "--dataset",
        "ckplus",
        "--split",
        "test",
        "--cache-dir",
        join(work, "full-cache"),
        "--out",
        full,
        "--quiet",
      ], { env: { FER_CACHE: cache } }).output();
      assert.equal(ref.code, 0, new TextDecoder().decode(ref.stderr));

      const log = (name: string) => readLog(runDir, name);
      await assertAllCompleted(slurm, array, merge, 240_000, {
        runDir,
        names: ["predict-0.log", "merge.log"],
      });
      const mergeLog = await log("merge.log");
      assert.match(mergeLog, /cache merge: 3 source\(s\)/);
      assert.match(mergeLog, /cache verify: .* 0 problem\(s\); .*: (\d+) of \1 images present/);
      assert.match(mergeLog, /from cache, 0 inferred/);
      // Each shard wrote its own part; together they hold every row once.
      const parts = [0, 1, 2].map((i) => join(runDir, "parts", `part-${i}-of-3.csv`));
      const rows = (text: string) => text.trimEnd().split("\n").slice(1);
      const partRows = (await Promise.all(parts.map((p) => Deno.readTextFile(p)))).flatMap(rows);
      const fullText = await Deno.readTextFile(full);
      assert.deepEqual(partRows.slice().sort(), rows(fullText).sort());
      assert.ok(rows(fullText).length > 50, "CK+ test has about 100 faces");
      // The merged run's predictions file equals the unsharded one, byte for byte.
      assert.deepEqual(
        await Deno.readFile(join(runDir, "predictions.csv")),
        await Deno.readFile(full),
      );
    } finally {
      await stopAfterLastTest();
    }
  },
});

/** The kit's cache for one test: a folder of its own, the models linked from the kit's cache. */
async function ownCache(dir: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.symlink(join(cacheRoot(), "models"), join(dir, "models"));
  return dir;
}

/** Every file of a folder: name → bytes. */
async function folderFiles(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) out.set(e.name, await Deno.readFile(join(dir, e.name)));
  }
  return out;
}

Deno.test({
  name: `slurm: submit.sh --saliency runs kit saliency --dataset in 3 shards over CK+ test; the ` +
    `final run reads every map from the merged cache and writes the unsharded files byte for byte` +
    (blocker === "" ? "" : ` (ignored: ${blocker})`),
  ignore: blocker !== "",
  sanitizeResources: false,
  fn: async () => {
    if (!start.ok) return;
    const slurm = start.slurm;
    const work = join(slurm.dir, "kit-saliency");
    try {
      const cache = await ownCache(join(work, "cache"));
      const runDir = join(work, "run");
      const settings = "--sampling random --limit 12 --n 60 --faithfulness --steps 8 --per-class 1";
      const env = {
        ...slurm.env,
        FER_DATA: dataRoot(),
        FER_CACHE: cache,
        RUN_DIR: runDir,
        FER_KIT: PROJECT_ROOT,
        SALIENCY_ARGS: settings,
      };
      const submit = await new Deno.Command("bash", {
        args: [
          join(PROJECT_ROOT, "deploy/slurm/submit.sh"),
          "--saliency",
          MODEL,
          "ckplus",
          "3",
          "test",
        ],
        env,
        cwd: work,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(submit.code, 0, new TextDecoder().decode(submit.stderr));
      const [array, merge] = new TextDecoder().decode(submit.stdout).trim().split("\n").at(-1)!
        .split(" ");

      // Meanwhile, the unsharded reference run, outside Slurm, with caches of its own.
      const full = join(work, "full");
      const ref = await kitCommand([
        "saliency",
        "--model",
        MODEL,
        "--dataset",
        "ckplus",
        "--split",
        "test",
        "--out",
        full,
        ...settings.split(" "),
      ], { env: { FER_CACHE: await ownCache(join(work, "full-cache")) } }).output();
      assert.equal(ref.code, 0, new TextDecoder().decode(ref.stderr));

      const log = (name: string) => readLog(runDir, name);
      await assertAllCompleted(slurm, array, merge, 300_000, {
        runDir,
        names: ["saliency-0.log", "merge.log"],
      });
      const shardFaces = [];
      for (const i of [0, 1, 2]) {
        const m = /shard \d\/3: (\d+) of 12 faces/.exec(await log(`saliency-${i}.log`));
        assert.ok(m, await log(`saliency-${i}.log`));
        shardFaces.push(Number(m[1]));
      }
      assert.equal(shardFaces.reduce((a, b) => a + b, 0), 12);
      const mergeLog = await log("merge.log");
      assert.match(mergeLog, /cache merge: 3 source\(s\)/);
      assert.match(mergeLog, /cache verify: .* 0 problem\(s\)/);
      assert.match(mergeLog, /\d+ maps and curves from cache, 0 computed/);
      const want = await folderFiles(full);
      const got = await folderFiles(join(runDir, "saliency"));
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
      assert.ok(want.has("faithfulness.json"));
      for (const [name, bytes] of want) assert.deepEqual(got.get(name), bytes, `${name} differs`);
    } finally {
      await stopAfterLastTest();
    }
  },
});
