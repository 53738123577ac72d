# Sourced by dist_train.sh / dist_test.sh: run_torchrun NPROC SCRIPT ARGS...
# starts tools/SCRIPT under torchrun with --launcher pytorch. Multi-node runs
# set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
source "$(dirname "${BASH_SOURCE[0]}")/_python.sh"

run_torchrun() {
  local nproc=$1 script=$2
  shift 2
  if [ "${NNODES:-1}" -gt 1 ] && [ -z "${MASTER_ADDR:-}" ]; then
    echo "NNODES=$NNODES: set MASTER_ADDR to node 0's address (the same on" \
      "every node), with a distinct NODE_RANK per node." >&2
    return 2
  fi
  exec "$PYTHON" -m torch.distributed.run \
      --nnodes="${NNODES:-1}" \
      --node_rank="${NODE_RANK:-0}" \
      --master_addr="${MASTER_ADDR:-127.0.0.1}" \
      --nproc_per_node="$nproc" \
      --master_port="${PORT:-29500}" \
      "$(dirname "${BASH_SOURCE[0]}")/$script" \
      "$@" --launcher pytorch
}
