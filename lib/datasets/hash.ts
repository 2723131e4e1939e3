/**
 * Dataset identity: one SHA-256 over what makes a loaded dataset what it is, to key prediction
 * caches and to print in reports.
 */
import { createHash } from "node:crypto";
import type { Sample } from "../sample.ts";

/** Version tag hashed first; bump when the recipe below changes. */
const HASH_VERSION = "fer-kit-dataset-hash-v1";

/**
 * SHA-256 (hex) of a sample list. Samples are sorted by id (UTF-16 code-unit order) and each
 * contributes one line `id \t label \t split \t source \t box \n`, where
 * - source is `file:<size in bytes>` for a FileSource (size from stat, the bytes are not read)
 *   or `pixels:<w>x<h>x<c>:<sha256 hex of the pixel bytes>` for a PixelSource;
 * - box is `x,y,width,height` or `-`.
 * The text hashed starts with the line `fer-kit-dataset-hash-v1\n`. File paths, votes and groups
 * are not hashed, so moving the data root keeps the hash. A missing file hashes as `file:missing`.
 */
export async function datasetHash(samples: readonly Sample[]): Promise<string> {
  const sorted = samples.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const sources = await sourceTags(sorted);
  const h = createHash("sha256");
  h.update(HASH_VERSION + "\n");
  sorted.forEach((s, i) => {
    const box = s.box ? `${s.box.x},${s.box.y},${s.box.width},${s.box.height}` : "-";
    h.update(`${s.id}\t${s.label}\t${s.split}\t${sources[i]}\t${box}\n`);
  });
  return h.digest("hex");
}

/** The `source` field of each sample's hash line, stat-ing files with bounded concurrency. */
async function sourceTags(samples: readonly Sample[]): Promise<string[]> {
  const out = new Array<string>(samples.length);
  let next = 0;
  const worker = async () => {
    while (next < samples.length) {
      const i = next++;
      const src = samples[i].source;
      if (src.kind === "pixels") {
        const digest = createHash("sha256").update(src.data).digest("hex");
        out[i] = `pixels:${src.width}x${src.height}x${src.channels}:${digest}`;
      } else {
        try {
          out[i] = `file:${(await Deno.stat(src.path)).size}`;
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
          out[i] = "file:missing";
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(32, samples.length) }, worker));
  return out;
}
