#!/bin/sh
# run.sh - the benchmark behind `make bench` (issue 7): generates a synthetic set shaped like
# REFERENCE.md's (10M) or like MovieLens 25M, times loading it, runs the naive scalar
# yardstick (bench/naive.c), then trains k=32 and k=128 over a range of threads with the
# hogwild, blocks and deterministic schedules, the two orderings, the SIMD kernels and the
# pinning modes, each under bench_rss for its peak RSS. Writes bench/out/results.json (one object per run),
# meta.json, curves.jsonl, logs/, PNG plots, and prints a table. See bench/README.md.
# Data is cached in bench/data/ (gitignored); nothing here is run by `make test`.
#
#   make bench                          everything, full size (~15 minutes on 2 cores)
#   BENCH_QUICK=1 make bench            a reduced set: BENCH_SCALE=0.1 and 5 epochs
#   BENCH_SCALE=0.02 BENCH_EPOCHS=3     ratings counts scaled (users, items kept), epochs
#   BENCH_THREADS="1 2 4"  BENCH_K="32 128"  BENCH_25M=1  BENCH_PARTS="scaling orders isa pin"
set -eu

cd "$(dirname "$0")/.."
BUILDDIR=${BENCH_BUILD:-build}
HOGMF=${HOGMF:-$BUILDDIR/hogmf}
LOADER=${BENCH_LOAD:-$BUILDDIR/bench_load}
RSS=$BUILDDIR/bench_rss
NAIVE=$BUILDDIR/bench_naive
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
    SCALE=${BENCH_SCALE:-0.1}
    EPOCHS=${BENCH_EPOCHS:-5}
    PARTS=${BENCH_PARTS:-scaling orders isa pin}
else
    SCALE=${BENCH_SCALE:-1}
    EPOCHS=${BENCH_EPOCHS:-10}
    PARTS=${BENCH_PARTS:-scaling orders isa pin}
fi
KS=${BENCH_K:-32 128}
SEED=${BENCH_SEED:-1}
SET25=${BENCH_25M:-${LOAD25M:-0}}
NAIVE_EPOCHS=${BENCH_NAIVE_EPOCHS:-3}
# Extra short repetitions of the scaling runs, interleaved across thread counts, whose epochs
# join the run's own in its median: one-thread speed on these VMs drifts by tens of percent
# over minutes, and a speedup from two runs minutes apart inherits that drift.
REPS=${BENCH_REPS:-5}
LOAD_REPEATS=${BENCH_LOAD_REPEATS:-3}
TARGET=${BENCH_TARGET_RMSE:-}
TARGET_FACTOR=${BENCH_TARGET_FACTOR:-1.01}
DATA=bench/data
OUT=${BENCH_OUT:-bench/out}
LOGS=$OUT/logs
PLOT=$OUT/plot

die() {
    echo "bench: $*" >&2
    exit 2
}

is_number() {
    awk -v s="$1" 'BEGIN { exit !(s ~ /^[0-9]*\.?[0-9]+$/ && s > 0) }'
}

is_number "$SCALE" || die "BENCH_SCALE must be a positive number, found '$SCALE'"
is_number "$TARGET_FACTOR" || die "BENCH_TARGET_FACTOR must be a positive number"
[ -z "$TARGET" ] || is_number "$TARGET" || die "BENCH_TARGET_RMSE must be a positive number"
for v in "$EPOCHS" "$NAIVE_EPOCHS" "$LOAD_REPEATS" "$SEED"; do
    case $v in
    '' | *[!0-9]* | 0) die "BENCH_EPOCHS, BENCH_NAIVE_EPOCHS, BENCH_LOAD_REPEATS and" \
        "BENCH_SEED must be positive integers, found '$v'" ;;
    esac
done
for v in $KS; do
    case $v in '' | *[!0-9]* | 0) die "BENCH_K must list positive integers, found '$v'" ;; esac
done
for p in $PARTS; do
    case $p in scaling | orders | isa | pin) ;; *) die "BENCH_PARTS: unknown part '$p'" ;; esac
