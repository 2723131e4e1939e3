/**
 * Notebook 04's saliency views: what each run computed, class-conditional mean maps, the
 * representative cases, deletion/insertion faithfulness and the randomisation sanity check.
 * Each view takes the list of runs and says when it is empty.
 */
import { montagePng, type MontageTile } from "../saliency/mod.ts";
import {
  type FaithfulnessScores,
  meanParts,
  type SaliencyRun,
  type SaliencyStudy,
  tileParts,
  upperShare,
} from "../studies/saliency.ts";
import { studyInterval } from "../studies/scoring.ts";
import { show, showMarkdown, showPng, showTable } from "./display.ts";
import { intervalText, listText, pct } from "./format.ts";
import { lineChart } from "./plots.ts";

/**
 * Mean face and mean map per true label (top row, map of the true class) and per prediction
 * (bottom row, map of the predicted class), as one PNG.
 */
export async function classMeansPng(st: SaliencyStudy, scale = 2): Promise<Uint8Array> {
  const tile = (m: SaliencyStudy["byLabel"][number]): MontageTile => ({
    ...meanParts(m, st.width, st.height),
    caption: `${m.className} (${m.count})`,
  });
  return await montagePng([st.byLabel.map(tile), st.byPred.map(tile)], {
    rowTitles: ["by true label", "by prediction"],
    scale,
  });
}

const CASE_KINDS = ["correct", "typical wrong", "most confident wrong"] as const;

/**
 * Per true class (rows): the most confident correct faces, typical errors and the most confident
 * errors, each with the map of its predicted class, as one PNG.
 */
export async function casesPng(st: SaliencyStudy, scale = 2): Promise<Uint8Array> {
  const k = st.settings.casesPerClass;
  const rows = st.cases.map((c) =>
    [c.correct, c.wrong, c.mostConfidentWrong].flatMap((list, kind) =>
      Array.from({ length: k }, (_, j): MontageTile | null => {
        const e = list[j];
        if (!e) return null;
        return {
          ...tileParts(st.tiles[e.id], st.width, st.height),
          caption: kind === 0 ? e.confidence.toFixed(2) : `→${e.pred} ${e.confidence.toFixed(2)}`,
        };
      })
    )
  );
  const titles = Array.from({ length: 3 * k }, (_, j) => (j % k === 0 ? CASE_KINDS[j / k] : ""));
  return await montagePng(rows, {
    rowTitles: st.cases.map((c) => c.className),
    columnTitles: titles,
    scale,
  });
}

function present(runs: readonly SaliencyRun[]): SaliencyStudy[] {
  return runs.map((r) => r.study);
}

/** One line per run: faces, settings, and whether it came from the cache. */
export async function showSaliencyRuns(runs: readonly SaliencyRun[]): Promise<void> {
  if (runs.length === 0) {
    return showMarkdown(
      "No saliency study in this cell (no such FER2013 CNN, or no FER2013 test data).",
    );
  }
  for (const r of runs) {
    const st = r.study;
    await showMarkdown(
      `**${st.model}**: ${st.items.length} test faces (${st.settings.perClass} per class, seed ` +
        `${st.settings.seed}), centred RISE with ${st.settings.riseN} masks per face; ` +
        (r.cacheHit ? "read from the study cache." : `computed in ${r.seconds.toFixed(0)} s.`) +
        (st.unreadable.length ? ` ${st.unreadable.length} unreadable faces skipped.` : ""),
    );
  }
}

/** Mean maps by true label and by prediction, and the upper-half share of each. */
export async function showClassMeans(runs: readonly SaliencyRun[]): Promise<void> {
  const studies = present(runs);
  if (studies.length === 0) return showMarkdown("No saliency study: no mean maps.");
  for (const st of studies) {
    const parts = (m: SaliencyStudy["byLabel"][number]) => meanParts(m, st.width, st.height);
    await showPng(await classMeansPng(st), `${st.model} class-mean RISE maps`);
    const rows = st.byLabel.map((m) => {
      const pred = st.byPred.find((x) => x.className === m.className);
      return {
        class: m.className,
        faces: m.count,
        "upper-half share (true class)": upperShare(parts(m).map),
        "upper-half share (predicted as)": pred ? upperShare(parts(pred).map) : NaN,
      };
    });
    await showTable(rows, {
      caption: `${st.model}: share of mean saliency in the upper half of the face`,
      formats: {
        "upper-half share (true class)": "percent",
        "upper-half share (predicted as)": "percent",
      },
    });
    const byShare = [...rows].sort((a, b) =>
      a["upper-half share (true class)"] - b["upper-half share (true class)"]
    );
    const low = byShare[0], high = byShare.at(-1)!;
    await showMarkdown(
      `${st.model} relies most on the lower face for *${low.class}* (` +
        `${pct(1 - low["upper-half share (true class)"], 0)} of the mass in the lower half) and ` +
        `most on the upper face for *${high.class}* (${
          pct(high["upper-half share (true class)"], 0)
        } in the upper half).`,
    );
  }
}

/** Per class: confident correct faces, typical and most confident errors, with their maps. */
export async function showCases(runs: readonly SaliencyRun[]): Promise<void> {
  const studies = present(runs);
  if (studies.length === 0) return showMarkdown("No saliency study: no cases.");
  for (const st of studies) {
    await showPng(await casesPng(st), `${st.model} representative cases`);
    const neutral = st.cases.find((c) => c.className === "neutral");
    if (!neutral) continue;
    const wrong = [...neutral.mostConfidentWrong, ...neutral.wrong];
    const left = wrong.reduce((a, e) => a + e.labelProb, 0) / Math.max(1, wrong.length);
    await showMarkdown(
      `${st.model}: the most confident neutral errors are called ${
        listText(neutral.mostConfidentWrong.map((e) => `*${e.pred}* (${e.confidence.toFixed(2)})`))
      }; over the ${wrong.length} neutral errors shown the probability left for neutral ` +
        `averages ${left.toFixed(2)}.`,
    );
  }
}

