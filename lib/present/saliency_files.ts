/**
 * The files `kit saliency --dataset` writes from a saliency study (lib/studies/saliency.ts): the
 * same study notebook 04 shows, written as artefacts for a paper or a folder of results; and what
 * `kit saliency --image` writes and prints for one explained image (writeImageSaliency).
 *
 *   class_means.png / .json   mean face and map per true label and per prediction
 *   cases.png / cases.csv     representative cases per class, with their predicted-class maps
 *   faithfulness.json         deletion/insertion areas per kind of map (when scored)
 *   randomization.json        the model-randomisation check (when run)
 *   summary.md / summary.json what was run, accuracy on the faces, the tables above
 */
import { join } from "node:path";
import { writeFileAtomic } from "../fsutil.ts";
import { meanSd } from "../metrics/descriptive.ts";
import {
  describeMethod,
  type ImageExplanation,
  type MethodName,
  type MethodOptions,
} from "../saliency/explain.ts";
import type { ModelCard } from "../models/card.ts";
import { type FacePixels, mapPeak, mapRaster, overlayPng } from "../saliency/mod.ts";
import { methodOptionsOf, type SaliencyStudy, upperShare } from "../studies/saliency.ts";
import { meanParts } from "../studies/saliency.ts";
import { casesPng, classMeansPng } from "./saliency.ts";

function fmt(v: number, d = 3): string {
  return Number.isFinite(v) ? v.toFixed(d) : "n/a";
}

/** What the study ran, in words (method and its settings). */
export function studyMethodText(st: SaliencyStudy): string {
  return describeMethod(st.settings.method, methodOptionsOf(st.settings), st.width, st.height);
}

function faithfulnessMarkdown(st: SaliencyStudy): string[] {
  const f = st.faithfulness;
  if (f.images.length === 0) return [];
  const rows = (["rise", "occlusion", "random"] as const).map((k) => {
    const d = meanSd(f[k].deletion), i = meanSd(f[k].insertion);
    return `| ${k} | ${f[k].deletion.length} | ${fmt(d.mean)} ± ${fmt(d.sd)} | ` +
      `${fmt(i.mean)} ± ${fmt(i.sd)} |`;
  });
  return [
    "",
    "## Faithfulness (deletion / insertion, Petsiuk et al. 2018)",
    "",
    `Explained class: the prediction; ${st.settings.steps} steps; RISE with ` +
    `${st.settings.faithfulnessRiseN} masks. Mean ± SD over faces.`,
    "",
    "| map | faces | deletion AUC (lower is better) | insertion AUC (higher is better) |",
    "| --- | ---: | ---: | ---: |",
    ...rows,
  ];
}

function randomizationMarkdown(st: SaliencyStudy): string[] {
  const r = st.randomization;
  if (r === null) return ["", `Randomisation check not run: ${st.randomizationError ?? "-"}.`];
  return [
    "",
    "## Model-randomisation check (Adebayo et al. 2018)",
    "",
    `Weights ${r.weights === "shuffle" ? "shuffled" : "redrawn"}, ${r.mode} randomisation, ` +
    `seed ${r.seed}; ${r.layers.length} parameterised layers. Spearman ρ between the trained ` +
    "and the randomised model's maps (near 0: the map depends on the weights, as it should).",
    "",
    "| layers randomised | deepest randomised layer | Spearman ρ | ρ of abs | top-1 unchanged |",
    "| ---: | --- | ---: | ---: | ---: |",
    ...r.steps.map((s) =>
      `| ${s.layersRandomized} / ${r.layers.length} | ${
        s.deepestLayer.split("/").slice(-2).join("/")
      } | ` +
      `${fmt(s.spearman.mean)} ± ${fmt(s.spearman.sd)} | ` +
      `${fmt(s.spearmanAbs.mean)} ± ${fmt(s.spearmanAbs.sd)} | ${fmt(100 * s.top1Agreement, 0)} % |`
    ),
  ];
}

