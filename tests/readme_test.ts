/**
 * The README states questions and methods, never results (results come from runs: the
 * scorecard, `deno task kit claims`). This test reads the README's prose (code blocks and code
 * spans removed) and fails on any sentence that states a measured result: a percentage, a κ or
 * accuracy value, or one of the verdict phrases the papers' claims are made of.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PROJECT_ROOT } from "../lib/config.ts";

/**
 * The README's prose: fenced code blocks, inline code spans and interval levels ("95 %
 * intervals", a method, not a result) removed.
 */
export function prose(markdown: string): string {
  return markdown.replace(/```[\s\S]*?```/g, " ").replace(/`[^`\n]*`/g, " ")
    .replace(/\d+\s*%\s+(?:(?:bootstrap|percentile|confidence)\s+)*(?:intervals?|CIs?)\b/gi, " ");
}

/** Patterns of a result sentence, with what each catches. */
const RESULT_PATTERNS: [RegExp, string][] = [
  [/\d+(?:[.,]\d+)?\s*(?:%|pp\b|percent)/i, "a percentage"],
  [
    /(?:κ|kappa|alpha|α|accuracy|F1|recall)\s*(?:of|=|≈|~|around|about|near)?\s*[0-9]?\.\d+/i,
    "a metric value",
  ],
  [/\b(?:far|well|much)\s+(?:below|above|lower|higher)\b/i, "a comparison of results"],
  [/\bfails?\s+on\b|\bloses?\s+much\b|\b(?:recogni[sz]ed|agree)\s+poorly\b/i, "a verdict phrase"],
];

/** The sentences of `text` that state a result, with the pattern that caught each. */
export function resultSentences(text: string): { sentence: string; why: string }[] {
  const out: { sentence: string; why: string }[] = [];
  for (const sentence of prose(text).split(/(?<=[.!?])\s+|\n\s*\n/)) {
    for (const [re, why] of RESULT_PATTERNS) {
      if (re.test(sentence)) out.push({ sentence: sentence.trim().replace(/\s+/g, " "), why });
    }
  }
  return out;
}

Deno.test("README states no results (the scorecard does)", async () => {
  const readme = await Deno.readTextFile(join(PROJECT_ROOT, "README.md"));
  assert.deepEqual(resultSentences(readme), []);
  assert.match(readme, /fer-kit claims/, "the README points at the scorecard");
});

Deno.test("resultSentences catches typed results", () => {
  const typed = [
    "CNNs trained on FER-2013 reach about 60-70 % and fail on neutral.",
    "Models agree at a Fleiss' kappa far below the annotators'.",
    "Fleiss' κ 0.618 among the models.",
    "Fear, disgust and sadness are recognised poorly.",
    "Accuracy = .72 on FER2013.",
  ];
  for (const t of typed) assert.ok(resultSentences(t).length > 0, t);
  const fine = [
    "Does a model keep its accuracy on another dataset?",
    "Fleiss' and Light's κ for the models and the crowd, on the same images.",
    "Run `kit metrics --ci 1000` for 95 % intervals.",
  ];
  for (const t of fine) assert.deepEqual(resultSentences(t), [], t);
});
