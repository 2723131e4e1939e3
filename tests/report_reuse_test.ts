/**
 * Reusing executed notebooks whose inputs did not change (lib/report/inputs.ts and the build in
 * lib/report/site.ts). The key's parts are checked on a small kit folder without a kernel; the
 * build is checked on two tiny notebooks on the real Deno kernel, which read a file of a data
 * root, log a session as the kit's sessions are logged, and emit a finding and a provenance
 * record.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PROJECT_ROOT } from "../lib/config.ts";
import {
  type InputKey,
  keyChange,
  type KeyContext,
  keyEnv,
  notebookInputKey,
  RACY_MS,
  sharedInputs,
  statDigest,
} from "../lib/report/inputs.ts";
import { buildReport, type BuildResult } from "../lib/report/site.ts";
import { notebookJson, withTempDir } from "./support.ts";

/** Wait until files written now are no longer "racy" for the key (lib/report/inputs.ts). */
const settle = () => new Promise((r) => setTimeout(r, RACY_MS + 100));

async function write(path: string, text: string): Promise<void> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.writeTextFile(path, text);
}

/** A notebook of the given code cells (one string each). */
function notebook(...cells: string[]): string {
  return notebookJson(cells.map((src) => ({ type: "code", src })));
}

Deno.test("input key: each input changes its own part; touching a source or other settings does not", async () => {
  await withTempDir("ferkit-inputs-", async (dir) => {
    const kit = join(dir, "kit");
    const nbs = join(dir, "notebooks");
    await write(join(kit, "lib", "a.ts"), "export const a = 1;\n");
    await write(join(kit, "deno.json"), "{}\n");
    await write(join(kit, "deno.lock"), "{}\n");
    await write(join(nbs, "01-a.ipynb"), notebook("1"));
    await write(join(nbs, "02-b.ipynb"), notebook("2"));
    await write(join(nbs, "helper.ts"), "export const h = 1;\n");
    await write(join(dir, "data", "ferplus", "label.csv"), "a.png,7,3\n");
    await write(join(dir, "data", "ferplus", "a.png"), "pixels");
    await write(join(dir, "models", "m.json"), '{"id":"m"}\n');
    await write(join(dir, "cache", "models", "m.onnx"), "onnx");
    await write(join(dir, "detectors", "d.onnx"), "det");
    await write(join(dir, "splits", "s.csv"), "id,split\n");
    const env: Record<string, string> = {
      HOME: "/home/x",
      FER_DATA: join(dir, "data"),
      FER_MODELS_DIR: join(dir, "models"),
      FER_CACHE: join(dir, "cache"),
      FER_DETECTORS: join(dir, "detectors"),
      FER_SPLITS_DIR: join(dir, "splits"),
      FER_SESSION_LOG: join(dir, "log-1.jsonl"),
    };
    const ctx = (e = env, racyMs = 0): KeyContext => ({
      env: e,
      kernel: "fer-kit-deno",
      cellTimeoutS: 60,
      notebooksDir: nbs,
      kitRoot: kit,
      racyMs,
    });
    const keys = async (c = ctx()): Promise<InputKey[]> => {
      const shared = await sharedInputs(c);
      return Promise.all(
        ["01-a", "02-b"].map((s) => notebookInputKey(join(nbs, `${s}.ipynb`), shared, c)),
      );
    };
    let base = await keys();
    assert.notEqual(base[0].key, base[1].key);
    assert.deepEqual((await keys()).map((k) => k.key), base.map((k) => k.key), "stable");
    const whys = async (c = ctx()) => (await keys(c)).map((k, i) => keyChange(base[i], k));

    // Not part of the key: the session log, unrelated variables, a source rewritten as it was.
    assert.equal(keyEnv(env).FER_SESSION_LOG, undefined);
    await Deno.writeTextFile(join(kit, "lib", "a.ts"), "export const a = 1;\n");
    assert.deepEqual(
      await whys(ctx({ ...env, HOME: "/home/y", FER_SESSION_LOG: join(dir, "log-2.jsonl") })),
      [null, null],
    );
    // Every FER_* setting is part of it, known to the list or not.
    assert.deepEqual(await whys(ctx({ ...env, FER_MODELS: "tiny-a" })), [
      "env changed (FER_MODELS)",
      "env changed (FER_MODELS)",
    ]);
    assert.deepEqual(await whys(ctx({ ...env, FER_SOMETHING_NEW: "1" })), [
      "env changed (FER_SOMETHING_NEW)",
      "env changed (FER_SOMETHING_NEW)",
    ]);
    assert.deepEqual(await whys(ctx({ ...env, FER_PROVIDER: "webgpu" })), [
      "env changed (FER_PROVIDER)",
      "env changed (FER_PROVIDER)",
    ]);
    assert.deepEqual(await whys({ ...ctx(), cellTimeoutS: 61 }), [
      "options changed",
      "options changed",
    ]);

    // Each file changes its own part, for every notebook but for the notebook's own text.
    const cases: [string, string, string][] = [
      [join(nbs, "02-b.ipynb"), notebook("2 + 0"), "notebook changed"],
      [join(kit, "lib", "a.ts"), "export const a = 2;\n", "lib changed"],
      [join(kit, "deno.lock"), '{"v":1}\n', "lib changed"],
      [join(nbs, "helper.ts"), "export const h = 2;\n", "lib changed"],
      [join(dir, "data", "ferplus", "label.csv"), "a.png,6,4\n", "data changed"],
      [join(dir, "data", "ferplus", "b.png"), "new image", "data changed"],
      [join(dir, "models", "m.json"), '{"id":"m","x":1}\n', "models changed"],
      [join(dir, "cache", "models", "m.onnx"), "onnx2", "models changed"],
      [join(dir, "detectors", "d.onnx"), "det2", "detectors changed"],
      [join(dir, "splits", "s.csv"), "id,split\nx,test\n", "splits changed"],
    ];
    for (const [path, text, why] of cases) {
      base = await keys();
      await write(path, text);
      const expected = path.endsWith("02-b.ipynb") ? [null, why] : [why, why];
      assert.deepEqual(await whys(), expected, path);
    }
    // With the default window, a file written just now is racy: the key cannot match the next
    // build's, even with nothing written in between.
    await settle();
    await Deno.writeTextFile(join(dir, "data", "ferplus", "a.png"), "pixels");
    const racy = await keys(ctx(env, RACY_MS));
    await settle();
    assert.equal(keyChange(racy[0], (await keys(ctx(env, RACY_MS)))[0]), "data changed");
  });
});

