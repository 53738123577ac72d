#!/usr/bin/env bash
# The whole real-data pipeline on the Semantic Drone Dataset, from the
# release folder (original_images/ + label_images_semantic/), on a CPU:
#   1. convert both flavours at 384x256 (tools/dataset_converters/
#      semantic_drone.py: 50 fixed test photos, 280 train / 70 val);
#   2. train U-Net, SegFormer and the jointly trained UFormer of the
#      CPU-scale recipe (configs/*/*_2xb4-ce-1.0-lovasz-1.0-800iter_drone-*-
#      192x192.py) with tools/dist_train.sh on 2 processes;
#   3. test each on the 50 test photos with tools/test.py
#      (WORK_DIR/test_report.json);
#   4. the ensemble of the members trained alone (their checkpoints in one
#      UFormer), its weights tuned on val with tune_uformer_weights.py, tested;
#   5. the pictures: best/worst test photos (image | ground truth | U-Net |
#      SegFormer | UFormer) and the curves.
#   bash scripts/run_real_drone.sh RELEASE_DIR
# Environment (all optional):
#   FLAVOURS="binary multiclass"  flavours to run (default both)
#   MODELS="unet segformer uformer"  models to train (default all three)
#   DATA (data/semantic_drone_384x256), WORK_ROOT (work_dirs/real_drone),
#   NPROC (2), PORT (random), PYTHON (else scripts/install.sh picks it)
#   CONVERT_OPTS  extra converter arguments (e.g. "--test-count 5")
#   EXTRA_OPTS    extra --cfg-options for every step (e.g. a shorter
#                 schedule: "train_cfg.max_iters=100")
# Each training run takes 7-16 minutes on a 2-core CPU (README, "Real data").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ $# -lt 1 ]; then
  echo "usage: bash scripts/run_real_drone.sh RELEASE_DIR (the folder with original_images/ and label_images_semantic/)" >&2
  exit 2
fi
SRC=$1
PYTHON="${PYTHON:-$(bash scripts/install.sh)}"
export PYTHON
DATA=${DATA:-data/semantic_drone_384x256}
WORK_ROOT=${WORK_ROOT:-work_dirs/real_drone}
NPROC=${NPROC:-2}
export PORT=${PORT:-$((29500 + RANDOM % 1000))}
RECIPE=2xb4-ce-1.0-lovasz-1.0-800iter

# 1. conversion (both flavours in one pass; an earlier one is replaced)
"$PYTHON" tools/dataset_converters/semantic_drone.py "$SRC" "$DATA" \
  --size 384 256 --nproc 2 --overwrite ${CONVERT_OPTS:-}

config_of() {  # MODEL FLAVOUR -> config path
  local token; [ "$2" = binary ] && token=drone-binary || token=drone-5cls
  case "$1" in
    unet) echo "configs/unet/unet-s5-d16-c16_fcn_${RECIPE}_${token}-192x192.py" ;;
    segformer) echo "configs/segformer/segformer_mit-b0-c64-convhead_${RECIPE}_${token}-192x192.py" ;;
    uformer) echo "configs/uformer/uformer_unet-s5-d16-c16-mit-b0-c64_${RECIPE}_${token}-192x192.py" ;;
  esac
}
data_opts() {  # FLAVOUR -> --cfg-options values pointing at $DATA
  local d="$DATA/$1"
  echo "train_dataloader.dataset.data_root=$d val_dataloader.dataset.data_root=$d test_dataloader.dataset.data_root=$d ${EXTRA_OPTS:-}"
}

for FLAVOUR in ${FLAVOURS:-binary multiclass}; do
  for MODEL in ${MODELS:-unet segformer uformer}; do
    CONFIG=$(config_of "$MODEL" "$FLAVOUR")
    WORK_DIR="$WORK_ROOT/$FLAVOUR/$MODEL"
    rm -rf "$WORK_DIR"  # a rerun is a fresh run, not a resume
    start=$(date +%s)
    bash tools/dist_train.sh "$CONFIG" "$NPROC" --work-dir "$WORK_DIR" \
      --cfg-options $(data_opts "$FLAVOUR")
    echo "[real_drone] $FLAVOUR $MODEL trained in $(( $(date +%s) - start )) s"
    CKPT="$WORK_DIR/$(basename "$(cat "$WORK_DIR/last_checkpoint")")"
    "$PYTHON" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR" \
      --cfg-options $(data_opts "$FLAVOUR")
  done
done

