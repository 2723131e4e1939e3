/**
 * `kit doctor --json` on this machine: versions, each provider with its status (a real session)
 * and a reason when unavailable, the datasets and models found, checked against the kit's own
 * listings and onnxruntime itself.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import type { DoctorReport } from "../lib/doctor.ts";
import { findDatasets } from "../lib/datasets/mod.ts";
import { listModels } from "../lib/models/registry.ts";
import { dataRoot } from "../lib/config.ts";
import { kitCommand } from "./support.ts";

Deno.test("kit doctor --json: versions, every provider with status and reason, data and models", async () => {
  const out = await kitCommand(["doctor", "--json"]).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const r = JSON.parse(new TextDecoder().decode(out.stdout)) as DoctorReport;
  assert.equal(r.deno, Deno.version.deno);
  assert.equal(r.onnxruntime, ort.env.versions.node);
  assert.deepEqual(r.providers.map((p) => p.provider), ["cpu", "webgpu", "cuda"]);
  assert.equal(r.providers[0].status, "ok");
  for (const p of r.providers) {
    assert.ok(p.status === "ok" || p.status === "unavailable", `${p.provider}: ${p.status}`);
    if (p.status === "unavailable") {
      assert.ok((p.reason ?? "").length > 10, `${p.provider}: a reason`);
      assert.ok((p.error ?? "").length > 0, `${p.provider}: onnxruntime's error`);
    }
  }
  // The verdict agrees with onnxruntime itself: a session on webgpu loads exactly when "ok".
  const webgpu = r.providers[1];
  assert.equal(typeof webgpu.details.vulkanLoader, "boolean");
  let loads = true;
  try {
    await (await ort.InferenceSession.create(
      Deno.readFileSync(new URL("../models/fer2013-simplecnn.onnx", import.meta.url)),
      { executionProviders: ["webgpu"], logSeverityLevel: 4 },
    )).release();
  } catch {
    loads = false;
  }
  assert.equal(webgpu.status === "ok", loads);
  if (!webgpu.details.vulkanLoader) assert.match(webgpu.reason ?? "", /libvulkan/);
  const cuda = r.providers[2];
  if (cuda.status === "unavailable" && cuda.details.providerLibrary === false) {
    assert.match(cuda.reason ?? "", /libonnxruntime_providers_cuda\.so/);
  }
  assert.equal(r.data.root, dataRoot());
  assert.deepEqual(r.data.datasets, (await findDatasets(dataRoot())).map((d) => d.name));
  assert.deepEqual(
    r.models,
    (await listModels()).map((m) => ({ id: m.id, available: m.available })),
  );
  assert.equal(r.detectors.length, 2);
});

Deno.test("kit doctor prints one line per provider; --provider is taken before it", async () => {
  const out = await kitCommand(["doctor", "--provider", "cpu"]).output();
  assert.equal(out.code, 0);
  const text = new TextDecoder().decode(out.stdout);
  for (const p of ["cpu", "webgpu", "cuda"]) {
    assert.match(text, new RegExp(`^  ${p}\\s+(ok|unavailable: .+)$`, "m"));
  }
  assert.match(text, /^data root /m);
});
