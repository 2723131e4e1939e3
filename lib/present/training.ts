/**
 * Notebook 04's views of the training studies (lib/studies/training.ts): Tao's Kaggle split per
 * network, and the training-size curve as a table and a line chart.
 */
import type { SizePoint, TaoSplitStudy } from "../studies/training.ts";
import { BASIC7, type Emotion } from "../taxonomy.ts";
import { show, showMarkdown, showTable } from "./display.ts";
import { emitProvenance } from "./emit.ts";
import { intervalText } from "./format.ts";
import { lineChart, type LineSeries } from "./plots.ts";

/** Per network on Tao's split: accuracy and one class's recall, precision and shares. */
export async function showTaoSplit(study: TaoSplitStudy, cls: Emotion = "neutral"): Promise<void> {
  if (study.models.length === 0) {
    return showMarkdown(
      "No network ran on Tao's split: it needs the models with the role `tao-split` " +
        "(models/*.json, set up) and FER2013's Kaggle test folder under the data root.",
    );
  }
  if (study.dataset !== null) await emitProvenance(study.dataset);
  for (const m of study.models) await emitProvenance(m.provenance);
  await showTable(study.models.map((m) => ({
    model: m.model,
    "test images": m.n,
    accuracy: intervalText(m.accuracy),
    [`${cls} recall`]: intervalText(m.classes[cls].recall),
    [`${cls} precision`]: intervalText(m.classes[cls].precision),
    [`predicted ${cls}`]: intervalText(m.classes[cls].predictedShare),
    [`true ${cls}`]: m.classes[cls].trueShare.toFixed(3),
    [`${cls} recall rank (1 = lowest)`]: m.byRecall.indexOf(cls) + 1,
  })));
}

/** Line series of the curve: accuracy and each class's recall against the training fraction. */
function sizeSeries(points: readonly SizePoint[]): LineSeries[] {
  const line = (name: string, y: (p: SizePoint) => number): LineSeries => ({
    name,
    points: points.map((p) => ({ x: p.fraction, y: y(p) })),
  });
  return [
    line("accuracy", (p) => p.accuracy.estimate),
    ...BASIC7.map((c) => line(`${c} recall`, (p) => p.classes[c].recall.estimate)),
  ];
}

/**
 * The training-size curve: per training fraction, accuracy and each class's recall, as a table and
 * as a line chart against the share of FER2013 training.
 */
export async function showSizeCurve(points: readonly SizePoint[]): Promise<void> {
  if (points.length === 0) {
    return showMarkdown(
      "No training-size curve: it needs the models with the role `training-size` " +
        "(models/*.json, set up) and FER2013 under the data root.",
    );
  }
  for (const p of points) await emitProvenance(p.provenance);
  await showTable(points.map((p) => ({
    model: p.model,
    "training fraction": p.fraction,
    accuracy: intervalText(p.accuracy),
    ...Object.fromEntries(BASIC7.map((c) => [c, p.classes[c].recall.estimate.toFixed(3)])),
  })));
  const chart = lineChart(sizeSeries(points), {
    title: "Accuracy and recall vs share of FER2013 training",
    xDomain: [0, 1],
    yDomain: [0, 1],
    xLabel: "share of FER2013 training",
    yLabel: "on FER2013 test",
  });
  await show(chart, "training-size curve");
}
