/**
 * The key findings of the pitfalls notebook's sections (group "Pitfalls" on the report's index,
 * ids `pitfalls.*`): one pure function per section, from the section's Outcome to its findings,
 * with no value and a note when the section has no result. The section functions attach them
 * (sections.ts); lib/present/pitfalls.ts only emits them. The headline each finding reports (the
 * cell with the most flips, the largest accuracy change, ...) is picked by the exported helpers
 * here, which the views use for their sentences too.
 */
import { ciPair, type Finding } from "../../findings.ts";
import type { BootstrapInterval } from "../../metrics/mod.ts";
import { intervalText, listText, pct, ppIntervalText } from "../../present/format.ts";
import type { ContaminationRow } from "../contamination.ts";
import type { CroppingResult, CropRow } from "./cropping.ts";
import type { RuleScore } from "./labels.ts";
import type { PreprocessingResult, VariantFamily, VariantRow } from "./preprocessing.ts";
import type {
  CalibrationRow,
  CalibrationSectionResult,
  DuplicatesResult,
  LabelRulesResult,
  MetricChoiceResult,
  Outcome,
  PhotoLeakResult,
  SmallTestResult,
  SmallTestRow,
} from "./results.ts";

/** Group of every finding the pitfalls notebook emits (the index's "Pitfalls" group). */
export const PITFALLS_GROUP = "Pitfalls";

/** A finding's id and its label. */
type FindingId = readonly [id: string, label: string];

function finding(f: Omit<Finding, "group">): Finding {
  return { ...f, group: PITFALLS_GROUP };
}

/** The findings of a section without a result: no value, the reason as the note. */
function missingFindings(ids: readonly FindingId[], why: string): Finding[] {
  return ids.map(([id, label]) => finding({ id, label, value: null, note: `missing: ${why}` }));
}

/** The first row with the largest `key` (undefined for no rows). */
function largest<T>(rows: readonly T[], key: (x: T) => number): T | undefined {
  return rows.reduce<T | undefined>(
    (a, b) => (a === undefined || key(b) > key(a) ? b : a),
    undefined,
  );
}

// ---------------------------------------------------------------- 1 preprocessing

/** The variant families each preprocessing sample measures, by dataset name. */
export const PREP_FAMILIES: Readonly<Record<string, readonly VariantFamily[]>> = {
  FER2013: ["resize", "normalisation"],
  ExpW: ["gray weights", "channel order"],
};

function prepFindingId(dataset: string, family: VariantFamily): FindingId {
  return [
    `pitfalls.preprocessing.${dataset.toLowerCase()}.${family.replaceAll(" ", "-")}`,
    `Preprocessing, ${family}: largest share of flipped predictions on ${dataset} test`,
  ];
}

/** The model–variant cells that ran on at least one image. */
export function ranCells(r: PreprocessingResult): VariantRow[] {
  return r.rows.filter((x) => x.comparison !== null && x.comparison.n > 0);
}

/** The cell of `family` with the most flipped predictions (the first such), if any ran. */
export function mostFlips(r: PreprocessingResult, family: VariantFamily): VariantRow | undefined {
  return largest(ranCells(r).filter((x) => x.family === family), (x) => x.comparison!.flips);
}

/**
 * Section 1, one sample (`dataset` "FER2013" or "ExpW"): per family measured there, the largest
 * share of flipped predictions, with its paired interval.
 */
export function preprocessingFindings(
  dataset: string,
  o: Outcome<PreprocessingResult>,
): Finding[] {
  const families = PREP_FAMILIES[dataset] ?? [];
  if (o.value === null) {
    return missingFindings(families.map((f) => prepFindingId(dataset, f)), o.missing);
  }
  const r = o.value;
  return families.map((family) => {
    const [id, label] = prepFindingId(dataset, family);
    const worst = mostFlips(r, family);
    if (worst === undefined) {
      return finding({
        id,
        label,
        value: null,
        note: `no model where a ${family} variant applies`,
      });
    }
    const c = worst.comparison!;
    return finding({
      id,
      label: `${label} (${worst.model}, ${worst.variant})`,
      value: c.flipShare.estimate,
      ci: ciPair(c.flipShare),
      unit: "share flipped",
      note: `${c.flips} of ${c.n}; accuracy ${
        ppIntervalText(c.accuracyChange)
      }; paired bootstrap 95 % CI`,
    });
  });
}

