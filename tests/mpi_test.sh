#!/bin/sh
# mpi_test.sh - end-to-end tests of the MPI mode (`make MPI=1`): `mpirun -np 2` and `-np 3`
# against the single-process run of the same binary (validation RMSE within 1%), models
# written under MPI loading, evaluating and predicting like any other, only rank 0 printing,
# checkpoints resumed bit for bit, SIGUSR1 stopping all ranks with a checkpoint, and the
# error paths. MovieLens 100K is used when present. It does not test the single-process
# trainer (tests/cli_test.sh does).
#
#   HOGMF=build-mpi/hogmf sh tests/mpi_test.sh    (from the repository root; `make check-mpi`)
#   MPIRUN="mpirun ..."  the launcher [mpirun --allow-run-as-root --oversubscribe --bind-to none]
#   ML100K=DIR           MovieLens 100K folder [../shared/data/ml-100k]; skipped when absent.
#
#   ML100K_REQUIRED=1    fail instead of skipping when the MovieLens data is absent (CI)
#
# The last line is "N passed, M failed, S skipped" (a check that cannot run here prints
# "SKIPPED: why"); the exit status is non-zero when M > 0.

# shellcheck disable=SC2086 # OPTS, CK and MPIRUN are lists of words on purpose
set -u

HOGMF=${HOGMF:-build-mpi/hogmf}
case $HOGMF in
/*) ;;
*) HOGMF=$(pwd)/$HOGMF ;;
esac
if [ ! -x "$HOGMF" ]; then
    echo "mpi_test: $HOGMF is not an executable; run 'make BUILD=build-mpi MPI=1' first" >&2
    exit 2
fi
if ! command -v mpirun >/dev/null 2>&1; then
    echo "mpi_test: SKIPPED: mpirun not found (apt-get install openmpi-bin libopenmpi-dev)"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi
# --bind-to none: otherwise each rank is bound to one core and gets one OpenMP thread.
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe --bind-to none}
# Containers often forbid the cross-memory attach Open MPI's shared-memory transport uses.
export OMPI_MCA_btl_vader_single_copy_mechanism="${OMPI_MCA_btl_vader_single_copy_mechanism:-none}"
ML=${ML100K:-../shared/data/ml-100k}

T=$(mktemp -d "${TMPDIR:-/tmp}/hogmf-mpi.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

PASS=0
FAIL=0
SKIP=0
RC=0

# ---------------------------------------------------------------- helpers

ok() {
    PASS=$((PASS + 1))
}

bad() {
    FAIL=$((FAIL + 1))
    echo "FAIL: $1: $2"
    if [ -s "$T/err" ]; then
        grep -v '^---\|^ *$' "$T/err" | sed -n '1,6s/^/    stderr: /p'
    fi
}

check() {
    name=$1
    shift
    if [ "$@" ]; then ok; else bad "$name" "expected [ $* ]"; fi
}

run() {
    "$@" >"$T/out" 2>"$T/err"
    RC=$?
}

# mp NP ARGS...: hogmf ARGS under mpirun with NP ranks.
mp() {
    np=$1
    shift
    run $MPIRUN -np "$np" "$HOGMF" "$@"
}

hm() {
    run "$HOGMF" "$@"
}

expect_rc() {
    if [ "$RC" -eq "$1" ]; then ok; else bad "$2" "exit status $RC, expected $1"; fi
}

expect_err() {
    if grep -Eq -- "$1" "$T/err"; then ok; else bad "$2" "stderr does not match /$1/"; fi
}

# rmse_of MODEL FILE: the RMSE `hogmf eval` gives (its last line is rmse=X mae=Y n=N).
rmse_of() {
    "$HOGMF" eval "$1" "$2" 2>/dev/null | tail -n 1 | sed -n 's/^rmse=\([0-9.]*\) .*/\1/p'
}

# within NAME A B TOL: |A - B| <= TOL * B, with the figures printed.
within() {
    if awk -v a="$2" -v b="$3" -v t="$4" 'BEGIN { d = a - b; if (d < 0) d = -d;
                                                  exit !(a != "" && b > 0 && d <= t * b) }'; then
        ok
    else
        bad "$1" "$2 vs $3 (tolerance $4 relative)"
    fi
    echo "    $1: $2 vs $3"
}

# best_valid: the validation RMSE the last training reported for its best epoch.
best_valid() {
    sed -n 's/^hogmf: best epoch .* valid_rmse \([0-9.]*\)$/\1/p' "$T/err" | tail -n 1
}

