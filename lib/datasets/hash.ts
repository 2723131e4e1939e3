/**
 * Dataset identity: one SHA-256 over what makes a loaded dataset what it is, to key prediction
 * caches and to print in reports.
 */
import { createHash } from "node:crypto";
import type { Sample } from "../sample.ts";
import { type ContentOptions, sourceTags } from "./content.ts";

/** Version tag hashed first; bump when the recipe below changes. */
const HASH_VERSION = "fer-kit-dataset-hash-v2";

/**
 * SHA-256 (hex) of a sample list. Samples are sorted by id (UTF-16 code-unit order) and each
 * contributes one line `id \t label \t split \t source \t box \n`, where
 * - source is the image's content tag (lib/datasets/content.ts): `file:<sha256 hex of the file's
 *   bytes>` (`file:missing` when absent) or `pixels:<w>x<h>x<c>:<sha256 hex of the pixel bytes>`;
 * - box is `x,y,width,height` or `-`.
 * The text hashed starts with the line `fer-kit-dataset-hash-v2\n`. File paths, votes and groups
 * are not hashed, so moving the data root keeps the hash; changing any image's bytes changes it.
 */
export async function datasetHash(
  samples: readonly Sample[],
  opts: ContentOptions = {},
): Promise<string> {
  const sorted = samples.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const sources = await sourceTags(sorted.map((s) => s.source), opts);
  const h = createHash("sha256");
  h.update(HASH_VERSION + "\n");
  sorted.forEach((s, i) => {
    const box = s.box ? `${s.box.x},${s.box.y},${s.box.width},${s.box.height}` : "-";
    h.update(`${s.id}\t${s.label}\t${s.split}\t${sources[i]}\t${box}\n`);
  });
  return h.digest("hex");
}
