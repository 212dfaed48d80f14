#!/bin/sh
# scaling16.sh - the device-style thread scaling in one go, for a 16-core machine: threads 1,
# 2, 4, 8 and 16, k=32 and k=128, hogwild and blocks, plus the pinning modes at 16 threads,
# on the MovieLens-25M-shaped set (generated on first use: 25M ratings, 162,541 users, 59,047
# items, one in ten held out), with few epochs so that the whole script, data generation
# included, fits in about 8 minutes on 16 cores. Prints the table and writes JSON and PNG
# plots to bench/out/scaling16/ (see bench/README.md for the fields).
#
#   sh bench/scaling16.sh                     BENCH_BUILD=build, 3 epochs
#   BENCH_EPOCHS=5 BENCH_THREADS="1 2 4 8 16 32" sh bench/scaling16.sh   other knobs of run.sh
set -eu

cd "$(dirname "$0")/.."
BENCH_BUILD=${BENCH_BUILD:-build}
if [ ! -x "$BENCH_BUILD/hogmf" ] || [ ! -x "$BENCH_BUILD/bench_naive" ] ||
    [ ! -x "$BENCH_BUILD/bench_rss" ] || [ ! -x "$BENCH_BUILD/bench_load" ]; then
    make -j"$(nproc 2>/dev/null || echo 2)" BUILD="$BENCH_BUILD" all bench-progs
fi
BENCH_25M=1
BENCH_THREADS=${BENCH_THREADS:-1 2 4 8 16}
BENCH_EPOCHS=${BENCH_EPOCHS:-3}
BENCH_PARTS=${BENCH_PARTS:-scaling pin}
BENCH_NAIVE_EPOCHS=${BENCH_NAIVE_EPOCHS:-2}
BENCH_LOAD_REPEATS=${BENCH_LOAD_REPEATS:-2}
# One extra short repetition per configuration (run.sh's default of 5 would take most of a
# 15-minute device slot on the 25M set).
BENCH_REPS=${BENCH_REPS:-2}
BENCH_OUT=${BENCH_OUT:-bench/out/scaling16}
export BENCH_BUILD BENCH_25M BENCH_THREADS BENCH_EPOCHS BENCH_PARTS BENCH_NAIVE_EPOCHS \
    BENCH_LOAD_REPEATS BENCH_REPS BENCH_OUT
exec sh bench/run.sh
