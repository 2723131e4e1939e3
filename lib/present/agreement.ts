/**
 * Notebook 03's views: Fleiss' κ among the models per test set, pairwise Cohen's κ, per-category
 * κ, the FER+ annotators as the human reference, and the ensembles that abstain.
 */
import type {
  AgreementByDataset,
  DatasetEnsemble,
  HumanReferenceStudy,
} from "../studies/agreement.ts";
import { accuracyAtCoverage, COVERAGES } from "../studies/agreement.ts";
import {
  TRAINING_RELATIONS,
  type TrainingAgreement,
  type TrainingAgreementDataset,
} from "../studies/training_agreement.ts";
import { shortModelName } from "../studies/models.ts";
import { EMOTIONS } from "../taxonomy.ts";
import { show, showMarkdown, showTable } from "./display.ts";
import { emitFindings } from "./emit.ts";
import { intervalText, listText, pct } from "./format.ts";
import { resamplingUnits } from "./grid.ts";
import { barChart, heatmap, intervalBar, lineChart } from "./plots.ts";

/** Images per dataset, Fleiss' κ with intervals, Krippendorff's α and unanimity. */
export async function showModelAgreement(a: AgreementByDataset): Promise<void> {
  if (a.datasets.length === 0) {
    return showMarkdown(
      "**Agreement needs at least two models on a dataset**; none has two. The cells below say " +
        "what they would show.",
    );
  }
  const repeated = a.datasets.filter((d) => !a.ranked.includes(d)).map((d) => d.dataset);
  await showTable(
    a.datasets.map((d) => ({
      dataset: d.dataset,
      models: d.joined.names.length,
      images: d.joined.ids.length,
      "left out": d.leftOut,
      "Fleiss' κ": intervalText(d.agreement.fleiss),
      "Krippendorff's α": d.agreement.krippendorff,
      "all models agree": pct(d.agreement.unanimous),
    })),
    {
      caption: "Agreement among the models on the images every model can be scored on (left " +
        "out: labels some model cannot output, or unreadable; 95 % bootstrap interval " +
        `resampling ${resamplingUnits(a.datasets.map((d) => d.dataset))})` +
        (repeated.length > 0
          ? `; ${
            listText(repeated)
          } holds the faces of another test set above, so it is not ranked below (kept for the ` +
            "crowd comparison)"
          : ""),
    },
  );
  await show(
    barChart(
      a.datasets.map((d) => intervalBar(d.dataset, d.agreement.fleiss)),
      { title: "Fleiss' κ among the models", xLabel: "Fleiss' κ", domain: [0, 1] },
    ),
    "Fleiss kappa per dataset",
  );
  const hi = a.ranked[0], lo = a.ranked.at(-1)!;
  await showMarkdown(
    `The models agree most on ${hi.dataset} (κ = ${intervalText(hi.agreement.fleiss, 2)}) and ` +
      `least on ${lo.dataset} (κ = ${intervalText(lo.agreement.fleiss, 2)}); every model gives ` +
      `the same class to ${
        listText(a.ranked.map((d) => `${pct(d.agreement.unanimous, 0)} of ${d.dataset}`))
      } images.`,
  );
}

/** One heat map of pairwise Cohen's κ per dataset. */
export async function showPairwiseKappa(a: AgreementByDataset): Promise<void> {
  if (a.datasets.length === 0) return showMarkdown("No model pairs: no Cohen's κ heat map.");
  for (const d of a.datasets) {
    const names = d.agreement.names.map(shortModelName);
    await show(
      heatmap(d.agreement.pairwise, names, names, {
        title: `Cohen's κ between models on ${d.dataset}`,
        domain: [0, 1],
        legendLabel: "Cohen's κ",
        cellSize: 64,
      }),
      `pairwise Cohen kappa on ${d.dataset}`,
    );
  }
}

/** Per-category κ (a class against the rest) per dataset, and its extremes in words. */
export async function showCategoryKappa(a: AgreementByDataset): Promise<void> {
  if (a.datasets.length === 0) return showMarkdown("No agreement: no per-category κ.");
  await show(
    heatmap(
      a.datasets.map((d) =>
        EMOTIONS.map((e) => d.agreement.perCategory.find((c) => c.category === e)?.kappa ?? NaN)
      ),
      a.datasets.map((d) => d.dataset),
      [...EMOTIONS],
      {
        title: "Per-category Fleiss' κ among the models",
        domain: [0, 1],
        legendLabel: "κ of the class against the rest",
      },
    ),
    "per-category kappa",
  );
  const hi = a.highestCategory, lo = a.lowestCategory;
  if (hi === null || lo === null) return;
  await showMarkdown(
    `Highest per-category κ: *${hi.category}* on ${hi.dataset} (${hi.kappa.toFixed(2)}); ` +
      `lowest: *${lo.category}* on ${lo.dataset} (${lo.kappa.toFixed(2)}).`,
  );
}

