/**
 * How the pitfalls notebook (05) shows each section of lib/studies/pitfalls: tables, figures, a
 * generated sentence with every number computed, and the section's key findings, which the study
 * built (lib/studies/pitfalls/findings.ts) and the views only emit. Each `show*` accepts a
 * section: with a result it shows it; without one it prints what is missing and emits the
 * section's findings (no value, the reason as the note), so the notebook runs the same cells on
 * any data root.
 */
import { show, showMarkdown, showTable } from "./display.ts";
import type { Finding } from "../findings.ts";
import { emitFindings, emitProvenance } from "./emit.ts";
import type { BootstrapInterval } from "../metrics/mod.ts";
import { montageSvg } from "./montage.ts";
import { barChart, heatmap, intervalBar, lineChart } from "./plots.ts";
import type { Sample } from "../sample.ts";
import { decodeImage, type RawImage } from "../image.ts";
import type { InputSpec, ModelCard } from "../models/card.ts";
import { preprocess } from "../preprocess.ts";
import { EMOTIONS } from "../taxonomy.ts";
import { intervalText, listText, pct, pp, ppIntervalText } from "./format.ts";
import { shortModelName } from "../studies/models.ts";
import { bootstrapSettingsText, emitGridProvenance, showGridGaps } from "./grid.ts";
import { conditionSamples, CROP_CONDITIONS } from "../studies/pitfalls/cropping.ts";
import { LABEL_RULES } from "../studies/pitfalls/labels.ts";
import {
  PREPROCESSING_VARIANTS,
  type PreprocessingResult,
} from "../studies/pitfalls/preprocessing.ts";
import type * as pit from "../studies/pitfalls/mod.ts";
import type { ContaminationRow } from "../studies/contamination.ts";
import type { CroppingResult } from "../studies/pitfalls/cropping.ts";
import {
  largestCropChange,
  leastCalibrated,
  mostFlips,
  NO_CROP_PREDICTIONS,
  PREP_FAMILIES,
  ranCells,
  rankChanges,
  rankUnder,
  testLeaks,
  widestBySubject,
  widthRatio,
} from "../studies/pitfalls/findings.ts";

/** Say that a section (or part of one) has no result, and why. */
async function showMissing(what: string, why: string): Promise<void> {
  await showMarkdown(`**${what}: missing.** ${why.replaceAll("\n", " ")}`);
}

/** A section without a result: what is missing, then its findings (no value, the reason). */
async function showMissingSection(
  what: string,
  o: { missing: string; findings: readonly Finding[] },
): Promise<void> {
  await showMissing(what, o.missing);
  await emitFindings(o.findings);
}

function iv(x: BootstrapInterval, digits = 3): string {
  return intervalText(x, digits);
}

/** What the notebook has to work with: models, datasets, and what is missing. */
export async function showContext(ctx: pit.PitfallsContext): Promise<void> {
  await emitGridProvenance(ctx.grid);
  await showGridGaps(ctx.grid);
  const models = ctx.grid.models.map((m) => `\`${m.card.id}\``);
  const data = ctx.grid.datasets.map((d) => `${d.name} (${d.samples.length} test faces)`);
  await showMarkdown(
    `Data root \`${ctx.dataRoot}\`: ${models.length} model${models.length === 1 ? "" : "s"} ` +
      `(${listText(models) || "none"}) and ${data.length} test split${
        data.length === 1 ? "" : "s"
      }` +
      ` (${listText(data) || "none"}). Intervals are ${bootstrapSettingsText()}.`,
  );
}

// ---------------------------------------------------------------- 1 preprocessing

function prepRows(r: PreprocessingResult) {
  return r.rows.filter((x) => x.comparison !== null).map((x) => ({
    model: x.model,
    variant: x.variant,
    images: x.comparison!.n,
    flipped: x.comparison!.flips,
    "flip share": iv(x.comparison!.flipShare),
    "accuracy change": ppIntervalText(x.comparison!.accuracyChange),
    "macro-F1 change": ppIntervalText(x.comparison!.macroF1Change),
  }));
}

/** The cells not run, grouped by reason: "reason: model (variant), …". */
function skippedText(r: PreprocessingResult): string {
  const by = new Map<string, string[]>();
  for (const x of r.rows.filter((y) => y.skipped !== null)) {
    by.set(x.skipped!, [
      ...(by.get(x.skipped!) ?? []),
      `${shortModelName(x.model)} (${x.variant})`,
    ]);
  }
  return [...by].map(([why, cells]) => `- *${why}*: ${cells.join(", ")}`).join("\n");
}

