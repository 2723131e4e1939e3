/** Minimal RFC 4180 CSV reading and writing (quoted fields, doubled quotes, CRLF or LF). */

/** One parsed CSV record with its 1-based line number in the file. */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/**
 * Parse CSV text into records. Empty lines are skipped. A quoted field may hold commas,
 * doubled quotes and newlines; `line` is the line where the record starts.
 * Throws an Error naming `file` and the line for an unterminated quote.
 */
export function parseCsv(text: string, file = "<csv>"): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let inQuotes = false;
  let line = 1;
  let recordLine = 1;
  let sawAny = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      inQuotes = true;
      sawAny = true;
    } else if (c === ",") {
      fields.push(field);
      field = "";
      sawAny = true;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      if (sawAny || field.length > 0) {
        fields.push(field);
        records.push({ line: recordLine, fields });
      }
      fields = [];
      field = "";
      sawAny = false;
      line++;
      recordLine = line;
    } else {
      field += c;
      sawAny = true;
    }
  }
  if (inQuotes) throw new Error(`${file}:${recordLine}: unterminated quoted field`);
  if (sawAny || field.length > 0) {
    fields.push(field);
    records.push({ line: recordLine, fields });
  }
  return records;
}

/** Quote one CSV field when it needs it. */
export function csvField(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Format rows as CSV text (LF line ends, trailing newline). */
export function formatCsv(rows: readonly (readonly (string | number)[])[]): string {
  return rows.map((r) => r.map(csvField).join(",")).join("\n") + "\n";
}
