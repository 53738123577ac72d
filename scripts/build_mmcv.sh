#!/usr/bin/env bash
# Build an mmcv 2.1.0 wheel (full mmcv, with its compiled ops) for one Python
# and its installed torch, printing progress. scripts/install.sh calls it;
# tools/analysis_tools/time_mmcv_build.sh times its options.
#
#   bash scripts/build_mmcv.sh PYTHON OUT_DIR      # prints the wheel's path
#
# mmseg needs `mmcv.ops` importable (mmseg.utils imports it), not its CUDA
# kernels: no model of mmseg_ext's zoo calls an mmcv op (UNet, DeepLabV3+,
# MiT/SegFormer and their heads are plain PyTorch;
# tests/test_models/test_zoo_without_mmcv_kernels.py proves it). So the
# default build compiles the CPU ops only, even under a CUDA torch.
#
# Environment:
#   MMSEG_EXT_MMCV_CUDA=1   also compile the CUDA kernels (needs nvcc and
#                           CUDA_HOME). Needed only for mmseg parts that call
#                           mmcv ops on the GPU: PSANet (PSAMask), CCNet
#                           (CrissCrossAttention), FocalLoss with
#                           use_sigmoid (sigmoid_focal_loss), backbones with
#                           DCN (DeformConv2d), Mask2Former/MaskFormer via
#                           mmdet (MultiScaleDeformableAttention).
#   MMSEG_EXT_MMCV_OPT      optimisation flags for the C++ ops (default -O1:
#                           the ops are not on mmseg_ext's hot path; see
#                           docs/install.md for the measured options).
#   MAX_JOBS                parallel compile jobs (default: the CPU count).
#   MMSEG_EXT_MMCV_SDIST    a local mmcv-2.1.0.tar.gz (else pip fetches it,
#                           from the index or PIP_FIND_LINKS).
set -euo pipefail

PY="$1"
OUT="$2"
MMCV_VERSION=2.1.0
log() { printf '[install] %s\n' "$*" >&2; }

WORK="$(mktemp -d)"
cleanup() {
  if [ -n "${WATCH_PID:-}" ]; then kill "$WATCH_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# build tools on PYTHONPATH only: mmcv's setup.py imports pkg_resources
# (setuptools < 70), without touching the environment's own setuptools
"$PY" -m pip install --disable-pip-version-check -q --no-warn-conflicts \
  --target "$WORK/tools" \
  "setuptools<70" wheel ninja 1>&2
SDIST="${MMSEG_EXT_MMCV_SDIST:-}"
if [ -z "$SDIST" ]; then
  PYTHONPATH="$WORK/tools" "$PY" -m pip download --disable-pip-version-check \
    -q --no-deps --no-binary :all: --no-build-isolation -d "$WORK" \
    "mmcv==$MMCV_VERSION" 1>&2
  SDIST="$WORK/mmcv-$MMCV_VERSION.tar.gz"
fi
tar -xzf "$SDIST" -C "$WORK"
SRC="$WORK/mmcv-$MMCV_VERSION"

export MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}"
OPT="${MMSEG_EXT_MMCV_OPT:--O1}"
# appended after Python's own CFLAGS (-g -O3): the last -O wins, -g0 drops
# the debug info (objects ~30x smaller, faster to write and link)
export CFLAGS="$OPT -g0" CXXFLAGS="$OPT -g0"
if [ "${MMSEG_EXT_MMCV_CUDA:-0}" = 1 ]; then
  export FORCE_CUDA=1
  SOURCES=$(find "$SRC/mmcv/ops/csrc/pytorch" -maxdepth 2 \
    \( -path '*/pytorch/*.cpp' -o -path '*/cpu/*.cpp' -o -path '*/cuda/*.cu' \
       -o -path '*/cuda/*.cpp' \) | wc -l)
  KIND="CPU and CUDA ops"
  EXPECT="20-40 min"
else
  # mmcv's setup.py compiles CUDA kernels whenever torch sees a GPU: hide it
  export FORCE_CUDA=0 CUDA_VISIBLE_DEVICES=
  SOURCES=$(ls "$SRC"/mmcv/ops/csrc/pytorch/*.cpp \
    "$SRC"/mmcv/ops/csrc/pytorch/cpu/*.cpp | wc -l)
  KIND="CPU ops"
  # 63 of the 77 sources begin with common/pytorch_cpp_helper.hpp, i.e.
  # torch's headers, which cost most of each compile. Parse them once: a
  # precompiled header with the compile line torch's BuildExtension writes
  # (Python's CFLAGS, ours, -fPIC, the include dirs, -std=c++17 and the two
  # extension macros), found through -I before mmcv's own common/. gcc uses
  # it only where it is valid (else it reads the header as usual); the
  # objects are byte-identical with and without it.
  PCH="$WORK/pch"
  mkdir -p "$PCH"
  PCH_LINE="$("$PY" - "$SRC/mmcv/ops/csrc" <<'PY'
import sys, sysconfig
from torch.utils.cpp_extension import include_paths
inc = [f'-I{sys.argv[1]}/common'] + [f'-I{p}' for p in include_paths()]
inc += ['-I' + sysconfig.get_paths()['include']]
print(' '.join(sysconfig.get_config_var('CFLAGS').split()))
print(' '.join(inc))
PY
)"
  PY_CFLAGS="$(sed -n 1p <<< "$PCH_LINE")"
  PCH_INCLUDES="$(sed -n 2p <<< "$PCH_LINE")"
  # shellcheck disable=SC2086
  if c++ $PY_CFLAGS $CFLAGS -fPIC $PCH_INCLUDES -x c++-header \
      "$SRC/mmcv/ops/csrc/common/pytorch_cpp_helper.hpp" \
      -o "$PCH/pytorch_cpp_helper.hpp.gch" -std=c++17 \
      -DTORCH_API_INCLUDE_EXTENSION_H -DTORCH_EXTENSION_NAME=_ext \
      2>/dev/null; then
    export CFLAGS="$CFLAGS -I$PCH" CXXFLAGS="$CXXFLAGS -I$PCH"
  else
    log "no precompiled header (compiling without it)"
  fi
  EXPECT="about $(( (SOURCES * 5 / MAX_JOBS + 59) / 60 )) min"
fi
log "building mmcv $MMCV_VERSION ($KIND, $OPT, $MAX_JOBS jobs): $SOURCES" \
  "files to compile, $EXPECT on this machine; once per torch build"

# progress: compiled objects so far, every 30 s
START=$(date +%s)
(
  while sleep 30; do
    done_files=$(find "$SRC/build" -name '*.o' 2>/dev/null | wc -l)
    log "mmcv: $done_files/$SOURCES files compiled," \
      "$(( ($(date +%s) - START) / 60 )) min $(( ($(date +%s) - START) % 60 ))" \
      "s elapsed ($EXPECT in all)"
  done
) &
WATCH_PID=$!

mkdir -p "$OUT"
(cd "$SRC" && PATH="$WORK/tools/bin:$PATH" PYTHONPATH="$WORK/tools" \
  "$PY" -m pip wheel --disable-pip-version-check -q --no-build-isolation \
  --no-deps -w "$OUT" . 1>&2)
kill "$WATCH_PID" 2>/dev/null || true
WATCH_PID=
log "mmcv built in $(( ($(date +%s) - START) / 60 )) min" \
  "$(( ($(date +%s) - START) % 60 )) s"
ls "$OUT"/mmcv-"$MMCV_VERSION"-*.whl | head -n1
