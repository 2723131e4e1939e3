/**
 * bench/gpu/check.ts, the check the GPU pack runs, on a small pack built here: a gray model, a
 * few 48 × 48 images. On cpu as the provider under test it must agree exactly with its cpu
 * reference; a GPU provider that cannot start is reported with its reason, never replaced by cpu.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { formatCheck, runCheck } from "../bench/gpu/check.ts";
import { mulberry32 } from "../lib/random.ts";
import { randomBytes, withTempDir, writeRegionModel } from "./support.ts";

Deno.test("GPU check: cpu self-test agrees exactly; accuracy by hand; an absent GPU is reported", async () => {
  await withTempDir("fer-gpu-check-", async (dir) => {
    await Deno.mkdir(join(dir, "models"));
    await Deno.mkdir(join(dir, "data"));
    // happy = 6/256 · (sum of the left half's pixels) − 3; neutral = 0
    await writeRegionModel(join(dir, "models"), 48, (x) => x < 24, "gpu check test");
    const n = 20;
    const r = mulberry32(4);
    const pixels = new Uint8Array(n * 48 * 48);
    for (let i = 0; i < n; i++) {
      // half the images dark (neutral wins), half bright on the left (happy wins)
      const img = randomBytes(48 * 48, r).map((v) => (i % 2 === 0 ? v >> 6 : v));
      pixels.set(img, i * 48 * 48);
    }
    const labels = Array.from({ length: n }, (_, i) => (i < 15 ? "happy" : "neutral"));
    await Deno.writeFile(join(dir, "data", "fer2013-test.u8"), pixels);
    await Deno.writeTextFile(
      join(dir, "data", "fer2013-test.json"),
      JSON.stringify({ split: "test", n, width: 48, height: 48, labels }),
    );
    const res = await runCheck({
      pack: dir,
      providers: ["cpu", "webgpu"],
      batch: 8,
      budgetS: 120,
      log: () => {},
    });
    assert.equal(res.images, n);
    assert.equal(res.models.length, 1);
    const [ref, cpu, webgpu] = res.models[0].runs;
    assert.deepEqual([ref.provider, ref.reference, ref.status], ["cpu", true, "ok"]);
    assert.deepEqual([cpu.provider, cpu.status], ["cpu", "ok"]);
    assert.equal(cpu.top1AgreementWithCpu, 1);
    assert.equal(cpu.top1Disagreements, 0);
    assert.equal(cpu.maxProbabilityDifference, 0);
    assert.ok(cpu.imagesPerSecond! > 0);
    // accuracy by hand from the model's formula
    let hits = 0;
    for (let i = 0; i < n; i++) {
      let left = 0;
      for (let y = 0; y < 48; y++) {
        for (let x = 0; x < 24; x++) left += pixels[i * 2304 + y * 48 + x];
      }
      const happy = (6 / 256) * (left / 255) - 3 > 0;
      if ((happy ? "happy" : "neutral") === labels[i]) hits++;
    }
    assert.ok(Math.abs(ref.accuracy! - hits / n) < 1e-12, `${ref.accuracy} vs ${hits / n}`);
    assert.equal(webgpu.provider, "webgpu");
    if (webgpu.status === "ok") {
      assert.ok(webgpu.top1AgreementWithCpu! >= 0.95);
    } else {
      assert.equal(webgpu.status, "unavailable");
      assert.match(webgpu.reason ?? "", /"webgpu" is not available/);
      assert.match(formatCheck(res), /No GPU provider ran in this run/);
    }
    assert.match(formatCheck(res), /\| region-test \| cpu \(reference\) \| ok \|/);
  });
});
