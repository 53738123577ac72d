#!/usr/bin/env bash
# Install mmseg_ext and its stack into one Python environment. Idempotent.
#
# Environment: the activated one (VIRTUAL_ENV or CONDA_PREFIX) if any, else
# .venv at the repository root, created with ${BASE_PYTHON:-python3}. Every
# tool then uses it. stdout is the interpreter's path, nothing else.
#
# Rules:
#  * an installed torch is never replaced (CPU or CUDA build); with none,
#    torch==${TORCH_VERSION:-2.13.0} is installed;
#  * mmcv 2.1.0 (an sdist only; mmseg imports its compiled ops) is built
#    once per torch build, Python version and kind of ops, by
#    scripts/build_mmcv.sh, into ${MMSEG_EXT_WHEEL_CACHE:-
#    ~/.cache/mmseg_ext/wheels}; later installs reuse that wheel. The ops are
#    CPU ops only, also under a CUDA torch (the zoo calls no mmcv kernel);
#    MMSEG_EXT_MMCV_CUDA=1 adds the CUDA kernels (needs nvcc / CUDA_HOME).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MMCV_VERSION=2.1.0
log() { printf '[install] %s\n' "$*" >&2; }

if [ -n "${VIRTUAL_ENV:-}" ] || [ -n "${CONDA_PREFIX:-}" ]; then
  PY="$(command -v python)"
  log "using the activated environment: $PY"
else
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    log "creating $ROOT/.venv"
    "${BASE_PYTHON:-python3}" -m venv "$ROOT/.venv"
  fi
  PY="$ROOT/.venv/bin/python"
fi
# all pip output goes to stderr: stdout carries only the interpreter path
pip_install() { "$PY" -m pip install --disable-pip-version-check "$@" 1>&2; }

# 1. torch: keep what is installed, else the pinned version.
if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
  log "no torch in this environment: installing torch==${TORCH_VERSION:-2.13.0}"
  pip_install "torch==${TORCH_VERSION:-2.13.0}"
fi
TORCH_VER="$("$PY" -c 'import torch; print(torch.__version__)')"
TORCH_CUDA="$("$PY" -c 'import torch; print(torch.version.cuda or "")')"
CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
echo "torch==$TORCH_VER" > "$CONSTRAINTS"   # nothing below may replace it
log "torch $TORCH_VER (CUDA: ${TORCH_CUDA:-none}) is kept"

# 2. mmcv with ops, built once per torch build. An installed mmcv counts only
#    if it is 2.1.0, its ops load, and (with MMSEG_EXT_MMCV_CUDA=1) they
#    include the CUDA kernels.
WANT_CUDA="${MMSEG_EXT_MMCV_CUDA:-0}"
MMCV_OK="import mmcv, mmcv.ops
from mmcv.ops import get_compiling_cuda_version
assert mmcv.__version__ == '$MMCV_VERSION'
assert '$WANT_CUDA' != '1' or get_compiling_cuda_version() != 'not available'"
if ! "$PY" -c "$MMCV_OK" >/dev/null 2>&1; then
  PYTAG="$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
  OPS=cpuops; if [ "$WANT_CUDA" = 1 ]; then OPS=cudaops; fi
  CACHE="${MMSEG_EXT_WHEEL_CACHE:-$HOME/.cache/mmseg_ext/wheels}/mmcv-$MMCV_VERSION-torch$TORCH_VER-$PYTAG-$OPS"
  WHEEL="$(ls "$CACHE"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
  if [ -z "$WHEEL" ]; then
    WHEEL="$(bash "$ROOT/scripts/build_mmcv.sh" "$PY" "$CACHE")"
  else
    log "reusing the mmcv wheel $WHEEL"
  fi
  # --force-reinstall: an mmcv 2.1.0 that failed the check above (no ops,
  # other torch, no CUDA ops) has the same version and would be kept
  pip_install --force-reinstall --no-deps "$WHEEL"
fi

# 3. the rest of the stack and mmseg_ext itself (editable).
pip_install -q -c "$CONSTRAINTS" -r "$ROOT/requirements.txt" \
  -r "$ROOT/requirements/deploy.txt"
pip_install -q -c "$CONSTRAINTS" --no-deps -e "$ROOT"
"$PY" -c 'import torch, mmcv.ops, mmseg, mmseg_ext; print(f"[install] ready: torch {torch.__version__}, mmcv {mmcv.__version__}, mmseg {mmseg.__version__}, mmseg_ext {mmseg_ext.__version__}")' >&2
# the interpreter for the caller (scripts/run_*.sh read it)
echo "$PY"