/** The annotators' κ against the models' κ on the same images, overall and per class. */
export async function showHumanReference(h: HumanReferenceStudy): Promise<void> {
  const r = h.reference;
  if (r === null) {
    return showMarkdown(
      "FER+ predictions of at least two models are needed for the human reference: skipped.",
    );
  }
  const rows = [
    { raters: "FER+ annotators (all votes)", a: r.humans, n: r.humans.votesPerItem },
    {
      raters: "FER+ annotators (votes for the 7 basic classes)",
      a: r.humans7,
      n: r.humans7.votesPerItem,
    },
  ];
  await showTable(
    [
      ...rows.map((x) => ({
        raters: x.raters,
        "raters per image": x.n,
        images: x.a.items,
        "Fleiss' κ": intervalText(x.a.fleiss),
      })),
      {
        raters: `models (${listText(r.models.names)})`,
        "raters per image": r.models.names.length,
        images: r.models.items,
        "Fleiss' κ": intervalText(r.models.fleiss),
      },
    ],
    {
      caption: "Fleiss' κ of people and of models on the same FER+ test images",
      formats: { "raters per image": 1 },
    },
  );
  await show(
    barChart([
      intervalBar("FER+ annotators", r.humans.fleiss),
      intervalBar("annotators, 7 classes", r.humans7.fleiss),
      intervalBar("models", r.models.fleiss),
    ], { title: "Fleiss' κ on the same FER+ test images", xLabel: "Fleiss' κ", domain: [0, 1] }),
    "human vs model kappa",
  );
  await showTable(
    EMOTIONS.map((e) => ({
      class: e,
      "annotators κ": r.humans.perCategory.find((c) => c.category === e)?.kappa ?? NaN,
      "models κ": r.models.perCategory.find((c) => c.category === e)?.kappa ?? NaN,
    })),
    {
      caption: "Per-category κ: annotators against models (— : the raters never used the class)",
      digits: 2,
    },
  );
  await showMarkdown(
    `On these ${r.humans.items} images the annotators' κ is ${intervalText(r.humans.fleiss, 2)} ` +
      `and the models' ${intervalText(r.models.fleiss, 2)}: the difference (annotators − ` +
      `models) is ${intervalText(r.gap, 2)} (paired bootstrap), ` +
      (r.gap.lower > 0
        ? "so the models agree less than people do."
        : r.gap.upper < 0
        ? "so the models agree more than people do."
        : "an interval that includes zero."),
  );
}

/** Coverage curves, the majority vote with abstention, and the ensemble in words. */
export async function showEnsembles(ensembles: readonly DatasetEnsemble[]): Promise<void> {
  if (ensembles.length === 0) {
    return showMarkdown("Fewer than two models on every dataset: no ensemble.");
  }
  for (const e of ensembles) {
    const series = [e.study.meanProb, ...e.study.single].map((c) => ({
      name: c.name,
      points: accuracyAtCoverage(c.points, COVERAGES).map((p) => ({
        x: p.coverage,
        y: p.accuracy,
      })),
    }));
    await show(
      lineChart(series, {
        title: `Accuracy against coverage on ${e.dataset}`,
        xLabel: "coverage (share of faces answered)",
        yLabel: "accuracy on the faces answered",
        xDomain: [0, 1],
        yDomain: [0, 1],
      }),
      `coverage curves on ${e.dataset}`,
    );
    await showTable(
      e.study.votes.map((v) => ({
        "answer when at least this many models agree": `${v.minVotes} of ${e.models}`,
        coverage: v.coverage,
        accuracy: v.accuracy,
      })),
      {
        caption: `Majority vote with abstention on ${e.dataset}`,
        formats: { coverage: "percent", accuracy: "percent" },
      },
    );
    await showMarkdown(
      `On ${e.dataset}: the mean-probability ensemble answers every face with accuracy ` +
        `${pct(e.study.fullAccuracy[0].accuracy)} (best single model ${e.best.name}: ` +
        `${pct(e.best.accuracy)}); answering the ${pct(e.coverage, 0)} it is surest of, ` +
        `${pct(e.ensembleAtCoverage)} (${e.best.name} alone at ${pct(e.coverage, 0)}: ` +
        `${pct(e.bestAtCoverage)}). When all ${e.models} models agree ` +
        `(${pct(e.unanimous.coverage)} of the faces) they are right on ` +
        `${pct(e.unanimous.accuracy)}.`,
    );
  }
}

