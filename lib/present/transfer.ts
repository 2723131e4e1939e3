/**
 * Notebook 01's views: the drop from a model's own training data to other test sets, and the
 * trained-on × tested-on matrices of the linear probes.
 */
import { DROP_TEST_SETS, type DropStudy, type ProbeTransfer } from "../studies/transfer.ts";
import { shortModelName } from "../studies/models.ts";
import { probeMatrix } from "../studies/probes.ts";
import { show, showMarkdown, showTable } from "./display.ts";
import { intervalText, listText, pct, pp } from "./format.ts";
import { missingMarkdown, resamplingUnits } from "./grid.ts";
import { barChart, heatmap, intervalBar } from "./plots.ts";

/** The drops as a table, a bar chart and the largest one in words. */
export async function showDrops(study: DropStudy): Promise<void> {
  const { drops, largest } = study;
  if (drops.length === 0) {
    return showMarkdown(
      "No model with a stated training dataset has predictions on it and on a test set of other " +
        "faces: no drop to compute.",
    );
  }
  await showTable(
    drops.map((x) => ({
      model: x.model,
      "trained on": x.home,
      "tested on": x.other,
      "accuracy drop": intervalText(x.accuracy),
      "macro-F1 drop": intervalText(x.macroF1),
      baseline: x.flagged ? "flagged by the contamination audit: not counted" : "counted",
    })),
    {
      caption: "Drop = score on the training dataset's test split − score on a test set of " +
        `other faces (95 % bootstrap intervals, resampling ${
          resamplingUnits(DROP_TEST_SETS)
        }; FER+ is never the other test set: it holds FER2013's faces)`,
    },
  );
  const lo = Math.min(0, ...drops.map((x) => x.accuracy.lower));
  const hi = Math.max(0.05, ...drops.map((x) => x.accuracy.upper));
  await show(
    barChart(
      drops.map((x) =>
        intervalBar(
          `→ ${x.other}${x.flagged ? " (flagged)" : ""}`,
          x.accuracy,
          shortModelName(x.model),
        )
      ),
      {
        title: "Accuracy drop from the training dataset to each test set of other faces",
        xLabel: "accuracy drop (own test set − other test set)",
        domain: [lo - 0.02, hi + 0.06],
      },
    ),
    "accuracy drops",
  );
  const counted = drops.filter((x) => !x.flagged);
  const above = counted.filter((x) => x.accuracy.lower > 0).length;
  const below = counted.filter((x) => x.accuracy.upper < 0).length;
  await showMarkdown(
    (largest === null
      ? "Every drop's baseline is flagged: no drop is counted."
      : `Of the ${counted.length} counted drops, ${above} have the whole interval above zero ` +
        `and ${below} below it. The largest is ${largest.model} from ${largest.home} to ` +
        `${largest.other}: ${pp(largest.accuracy.estimate)} of accuracy (${
          pct(largest.homeAccuracy)
        } → ${pct(largest.otherAccuracy)}).`) +
      (study.flagged.length
        ? ` Not counted: ${
          listText(study.flagged)
        }, whose own-test accuracy the contamination audit (below) flags.`
        : "") +
      (study.noHome.length
        ? ` No drop is computed for ${listText(study.noHome)}: their cards do not state the ` +
          "training data."
        : ""),
  );
}