// ---------------------------------------------------------------- 2 cropping

const CROP_ID: FindingId = [
  "pitfalls.cropping.max-change",
  "Cropping: largest accuracy change against the labelled box (ExpW)",
];

/** Why the cropping finding has no value when every condition came back empty. */
export const NO_CROP_PREDICTIONS = "no condition produced predictions";

/** The condition with the largest accuracy change (either sign) against the labelled box. */
export function largestCropChange(r: CroppingResult): CropRow | undefined {
  return largest(
    r.rows.filter((x) => x.change !== null && x.change.n > 0),
    (x) => Math.abs(x.change!.accuracyChange.estimate),
  );
}

/** Section 2: the largest accuracy change a way of cutting the face makes. */
export function croppingFindings(o: Outcome<CroppingResult>): Finding[] {
  if (o.value === null) return missingFindings([CROP_ID], o.missing);
  const worst = largestCropChange(o.value);
  if (worst === undefined) return missingFindings([CROP_ID], NO_CROP_PREDICTIONS);
  const ch = worst.change!.accuracyChange;
  return [finding({
    id: CROP_ID[0],
    label: `${CROP_ID[1]} (${worst.model}, ${worst.condition})`,
    value: ch.estimate,
    ci: ciPair(ch),
    unit: "accuracy change",
    note: `${worst.change!.n} faces; paired bootstrap 95 % CI`,
  })];
}

// ---------------------------------------------------------------- 3 label rules

const LABEL_IDS: readonly FindingId[] = [
  [
    "pitfalls.labels.majority.affected",
    "Label rule: FER2013 test images dropped or relabelled by the FER+ majority rule",
  ],
  [
    "pitfalls.labels.rank-changes",
    "Label rule: models whose rank changes between FER2013 and FER+ majority labels",
  ],
];

/** A model's rank under a rule (undefined when it was not scored under it). */
export function rankUnder(scores: readonly RuleScore[], model: string, rule: string) {
  return scores.find((s) => s.model === model && s.rule === rule)?.rank;
}

/** The models scored, and those whose rank differs between FER2013's and the majority labels. */
export function rankChanges(scores: readonly RuleScore[]): { models: string[]; moved: string[] } {
  const models = [...new Set(scores.map((s) => s.model))];
  const moved = models.filter((m) =>
    rankUnder(scores, m, "fer2013") !== rankUnder(scores, m, "majority")
  );
  return { models, moved };
}

/** Section 3: the share of test images the majority rule drops or relabels; the rank changes. */
export function labelRulesFindings(o: Outcome<LabelRulesResult>): Finding[] {
  if (o.value === null) return missingFindings(LABEL_IDS, o.missing);
  const maj = o.value.changes.find((c) => c.rule === "majority")!;
  const { models, moved } = rankChanges(o.value.scores);
  return [
    finding({
      id: LABEL_IDS[0][0],
      label: LABEL_IDS[0][1],
      value: maj.affected.estimate,
      ci: ciPair(maj.affected),
      unit: "share of test images",
      note: `${
        maj.images - maj.kept
      } dropped, ${maj.changed} relabelled of ${maj.images}; bootstrap 95 % CI`,
    }),
    finding({
      id: LABEL_IDS[1][0],
      label: LABEL_IDS[1][1],
      value: moved.length,
      digits: 0,
      unit: "models",
      note: `of ${models.length}; ${listText(moved) || "none"}`,
    }),
  ];
}

// ---------------------------------------------------------------- 4 duplicates and leakage

const DUPLICATES_ID: FindingId = [
  "pitfalls.duplicates.test-in-train",
  "Duplicates: FER2013 test images with an exact or near twin in Training",
];