done
has_part() {
    case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

CORES=$(nproc 2>/dev/null || echo 1)
# Threads: 1..N for N = nproc up to 8; beyond, the powers of two and N itself.
if [ -z "${BENCH_THREADS:-}" ]; then
    THREADS=$(awk -v n="$CORES" 'BEGIN {
        for (t = 1; t <= n; t = (n <= 8 ? t + 1 : 2 * t)) s = s t " "
        if (n > 8 && s !~ (" " n " $")) s = s n
        print s }')
else
    THREADS=$BENCH_THREADS
fi
for v in $THREADS; do
    case $v in '' | *[!0-9]* | 0) die "BENCH_THREADS must list positive integers, found '$v'" ;; esac
done
# Speedups need the 1-thread run: add it, sort, drop repeats.
# shellcheck disable=SC2086 # the lists are split on purpose
THREADS=$(printf '%s\n' 1 $THREADS | sort -n -u | tr '\n' ' ' | sed 's/ $//')
# shellcheck disable=SC2086
TMAX=$(printf '%s\n' $THREADS | tail -n 1)
if [ "$TMAX" -gt "$CORES" ]; then
    echo "bench: warning: $TMAX threads on $CORES cores: the larger counts are oversubscribed" >&2
fi

if [ ! -x "$HOGMF" ] || [ ! -x "$LOADER" ] || [ ! -x "$RSS" ] || [ ! -x "$NAIVE" ]; then
    make BUILD="$BUILDDIR" all bench-progs
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
    grep -v '^null$' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) print v[int(NR / 2) + 1]; else print "null" }'
}

