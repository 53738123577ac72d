# Sourced by slurm_train.sh / slurm_test.sh: run_srun PARTITION JOB SCRIPT ARGS...
# starts tools/SCRIPT under srun with --launcher=slurm.
#   GPUS (tasks in all, default 4), GPUS_PER_NODE (default 4; 0 on CPU-only
#   partitions), NTASKS_PER_NODE (default GPUS_PER_NODE), CPUS_PER_TASK
#   (default 5), SRUN_ARGS (extra srun options).
source "$(dirname "${BASH_SOURCE[0]}")/_python.sh"

run_srun() {
  local partition=$1 job_name=$2 script=$3
  shift 3
  local gpus_per_node=${GPUS_PER_NODE:-4}
  local tasks_per_node=${NTASKS_PER_NODE:-$gpus_per_node}
  if [ "$tasks_per_node" -lt 1 ]; then
    echo "GPUS_PER_NODE=0 (CPU partition): set NTASKS_PER_NODE to the processes per node" >&2
    exit 2
  fi
  local gres=()
  if [ "$gpus_per_node" -gt 0 ]; then gres=(--gres="gpu:$gpus_per_node"); fi
  # shellcheck disable=SC2086
  exec srun -p "$partition" \
      --job-name="$job_name" \
      ${gres[@]+"${gres[@]}"} \
      --ntasks="${GPUS:-4}" \
      --ntasks-per-node="$tasks_per_node" \
      --cpus-per-task="${CPUS_PER_TASK:-5}" \
      --kill-on-bad-exit=1 \
      ${SRUN_ARGS:-} \
      "$PYTHON" -u "$(dirname "${BASH_SOURCE[0]}")/$script" "$@" --launcher=slurm
}
