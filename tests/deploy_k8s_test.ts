/**
 * deploy/k8s/predict-job.yaml without a cluster (`kubectl apply --dry-run=client` needs an API
 * server): the Kubernetes API schema check of deploy/k8s/validate.ts, which must also catch
 * broken manifests; the structure the run depends on; and the containers' own scripts run here
 * as Kubernetes would run them (index by index, then the merge), on a built dataset and model.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PROJECT_ROOT } from "../lib/config.ts";
import { encodePng } from "../lib/image.ts";
import { mulberry32 } from "../lib/random.ts";
import { type ManifestDoc, parseManifest, validateManifestFile } from "../deploy/k8s/validate.ts";
import { kitCommand, randomBytes, withTempDir, writeRegionModel } from "./support.ts";

const MANIFEST = join(PROJECT_ROOT, "deploy/k8s/predict-job.yaml");

// deno-lint-ignore no-explicit-any
type Json = any;

async function docs(): Promise<ManifestDoc[]> {
  return parseManifest(await Deno.readTextFile(MANIFEST), MANIFEST);
}

function find(all: ManifestDoc[], kind: string, name: string): Json {
  const d = all.find((x) => x.kind === kind && x.name === name);
  assert.ok(d, `${kind} ${name} in the manifest`);
  return d.value;
}

/** The bash script a container runs (`command: [/bin/bash, -c]`, `args: [script]`). */
function script(container: Json): string {
  assert.deepEqual(container.command, ["/bin/bash", "-c"]);
  assert.equal(container.args.length, 1);
  return container.args[0];
}

Deno.test("k8s: predict-job.yaml passes the Kubernetes API schema check", async () => {
  assert.deepEqual(await validateManifestFile(MANIFEST), []);
});

Deno.test("k8s: the schema check catches an unknown field, a bad enum and a missing name", async () => {
  await withTempDir("fer-k8s-", async (dir) => {
    const text = (await Deno.readTextFile(MANIFEST))
      .replace("completionMode: Indexed", "completionMode: Indexd")
      .replace("mountPath: /shared\n", "mountPath: /shared\n              readonly: true\n")
      .replace("- name: merge\n          image:", "- image:");
    const file = join(dir, "broken.yaml");
    await Deno.writeTextFile(file, text);
    const problems = (await validateManifestFile(file)).join("\n");
    assert.match(problems, /\(Job fer-kit-predict\): .*completionMode must be equal to one of/);
    assert.match(problems, /'"readonly"' does not exist in type 'IVolumeMount'/);
    assert.match(problems, /\(Job fer-kit-merge\): .*must have required property name/);
    await Deno.writeTextFile(file, "kind: Job\n  bad: [indent\n");
    await assert.rejects(validateManifestFile(file), new RegExp(`${file}:\\d+: `));
  });
});

Deno.test("k8s: an Indexed Job of SHARDS pods, each --shard JOB_COMPLETION_INDEX/SHARDS, and a merge Job on the same volume", async () => {
  const all = await docs();
  const run = find(all, "ConfigMap", "fer-kit-run").data;
  const predict = find(all, "Job", "fer-kit-predict");
  const merge = find(all, "Job", "fer-kit-merge");
  const claim = find(all, "PersistentVolumeClaim", "fer-kit-shared");
  assert.deepEqual(claim.spec.accessModes, ["ReadWriteMany"]);
  assert.equal(predict.spec.completionMode, "Indexed");
  assert.equal(predict.spec.completions, Number(run.SHARDS));
  assert.ok(predict.spec.parallelism <= predict.spec.completions);
  for (const job of [predict, merge]) {
    const pod = job.spec.template.spec;
    assert.equal(pod.restartPolicy, "Never");
    assert.deepEqual(pod.volumes, [
      { name: "shared", persistentVolumeClaim: { claimName: "fer-kit-shared" } },
    ]);
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      assert.deepEqual(c.envFrom, [{ configMapRef: { name: "fer-kit-run" } }]);
      assert.deepEqual(c.volumeMounts, [{ name: "shared", mountPath: "/shared" }]);
      const check = await new Deno.Command("bash", { args: ["-n", "-c", script(c)] }).output();
      assert.equal(check.code, 0, `bash -n: ${new TextDecoder().decode(check.stderr)}`);
    }
  }
  const p = script(predict.spec.template.spec.containers[0]);
  assert.match(p, /i=\$JOB_COMPLETION_INDEX/);
  assert.match(p, /--shard "\$i\/\$SHARDS" --cache-dir "\$RUN_DIR\/shard-\$i"/);
  for (const key of ["MODEL", "DATASET", "SHARDS", "RUN_DIR", "FER_DATA", "FER_CACHE"]) {
    assert.equal(typeof run[key], "string", `ConfigMap sets ${key}`);
  }
});

Deno.test("k8s: the containers' scripts, run here index by index and then the merge, give the unsharded predictions", async () => {
  await withTempDir("fer-k8s-run-", async (dir) => {
    const data = join(dir, "data");
    const r = mulberry32(3);
    for (const cls of ["happy", "neutral"]) {
      await Deno.mkdir(join(data, cls), { recursive: true });
      for (let i = 0; i < 6; i++) {
        const png = await encodePng({
          data: randomBytes(256, r),
          width: 16,
          height: 16,
          channels: 1,
        });
        await Deno.writeFile(join(data, cls, `${i}.png`), png);
      }
    }
    const { card } = await writeRegionModel(dir, 8, (x) => x < 4, "left half");
    const all = await docs();
    const env = {
      ...find(all, "ConfigMap", "fer-kit-run").data,
      MODEL: card,
      DATASET: data,
      SPLIT: "",
      RUN_DIR: join(dir, "run"),
      FER_KIT: PROJECT_ROOT,
      FER_DATA: data,
      FER_CACHE: join(dir, "cache"),
    };
    const runScript = async (s: string, extra: Record<string, string> = {}) => {
      const out = await new Deno.Command("bash", {
        args: ["-c", s],
        cwd: PROJECT_ROOT, // the containers' workingDir: the checkout
        env: { ...env, ...extra },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      assert.equal(out.code, 0, dec.decode(out.stderr) + dec.decode(out.stdout));
      return dec.decode(out.stdout);
    };
    const predictPod = find(all, "Job", "fer-kit-predict").spec.template.spec;
    const mergePod = find(all, "Job", "fer-kit-merge").spec.template.spec;
    for (let i = 0; i < Number(env.SHARDS); i++) {
      await runScript(script(predictPod.containers[0]), { JOB_COMPLETION_INDEX: String(i) });
    }
    await runScript(script(mergePod.initContainers[0])); // returns once every shard is done
    const log = await runScript(script(mergePod.containers[0]));
    assert.match(log, /cache merge: 3 source\(s\)/);
    assert.match(log, /12 of 12 images present/);
    assert.match(log, /12 from cache, 0 inferred/);

    const full = join(dir, "full.csv");
    const ref = await kitCommand([
      "predict",
      "--model",
      card,
      "--dataset",
      data,
      "--cache-dir",
      join(dir, "full-cache"),
      "--out",
      full,
      "--quiet",
    ], { env: { FER_CACHE: join(dir, "cache") } }).output();
    assert.equal(ref.code, 0, new TextDecoder().decode(ref.stderr));
    assert.deepEqual(
      await Deno.readFile(join(dir, "run", "predictions.csv")),
      await Deno.readFile(full),
    );
  });
});