mkdir -p "$DATA" "$OUT" "$LOGS" "$PLOT"
rm -f "$LOGS"/*.reps
rm -f "$LOGS"/*.jsonl "$LOGS"/*.err "$LOGS"/*.rss "$PLOT"/*.dat "$OUT"/*.png
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
VERSION=$("$HOGMF" --version)
KERNEL=$(env -u HOGMF_ISA "$HOGMF" topo | awk '$1 == "kernel" { print $2 }')
echo "bench: $VERSION, ${CPU:-unknown CPU}, $CORES cores, kernel $KERNEL," \
    "BENCH_SCALE=$SCALE, $EPOCHS epochs, threads $THREADS, parts: $PARTS"
T_START=$(date +%s)

# ---------------------------------------------------------------- data

if [ "$SET25" = 1 ]; then
    # Shaped like MovieLens 25M: 25M ratings as a CSV with timestamps (about 650 MB), one in
    # ten held out for validation. The full file is kept for the load timing.
    DATASET=ml25m-like
    USERS=162541
    ITEMS=59047
    TOTAL=$(scaled 25000000)
    FULL=$DATA/synth25m_u${USERS}_i${ITEMS}_n${TOTAL}_s${SEED}.csv
    BASE=${FULL%.csv}
    FRACTION=0.1
else
    # REFERENCE.md's synthetic set: 10M training + 1M held-out ratings.
    DATASET=synthetic-10m
    USERS=70000
    ITEMS=10000
    TOTAL=$(scaled 11000000)
    BASE=$DATA/synth_u${USERS}_i${ITEMS}_n${TOTAL}_s${SEED}
    FULL=$BASE.all.csv
    FRACTION=0.0909090909090909
fi
TRAIN=$BASE.train.csv
TEST=$BASE.test.csv
if [ -s "$TRAIN" ] && [ -s "$TEST" ]; then
    echo "bench: reusing $TRAIN and $TEST"
else
    if [ ! -s "$FULL" ]; then
        echo "bench: generating $TOTAL ratings ($USERS users x $ITEMS items, rank 16)"
        "$HOGMF" gen --users "$USERS" --items "$ITEMS" --ratings "$TOTAL" --rank 16 \
            --noise 0.5 --seed "$SEED" -o "$FULL.tmp.csv"
        mv "$FULL.tmp.csv" "$FULL"
    fi
    "$HOGMF" split --test-fraction "$FRACTION" --seed "$SEED" "$FULL" "$TRAIN" "$TEST"
    [ "$SET25" = 1 ] || rm -f "$FULL"
fi

# ---------------------------------------------------------------- loading

echo "bench: timing hogmf_ratings_read on $TRAIN"
"$LOADER" -r "$LOAD_REPEATS" "$TRAIN" >"$OUT/load.json"
if [ "$SET25" = 1 ] && [ -s "$FULL" ]; then
    echo "bench: timing hogmf_ratings_read on $FULL"
    "$LOADER" -r "$LOAD_REPEATS" "$FULL" >>"$OUT/load.json"
fi
LOAD_MBS=$(head -n 1 "$OUT/load.json" | field mb_per_s)
NNZ=$(head -n 1 "$OUT/load.json" | field ratings)
M=$(head -n 1 "$OUT/load.json" | field users)
N=$(head -n 1 "$OUT/load.json" | field items)
VNNZ=$(($(wc -l <"$TEST") - 1))

# ---------------------------------------------------------------- the naive yardstick

kargs=
for k in $KS; do kargs="$kargs -k $k"; done
echo "bench: naive scalar SGD (bench/naive.c), $NAIVE_EPOCHS epochs, k = $KS"
# shellcheck disable=SC2086
"$NAIVE" $kargs -e "$NAIVE_EPOCHS" -s "$SEED" --validate "$TEST" "$TRAIN" >"$OUT/naive.json"

# ---------------------------------------------------------------- training runs

RUNS=$OUT/runs.tsv
: >"$RUNS"
# The model files are thrown away; write them where fsync is cheap (tmpfs) when there is one.
MODEL_DIR=${BENCH_MODEL_DIR:-}
if [ -z "$MODEL_DIR" ]; then
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then MODEL_DIR=/dev/shm; else MODEL_DIR=$OUT; fi
fi
MODEL_TMP=$MODEL_DIR/hogmf-bench-$$.model
trap 'rm -f "$MODEL_TMP"' EXIT

# sched_args SCHEDULE: the options for a schedule name of this script: hogwild, blocks, or
# deterministic (--deterministic, which runs on the hogwild schedule's grid of tiles).
sched_args() {
    case $1 in
    deterministic) echo "--schedule hogwild --deterministic" ;;
    *) echo "--schedule $1" ;;
    esac
}

# train K THREADS SCHEDULE ORDER ISA PIN: one run (skipped when this invocation already made
# it), appended to $RUNS as one tab-separated row. ISA "default" leaves the choice to hogmf.
train() {
    k=$1 t=$2 sched=$3 order=$4 isa=$5 pin=$6
    name=k${k}_t${t}_${sched}_${order}_${isa}_${pin}
    if cut -f1 "$RUNS" | grep -qx "$name"; then
        return 0
    fi
    if [ "$isa" = default ]; then
        kern=$KERNEL
        set -- env -u HOGMF_ISA
    else
        kern=$(HOGMF_ISA=$isa "$HOGMF" topo | awk '$1 == "kernel" { print $2 }')
        set -- env HOGMF_ISA="$isa"
    fi
    echo "bench: k=$k threads=$t schedule=$sched order=$order kernel=$kern pin=$pin," \
        "$EPOCHS epochs on $NNZ ratings"
    log=$LOGS/$name.jsonl
    # shellcheck disable=SC2046 # sched_args gives separate words
    if ! "$@" "$RSS" -o "$LOGS/$name.rss" "$HOGMF" train -k "$k" --threads "$t" \
        $(sched_args "$sched") --order "$order" --pin "$pin" -e "$EPOCHS" --patience 0 \
        --seed "$SEED" --validate "$TEST" --log "$log" -o "$MODEL_TMP" "$TRAIN" \
        2>"$LOGS/$name.err"; then
        cat "$LOGS/$name.err" >&2
        die "training $name failed"
    fi
    rm -f "$MODEL_TMP"
    # Speeds of the run's epochs and of its repetitions: their median, and the fastest (the
    # epoch least disturbed by the host).
    speeds=$({ field updates_per_second <"$log"; cat "$LOGS/$name.reps" 2>/dev/null; } |
        grep -v '^null$' | sort -g)
    ups=$(printf '%s\n' "$speeds" | median)
    best=$(printf '%s\n' "$speeds" | tail -n 1)
    sec=$(field epoch_seconds <"$log" | median)
    rss=$(field max_rss_kib <"$LOGS/$name.rss")
    wall=$(field wall_seconds <"$LOGS/$name.rss")
    # The run's own reading of the training file: the first "hogmf: read ... (X MB/s)" line.
    rmbs=$(awk '/^hogmf: read / && match($0, /\([0-9.]+ MB\/s\)/) {
        print substr($0, RSTART + 1, RLENGTH - 7); exit }' "$LOGS/$name.err")
    # epoch:seconds:train_rmse:valid_rmse;... for the per-run curve.
    curve=$(awk '{
        line = $0; n = split("epoch epoch_seconds train_rmse valid_rmse", keys, " ")
        s = ""
        for (j = 1; j <= n; j++) {
            v = line; p = index(v, "\"" keys[j] "\":"); v = substr(v, p + length(keys[j]) + 3)
            sub(/^ */, "", v); sub(/[,}].*/, "", v); s = s (j > 1 ? ":" : "") v
        }
        out = out (NR > 1 ? ";" : "") s }
        END { print out }' "$log")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$k" \
        "$t" "$sched" "$order" "$isa" "$kern" "$pin" "${ups:-null}" "${sec:-null}" "${rss:-0}" \
        "${wall:-null}" "${rmbs:-null}" "$curve" "${best:-null}" >>"$RUNS"
}

