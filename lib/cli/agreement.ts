/** `deno task kit agreement <a.csv> <b.csv> [...] [--json]`: how much models agree, item by item. */
import { basename, dirname } from "node:path";
import { flag, parseArgs, UsageError, usageExit } from "./args.ts";
import { type NamedTable, readPredictions } from "../predictions.ts";
import { sha256Hex } from "../fsutil.ts";
import { type AgreementSummary, summarizeAgreement } from "../metrics/model_agreement.ts";

/** One-line description for the command list. */
export const summary = "agreement between models' predictions (Fleiss, Krippendorff, Cohen)";

const HELP = `usage: deno task kit agreement <a.csv> <b.csv> [more.csv ...] [options]

Joins predictions CSVs on id (every file must hold the same ids) and prints Fleiss' kappa (with
its standard error and per-class kappas), nominal Krippendorff's alpha and Cohen's kappa for every
pair of files. Raters are named by file base name without .csv.

options:
  --json            print JSON instead of tables
  --with-labels     add the files' label column as one more rater, "label"
  -h, --help        this help`;

/** Rater names: base names without .csv, with the parent folder added where two would clash. */
export function raterNames(files: readonly string[]): string[] {
  const base = files.map((f) => basename(f).replace(/\.csv$/i, ""));
  return base.map((b, i) =>
    base.filter((x) => x === b).length > 1 ? `${basename(dirname(files[i]))}/${b}` : b
  );
}

/**
 * The first pair of `files` that are one file (same real path) or hold the same bytes, with
 * which; undefined when all differ.
 */
async function sameFiles(files: readonly string[]): Promise<[number, number, string] | undefined> {
  const real = await Promise.all(files.map((f) => Deno.realPath(f)));
  const sums = await Promise.all(files.map(async (f) => sha256Hex(await Deno.readFile(f))));
  for (let i = 0; i < files.length; i++) {
    for (let j = i + 1; j < files.length; j++) {
      if (real[i] === real[j]) return [i, j, "file"];
      if (sums[i] === sums[j]) return [i, j, "content"];
    }
  }
  return undefined;
}

function fmt(x: number | null): string {
  return x === null ? "n/a" : x.toFixed(4);
}

/** Readable rendering of an agreement summary. */
export function formatAgreement(s: AgreementSummary): string {
  const lines = [
    `items               ${s.n_items}`,
    `raters              ${s.raters.join(", ")}`,
    `Fleiss' kappa       ${fmt(s.fleiss_kappa)}  (se ${fmt(s.fleiss_se)})`,
    `Krippendorff alpha  ${fmt(s.krippendorff_alpha)}`,
    "",
    "per-class Fleiss' kappa",
  ];
  for (const [c, v] of Object.entries(s.fleiss_per_category)) {
    lines.push(`  ${c.padEnd(10)} ${fmt(v.kappa)}  (share ${(v.proportion * 100).toFixed(1)} %)`);
  }
  const w = Math.max(8, ...s.raters.map((r) => r.length + 1));
  lines.push(
    "",
    "pairwise Cohen's kappa",
    `${"".padEnd(w)}${s.raters.map((r) => r.padStart(w)).join("")}`,
  );
  for (const a of s.raters) {
    lines.push(
      `${a.padEnd(w)}${s.raters.map((b) => fmt(s.pairwise_cohen[a][b]).padStart(w)).join("")}`,
    );
  }
  return lines.join("\n");
}

/** Runs the command; returns the exit code (2 for a bad command line, 1 for bad input). */
export async function run(args: string[]): Promise<number> {
  let files: string[];
  let json: boolean;
  let withLabels: boolean;
  try {
    const p = parseArgs(args, {
      json: { type: "boolean" },
      "with-labels": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    files = p.positionals;
    json = flag(p, "json");
    withLabels = flag(p, "with-labels");
    if (files.length < 2 && !(withLabels && files.length === 1)) {
      throw new UsageError(
        "expected at least two predictions CSV files (or one with --with-labels)",
      );
    }
  } catch (e) {
    return usageExit(e, HELP);
  }
  try {
    const names = raterNames(files);
    const tables: NamedTable[] = [];
    for (let i = 0; i < files.length; i++) {
      try {
        tables.push({ name: names[i], table: await readPredictions(files[i]) });
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) {
          console.error(`agreement: no such file: ${files[i]}`);
          return 1;
        }
        throw e;
      }
    }
    const same = await sameFiles(files);
    if (same !== undefined) {
      console.error(
        `agreement: ${files[same[0]]} and ${files[same[1]]} are the same ` +
          `${same[2]}; a file agrees perfectly with itself (give each model's predictions once)`,
      );
      return 1;
    }
    const s = summarizeAgreement(tables, { includeLabels: withLabels });
    console.log(json ? JSON.stringify(s, null, 2) : formatAgreement(s));
    return 0;
  } catch (e) {
    console.error(`agreement: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await run(Deno.args));
