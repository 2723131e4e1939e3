/**
 * The claims of the three reproduced papers, as data: what each paper says, what would confirm
 * it, which findings test it and the rule that turns them into a verdict (lib/claims/rules.ts).
 *
 * The findings of claim `<id>` are those whose id starts with `claim.<id>.`; they are computed by
 * lib/claims/evidence.ts from the cached predictions, emitted by the notebook named here, and
 * collected by the report. The `quote` is the claim as the kit states it (a close paraphrase of
 * the paper's statement, not a verbatim quotation: the papers' texts are not stored here).
 */
import type { VerdictRule } from "./rules.ts";

/** The reproduced papers (see docs/claims.md for the references). */
export type Paper = "jamroz2024" | "benchmark9" | "tao2023";

/** Full references of the papers, for tables and the report. */
export const PAPERS: Readonly<Record<Paper, string>> = {
  jamroz2024: "Jamróz, Wysocka & Garbat (2024), cross-dataset FER",
  benchmark9: "Nine-model open FER benchmark",
  tao2023: "Tao (2023), FER-2013 CNNs",
};

/** One claim of a paper. */
export interface Claim {
  /** Stable id, e.g. "jamroz-cross-drop"; its findings are `claim.<id>.*`. */
  id: string;
  paper: Paper;
  /** The notebook that tests it and ends with its verdict (slug prefix, e.g. "01"). */
  notebook: string;
  /** The claim, in the paper's terms (paraphrase). */
  quote: string;
  /** What the kit measures and what would confirm the claim. */
  confirm: string;
  rule: VerdictRule;
  /** Why the claim cannot be tested when none of its findings was computed (default: generic). */
  whenMissing?: string;
}

/** Where weights or data the papers used cannot be had here. */
const NO_RAFDB = "RAF-DB is not obtainable here (licence-gated; not under the data root)";