/** The FER2013 test images with a twin in Training: exact ones, and exact or near ones. */
export function testLeaks(r: DuplicatesResult) {
  const of = (kind: string) => r.leaks.find((l) => l.split === "test" && l.kind === kind)!;
  return { exact: of("exact"), exactOrNear: of("exact or near") };
}

/** Section 4a: the share of FER2013 test images with an exact or near twin in Training. */
export function duplicatesFindings(o: Outcome<DuplicatesResult>): Finding[] {
  if (o.value === null) return missingFindings([DUPLICATES_ID], o.missing);
  const { exact, exactOrNear: test } = testLeaks(o.value);
  return [finding({
    id: DUPLICATES_ID[0],
    label: DUPLICATES_ID[1],
    value: test.share.estimate,
    ci: ciPair(test.share),
    unit: "share of test images",
    note:
      `${test.withDuplicate} of ${test.images}; exact ${exact.withDuplicate}; dHash ≤ ${o.value.maxDistance}; bootstrap 95 % CI`,
  })];
}

const PHOTO_ID: FindingId = [
  "pitfalls.duplicates.expw-face-split",
  "Leakage: ExpW test faces whose photograph has a training face, face-level split",
];

/** Section 4b: the share of ExpW test faces a face-level split leaks through their photograph. */
export function photoLeakFindings(o: Outcome<PhotoLeakResult>): Finding[] {
  if (o.value === null) return missingFindings([PHOTO_ID], o.missing);
  const f = o.value.byFace;
  return [finding({
    id: PHOTO_ID[0],
    label: PHOTO_ID[1],
    value: f.share.estimate,
    ci: ciPair(f.share),
    unit: "share of test faces",
    note: `${f.sharedGroups} photographs straddle; the kit's split: ${o.value.kit.sharedGroups}`,
  })];
}

const CONTAMINATION_ID: FindingId = [
  "pitfalls.contamination.flagged",
  "Contamination audit: models flagged as likely trained on FER2013 test",
];

/** Section 4c: how many models are flagged, then each audited model's match share. */
export function contaminationSectionFindings(o: Outcome<ContaminationRow[]>): Finding[] {
  if (o.value === null) return missingFindings([CONTAMINATION_ID], o.missing);
  const rows = o.value;
  const flagged = rows.filter((r) => r.flagged).map((r) => r.model);
  return [
    finding({
      id: CONTAMINATION_ID[0],
      label: CONTAMINATION_ID[1],
      value: flagged.length,
      digits: 0,
      unit: "models",
      note: listText(flagged) || "none",
    }),
    ...rows.filter((x) => !x.reference).map((r) =>
      finding({
        id: `pitfalls.contamination.${r.model}`,
        label: `Contamination audit: ${r.model} matches FER2013's label where FER+ disagrees`,
        value: r.audit.matchA.estimate,
        ci: ciPair(r.audit.matchA),
        unit: "share",
        note: `${r.audit.disagreeing} disagreeing test images; ${
          r.flagged ? "flagged" : "not flagged"
        }`,
      })
    ),
  ];
}

// ---------------------------------------------------------------- 5 metric choice

const METRIC_IDS: readonly FindingId[] = [
  [
    "pitfalls.metrics.baseline-accuracy",
    "Metric choice: accuracy of always predicting the majority class",
  ],
  ["pitfalls.metrics.baseline-kappa", "Metric choice: Cohen's κ of the same baseline"],
];