async function showPrepDataset(name: string, o: pit.Section<PreprocessingResult>) {
  if (o.value === null) return await showMissingSection(`Preprocessing on ${name}`, o);
  const r = o.value;
  const run = ranCells(r);
  const sizes = Object.entries(r.perModel).filter(([, n]) => n < r.n);
  await showTable(prepRows(r), {
    caption: `${name} test, seeded sample of ${r.n} images` +
      (sizes.length ? ` (${sizes.map(([m, n]) => `${m}: first ${n}`).join(", ")})` : "") +
      ": each variant against the card's exact pipeline (95 % paired bootstrap intervals)",
  });
  await show(
    barChart(
      run.map((x) => intervalBar(x.variant, x.comparison!.flipShare, shortModelName(x.model))),
      { title: `${name}: share of top-1 predictions flipped`, format: "percent" },
    ),
    `flip shares on ${name}`,
  );
  const lines = (PREP_FAMILIES[name] ?? []).flatMap((family) => {
    const worst = mostFlips(r, family);
    if (worst === undefined) return [];
    const c = worst.comparison!;
    return [
      `- **${family}**: most flips for \`${worst.model}\` with \`${worst.variant}\`, ${c.flips} of ` +
      `${c.n} (${pct(c.flipShare.estimate)}); accuracy ${pct(c.accuracyRef)} → ` +
      `${pct(c.accuracyAlt)} (${ppIntervalText(c.accuracyChange)}).`,
    ];
  });
  await emitFindings(o.findings);
  const flipping = run.filter((x) => x.comparison!.flips > 0).length;
  await showMarkdown(
    `On ${name}, ${flipping} of ${run.length} model–variant cells flip at least one prediction.\n\n` +
      lines.join("\n") + `\n\nNot run (no effect possible, or the card's own convention):\n\n` +
      skippedText(r),
  );
}

/** Section 1: tables, flip-share bars and the headline of each sample. */
export async function showPreprocessing(
  r: { fer2013: pit.Section<PreprocessingResult>; expw: pit.Section<PreprocessingResult> },
): Promise<void> {
  await showPrepDataset("FER2013", r.fer2013);
  await showPrepDataset("ExpW", r.expw);
}

/** The variants measured, and what each feeds the model (a table of the definitions). */
export async function showVariants(): Promise<void> {
  await showTable(
    PREPROCESSING_VARIANTS.map((v) => ({
      variant: v.id,
      convention: v.family,
      "what the model gets": v.label,
    })),
  );
}

// ---------------------------------------------------------------- 2 cropping

/** Section 2: accuracy per condition and model, and the change against the labelled box. */
export async function showCropping(o: pit.Section<CroppingResult>): Promise<void> {
  if (o.value === null) return await showMissingSection("Face cropping", o);
  const r = o.value;
  for (const d of r.detectors) await emitProvenance(d);
  await showTable(
    r.rows.map((x) => ({
      model: x.model,
      condition: x.condition,
      faces: x.predicted,
      "no face found": x.missed,
      accuracy: iv(x.accuracy),
      "change vs label box": x.change ? ppIntervalText(x.change.accuracyChange) : "reference",
      flipped: x.change ? pct(x.change.flipShare.estimate) : "",
    })),
    {
      caption:
        `ExpW test, ${r.n} faces from single-face photographs (seeded sample; paired 95 % bootstrap intervals)`,
    },
  );
  await show(
    barChart(
      r.rows.map((x) => intervalBar(x.condition, x.accuracy, shortModelName(x.model))),
      { title: "ExpW accuracy by how the face is cut", format: "percent", domain: [0, 1] },
    ),
    "accuracy by crop condition",
  );
  const models = [...new Set(r.rows.map((x) => x.model))];
  const conditions = [...new Set(r.rows.filter((x) => x.change).map((x) => x.condition))];
  await show(
    heatmap(
      models.map((m) =>
        conditions.map((c) =>
          r.rows.find((x) => x.model === m && x.condition === c)?.change?.accuracyChange.estimate ??
            NaN
        )
      ),
      models.map(shortModelName),
      conditions,
      {
        title: "Accuracy change against the labelled box (same faces)",
        format: (v) => pp(v, 0),
        scheme: "rdbu",
        domain: [-0.25, 0.25],
        legendLabel: "accuracy change",
        cellSize: 56,
      },
    ),
    "accuracy change by crop condition",
  );
  const worst = largestCropChange(r);
  if (worst === undefined) await showMissing("Face cropping", NO_CROP_PREDICTIONS);
  else {
    await showMarkdown(
      `The largest change is \`${worst.model}\` with the ${worst.condition}: accuracy ${
        ppIntervalText(worst.change!.accuracyChange)
      } against the labelled box on the same ${worst.change!.n} faces.`,
    );
  }
  await emitFindings(o.findings);
}