# epochs_run: how many epochs the last training ran ("best epoch B of N").
epochs_run() {
    sed -n 's/^hogmf: best epoch [0-9]* of \([0-9]*\):.*/\1/p' "$T/err" | tail -n 1
}

skip() {
    SKIP=$((SKIP + 1))
    echo "SKIPPED: $*"
}

# ---------------------------------------------------------------- generated data

hm gen --users 3000 --items 800 --ratings 120000 --seed 5 -o "$T/g.csv"
expect_rc 0 "gen"
hm split --test-fraction 0.1 --seed 2 "$T/g.csv" "$T/tr.csv" "$T/va.csv"
expect_rc 0 "split"
TR=$T/tr.csv
VA=$T/va.csv
# A fixed number of epochs: on this data the validation RMSE sits on a plateau for the first
# ten epochs, where early stopping may or may not trigger in either mode (Hogwild noise).
OPTS="-k 32 -e 20 --patience 0 --validate $VA"

hm train $OPTS -o "$T/s.mdl" "$TR"
expect_rc 0 "single-process train (MPI build, no launcher)"
check "single-process run does not use MPI" "$(grep -c '^hogmf: mpi' "$T/err")" -eq 0
S=$(rmse_of "$T/s.mdl" "$VA")
for np in 2 3; do
    mp "$np" train $OPTS -o "$T/m$np.mdl" "$TR"
    expect_rc 0 "mpirun -np $np train"
    expect_err "^hogmf: mpi: $np ranks" "-np $np: MPI mode announced"
    EP=$(epochs_run)
    check "-np $np: only rank 0 prints the epoch lines" "$(grep -c '^epoch ' "$T/err")" = "$EP"
    check "-np $np: one summary line" "$(grep -c '^hogmf: best epoch' "$T/err")" -eq 1
    REPORTED=$(best_valid)
    M=$(rmse_of "$T/m$np.mdl" "$VA")
    within "generated, -np $np: validation RMSE within 1% of single-process" "$M" "$S" 0.01
    within "generated, -np $np: the written model evaluates to the reported RMSE" "$M" \
        "$REPORTED" 0.0001
done

# A model written under MPI is an ordinary model file.
hm eval "$T/m2.mdl" "$VA"
expect_rc 0 "eval of an MPI model"
check "eval of an MPI model counts every rating" "$(tail -n 1 "$T/out" | sed 's/.*n=//')" = \
    "$(($(wc -l <"$VA") - 1))"
head -n 51 "$VA" | tail -n 50 | cut -d, -f1,2 >"$T/pairs.csv"
hm predict -o "$T/pred.txt" "$T/m2.mdl" "$T/pairs.csv"
expect_rc 0 "predict with an MPI model"
check "predict: one line per pair" "$(wc -l <"$T/pred.txt" | tr -d ' ')" -eq 50
check "predict: predictions within the rating range" \
    "$(awk '{ if ($3 < 0.5 || $3 > 5) bad++ } END { print bad + 0 }' "$T/pred.txt")" -eq 0

# One rank is the degenerate ring.
mp 1 train -q -k 16 -e 3 -o "$T/m1.mdl" "$TR"
expect_rc 0 "mpirun -np 1 train"

# --json: one mpi_rank event per rank and epoch, on rank 0's stdout only.
mp 2 train -q --json -k 16 -e 2 -o "$T/j.mdl" "$TR"
expect_rc 0 "mpirun -np 2 train --json"
check "--json: 2 ranks x 2 epochs of mpi_rank events" "$(grep -c '"mpi_rank"' "$T/out")" -eq 4
check "--json: one done event" "$(grep -c '"event": *"done"' "$T/out")" -eq 1

# ---------------------------------------------------------------- checkpoints

CK="-t 1 -k 16 --order blocks --validate $VA"
mp 3 train -q $CK -e 6 -o "$T/full.mdl" "$TR"
expect_rc 0 "-np 3: 6 epochs in one go"
mp 3 train -q $CK -e 3 --checkpoint "$T/ck" --checkpoint-every 1 -o "$T/half.mdl" "$TR"
expect_rc 0 "-np 3: 3 epochs with checkpoints"
check "checkpoint files written" -s "$T/ck" -a -s "$T/ck.state"
mp 3 train -q $CK -e 6 --resume "$T/ck" -o "$T/resumed.mdl" "$TR"
expect_rc 0 "-np 3: resumed to 6 epochs"
if cmp -s "$T/full.mdl" "$T/resumed.mdl"; then ok; else
    bad "resumed run is bit-identical to the uninterrupted one" "models differ"; fi
