#!/usr/bin/env bash
# The main job on the embedded default: install (idempotent), generate a small
# two-class dataset, train a narrow U-Net with tools/dist_train.sh on 2
# processes (gloo on CPU, nccl on GPUs), evaluate it with tools/test.py and
# print the aAcc / mIoU / mAcc table.
#   bash scripts/run_demo.sh [extra tools/train.py args, e.g. --cfg-options ...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="$(bash scripts/install.sh)"
export PYTHON

CONFIG=configs/demo/unet-s5-d16-c8_fcn_2xb4-300iter_synthetic-64x64.py
WORK_DIR=${WORK_DIR:-work_dirs/demo}
DATA=${DATA:-data/synthetic}
# 2 processes: 2 CPU processes (gloo), or up to 2 GPUs (one per process)
NPROC=${NPROC:-$("$PYTHON" -c 'import torch; n = torch.cuda.device_count(); print(min(2, n) if n else 2)')}
PORT=${PORT:-$((29500 + RANDOM % 1000))}
export PORT

"$PYTHON" tools/misc/make_synthetic_dataset.py "$DATA" --train 32 --val 16 --size 64
# a rerun starts a fresh run rather than resuming a finished one
rm -rf "$WORK_DIR"
bash tools/dist_train.sh "$CONFIG" "$NPROC" --work-dir "$WORK_DIR" \
  --cfg-options train_dataloader.dataset.data_root="$DATA" \
  val_dataloader.dataset.data_root="$DATA" test_dataloader.dataset.data_root="$DATA" "$@"
CKPT="$WORK_DIR/$(basename "$(cat "$WORK_DIR/last_checkpoint")")"
"$PYTHON" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR" \
  --cfg-options test_dataloader.dataset.data_root="$DATA"
echo
echo "== demo result ($CKPT, val split of $DATA) =="
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
PY