/** Every claim the scorecard tests, grouped by paper. */
export const CLAIMS: readonly Claim[] = [
  {
    id: "jamroz-cross-drop",
    paper: "jamroz2024",
    notebook: "01",
    quote: "Networks trained on one dataset lose accuracy when tested on another dataset.",
    confirm: "accuracy on the training dataset's test split minus accuracy on each test set " +
      "of other faces (FER2013, CK+, ExpW), for every model whose card names its training set " +
      "and whose own-test accuracy is not flagged by the contamination audit; FER+ holds " +
      "FER2013's faces, so it is never the other test set (FER2013 ↔ FER+ is a label change, " +
      "not a domain change, and counts once). The drops of notebook 01's table. Confirmed where " +
      "the drop's interval is above 0.",
    rule: { kind: "direction", side: "above", threshold: 0 },
  },
  {
    id: "jamroz-probe-transfer",
    paper: "jamroz2024",
    notebook: "01",
    quote: "The drop comes from the training data: the same network trained on another dataset " +
      "does worse on a test set than when trained on that test set's own dataset.",
    confirm: "linear probes on one frozen backbone, compared within a test-set column: accuracy " +
      "on test set B of the probe trained on B minus that of the probe trained on A, for every " +
      "pair of FER2013, CK+ and ExpW (FER+ holds FER2013's faces and counts once), as notebook " +
      "01 shows them. Confirmed where the interval is above 0.",
    rule: { kind: "direction", side: "above", threshold: 0 },
    whenMissing: "the probe matrices were not computed in this run (notebook 01 computes them; " +
      "`deno task kit claims --probes` reads or computes them)",
  },
  {
    id: "jamroz-weak-classes",
    paper: "jamroz2024",
    notebook: "02",
    quote: "Fear, sadness and disgust are recognised poorly.",
    confirm: "per model on FER2013 test: mean F1 of fear, sad and disgust minus mean F1 of the " +
      "other four basic classes (paired bootstrap). Confirmed where the interval is below 0.",
    rule: { kind: "direction", side: "below", threshold: 0 },
  },
  {
    id: "jamroz-accuracy-hides",
    paper: "jamroz2024",
    notebook: "02",
    quote: "Accuracy overstates performance on imbalanced test sets; per-class F1 reveals the " +
      "minority classes.",
    confirm: "accuracy minus macro-F1 on the imbalanced test sets (FER2013, CK+), per model, " +
      "paired bootstrap. Confirmed where the interval is above 0.",
    rule: { kind: "direction", side: "above", threshold: 0 },
  },
  {
    id: "jamroz-related-confusions",
    paper: "jamroz2024",
    notebook: "02",
    quote: "Related emotions are confused with one another (fear with surprise, disgust with " +
      "anger, sadness with neutral).",
    confirm: "on FER2013 test, all models pooled: the share of a class's errors that go to its " +
      "named partner minus 1/6 (errors spread evenly over the six other classes), cluster " +
      "bootstrap by image. Confirmed where the interval is above 0.",
    rule: { kind: "direction", side: "above", threshold: 0 },
  },
  {
    id: "jamroz-imbalance-cause",
    paper: "jamroz2024",
    notebook: "02",
    quote: "Class imbalance in the training data is a cause of the poor recognition of minority " +
      "classes.",
    confirm: "per FER2013-trained model: Spearman's ρ between a class's share of FER2013 " +
      "training images and its recall on FER2013 test (bootstrap over test images). This is a " +
      "correlation, not a causal test. Confirmed where the interval is above 0.",
    rule: { kind: "direction", side: "above", threshold: 0 },
  },
  {
    id: "benchmark-low-kappa",
    paper: "benchmark9",
    notebook: "03",
    quote: "Open FER models agree poorly with one another: Fleiss' κ around 0.2 on every dataset.",
    confirm: "Fleiss' κ among the models (the open pretrained models and the kit's FER2013 CNNs; " +
      "the training-matrix networks are left out) per test set (FER2013 and FER+ counted once: FER2013 " +
      "test, all its faces; CK+; ExpW), bootstrap over images. Confirmed where the interval " +
      "meets [0.1, 0.3].",
    rule: { kind: "near", target: 0.2, tolerance: 0.1 },
  },
  {
    id: "benchmark-no-dominant-model",
    paper: "benchmark9",
    notebook: "03",
    quote: "No single model is best on every dataset.",
    confirm: "per test set, the accuracy lead of the best model over the runner-up (paired " +
      "bootstrap); the finding is the largest share of test sets any one model leads with an " +
      "interval above 0. Confirmed when it is below 1 (no model leads everywhere).",
    rule: { kind: "direction", side: "below", threshold: 1 },
  },
  {
    id: "benchmark-rafdb-lowest",
    paper: "benchmark9",
    notebook: "03",
    quote: "Performance is lowest on RAF-DB.",
    confirm: "mean accuracy over models on RAF-DB minus the lowest mean accuracy on the other " +
      "test sets.",
    rule: { kind: "not-testable", reason: NO_RAFDB },
  },
  {
    id: "benchmark-ensemble-mean",
    paper: "benchmark9",
    notebook: "03",
    quote: "An ensemble that averages the models' probabilities beats the single models.",
    confirm: "per test set, accuracy of the mean-probability ensemble minus that of the best " +
      "single model on it (paired bootstrap); on FER2013 test without the models the " +
      "contamination audit flags. Confirmed where the interval is above 0.",
    rule: { kind: "direction", side: "above", threshold: 0 },
  },
  {
    id: "benchmark-ensemble-mode",
    paper: "benchmark9",
    notebook: "03",
    quote: "An ensemble taking the models' most frequent answer, falling back on the most " +
      "confident model when there is no single mode, beats the single models.",
    confirm: "per test set, accuracy of the mode-with-confidence-fallback ensemble minus that of " +
      "the best single model (paired bootstrap); on FER2013 test without the models the " +
      "contamination audit flags. Confirmed where the interval is above 0.",
    rule: { kind: "direction", side: "above", threshold: 0 },
  },
  {
    id: "benchmark-sota-models",
    paper: "benchmark9",
    notebook: "03",
    quote: "The benchmarked state-of-the-art networks (POSTER++, DAN, DMUE and others) reach " +
      "their published accuracies on their datasets.",
    confirm: "each network's accuracy on its dataset's test split against its published value.",
    rule: {
      kind: "not-testable",
      reason: "POSTER++, DAN and DMUE weights are not obtainable here (no npm package; no " +
        "network), and their datasets (RAF-DB, AffectNet) are not at hand",
    },
  },
  {
    id: "tao-mobilenet-60",
    paper: "tao2023",
    notebook: "04",
    quote: "A MobileNet-based CNN trained on FER-2013 reaches about 60 % test accuracy.",
    confirm: "accuracy of the kit's MobileNetV2 trained on FER2013 (models/recipes), on FER2013 " +
      "test. Confirmed where the interval meets [0.55, 0.65].",
    rule: { kind: "near", target: 0.6, tolerance: 0.05 },
  },
  {
    id: "tao-selfbuilt-60",
    paper: "tao2023",
    notebook: "04",
    quote: "A self-built CNN trained on FER-2013 reaches about 60 % test accuracy.",
    confirm: "accuracy of the kit's own small CNN trained on FER2013, on FER2013 test. " +
      "Confirmed where the interval meets [0.55, 0.65].",
    rule: { kind: "near", target: 0.6, tolerance: 0.05 },
  },
  {
    id: "tao-neutral-weakness",
    paper: "tao2023",
    notebook: "04",
    quote: "The FER-2013 CNNs fail on the neutral class.",
    confirm: "per FER2013-trained CNN: recall of neutral minus the mean recall of the other six " +
      "classes on FER2013 test (paired bootstrap). Confirmed where the interval is below 0.",
    rule: { kind: "direction", side: "below", threshold: 0 },
  },
  {
    id: "tao-ambiguous-faces",
    paper: "tao2023",
    notebook: "04",
    quote: "Ambiguous facial features are a cause of the CNNs' errors.",
    confirm: "per FER2013-trained CNN: the FER+ crowd's share of votes for the original label " +
      "on the faces the CNN gets wrong minus that on the faces it gets right (bootstrap over " +
      "images). Confirmed where the interval is below 0 (errors fall on faces the crowd finds " +
      "ambiguous).",
    rule: { kind: "direction", side: "below", threshold: 0 },
  },
  {
    id: "tao-saliency-regions",
    paper: "tao2023",
    notebook: "04",
    quote: "Saliency maps show the networks attend to expression regions (eyes, brows, mouth).",
    confirm: "a region criterion measured on Tao's own networks' maps.",
    rule: {
      kind: "not-testable",
      reason: "the paper gives no measurable region criterion and its networks are not " +
        "available; notebook 04 shows the kit's own networks' RISE maps and their faithfulness " +
        "instead",
    },
  },
];

/** The claims of one notebook (slug prefix "01".."04"), in registry order. */
export function claimsOfNotebook(notebook: string): Claim[] {
  return CLAIMS.filter((c) => notebook.startsWith(c.notebook));
}

/** True when a finding id belongs to the claim. */
export function findingOfClaim(claimId: string, findingId: string): boolean {
  return findingId.startsWith(`claim.${claimId}.`);
}
