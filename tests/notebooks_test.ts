/**
 * Every notebook is a test: notebooks/00-05 execute on the real Deno kernel over a fixture data
 * root and model registry built here (tests/fixture_root.ts), with a fresh cache, and must run
 * every cell without error and emit their findings. The no-data run checks the empty paths.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PROJECT_ROOT } from "../lib/config.ts";
import { RACY_MS } from "../lib/report/inputs.ts";
import { type BuildOptions, buildReport } from "../lib/report/site.ts";
import { writeFixtureData, writeFixtureModels } from "./fixture_root.ts";
import { withTempDir } from "./support.ts";

const NOTEBOOKS = join(PROJECT_ROOT, "notebooks");

/** Finding ids each notebook must emit on the fixture (model ids of tests/fixture_root.ts). */
const EXPECTED = [
  "datasets.imbalance.fer2013",
  "datasets.imbalance.ferplus",
  "datasets.imbalance.ckplus",
  "datasets.imbalance.expw",
  "datasets.fer2013-vs-ferplus.agreement",
  "datasets.fer2013-vs-ferplus.kappa",
  "cross.drop.tiny-a.fer2013-ckplus",
  "cross.drop.tiny-a.fer2013-expw",
  "cross.probe.tiny-a.expw-vs-fer2013",
  "cross.probe.tiny-a.ckplus-vs-fer2013",
  "minority.gap.tiny-a.fer2013",
  "minority.gap.tiny-b.fer2013",
  "agreement.models.ferplus",
  "agreement.humans.ferplus",
  "agreement.gap.ferplus",
  "fer2013cnn.neutral-recall.tiny-a",
  "fer2013cnn.neutral-recall.tiny-b",
  "pitfalls.labels.majority.affected",
  "pitfalls.metrics.baseline-accuracy",
  "pitfalls.calibration.max-ece",
];

Deno.test("notebooks 00-05 run on the kernel over a fixture data root and emit their findings", async () => {
  await withTempDir("ferkit-nb-fixture-", async (dir) => {
    const log: string[] = [];
    const data = join(dir, "data");
    const models = join(dir, "models");
    await writeFixtureData(data);
    await writeFixtureModels(models);
    await Deno.mkdir(join(dir, "splits"));
    // Files written less than RACY_MS ago make the input key racy (lib/report/inputs.ts): wait,
    // so that the second build below can find its inputs unchanged.
    await new Promise((r) => setTimeout(r, RACY_MS + 100));
    const opts: BuildOptions = {
      notebooksDir: NOTEBOOKS,
      outDir: join(dir, "site"),
      only: ["00", "01", "02", "03", "04", "05"],
      data,
      env: {
        FER_MODELS_DIR: models,
        FER_CACHE: join(dir, "cache"),
        FER_SPLITS_DIR: join(dir, "splits"),
      },
      log: (line) => log.push(line),
    };
    const res = await buildReport(opts);
    const slugs = res.executed;
    assert.deepEqual(slugs.filter((s) => /^0[0-5]-/.test(s)).length, 6, JSON.stringify(slugs));
    assert.deepEqual(res.failed, [], `failed: ${res.failed.join(", ")}\n${log.join("\n")}`);
    const ids = new Set(res.findings.map((f) => f.id));
    for (const id of EXPECTED) assert.ok(ids.has(id), `missing finding ${id}`);
    // FER2013 and FER+ hold the same faces: never a cross-dataset drop.
    assert.ok(
      ![...ids].some((id) => /^cross\.drop\..*(fer2013-ferplus|ferplus-fer2013)$/.test(id)),
    );
    for (const f of res.findings.filter((x) => EXPECTED.includes(x.id))) {
      assert.ok(f.value !== null && Number.isFinite(f.value), `${f.id}: ${f.value}`);
    }
    // Saliency ran for both tiny networks (mean maps as PNG on the page).
    const page = await Deno.readTextFile(join(dir, "site", "04-fer2013-cnn-saliency.html"));
    for (const m of ["tiny-a", "tiny-b"]) {
      assert.match(page, new RegExp(`${m} class-mean RISE maps`));
    }
    // Built again with nothing changed (the runs wrote nothing the key covers): every notebook
    // is reused, with the same findings and provenance, and no kernel starts.
    const summary = async () => {
      const s = JSON.parse(await Deno.readTextFile(join(dir, "site", "findings.json")));
      delete s.kit.generatedAt;
      return s;
    };
    const before = await summary();
    const again = await buildReport(opts);
    assert.deepEqual(again.executed, [], log.slice(-8).join("\n"));
    assert.equal(again.reused.length, 6);
    assert.deepEqual(await summary(), before);
  });
});

Deno.test("notebooks 00-05 without data or models: every cell runs and says what is missing", async () => {
  await withTempDir("ferkit-nb-empty-", async (dir) => {
    const log: string[] = [];
    await Deno.mkdir(join(dir, "models"));
    const res = await buildReport({
      notebooksDir: NOTEBOOKS,
      outDir: join(dir, "site"),
      only: ["00", "01", "02", "03", "04", "05"],
      data: join(dir, "no-such-data-root"),
      env: { FER_MODELS_DIR: join(dir, "models"), FER_CACHE: join(dir, "cache") },
      log: (line) => log.push(line),
    });
    assert.deepEqual(res.failed, [], `failed: ${res.failed.join(", ")}\n${log.join("\n")}`);
    const ours = res.findings.filter((f) => /^0[0-5]-/.test(f.notebook ?? ""));
    assert.ok(ours.length >= 5 && ours.every((f) => f.value === null), JSON.stringify(ours));
  });
});
