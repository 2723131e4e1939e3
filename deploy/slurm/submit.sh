#!/usr/bin/env bash
# Queue a sharded prediction run on Slurm: an array job of SHARDS tasks (predict.sbatch) and a
# merge + verify job that starts when all of them succeeded (merge.sbatch).
#
#   deploy/slurm/submit.sh MODEL DATASET SHARDS [SPLIT]
#
# Environment: FER_DATA (data root) and FER_CACHE (the kit's cache, shared by all nodes) as for
# any kit command; RUN_DIR (default: $FER_CACHE/runs/<model>_<dataset>[_<split>]_<SHARDS>),
# SBATCH_ARGS (extra sbatch options for both jobs, e.g. "--partition=cpu --account=lab").
# Prints the two job ids; the full predictions file is $RUN_DIR/predictions.csv.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
export FER_KIT=${FER_KIT:-$(cd "$here/../.." && pwd)}
export MODEL=$1 DATASET=$2 SHARDS=$3 SPLIT=${4:-}
case "$SHARDS" in '' | *[!0-9]* | 0) echo "submit: SHARDS must be a positive integer" >&2; exit 2 ;; esac
: "${FER_CACHE:?set FER_CACHE to a cache folder on a filesystem every node sees}"
export FER_CACHE FER_DATA=${FER_DATA:-}
export RUN_DIR=${RUN_DIR:-$FER_CACHE/runs/${MODEL}_${DATASET}${SPLIT:+_$SPLIT}_$SHARDS}
mkdir -p "$RUN_DIR"
# shellcheck disable=SC2086 # SBATCH_ARGS is a list of options
array=$(sbatch --parsable ${SBATCH_ARGS:-} --array="0-$((SHARDS - 1))" \
  --output="$RUN_DIR/predict-%a.log" "$here/predict.sbatch")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable ${SBATCH_ARGS:-} --dependency="afterok:$array" \
  --output="$RUN_DIR/merge.log" "$here/merge.sbatch")
merge=${merge%%;*}
echo "submit: shards in array job $array, merge + verify in job $merge; run folder $RUN_DIR"
echo "$array $merge"
