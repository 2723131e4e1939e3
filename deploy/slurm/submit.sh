#!/usr/bin/env bash
# Queue a sharded run on Slurm: an array job of SHARDS tasks (predict.sbatch, or saliency.sbatch
# with --saliency) and a merge + verify job that starts when all of them succeeded (merge.sbatch,
# or saliency-merge.sbatch).
#
#   deploy/slurm/submit.sh MODEL DATASET SHARDS [SPLIT]               kit predict
#   deploy/slurm/submit.sh --saliency MODEL DATASET SHARDS SPLIT      kit saliency --dataset
#
# Environment: FER_DATA (data root) and FER_CACHE (the kit's cache, shared by all nodes) as for
# any kit command; RUN_DIR (default: $FER_CACHE/runs/<model>_<dataset>[_<split>]_<SHARDS>, with
# _saliency before _<SHARDS> for --saliency); SBATCH_ARGS (extra sbatch options for both jobs, e.g.
# "--partition=cpu --account=lab"); SALIENCY_ARGS (--saliency: the study's settings, e.g.
# "--n 500 --faithfulness", passed to every shard and to the final run).
# Prints the two job ids; the result is $RUN_DIR/predictions.csv (or the folder $RUN_DIR/saliency).
set -euo pipefail
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
job=predict
if [ "${1:-}" = --saliency ]; then
  job=saliency
  shift
  [ $# -ge 4 ] || usage
fi
[ $# -ge 3 ] || usage
export FER_KIT=${FER_KIT:-$(cd "$here/../.." && pwd)}
export MODEL=$1 DATASET=$2 SHARDS=$3 SPLIT=${4:-} SALIENCY_ARGS=${SALIENCY_ARGS:-}
case "$SHARDS" in '' | *[!0-9]* | 0) echo "submit: SHARDS must be a positive integer" >&2; exit 2 ;; esac
: "${FER_CACHE:?set FER_CACHE to a cache folder on a filesystem every node sees}"
export FER_CACHE FER_DATA=${FER_DATA:-}
kind=${job/predict/}
export RUN_DIR=${RUN_DIR:-$FER_CACHE/runs/${MODEL}_${DATASET}${SPLIT:+_$SPLIT}${kind:+_$kind}_$SHARDS}
mkdir -p "$RUN_DIR"
tasks=$here/$job.sbatch
after=$here/merge.sbatch
[ "$job" = predict ] || after=$here/saliency-merge.sbatch
# shellcheck disable=SC2086 # SBATCH_ARGS is a list of options
array=$(sbatch --parsable ${SBATCH_ARGS:-} --array="0-$((SHARDS - 1))" \
  --output="$RUN_DIR/$job-%a.log" "$tasks")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable ${SBATCH_ARGS:-} --dependency="afterok:$array" \
  --output="$RUN_DIR/merge.log" "$after")
merge=${merge%%;*}
echo "submit: shards in array job $array, merge + verify in job $merge; run folder $RUN_DIR"
echo "$array $merge"