/** A montage of faces as each box condition cuts them (detector rows are left out). */
export async function showCropMontage(o: pit.Outcome<CroppingResult & { faces: Sample[] }>) {
  const samples = o.value?.faces ?? [];
  const rows = CROP_CONDITIONS.filter((c) => c.kind !== "detector").map((c) => ({
    label: c.id,
    samples: conditionSamples(samples, c),
  }));
  const m = await montageSvg(samples.length ? rows : [], {
    tile: 72,
    title: "The same faces, each way of cutting the box",
  });
  await show(m.svg, "faces under each crop condition");
}

// ---------------------------------------------------------------- 3 label rules

/** Section 3: how many labels change, and each model's accuracy and rank per rule. */
export async function showLabelRules(o: pit.Section<pit.LabelRulesResult>): Promise<void> {
  if (o.value === null) return await showMissingSection("Label rules", o);
  const { changes, scores } = o.value;
  await showTable(
    changes.map((c) => ({
      rule: LABEL_RULES.find((r) => r.id === c.rule)!.label,
      images: c.images,
      labelled: c.kept,
      dropped: Object.values(c.dropped).reduce((a, b) => a + b, 0),
      "label changed": c.changed,
      "dropped or changed": iv(c.affected),
    })),
    {
      caption:
        "FER2013 test: labels under each rule, against FER2013's own (95 % bootstrap intervals)",
    },
  );
  await show(
    barChart(
      scores.map((s) => intervalBar(s.rule, s.accuracy, shortModelName(s.model))),
      {
        title: "The same predictions scored under each label rule",
        format: "percent",
        domain: [0, 1],
      },
    ),
    "accuracy per label rule",
  );
  const { models, moved } = rankChanges(scores);
  await showTable(
    models.map((m) => ({
      model: m,
      ...Object.fromEntries(LABEL_RULES.map((r) => [r.id, rankUnder(scores, m, r.id) ?? null])),
    })),
    { caption: "Rank of each model (1 = most accurate) under each rule" },
  );
  const maj = changes.find((c) => c.rule === "majority")!;
  const top = (rule: string) => models.find((m) => rankUnder(scores, m, rule) === 1) ?? "—";
  await showMarkdown(
    `The FER+ majority rule drops ${
      maj.images - maj.kept
    } of ${maj.images} test images and relabels ` +
      `${maj.changed} of those it keeps. ${moved.length} of ${models.length} models change rank; the most ` +
      `accurate model is \`${top("fer2013")}\` on FER2013's labels and \`${
        top("majority")
      }\` on the majority labels.`,
  );
  await emitFindings(o.findings);
}

// ---------------------------------------------------------------- 4 duplicates and leakage

/** Section 4a: duplicate pairs by split, the test images with a twin in training, examples. */
export async function showDuplicates(o: pit.Section<pit.DuplicatesResult>) {
  if (o.value === null) return await showMissingSection("Duplicates", o);
  const r = o.value;
  await showTable(r.pairCounts, {
    caption:
      `Duplicate pairs among ${r.images} FER2013 images (near: dHash distance ≤ ${r.maxDistance}, pixels differ)`,
  });
  await showTable(
    r.leaks.map((l) => ({
      split: l.split,
      "twin in": l.other,
      kind: l.kind,
      images: l.images,
      "with a twin": l.withDuplicate,
      share: iv(l.share),
    })),
    { caption: "Images with a duplicate in Training (95 % bootstrap intervals)" },
  );
  await show(
    barChart(
      r.leaks.map((l) => intervalBar(`${l.split}: ${l.kind}`, l.share)),
      {
        title: "Share of evaluation images whose twin is in Training",
        format: "percent",
      },
    ),
    "leak shares",
  );
  const byId = new Map(r.exampleSamples.map((s) => [s.id, s]));
  const rows = r.examples.map((p) => ({
    label: `${p.kind}${p.kind === "near" ? ` d=${p.distance}` : ""}: ${p.a} · ${p.b}`,
    samples: [byId.get(p.a), byId.get(p.b)].filter((s): s is Sample => s !== undefined),
  }));
  await show(
    (await montageSvg(rows, {
      tile: 64,
      title: "Test/Training twins (left: one split, right: the other)",
    })).svg,
    "duplicate pairs",
  );
  const { exact, exactOrNear: test } = testLeaks(r);
  await showMarkdown(
    `${exact.withDuplicate} of ${exact.images} FER2013 test images have a pixel-identical twin in Training, ` +
      `${test.withDuplicate} an exact or near one (${
        pct(test.share.estimate)
      }): a model that memorised ` +
      "its training faces is partly scored on them.",
  );
  await emitFindings(o.findings);
}

