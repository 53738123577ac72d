#!/usr/bin/env bash
# The GPU path, end to end, on an offline GPU machine, in about 8 minutes:
# install mmcv and the stack from a folder of wheels, train the demo UFormer
# with tools/dist_train.sh (nccl, SyncBN, --amp), test it with
# tools/dist_test.sh, run the loss and UFormer benchmarks on CUDA and print
# one summary.
#
#   WHEELS=/path/to/wheels bash scripts/gpu_check.sh
#
# Assumes only: Python 3.12 with a CUDA torch installed (BASE_PYTHON, default
# python3), a GPU, and WHEELS holding everything else (no package index is
# reached: PIP_NO_INDEX=1). Prepare WHEELS on a machine with internet
# (docs/install.md, "Checking a GPU machine offline"; checked on x86_64):
#   grep -vE '^(torch|mmcv)' requirements.txt > /tmp/req.txt
#   P="--only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64
#      --platform manylinux_2_17_x86_64 --platform manylinux_2_27_x86_64
#      --platform manylinux_2_28_x86_64"
#   pip download -d wheels $P -r /tmp/req.txt -r requirements/deploy.txt
#   pip download -d wheels $P "setuptools<70" wheel ninja   # builds mmcv
#   pip download -d wheels --no-deps --no-binary :all: --no-build-isolation \
#     mmcv==2.1.0   # the sdist; in an environment with setuptools<81
#                   # (mmcv's setup.py imports pkg_resources)
# (188 MB, 53 files.) torch itself is not in the folder: the machine's own
# CUDA torch is kept (scripts/install.sh never replaces it).
#
# Environment: WHEELS (required), BASE_PYTHON (python3), OUT
# (work_dirs/gpu_check), ITERS (300), GPU_CHECK_CPU=1 rehearses the same
# steps on the CPU (gloo, no --amp) where no GPU is present.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
START=$(date +%s)
log() { printf '[gpu_check %3d s] %s\n' "$(( $(date +%s) - START ))" "$*" >&2; }
: "${WHEELS:?set WHEELS to the folder of wheels (see the header of this script)}"
WHEELS="$(cd "$WHEELS" && pwd)"
OUT="${OUT:-work_dirs/gpu_check}"
ITERS="${ITERS:-300}"
BASE_PYTHON="${BASE_PYTHON:-python3}"

# 1. offline install into a venv that sees the system's CUDA torch
export PIP_NO_INDEX=1 PIP_FIND_LINKS="$WHEELS" PIP_DISABLE_PIP_VERSION_CHECK=1
SDIST="$(ls "$WHEELS"/mmcv-2.1.0.tar.gz 2>/dev/null || true)"
[ -n "$SDIST" ] || { echo "no mmcv-2.1.0.tar.gz in $WHEELS" >&2; exit 2; }
export MMSEG_EXT_MMCV_SDIST="$SDIST"
if "$BASE_PYTHON" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
  VENV="$("$BASE_PYTHON" -c 'import sys; print(sys.prefix)')"  # a venv: use it
else
  # a system Python: a venv on top that sees its torch
  VENV="$ROOT/.venv-gpu-check"
  [ -x "$VENV/bin/python" ] || "$BASE_PYTHON" -m venv --system-site-packages "$VENV"
fi
export VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH"
log "installing (offline, from $WHEELS)"
PY="$(bash scripts/install.sh)"
export PYTHON="$PY"
INSTALLED=$(( $(date +%s) - START ))
"$PY" - <<'PY'
import os, sys, torch
if os.environ.get('GPU_CHECK_CPU') != '1' and not torch.cuda.is_available():
    sys.exit('gpu_check: torch sees no GPU (torch %s, CUDA %s); set '
             'GPU_CHECK_CPU=1 to rehearse on the CPU' % (
                 torch.__version__, torch.version.cuda))
PY
if [ "${GPU_CHECK_CPU:-0}" = 1 ]; then
  # a rehearsal of the steps: small benchmark shapes, the CPU is slow
  DEVICE=cpu; AMP=(); export CUDA_VISIBLE_DEVICES=
  LOSS_ARGS=(--shape 2 128 128 --repeats 3); UFORMER_ARGS=(--shape 2 3 128 128 --repeats 3)
