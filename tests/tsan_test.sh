#!/bin/sh
# tsan_test.sh - drives a ThreadSanitizer build of hogmf (`make tsan`) through multi-threaded
# training (every order, schedule and learning-rate schedule), evaluation and prediction.
# First it shows that TSan sees the Hogwild race (a run without suppressions must report
# it), then that nothing else races: Hogwild runs with tests/tsan.supp, which names only the
# update, and the block and deterministic schedules with no suppressions at all.
#
#   HOGMF=build-tsan/hogmf TSAN_LOG=DIR sh tests/tsan_test.sh
# TSAN_LOG is the folder the reports go to (the caller fails when it is not empty).
set -u
# libomp is not instrumented: Archer (OMP_TOOL_LIBRARIES) supplies OpenMP's synchronisation,
# and ignore_noninstrumented_modules keeps libomp's own accesses out of the reports, as
# Archer asks.
HOGMF=${HOGMF:-build-tsan/hogmf}
SUPP=$(pwd)/tests/tsan.supp
LOG=${TSAN_LOG:?TSAN_LOG must name a folder}
T=$(mktemp -d "${TMPDIR:-/tmp}/hogmf-tsan.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
FAIL=0
COMMON="history_size=4 halt_on_error=0 exitcode=0 ignore_noninstrumented_modules=1"

"$HOGMF" gen --users 400 --items 300 --ratings 20000 --seed 2 -o "$T/g.csv" 2>/dev/null || exit 2

# 1. Without suppressions a Hogwild run must report a race: proof that TSan and the OpenMP
#    runtime see each other, so that the silence below means something.
TSAN_OPTIONS="$COMMON log_path=$T/probe" "$HOGMF" train -q -t 2 -e 2 -k 16 \
    --schedule hogwild --order shuffle -o "$T/m" "$T/g.csv" 2>/dev/null
if grep -qs "WARNING: ThreadSanitizer: data race" "$T"/probe*; then
    echo "tsan: the Hogwild race is visible without suppressions (as it should be)"
else
    echo "tsan: FAIL: no race reported for Hogwild without suppressions; TSan sees nothing"
    FAIL=1
fi

# 2. Hogwild with the suppression of the update only.
for order in shuffle blocks; do
    for lr in constant decay bold adagrad; do
        echo "tsan: train --schedule hogwild --order $order --schedule-lr $lr -t 2"
        TSAN_OPTIONS="$COMMON suppressions=$SUPP log_path=$LOG/hogwild-$order-$lr" \
            "$HOGMF" train -q -t 2 -e 3 -k 16 --schedule hogwild --order "$order" \
            --schedule-lr "$lr" --holdout 0.1 -o "$T/m" "$T/g.csv" || FAIL=1
    done
done
for isa in portable avx2; do
    echo "tsan: train with HOGMF_ISA=$isa -t 2"
    HOGMF_ISA=$isa TSAN_OPTIONS="$COMMON suppressions=$SUPP log_path=$LOG/isa-$isa" \
        "$HOGMF" train -q -t 2 -e 2 -k 32 --order shuffle -o "$T/m" "$T/g.csv" || FAIL=1
done

# 3. The block schedule must not race at all: no suppressions.
for lr in constant adagrad; do
    echo "tsan: train --schedule blocks --schedule-lr $lr -t 2 (no suppressions)"
    TSAN_OPTIONS="$COMMON log_path=$LOG/blocks-$lr" "$HOGMF" train -q -t 2 -e 3 -k 16 \
        --schedule blocks --schedule-lr "$lr" --holdout 0.1 -o "$T/m" "$T/g.csv" || FAIL=1
done

# 3b. Nor the deterministic schedule: no suppressions.
for lr in constant adagrad; do
    echo "tsan: train --deterministic --schedule-lr $lr -t 3 (no suppressions)"
    TSAN_OPTIONS="$COMMON log_path=$LOG/deterministic-$lr" "$HOGMF" train -q -t 3 -e 3 -k 16 \
        --deterministic --schedule-lr "$lr" --holdout 0.1 -o "$T/m" "$T/g.csv" || FAIL=1
done

# 4. Evaluation and prediction in parallel: no suppressions.
echo "tsan: eval -t 2, predict (no suppressions)"
TSAN_OPTIONS="$COMMON log_path=$LOG/eval" "$HOGMF" eval -t 2 "$T/m" "$T/g.csv" >/dev/null || FAIL=1
TSAN_OPTIONS="$COMMON log_path=$LOG/predict" "$HOGMF" predict "$T/m" "$T/g.csv" >/dev/null || FAIL=1
exit $FAIL