# repeat_scaling K: BENCH_REPS - 1 short runs (3 epochs) of each scaling configuration, thread
# counts interleaved, made before the main runs; their epochs' speeds go to $LOGS/NAME.reps,
# which train() adds to the run's own epochs for its median.
repeat_scaling() {
    r=1
    while [ "$r" -lt "$REPS" ]; do
        r=$((r + 1))
        for sched in hogwild blocks deterministic; do
            for t in $THREADS; do
                name=k${1}_t${t}_${sched}_blocks_default_none
                # shellcheck disable=SC2046 # sched_args gives separate words
                env -u HOGMF_ISA "$HOGMF" train -q -k "$1" --threads "$t" $(sched_args "$sched") \
                    --order blocks --pin none -e 3 --patience 0 --seed "$SEED" \
                    --log "$LOGS/rep.jsonl" -o "$MODEL_TMP" "$TRAIN" ||
                    die "repetition of $name failed"
                field updates_per_second <"$LOGS/rep.jsonl" >>"$LOGS/$name.reps"
            done
        done
    done
    rm -f "$MODEL_TMP" "$LOGS/rep.jsonl"
}

# The first k of the list (32 by default) is the one the orderings comparison uses.
# shellcheck disable=SC2086
KFIRST=$(printf '%s\n' $KS | head -n 1)
for k in $KS; do
    if has_part scaling; then
        echo "bench: k=$k: $((REPS - 1)) short repetitions of the scaling runs first"
        repeat_scaling "$k"
        for sched in hogwild blocks deterministic; do
            for t in $THREADS; do
                train "$k" "$t" "$sched" blocks default none
            done
        done
    fi
    if has_part isa; then
        train "$k" 1 hogwild blocks default none
        train "$k" 1 hogwild blocks portable none
        [ "$KERNEL" != avx512 ] || train "$k" 1 hogwild blocks avx2 none
    fi
    if has_part pin; then
        for pin in none compact spread; do
            train "$k" "$TMAX" hogwild blocks default "$pin"
        done
    fi
done
if has_part orders; then
    train "$KFIRST" 1 hogwild blocks default none
    train "$KFIRST" 1 hogwild shuffle default none
fi

# ---------------------------------------------------------------- results

