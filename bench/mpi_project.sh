#!/bin/sh
# mpi_project.sh - projects the MPI mode's time per epoch for sets larger than this machine
# can hold and for clusters it does not have, from the per-thread rates bench/mpi_bench.sh
# measured at P = 1 (bench/out/mpi.json) and a stated network. The model is the one
# bench/MPI.md derives: SGD compute shrinks as 1/P, the training ring adds P-1 blocking steps
# of n/P item rows each, the evaluation ring overlaps its transfers with its work.
#
#   sh bench/mpi_project.sh                       k=128, 32 threads per node, two networks
#   PROJ_K=32 PROJ_THREADS=64 PROJ_EFF=0.75 PROJ_IMBALANCE=1.1 sh bench/mpi_project.sh
#   PROJ_SGD_RATE=1.25e7 PROJ_EVAL_RATE=1.2e7     per-thread rates instead of mpi.json's
set -eu

cd "$(dirname "$0")/.."
K=${PROJ_K:-128}
THREADS=${PROJ_THREADS:-32}
EFF=${PROJ_EFF:-0.75}
IMB=${PROJ_IMBALANCE:-1.1}
RESULTS=${BENCH_OUT:-bench/out}/mpi.json

# Per-thread rates at P = 1 from the bench (updates/s and evaluated ratings/s), unless given.
SGD=${PROJ_SGD_RATE:-}
EVAL=${PROJ_EVAL_RATE:-}
if [ -z "$SGD" ] || [ -z "$EVAL" ]; then
    [ -s "$RESULTS" ] || { echo "mpi_project: no $RESULTS; run bench/mpi_bench.sh" >&2; exit 2; }
    LINE=$(grep "\"k\": $K, \"ranks\": 1," "$RESULTS" | head -n 1)
    [ -n "$LINE" ] || { echo "mpi_project: no k=$K, P=1 run in $RESULTS" >&2; exit 2; }
    RATES=$(echo "$LINE" | awk '
        function num(key,   m) {
            if (match($0, "\"" key "\": [-0-9.eE+]+")) { m = substr($0, RSTART, RLENGTH); sub(/^[^:]*: /, "", m); return m + 0 }
            return -1
        }
        { t = num("threads_per_rank"); n = num("ratings")
          printf "%.4g %.4g\n", n / num("compute_seconds_mean") / t, n * 1.111 / num("eval_seconds_max") / t }')
    SGD=${SGD:-${RATES% *}}
    EVAL=${EVAL:-${RATES#* }}
fi

awk -v k="$K" -v T="$THREADS" -v eff="$EFF" -v imb="$IMB" -v u="$SGD" -v e="$EVAL" 'BEGIN {
    s = int((k + 15) / 16) * 16           # padded row length
    row = (s + 1) * 4                      # bytes per item row on the ring (factors + bias)
    split("25M 100M 1B", name, " ")
    split("25000095 100480507 1000000000", N, " ")   # training ratings
    split("162541 480189 10000000", M, " ")          # users
    split("59047 17770 1000000", Nn, " ")            # items
    split("10GbE IB-HDR", net, " ")
    split("1.1e9 11e9", bw, " ")           # effective bytes/s of one MPI stream
    split("30e-6 2e-6", lat, " ")          # seconds per message
    printf "k=%d, %d threads per node at %.0f%% Hogwild efficiency, per-thread %.3g updates/s and\n", k, T, eff * 100, u
    printf "%.3g evaluated ratings/s (measured), load imbalance x%.2f; 10%% of ratings held out\n", e, imb
    printf "for validation. Seconds per epoch: total (sgd + blocking ring; eval ring overlapped)\n\n"
    for (d = 1; d <= 3; d++) {
        q = Nn[d] * row
        printf "%s: %d users, %d items, %.3g ratings; Q = %.1f MB; model on rank 0 %.2f GB\n", name[d], M[d], Nn[d], N[d], q / 1e6, (M[d] + Nn[d]) * s * 4 / 1e9
        printf "  %-7s %5s %9s %9s %9s %9s %9s %11s\n", "network", "P", "sgd", "ring", "eval", "epoch", "speedup", "MB/rank"
        for (w = 1; w <= 2; w++) {
            for (P = 1; P <= 64; P *= 2) {
                sgd = N[d] / (P * T * u * eff) * (P > 1 ? imb : 1)
                step = lat[w] + (Nn[d] / P) * row / bw[w]
                ring = (P - 1) * step
                evc = N[d] * 1.111 / (P * T * e * eff)
                ev = evc > ring ? evc : ring
                ep = sgd + ring + ev
                if (P == 1) base = ep
                printf "  %-7s %5d %9.3f %9.3f %9.3f %9.3f %9.2f %11.1f\n", net[w], P, sgd, ring, ev, ep, base / ep, 2 * (P - 1) * (Nn[d] / P) * row / 1e6
            }
        }
        printf "\n"
    }
}'