# 4. the other ways to make the ensemble (configs/uformer/README.md), each
#    tuned on val only and tested with tools/test.py:
#    joint/tuned      the jointly trained UFormer, weights tuned on val;
#    members/0.5      the members trained alone, averaged 0.5/0.5;
#    members/tuned    the same, weights tuned on val.
last_ckpt() { echo "$1/$(basename "$(cat "$1/last_checkpoint")")"; }
for FLAVOUR in ${FLAVOURS:-binary multiclass}; do
  case " ${MODELS:-unet segformer uformer} " in *" uformer "*) ;; *) continue ;; esac
  CONFIG=$(config_of uformer "$FLAVOUR")
  OPTS=$(data_opts "$FLAVOUR")
  W="$WORK_ROOT/$FLAVOUR"
  "$PYTHON" tools/analysis_tools/tune_uformer_weights.py "$CONFIG" \
    "$(last_ckpt "$W/uformer")" --step 0.05 --work-dir "$W/uformer_tuned" \
    --cfg-options $OPTS
  "$PYTHON" tools/test.py "$W/uformer_tuned/uformer_weights.py" \
    "$W/uformer_tuned/uformer_weights.pth" --work-dir "$W/uformer_tuned" \
    --cfg-options $OPTS
  if [ -f "$W/unet/last_checkpoint" ] && [ -f "$W/segformer/last_checkpoint" ]; then
    "$PYTHON" tools/analysis_tools/tune_uformer_weights.py "$CONFIG" \
      --step 0.05 --work-dir "$W/members_tuned" --cfg-options $OPTS \
      model.member_checkpoints="[$(last_ckpt "$W/unet"),$(last_ckpt "$W/segformer")]"
    "$PYTHON" tools/test.py "$W/members_tuned/uformer_weights.py" \
      "$W/members_tuned/uformer_weights.pth" --work-dir "$W/members_tuned" \
      --cfg-options $OPTS
    # the same members at 0.5/0.5 (the config's weights win over the file's)
    "$PYTHON" tools/test.py "$CONFIG" "$W/members_tuned/uformer_weights.pth" \
      --work-dir "$W/members_0.5" --cfg-options $OPTS
  fi
done

# 5. pictures: the best and worst test photos of the members-trained-alone
#    ensemble (image | ground truth | U-Net | SegFormer | tuned average),
#    the per-image scores, and the training curves of the three runs
for FLAVOUR in ${FLAVOURS:-binary multiclass}; do
  W="$WORK_ROOT/$FLAVOUR"
  if [ -f "$W/members_tuned/uformer_weights.pth" ]; then
    "$PYTHON" tools/analysis_tools/best_worst.py \
      "$W/members_tuned/uformer_weights.py" "$W/members_tuned/uformer_weights.pth" \
      --split test --k 2 --out-dir "$W/gallery" --cfg-options $(data_opts "$FLAVOUR")
  fi
  RUNS=(); LABELS=()
  for MODEL in ${MODELS:-unet segformer uformer}; do RUNS+=("$W/$MODEL"); LABELS+=("$MODEL"); done
  "$PYTHON" tools/analysis_tools/plot_curves.py "${RUNS[@]}" \
    --out "$W/curves.png" --labels "${LABELS[@]}"
done
"$PYTHON" - "$WORK_ROOT" ${FLAVOURS:-binary multiclass} <<'PY'
import json, os.path as osp, sys
root, flavours = sys.argv[1], sys.argv[2:]
runs = ['unet', 'segformer', 'uformer', 'uformer_tuned', 'members_0.5',
        'members_tuned']
print(f"\n== real Semantic Drone Dataset, test split ({root}) ==")
print(f"{'flavour':<11}{'model':<15}{'mIoU':>7}{'mAcc':>7}{'aAcc':>7}")
for flavour in flavours:
    for run in runs:
        path = osp.join(root, flavour, run, 'test_report.json')
        if osp.isfile(path):
            m = json.load(open(path))['metrics']
            print(f"{flavour:<11}{run:<15}{m['mIoU']:>7.2f}{m['mAcc']:>7.2f}"
                  f"{m['aAcc']:>7.2f}")
PY

# the README's picture: the flavours' galleries stacked, as one JPEG
"$PYTHON" - "$WORK_ROOT" ${FLAVOURS:-binary multiclass} <<'PY'
import os.path as osp, sys
import cv2
import numpy as np
root, flavours = sys.argv[1], sys.argv[2:]
grids = [cv2.imread(osp.join(root, f, 'gallery', 'best_worst.png'))
         for f in flavours]
grids = [g for g in grids if g is not None]
if grids:
    width = min(g.shape[1] for g in grids)
    grids = [cv2.resize(g, (width, round(g.shape[0] * width / g.shape[1])),
                        interpolation=cv2.INTER_AREA) for g in grids]
    out = osp.join(root, 'gallery.jpg')
    cv2.imwrite(out, np.concatenate(grids), [cv2.IMWRITE_JPEG_QUALITY, 80])
    print(f'gallery: {out}')
PY
