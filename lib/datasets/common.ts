/** Small I/O helpers the format loaders share. */
import { join } from "node:path";
import type { Sample, Split } from "../sample.ts";
import { LabelError } from "../taxonomy.ts";
import type { UnreadableFile } from "../image.ts";

/** File extensions the kit decodes (lower case, with the dot). */
export const IMAGE_EXTENSIONS: readonly string[] = [
  ".png",
  ".jpg",
  ".jpeg",
  ".tif",
  ".tiff",
  ".webp",
];

/** True when `name` ends with an image extension the kit decodes (case-insensitive). */
export function isImageFile(name: string): boolean {
  const lower = name.toLowerCase();
  return !lower.startsWith(".") && IMAGE_EXTENSIONS.some((e) => lower.endsWith(e));
}

/** Read a text file; a missing file is a LabelError naming it. Strips a UTF-8 BOM. */
export async function readText(path: string): Promise<string> {
  try {
    const text = await Deno.readTextFile(path);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new LabelError("file not found", { file: path });
    throw e;
  }
}

/** Names of the plain files directly inside `dir` (empty set when the folder is missing). */
export async function listFiles(dir: string): Promise<Set<string>> {
  const out = new Set<string>();
  try {
    for await (const e of Deno.readDir(dir)) if (e.isFile || e.isSymlink) out.add(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out;
}

/** Names of the sub-folders directly inside `dir`, sorted (empty when the folder is missing). */
export async function listDirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory && !e.name.startsWith(".")) out.push(e.name);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

/** True when `path` is a folder. */
export async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/** True when `path` is a plain file. */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * Keep the samples of `split` (all when undefined) and move those whose image file is missing to
 * `unreadable` ("file not found"); returns the samples kept. Each folder is listed once (no stat
 * per file).
 */
export async function dropMissingFiles(
  samples: Sample[],
  unreadable: UnreadableFile[],
  split?: Split,
): Promise<Sample[]> {
  const listings = new Map<string, Set<string>>();
  const kept: Sample[] = [];
  for (const s of samples) {
    if (split !== undefined && s.split !== split) continue;
    if (s.source.kind !== "file") {
      kept.push(s);
      continue;
    }
    const path = s.source.path;
    const cut = path.lastIndexOf("/");
    const dir = path.slice(0, cut), name = path.slice(cut + 1);
    let names = listings.get(dir);
    if (names === undefined) {
      names = await listFiles(dir);
      listings.set(dir, names);
    }
    if (names.has(name)) kept.push(s);
    else unreadable.push({ file: path, reason: await missingReason(path) });
  }
  return kept;
}

/** Why a listed image is not a plain file in its folder: a folder, a non-UTF-8 name, or absent. */
async function missingReason(path: string): Promise<string> {
  if (path.includes("\uFFFD")) {
    return "the name holds a byte that is not valid UTF-8 (shown as \uFFFD): rename the file, or " +
      "write the name in UTF-8 in the label file";
  }
  try {
    if ((await Deno.stat(path)).isDirectory) return "a folder, not an image file";
  } catch {
    // Absent.
  }
  return "file not found";
}

/** Split names publishers use (lower case) → the kit's split. */
const SPLIT_NAMES: Readonly<Record<string, Split>> = {
  train: "train",
  training: "train",
  val: "val",
  valid: "val",
  validation: "val",
  publictest: "val",
  test: "test",
  testing: "test",
  privatetest: "test",
};

/** The kit's split for a publisher's split name (case-insensitive), or undefined. */
export function splitFromName(name: string): Split | undefined {
  return SPLIT_NAMES[name.trim().toLowerCase()];
}

/** Join a folder and a relative path written with forward slashes. */
export function joinRel(dir: string, rel: string): string {
  return join(dir, ...rel.split("/"));
}

/** Parse a non-negative integer field; LabelError naming file, line and field otherwise. */
export function parseCount(raw: string, file: string, line: number, field: string): number {
  const s = raw.trim();
  if (!/^\d+$/.test(s)) {
    throw new LabelError(`"${raw}" is not a non-negative integer`, { file, line, field });
  }
  return Number(s);
}

/** Parse a finite number field; LabelError naming file, line and field otherwise. */
export function parseNumber(raw: string, file: string, line: number, field: string): number {
  const s = raw.trim();
  const v = Number(s);
  if (s === "" || !Number.isFinite(v)) {
    throw new LabelError(`"${raw}" is not a number`, { file, line, field });
  }
  return v;
}

/** Split text into lines (LF or CRLF), with 1-based line numbers, skipping blank lines. */
export function textLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== "") out.push({ line: i + 1, text: lines[i] });
  }
  return out;
}