/** Notebook 01: reads a data file, logs a session and a predictions table, emits both records. */
function readerNotebook(): string {
  const lib = (f: string) => JSON.stringify(new URL(`file://${join(PROJECT_ROOT, "lib", f)}`).href);
  return notebook(
    `import { recordProducers, recordSession } from ${lib("provider.ts")};\n` +
      `import { emitFinding, emitProvenance } from ${lib("present/emit.ts")};\n` +
      `const text = await Deno.readTextFile(Deno.env.get("FER_DATA") + "/labels.txt");\n` +
      `recordSession({ what: "model tiny", requested: "cpu", provider: "cpu", onnxruntime: "9.9.9" });\n` +
      `recordProducers("tiny on labels", [{ provider: "cpu", onnxruntime: "9.9.9", rows: 3 }]);\n` +
      `await emitFinding({ id: "reuse.length", label: "Label text length", value: text.length });\n` +
      `await emitProvenance({ kind: "dataset", id: "labels", sha256: "ab".repeat(32) });`,
  );
}

Deno.test("report build: unchanged inputs reuse every notebook with the same findings; a change, a failure or --rerun runs again", async () => {
  await withTempDir("ferkit-reuse-", async (dir) => {
    const nbs = join(dir, "notebooks");
    const out = join(dir, "site");
    const data = join(dir, "data");
    await write(join(data, "labels.txt"), "happy\n");
    await write(join(nbs, "01-reader.ipynb"), readerNotebook());
    await write(join(nbs, "02-plain.ipynb"), notebook("const x: number = 2;\nx * 21"));
    const env = { FER_CACHE: join(dir, "cache"), FER_MODELS_DIR: join(dir, "models") };
    await Deno.mkdir(env.FER_MODELS_DIR);
    await settle();
    const build = async (
      extra: { env?: Record<string, string>; rerun?: boolean; only?: string[] } = {},
    ) => {
      const lines: string[] = [];
      const res = await buildReport({
        notebooksDir: nbs,
        outDir: out,
        data,
        env: { ...env, ...extra.env },
        rerun: extra.rerun,
        only: extra.only,
        log: (l) => lines.push(l),
      });
      const summary = JSON.parse(await Deno.readTextFile(join(out, "findings.json")));
      delete summary.kit.generatedAt;
      return { res, lines, summary };
    };
    const ran = (b: { res: BuildResult }) => [b.res.executed, b.res.reused];

    const first = await build();
    assert.deepEqual(ran(first), [["01-reader", "02-plain"], []], first.lines.join("\n"));
    assert.ok(first.lines.includes("report: executing 01-reader (no previous run) ..."));
    assert.ok(first.res.ok);
    assert.deepEqual(first.res.findings.map((f) => [f.id, f.value]), [["reuse.length", 6]]);
    assert.deepEqual(first.summary.kit.providers, ["cpu (onnxruntime 9.9.9): 1 session"]);
    assert.deepEqual(first.summary.kit.predictionProducers, [
      "cpu (onnxruntime 9.9.9): 1 predictions table",
    ]);
    const copy = await Deno.readTextFile(join(out, "notebooks", "01-reader.ipynb"));

    // Unchanged: nothing runs; findings, provenance, providers and the kept copies as before.
    const second = await build();
    assert.deepEqual(ran(second), [[], ["01-reader", "02-plain"]], second.lines.join("\n"));
    assert.ok(second.lines.some((l) => l.startsWith("report: 01-reader reused (inputs unchanged")));
    assert.deepEqual(second.summary, first.summary);
    assert.equal(await Deno.readTextFile(join(out, "notebooks", "01-reader.ipynb")), copy);

    // A PDF printed from this site: kept while nothing runs again, removed below when a page does.
    await Deno.writeTextFile(join(out, "report.pdf"), "%PDF- printed before");
    assert.ok((await build()).lines.every((l) => !l.includes("report.pdf")));
    assert.equal(await Deno.readTextFile(join(out, "report.pdf")), "%PDF- printed before");

    // The notebook's text: that notebook only.
    await Deno.writeTextFile(join(nbs, "02-plain.ipynb"), notebook("const x: number = 3;\nx * 14"));
    // Another notebook selected alone: this one is shown from its last run, and the log says
    // that its inputs changed.
    const alone = await build({ only: ["01"] });
    assert.deepEqual(ran(alone), [[], ["01-reader"]]);
    assert.ok(
      alone.lines.includes(
        "report: 02-plain is shown from its last run, not executed now (notebook changed); " +
          "build without --notebook to bring it up to date",
      ),
      alone.lines.join("\n"),
    );
    const third = await build();
    assert.deepEqual(ran(third), [["02-plain"], ["01-reader"]]);
    assert.ok(third.lines.includes("report: executing 02-plain (notebook changed) ..."));
    assert.ok(
      third.lines.includes(
        "report: removed the old report.pdf (1 page(s) ran again; --pdf prints it)",
      ),
      third.lines.join("\n"),
    );
    assert.equal(await Deno.stat(join(out, "report.pdf")).catch(() => null), null);

    // A data file: every notebook (any may read any file); the new number is on the site.
    await Deno.writeTextFile(join(data, "labels.txt"), "neutral\n");
    await settle();
    const fourth = await build();
    assert.deepEqual(ran(fourth), [["01-reader", "02-plain"], []]);
    assert.ok(fourth.lines.includes("report: executing 01-reader (data changed) ..."));
    assert.deepEqual(fourth.res.findings.map((f) => [f.id, f.value]), [["reuse.length", 8]]);

    // A setting the notebooks read (FER_MODELS): every notebook.
    const fifth = await build({ env: { FER_MODELS: "tiny-a" } });
    assert.deepEqual(ran(fifth), [["01-reader", "02-plain"], []]);
    assert.ok(fifth.lines.includes("report: executing 02-plain (env changed (FER_MODELS)) ..."));

    // A failed run is never reused: the same failing text runs again.
    await Deno.writeTextFile(join(nbs, "02-plain.ipynb"), notebook('throw new Error("boom")'));
    const sixth = await build({ env: { FER_MODELS: "tiny-a" } });
    assert.deepEqual(ran(sixth), [["02-plain"], ["01-reader"]]);
    assert.deepEqual(sixth.res.failed, ["02-plain"]);
    const seventh = await build({ env: { FER_MODELS: "tiny-a" } });
    assert.deepEqual(ran(seventh), [["02-plain"], ["01-reader"]]);
    assert.ok(seventh.lines.includes("report: executing 02-plain (previous run failed) ..."));

    // --rerun: everything runs, whatever the key says.
    await Deno.writeTextFile(join(nbs, "02-plain.ipynb"), notebook("1"));
    const eighth = await build({ env: { FER_MODELS: "tiny-a" }, rerun: true });
    assert.deepEqual(ran(eighth), [["01-reader", "02-plain"], []]);
    assert.ok(eighth.lines.includes("report: executing 01-reader (--rerun) ..."));
    assert.deepEqual(eighth.summary.kit.providers, ["cpu (onnxruntime 9.9.9): 1 session"]);
  });
});

