#!/bin/sh
# kill_test.sh - SIGKILL at random moments: `hogmf train --checkpoint-every 1` on generated
# data is killed with SIGKILL 20 times (reading, training, writing a checkpoint: wherever the
# random moment falls), each time restarted with --resume from whatever checkpoint exists.
# After every kill the checkpoint must verify (`hogmf checkpoint`) and must not have gone
# back in epochs; at the end the resumed run must complete and its model must be
# bit-identical to an uninterrupted run (one thread). Prints the figures it measured.
#
#   HOGMF=build/hogmf sh tests/kill_test.sh      (`make check-kill`)
#   KILL_SEED=N   seed of the random moments [time-based; printed, so a failure can be rerun]
#   KILLS=N       number of kills [20]
#
# The last line is "N passed, M failed, 0 skipped"; the exit status is non-zero when M > 0.
# At least one kill must land after its run wrote a checkpoint, or the test fails.

set -u

HOGMF=${HOGMF:-build/hogmf}
case $HOGMF in
/*) ;;
*) HOGMF=$(pwd)/$HOGMF ;;
esac
if [ ! -x "$HOGMF" ]; then
    echo "kill_test: $HOGMF is not an executable; run 'make' first" >&2
    exit 2
fi
KILLS=${KILLS:-20}
KILL_SEED=${KILL_SEED:-$(date +%s)}
T=$(mktemp -d "${TMPDIR:-/tmp}/hogmf-kill.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); }
bad() {
    FAIL=$((FAIL + 1))
    echo "FAIL: $1"
    [ -s "$T/err" ] && sed -n '1,5s/^/    stderr: /p' "$T/err"
}

# Shuffled order: the checkpoint must carry the order of the ratings, the hardest case.
OPTS="-q --threads 1 -e 40 -k 32 --order shuffle --seed 11"
"$HOGMF" gen --users 3000 --items 2000 --ratings 300000 --seed 5 -o "$T/data.csv" 2>"$T/err" ||
    { bad "gen failed"; exit 1; }

start=$(date +%s.%N)
# shellcheck disable=SC2086 # OPTS is a list of options
"$HOGMF" train $OPTS -o "$T/ref" "$T/data.csv" 2>"$T/err" || bad "uninterrupted run failed"
ref_seconds=$(echo "$start $(date +%s.%N)" | awk '{printf "%.2f", $2 - $1}')

# The random moments: uniform in [0, MAXDELAY) seconds after the start, from KILL_SEED.
MAXDELAY=$(echo "$ref_seconds" | awk '{d = $1 / 3; if (d < 0.3) d = 0.3; printf "%.3f", d}')
awk -v seed="$KILL_SEED" -v n="$KILLS" -v max="$MAXDELAY" \
    'BEGIN { srand(seed); for (j = 0; j < n; j++) printf "%.3f\n", rand() * max }' >"$T/delays"

prev=0
no_ckpt=0
advanced=0
tmp_left=0
completed=0
epochs_seen=""
round=0
while read -r delay; do
    round=$((round + 1))
    resume=""
    [ -e "$T/ck" ] && resume="--resume $T/ck"
    # shellcheck disable=SC2086
    "$HOGMF" train $OPTS --checkpoint "$T/ck" --checkpoint-every 1 $resume -o "$T/model" \
        "$T/data.csv" 2>"$T/err" &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    if [ "$rc" -eq 0 ]; then
        completed=$((completed + 1)) # finished before the kill; start over from nothing
        rm -f "$T/model" "$T/ck"
        prev=0
        epochs_seen="$epochs_seen done"
        continue
    fi
    if [ "$rc" -ne 137 ]; then
        bad "round $round: exit status $rc, expected 137 (SIGKILL)"
    else
        ok
    fi
    # A temporary name is only left when the kill fell between linking and renaming.
    for f in "$T"/ck.tmp.*; do
        [ -e "$f" ] || continue
        tmp_left=$((tmp_left + 1))
        rm -f "$f"
    done
    if [ ! -e "$T/ck" ]; then
        no_ckpt=$((no_ckpt + 1))
        epochs_seen="$epochs_seen -"
        continue
    fi
    if "$HOGMF" checkpoint "$T/ck" >"$T/info" 2>"$T/err"; then
        ok
    else
        bad "round $round (killed after ${delay}s): the checkpoint does not verify"
        continue
    fi
    epoch=$(sed -n 's/^epoch=//p' "$T/info")
    epochs_seen="$epochs_seen $epoch"
    if [ "$epoch" -ge "$prev" ]; then ok; else bad "round $round: checkpoint went back from epoch $prev to $epoch"; fi
    [ "$epoch" -gt "$prev" ] && advanced=$((advanced + 1))
    prev=$epoch
done <"$T/delays"

# The kills must test something: some must have landed after the killed run had written a
# checkpoint (its epoch went up), so that a resume from a checkpoint written by a run that
# was then killed is part of the test, not only kills before the first epoch.
if [ "$advanced" -ge 1 ]; then
    ok
else
    bad "no kill landed after its run wrote a checkpoint ($no_ckpt before the first one, $completed runs finished first): no checkpoints written, or too few KILLS"
fi

# shellcheck disable=SC2086
"$HOGMF" train $OPTS --checkpoint "$T/ck" --checkpoint-every 1 \
    $([ -e "$T/ck" ] && echo "--resume $T/ck") -o "$T/model" "$T/data.csv" 2>"$T/err"
rc=$?
if [ "$rc" -eq 0 ]; then ok; else bad "the final resumed run failed with status $rc"; fi
if cmp -s "$T/ref" "$T/model"; then
    ok
else
    bad "the resumed model differs from the uninterrupted one"
fi

echo "kill_test: seed $KILL_SEED, $KILLS kills at random moments in [0, ${MAXDELAY}s)" \
    "(an uninterrupted run takes ${ref_seconds}s)"
echo "kill_test: checkpoint epoch after each kill:$epochs_seen"
echo "kill_test: $advanced kills after their run wrote a checkpoint, $no_ckpt before the first" \
    "checkpoint, $completed runs finished before their kill, $tmp_left temporary files left by" \
    "kills between link and rename"
echo "$PASS passed, $FAIL failed, 0 skipped"
[ "$FAIL" -eq 0 ]