else
  DEVICE=cuda; AMP=(--amp); LOSS_ARGS=(); UFORMER_ARGS=()
fi

# 2. data and the demo UFormer: 1 process, nccl on a GPU, SyncBN kept
DATA="$OUT/data"
CFG=configs/demo/uformer_unet-s5-d16-c16-mit-b0-c64_2xb4-800iter_synthetic-binary-128x128.py
"$PY" tools/misc/make_synthetic_dataset.py "$DATA" --flavour binary \
  --train 64 --val 16 --size 128 --seed 0 >/dev/null
rm -rf "$OUT/train"
export PORT="${PORT:-$((29500 + RANDOM % 1000))}"
log "training $CFG for $ITERS iterations ($DEVICE ${AMP[*]})"
T0=$(date +%s)
bash tools/dist_train.sh "$CFG" 1 "${AMP[@]}" --work-dir "$OUT/train" \
  --cfg-options train_cfg.max_iters="$ITERS" train_cfg.val_interval="$ITERS" \
  default_hooks.checkpoint.interval="$ITERS" \
  train_dataloader.dataset.data_root="$DATA" \
  val_dataloader.dataset.data_root="$DATA" \
  test_dataloader.dataset.data_root="$DATA" > "$OUT/train.log" 2>&1 \
  || { tail -40 "$OUT/train.log"; exit 1; }
TRAIN_S=$(( $(date +%s) - T0 ))
CKPT="$OUT/train/$(basename "$(cat "$OUT/train/last_checkpoint")")"
log "testing $CKPT"
bash tools/dist_test.sh "$CFG" "$CKPT" 1 --work-dir "$OUT/test" \
  --cfg-options test_dataloader.dataset.data_root="$DATA" \
  > "$OUT/test.log" 2>&1 || { tail -40 "$OUT/test.log"; exit 1; }

# 3. the benchmarks on the device
log "benchmarks on $DEVICE"
"$PY" tools/analysis_tools/benchmark_losses.py --device "$DEVICE" "${LOSS_ARGS[@]}" \
  > "$OUT/benchmark_losses.txt" 2>&1 \
  || { tail -40 "$OUT/benchmark_losses.txt"; exit 1; }
"$PY" tools/analysis_tools/benchmark_uformer.py "$CFG" --devices "$DEVICE" "${UFORMER_ARGS[@]}" \
  > "$OUT/benchmark_uformer.txt" 2>&1 \
  || { tail -40 "$OUT/benchmark_uformer.txt"; exit 1; }

# 4. one summary
"$PY" - "$OUT" "$INSTALLED" "$TRAIN_S" "$(( $(date +%s) - START ))" <<'PY'
import json, re, sys
out, installed, train_s, total = sys.argv[1], *map(int, sys.argv[2:])
import torch, mmcv
from mmcv.ops import get_compiling_cuda_version
log = open(f'{out}/train.log').read()
report = json.load(open(f'{out}/test/test_report.json'))
m = report['metrics']
print('\n== gpu_check summary ==')
print(f'device: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"}; '
      f'torch {torch.__version__} (CUDA {torch.version.cuda}); mmcv '
      f'{mmcv.__version__} (ops compiled with CUDA: '
      f'{get_compiling_cuda_version()})')
backend = re.search(r'backend=(\w+)', log)
print(f'install: {installed} s; train: {train_s} s '
      f'(backend {backend.group(1) if backend else "?"}, '
      'SyncBN: '
      f'{"reverted to BN (CPU)" if "SyncBN layers are reverted" in log else "kept"}, '
      f'AMP: {"AmpOptimWrapper" in log})')
print(f'test: aAcc {m["aAcc"]:.2f}  mIoU {m["mIoU"]:.2f}  mAcc {m["mAcc"]:.2f}')
for name in ('benchmark_losses', 'benchmark_uformer'):
    print(f'-- {name} --')
    print(open(f'{out}/{name}.txt').read().strip())
print(f'total: {total} s (target: at most 480 s)')
PY