Deno.test("report build: the session log is this build's own, never set in the process environment", async () => {
  // Parallel test modules share the process environment: a build that set FER_SESSION_LOG there
  // had another module's build write its sessions into this one's log (CI: "2 sessions").
  await withTempDir("ferkit-reuse-env-", async (dir) => {
    const nbs = join(dir, "notebooks");
    await write(join(nbs, "01-reader.ipynb"), readerNotebook());
    await write(join(dir, "data", "labels.txt"), "sad\n");
    assert.equal(Deno.env.get("FER_SESSION_LOG"), undefined);
    const seen: (string | undefined)[] = [];
    const build = buildReport({
      notebooksDir: nbs,
      outDir: join(dir, "site"),
      data: join(dir, "data"),
      env: { FER_CACHE: join(dir, "cache") },
      log: () => seen.push(Deno.env.get("FER_SESSION_LOG")),
    });
    seen.push(Deno.env.get("FER_SESSION_LOG"));
    const res = await build;
    assert.ok(res.ok);
    assert.deepEqual([...new Set(seen)], [undefined]);
    const summary = JSON.parse(await Deno.readTextFile(join(dir, "site", "findings.json")));
    assert.deepEqual(summary.kit.providers, ["cpu (onnxruntime 9.9.9): 1 session"]);
  });
});

