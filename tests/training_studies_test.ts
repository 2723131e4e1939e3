/**
 * Notebook 04's training studies (lib/studies/training.ts) on the fixture data root with the
 * kit's own committed networks: every network and test set they use carries the provenance record
 * the report lists (and cites in references.bib), with the ONNX file's SHA-256 computed here.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { PROJECT_ROOT } from "../lib/config.ts";
import { loadDataset } from "../lib/datasets/mod.ts";
import { modelsWithRole } from "../lib/models/registry.ts";
import { taoSplitStudy, trainingSizeCurve } from "../lib/studies/training.ts";
import { writeFixtureData } from "./fixture_root.ts";
import { withTempDir } from "./support.ts";

async function onnxSha256(id: string): Promise<string> {
  const bytes = await Deno.readFile(join(PROJECT_ROOT, "models", `${id}.onnx`));
  return createHash("sha256").update(bytes).digest("hex");
}

Deno.test("training studies: each network and the Kaggle test split carry their provenance", async () => {
  await withTempDir("training-studies-", async (root) => {
    await writeFixtureData(root);
    const opts = { dataRoot: root, cache: false, resamples: 20 };
    const curve = await trainingSizeCurve(opts);
    const sizeIds = (await modelsWithRole("training-size")).map((m) => m.card.id).sort();
    assert.deepEqual(curve.map((p) => p.model).sort(), sizeIds);
    for (const p of curve) {
      assert.equal(p.provenance.kind, "model");
      assert.equal(p.provenance.id, p.model);
      assert.equal(p.provenance.sha256, await onnxSha256(p.model), p.model);
    }
    const tao = await taoSplitStudy(opts);
    const taoIds = (await modelsWithRole("tao-split")).map((m) => m.card.id).sort();
    assert.deepEqual(tao.models.map((m) => m.model).sort(), taoIds);
    for (const m of tao.models) assert.equal(m.provenance.sha256, await onnxSha256(m.model));
    const kaggle = await loadDataset("fer2013", {
      dataRoot: root,
      split: "test",
      fer2013Split: "kaggle",
    });
    const publicAndPrivate = (await loadDataset("fer2013", { dataRoot: root })).samples
      .filter((s) => s.split === "val" || s.split === "test").length;
    assert.equal(tao.n, publicAndPrivate);
    assert.deepEqual(tao.dataset, {
      kind: "dataset",
      id: "fer2013:test (kaggle split)",
      sha256: kaggle.hash,
      detail: `${publicAndPrivate} faces (${kaggle.format})`,
    });
  });
});
