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
import { barChart, heatmap } from "./plots.ts";

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
      drops.map((x) => ({
        label: `→ ${x.other}${x.flagged ? " (flagged)" : ""}`,
        group: shortModelName(x.model),
        value: x.accuracy.estimate,
        lo: x.accuracy.lower,
        hi: x.accuracy.upper,
      })),
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
          `training faces per dataset; ${
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

/** Per probe: the drop from its in-domain accuracy to each other test set, and web against lab. */
export async function showProbeDrops(t: ProbeTransfer): Promise<void> {
  if (t.probes.length === 0) return showMarkdown("No probe matrix: no drops.");
  for (const [k, p] of t.probes.entries()) {
    const r = p.result;
    const rows = r.train_parts.flatMap((train) => {
      const name = train.split(":")[0];
      const own = r.cells.find((c) => c.train === train && c.test === `${name}:test`);
      if (!own) return [];
      const row: Record<string, string | number> = {
        "trained on": name,
        "in-domain accuracy": own.accuracy,
      };
      r.cells.forEach((c, i) => {
        const d = p.intervals[i].drop;
        if (c.train === train && d !== null) {
          row[`drop → ${c.test.split(":")[0]}`] = intervalText(d, 2);
        }
      });
      return [row];
    });
    await showTable(rows, {
      caption: `${p.backbone} probes: accuracy drop from the in-domain test set ` +
        "(95 % bootstrap intervals)",
      formats: { "in-domain accuracy": 3 },
      columns: [
        "trained on",
        "in-domain accuracy",
        ...r.test_parts.map((x) => `drop → ${x.split(":")[0]}`),
      ],
    });
    const s = t.summaries[k];
    if (s.transferCells === 0) continue;
    await showMarkdown(
      `${p.backbone}: mean in-domain accuracy ${pct(s.meanInDomain)}, mean transfer accuracy ` +
        `${pct(s.meanTransfer)} over ${s.transferCells} off-diagonal cells` +
        (s.web.cells && s.lab.cells
          ? `; between web datasets ${pct(s.web.mean)} (${s.web.cells} cells), to or from CK+ ` +
            `${pct(s.lab.mean)} (${s.lab.cells} cells).`
          : "."),
    );
  }
}