/** Write every artefact of a study into `outDir`; returns summary.md's text. */
export async function writeSaliencyFiles(st: SaliencyStudy, outDir: string): Promise<string> {
  await Deno.mkdir(outDir, { recursive: true });
  const method = studyMethodText(st);
  await writeFileAtomic(join(outDir, "class_means.png"), await classMeansPng(st, 1));
  const means = (list: SaliencyStudy["byLabel"]) =>
    list.map((m) => {
      const map = meanParts(m, st.width, st.height).map;
      return {
        class: m.className,
        count: m.count,
        upperShare: upperShare(map),
        width: st.width,
        height: st.height,
        values: m.map,
      };
    });
  await writeFileAtomic(
    join(outDir, "class_means.json"),
    JSON.stringify({
      model: st.model,
      dataset: st.dataset,
      method,
      normalisation: "each map scaled to 0..1 (min-max) before averaging",
      byLabel: means(st.byLabel),
      byPrediction: means(st.byPred),
    }),
  );
  await writeFileAtomic(join(outDir, "cases.png"), await casesPng(st, 1));
  const csv = ["class,kind,id,label,pred,confidence,label_prob"];
  for (const c of st.cases) {
    const kinds = [["correct", c.correct], ["wrong", c.wrong], [
      "most_confident_wrong",
      c.mostConfidentWrong,
    ]] as const;
    for (const [kind, list] of kinds) {
      for (const e of list) {
        csv.push(
          [c.className, kind, e.id, e.label, e.pred, fmt(e.confidence, 6), fmt(e.labelProb, 6)]
            .join(","),
        );
      }
    }
  }
  await writeFileAtomic(join(outDir, "cases.csv"), csv.join("\n") + "\n");
  if (st.faithfulness.images.length > 0) {
    await writeFileAtomic(join(outDir, "faithfulness.json"), JSON.stringify(st.faithfulness));
  }
  if (st.randomization !== null) {
    await writeFileAtomic(join(outDir, "randomization.json"), JSON.stringify(st.randomization));
  }
  const correct = st.items.filter((it) => it.label === it.pred).length;
  const s = st.settings;
  const md = [
    `# Saliency: ${st.model} on ${st.dataset}`,
    "",
    `- Faces: ${st.items.length} (${
      s.sampling === "random"
        ? `seeded random subset of at most ${s.limit}`
        : `up to ${s.perClass} per class`
    }, seed ${s.seed})` +
    (st.unreadable.length ? `; ${st.unreadable.length} unreadable, skipped` : ""),
    `- Top-1 accuracy on these faces: ${fmt((100 * correct) / st.items.length, 1)} %`,
    `- Method: ${method}`,
    "- `class_means.png`: mean face and mean map (each map min-max scaled first) per true label " +
    "(map of the true class) and per prediction (map of the predicted class).",
    "- `cases.png` / `cases.csv`: per true class, the most confident correct cases, typical errors " +
    "and the most confident errors, each with the map of its predicted class.",
    ...faithfulnessMarkdown(st),
    ...randomizationMarkdown(st),
    "",
  ].join("\n");
  await writeFileAtomic(join(outDir, "summary.md"), md);
  await writeFileAtomic(
    join(outDir, "summary.json"),
    JSON.stringify(
      {
        model: st.model,
        dataset: st.dataset,
        images: st.items.length,
        accuracy: correct / st.items.length,
        method,
        // Threads change speed, not results (as in the study's cache key): left out.
        settings: { ...st.settings, threads: undefined },
        ...(st.faithfulness.images.length > 0
          ? {
            faithfulness: Object.fromEntries(
              (["rise", "occlusion", "random"] as const).map((k) => [k, {
                deletionAuc: meanSd(st.faithfulness[k].deletion),
                insertionAuc: meanSd(st.faithfulness[k].insertion),
              }]),
            ),
          }
          : {}),
        ...(st.randomization
          ? {
            randomization: st.randomization.steps.map((x) => ({
              layersRandomized: x.layersRandomized,
              spearman: x.spearman,
              spearmanAbs: x.spearmanAbs,
            })),
          }
          : {}),
      },
      null,
      2,
    ),
  );
  return md;
}

/** The one colour of a face whose pixels are all equal ("128" or "12,34,56"), else undefined. */
function uniformColour(face: FacePixels): string | undefined {
  const c = face.channels;
  for (let i = c; i < face.data.length; i++) {
    if (face.data[i] !== face.data[i % c]) return undefined;
  }
  return Array.from(face.data.subarray(0, c)).join(",");
}

/** What one explained image is, and where its files go (`kit saliency --image`). */
export interface ImageSaliencyFiles {
  card: ModelCard;
  /** The model's class names, in output order. */
  classes: readonly string[];
  imagePath: string;
  method: MethodName;
  opts: MethodOptions;
  /** Whether the class was asked for (else the top class was explained). */
  requested: boolean;
  /** The overlay PNG. */
  out: string;
  layout: "overlay" | "side-by-side";
  /** The map as {width, height, values} JSON (for Observable Plot), when given. */
  json?: string;
}

/**
 * Write one explained image's overlay (and map JSON) and return the report `kit saliency
 * --image` prints (`lines`), with a `note` when the face is uniform.
 */
export async function writeImageSaliency(
  r: ImageExplanation,
  f: ImageSaliencyFiles,
): Promise<{ lines: string[]; note?: string }> {
  const { card, classes } = f;
  await writeFileAtomic(f.out, await overlayPng(r.face, r.map, { layout: f.layout }));
  const ranked = classes.map((name, i) => ({ name, p: r.probs[i] }))
    .sort((a, b) => b.p - a.p).map((x) => `${x.name} ${fmt(x.p)}`).join(", ");
  const peak = mapPeak(r.map);
  const cls = classes[r.classIndex];
  const lines = [
    `model:      ${card.id} (${card.input.width}x${card.input.height})`,
    `image:      ${f.imagePath}`,
    `prediction: ${ranked}`,
    `explained:  ${cls}${f.requested ? "" : " (top class)"}`,
    `method:     ${describeMethod(f.method, f.opts, card.input.width, card.input.height)}`,
    `time:       ${r.ms.toFixed(0)} ms`,
    peak.flat
      ? `peak:       none (the map is flat: every value ${fmt(peak.value, 4)})`
      : `peak:       x=${peak.x} y=${peak.y} value=${fmt(peak.value, 4)}`,
    `overlay:    ${f.out}`,
  ];
  if (f.json !== undefined) {
    const raster = mapRaster(r.map);
    const data = { model: card.id, image: f.imagePath, class: cls, method: f.method, ...raster };
    await writeFileAtomic(f.json, JSON.stringify(data));
    lines.push(`map data:   ${f.json}`);
  }
  const fa = r.faithfulness;
  for (const [k, better] of fa ? [["deletion", "lower"], ["insertion", "higher"]] as const : []) {
    const [map, random] = [fmt(fa!.map[k].auc), fmt(fa!.random[k].auc)];
    lines.push(`${k} AUC: ${map} (random map ${random}; ${better} is better)`);
  }
  const uniform = uniformColour(r.face);
  const note = uniform === undefined ? undefined : `${f.imagePath} is uniform (every pixel ` +
    `${uniform} as the model sees it); there is no feature for the map to locate, only the ` +
    "model's response to the method's perturbations";
  return { lines, note };
}
