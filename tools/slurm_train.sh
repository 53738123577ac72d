#!/usr/bin/env bash
# Training under slurm, one task per GPU (or per CPU process):
#   [GPUS=8 GPUS_PER_NODE=4] tools/slurm_train.sh PARTITION JOB_NAME CONFIG [args...]
# CPU-only partition: GPUS_PER_NODE=0 NTASKS_PER_NODE=N GPUS=<tasks in all>.
set -euo pipefail
if [ $# -lt 3 ]; then echo "usage: tools/slurm_train.sh PARTITION JOB_NAME CONFIG [tools/train.py args...]" >&2; exit 2; fi
source "$(dirname "$0")/_srun.sh"
run_srun "$1" "$2" train.py "$3" "${@:4}"
