#!/bin/sh
# run.sh - the throughput benchmark: generates a synthetic set shaped like REFERENCE.md's
# (70,000 users, 10,000 items, 10M training + 1M held-out ratings, rank 16, noise 0.5), times
# loading it (MB/s), trains k=32 and k=128 with 1 and 2 threads for a few epochs, writes
# bench/out/results.json and prints a table with the 2-vs-1-thread speedup.
# Data is cached in bench/data/ (gitignored); nothing here is run by `make test`.
#
#   sh bench/run.sh                  full size (a few minutes on 2 cores, about 400 MB disk)
#   BENCH_SCALE=0.05 sh bench/run.sh  the ratings counts scaled down (users, items kept)
#   LOAD25M=1 sh bench/run.sh         also times loading a 25M-rating CSV (162,541 users,
#                                     59,047 items; about 700 MB) like MovieLens 25M's
#   BENCH_EPOCHS=5  BENCH_K="32 128"  BENCH_THREADS="1 2"  BENCH_SEED=1   other knobs
set -eu

cd "$(dirname "$0")/.."
HOGMF=${HOGMF:-build/hogmf}
LOADER=${BENCH_LOAD:-build/bench_load}
SCALE=${BENCH_SCALE:-1}
EPOCHS=${BENCH_EPOCHS:-5}
KS=${BENCH_K:-32 128}
THREADS=${BENCH_THREADS:-1 2}
SEED=${BENCH_SEED:-1}
DATA=bench/data
OUT=bench/out

die() {
    echo "bench: $*" >&2
    exit 2
}

if ! awk -v s="$SCALE" 'BEGIN { exit !(s ~ /^[0-9]*\.?[0-9]+$/ && s > 0) }'; then
    die "BENCH_SCALE must be a positive number, found '$SCALE'"
fi
case $EPOCHS in
'' | *[!0-9]*) die "BENCH_EPOCHS must be a positive integer, found '$EPOCHS'" ;;
esac
if [ ! -x "$HOGMF" ] || [ ! -x "$LOADER" ]; then
    make all bench-progs
fi

# scaled N: N times BENCH_SCALE, rounded, at least 1.
scaled() {
    awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s + 0.5); print (v < 1 ? 1 : v) }'
}

# field KEY < JSON-LINES: the value of KEY on every line.
field() {
    awk -v key="\"$1\":" '{
        s = $0; p = index(s, key); if (p == 0) next
        s = substr(s, p + length(key)); sub(/^ */, "", s); sub(/[,}].*/, "", s); print s }'
}

# median < NUMBERS: the median of a column of numbers (the upper one of an even count).
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int(NR / 2) + 1]; else print "null" }'
}

mkdir -p "$DATA" "$OUT"
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
CORES=$(nproc 2>/dev/null || echo 1)
echo "bench: $("$HOGMF" --version), ${CPU:-unknown CPU}, $CORES cores, BENCH_SCALE=$SCALE"

# ---------------------------------------------------------------- data

USERS=70000
ITEMS=10000
TOTAL=$(scaled 11000000)
BASE=$DATA/synth_u${USERS}_i${ITEMS}_n${TOTAL}_s${SEED}
TRAIN=$BASE.train.csv
TEST=$BASE.test.csv
if [ -s "$TRAIN" ] && [ -s "$TEST" ]; then
    echo "bench: reusing $TRAIN and $TEST"
else
    echo "bench: generating $TOTAL ratings ($USERS users x $ITEMS items, rank 16)"
    "$HOGMF" gen --users "$USERS" --items "$ITEMS" --ratings "$TOTAL" --rank 16 --noise 0.5 \
        --seed "$SEED" -o "$BASE.all.csv"
    # One rating in 11 held out: 10M train + 1M test at full size.
    "$HOGMF" split --test-fraction 0.0909090909090909 --seed "$SEED" "$BASE.all.csv" \
        "$TRAIN" "$TEST"
    rm -f "$BASE.all.csv"
fi

# ---------------------------------------------------------------- loading

echo "bench: timing hogmf_ratings_read on $TRAIN"
"$LOADER" -r 3 "$TRAIN" >"$OUT/load.json"
LOAD_MBS=$(field mb_per_s <"$OUT/load.json")
LOAD_S=$(field seconds <"$OUT/load.json")
LOAD_BYTES=$(field bytes <"$OUT/load.json")
NNZ=$(field ratings <"$OUT/load.json")
VALID_NNZ=$(($(wc -l <"$TEST") - 1))

if [ "${LOAD25M:-0}" = 1 ]; then
    N25=$(scaled 25000000)
    F25=$DATA/synth25m_u162541_i59047_n${N25}_s${SEED}.csv
    if [ ! -s "$F25" ]; then
        echo "bench: generating $N25 ratings (162541 users x 59047 items) as CSV"
        "$HOGMF" gen --users 162541 --items 59047 --ratings "$N25" --rank 16 --seed "$SEED" \
            -o "$F25"
    fi
    echo "bench: timing hogmf_ratings_read on $F25"
    "$LOADER" -r 3 "$F25" >"$OUT/load25m.json"
