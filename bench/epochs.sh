#!/bin/sh
# epochs.sh - issue 14's per-epoch figures in one run, as ratios (bench/epochs.c measures):
#   1. the evaluation of the training set over one SGD epoch, k=32 and k=128, on the 10M set
#      (`hogmf gen --users 200000 --items 20000 --ratings 10000000 --seed 3`), with 1 thread
#      and with all cores; target: at most 0.4 at k=32;
#   2. the speedup of the fastest 2-thread epoch over the fastest 1-thread epoch, k=32 and
#      k=128, on the 2M set (`gen_synth.py 70000 10000 2000000 1`, its first 1.8M lines, as
#      in issue 14), the thread counts interleaved over BENCH_REPS rounds; target: 1.9x.
# Data is cached in bench/data/ (gitignored). Prints a table; the JSON lines go to
# $BENCH_OUT/epochs.jsonl. Nothing here is run by `make test`.
#
#   sh bench/epochs.sh
#   BENCH_REPS=5 BENCH_EPOCHS=8 BENCH_EVAL_THREADS="1 2" sh bench/epochs.sh
set -eu

cd "$(dirname "$0")/.."
BUILDDIR=${BENCH_BUILD:-build}
HOGMF=$BUILDDIR/hogmf
PROG=$BUILDDIR/bench_epochs
PY=${BENCH_PYTHON:-/usr/bin/python3}
DATA=bench/data
OUT=${BENCH_OUT:-bench/out}
REPS=${BENCH_REPS:-3}
EPOCHS=${BENCH_EPOCHS:-6}
CORES=$(nproc 2>/dev/null || echo 1)
EVAL_THREADS=${BENCH_EVAL_THREADS:-1 $CORES}
SYNTH=${BENCH_SYNTH:-../shared/data/gen_synth.py}

die() {
    echo "epochs: $*" >&2
    exit 2
}

for v in "$REPS" "$EPOCHS"; do
    case $v in '' | *[!0-9]* | 0) die "BENCH_REPS and BENCH_EPOCHS must be positive integers" ;; esac
done
if [ ! -x "$HOGMF" ] || [ ! -x "$PROG" ]; then
    make BUILD="$BUILDDIR" all "$PROG"
fi
mkdir -p "$DATA" "$OUT"

SET10=$DATA/gen_u200000_i20000_n10000000_s3.tsv
if [ ! -s "$SET10" ]; then
    echo "epochs: generating $SET10"
    "$HOGMF" gen --users 200000 --items 20000 --ratings 10000000 --seed 3 --format tsv \
        -o "$SET10.tmp.tsv"
    mv "$SET10.tmp.tsv" "$SET10"
fi
SET2=$DATA/synth_u70000_i10000_n2000000_s1.train.txt
if [ ! -s "$SET2" ]; then
    [ -f "$SYNTH" ] || die "$SYNTH not found (set BENCH_SYNTH)"
    echo "epochs: generating $SET2"
    "$PY" "$SYNTH" 70000 10000 2000000 1 | head -n 1800000 >"$SET2.tmp.txt"
    mv "$SET2.tmp.txt" "$SET2"
fi

echo "epochs: $("$HOGMF" --version), $(awk -F': *' '/^model name/ { print $2; exit }' \
    /proc/cpuinfo 2>/dev/null), $CORES cores, kernel $("$HOGMF" topo | awk '$1 == "kernel" { print $2 }')," \
    "$EPOCHS epochs, $REPS rounds, load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
LOG=$OUT/epochs.jsonl
: >"$LOG"
targs=
for t in $EVAL_THREADS; do targs="$targs -t $t"; done
# shellcheck disable=SC2086 # the list is split on purpose
"$PROG" eval -k 32 -k 128 $targs -e "$EPOCHS" "$SET10" >>"$LOG"
"$PROG" scaling -k 32 -k 128 -t 1 -t 2 -e "$EPOCHS" -r "$REPS" "$SET2" >>"$LOG"

awk '
    function f(key,   s) {
        s = $0; sub(".*\"" key "\": *", "", s); sub(/[,}].*/, "", s); return s
    }
    f("mode") == "\"eval\"" {
        printf "evaluation / SGD epoch   k=%-4s threads=%-3s %6.3f   (eval %.4f s, epoch %.4f s)\n",
            f("k"), f("threads"), f("eval_over_sgd"), f("eval_seconds"), f("sgd_seconds")
    }
    f("mode") == "\"scaling\"" && f("threads") != 1 {
        printf "fastest epoch speedup    k=%-4s threads=%-3s %6.3fx  (epoch %.4f s)\n",
            f("k"), f("threads"), f("speedup"), f("sgd_seconds")
    }' "$LOG"
echo "epochs: targets: evaluation / epoch <= 0.4 at k=32; 2 threads >= 1.9x at k=32 and 128"