/** Section 4b: ExpW photographs on both sides of a face-level split, against the kit's split. */
export async function showPhotoLeak(o: pit.Section<pit.PhotoLeakResult>): Promise<void> {
  if (o.value === null) return await showMissingSection("ExpW photographs", o);
  const { byFace: f, kit } = o.value;
  const rows = [
    ["face-level split (seeded, stratified)", f],
    ["the kit's split (by photograph)", kit],
  ] as const;
  await showTable(
    rows.map(([name, g]) => ({
      split: name,
      "test photographs": g.testGroups,
      "also in train": g.sharedGroups,
      "test faces": g.testFaces,
      "face's photo in train": g.leakedFaces,
      share: iv(g.share),
    })),
    {
      caption:
        "ExpW: test faces that share a photograph with a training face (95 % bootstrap intervals)",
    },
  );
  await show(
    barChart(
      rows.map(([name, g]) => intervalBar(name, g.share)),
      { title: "ExpW test faces whose photograph is also in training", format: "percent" },
    ),
    "ExpW photograph leak",
  );
  await showMarkdown(
    `Split by face, ${f.sharedGroups} photographs straddle train and test (${f.leakedFaces} of ${f.testFaces} test faces); split by photograph, ${kit.sharedGroups}.`,
  );
  await emitFindings(o.findings);
}

/** Section 4c: the contamination audit of each model on FER2013 test. */
export async function showContamination(o: pit.Section<ContaminationRow[]>): Promise<void> {
  if (o.value === null) return await showMissingSection("Contamination audit", o);
  const rows = o.value;
  await showTable(
    rows.map((r) => ({
      model: r.model,
      role: r.reference ? "clean reference" : "audited",
      "disagreeing images": r.audit.disagreeing,
      "matches FER2013 label": iv(r.audit.matchA),
      "matches FER+ label": iv(r.audit.matchB),
      "accuracy change FER2013 → FER+": ppIntervalText(r.audit.accuracyChange),
      flagged: r.reference ? "" : r.flagged ? "likely saw test" : "no",
    })),
    {
      caption:
        "On test images whose FER2013 and FER+ majority labels disagree (95 % bootstrap intervals)",
    },
  );
  await show(
    barChart(
      rows.map((r) => intervalBar(shortModelName(r.model), r.audit.matchA)),
      {
        title: "Share of predictions equal to FER2013's label where FER+ disagrees",
        format: "percent",
      },
    ),
    "contamination audit",
  );
  const flagged = rows.filter((r) => r.flagged).map((r) => `\`${r.model}\``);
  await showMarkdown(
    `${flagged.length} model${flagged.length === 1 ? "" : "s"} (${
      listText(flagged) || "none"
    }) pick FER2013's test labels more often than every clean reference, interval wholly above.`,
  );
  await emitFindings(o.findings);
}

// ---------------------------------------------------------------- 5 metric choice

