/**
 * A real single-node Slurm (Debian's slurm-wlm and munge), started for this file and stopped
 * after it. Where Slurm cannot start here, the tests are reported as ignored with the reason.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { sbatch, startLocalSlurm, waitForJobs } from "./slurm_local.ts";

const start = await startLocalSlurm();
const why = start.ok ? "" : ` (ignored: Slurm cannot start here: ${start.reason})`;
if (!start.ok) console.error(`slurm_test: Slurm cannot start here: ${start.reason}`);

Deno.test({
  name: `slurm: an array job of 3 tasks and a job that depends on it all run${why}`,
  ignore: !start.ok,
  sanitizeResources: false,
  fn: async () => {
    if (!start.ok) return;
    const slurm = start.slurm;
    try {
      const out = join(slurm.dir, "out");
      await Deno.mkdir(out);
      const array = await sbatch(slurm, [
        "--array=0-2",
        `--output=${out}/task-%a.log`,
        "--wrap",
        `echo "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" > ${out}/shard-$SLURM_ARRAY_TASK_ID`,
      ]);
      const after = await sbatch(slurm, [
        `--dependency=afterok:${array}`,
        `--output=${out}/merge.log`,
        "--wrap",
        `cat ${out}/shard-0 ${out}/shard-1 ${out}/shard-2 > ${out}/merged`,
      ]);
      const ends = await waitForJobs(slurm, [array, after], 60_000);
      assert.deepEqual(
        ends.map((e) => [e.id, e.state, e.exitCode]).sort(),
        [
          [`${array}_0`, "COMPLETED", "0:0"],
          [`${array}_1`, "COMPLETED", "0:0"],
          [`${array}_2`, "COMPLETED", "0:0"],
          [after, "COMPLETED", "0:0"],
        ],
      );
      assert.equal(await Deno.readTextFile(join(out, "merged")), "0/3\n1/3\n2/3\n");
    } finally {
      await slurm.stop();
    }
  },
});
