/**
 * `deno task kit datasets [--data DIR] [--json] [--check-images] [--write-splits]`: every dataset
 * found under the data root, with its format, samples per split and per class, imbalance ratio,
 * excluded records and unreadable files.
 */
import { join } from "node:path";
import { dataRoot } from "../config.ts";
import { flag, noPositionals, parseArgs, str, UsageError, usageExit } from "./args.ts";
import {
  checkImages,
  FER2013_SPLITS,
  type Fer2013Split,
  type FerplusLabelRule,
  findDatasets,
  loadDataset,
  type LoadedDataset,
  SPLITS_DIR,
  writeSplitManifest,
} from "../datasets/mod.ts";
import { type DatasetSummary, type SplitCounts, summarizeDataset } from "../datasets/summary.ts";
import { checkDatasets, whereToGetData } from "../datasets/catalog.ts";
import { InputError } from "../errors.ts";

/** One-line description for `deno task kit --help`. */
export const summary =
  "list the datasets under the data root: splits, classes, imbalance, exclusions";

const USAGE = `usage: deno task kit datasets [options]

  --data DIR            data root (default: $FER_DATA, else data/raw)
  --json                print JSON instead of tables
  --check-images        decode every image; list the unreadable ones
  --check               for each registered dataset: found or not, samples loaded against the
                        publishers' count, content hash, and where to get the missing ones
  --write-splits        write the kit's ExpW and CK+ split manifests (id,split) to data/splits/
  --splits-dir DIR      folder of the split manifests (default data/splits)
  --ferplus-label RULE  majority (default), plurality, or atleast:K
  --fer2013-split S     default (Training / PublicTest / PrivateTest = train / val / test) or
                        kaggle (test = the Kaggle test folder: PublicTest + PrivateTest, Tao 2023)`;

/** Datasets whose splits the kit defines and saves. */
const KIT_SPLIT_DATASETS = ["expw", "ckplus"];

/** Parse a --fer2013-split value. */
export function parseFer2013Split(v: string): Fer2013Split {
  const s = FER2013_SPLITS.find((k) => k === v);
  if (s === undefined) {
    throw new UsageError(`--fer2013-split must be ${FER2013_SPLITS.join(" or ")} (got "${v}")`);
  }
  return s;
}

/** Parse a --ferplus-label value. */
export function parseFerplusRule(v: string): FerplusLabelRule {
  if (v === "majority" || v === "plurality") return v;
  const m = /^at-?least:(\d+)$/i.exec(v);
  if (m) return { atLeast: Number(m[1]) };
  throw new UsageError(`--ferplus-label must be majority, plurality or atleast:K (got "${v}")`);
}

/** The JSON `kit datasets --json` prints. */
export interface DatasetsReport {
  dataRoot: string;
  ferplusLabel: FerplusLabelRule;
  fer2013Split: Fer2013Split;
  datasets: DatasetSummary[];
  errors: { name: string; error: string }[];
  written?: string[];
}

