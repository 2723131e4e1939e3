/**
 * What a notebook shows of the scorecard: its claims' findings (emitted, so the report collects
 * them) and their verdicts as a table; and the contamination audit table (notebook 01). One call
 * per notebook cell, so the cells stay a sentence each.
 */
import { show, showMarkdown, showTable } from "../present/display.ts";
import { barChart } from "../present/plots.ts";
import {
  type EqualTerms,
  equalTermsAgreement,
  equalTermsBars,
  equalTermsFindings,
} from "../studies/equal_terms.ts";
import { gridCell, gridDataset } from "../studies/grid.ts";
import type { ProbeStudy } from "../studies/probes.ts";
import { type Finding, formatFinding } from "../findings.ts";
import { emitFinding } from "../present/emit.ts";
import { intervalText } from "../present/format.ts";
import { claimFindings, type EvidenceInputs, gatherEvidence } from "./evidence.ts";
import { auditOf } from "./evidence.ts";
import { claimsOfNotebook } from "./registry.ts";
import { scorecard, type ScorecardRow } from "./scorecard.ts";

/**
 * Compute, emit and show the verdicts of the claims notebook `slug` tests (e.g.
 * "01-cross-dataset"). `inputs` defaults to gatherEvidence() (the cached prediction grid) with
 * the probe matrices `probes` the notebook computed (notebook 01), so the report's scorecard
 * gets the probe claim's findings.
 */
export async function showClaimVerdicts(
  slug: string,
  opts: { inputs?: EvidenceInputs; probes?: readonly ProbeStudy[] } = {},
): Promise<ScorecardRow[]> {
  const claims = claimsOfNotebook(slug);
  const ev = opts.inputs ?? await gatherEvidence({ probes: opts.probes ?? [] });
  const findings = claimFindings(ev, claims.map((c) => c.id), false);
  for (const f of findings) await emitFinding({ ...f, notebook: slug });
  const rows = scorecard(findings, claims);
  await showTable(
    rows.map((r) => ({
      claim: `${r.paper}: ${r.quote}`,
      "kit's measurement": r.findings.map((f) => `${shortLabel(f)} ${formatFinding(asFinding(f))}`)
        .join("; ") || "—",
      verdict: r.verdict,
      why: r.reason,
    })),
    { caption: "Verdicts of this notebook's claims (rules in lib/claims/rules.ts)" },
  );
  return rows;
}

function asFinding(f: ScorecardRow["findings"][number]): Finding {
  return { id: f.id, label: f.label, value: f.value, ci: f.ci };
}

function shortLabel(f: { id: string }): string {
  return f.id.split(".").slice(2).join(".") + ":";
}

/**
 * The contamination audit of every model on FER2013 test, emitted as findings and shown as a
 * table; returns the ids of the flagged models.
 */
export async function showContaminationAudit(
  slug: string,
  inputs?: EvidenceInputs,
): Promise<string[]> {
  const ev = inputs ?? await gatherEvidence();
  const audit = auditOf(ev);
  if (audit === null) {
    await showMarkdown("No contamination audit: FER2013 or FER+ test is not under the data root.");
    return [];
  }
  for (const f of claimFindings(ev, [], true)) await emitFinding({ ...f, notebook: slug });
  await showTable(
    audit.rows.map((r) => ({
      model: r.model,
      "picks original label": intervalText(r.audit.matchA),
      "picks FER+ label": intervalText(r.audit.matchB),
      "accuracy: original → FER+": `${r.audit.accuracyA.toFixed(3)} → ${
        r.audit.accuracyB.toFixed(3)
      }`,
      "change [95 %]": intervalText(r.audit.accuracyChange),
      status: r.reference ? "clean reference" : r.flagged ? "likely saw the test split" : "—",
    })),
    {
      caption: `On the ${audit.disagreeing} FER2013 test faces whose original and FER+ labels ` +
        `disagree (of ${audit.paired} with both labels)`,
    },
  );
  return audit.rows.filter((r) => r.flagged).map((r) => r.model);
}

/**
 * Notebook 03's comparison on equal terms: the crowd's and the models' κ on the same FER2013
 * test images and categories, as a table, a bar chart with intervals and findings.
 */
export async function showEqualTerms(
  slug: string,
  inputs?: EvidenceInputs,
): Promise<EqualTerms | null> {
  const ev = inputs ?? await gatherEvidence();
  const fer = gridDataset(ev.grid, "fer2013");
  const plus = gridDataset(ev.grid, "ferplus");
  const tables = ev.grid.models.flatMap((m) => {
    const c = gridCell(ev.grid, m.card.id, "fer2013");
    return c ? [{ card: m.card, table: c.table }] : [];
  });
  if (!fer || !plus || tables.length < 2) {
    await showMarkdown("No comparison: it needs FER2013 and FER+ test and at least two models.");
    return null;
  }
  const e = equalTermsAgreement(fer, new Set(plus.samples.map((s) => s.id)), tables);
  for (const f of equalTermsFindings(e)) await emitFinding({ ...f, notebook: slug });
  await showTable(
    e.rows.map((r) => ({
      raters: r.who,
      images: r.images,
      categories: r.categories === "ten" ? "crowd's ten" : "seven basic",
      "images rated": r.items,
      "raters per image": r.raters,
      "Fleiss' κ [95 %]": intervalText(r.fleiss),
      "Light's κ [95 %]": r.light ? intervalText(r.light) : "— (raters not fixed)",
    })),
    { caption: "The FER+ crowd and the models on the same FER2013 test images" },
  );
  await show(
    barChart(equalTermsBars(e), {
      title: "Fleiss' κ: crowd and model groups, same images and categories",
      domain: [0, 1],
    }),
    "agreement of crowd and model groups with intervals",
  );
  return e;
}
