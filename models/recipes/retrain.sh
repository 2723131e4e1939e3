#!/usr/bin/env bash
# Retrain both FER-2013 CNNs (MobileNetV2-0.5 and the self-built CNN) from scratch on the CPU,
# then export them to models/<id>.onnx with their cards, logs and ONNX-vs-PyTorch references.
#
#   bash models/recipes/retrain.sh [--data DIR] [--budget-minutes M | --epochs N] [--threads N]
#                                  [--sequential]
#
# --data            data root holding ferplus/ and fer2013/ (default: $FER_DATA, else data/raw)
# --budget-minutes  wall-clock budget per model for the time-budgeted cosine schedule
#                   (default 92, what the committed models used; at most 30 epochs)
# --epochs          a fixed cosine schedule over N epochs instead of a time budget
# --threads         torch threads per model (default 2; the two models train side by side)
# --sequential      train one model after the other instead of side by side
# Needs Debian's python3-torch, python3-opencv, python3-onnx (/usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
DATA="${FER_DATA:-data/raw}"
EPOCHS=30
BUDGET=92
THREADS=2
SEQUENTIAL=0
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; BUDGET=0; shift 2 ;;
    --budget-minutes) BUDGET="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --sequential) SEQUENTIAL=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "retrain.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p models/logs .cache/recipes
"$PY" -c "import torch, cv2, onnx" || { echo "retrain.sh: needs python3-torch, python3-opencv, python3-onnx" >&2; exit 1; }

# Threads that wait sleep instead of spinning: the cores are shared.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

train() {
  local arch="$1"
  nice -n 10 "$PY" models/recipes/train.py --arch "$arch" --id "fer2013-$arch" --data "$DATA" \
    --epochs "$EPOCHS" --budget-minutes "$BUDGET" --threads "$THREADS" > "models/logs/fer2013-$arch.train.txt" 2>&1
}

ARCHS="mobilenetv2 simplecnn"
if [ "$SEQUENTIAL" = 1 ]; then
  for a in $ARCHS; do train "$a"; done
else
  pids=()
  for a in $ARCHS; do train "$a" & pids+=($!); done
  status=0
  for p in "${pids[@]}"; do wait "$p" || status=1; done
  [ "$status" = 0 ] || { echo "retrain.sh: training failed, see models/logs/*.train.txt" >&2; exit 1; }
fi
for a in $ARCHS; do
  "$PY" models/recipes/export.py --id "fer2013-$a"
done
# Keep the generated JSON in `deno fmt` style when deno is at hand.
if command -v deno > /dev/null; then
  deno fmt models/fer2013-mobilenetv2.json models/fer2013-simplecnn.json models/logs/*.json \
    models/recipes/reference/*.json > /dev/null
fi
for a in $ARCHS; do tail -n 1 "models/logs/fer2013-$a.train.txt"; done
