/**
 * What a report cites: the three reproduced papers, every dataset and model the run used (from
 * the notebooks' provenance records and the models' cards, with the papers that introduced the
 * registered datasets), and the kit itself (version, commit). Each page lists its own; the site
 * writes them all to `references.bib`.
 */
import { join } from "node:path";
import type { ProvenanceRecord } from "../findings.ts";
import { exists } from "../fsutil.ts";
import type { ModelCard } from "../models/card.ts";
import { type DetectorCard, detectorCardFromText } from "../detect/card.ts";
import { modelsDir, validateCard } from "../models/registry.ts";
import type { BibEntry } from "./bibtex.ts";
import { escapeXml } from "../present/format.ts";
import type { KitProvenance } from "./provenance.ts";

/** A reproduced paper: its entry and how a page's text names it. */
export interface Paper extends BibEntry {
  mentions: RegExp;
}

/** The three studies the kit reproduces; keys are the claims registry's paper ids. */
export const PAPERS: readonly Paper[] = [
  {
    type: "inproceedings",
    key: "jamroz2024",
    mentions: /Jamr[oó]z|jamroz2024/i,
    fields: {
      author: "Jamróz, Aleksandra and Wysocka, Patrycja and Garbat, Piotr",
      title: "Weaknesses of Facial Emotion Recognition Systems",
      booktitle:
        "Proceedings of the 12th Machine Intelligence and Digital Interaction Conference (MIDI 2024)",
      address: "Warsaw, Poland",
      pages: "14--22",
      year: "2024",
      doi: "10.1007/978-3-032-05802-7_1",
      eprint: "2601.12402",
      archiveprefix: "arXiv",
    },
  },
  {
    type: "misc",
    key: "benchmark9",
    mentions: /nine-model|nine open-source|benchmark9/i,
    fields: {
      title:
        "A benchmark of nine open-source facial emotion recognition models on AffectNet, FER2013, RAF-DB and Emognition",
      note:
        "The nine-model benchmark reproduced by fer-kit (inter-model agreement, Fleiss' kappa about 0.2, ensembles). Its authors and venue were not available to the kit: complete this entry before citing it.",
    },
  },
  {
    type: "article",
    key: "tao2023",
    mentions: /\bTao\b|tao2023/,
    fields: {
      author: "Tao, Yuhui",
      title:
        "A critical examination of deficiencies in the convolutional neural network model for facial emotion recognition",
      journal: "Applied and Computational Engineering",
      volume: "22",
      year: "2023",
      doi: "10.54254/2755-2721/22/20231162",
    },
  },
];