# Everything cross-run is derived here: the speedup of a run is its median updates per second
# over that of the same k and schedule at 1 thread (order blocks, default kernel, no pinning);
# the target RMSE is BENCH_TARGET_RMSE, or BENCH_TARGET_FACTOR times the best validation RMSE
# any run reached at that k; seconds to target sum epoch_seconds up to the first epoch at or
# below it. The model's own bytes: samples (12 bytes each, training and validation) plus
# P and Q ((m + n) x stride x 4, stride = k rounded up to 16) plus the biases ((m + n) x 4).
awk -F'\t' -v OFS='\t' -v epochs="$EPOCHS" -v nnz="$NNZ" -v vnnz="$VNNZ" -v m="$M" -v n="$N" \
    -v scale="$SCALE" -v cpu="$CPU" -v cores="$CORES" -v lmbs="$LOAD_MBS" -v tmax="$TMAX" \
    -v dataset="$DATASET" -v target_fixed="$TARGET" -v factor="$TARGET_FACTOR" \
    -v kfirst="$KFIRST" -v out="$OUT" -v plot="$PLOT" -v naivefile="$OUT/naive.json" '
    function num(v) { return (v == "" || v == "null") ? "null" : v }
    function jf(v, fmt) { return (v == "" || v == "null") ? "null" : sprintf(fmt, v) }
    BEGIN {
        while ((getline line < naivefile) > 0) {
            kk = line; sub(/.*"k": */, "", kk); sub(/[,}].*/, "", kk)
            u = line; sub(/.*"updates_per_second": */, "", u); sub(/[,}].*/, "", u)
            naive[kk + 0] = u + 0
        }
        gsub(/["\\]/, "", cpu)
    }
    {
        R++; name[R] = $1; k[R] = $2 + 0; t[R] = $3 + 0; sched[R] = $4; order[R] = $5
        isa[R] = $6; kern[R] = $7; pin[R] = $8; ups[R] = $9; sec[R] = $10; rss[R] = $11 + 0
        wall[R] = $12; rmbs[R] = $13; curve[R] = $14; bups[R] = $15
        if (t[R] == 1 && order[R] == "blocks" && isa[R] == "default" && pin[R] == "none")
            base[k[R] "/" sched[R]] = R
        if (sched[R] == "hogwild" && order[R] == "blocks" && isa[R] == "default" &&
            pin[R] == "none")
            hw[k[R] "/" t[R]] = R
        ne[R] = split(curve[R], ep, ";")
        bestv[R] = ""; finalv[R] = ""; finalt[R] = ""
        for (j = 1; j <= ne[R]; j++) {
            split(ep[j], f, ":")
            E[R, j] = f[1]; S[R, j] = f[2]; TR[R, j] = f[3]; V[R, j] = f[4]
            finalt[R] = f[3]; finalv[R] = f[4]
            if (f[4] != "null" && (bestv[R] == "" || f[4] + 0 < bestv[R] + 0)) bestv[R] = f[4]
        }
        if (bestv[R] != "" && (!(k[R] in bestk) || bestv[R] + 0 < bestk[k[R]]))
            bestk[k[R]] = bestv[R] + 0
    }
    END {
        print "[" > (out "/results.json")
        printf "" > (out "/curves.jsonl")
        for (r = 1; r <= R; r++) {
            kk = k[r]; stride = int((kk + 15) / 16) * 16
            target = target_fixed != "" ? target_fixed + 0 : (kk in bestk ? factor * bestk[kk] : "")
            cum = 0; tts = ""; ett = ""
            for (j = 1; j <= ne[r]; j++) {
                cum += S[r, j]; C[r, j] = cum
                if (tts == "" && target != "" && V[r, j] != "null" && V[r, j] + 0 <= target) {
                    tts = cum; ett = E[r, j]
                }
                printf "{\"run\": \"%s\", \"k\": %d, \"threads\": %d, \"schedule\": \"%s\", " \
                       "\"order\": \"%s\", \"kernel\": \"%s\", \"pin\": \"%s\", \"epoch\": %d, " \
                       "\"train_rmse\": %s, \"valid_rmse\": %s, \"epoch_seconds\": %s, " \
                       "\"cumulative_seconds\": %.6f}\n", name[r], kk, t[r], sched[r], order[r],
                       kern[r], pin[r], E[r, j], TR[r, j], V[r, j], S[r, j], cum \
                       >> (out "/curves.jsonl")
            }
            b = base[kk "/" sched[r]]
            sp = (b && ups[b] > 0 && ups[r] != "null") ? ups[r] / ups[b] : ""
            eff = sp != "" ? sp / t[r] : ""
            spb = (b && bups[b] + 0 > 0 && bups[r] != "null") ? bups[r] / bups[b] : ""
            nv = (kk in naive && naive[kk] > 0 && ups[r] != "null") ? ups[r] / naive[kk] : ""
            # against the hogwild run of the same k and threads (same order, kernel, pinning)
            h = (order[r] == "blocks" && isa[r] == "default" && pin[r] == "none") ? hw[kk "/" t[r]] : ""
            vh = (h && ups[h] > 0 && ups[r] != "null") ? ups[r] / ups[h] : ""
            vhb = (h && bups[h] + 0 > 0 && bups[r] != "null") ? bups[r] / bups[h] : ""
            vh_s[r] = vh; vhb_s[r] = vhb
            model = 12 * (nnz + vnnz) + (m + n) * stride * 4 + (m + n) * 4
            rssb = rss[r] * 1024
            comp = ""
            if (order[r] == "blocks" && isa[r] == "default" && pin[r] == "none")
                comp = comp ",\"scaling\""
            if (kk == kfirst && t[r] == 1 && sched[r] == "hogwild" && isa[r] == "default" &&
                pin[r] == "none")
                comp = comp ",\"orders\""
            if (t[r] == 1 && sched[r] == "hogwild" && order[r] == "blocks" && pin[r] == "none")
                comp = comp ",\"isa\""
            if (t[r] == tmax && sched[r] == "hogwild" && order[r] == "blocks" &&
                isa[r] == "default")
                comp = comp ",\"pin\""
            sp_s[r] = sp; spb_s[r] = spb; eff_s[r] = eff; nv_s[r] = nv; tts_s[r] = tts; tgt_s[r] = target
            ratio_s[r] = rssb / model
            printf "  {\"run\": \"%s\", \"dataset\": \"%s\", \"ratings\": %d, " \
                   "\"valid_ratings\": %d, \"users\": %d, \"items\": %d, \"k\": %d, " \
                   "\"stride\": %d, \"threads\": %d, \"schedule\": \"%s\", \"order\": \"%s\", " \
                   "\"isa\": \"%s\", \"kernel\": \"%s\", \"pin\": \"%s\", \"epochs\": %d, " \
                   "\"updates_per_second\": %s, \"seconds_per_epoch\": %s, " \
                   "\"speedup\": %s, \"parallel_efficiency\": %s, " \
                   "\"best_updates_per_second\": %s, \"best_speedup\": %s, " \
                   "\"naive_updates_per_second\": %s, \"vs_naive\": %s, " \
                   "\"vs_hogwild\": %s, \"best_vs_hogwild\": %s, " \
                   "\"train_rmse\": %s, \"valid_rmse\": %s, \"best_valid_rmse\": %s, " \
                   "\"target_rmse\": %s, \"seconds_to_target\": %s, \"epochs_to_target\": %s, " \
                   "\"peak_rss_bytes\": %.0f, \"model_bytes\": %.0f, \"rss_ratio\": %.3f, " \
                   "\"load_mb_per_s\": %s, \"read_mb_per_s\": %s, \"wall_seconds\": %s, " \
                   "\"comparisons\": [%s], \"scale\": %s, \"cores\": %d, \"cpu\": \"%s\"}%s\n",
                   name[r], dataset, nnz, vnnz, m, n, kk, stride, t[r], sched[r], order[r],
                   isa[r], kern[r], pin[r], epochs, jf(ups[r], "%.0f"), jf(sec[r], "%.6f"),
                   jf(sp, "%.4f"), jf(eff, "%.4f"), jf(bups[r], "%.0f"), jf(spb, "%.4f"),
                   jf(naive[kk], "%.0f"), jf(nv, "%.3f"), jf(vh, "%.4f"), jf(vhb, "%.4f"),
                   num(finalt[r]), num(finalv[r]), num(bestv[r]), jf(target, "%.6f"),
                   jf(tts, "%.4f"), num(ett), rssb, model, rssb / model, num(lmbs),
                   num(rmbs[r]), num(wall[r]), substr(comp, 2), scale, cores, cpu,
                   r < R ? "," : "" > (out "/results.json")
            # Plot data: one file per run (epoch, cumulative seconds, valid RMSE).
            fn = plot "/" name[r] ".dat"
            for (j = 1; j <= ne[r]; j++)
                print E[r, j], C[r, j], V[r, j] == "null" ? "NaN" : V[r, j] > fn
            close(fn)
            if (comp ~ /scaling/ && sp != "")
                print t[r], sp, eff, ups[r] > (plot "/speedup_k" kk "_" sched[r] ".dat")
        }
        print "]" > (out "/results.json")
        # The printed table.
        printf "%-38s %9s %8s %8s %6s %7s %7s %8s %9s %8s %7s\n", "run", "Mupd/s", "s/epoch",
               "speedup", "eff", "best", "xnaive", "valid", "s->target", "RSS_MiB", "RSSx"
        for (r = 1; r <= R; r++)
            printf "%-38s %9.2f %8.3f %8s %6s %7s %7s %8.5f %9s %8.1f %7.2f\n", name[r],
                   ups[r] / 1e6, sec[r], sp_s[r] == "" ? "-" : sprintf("%.2fx", sp_s[r]),
                   eff_s[r] == "" ? "-" : sprintf("%.2f", eff_s[r]),
                   spb_s[r] == "" ? "-" : sprintf("%.2fx", spb_s[r]),
                   nv_s[r] == "" ? "-" : sprintf("%.2fx", nv_s[r]), finalv[r],
                   tts_s[r] == "" ? "-" : sprintf("%.2f", tts_s[r]), rss[r] / 1024, ratio_s[r]
        # The deterministic schedule against hogwild, both from this invocation.
        for (r = 1; r <= R; r++)
            if (sched[r] == "deterministic" && vh_s[r] != "")
                printf "deterministic / hogwild at k=%d, %d thread%s: %.2fx median, %s fastest " \
                       "epochs\n", k[r], t[r], (t[r] > 1 ? "s" : ""), vh_s[r],
                       vhb_s[r] == "" ? "-" : sprintf("%.2fx", vhb_s[r])
        for (kk in bestk)
            printf "target valid RMSE at k=%d: %.5f (%s)\n", kk,
                   target_fixed != "" ? target_fixed : factor * bestk[kk],
                   target_fixed != "" ? "BENCH_TARGET_RMSE" : factor " x best of any run"
    }' "$RUNS" >"$OUT/table.txt"

# Speedup files are written in run order; sort each by threads for the lines.
for f in "$PLOT"/speedup_*.dat; do
    [ -e "$f" ] || continue
    sort -n "$f" >"$f.s" && mv "$f.s" "$f"
done

# meta.json: what this invocation measured, apart from the runs.
{
    printf '{"version": "%s", "cpu": "%s", "cores": %d, "kernel": "%s", "dataset": "%s", ' \
        "$VERSION" "$(printf '%s' "$CPU" | tr -d '"\134')" "$CORES" "$KERNEL" "$DATASET"
    printf '"train_file": "%s", "valid_file": "%s", "ratings": %s, "valid_ratings": %s, ' \
        "$TRAIN" "$TEST" "$NNZ" "$VNNZ"
    printf '"users": %s, "items": %s, "scale": %s, "epochs": %s, "threads": [%s], ' \
        "$M" "$N" "$SCALE" "$EPOCHS" "$(echo "$THREADS" | tr ' ' ',')"
    printf '"parts": "%s", "seed": %s, "target_rule": "%s", ' "$PARTS" "$SEED" \
        "$([ -n "$TARGET" ] && echo "fixed $TARGET" || echo "$TARGET_FACTOR x best valid_rmse of any run at the same k")"
    printf '"naive_epochs": %s, "naive": [%s], "load": [%s], "seconds": %d}\n' \
        "$NAIVE_EPOCHS" "$(paste -sd, "$OUT/naive.json")" "$(paste -sd, "$OUT/load.json")" \
        $(($(date +%s) - T_START))
} >"$OUT/meta.json"

# ---------------------------------------------------------------- plots

sh bench/plot.sh "$OUT" || echo "bench: warning: plotting failed (is gnuplot installed?)" >&2

echo
head -n 1 "$OUT/load.json" | awk -v f="$TRAIN" '{
    mbs = $0; sub(/.*"mb_per_s": */, "", mbs); sub(/[,}].*/, "", mbs)
    printf "loading %s: %s MB/s (best of the repeats)\n", f, mbs }'
awk '{ k = $0; sub(/.*"k": */, "", k); sub(/[,}].*/, "", k)
       u = $0; sub(/.*"updates_per_second": */, "", u); sub(/[,}].*/, "", u)
       v = $0; sub(/.*"valid_rmse": */, "", v); sub(/[,}].*/, "", v)
       printf "naive scalar SGD k=%s: %.2f Mupd/s (valid RMSE %s)\n", k, u / 1e6, v }' \
    "$OUT/naive.json"
echo
cat "$OUT/table.txt"
echo
echo "bench: $(($(date +%s) - T_START)) s; results in $OUT/results.json and meta.json, curves in" \
    "$OUT/curves.jsonl and $LOGS/, plots $OUT/*.png"
