#!/usr/bin/env bash
# Train every network of the training matrix that is missing, two at a time, then export them.
#
#   bash models/recipes/train-matrix.sh [--data DIR] [--budget cpu|gpu] [--workers N]
#                                       [--train-only] [--export-only]
#
# Networks (ids): matrix-<dataset>-<arch> for dataset in fer2013 ferplus ckplus expw and arch in
# simplecnn mobilenetv2 (8); size-fer2013-simplecnn-1of8|1of4|1of2 (training-size curve, the
# "all" point is matrix-fer2013-simplecnn); tao-fer2013-<arch> (Tao's Kaggle split) is exported
# from the last epoch of matrix-fer2013-<arch> (no model selection: the Kaggle folders have no
# validation part), tested on the whole test folder.
# --budget cpu (default when no CUDA device is present): the epoch budget sized for 2 shared CPU
#   cores; --budget gpu (default with CUDA): the larger budget. Each card says which produced it.
# Interrupted runs resume after their last finished epoch (checkpoints in .cache/recipes/).
# Needs Debian's python3-torch, python3-opencv, python3-onnx (/usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
DATA="${FER_DATA:-data/raw}"
BUDGET=""
WORKERS=2
MODE=all
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA="$2"; shift 2 ;;
    --budget) BUDGET="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --train-only) MODE=train; shift ;;
    --export-only) MODE=export; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "train-matrix.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
"$PY" -c "import torch, cv2, onnx" || {
  echo "train-matrix.sh: needs python3-torch, python3-opencv, python3-onnx (apt-get install)" >&2
  exit 1
}
if [ -z "$BUDGET" ]; then
  BUDGET=$("$PY" -c "import torch; print('gpu' if torch.cuda.is_available() else 'cpu')")
fi
# Epoch budgets: FER2013 / FER+ (28k images), ExpW (3.9k), CK+ (0.7k), training-size curve.
if [ "$BUDGET" = gpu ]; then
  E_FER=30; E_EXPW=60; E_CK=120; E_SIZE=30
else
  E_FER=3; E_EXPW=12; E_CK=30; E_SIZE=3
fi
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
mkdir -p models/logs .cache/recipes/claims

# id arch dataset epochs [extra train_epochs.py options]; in priority order.
JOBS="matrix-fer2013-mobilenetv2 mobilenetv2 fer2013 $E_FER
matrix-fer2013-simplecnn simplecnn fer2013 $E_FER
matrix-ferplus-mobilenetv2 mobilenetv2 ferplus $E_FER
matrix-ferplus-simplecnn simplecnn ferplus $E_FER
matrix-ckplus-simplecnn simplecnn ckplus $E_CK
matrix-ckplus-mobilenetv2 mobilenetv2 ckplus $E_CK
matrix-expw-simplecnn simplecnn expw $E_EXPW
matrix-expw-mobilenetv2 mobilenetv2 expw $E_EXPW
size-fer2013-simplecnn-1of8 simplecnn fer2013 $E_SIZE --train-fraction 0.125
size-fer2013-simplecnn-1of4 simplecnn fer2013 $E_SIZE --train-fraction 0.25
size-fer2013-simplecnn-1of2 simplecnn fer2013 $E_SIZE --train-fraction 0.5"

worker() {
  local w="$1"
  while read -r id arch dataset epochs extra; do
    [ -f ".cache/recipes/$id.pt" ] && continue
    mkdir ".cache/recipes/claims/$id.$BUDGET" 2> /dev/null || continue
    echo "worker $w: $id ($epochs epochs, $BUDGET budget) $(date -u +%H:%M:%S)"
    # shellcheck disable=SC2086
    nice -n 10 "$PY" models/recipes/train_epochs.py --id "$id" --arch "$arch" \
      --dataset "$dataset" --epochs "$epochs" --budget "$BUDGET" --data "$DATA" --threads 1 \
      $extra >> "models/logs/$id.train.txt" 2>&1 ||
      echo "worker $w: $id failed, see models/logs/$id.train.txt" >&2
    rmdir ".cache/recipes/claims/$id.$BUDGET"
  done <<< "$JOBS"
}

if [ "$MODE" != export ]; then
  pids=()
  for w in $(seq 1 "$WORKERS"); do worker "$w" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
fi
if [ "$MODE" != train ]; then
  "$PY" models/recipes/export_matrix.py
  if command -v deno > /dev/null; then
    deno fmt models/*.json models/logs/*.json models/recipes/reference/*.json > /dev/null
  fi
fi