/** Section 5: four metrics beside each other, the majority baseline last. */
export async function showMetricChoice(
  o: pit.Section<pit.MetricChoiceResult>,
) {
  if (o.value === null) return await showMissingSection("Metric choice", o);
  const { rows, dataset, baseline } = o.value;
  const names = ["accuracy", "balancedAccuracy", "macroF1", "cohenKappa"] as const;
  await showTable(
    rows.map((r) => ({
      model: r.model,
      images: r.panel.n,
      ...Object.fromEntries(names.map((k) => [k, iv(r.panel[k])])),
    })),
    {
      caption:
        `${dataset} test: the same predictions under four metrics (95 % bootstrap intervals)`,
      headers: {
        balancedAccuracy: "balanced accuracy",
        macroF1: "macro-F1",
        cohenKappa: "Cohen's κ",
      },
    },
  );
  await show(
    heatmap(
      rows.map((r) => names.map((k) => r.panel[k].estimate)),
      rows.map((r) => shortModelName(r.model)),
      ["accuracy", "balanced acc.", "macro-F1", "κ"],
      {
        title: `${dataset}: one model, four numbers`,
        domain: [0, 1],
        scheme: "viridis",
        cellSize: 60,
      },
    ),
    "metric heat map",
  );
  const b = rows[rows.length - 1].panel;
  const beaten =
    rows.slice(0, -1).filter((r) => r.panel.accuracy.estimate < b.accuracy.estimate).length;
  await showMarkdown(
    `Always answering *${baseline}* scores accuracy ${pct(b.accuracy.estimate)} (${beaten} model${
      beaten === 1 ? "" : "s"
    } score less), balanced accuracy ${pct(b.balancedAccuracy.estimate)}, macro-F1 ${
      b.macroF1.estimate.toFixed(3)
    } and κ ${b.cohenKappa.estimate.toFixed(3)}.`,
  );
  await emitFindings(o.findings);
}

// ---------------------------------------------------------------- 6 calibration