function mean(a: readonly number[]): number {
  return a.reduce((x, y) => x + y, 0) / a.length;
}

/** Bootstrap interval of the mean of per-face values. */
function meanInterval(a: readonly number[]) {
  return studyInterval(a.length, (idx) => mean(Array.from(idx, (i) => a[i])));
}

/** Bootstrap interval of the mean paired difference a − b over faces. */
function diffInterval(a: readonly number[], b: readonly number[]) {
  return studyInterval(a.length, (idx) => mean(Array.from(idx, (i) => a[i] - b[i])));
}

const MAP_KINDS = ["rise", "occlusion", "random"] as const;

/** Deletion/insertion areas of RISE, occlusion and a random map, and their mean curves. */
export async function showFaithfulness(runs: readonly SaliencyRun[]): Promise<void> {
  const studies = present(runs);
  if (studies.length === 0) return showMarkdown("No saliency study: no faithfulness scores.");
  for (const st of studies) {
    const f = st.faithfulness;
    const name = {
      rise: `RISE (${st.settings.faithfulnessRiseN} masks, centred)`,
      occlusion: "occlusion",
      random: "random (smooth)",
    };
    await showTable(
      MAP_KINDS.map((k) => ({
        map: name[k],
        faces: f[k].deletion.length,
        "deletion AUC (lower is better)": intervalText(meanInterval(f[k].deletion)),
        "insertion AUC (higher is better)": intervalText(meanInterval(f[k].insertion)),
      })),
      {
        caption: `${st.model}: faithfulness on ${f.images.length} FER2013 test faces ` +
          "(95 % bootstrap intervals over faces)",
      },
    );
    const dDel = diffInterval(f.rise.deletion, f.occlusion.deletion);
    const dIns = diffInterval(f.rise.insertion, f.occlusion.insertion);
    const rDel = diffInterval(f.rise.deletion, f.random.deletion);
    await showMarkdown(
      `RISE − occlusion: deletion ${intervalText(dDel)}, insertion ${intervalText(dIns)}. ` +
        `RISE − random: deletion ${intervalText(rDel)}. ` +
        (dDel.upper < 0
          ? "RISE deletes the evidence faster than occlusion. "
          : dDel.lower > 0
          ? "Occlusion deletes the evidence faster than RISE. "
          : "Deletion does not separate RISE and occlusion on these faces. ") +
        (rDel.upper < 0
          ? "RISE beats the random map on deletion."
          : "RISE does not beat the random map on deletion here."),
    );
    for (const kind of ["deletion", "insertion"] as const) {
      const pick = (s: FaithfulnessScores) =>
        kind === "deletion" ? s.deletionCurve : s.insertionCurve;
      await show(
        lineChart(MAP_KINDS.map((k) => ({ name: name[k], points: pick(f[k]) })), {
          title: `${st.model}: mean ${kind} curve over ${f.images.length} faces`,
          xLabel: `share of pixels ${kind === "deletion" ? "deleted" : "inserted"}, ` +
            "most salient first",
          yLabel: "probability of the predicted class",
          xDomain: [0, 1],
          yDomain: [0, 1],
          width: 520,
        }),
        `${st.model} ${kind} curves`,
      );
    }
  }
}

/** Spearman's ρ between the trained and the randomised network's maps, step by step. */
export async function showRandomization(runs: readonly SaliencyRun[]): Promise<void> {
  const studies = present(runs);
  if (studies.length === 0) return showMarkdown("No saliency study: no randomisation check.");
  for (const st of studies) {
    const r = st.randomization;
    if (!r) {
      await showMarkdown(
        `${st.model}: randomisation check not run (${st.randomizationError ?? "unknown reason"}).`,
      );
      continue;
    }
    await showTable(
      r.steps.map((s) => ({
        "layers randomised (from the output)": `${s.layersRandomized} / ${r.layers.length}`,
        "deepest randomised layer": s.deepestLayer,
        "Spearman ρ": `${s.spearman.mean.toFixed(3)} ± ${s.spearman.sd.toFixed(3)}`,
        "Spearman ρ of |map|": `${s.spearmanAbs.mean.toFixed(3)} ± ${s.spearmanAbs.sd.toFixed(3)}`,
        "top-1 class unchanged": s.top1Agreement,
      })),
      {
        caption: `${st.model}: cascading randomisation (weights ${
          r.weights === "shuffle" ? "shuffled" : "redrawn"
        }, seed ${r.seed}; ρ mean ± SD over ${r.steps[0]?.perImage.length ?? 0} faces)`,
        formats: { "top-1 class unchanged": "percent" },
      },
    );
    const first = r.steps[0];
    const survives = Math.max(...r.steps.map((s) => Math.abs(s.spearman.mean))) >= 0.5;
    await showMarkdown(
      `Randomising the top ${first.layersRandomized} of ${r.layers.length} layers already brings ` +
        `the rank correlation to ${first.spearman.mean.toFixed(2)} (all steps: ${
          listText(r.steps.map((s) => s.spearman.mean.toFixed(2)))
        }): ` +
        (survives
          ? "some maps survive the randomisation, so part of what they show is the image, not the model."
          : "the maps depend on the trained weights, as they should."),
    );
  }
}
