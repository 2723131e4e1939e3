/**
 * What the kit knows about each registered dataset before it is at hand: where to get it, the
 * layout the kit expects under the data root (README.md's table, docs/datasets.md), and the
 * image counts its publishers give, to check a download against. Also the check itself
 * (`kit datasets --check`) and the message a user without data gets.
 */
import { join } from "node:path";
import { loadDataset, REGISTERED } from "./mod.ts";

/** One registered dataset's entry. */
export interface CatalogEntry {
  /** Registered name (the folder under the data root). */
  name: string;
  title: string;
  /** Where to get it. */
  source: string;
  /** The layout the kit expects in its folder. */
  layout: string;
  /**
   * Published number of labelled images (faces), all splits; null where the publishers' count
   * depends on the release.
   */
  published: number | null;
}

/** The registered datasets, in registry order. */
export const CATALOG: readonly CatalogEntry[] = [
  {
    name: "fer2013",
    title: "FER2013 (Goodfellow et al. 2013)",
    source: "Kaggle, 'Challenges in Representation Learning: Facial Expression Recognition'",
    layout: "fer2013.csv (emotion,pixels,Usage), or fer2013-original-labels.csv with the FER+ PNGs",
    published: 35887,
  },
  {
    name: "ferplus",
    title: "FER+ (Barsoum et al. 2016)",
    source: "github.com/microsoft/FERPlus (labels) applied to the FER2013 images",
    layout: "FER2013Train/, FER2013Valid/, FER2013Test/ with label.csv; fer2013new.csv",
    published: 35887,
  },
  {
    name: "ckplus",
    title: "CK+ (Lucey et al. 2010), 48x48 crops",
    source: "the CK+ authors (request form); the CK+48 crops",
    layout: "CK+48/<class>/S<subject>_<sequence>_<frame>.png",
    published: 981,
  },
  {
    name: "expw",
    title: "ExpW (Zhang et al. 2018)",
    source: "mmlab.ie.cuhk.edu.hk/projects/socialrelation (ExpW)",
    layout: "Images/*.jpg + label.lst (image face_id top left right bottom confidence label)",
    published: 91793,
  },
  {
    name: "rafdb",
    title: "RAF-DB basic (Li et al. 2017)",
    source: "whdeng.cn/RAF (request form)",
    layout: "EmoLabel/list_patition_label.txt + Image/aligned/<name>_aligned.jpg",
    published: 15339,
  },
  {
    name: "affectnet",
    title: "AffectNet (Mollahosseini et al. 2017)",
    source: "mohammadmahoor.com/affectnet (request form)",
    layout: "Manually_Annotated_file_lists/{training,validation}.csv + the image folders",
    published: null,
  },
];

/** What `kit datasets --check` says about one dataset. */
export interface DatasetCheck {
  name: string;
  folder: string;
  found: boolean;
  /** Labelled samples the kit loaded (found datasets). */
  samples?: number;
  published: number | null;
  /** Dataset content hash (lib/datasets/hash.ts, splits computed, not read from data/splits). */
  hash?: string;
  /** Why a present folder could not be loaded. */
  error?: string;
}

/** Check every registered dataset under `root` (see {@link DatasetCheck}). */
export async function checkDatasets(root: string): Promise<DatasetCheck[]> {
  const out: DatasetCheck[] = [];
  for (const c of CATALOG) {
    const folder = join(root, REGISTERED[c.name] ?? c.name);
    const present = await Deno.stat(folder).then((s) => s.isDirectory, () => false);
    if (!present) {
      out.push({ name: c.name, folder, found: false, published: c.published });
      continue;
    }
    try {
      const d = await loadDataset(c.name, { dataRoot: root, splitsDir: null });
      out.push({
        name: c.name,
        folder,
        found: true,
        samples: d.samples.length,
        published: c.published,
        hash: d.hash,
      });
    } catch (e) {
      out.push({
        name: c.name,
        folder,
        found: false,
        published: c.published,
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }
  return out;
}

/**
 * Lines naming, for each registered dataset (or those in `names`), its folder, where to get it
 * and its layout.
 */
export function whereToGetData(root: string, names?: readonly string[]): string[] {
  return CATALOG.filter((c) => names === undefined || names.includes(c.name)).flatMap((c) => [
    `  ${join(root, c.name)}/  ${c.title}: ${c.source}`,
    `      layout: ${c.layout}`,
  ]);
}
