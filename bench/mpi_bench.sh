#!/bin/sh
# mpi_bench.sh - the MPI mode's costs per epoch (issue 5): trains a synthetic set under
# `mpirun -np P` for P = 1, 2, 4 and k = 32, 128, and from hogmf's per-rank "mpi_rank" events
# (--json) takes, per epoch, each rank's SGD compute seconds, seconds blocked in the training
# ring, evaluation seconds (its ring overlapped) and bytes sent. Writes bench/out/mpi.json (one
# object per run: medians over the epochs) and bench/out/mpi/ (raw events), prints a table.
# bench/MPI.md turns these figures into a projection for larger sets and clusters.
# Data is cached in bench/data/ (gitignored); nothing here is run by `make test`.
#
#   make BUILD=build-mpi MPI=1 && sh bench/mpi_bench.sh
#   MPI_BENCH_RANKS="1 2 4"  MPI_BENCH_K="32 128"  MPI_BENCH_EPOCHS=5  MPI_BENCH_THREADS=1
#   MPI_BENCH_RATINGS=4000000 (70,000 users, 10,000 items, 10% held out for validation)
#   MPIRUN="mpirun ..."  [mpirun --allow-run-as-root --oversubscribe --bind-to none]
set -eu

cd "$(dirname "$0")/.."
HOGMF=${HOGMF:-${BENCH_BUILD:-build-mpi}/hogmf}
RANKS=${MPI_BENCH_RANKS:-1 2 4}
KS=${MPI_BENCH_K:-32 128}
EPOCHS=${MPI_BENCH_EPOCHS:-5}
THREADS=${MPI_BENCH_THREADS:-1}
RATINGS=${MPI_BENCH_RATINGS:-4000000}
USERS=70000
ITEMS=10000
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe --bind-to none}
export OMPI_MCA_btl_vader_single_copy_mechanism="${OMPI_MCA_btl_vader_single_copy_mechanism:-none}"
# A barrier before each ring step separates waiting for slower ranks (sync) from the
# transfer itself (comm); HOGMF_MPI_SYNC=0 measures without it.
HOGMF_MPI_SYNC=${HOGMF_MPI_SYNC:-1}
export HOGMF_MPI_SYNC
DATA=bench/data
OUT=${BENCH_OUT:-bench/out}

die() {
    echo "mpi_bench: $*" >&2
    exit 2
}
for v in "$EPOCHS" "$THREADS" "$RATINGS" $RANKS $KS; do
    case $v in '' | *[!0-9]* | 0) die "expected positive integers, found '$v'" ;; esac
done
[ -x "$HOGMF" ] || die "$HOGMF is not an executable; run 'make BUILD=build-mpi MPI=1' first"
command -v mpirun >/dev/null 2>&1 || die "mpirun not found (apt-get install openmpi-bin)"

mkdir -p "$DATA" "$OUT/mpi"
BASE=$DATA/mpi_u${USERS}_i${ITEMS}_n${RATINGS}
if [ ! -s "$BASE.train.csv" ] || [ ! -s "$BASE.valid.csv" ]; then
    echo "mpi_bench: generating $BASE.{train,valid}.csv"
    "$HOGMF" gen --users "$USERS" --items "$ITEMS" --ratings "$RATINGS" --rank 16 --seed 1 \
        -o "$BASE.csv"
    "$HOGMF" split --test-fraction 0.1 --seed 1 "$BASE.csv" "$BASE.train.csv" "$BASE.valid.csv"
    rm -f "$BASE.csv"
fi

CORES=$(nproc 2>/dev/null || echo 1)
TMPM=$(mktemp -d "${TMPDIR:-/tmp}/hogmf-mpibench.XXXXXX")
trap 'rm -rf "$TMPM"' EXIT