/** What a difference's interval says, in words: "more", "less" or "no clearly different". */
function gapWords(d: TrainingAgreementDataset): string {
  const g = d.sameMinusDifferent!;
  const verdict = g.lower > 0
    ? "agree more than"
    : g.upper < 0
    ? "agree less than"
    : "do not clearly agree more or less than";
  return `on ${d.dataset}, models trained on the same dataset ${verdict} models trained on ` +
    `different datasets (mean κ ${
      intervalText(d.byRelation.find((r) => r.relation === "same dataset")!.kappa, 2)
    } against ${
      intervalText(d.byRelation.find((r) => r.relation === "different datasets")!.kappa, 2)
    }; difference ${intervalText(g, 2)})`;
}

/**
 * Mean pairwise Cohen's κ by how the models' training data relate, per test set: a table, a
 * grouped bar chart, the pairwise κ heat map ordered by training data, the reading in words,
 * and the findings.
 */
export async function showTrainingAgreement(t: TrainingAgreement): Promise<void> {
  if (t.datasets.length === 0) {
    await showMarkdown(
      "**No test set has models from two training datasets**, so agreement cannot be split by " +
        "training data here (the kit's matrix networks, models/matrix-*.onnx, bring four).",
    );
    return emitFindings(t.findings);
  }
  await showTable(
    t.datasets.flatMap((d) => [
      ...d.byRelation.map((r) => ({
        "test set": d.dataset,
        "pairs trained on": r.relation,
        pairs: r.pairs,
        "mean Cohen's κ": intervalText(r.kappa),
      })),
      ...(d.sameMinusDifferent === null ? [] : [{
        "test set": d.dataset,
        "pairs trained on": "same − different datasets",
        pairs: null,
        "mean Cohen's κ": intervalText(d.sameMinusDifferent),
      }]),
    ]),
    {
      caption: "Mean Cohen's κ over pairs of models, by how their training data relate (each " +
        "pair on the classes both can output; 95 % bootstrap interval resampling " +
        `${resamplingUnits(t.datasets.map((d) => d.dataset))}, one set of resamples per test set)` +
        (t.leftOut.length > 0
          ? `; left out: ${listText(t.leftOut.map((m) => `${shortModelName(m.id)} (${m.why})`))}`
          : ""),
    },
  );
  await show(
    barChart(
      t.datasets.flatMap((d) =>
        TRAINING_RELATIONS.flatMap((relation) => {
          const r = d.byRelation.find((x) => x.relation === relation);
          return r === undefined ? [] : [intervalBar(d.dataset, r.kappa, relation)];
        })
      ),
      { title: "Mean pairwise Cohen's κ by training data", xLabel: "Cohen's κ", domain: [0, 1] },
    ),
    "mean pairwise kappa by training data",
  );
  for (const d of t.datasets) {
    const order = [...d.models].sort((a, b) => a.train.localeCompare(b.train));
    const kappaOf = (a: string, b: string) =>
      a === b ? 1 : d.pairs.find((p) => (p.a === a && p.b === b) || (p.a === b && p.b === a))
        ?.kappa ?? NaN;
    const names = order.map((m) => shortModelName(m.id));
    await show(
      heatmap(order.map((a) => order.map((b) => kappaOf(a.id, b.id))), names, names, {
        title: `Cohen's κ between models on ${d.dataset}, ordered by training data`,
        domain: [0, 1],
        legendLabel: "Cohen's κ",
        cellSize: 40,
      }),
      `pairwise Cohen kappa by training data on ${d.dataset}`,
    );
  }
  const read = t.datasets.filter((d) => d.sameMinusDifferent !== null).map(gapWords);
  if (read.length > 0) await showMarkdown(`Read: ${read.join("; ")}.`);
  await emitFindings(t.findings);
}