/** The papers that introduced the registered datasets (by registered name). */
export const DATASET_PAPERS: Readonly<Record<string, BibEntry>> = {
  fer2013: {
    type: "inproceedings",
    key: "goodfellow2013",
    fields: {
      author:
        "Goodfellow, Ian J. and Erhan, Dumitru and Carrier, Pierre Luc and Courville, Aaron and Mirza, Mehdi and others",
      title: "Challenges in Representation Learning: A Report on Three Machine Learning Contests",
      booktitle: "Neural Information Processing (ICONIP 2013)",
      series: "Lecture Notes in Computer Science",
      volume: "8228",
      pages: "117--124",
      publisher: "Springer",
      year: "2013",
      doi: "10.1007/978-3-642-42051-1_16",
    },
  },
  ferplus: {
    type: "inproceedings",
    key: "barsoum2016",
    fields: {
      author: "Barsoum, Emad and Zhang, Cha and Canton Ferrer, Cristian and Zhang, Zhengyou",
      title:
        "Training Deep Networks for Facial Expression Recognition with Crowd-Sourced Label Distribution",
      booktitle: "Proceedings of the 18th ACM International Conference on Multimodal Interaction",
      pages: "279--283",
      year: "2016",
      doi: "10.1145/2993148.2993165",
    },
  },
  ckplus: {
    type: "inproceedings",
    key: "lucey2010",
    fields: {
      author:
        "Lucey, Patrick and Cohn, Jeffrey F. and Kanade, Takeo and Saragih, Jason and Ambadar, Zara and Matthews, Iain",
      title:
        "The Extended Cohn-Kanade Dataset (CK+): A complete dataset for action unit and emotion-specified expression",
      booktitle:
        "IEEE Computer Society Conference on Computer Vision and Pattern Recognition Workshops",
      pages: "94--101",
      year: "2010",
      doi: "10.1109/CVPRW.2010.5543262",
    },
  },
  expw: {
    type: "article",
    key: "zhang2018",
    fields: {
      author: "Zhang, Zhanpeng and Luo, Ping and Loy, Chen Change and Tang, Xiaoou",
      title: "From Facial Expression Recognition to Interpersonal Relation Prediction",
      journal: "International Journal of Computer Vision",
      volume: "126",
      number: "5",
      pages: "550--569",
      year: "2018",
      doi: "10.1007/s11263-017-1055-1",
    },
  },
  rafdb: {
    type: "inproceedings",
    key: "li2017",
    fields: {
      author: "Li, Shan and Deng, Weihong and Du, JunPing",
      title:
        "Reliable Crowdsourcing and Deep Locality-Preserving Learning for Expression Recognition in the Wild",
      booktitle: "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
      pages: "2584--2593",
      year: "2017",
      doi: "10.1109/CVPR.2017.277",
    },
  },
  affectnet: {
    type: "article",
    key: "mollahosseini2019",
    fields: {
      author: "Mollahosseini, Ali and Hasani, Behzad and Mahoor, Mohammad H.",
      title:
        "AffectNet: A Database for Facial Expression, Valence, and Arousal Computing in the Wild",
      journal: "IEEE Transactions on Affective Computing",
      volume: "10",
      number: "1",
      pages: "18--31",
      year: "2019",
      doi: "10.1109/TAFFC.2017.2740923",
    },
  },
};

/** Display names of the registered datasets. */
const DATASET_NAMES: Readonly<Record<string, string>> = {
  fer2013: "FER2013",
  ferplus: "FER+",
  ckplus: "CK+",
  expw: "ExpW",
  rafdb: "RAF-DB",
  affectnet: "AffectNet",
};

/** The dataset a provenance record's id names ("fer2013:test" → "fer2013"). */
export function datasetName(recordId: string): string {
  return recordId.split(":")[0];
}

/** Citation key of a dataset as the run used it. */
export function datasetKey(name: string): string {
  return `dataset:${name}`;
}

/** Citation key of a model as the run used it. */
export function modelKey(id: string): string {
  return `model:${id}`;
}