/** Section 6: reliability diagrams, ECE, and what a confidence threshold keeps. */
export async function showCalibration(
  o: pit.Section<pit.CalibrationSectionResult>,
  threshold: number,
) {
  if (o.value === null) return await showMissingSection("Calibration", o);
  const { rows, dataset } = o.value;
  await show(
    lineChart([
      ...rows.map((r) => ({
        name: shortModelName(r.model),
        points: r.calibration.bins.filter((b) => b.count > 0).map((b) => ({
          x: b.confidence,
          y: b.accuracy,
        })),
      })),
      { name: "perfect calibration", points: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
    ], {
      title: `${dataset}: reliability diagram (15 bins)`,
      xLabel: "mean top-class probability",
      yLabel: "accuracy",
      xDomain: [0, 1],
      yDomain: [0, 1],
    }),
    "reliability diagrams",
  );
  await showTable(
    rows.map((r) => {
      const at = r.sweep.find((p) => p.threshold === threshold);
      return {
        model: r.model,
        images: r.calibration.n,
        ECE: iv(r.calibration.ece),
        [`kept at p ≥ ${threshold}`]: at ? pct(at.coverage) : null,
        "accuracy of kept": at ? pct(at.accuracy) : null,
      };
    }),
    { caption: `${dataset} test: ECE (95 % bootstrap intervals) and a confidence threshold` },
  );
  await show(
    lineChart(
      rows.map((r) => ({
        name: shortModelName(r.model),
        points: r.sweep.map((p) => ({ x: p.threshold, y: p.coverage })),
      })),
      {
        title: "Share of images kept above a confidence threshold",
        xLabel: "threshold on the top-class probability",
        yLabel: "coverage",
        yDomain: [0, 1],
      },
    ),
    "coverage against threshold",
  );
  const classes = EMOTIONS.filter((e) =>
    rows.some((r) => r.sweep[0]?.classCoverage[e] !== undefined)
  );
  await show(
    heatmap(
      rows.map((r) =>
        classes.map((c) => r.sweep.find((p) => p.threshold === threshold)?.classCoverage[c] ?? NaN)
      ),
      rows.map((r) => shortModelName(r.model)),
      classes,
      {
        title: `Share of each true class kept at p ≥ ${threshold}`,
        domain: [0, 1],
        format: "percent",
      },
    ),
    "per-class coverage",
  );
  const worst = leastCalibrated(rows)!;
  await showMarkdown(
    `The least calibrated model is \`${worst.model}\` (ECE ${iv(worst.calibration.ece)}).`,
  );
  await emitFindings(o.findings);
}

// ---------------------------------------------------------------- 7 small test sets

/** Section 7: interval widths by image and by subject, and test sizes for a small difference. */
export async function showSmallTests(
  o: pit.Section<pit.SmallTestResult>,
) {
  if (o.value === null) return await showMissingSection("Small test sets", o);
  const { ckplus, sizes, delta } = o.value;
  await showTable(
    ckplus.map((r) => ({
      model: r.model,
      images: r.images,
      subjects: r.subjects,
      "by image": iv(r.byImage),
      "by subject": iv(r.bySubject),
      "width ratio": widthRatio(r),
    })),
    {
      caption: "CK+ test accuracy: 95 % intervals resampling images and resampling subjects",
      formats: { "width ratio": 2 },
    },
  );
  await show(
    barChart(
      ckplus.flatMap((r) => [
        intervalBar(shortModelName(r.model), r.byImage, "by image"),
        intervalBar(shortModelName(r.model), r.bySubject, "by subject"),
      ]),
      {
        title: "CK+ accuracy: the same estimate, two intervals",
        format: "percent",
        domain: [0, 1],
      },
    ),
    "CK+ intervals",
  );
  await showTable(
    sizes.map((s) => ({
      models: s.models,
      accuracy: pct(s.accuracy),
      discordance: pct(s.discordance),
      "separate test sets (each)": s.independent,
      "same test images": s.paired,
    })),
    { caption: `Test images needed to detect a ${pp(delta)} difference (α = 0.05, power 0.8)` },
  );
  const widest = widestBySubject(ckplus);
  await showMarkdown(
    (widest
      ? `On CK+, resampling subjects widens \`${widest.model}\`'s interval ${
        widthRatio(widest).toFixed(2)
      }×. `
      : "") +
      (sizes[0]
        ? `Telling ${sizes[0].models} apart by ${pp(delta)} takes ${
          sizes[0].paired
        } shared test images, or ${sizes[0].independent} per model on separate ones.`
        : ""),
  );
  await emitFindings(o.findings);
}

/**
 * A model's input tensor (one sample) back to 8-bit pixels, undoing `input`'s normalisation,
 * channel order and layout (values clamped to 0..255): what the model sees, in pixels.
 */
export function tensorToImage(tensor: Float32Array, input: InputSpec): RawImage {
  const { width: w, height: h, channels: c } = input;
  const { scale, mean, std } = input.normalization;
  const out = new Uint8Array(w * h * c);
  for (let k = 0; k < c; k++) {
    const dst = input.colorOrder === "BGR" ? c - 1 - k : k;
    for (let i = 0; i < w * h; i++) {
      const v = input.layout === "NCHW" ? tensor[k * w * h + i] : tensor[i * c + k];
      out[i * c + dst] = Math.max(0, Math.min(255, Math.round((v * std[k] + mean[k]) / scale)));
    }
  }
  return { data: out, width: w, height: h, channels: c };
}

/** A face through a card's pipeline, drawn with `view`'s normalisation; null when unreadable. */
async function pipelineView(s: Sample, card: ModelCard, view: InputSpec): Promise<RawImage | null> {
  try {
    return tensorToImage(preprocess(await decodeImage(s.source), card, s.box), view);
  } catch {
    return null;
  }
}

/**
 * The same faces through two pipelines: for the cell with the most flips of a preprocessing
 * result, up to `k` flipped faces as the model receives them under its card's pipeline and under
 * the variant (both drawn with the card's normalisation, so a wrong scale shows as a washed-out
 * face).
 */
export async function showPipelines(
  ctx: pit.PitfallsContext,
  o: pit.Outcome<PreprocessingResult>,
  k = 6,
): Promise<void> {
  const cells = (o.value?.rows ?? []).filter((x) => (x.comparison?.flips ?? 0) > 0);
  const worst = cells.sort((a, b) => b.comparison!.flips - a.comparison!.flips)[0];
  const model = ctx.grid.models.find((m) => m.card.id === worst?.model);
  const variant = PREPROCESSING_VARIANTS.find((v) => v.id === worst?.variant);
  const data = ctx.grid.datasets.find((d) => d.name === o.value?.dataset);
  const ids = new Set(worst?.comparison?.flipped.slice(0, k) ?? []);
  const faces = data?.samples.filter((s) => ids.has(s.id)) ?? [];
  const rows: { label: string; samples: Sample[] }[] = [];
  if (model && variant && faces.length > 0) {
    const alt = { ...model.card, input: variant.apply(model.card.input)! };
    for (const [label, card] of [["card's pipeline", model.card], [variant.id, alt]] as const) {
      const samples: Sample[] = [];
      for (const s of faces) {
        const px = await pipelineView(s, card, model.card.input);
        if (px === null) continue; // unreadable image or box: left out of the montage
        samples.push({
          ...s,
          box: undefined,
          source: { kind: "pixels", ...px, channels: px.channels },
        });
      }
      rows.push({ label, samples });
    }
  }
  const title = worst
    ? `${worst.model}: flipped faces as the model receives them`
    : "no flipped faces";
  await show((await montageSvg(rows, { tile: 72, title })).svg, title);
}
