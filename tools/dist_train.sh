#!/usr/bin/env bash
# Distributed training with torchrun, on GPUs (nccl) or CPUs (gloo):
#   tools/dist_train.sh CONFIG NPROC [tools/train.py args...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: tools/dist_train.sh CONFIG NPROC [tools/train.py args...]" >&2; exit 2; fi
source "$(dirname "$0")/_torchrun.sh"
run_torchrun "$2" train.py "$1" "${@:3}"
