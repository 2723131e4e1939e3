/**
 * BibTeX for the report's references: entries held as plain Unicode text, written with LaTeX
 * escapes (accents as `{\'o}`, specials as `\_`), and a small parser that reads a .bib back
 * (entries, braced or quoted values, numbers; `@comment`, `@string` and `@preamble` skipped)
 * and rejects what BibTeX would choke on, naming the line.
 */

/** One BibTeX entry; field values are plain text (escaped when written). */
export interface BibEntry {
  /** Entry type without "@", e.g. "article", "inproceedings", "misc". */
  type: string;
  key: string;
  fields: Record<string, string>;
}

/** Combining marks and the LaTeX accent command each becomes. */
const ACCENTS: Readonly<Record<string, string>> = {
  "\u0300": "`",
  "\u0301": "'",
  "\u0302": "^",
  "\u0303": "~",
  "\u0304": "=",
  "\u0307": ".",
  "\u0308": '"',
  "\u030a": "r ",
  "\u030b": "H ",
  "\u030c": "v ",
  "\u0327": "c ",
  "\u0328": "k ",
};

const LETTERS: Readonly<Record<string, string>> = {
  "ł": "{\\l}",
  "Ł": "{\\L}",
  "ß": "{\\ss}",
  "ø": "{\\o}",
  "Ø": "{\\O}",
  "æ": "{\\ae}",
  "—": "---",
  "–": "--",
  "’": "'",
  "‘": "`",
  "“": "``",
  "”": "''",
};

const SPECIAL: Readonly<Record<string, string>> = {
  "\\": "\\textbackslash{}",
  "{": "\\{",
  "}": "\\}",
  "&": "\\&",
  "%": "\\%",
  "$": "\\$",
  "#": "\\#",
  "_": "\\_",
  "~": "\\textasciitilde{}",
  "^": "\\textasciicircum{}",
};

/**
 * Plain text → a BibTeX field value: LaTeX specials escaped, accented Latin letters as accent
 * commands (`ó` → `{\'o}`), so the file works with classic BibTeX as well as biber.
 */
export function bibEscape(text: string): string {
  let out = "";
  for (const ch of text.normalize("NFD")) {
    if (ch in ACCENTS) {
      // Wrap the previous base letter: "o" + U+0301 → {\'o}.
      const base = out.slice(-1);
      out = out.slice(0, -1) + `{\\${ACCENTS[ch]}${base}}`;
    } else if (ch in SPECIAL) out += SPECIAL[ch];
    else if (ch in LETTERS) out += LETTERS[ch];
    else out += ch;
  }
  return out;
}

/** Fields whose value is written verbatim (no escaping): identifiers and URLs. */
const VERBATIM = new Set(["doi", "url", "eprint", "archiveprefix", "isbn", "related"]);

/**
 * Write entries as a .bib file; titles double-braced so styles keep their capitals. Nothing
 * outside entries (bibtool warns about any comment text, even in @comment).
 */
export function formatBibtex(entries: readonly BibEntry[]): string {
  const parts: string[] = [];
  for (const e of entries) {
    const width = Math.max(...Object.keys(e.fields).map((k) => k.length));
    const fields = Object.entries(e.fields).map(([k, v]) => {
      const value = VERBATIM.has(k.toLowerCase()) ? v : bibEscape(v);
      const braced = k === "title" || k === "author" && !v.includes(",") && !v.includes(" and ")
        ? `{{${value}}}`
        : `{${value}}`;
      return `  ${k.padEnd(width)} = ${braced}`;
    });
    parts.push(`@${e.type}{${e.key},\n${fields.join(",\n")}\n}`, "");
  }
  return parts.join("\n");
}

/** A .bib file that BibTeX would not read, with the line. */
export class BibtexError extends Error {
  constructor(message: string, readonly line: number) {
    super(`line ${line}: ${message}`);
    this.name = "BibtexError";
  }
}

/**
 * Parse a .bib file into entries (values as written, outer braces or quotes removed). Throws
 * BibtexError for unbalanced braces, a missing key or `=`, or a duplicate key or field.
 */
export function parseBibtex(text: string): BibEntry[] {
  let i = 0;
  const lineAt = (pos: number) => text.slice(0, pos).split("\n").length;
  const fail = (msg: string, pos = i): never => {
    throw new BibtexError(msg, lineAt(pos));
  };
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const braced = (): string => {
    const start = i;
    let depth = 0;
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === "\\") {
        i++;
        continue;
      }
      if (c === "{") depth++;
      else if (c === "}") {
        depth--;
        if (depth === 0) {
          i++;
          return text.slice(start + 1, i - 1);
        }
      }
    }
    return fail("unbalanced braces", start);
  };
  const entries: BibEntry[] = [];
  const keys = new Set<string>();
  while (true) {
    const at = text.indexOf("@", i);
    if (at < 0) break;
    i = at + 1;
    const type = text.slice(i).match(/^[A-Za-z]+/)?.[0];
    if (!type) fail("expected an entry type after @");
    i += type!.length;
    skipSpace();
    if (text[i] !== "{" && text[i] !== "(") fail(`expected "{" after @${type}`);
    const lower = type!.toLowerCase();
    if (lower === "comment" || lower === "preamble" || lower === "string") {
      braced();
      continue;
    }
    const entryStart = i;
    i++;
    skipSpace();
    const key = text.slice(i).match(/^[^\s,{}()"=]+/)?.[0];
    if (!key) fail(`@${type}: missing citation key`);
    if (keys.has(key!)) fail(`duplicate key "${key}"`);
    keys.add(key!);
    i += key!.length;
    skipSpace();
    const fields: Record<string, string> = {};
    while (true) {
      skipSpace();
      if (text[i] === ",") {
        i++;
        skipSpace();
      }
      if (text[i] === "}" || text[i] === ")") {
        i++;
        break;
      }
      if (i >= text.length) fail(`@${type}{${key}: not closed`, entryStart);
      const name = text.slice(i).match(/^[A-Za-z][\w:.+-]*/)?.[0];
      if (!name) fail(`@${type}{${key}: expected a field name`);
      i += name!.length;
      skipSpace();
      if (text[i] !== "=") fail(`@${type}{${key}: expected "=" after ${name}`);
      i++;
      skipSpace();
      let value: string;
      if (text[i] === "{") value = braced();
      else if (text[i] === '"') {
        const end = text.indexOf('"', i + 1);
        if (end < 0) fail("unterminated quoted value");
        value = text.slice(i + 1, end);
        i = end + 1;
      } else {
        const m = text.slice(i).match(/^[\w-]+/);
        if (!m) fail(`@${type}{${key}: bad value for ${name}`);
        value = m![0];
        i += value.length;
      }
      const field = name!.toLowerCase();
      if (field in fields) fail(`@${type}{${key}: duplicate field ${field}`);
      fields[field] = value;
    }
    entries.push({ type: lower, key: key!, fields });
  }
  return entries;
}
