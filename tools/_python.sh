# Sourced by the tools/*.sh launchers: pick the interpreter mmseg_ext was
# installed into. Order: $PYTHON, the activated environment, the repository's
# .venv (made by scripts/install.sh), then python3 on PATH.
_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
  if [ -n "${VIRTUAL_ENV:-}" ] || [ -n "${CONDA_PREFIX:-}" ]; then
    PYTHON=python
  elif [ -x "$_ROOT/.venv/bin/python" ]; then
    PYTHON="$_ROOT/.venv/bin/python"
  else
    PYTHON=python3
  fi
fi
