#!/bin/sh
# mpirun_example.sh - distributed training with plain mpirun (no batch system): P ranks, each
# with T OpenMP threads, on the hosts of a hostfile or on this machine. Needs an MPI build
# (`make BUILD=build-mpi MPI=1`) at the same path on every host, and the ratings files at the
# same path on every host (each rank reads them; see README "Distributed training").
#
#   sh scripts/mpirun_example.sh TRAIN_FILE [VALID_FILE]
#   RANKS=4 THREADS=8 HOSTFILE=hosts.txt MODEL=model.hogmf sh scripts/mpirun_example.sh ...
#
# hosts.txt lists one host per line with its slots, e.g. "node1 slots=1": one rank per node
# and THREADS = that node's cores is the usual layout (DSGD moves item blocks between ranks;
# ranks within a node are cheaper to feed with threads than with more blocks).
set -eu

[ $# -ge 1 ] || { echo "usage: $0 TRAIN_FILE [VALID_FILE]" >&2; exit 2; }
TRAIN=$1
VALID=${2:-}
RANKS=${RANKS:-2}
THREADS=${THREADS:-1}
MODEL=${MODEL:-model.hogmf}
HOGMF=${HOGMF:-$(cd "$(dirname "$0")/.." && pwd)/build-mpi/hogmf}

set -- -np "$RANKS"
[ -n "${HOSTFILE:-}" ] && set -- "$@" --hostfile "$HOSTFILE"
# Without a binding policy, Open MPI binds each rank to one core and its OpenMP threads all
# share it. Either bind nothing (the OS spreads the threads), or bind each rank to THREADS
# cores: --map-by slot:PE=$THREADS --bind-to core.
if [ "$THREADS" -gt 1 ]; then
    set -- "$@" --map-by "slot:PE=$THREADS" --bind-to core
else
    set -- "$@" --bind-to none
fi
# Root in a container needs --allow-run-as-root; more ranks than cores needs --oversubscribe.
[ "$(id -u)" -eq 0 ] && set -- "$@" --allow-run-as-root
set -- "$@" -x OMP_NUM_THREADS="$THREADS" -x OMP_PROC_BIND=true

ARGS="--threads $THREADS --checkpoint $MODEL.ckpt --checkpoint-every 5 -o $MODEL"
[ -n "$VALID" ] && ARGS="$ARGS --validate $VALID"
# A job stopped with SIGUSR1 (kill -USR1 <mpirun pid>) writes a checkpoint after the current
# epoch and exits with status 4; rerun with --resume $MODEL.ckpt and the same options and
# number of ranks to continue.
# shellcheck disable=SC2086 # ARGS is a list of options
exec mpirun "$@" "$HOGMF" train $ARGS "$TRAIN"