hm eval "$T/ck" "$VA"
expect_rc 0 "a checkpoint's model file loads as a model"
mp 2 train -q $CK -e 6 --resume "$T/ck" -o "$T/x.mdl" "$TR"
expect_rc 2 "resume with another number of ranks"
expect_err "written by 3 ranks" "resume with another number of ranks: named"
mp 3 train -q $CK -e 6 --lr 0.001 --resume "$T/ck" -o "$T/x.mdl" "$TR"
expect_rc 2 "resume with another learning rate"
hm train -q -k 16 -e 2 --checkpoint "$T/sp.ck" --checkpoint-every 1 -o "$T/sp.mdl" "$TR"
mp 2 train -q -k 16 -e 4 --resume "$T/sp.ck" -o "$T/x.mdl" "$TR"
expect_rc 2 "a single-process checkpoint is refused under MPI"
expect_err "not a checkpoint of an MPI run" "single-process checkpoint: named"

# SIGUSR1 to mpirun (forwarded to every rank): all stop after an epoch with a checkpoint.
: >"$T/err" # emptied before the start, so the wait below cannot see an earlier run's lines
$MPIRUN -np 2 "$HOGMF" train -t 1 -k 16 -e 100000 --patience 0 -o "$T/sig.mdl" "$TR" \
    >"$T/out" 2>"$T/err" &
PID=$!
n=0
while [ "$n" -lt 300 ] && ! grep -q '^epoch ' "$T/err" 2>/dev/null; do
    sleep 0.1
    n=$((n + 1))
done
kill -USR1 "$PID"
wait "$PID"
RC=$?
expect_rc 4 "SIGUSR1: exit status 4 (interrupted)"
expect_err "stopped by SIGUSR1 after epoch" "SIGUSR1: the stop is reported"
DONE=$(sed -n 's/.*stopped by SIGUSR1 after epoch \([0-9]*\).*/\1/p' "$T/err")
if [ -n "$DONE" ]; then
    mp 2 train -q -t 1 -k 16 -e $((DONE + 1)) --patience 0 --resume "$T/sig.mdl.ckpt" \
        -o "$T/sig.mdl" "$TR"
    expect_rc 0 "SIGUSR1: the checkpoint resumes"
fi

# ---------------------------------------------------------------- errors

mp 2 train -q -k 16 -e 5 --lr 200 -o "$T/div.mdl" "$TR"
expect_rc 3 "divergence under MPI: exit status 3"
check "divergence: reported once" "$(grep -c 'diverged' "$T/err")" -eq 1
mp 2 train -q -o "$T/x.mdl" "$T/no-such-file.csv"
expect_rc 2 "missing input under MPI: exit status 2"
rm -f "$T/x.mdl"
mp 2 train -q -k 16 -e 2 --deterministic -o "$T/x.mdl" "$TR"
expect_rc 2 "--deterministic under MPI: refused"
expect_err "deterministic is not supported under MPI" "--deterministic under MPI: named"
check "--deterministic under MPI: reported once" "$(grep -c 'not supported under MPI' "$T/err")" -eq 1
check "--deterministic under MPI: no model written" ! -e "$T/x.mdl"

# ---------------------------------------------------------------- MovieLens 100K

if [ -r "$ML/u1.base" ] && [ -r "$ML/u1.test" ]; then
    hm train -q --validate "$ML/u1.test" -o "$T/ml1.mdl" "$ML/u1.base"
    expect_rc 0 "MovieLens 100K: single-process"
    S=$(rmse_of "$T/ml1.mdl" "$ML/u1.test")
    for np in 2 3; do
        mp "$np" train --validate "$ML/u1.test" -o "$T/ml$np.mdl" "$ML/u1.base"
        expect_rc 0 "MovieLens 100K: -np $np"
        M=$(rmse_of "$T/ml$np.mdl" "$ML/u1.test")
        within "MovieLens 100K u1, -np $np: RMSE within 1% of single-process" "$M" "$S" 0.01
    done
else
    if [ "${ML100K_REQUIRED:-0}" = 1 ]; then
        bad "MovieLens 100K" "not found at $ML, and ML100K_REQUIRED=1"
    else
        skip "MovieLens 100K not found at $ML (set ML100K=DIR); its tests did not run"
    fi
fi

echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
