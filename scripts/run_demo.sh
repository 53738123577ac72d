#!/usr/bin/env bash
# The main command: install (idempotent), generate the drone-like dataset,
# train the demo UFormer (narrow U-Net + SegFormer MiT-b0/SegformerConvHead)
# with tools/dist_train.sh on 2 processes (gloo on CPU, nccl on GPUs),
# evaluate it with tools/test.py and print the aAcc / mIoU / mAcc table.
#   bash scripts/run_demo.sh [extra tools/train.py args, e.g. --cfg-options ...]
# Environment (all optional):
#   FLAVOUR=binary|multiclass   dataset and model flavour (default binary;
#                               multiclass: ground, vegetation, water,
#                               structure, dynamic)
#   MODEL=uformer|unet|segformer  what to train (default uformer); unet and
#                               segformer train one UFormer member alone, on
#                               the same data, for the member/member/UFormer
#                               table
#   WORK_DIR (work_dirs/demo_${MODEL}_${FLAVOUR}), DATA (data/synthetic or
#   data/synthetic_5cls), TRAIN_IMAGES (400), VAL_IMAGES (100), IMG_SIZE
#   (128), SEED (0), NPROC (2), PORT (random)
#   PYTHON=/path/to/python      use this interpreter as it is, without
#                               running scripts/install.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$(bash scripts/install.sh)}"
export PYTHON

FLAVOUR=${FLAVOUR:-binary}
MODEL=${MODEL:-uformer}
case "$FLAVOUR" in
  binary) DATASET=synthetic-binary; DEFAULT_DATA=data/synthetic ;;
  multiclass) DATASET=synthetic-5cls; DEFAULT_DATA=data/synthetic_5cls ;;
  *) echo "FLAVOUR=$FLAVOUR: use binary or multiclass" >&2; exit 2 ;;
esac
SCHEDULE=2xb4-800iter_${DATASET}-128x128
case "$MODEL" in
  uformer) CONFIG=configs/demo/uformer_unet-s5-d16-c16-mit-b0-c64_${SCHEDULE}.py ;;
  unet) CONFIG=configs/demo/unet-s5-d16-c16_fcn_${SCHEDULE}.py ;;
  segformer) CONFIG=configs/demo/segformer_mit-b0-c64-convhead_${SCHEDULE}.py ;;
  *) echo "MODEL=$MODEL: use uformer, unet or segformer" >&2; exit 2 ;;
esac
WORK_DIR=${WORK_DIR:-work_dirs/demo_${MODEL}_${FLAVOUR}}
DATA=${DATA:-$DEFAULT_DATA}
# 2 processes: 2 CPU processes (gloo), or up to 2 GPUs (one per process)
NPROC=${NPROC:-$("$PYTHON" -c 'import torch; n = torch.cuda.device_count(); print(min(2, n) if n else 2)')}
PORT=${PORT:-$((29500 + RANDOM % 1000))}
export PORT

# the same arguments write the same bytes: a rerun rewrites identical files
"$PYTHON" tools/misc/make_synthetic_dataset.py "$DATA" --flavour "$FLAVOUR" \
  --train "${TRAIN_IMAGES:-400}" --val "${VAL_IMAGES:-100}" \
  --size "${IMG_SIZE:-128}" --seed "${SEED:-0}"
# a rerun starts a fresh run rather than resuming a finished one
rm -rf "$WORK_DIR"
bash tools/dist_train.sh "$CONFIG" "$NPROC" --work-dir "$WORK_DIR" \
  --cfg-options train_dataloader.dataset.data_root="$DATA" \
  val_dataloader.dataset.data_root="$DATA" test_dataloader.dataset.data_root="$DATA" "$@"
CKPT="$WORK_DIR/$(basename "$(cat "$WORK_DIR/last_checkpoint")")"
"$PYTHON" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR" \
  --cfg-options test_dataloader.dataset.data_root="$DATA"

# Pictures into $WORK_DIR: loss/mIoU/aAcc/mAcc curves, the 5 best and 5 worst
# val images (image | ground truth | each member | fused, for the UFormer) with
# a CSV of per-image scores, and the normalised confusion matrix.
"$PYTHON" tools/analysis_tools/plot_curves.py "$WORK_DIR" --out "$WORK_DIR/curves.png" \
  --labels "$MODEL"
"$PYTHON" tools/analysis_tools/best_worst.py "$CONFIG" "$CKPT" --k 5 \
  --out-dir "$WORK_DIR" --cfg-options test_dataloader.dataset.data_root="$DATA" \
  val_dataloader.dataset.data_root="$DATA"
"$PYTHON" tools/analysis_tools/confusion_matrix.py "$CONFIG" "$CKPT" \
  --out "$WORK_DIR/confusion.png" --cfg-options test_dataloader.dataset.data_root="$DATA" \
  val_dataloader.dataset.data_root="$DATA"

echo
echo "== demo result: $MODEL, $FLAVOUR ($CKPT, val split of $DATA) =="
"$PYTHON" - "$WORK_DIR/test_report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
per_class = report['per_class']
print(f"{'class':<12}{'IoU':>8}{'Acc':>8}")
for name in report['classes']:
    print(f"{name:<12}{per_class['IoU'][name]:>8.2f}{per_class['Acc'][name]:>8.2f}")
m = report['metrics']
print(f"aAcc {m['aAcc']:.2f}  mIoU {m['mIoU']:.2f}  mAcc {m['mAcc']:.2f}")
print(f"report: {sys.argv[1]}")
work_dir = sys.argv[1].rsplit("/", 1)[0]
print(f"pictures: {work_dir}/curves.png, best_worst.png, confusion.png; "
      f"per-image scores: {work_dir}/per_image_scores.csv")
PY
