/**
 * Notebook 04's views before the saliency maps: the FER2013 CNNs on FER2013 test, their
 * confusion matrices and per-class recall, and the neutral weakness in numbers.
 */
import type { Fer2013Cnns, NeutralStudy } from "../studies/fer2013_cnns.ts";
import { gridModel } from "../studies/grid.ts";
import { shortModelName } from "../studies/models.ts";
import { show, showMarkdown, showTable } from "./display.ts";
import { intervalText, listText, pct } from "./format.ts";
import { confusionHeatmap, heatmap } from "./plots.ts";
import { showGrid } from "./grid.ts";

/** Which CNNs were found, and each one's accuracy and macro-F1 against what its authors report. */
export async function showFer2013Cnns(cnns: Fer2013Cnns): Promise<void> {
  const found = cnns.grid.models.map((m) => `\`${m.card.id}\``);
  await showMarkdown(`FER2013-trained CNNs found: ${found.length ? listText(found) : "none"}.`);
  await showGrid(cnns.grid);
  if (cnns.scores.length === 0) return;
  await showTable(
    cnns.scores.map((s) => ({
      model: s.model,
      images: s.summary.n,
      accuracy: intervalText(s.accuracy),
      "macro-F1": intervalText(s.macroF1),
      "reported by the authors": gridModel(cnns.grid, s.model)!.card.reportedAccuracy?.value,
    })),
    {
      caption: "FER2013 test (PrivateTest), original labels",
      formats: { "reported by the authors": 3 },
    },
  );
}

/** A row-normalised confusion matrix per network, and the recall of every class. */
export async function showCnnConfusions(neutral: NeutralStudy): Promise<void> {
  if (neutral.networks.length === 0) return showMarkdown("No predictions: no confusion matrices.");
  for (const n of neutral.networks) {
    const c = n.confusion;
    await show(
      confusionHeatmap(c.counts, c.rows, { title: `${n.model} on FER2013 test` }),
      `confusion of ${n.model}`,
    );
  }
  const classes = neutral.networks[0].confusion.rows;
  await show(
    heatmap(
      neutral.networks.map((n) => n.recalls),
      neutral.networks.map((n) => shortModelName(n.model)),
      classes,
      {
        title: "Recall per class on FER2013 test",
        domain: [0, 1],
        legendLabel: "recall",
        scheme: "viridis",
      },
    ),
    "recall per class",
  );
}

/** Neutral's recall, rank and errors per network, and what the crowd says about the errors. */
export async function showNeutralWeakness(neutral: NeutralStudy): Promise<void> {
  const nets = neutral.networks;
  if (nets.length === 0) {
    return showMarkdown("No FER2013 CNN or no FER2013 data: no neutral study.");
  }
  const shares = (xs: { cls: string; share: number }[]) =>
    xs.slice(0, 2).map((d) => `${d.cls} ${pct(d.share, 0)}`).join(", ");
  await showTable(
    nets.map((n) => ({
      model: n.model,
      "neutral recall": intervalText(n.recall),
      "rank (1 = worst)": n.rank,
      "− mean recall of the others": intervalText(n.gap),
      "missed neutral faces go to": shares(n.missedGoTo),
      "faces called neutral are really": shares(n.calledNeutral),
      "missed faces where the crowd agrees with the network": pct(n.crowdAgreesWithNetwork),
      "missed faces the crowd calls neutral": pct(n.crowdSaysNeutral),
    })),
    { caption: "Neutral on FER2013 test, per network (95 % bootstrap intervals)" },
  );
  const ranks = nets.map((n) => n.rank);
  const classes = nets[0].classes;
  await showMarkdown(
    (nets.length === 1
      ? `Neutral's recall ranks ${ranks[0]} of ${classes} classes (1 = lowest). `
      : `Among the ${classes} classes, neutral's recall ranks between ${Math.min(...ranks)} and ` +
        `${Math.max(...ranks)} (1 = lowest) for the ${nets.length} networks. `) +
      `For ${listText(nets.map((n) => pct(n.crowdAgreesWithNetwork)))} of the missed neutral ` +
      "faces the crowd's most voted emotion is the network's answer: there the \"error\" is at " +
      "least partly a labelling question; where the crowd says neutral too, it is the network's.",
  );
}