function uniqueRecords(records: readonly ProvenanceRecord[]): ProvenanceRecord[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    const k = `${r.kind}|${r.id}|${r.sha256}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * The entry for one dataset as the run used it: its splits with their sizes and SHA-256, and,
 * for a registered dataset, the paper that introduced it (`related`, biblatex's field).
 */
export function datasetEntry(name: string, records: readonly ProvenanceRecord[]): BibEntry {
  const splits = uniqueRecords(records).filter((r) => r.kind === "dataset")
    .filter((r) => datasetName(r.id) === name)
    .map((r) => {
      const split = r.id.includes(":") ? `${r.id.split(":").slice(1).join(":")} split` : "";
      const what = [split, r.detail ?? ""].filter((s) => s !== "").join(", ");
      return `${what ? `${what}: ` : ""}SHA-256 ${r.sha256}`;
    });
  const paper = DATASET_PAPERS[name];
  const fields: Record<string, string> = {
    title: `${DATASET_NAMES[name] ?? name} dataset, as read by fer-kit`,
    howpublished: paper ? `Introduced in ${shortCite(paper)}` : "Local dataset",
    note: `${splits.join("; ")}.`,
  };
  if (paper) fields.related = paper.key;
  return { type: "misc", key: datasetKey(name), fields };
}

/** "Goodfellow et al. (2013)". */
function shortCite(e: BibEntry): string {
  const authors = (e.fields.author ?? "").split(/\s+and\s+/);
  const last = authors[0].split(",")[0];
  const who = authors.length > 2
    ? `${last} et al.`
    : authors.length === 2
    ? `${last} and ${authors[1].split(",")[0]}`
    : last;
  return `${who} (${e.fields.year ?? "n.d."})`;
}

function sourceText(card: ModelCard): string {
  const s = card.source;
  switch (s.kind) {
    case "npm":
      return `npm package ${s.package} ${s.version} (${s.files.join(", ")})`;
    case "url":
      return `Downloaded from ${s.url}`;
    case "repo":
      return `Trained by fer-kit (models/${s.path})`;
  }
}

/** What a model's entry needs from its card: a FER model's card or a face detector's. */
export interface CitableCard {
  name: string;
  /** Where the file came from. */
  howpublished: string;
  citation: string;
  licence: string;
  /** npm package version, when there is one. */
  version?: string;
}

/** The citable fields of a FER model card. */
function citableModel(card: ModelCard): CitableCard {
  return {
    name: card.name,
    howpublished: sourceText(card),
    citation: card.citation,
    licence: card.licence,
    ...(card.source.kind === "npm" ? { version: card.source.version } : {}),
  };
}

/** The citable fields of a face-detector card. */
function citableDetector(card: DetectorCard): CitableCard {
  return {
    name: card.name,
    howpublished: `Downloaded from ${card.source.url}`,
    citation: card.citation,
    licence: card.licence,
  };
}

/** The entry for one model as the run used it: its card's name, source, citation and hash. */
export function modelEntry(
  id: string,
  card: CitableCard | null,
  records: readonly ProvenanceRecord[],
): BibEntry {
  const hashes = [
    ...new Set(
      records.filter((r) => r.kind === "model" && r.id === id).map((r) => r.sha256),
    ),
  ];
  const hash = hashes.length ? ` ONNX SHA-256 ${hashes.join(", ")}.` : "";
  const fields: Record<string, string> = card
    ? {
      title: card.name,
      howpublished: card.howpublished,
      note: `${card.citation.trim().replace(/\.?$/, ".")}${hash} Licence: ${card.licence}.`,
    }
    : { title: `Model ${id}`, note: `No model card in models/.${hash}` };
  if (card?.version !== undefined) fields.version = card.version;
  return { type: "misc", key: modelKey(id), fields };
}

/** The kit's own entry: version from deno.json and the commit the report was built from. */
export function kitEntry(kit: KitProvenance, version: string | null): BibEntry {
  const commit = kit.commit
    ? `Commit ${kit.commit}${kit.dirty ? " with uncommitted changes" : ""}.`
    : "Not built from a git checkout.";
  return {
    type: "misc",
    key: "fer-kit",
    fields: {
      author: "fer-kit contributors",
      title:
        "fer-kit: a literate, executable reproduction kit for facial emotion recognition studies",
      howpublished: "Software",
      ...(version ? { version } : {}),
      note: `${commit} Report generated ${kit.generatedAt}.`,
      year: kit.generatedAt.slice(0, 4),
    },
  };
}

/** The kit's version from deno.json ("version"), or null. */
export async function kitVersion(root: string): Promise<string | null> {
  try {
    const cfg = JSON.parse(await Deno.readTextFile(join(root, "deno.json")));
    return typeof cfg.version === "string" ? cfg.version : null;
  } catch {
    return null;
  }
}

/**
 * Citable cards of the models the records name: FER model cards and face-detector cards under
 * models/ (null for a model without a readable card).
 */
export async function cardsFor(
  records: readonly ProvenanceRecord[],
  dir: string = modelsDir(),
): Promise<Map<string, CitableCard | null>> {
  const cards = new Map<string, CitableCard | null>();
  for (const r of records) {
    if (r.kind !== "model" || cards.has(r.id)) continue;
    const path = join(dir, `${r.id}.json`);
    cards.set(r.id, (await exists(path)) ? await readCitable(path).catch(() => null) : null);
  }
  return cards;
}

/** A card file as a citable card, whichever kind it holds (the file read once). */
async function readCitable(path: string): Promise<CitableCard> {
  const text = await Deno.readTextFile(path);
  return (JSON.parse(text) as { kind?: unknown }).kind === "face-detector"
    ? citableDetector(detectorCardFromText(text, path))
    : citableModel(validateCard(JSON.parse(text), path));
}

/** Everything a bibliography is built from. */
export interface ReferenceSources {
  records: readonly ProvenanceRecord[];
  cards: ReadonlyMap<string, CitableCard | null>;
  kit: BibEntry;
}

/**
 * The references of a page: the papers its text names, the datasets and models of its
 * provenance records (each dataset with the paper that introduced it), and the kit. Pass all
 * records and `allPapers` for the index and the .bib file.
 */
export function referencesFor(
  text: string,
  records: readonly ProvenanceRecord[],
  src: ReferenceSources,
  allPapers = false,
): BibEntry[] {
  const out: BibEntry[] = PAPERS.filter((p) => allPapers || p.mentions.test(text))
    .map(({ type, key, fields }) => ({ type, key, fields }));
  const datasets = [
    ...new Set(records.filter((r) => r.kind === "dataset").map((r) => datasetName(r.id))),
  ].sort();
  for (const name of datasets) {
    const paper = DATASET_PAPERS[name];
    if (paper && !out.some((e) => e.key === paper.key)) out.push(paper);
    out.push(datasetEntry(name, src.records));
  }
  const models = [...new Set(records.filter((r) => r.kind === "model").map((r) => r.id))].sort();
  for (const id of models) out.push(modelEntry(id, src.cards.get(id) ?? null, src.records));
  out.push(src.kit);
  return out;
}

function names(author: string): string {
  const people = author.split(/\s+and\s+/).map((a) => {
    if (a === "others") return "et al.";
    const [last, first] = a.split(/,\s*/);
    return first ? `${first} ${last}` : last;
  });
  return people.join(", ").replace(", et al.", " et al.");
}

/** One reference as HTML text (authors, title, venue, year, identifiers) with its key. */
export function referenceHtml(e: BibEntry): string {
  const f = e.fields;
  const venue = f.booktitle ??
    (f.journal
      ? `${f.journal}${f.volume ? ` ${f.volume}` : ""}${f.number ? `(${f.number})` : ""}`
      : f.howpublished);
  const parts = [
    f.author ? names(f.author) : "",
    `<cite>${escapeXml(f.title ?? e.key)}</cite>`,
    venue
      ? escapeXml(venue) + (f.pages ? `, pp. ${escapeXml(f.pages.replace("--", "–"))}` : "")
      : "",
    f.version ? `version ${escapeXml(f.version)}` : "",
    f.year ? escapeXml(f.year) : "",
    f.doi ? `doi:${escapeXml(f.doi)}` : "",
    f.eprint ? `arXiv:${escapeXml(f.eprint)}` : "",
    f.note ? escapeXml(f.note) : "",
  ].filter((s) => s !== "");
  const text = parts.map((p, i) => (i === 0 && f.author ? escapeXml(p) : p)).join(". ")
    .replace(/\.\./g, ".");
  return `<li id="ref-${escapeXml(e.key)}">${text} <span class="key">[${
    escapeXml(e.key)
  }]</span></li>`;
}

/** The References section a page ends with. */
export function referencesSection(entries: readonly BibEntry[], bibHref: string): string {
  return `<section class="references" id="references">
<h2>References</h2>
<ol>
${entries.map(referenceHtml).join("\n")}
</ol>
<p class="bib-link">BibTeX for every reference of this report: <a href="${
    escapeXml(bibHref)
  }" download>references.bib</a></p>
</section>`;
}