/** Accuracy and macro-F1 matrices and the cell table of every probe backbone. */
export async function showProbeMatrices(t: ProbeTransfer): Promise<void> {
  if (t.skipped.length > 0) await showMarkdown(missingMarkdown("No probe matrix", t.skipped));
  if (t.probes.length === 0) return showMarkdown("No probe backbone available: no probe matrix.");
  for (const p of t.probes) {
    const r = p.result;
    const rows = r.train_parts.map((x) => `${x.split(":")[0]} (train)`);
    const cols = r.test_parts.map((x) => x.split(":")[0]);
    const axes = { xLabel: "tested on", yLabel: "trained on", domain: [0, 1] as [number, number] };
    await show(
      heatmap(probeMatrix(r, (c) => c.accuracy), rows, cols, {
        ...axes,
        title: `${shortModelName(p.backbone)} probes: accuracy`,
        legendLabel: "accuracy",
      }),
      `probe accuracy matrix ${p.backbone}`,
    );
    await show(
      heatmap(probeMatrix(r, (c) => c.macro_f1), rows, cols, {
        ...axes,
        title: `${shortModelName(p.backbone)} probes: macro-F1`,
        legendLabel: "macro-F1",
        scheme: "greens",
      }),
      `probe macro-F1 matrix ${p.backbone}`,
    );
    await showTable(
      r.cells.map((c, i) => ({
        "trained on": c.train,
        "tested on": c.test,
        "train faces": c.n_train,
        "test faces": c.n_test,
        accuracy: intervalText(p.intervals[i].accuracy),
        "macro-F1": c.macro_f1,
        "not predictable": c.n_unpredictable,
      })),
      {
        caption:
          `${p.backbone} probes (${r.dim}-float embedding, at most ${r.settings.max_train} ` +
          `training faces per dataset; accuracy with 95 % bootstrap intervals resampling ${
            resamplingUnits(cols)
          }; ${
            p.cacheHit
              ? "matrix read from the study cache"
              : `computed in ${p.seconds.toFixed(0)} s`
          })`,
        formats: { "macro-F1": 3 },
      },
    );
    if (p.missing.length) await showMarkdown(missingMarkdown("Left out", p.missing));
    await showMarkdown(
      r.notes.map((n) => `- ${n}`).join("\n") + `\n\n*Label rule:* ${r.label_rule}`,
    );
  }
}

/**
 * Per probe backbone, transfer read down each test-set column: the accuracy of the probe trained
 * on the test set's own dataset minus that of each probe trained on another (same test faces),
 * as a table and in words.
 */
export async function showProbeColumns(t: ProbeTransfer): Promise<void> {
  if (t.probes.length === 0) return showMarkdown("No probe matrix: no comparison.");
  for (const p of t.probes) {
    const gaps = t.gaps.filter((g) => g.backbone === p.backbone);
    if (gaps.length === 0) {
      await showMarkdown(`${p.backbone}: no test set with its own probe and another's.`);
      continue;
    }
    const tests = [...new Set(gaps.map((g) => g.test))];
    const trains = [...new Set(gaps.map((g) => g.train))];
    await showTable(
      tests.map((test) => {
        const row: Record<string, string | number> = {
          "tested on": test,
          "probe trained on it": gaps.find((g) => g.test === test)!.ownAccuracy,
        };
        for (const g of gaps.filter((x) => x.test === test)) {
          row[`minus trained on ${g.train}`] = intervalText(g.gap, 2);
        }
        return row;
      }),
      {
        caption: `${p.backbone} probes: accuracy on each test set of the probe trained on its ` +
          "own dataset, minus that of the probe trained on another dataset (same test faces; " +
          `95 % ${listText([...new Set(gaps.map((g) => g.method))])} intervals, resampling ${
            resamplingUnits(tests)
          })`,
        formats: { "probe trained on it": 3 },
        columns: [
          "tested on",
          "probe trained on it",
          ...trains.map((x) => `minus trained on ${x}`),
        ],
      },
    );
    const above = gaps.filter((g) => g.gap.lower > 0).length;
    const below = gaps.filter((g) => g.gap.upper < 0).length;
    await showMarkdown(
      `${p.backbone}: of ${gaps.length} comparisons within a test set, the probe trained on ` +
        `the test set's own dataset is ahead in ${above} (whole interval above zero) and behind ` +
        `in ${below} (whole interval below zero); the other ${
          gaps.length - above - below
        } intervals include zero.`,
    );
  }
}
