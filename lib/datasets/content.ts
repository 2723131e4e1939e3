/**
 * Image content identity: a tag per image source that changes whenever its pixels can change.
 *
 * - A file is tagged `file:<SHA-256 hex of its bytes>` (`file:missing` when it cannot be stat-ed).
 * - A PixelSource is tagged `pixels:<w>x<h>x<c>:<SHA-256 hex of the pixel bytes>`.
 *
 * Reading every file on every run would be slow, so file hashes are kept in a persisted index,
 * one JSON file per image folder: `<cacheRoot()>/content-index/<SHA-256 of the folder path>.json`,
 * `{ v, dir, files: { <name>: [size, mtimeMs, ctimeMs, ino, sha256] } }`. An entry is trusted only
 * when size, mtime, ctime and inode all match the file now; otherwise the file is read again. A
 * file modified less than {@link RACY_MS} before it was hashed is not recorded (a second write
 * within the clock's resolution could keep the same stamp), as git does for racy entries.
 * The index is a cache: a damaged or unwritable index only costs re-reading (a warning is printed
 * once when it cannot be written).
 */
import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { cacheRoot } from "../config.ts";
import { writeFileAtomic } from "../fsutil.ts";
import type { ImageSource } from "../sample.ts";

const INDEX_VERSION = 1;

/** Files modified less than this long (ms) before hashing are not recorded in the index. */
export const RACY_MS = 2000;

/** One index entry: size (bytes), mtime and ctime (ms since epoch), inode, SHA-256 hex. */
type IndexEntry = [number, number, number, number, string];

interface IndexFile {
  v: number;
  dir: string;
  files: Record<string, IndexEntry>;
}

/** Options of {@link sourceTags}. */
export interface ContentOptions {
  /** Folder of the persisted index (default `<cacheRoot()>/content-index`); null: no index. */
  indexDir?: string | null;
}

/** Memo of PixelSource tags (their buffers are not expected to change in place). */
const pixelTags = new WeakMap<ImageSource, string>();

/** In-memory copies of the index folders read in this process: index file path → files. */
const loaded = new Map<string, Record<string, IndexEntry>>();

let warnedUnwritable = false;

/** Index file paths already computed, by "indexDir\0dir" (a dataset has few image folders). */
const indexPaths = new Map<string, string>();

function indexPath(indexDir: string, dir: string): string {
  const key = `${indexDir}\0${dir}`;
  let p = indexPaths.get(key);
  if (p === undefined) {
    p = join(indexDir, `${createHash("sha256").update(dir).digest("hex").slice(0, 32)}.json`);
    if (indexPaths.size >= 4096) indexPaths.clear();
    indexPaths.set(key, p);
  }
  return p;
}

/** Index files being read: the concurrent callers of one folder share one read and parse. */
const reading = new Map<string, Promise<Record<string, IndexEntry>>>();

function readIndex(path: string, dir: string): Promise<Record<string, IndexEntry>> {
  const have = loaded.get(path);
  if (have !== undefined) return Promise.resolve(have);
  let p = reading.get(path);
  if (p === undefined) {
    p = (async () => {
      let files: Record<string, IndexEntry> = {};
      try {
        const f = JSON.parse(await Deno.readTextFile(path)) as IndexFile;
        if (f.v === INDEX_VERSION && f.dir === dir && typeof f.files === "object") files = f.files;
      } catch {
        // Missing or damaged: start empty (files get read again).
      }
      loaded.set(path, files);
      return files;
    })().finally(() => reading.delete(path));
    reading.set(path, p);
  }
  return p;
}

/** The content tag of one source (see the module comment). */
export async function sourceTag(source: ImageSource, opts: ContentOptions = {}): Promise<string> {
  return (await sourceTags([source], opts))[0];
}

/**
 * Content tags of `sources`, in order (see the module comment), reading files with bounded
 * concurrency and updating the persisted index for the files that had to be read.
 */
