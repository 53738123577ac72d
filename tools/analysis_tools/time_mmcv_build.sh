#!/usr/bin/env bash
# Time the mmcv 2.1.0 build (scripts/build_mmcv.sh) and its options.
#
#   tools/analysis_tools/time_mmcv_build.sh full [OPT] [JOBS]
#       one cold build of the wheel with MMSEG_EXT_MMCV_OPT=OPT (default
#       -O1) and MAX_JOBS=JOBS (default: the CPU count), into a temporary
#       folder; prints wall and CPU seconds
#   tools/analysis_tools/time_mmcv_build.sh sample "FLAGS" ["FLAGS" ...]
#       compile the same 8 op sources serially (4 wrappers, 4 CPU kernels,
#       pybind.cpp among them) with Python's own flags (-g -O3) followed by
#       each FLAGS (e.g. "" "-O1 -g0" "-O0 -g0"); prints CPU seconds and
#       object size: a cheaper comparison of compile flags than full builds
#
# PYTHON (default .venv/bin/python) gives the torch to build against; the
# mmcv sdist is fetched once into $TMPDIR (MMSEG_EXT_MMCV_SDIST to pass one).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
MODE="${1:?usage: time_mmcv_build.sh full [OPT] [JOBS] | sample FLAGS...}"
shift
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if [ "$MODE" = full ]; then
  export MMSEG_EXT_MMCV_OPT="${1:--O1}" MAX_JOBS="${2:-$(nproc)}"
  /usr/bin/time -f '%e %U %S' -o "$WORK/time" \
    bash "$ROOT/scripts/build_mmcv.sh" "$PY" "$WORK/out" >/dev/null
  read -r wall user sys < "$WORK/time"
  echo "full build: OPT='$MMSEG_EXT_MMCV_OPT' MAX_JOBS=$MAX_JOBS wall ${wall} s," \
    "CPU ${user} s user + ${sys} s sys, wheel $(du -k "$WORK"/out/*.whl | cut -f1) KiB"
  exit 0
fi
[ "$MODE" = sample ] || { echo "unknown mode $MODE" >&2; exit 2; }

SDIST="${MMSEG_EXT_MMCV_SDIST:-}"
if [ -z "$SDIST" ]; then
  "$PY" -m pip install -q --disable-pip-version-check --no-warn-conflicts \
    --target "$WORK/tools" \
    "setuptools<70" >&2
  PYTHONPATH="$WORK/tools" "$PY" -m pip download -q --disable-pip-version-check \
    --no-deps --no-binary :all: --no-build-isolation -d "$WORK" mmcv==2.1.0 >&2
  SDIST="$WORK/mmcv-2.1.0.tar.gz"
fi
tar -xzf "$SDIST" -C "$WORK"
SRC="$WORK/mmcv-2.1.0/mmcv/ops/csrc"
# the compile line torch's BuildExtension writes for mmcv's CPU ops
BASE="$("$PY" - "$SRC" <<'PY'
import sys, sysconfig
from torch.utils.cpp_extension import include_paths
flags = sysconfig.get_config_var('CFLAGS').split() + ['-fPIC']
incs = [f'-I{sys.argv[1]}/common'] + [f'-I{p}' for p in include_paths()]
incs.append('-I' + sysconfig.get_paths()['include'])
print(' '.join(flags + incs))
PY
)"
POST="-std=c++17 -DTORCH_API_INCLUDE_EXTENSION_H -DTORCH_EXTENSION_NAME=_ext"
FILES="pytorch/nms.cpp pytorch/roi_align.cpp pytorch/pybind.cpp
  pytorch/deform_conv.cpp pytorch/cpu/roi_align.cpp pytorch/cpu/deform_conv.cpp
  pytorch/cpu/nms.cpp pytorch/cpu/sparse_indice.cpp"
for EXTRA in "$@"; do
  OBJ="$WORK/obj"; rm -rf "$OBJ"; mkdir -p "$OBJ"
  # shellcheck disable=SC2086
  /usr/bin/time -f '%e %U %S' -o "$WORK/time" bash -c "
    for f in $(echo $FILES); do
      c++ $BASE $EXTRA -c $SRC/\$f -o $OBJ/\$(basename \$f).o $POST \
        2>$WORK/err || { tail -20 $WORK/err >&2; exit 1; }
    done"
  read -r wall user sys < "$WORK/time"
  echo "sample (8 files, serial): FLAGS='$EXTRA' CPU ${user} s user +" \
    "${sys} s sys, wall ${wall} s, objects $(du -ck "$OBJ"/*.o | tail -1 | cut -f1) KiB"
done
