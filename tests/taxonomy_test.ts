/**
 * lib/taxonomy.ts: the canonical order, every dataset code table (checked against the
 * publishers' documented codes, written out here independently), synonyms, and errors.
 */
import assert from "node:assert/strict";
import {
  BASIC7,
  DATASET_CODES,
  emotionIndex,
  EMOTIONS,
  FERPLUS_VOTE_COLUMNS,
  isEmotion,
  LabelError,
  mapDatasetCode,
  normalizeLabel,
  originText,
  SYNONYMS,
} from "../lib/taxonomy.ts";

Deno.test("canonical order: FER2013's seven, then contempt", () => {
  assert.deepEqual(
    [...EMOTIONS],
    ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "contempt"],
  );
  assert.deepEqual([...BASIC7], EMOTIONS.slice(0, 7));
  assert.equal(emotionIndex("contempt"), 7);
  assert.equal(emotionIndex("happy"), 3);
  assert.ok(isEmotion("fear"));
  assert.ok(!isEmotion("Fear"));
  assert.ok(!isEmotion("unknown"));
});

/** Publisher codes as documented (FER2013 Kaggle page, ExpW readme, RAF-DB, AffectNet paper). */
const DOCUMENTED: Record<string, [string, string | null][]> = {
  fer2013: [
    ["0", "angry"],
    ["1", "disgust"],
    ["2", "fear"],
    ["3", "happy"],
    ["4", "sad"],
    ["5", "surprise"],
    ["6", "neutral"],
  ],
  expw: [
    ["0", "angry"],
    ["1", "disgust"],
    ["2", "fear"],
    ["3", "happy"],
    ["4", "sad"],
    ["5", "surprise"],
    ["6", "neutral"],
  ],
  rafdb: [
    ["1", "surprise"],
    ["2", "fear"],
    ["3", "disgust"],
    ["4", "happy"],
    ["5", "sad"],
    ["6", "angry"],
    ["7", "neutral"],
  ],
  affectnet: [
    ["0", "neutral"],
    ["1", "happy"],
    ["2", "sad"],
    ["3", "surprise"],
    ["4", "fear"],
    ["5", "disgust"],
    ["6", "angry"],
    ["7", "contempt"],
    ["8", null],
    ["9", null],
    ["10", null],
  ],
  ckplus: [
    ["anger", "angry"],
    ["contempt", "contempt"],
    ["disgust", "disgust"],
    ["fear", "fear"],
    ["happy", "happy"],
    ["sadness", "sad"],
    ["surprise", "surprise"],
  ],
  ferplus: [
    ["neutral", "neutral"],
    ["happiness", "happy"],
    ["surprise", "surprise"],
    ["sadness", "sad"],
    ["anger", "angry"],
    ["disgust", "disgust"],
    ["fear", "fear"],
    ["contempt", "contempt"],
    ["unknown", null],
    ["NF", null],
  ],
};

Deno.test("every dataset code table maps exactly the documented codes", () => {
  assert.deepEqual(Object.keys(DATASET_CODES).sort(), Object.keys(DOCUMENTED).sort());
  for (const [ds, pairs] of Object.entries(DOCUMENTED)) {
    assert.deepEqual(
      Object.keys(DATASET_CODES[ds]).sort(),
      pairs.map(([c]) => c).sort(),
      `${ds}: code set`,
    );
    for (const [code, want] of pairs) {
      assert.equal(mapDatasetCode(ds, code, { file: "t" }), want, `${ds} ${code}`);
      // Codes are matched after trimming whitespace.
      assert.equal(mapDatasetCode(ds, ` ${code} `, { file: "t" }), want);
    }
  }
});

Deno.test("FER+ vote columns are in the published order and all have a mapping", () => {
  assert.deepEqual(
    [...FERPLUS_VOTE_COLUMNS],
    DOCUMENTED.ferplus.map(([c]) => c),
  );
  for (const c of FERPLUS_VOTE_COLUMNS) assert.ok(Object.hasOwn(DATASET_CODES.ferplus, c));
});

Deno.test("normalizeLabel: canonical names, synonyms and any case", () => {
  for (const e of EMOTIONS) {
    assert.equal(normalizeLabel(e, { file: "t" }), e);
    assert.equal(normalizeLabel(e.toUpperCase(), { file: "t" }), e);
    for (const s of SYNONYMS[e]) assert.equal(normalizeLabel(`  ${s} `, { file: "t" }), e);
  }
  const cases: [string, string][] = [
    ["Anger", "angry"],
    ["HAPPINESS", "happy"],
    ["Sadness", "sad"],
    ["Surprised", "surprise"],
    ["Fearful", "fear"],
    ["Disgusted", "disgust"],
    ["Contemptuous", "contempt"],
    ["Neutral", "neutral"],
  ];
  for (const [raw, want] of cases) assert.equal(normalizeLabel(raw, { file: "t" }), want);
  // No synonym belongs to two emotions.
  const all = EMOTIONS.flatMap((e) => SYNONYMS[e]);
  assert.equal(new Set(all).size, all.length);
});

Deno.test("unknown labels and codes are LabelErrors naming file, line and field", () => {
  assert.throws(
    () => normalizeLabel("bored", { file: "m.csv", line: 7, field: "label" }),
    (e: unknown) => {
      assert.ok(e instanceof LabelError);
      assert.match(e.message, /^m\.csv:7 \(field label\): unknown label "bored"/);
      assert.deepEqual(e.origin, { file: "m.csv", line: 7, field: "label" });
      return true;
    },
  );
  assert.throws(
    () => mapDatasetCode("fer2013", "7", { file: "f.csv", line: 3 }),
    /^LabelError: f\.csv:3: unknown fer2013 label code "7"/,
  );
  assert.throws(() => mapDatasetCode("rafdb", "0", { file: "r.txt", line: 1 }), LabelError);
  assert.throws(() => mapDatasetCode("nope", "0", { file: "x" }), /no code table/);
  assert.equal(originText({ file: "a", line: 2 }), "a:2");
  assert.equal(originText({ file: "a" }), "a");
});
