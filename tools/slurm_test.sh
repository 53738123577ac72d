#!/usr/bin/env bash
# Evaluation under slurm, one task per GPU (or per CPU process):
#   [GPUS=4 GPUS_PER_NODE=4] tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [args...]
# CPU-only partition: GPUS_PER_NODE=0 NTASKS_PER_NODE=N GPUS=<tasks in all>.
set -euo pipefail
if [ $# -lt 4 ]; then echo "usage: tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [tools/test.py args...]" >&2; exit 2; fi
source "$(dirname "$0")/_srun.sh"
run_srun "$1" "$2" test.py "$3" "$4" "${@:5}"