# summarize FILE K P: one JSON object from a run's events: per epoch, the slowest and the
# mean rank's figures; then the median over the epochs.
summarize() {
    awk -v k="$2" -v P="$3" -v threads="$THREADS" -v cores="$CORES" '
    function num(key,   m) {
        if (match($0, "\"" key "\": [-0-9.eE+]+")) {
            m = substr($0, RSTART, RLENGTH); sub(/^[^:]*: /, "", m); return m + 0
        }
        return -1
    }
    function median(a, n,   i, j, t) {
        for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    /"event": "epoch"/ { e = num("epoch"); wall[e] = num("epoch_seconds"); vr = num("valid_rmse"); ne = e > ne ? e : ne }
    /"event": "mpi_rank"/ {
        e = num("epoch")
        c = num("compute_seconds"); w = num("comm_seconds"); ev = num("eval_seconds"); ec = num("eval_comm_seconds")
        b = num("bytes_sent"); upd = num("updates"); sy = num("sync_seconds")
        symax[e] = sy > symax[e] ? sy : symax[e]
        cmax[e] = c > cmax[e] ? c : cmax[e]; csum[e] += c
        wmax[e] = w > wmax[e] ? w : wmax[e]; wsum[e] += w
        evmax[e] = ev > evmax[e] ? ev : evmax[e]; ecmax[e] = ec > ecmax[e] ? ec : ecmax[e]
        bsum[e] += b; umax[e] = upd > umax[e] ? upd : umax[e]; usum[e] += upd
    }
    END {
        if (ne == 0) { print "{}"; exit 1 }
        for (e = 1; e <= ne; e++) {
            A[e] = cmax[e]; B[e] = csum[e] / P; C[e] = wmax[e]; D[e] = wsum[e] / P
            E[e] = evmax[e]; F[e] = ecmax[e]; G[e] = bsum[e] / P; H[e] = wall[e]; S[e] = symax[e]
        }
        printf "{\"k\": %d, \"ranks\": %d, \"threads_per_rank\": %d, \"cores\": %d, \"epochs\": %d, ", k, P, threads, cores, ne
        printf "\"ratings\": %d, \"max_rank_ratings\": %d, ", usum[1], umax[1]
        printf "\"compute_seconds_max\": %.6f, \"compute_seconds_mean\": %.6f, ", median(A, ne), median(B, ne)
        printf "\"comm_seconds_max\": %.6f, \"comm_seconds_mean\": %.6f, ", median(C, ne), median(D, ne)
        printf "\"eval_seconds_max\": %.6f, \"eval_comm_seconds_max\": %.6f, ", median(E, ne), median(F, ne)
        printf "\"sync_seconds_max\": %.6f, ", median(S, ne)
        printf "\"bytes_sent_per_rank\": %.0f, \"epoch_seconds\": %.6f, \"valid_rmse\": %.6f}\n", median(G, ne), median(H, ne), vr
    }' "$1"
}

RESULTS=$OUT/mpi.json
: >"$RESULTS.tmp"
for k in $KS; do
    for P in $RANKS; do
        LOG=$OUT/mpi/k${k}_p${P}.jsonl
        echo "mpi_bench: k=$k, $P rank(s) x $THREADS thread(s), $EPOCHS epochs"
        # shellcheck disable=SC2086 # MPIRUN is a command line
        $MPIRUN -np "$P" -x HOGMF_MPI_SYNC "$HOGMF" train -q --json -t "$THREADS" -k "$k" -e "$EPOCHS" \
            --patience 0 --validate "$BASE.valid.csv" -o "$TMPM/model" "$BASE.train.csv" \
            >"$LOG" 2>"$OUT/mpi/k${k}_p${P}.err" || die "the run failed; see $OUT/mpi/k${k}_p${P}.err"
        summarize "$LOG" "$k" "$P" >>"$RESULTS.tmp"
    done
done
mv "$RESULTS.tmp" "$RESULTS"

echo
echo "seconds and MB per epoch, medians over $EPOCHS epochs; $CORES cores; P ranks x $THREADS thread(s)"
echo "each; wait: in the barriers (load imbalance); transfer, eval xfer: blocked in the rings"
awk '
function num(key,   m) {
    if (match($0, "\"" key "\": [-0-9.eE+]+")) { m = substr($0, RSTART, RLENGTH); sub(/^[^:]*: /, "", m); return m + 0 }
    return -1
}
BEGIN { printf "%4s %3s %9s %9s %9s %9s %9s %9s %9s %9s %8s\n", "k", "P", "sgd max", "sgd mean", "wait", "transfer", "eval", "eval xfer", "MB/rank", "epoch", "valid" }
{ printf "%4d %3d %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f %9.2f %9.4f %8.5f\n", num("k"), num("ranks"), num("compute_seconds_max"), num("compute_seconds_mean"), num("sync_seconds_max"), num("comm_seconds_max"), num("eval_seconds_max"), num("eval_comm_seconds_max"), num("bytes_sent_per_rank") / 1e6, num("epoch_seconds"), num("valid_rmse") }
' "$RESULTS"
echo "wrote $RESULTS"
