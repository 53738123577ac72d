#!/usr/bin/env bash
# Install (idempotent) and run the test suite on CPU.
#   bash scripts/run_tests.sh [pytest args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="$(bash scripts/install.sh)"
exec "$PYTHON" -m pytest tests "$@"
