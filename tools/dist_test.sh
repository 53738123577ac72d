#!/usr/bin/env bash
# Distributed evaluation with torchrun, on GPUs (nccl) or CPUs (gloo):
#   tools/dist_test.sh CONFIG CHECKPOINT NPROC [tools/test.py args...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
set -euo pipefail
if [ $# -lt 3 ]; then echo "usage: tools/dist_test.sh CONFIG CHECKPOINT NPROC [tools/test.py args...]" >&2; exit 2; fi
source "$(dirname "$0")/_torchrun.sh"
run_torchrun "$3" test.py "$1" "$2" "${@:4}"
