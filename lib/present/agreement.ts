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
import { shortModelName } from "../studies/models.ts";
import { EMOTIONS } from "../taxonomy.ts";
import { show, showMarkdown, showTable } from "./display.ts";
import { intervalText, listText, pct } from "./format.ts";
import { resamplingUnits } from "./grid.ts";
import { barChart, heatmap, lineChart } from "./plots.ts";

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
      a.datasets.map((d) => ({
        label: d.dataset,
        value: d.agreement.fleiss.estimate,
        lo: d.agreement.fleiss.lower,
        hi: d.agreement.fleiss.upper,
      })),
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
  const bar = (label: string, iv: { estimate: number; lower: number; upper: number }) => ({
    label,
    value: iv.estimate,
    lo: iv.lower,
    hi: iv.upper,
  });
  await show(
    barChart([
      bar("FER+ annotators", r.humans.fleiss),
      bar("annotators, 7 classes", r.humans7.fleiss),
      bar("models", r.models.fleiss),
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
