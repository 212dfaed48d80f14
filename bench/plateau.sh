#!/bin/sh
# plateau.sh - does early stopping with the defaults find the best epoch on MovieLens 100K?
# For each fold u1..u5 and seed s = 1..RUNS: the reference is the best validation RMSE of a
# 50-epoch run of seed s without early stopping (-t 1 --patience 0 -e 50); the runs of
# `train --validate` with the defaults and seed s, on 1 and on 2 threads, must each land
# within 0.003 of it (the seed moves the best RMSE by about as much, so each run is held to
# its own seed's reference). Prints one line per fold and thread count and a verdict; exit 1
# on a miss.
#   HOGMF=build/hogmf ML100K=../shared/data/ml-100k RUNS=20 sh bench/plateau.sh
set -u
H=${HOGMF:-build/hogmf}
ML=${ML100K:-../shared/data/ml-100k}
RUNS=${RUNS:-20}
if [ ! -r "$ML/u1.base" ]; then
    echo "plateau: SKIPPED: MovieLens 100K not found at $ML"
    exit 0
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
best() { sed 's/.*"valid_rmse": \([0-9.]*\).*/\1/' "$1" | sort -g | head -n 1; }
misses=0
for f in 1 2 3 4 5; do
    : >"$T/ref"
    r=1
    while [ "$r" -le "$RUNS" ]; do
        "$H" train -q -t 1 -s "$r" --patience 0 -e 50 --log "$T/ref.jsonl" \
            --validate "$ML/u$f.test" -o "$T/ref.hogmf" "$ML/u$f.base" 2>/dev/null || exit 1
        best "$T/ref.jsonl" >>"$T/ref"
        r=$((r + 1))
    done
    for t in 1 2; do
        : >"$T/got"
        stops=""
        r=1
        while [ "$r" -le "$RUNS" ]; do
            "$H" train -q -t "$t" -s "$r" --log "$T/run.jsonl" --validate "$ML/u$f.test" \
                -o "$T/run.hogmf" "$ML/u$f.base" 2>/dev/null || exit 1
            "$H" info "$T/run.hogmf" | sed -n 's/^valid_rmse *//p' >>"$T/got"
            stops="$stops $(wc -l <"$T/run.jsonl")"
            r=$((r + 1))
        done
        line=$(paste "$T/ref" "$T/got" | awk '{d = $2 - $1; if (d > w) w = d; s += $2; r += $1}
            END {printf "references mean %.5f, runs mean %.5f, worst +%.5f: %s", r / NR, s / NR,
                 w, (w > 0.003 ? "MISS" : "ok")}')
        case "$line" in *MISS) misses=$((misses + 1)) ;; esac
        echo "u$f threads $t: $line (epochs run:$stops)"
    done
done
echo "plateau: $misses of 10 fold/thread groups missed (a run more than 0.003 above its seed's 50-epoch best)"
[ "$misses" -eq 0 ]