export async function sourceTags(
  sources: readonly ImageSource[],
  opts: ContentOptions = {},
): Promise<string[]> {
  const indexDir = opts.indexDir === undefined ? join(cacheRoot(), "content-index") : opts.indexDir;
  const out = new Array<string>(sources.length);
  const dirty = new Map<string, { dir: string; add: Record<string, IndexEntry> }>();
  let next = 0;
  const worker = async () => {
    while (next < sources.length) {
      const i = next++;
      const src = sources[i];
      if (src.kind === "pixels") {
        let tag = pixelTags.get(src);
        if (tag === undefined) {
          const digest = createHash("sha256").update(src.data).digest("hex");
          tag = `pixels:${src.width}x${src.height}x${src.channels}:${digest}`;
          pixelTags.set(src, tag);
        }
        out[i] = tag;
        continue;
      }
      out[i] = await fileTag(src.path, indexDir, dirty);
    }
  };
  await Promise.all(Array.from({ length: Math.min(32, sources.length) }, worker));
  if (indexDir !== null) await saveIndex(indexDir, dirty);
  return out;
}

async function fileTag(
  path: string,
  indexDir: string | null,
  dirty: Map<string, { dir: string; add: Record<string, IndexEntry> }>,
): Promise<string> {
  let st: Deno.FileInfo;
  try {
    // Synchronous: a stat is a few microseconds, an async one costs several times that in
    // scheduling, and a dataset stats every image on every run.
    st = Deno.statSync(path);
  } catch {
    return "file:missing";
  }
  if (!st.isFile) return "file:missing";
  const stamp = (): IndexEntry => [
    st.size,
    st.mtime?.getTime() ?? 0,
    st.ctime?.getTime() ?? 0,
    st.ino ?? 0,
    "",
  ];
  const now = stamp();
  const dir = dirname(path);
  const name = basename(path);
  const ipath = indexDir === null ? null : indexPath(indexDir, dir);
  if (ipath !== null) {
    const e = (loaded.get(ipath) ?? await readIndex(ipath, dir))[name];
    if (
      e !== undefined && e[0] === now[0] && e[1] === now[1] && e[2] === now[2] && e[3] === now[3]
    ) {
      return `file:${e[4]}`;
    }
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    return "file:missing";
  }
  const digest = createHash("sha256").update(bytes).digest("hex");
  const modified = Math.max(now[1], now[2]);
  if (ipath !== null && Date.now() - modified >= RACY_MS) {
    const entry: IndexEntry = [now[0], now[1], now[2], now[3], digest];
    (await readIndex(ipath, dir))[name] = entry;
    let d = dirty.get(ipath);
    if (d === undefined) dirty.set(ipath, d = { dir, add: {} });
    d.add[name] = entry;
  }
  return `file:${digest}`;
}

/** Merge new entries into each index file (re-read first, so concurrent runs add up). */
async function saveIndex(
  indexDir: string,
  dirty: Map<string, { dir: string; add: Record<string, IndexEntry> }>,
): Promise<void> {
  for (const [path, { dir, add }] of dirty) {
    let files: Record<string, IndexEntry> = {};
    try {
      const f = JSON.parse(await Deno.readTextFile(path)) as IndexFile;
      if (f.v === INDEX_VERSION && f.dir === dir) files = f.files;
    } catch {
      // Start a new index file.
    }
    Object.assign(files, add);
    loaded.set(path, files);
    try {
      const body: IndexFile = { v: INDEX_VERSION, dir, files };
      await writeFileAtomic(path, JSON.stringify(body));
    } catch (e) {
      if (!warnedUnwritable) {
        warnedUnwritable = true;
        const why = e instanceof Error ? e.message : String(e);
        console.error(
          `warning: cannot write the image hash index in ${indexDir} (${why}); ` +
            `images will be read again next time`,
        );
      }
    }
  }
}