Deno.test("statDigest: an empty folder counts; a find that fails falls back to the walk", async () => {
  await withTempDir("ferkit-stat-", async (dir) => {
    const root = join(dir, "data");
    await write(join(root, "a", "x.txt"), "1");
    const before = await statDigest(root, 0);
    // An empty class folder changes what a folder loader finds.
    await Deno.mkdir(join(root, "a", "neutral"));
    assert.notEqual(await statDigest(root, 0), before, "an empty folder added");

    // A find that rejects -printf (exit 1, no output, as BSD or busybox find): the key still
    // sees a changed file, through the walk in Deno.
    const bin = join(dir, "bin");
    await write(join(bin, "find"), "#!/bin/sh\nexit 1\n");
    await Deno.chmod(join(bin, "find"), 0o755);
    const module = new URL(`file://${join(PROJECT_ROOT, "lib/report/inputs.ts")}`).href;
    const digest = async () => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          `import { statDigest } from ${JSON.stringify(module)};\n` +
          `console.log(await statDigest(${JSON.stringify(root)}, 0));`,
        ],
        cwd: PROJECT_ROOT,
        env: { PATH: `${bin}:${Deno.env.get("PATH")}` },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      return new TextDecoder().decode(out.stdout).trim();
    };
    const first = await digest();
    await write(join(root, "a", "x.txt"), "22");
    assert.notEqual(await digest(), first, "a changed file seen without a working find");
  });
});