fi

# ---------------------------------------------------------------- training

RUNS=$OUT/runs.tmp
: >"$RUNS"
for k in $KS; do
    for t in $THREADS; do
        name=k${k}_t${t}
        echo "bench: training k=$k threads=$t, $EPOCHS epochs on $NNZ ratings"
        t0=$(date +%s.%N)
        if ! "$HOGMF" train -k "$k" --threads "$t" -e "$EPOCHS" --patience 0 --seed "$SEED" \
            --validate "$TEST" --log "$OUT/train_$name.jsonl" -o "$OUT/model_$name.tmp" \
            "$TRAIN" 2>"$OUT/train_$name.err"; then
            cat "$OUT/train_$name.err" >&2
            die "training k=$k threads=$t failed"
        fi
        t1=$(date +%s.%N)
        rm -f "$OUT/model_$name.tmp"
        log=$OUT/train_$name.jsonl
        ups=$(field updates_per_second <"$log" | median)
        sec=$(field epoch_seconds <"$log" | median)
        vrmse=$(field valid_rmse <"$log" | tail -n 1)
        trmse=$(field train_rmse <"$log" | tail -n 1)
        wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
        printf '%s %s %s %s %s %s %s\n' "$k" "$t" "$ups" "$sec" "$vrmse" "$trmse" "$wall" \
            >>"$RUNS"
    done
done

# ---------------------------------------------------------------- results

# The speedup of each run is its median updates per second over the same k's 1-thread run.
awk -v epochs="$EPOCHS" -v nnz="$NNZ" -v vnnz="$VALID_NNZ" -v scale="$SCALE" \
    -v cpu="$CPU" -v cores="$CORES" -v lmbs="$LOAD_MBS" '
    { k[NR] = $1; t[NR] = $2; ups[NR] = $3; sec[NR] = $4; vr[NR] = $5; tr[NR] = $6
      wall[NR] = $7; if ($2 == 1) one[$1] = $3 }
    END {
        gsub(/["\\]/, "", cpu)
        print "["
        for (j = 1; j <= NR; j++) {
            sp = (k[j] in one && one[k[j]] > 0) ? sprintf("%.3f", ups[j] / one[k[j]]) : "null"
            printf "  {\"k\": %d, \"threads\": %d, \"epochs\": %d, \"ratings\": %d, " \
                   "\"valid_ratings\": %d, \"updates_per_second\": %.0f, " \
                   "\"seconds_per_epoch\": %.4f, \"valid_rmse\": %s, \"train_rmse\": %s, " \
                   "\"speedup_vs_1_thread\": %s, \"wall_seconds\": %s, " \
                   "\"load_mb_per_s\": %s, \"scale\": %s, \"cores\": %d, \"cpu\": \"%s\"}%s\n",
                   k[j], t[j], epochs, nnz, vnnz, ups[j], sec[j], vr[j], tr[j], sp, wall[j],
                   lmbs, scale, cores, cpu, j < NR ? "," : ""
        }
        print "]"
    }' "$RUNS" >"$OUT/results.json"

echo
printf 'loading %s: %s bytes, %s ratings in %s s: %s MB/s\n' "$TRAIN" "$LOAD_BYTES" "$NNZ" \
    "$LOAD_S" "$LOAD_MBS"
if [ -s "$OUT/load25m.json" ] && [ "${LOAD25M:-0}" = 1 ]; then
    printf 'loading %s: %s bytes, %s ratings in %s s: %s MB/s\n' "$F25" \
        "$(field bytes <"$OUT/load25m.json")" "$(field ratings <"$OUT/load25m.json")" \
        "$(field seconds <"$OUT/load25m.json")" "$(field mb_per_s <"$OUT/load25m.json")"
fi
echo
awk '
    BEGIN { printf "%5s %8s %12s %12s %11s %11s %9s\n", "k", "threads", "Mupd/s", "s/epoch",
                   "valid_rmse", "train_rmse", "speedup" }
    { k[NR] = $1; t[NR] = $2; ups[NR] = $3; sec[NR] = $4; vr[NR] = $5; tr[NR] = $6
      if ($2 == 1) one[$1] = $3 }
    END {
        for (j = 1; j <= NR; j++) {
            sp = (k[j] in one && one[k[j]] > 0) ? sprintf("%.2fx", ups[j] / one[k[j]]) : "-"
            printf "%5d %8d %12.2f %12.4f %11.5f %11.5f %9s\n", k[j], t[j], ups[j] / 1e6,
                   sec[j], vr[j], tr[j], sp
        }
    }' "$RUNS"
rm -f "$RUNS"
echo
echo "bench: medians over $EPOCHS epochs; results in $OUT/results.json, per-epoch logs in" \
    "$OUT/train_k*_t*.jsonl"