/** Section 5: the majority-class baseline's accuracy and its κ (the panel's last row). */
export function metricChoiceFindings(
  o: Outcome<MetricChoiceResult>,
): Finding[] {
  if (o.value === null) return missingFindings(METRIC_IDS, o.missing);
  const { rows, dataset, baseline } = o.value;
  const b = rows[rows.length - 1].panel;
  return [
    finding({
      id: METRIC_IDS[0][0],
      label: `${METRIC_IDS[0][1]} (${baseline}, ${dataset})`,
      value: b.accuracy.estimate,
      ci: ciPair(b.accuracy),
      unit: "accuracy",
      note: `n = ${b.n}; bootstrap 95 % CI`,
    }),
    finding({
      id: METRIC_IDS[1][0],
      label: METRIC_IDS[1][1],
      value: b.cohenKappa.estimate,
      unit: "κ",
      note: `balanced accuracy ${b.balancedAccuracy.estimate.toFixed(3)}, macro-F1 ${
        b.macroF1.estimate.toFixed(3)
      }`,
    }),
  ];
}

// ---------------------------------------------------------------- 6 calibration

const CALIBRATION_ID: FindingId = [
  "pitfalls.calibration.max-ece",
  "Calibration: largest expected calibration error",
];

/** The least calibrated model (largest ECE; the first such). */
export function leastCalibrated(rows: readonly CalibrationRow[]): CalibrationRow | undefined {
  return largest(rows, (r) => r.calibration.ece.estimate);
}

/** Section 6: the largest expected calibration error, with its interval. */
export function calibrationFindings(
  o: Outcome<CalibrationSectionResult>,
): Finding[] {
  if (o.value === null) return missingFindings([CALIBRATION_ID], o.missing);
  const worst = leastCalibrated(o.value.rows)!;
  return [finding({
    id: CALIBRATION_ID[0],
    label: `${CALIBRATION_ID[1]} (${o.value.dataset} test; ${worst.model})`,
    value: worst.calibration.ece.estimate,
    ci: ciPair(worst.calibration.ece),
    unit: "ECE",
    note: `n = ${worst.calibration.n}; 15 bins; bootstrap 95 % CI`,
  })];
}

// ---------------------------------------------------------------- 7 small test sets

const SMALL_TEST_IDS: readonly FindingId[] = [
  [
    "pitfalls.small-test.width-ratio",
    "Small test sets: CK+ interval width by subject ÷ by image (widest model)",
  ],
  [
    "pitfalls.small-test.images-needed",
    "Small test sets: FER2013 test images a difference in accuracy needs (paired)",
  ],
];

function width(x: BootstrapInterval): number {
  return x.upper - x.lower;
}

/** How much wider a CK+ interval is resampling subjects than resampling images. */
export function widthRatio(r: SmallTestRow): number {
  return width(r.bySubject) / width(r.byImage);
}

/** The CK+ row whose interval widens most by subject (the first such). */
export function widestBySubject(rows: readonly SmallTestRow[]): SmallTestRow | undefined {
  return largest(rows, widthRatio);
}

/** Section 7: the widest by-subject ÷ by-image ratio on CK+; the images a difference needs. */
export function smallTestFindings(
  o: Outcome<SmallTestResult>,
): Finding[] {
  if (o.value === null) return missingFindings(SMALL_TEST_IDS, o.missing);
  const [[ratioId, ratioLabel], [sizeId, sizeLabel]] = SMALL_TEST_IDS;
  const widest = widestBySubject(o.value.ckplus);
  const size = o.value.sizes[0];
  return [
    finding(
      widest
        ? {
          id: ratioId,
          label: `${ratioLabel} (${widest.model})`,
          value: widthRatio(widest),
          digits: 2,
          unit: "ratio",
          note: `by subject ${intervalText(widest.bySubject)}, by image ${
            intervalText(widest.byImage)
          }; ${widest.subjects} subjects`,
        }
        : { id: ratioId, label: ratioLabel, value: null, note: "no CK+ predictions" },
    ),
    finding(
      size
        ? {
          id: sizeId,
          label: sizeLabel.replace(
            "a difference",
            `a ${Number((100 * o.value.delta).toFixed(1))}-point difference`,
          ),
          value: size.paired,
          digits: 0,
          unit: "images",
          note: `${size.models}; discordance ${
            pct(size.discordance)
          }; separate test sets: ${size.independent} each`,
        }
        : { id: sizeId, label: sizeLabel, value: null, note: "fewer than two models on FER2013" },
    ),
  ];
}