/** Runs `kit datasets`; returns the exit code (0 ok, 1 a dataset failed to load, 2 usage). */
export async function run(args: string[]): Promise<number> {
  let p;
  let rule: FerplusLabelRule = "majority";
  let fer2013Split: Fer2013Split = "default";
  try {
    p = parseArgs(args, {
      data: { type: "string" },
      json: { type: "boolean" },
      "check-images": { type: "boolean" },
      check: { type: "boolean" },
      "write-splits": { type: "boolean" },
      "splits-dir": { type: "string" },
      "ferplus-label": { type: "string" },
      "fer2013-split": { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    noPositionals(p);
    const r = str(p, "ferplus-label");
    if (r !== undefined) rule = parseFerplusRule(r);
    const fs = str(p, "fer2013-split");
    if (fs !== undefined) fer2013Split = parseFer2013Split(fs);
  } catch (e) {
    return usageExit(e, USAGE);
  }
  if (flag(p, "help")) {
    console.log(USAGE);
    return 0;
  }
  const root = dataRoot(str(p, "data"));
  const splitsDir = str(p, "splits-dir") ?? SPLITS_DIR;
  const report: DatasetsReport = {
    dataRoot: root,
    ferplusLabel: rule,
    fer2013Split,
    datasets: [],
    errors: [],
  };

  if (flag(p, "check")) return await checkCommand(root, flag(p, "json"));
  const found = await findDatasets(root);
  if (found.length === 0) {
    throw new InputError(
      `no datasets found under ${root}`,
      ["set --data or FER_DATA, or put datasets there:", ...whereToGetData(root)].join("\n"),
    );
  }
  if (flag(p, "write-splits")) {
    report.written = [];
    for (const f of found.filter((f) => KIT_SPLIT_DATASETS.includes(f.name))) {
      try {
        const d = await loadDataset(f.spec, { dataRoot: root, splitsDir: null });
        if (d.unreadable.length > 0) {
          throw new Error(
            `${d.unreadable.length} image(s) missing (e.g. ${d.unreadable[0].file}); ` +
              "splits are written for complete datasets only",
          );
        }
        const file = join(splitsDir, `${f.name}.csv`);
        await writeSplitManifest(file, d.samples);
        report.written.push(file);
      } catch (e) {
        report.errors.push({ name: f.name, error: `write splits: ${errorText(e)}` });
      }
    }
  }
  const decoded = new Map<string, string | null>();
  for (const f of found) {
    try {
      let d: LoadedDataset = await loadDataset(f.spec, {
        dataRoot: root,
        splitsDir,
        ferplusLabel: rule,
        fer2013Split,
      });
      if (flag(p, "check-images")) {
        const bad = await checkImages(d.samples, decoded);
        if (bad.length > 0) {
          const badFiles = new Set(bad.map((u) => u.file));
          d = {
            ...d,
            samples: d.samples.filter((s) =>
              s.source.kind !== "file" || !badFiles.has(s.source.path)
            ),
            unreadable: [...d.unreadable, ...bad],
          };
        }
      }
      report.datasets.push(summarizeDataset(d));
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      report.errors.push({ name: f.name, error: errorText(e) });
    }
  }
  if (flag(p, "json")) console.log(JSON.stringify(report, null, 2));
  else console.log(formatReport(report, flag(p, "check-images")));
  return report.errors.length > 0 ? 1 : 0;
}

/** `kit datasets --check`: one line per registered dataset; exit 1 when none is found. */
async function checkCommand(root: string, json: boolean): Promise<number> {
  const checks = await checkDatasets(root);
  if (json) console.log(JSON.stringify({ dataRoot: root, datasets: checks }, null, 2));
  else {
    console.log(`data root: ${root}`);
    for (const c of checks) {
      const published = c.published === null
        ? "no single published count"
        : `published ${n(c.published)}`;
      if (c.found) {
        console.log(
          `  ${c.name.padEnd(10)} found      ${
            n(c.samples ?? 0)
          } labelled samples (${published})  ` +
            `hash ${c.hash?.slice(0, 16)}`,
        );
      } else if (c.error !== undefined) {
        console.log(`  ${c.name.padEnd(10)} unreadable ${c.error}`);
      } else console.log(`  ${c.name.padEnd(10)} not found  (${c.folder})`);
    }
    const missing = checks.filter((c) => !c.found).map((c) => c.name);
    if (missing.length > 0) {
      console.log("\nwhere to get them and the layout the kit expects:");
      for (const l of whereToGetData(root, missing)) console.log(l);
    }
  }
  return checks.some((c) => c.found) ? 0 : 1;
}

/** Thousands separators. */
function n(v: number): string {
  return v.toLocaleString("en-US");
}

function ratio(r: number | null): string {
  return r === null ? "n/a" : r.toFixed(1);
}

/** Plain-text tables of a report. */
export function formatReport(report: DatasetsReport, checked: boolean): string {
  const out: string[] = [`data root: ${report.dataRoot}`];
  if (report.written) { for (const w of report.written) out.push(`wrote ${w}`); }
  for (const d of report.datasets) {
    out.push("");
    out.push(`${d.name}  (${d.format})  ${n(d.all.total)} samples  hash ${d.hash.slice(0, 16)}`);
    out.push(`  ${d.root}`);
    const header = ["split", "total", ...d.classes, "imbalance"];
    const rows: string[][] = [];
    const row = (name: string, c: SplitCounts) => [
      name,
      n(c.total),
      ...d.classes.map((k) => n(c.perClass[k] ?? 0)),
      ratio(c.imbalanceRatio),
    ];
    for (const [split, c] of Object.entries(d.splits)) rows.push(row(split, c));
    rows.push(row("all", d.all));
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const fmt = (r: string[]) =>
      "  " + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
    out.push(fmt(header), ...rows.map(fmt));
    if (d.excludedTotal > 0) {
      const parts = Object.entries(d.excluded).map(([k, v]) => `${k} ${n(v)}`);
      out.push(`  excluded: ${n(d.excludedTotal)} (${parts.join(", ")})`);
    }
    if (d.unreadable.length > 0) {
      out.push(`  unreadable: ${n(d.unreadable.length)}`);
      for (const u of d.unreadable.slice(0, 10)) out.push(`    ${u.file}: ${u.reason}`);
      if (d.unreadable.length > 10) out.push(`    ... and ${n(d.unreadable.length - 10)} more`);
    } else if (checked) out.push("  unreadable: 0 (every image decoded)");
  }
  for (const e of report.errors) out.push("", `${e.name}: ERROR ${e.error}`);
  return out.join("\n");
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
