/**
 * A real single-node Slurm for the tests (not a test file itself): starts munged, slurmctld and
 * slurmd with deploy/slurm/local-cluster.sh in a temporary folder, submits jobs with sbatch,
 * waits for them with squeue/scontrol, and stops everything again.
 */
import { join } from "node:path";
import { PROJECT_ROOT } from "../lib/config.ts";

const SCRIPT = join(PROJECT_ROOT, "deploy/slurm/local-cluster.sh");

/** A running local cluster: its state folder and the environment its clients need. */
export interface LocalSlurm {
  dir: string;
  /** SLURM_CONF and the rest of this process's environment, for sbatch and the jobs. */
  env: Record<string, string>;
  /** Stop the daemons and remove the state folder. */
  stop(): Promise<void>;
}

/** The outcome of trying to start a cluster: running, or the reason it cannot run here. */
export type StartResult = { ok: true; slurm: LocalSlurm } | { ok: false; reason: string };

async function output(cmd: string, args: string[], env?: Record<string, string>) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Start a cluster in a fresh temporary folder. Never throws for a machine that cannot run Slurm
 * (not Linux, not root, packages missing, a daemon that does not start): it says why instead.
 */
export async function startLocalSlurm(): Promise<StartResult> {
  if (Deno.build.os !== "linux") return { ok: false, reason: "Slurm needs Linux" };
  const dir = await Deno.makeTempDir({ prefix: "fer-slurm-" });
  const started = await output("bash", [SCRIPT, "start", dir]);
  if (started.code !== 0) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    const why = started.stderr.trim().split("\n").slice(-6).join(" | ");
    return { ok: false, reason: why || `local-cluster.sh exited ${started.code}` };
  }
  const env = { ...Deno.env.toObject(), SLURM_CONF: join(dir, "slurm.conf") };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await output("bash", [SCRIPT, "stop", dir]);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  // Also stop the daemons if the test process ends without calling stop().
  globalThis.addEventListener("unload", () => {
    if (stopped) return;
    new Deno.Command("bash", { args: [SCRIPT, "stop", dir] }).outputSync();
    Deno.removeSync(dir, { recursive: true });
  });
  return { ok: true, slurm: { dir, env, stop } };
}

/** Submit with `sbatch --parsable ARGS`; returns the job id. Throws with sbatch's stderr. */
export async function sbatch(slurm: LocalSlurm, args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command("sbatch", {
    args: ["--parsable", ...args],
    env: slurm.env,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (out.code !== 0) throw new Error(`sbatch ${args.join(" ")}: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout).trim().split(";")[0];
}

/** One job (or array task) as scontrol reports it at the end. */
export interface JobEnd {
  /** Job id, `<array job>_<task>` for array tasks. */
  id: string;
  state: string;
  exitCode: string;
}

/**
 * Wait until none of `jobIds` is pending or running (at most `timeoutMs`), then return the final
 * state of every job and array task. Throws on timeout, with the queue and the daemons' logs.
 */
export async function waitForJobs(
  slurm: LocalSlurm,
  jobIds: string[],
  timeoutMs: number,
): Promise<JobEnd[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const q = await output("squeue", ["-h", "-o", "%i %T %r", "-j", jobIds.join(",")], slurm.env);
    if (q.code === 0 && q.stdout.trim() === "") break;
    if (Date.now() > deadline) {
      const log = await Deno.readTextFile(join(slurm.dir, "log/slurmctld.log")).catch(() => "");
      throw new Error(
        `jobs ${jobIds} not done after ${timeoutMs} ms; queue:\n${q.stdout}${q.stderr}\n` +
          `slurmctld.log (end):\n${log.split("\n").slice(-20).join("\n")}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const ends: JobEnd[] = [];
  for (const id of jobIds) {
    const s = await output("scontrol", ["-o", "show", "job", id], slurm.env);
    if (s.code !== 0) throw new Error(`scontrol show job ${id}: ${s.stderr}`);
    for (const line of s.stdout.trim().split("\n")) {
      const field = (name: string) => new RegExp(`\\b${name}=(\\S+)`).exec(line)?.[1] ?? "";
      const task = field("ArrayTaskId");
      ends.push({
        id: task === "" ? field("JobId") : `${field("ArrayJobId")}_${task}`,
        state: field("JobState"),
        exitCode: field("ExitCode"),
      });
    }
  }
  return ends;
}
