/**
 * Notebook 00's steps: what datasets are under the data root, how unbalanced each is, and how
 * often FER2013's original label equals the FER+ crowd's majority label on the same images.
 * Each step returns typed data plus the findings it implies; nothing here displays anything.
 */
import { exists } from "../fsutil.ts";
import {
  type DatasetSummary,
  findDatasets,
  type FoundDataset,
  loadDataset,
  summarizeDataset,
} from "../datasets/mod.ts";
import type { LoadedDataset } from "../datasets/types.ts";
import type { Finding } from "../findings.ts";
import { type ConfusionTable, confusionTable } from "../metrics/confusion_table.ts";
import { type BootstrapInterval, bootstrapInterval, cohenKappa } from "../metrics/mod.ts";
import { type Emotion, emotionIndex, EMOTIONS } from "../taxonomy.ts";
import type { Missing } from "./grid.ts";

/** The datasets found under a data root, loaded (all splits) and summarised. */
export interface DatasetInventory {
  root: string;
  found: FoundDataset[];
  loaded: LoadedDataset[];
  /** Found datasets that could not be loaded, with the reason. */
  failed: Missing[];
  summaries: DatasetSummary[];
}

/** Find, load and summarise every dataset under `root` (an absent root gives an empty list). */
export async function datasetsUnder(root: string): Promise<DatasetInventory> {
  const found = (await exists(root)) ? await findDatasets(root) : [];
  const loaded: LoadedDataset[] = [];
  const failed: Missing[] = [];
  for (const f of found) {
    try {
      loaded.push(await loadDataset(f.spec, { dataRoot: root }));
    } catch (e) {
      failed.push({ id: f.name, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  return { root, found, loaded, failed, summaries: loaded.map(summarizeDataset) };
}

/** One dataset's imbalance: largest class over smallest, on its training split (else all). */
export interface ImbalanceRow {
  name: string;
  split: "train" | "all";
  /** Largest / smallest class count; null when a class has no faces. */
  ratio: number | null;
  largest: Emotion;
  smallest: Emotion;
  counts: Partial<Record<Emotion, number>>;
}

/** Imbalance of every dataset, and one finding per dataset. */
export interface ImbalanceStudy {
  rows: ImbalanceRow[];
  findings: Finding[];
}

/** Imbalance ratios of the summarised datasets (a null finding when there is none). Pure. */
export function imbalanceRatios(summaries: readonly DatasetSummary[]): ImbalanceStudy {
  const rows = summaries.map((s): ImbalanceRow => {
    const part = s.splits.train ?? s.all;
    const counts = part.perClass;
    const classes = Object.keys(counts) as Emotion[];
    return {
      name: s.name,
      split: s.splits.train ? "train" : "all",
      ratio: part.imbalanceRatio,
      largest: classes.reduce((a, b) => counts[b]! > counts[a]! ? b : a),
      smallest: classes.reduce((a, b) => counts[b]! < counts[a]! ? b : a),
      counts,
    };
  });
  const findings = rows.map((r): Finding => ({
    id: `datasets.imbalance.${r.name}`,
    label: r.counts[r.largest] === r.counts[r.smallest]
      ? `Imbalance ratio of ${r.name} (${r.split}): every class the same size`
      : `Imbalance ratio of ${r.name} (${r.split}): ${r.largest} / ${r.smallest}`,
    value: r.ratio,
    digits: 1,
    unit: "×",
    group: "Datasets",
    note: r.ratio === null
      ? "a class has no faces"
      : `${r.counts[r.largest]} vs ${r.counts[r.smallest]} faces; exact count, no interval`,
  }));
  return {
    rows,
    findings: findings.length > 0 ? findings : [{
      id: "datasets.imbalance",
      label: "Imbalance ratios",
      value: null,
      group: "Datasets",
      note: "no data found",
    }],
  };
}

/** Resamples of the two intervals of compareLabels (κ is slower, so it gets fewer). */
export const LABEL_COMPARISON_BOOTSTRAP = {
  agreement: { resamples: 1000, seed: 0 },
  kappa: { resamples: 200, seed: 0 },
} as const;

/** Two label sources on the same images. */
export interface LabelComparison {
  /** Names of the two datasets ("fer2013", "ferplus"). */
  a: string;
  b: string;
  /** Images that carry both labels (0 when a dataset is missing). */
  images: number;
  /** Share of images whose two labels are equal, with a bootstrap interval; null when missing. */
  agreement: BootstrapInterval | null;
  /** Cohen's κ of the two labels, with a bootstrap interval; null when missing. */
  kappa: BootstrapInterval | null;
  /** Counts of label in `a` (rows) against label in `b` (columns). */
  transitions: ConfusionTable | null;
  /** Images of `b` left out by its label rule, per reason. */
  excludedB: Record<string, number>;
  bootstrap: typeof LABEL_COMPARISON_BOOTSTRAP;
  findings: Finding[];
}

/**
 * Compare the labels of dataset `a` with those of dataset `b` on the images both hold (same
 * sample ids): notebook 00's FER2013 against FER+. Missing datasets give null values and null
 * findings that say so.
 */
export function compareLabels(
  loaded: readonly LoadedDataset[],
  a = "fer2013",
  b = "ferplus",
): LabelComparison {
  const da = loaded.find((d) => d.name === a);
  const db = loaded.find((d) => d.name === b);
  const base = { a, b, bootstrap: LABEL_COMPARISON_BOOTSTRAP, excludedB: db?.excluded ?? {} };
  if (!da || !db) {
    return {
      ...base,
      images: 0,
      agreement: null,
      kappa: null,
      transitions: null,
      findings: [{
        id: "datasets.fer2013-vs-ferplus.agreement",
        label: "FER2013 original label equals the FER+ majority label",
        value: null,
        group: "Datasets",
        note: "FER2013 or FER+ not found under the data root",
      }],
    };
  }
  const labelB = new Map(db.samples.map((s) => [s.id, s.label]));
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of da.samples) {
    const l = labelB.get(s.id);
    if (l === undefined) continue;
    xs.push(emotionIndex(s.label));
    ys.push(emotionIndex(l));
  }
  const A = Int32Array.from(xs), B = Int32Array.from(ys);
  const agreement = bootstrapInterval(A.length, (idx) => {
    let same = 0;
    for (let i = 0; i < idx.length; i++) if (A[idx[i]] === B[idx[i]]) same++;
    return same / idx.length;
  }, LABEL_COMPARISON_BOOTSTRAP.agreement);
  const kappa = bootstrapInterval(A.length, (idx) => {
    const x = new Int32Array(idx.length), y = new Int32Array(idx.length);
    for (let i = 0; i < idx.length; i++) {
      x[i] = A[idx[i]];
      y[i] = B[idx[i]];
    }
    return cohenKappa(x, y);
  }, LABEL_COMPARISON_BOOTSTRAP.kappa);
  const transitions = confusionTable(
    xs.map((x, i) => ({ label: EMOTIONS[x], pred: EMOTIONS[ys[i]] })),
    { rows: da.classes, cols: db.classes, normalize: "true" },
  );
  return {
    ...base,
    images: A.length,
    agreement,
    kappa,
    transitions,
    findings: [
      {
        id: "datasets.fer2013-vs-ferplus.agreement",
        label: "FER2013 original label equals the FER+ majority label",
        value: agreement.estimate,
        ci: [agreement.lower, agreement.upper],
        unit: "share of images",
        group: "Datasets",
        note: `${A.length} images with both labels; bootstrap 95 % CI`,
      },
      {
        id: "datasets.fer2013-vs-ferplus.kappa",
        label: "Cohen's κ, FER2013 original vs FER+ majority label",
        value: kappa.estimate,
        ci: [kappa.lower, kappa.upper],
        unit: "κ",
        group: "Datasets",
        note: `bootstrap 95 % CI, ${LABEL_COMPARISON_BOOTSTRAP.kappa.resamples} resamples`,
      },
    ],
  };
}
