#!/bin/sh
# hostile_test.sh - `hogmf` against inputs, paths and signals chosen to hurt: names and titles
# that try to run commands through gnuplot, pipes as inputs, outputs that are also inputs,
# SIGTERM while the model is written, outputs that cannot be created, model files that are
# huge, FIFOs or hold NaN, --max-memory on gzip and standard input, failed writes to stdout,
# file modes and symlinks, file size limits, and a few option-parsing corners. Every case
# was a defect (issue 11); the library-level checks are in tests/check_*.c.
#
#   HOGMF=build/hogmf sh tests/hostile_test.sh    (from the repository root; `make check-hostile`)
#
# The last line is "N passed, M failed, S skipped"; the exit status is non-zero when M > 0.

set -u

HOGMF=${HOGMF:-build/hogmf}
case $HOGMF in
/*) ;;
*) HOGMF=$(pwd)/$HOGMF ;;
esac
if [ ! -x "$HOGMF" ]; then
    echo "hostile_test: $HOGMF is not an executable; run 'make' first" >&2
    exit 2
fi
ROOT=$(pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/hogmf-hostile.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

PASS=0
FAIL=0
SKIP=0
RC=0
NL='
'

ok() { PASS=$((PASS + 1)); }
bad() {
    FAIL=$((FAIL + 1))
    echo "FAIL: $1: $2"
    if [ -s "$T/err" ]; then sed -n '1,5s/^/    stderr: /p' "$T/err"; fi
}
skip() {
    SKIP=$((SKIP + 1))
    echo "SKIPPED: $1"
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
# hm ARGS: hogmf with a time limit (a hang is a failure, status 124).
hm() { run timeout 60 "$HOGMF" "$@"; }
expect_rc() {
    if [ "$RC" -eq "$1" ]; then ok; else bad "$2" "exit status $RC, expected $1"; fi
}
expect_err() {
    if grep -Eq -- "$1" "$T/err"; then ok; else bad "$2" "stderr does not match /$1/"; fi
}
same() { # same NAME FILE1 FILE2: byte-identical
    if cmp -s "$2" "$3"; then ok; else bad "$1" "$2 and $3 differ"; fi
}

D=$T/d
mkdir "$D"
"$HOGMF" gen --users 300 --items 200 --ratings 6000 --seed 3 -o "$D/r.csv" 2>/dev/null
"$HOGMF" split --test-fraction 0.2 --seed 1 "$D/r.csv" "$D/tr.csv" "$D/te.csv" 2>/dev/null
TR="-q -t 1 -s 7 -k 8 -e 3"
"$HOGMF" train $TR -o "$D/m.hogmf" --validate "$D/te.csv" "$D/tr.csv" 2>/dev/null
cp "$D/r.csv" "$D/r.orig"
cp "$D/m.hogmf" "$D/m.orig"

# ---------------------------------------------------------------- 1. plot: no code to gnuplot

if command -v gnuplot >/dev/null 2>&1; then
    printf '{"epoch": 1, "train_rmse": 1.0, "valid_rmse": 1.1, "epoch_seconds": 0.1}\n' \
        >"$D/run.jsonl"
    mkdir "$T/p"
    cd "$T/p" || exit 2
    # A title, a log name and an output name, each with a newline and a gnuplot command.
    hm plot --title "x${NL}system(\"touch PWNED1\")" -o c.png "$D/run.jsonl"
    expect_rc 0 "plot --title with a newline: exit status"
    check "plot --title with a newline: the picture" -s c.png
    logname="x${NL}system(\"touch PWNED2\")${NL}#.jsonl"
    cp "$D/run.jsonl" "$logname"
    hm plot -o c2.png "$logname"
    hm plot -o "c3${NL}system(\"touch PWNED3\")${NL}#.png" "$D/run.jsonl"
    hm plot -o c4.png "$D/run.jsonl" "$logname"
    for s in 1 2 3; do check "plot: no command ran from a crafted name ($s)" ! -e "PWNED$s"; done
    # The script: a log name and an output name.
    run sh "$ROOT/scripts/plot-convergence.sh" -o c5.png "$logname"
    expect_rc 0 "plot-convergence.sh with a newline in a log name: exit status"
    check "plot-convergence.sh with a newline in a log name: the picture" -s c5.png
    run sh "$ROOT/scripts/plot-convergence.sh" -o "c6${NL}system(\"touch PWNED4\")${NL}#.png" \
        "$D/run.jsonl"
    check "plot-convergence.sh: no command ran from a log name" ! -e PWNED2
    check "plot-convergence.sh: no command ran from an output name" ! -e PWNED4
    # An output folder that does not exist: an error, and no picture on standard output.
    hm plot -o missing/x.png "$D/run.jsonl"
    check "plot -o missing/x.png: non-zero exit" "$RC" -ne 0
    check "plot -o missing/x.png: nothing on stdout" ! -s "$T/out"
    expect_err "missing/x.png" "plot -o missing/x.png: message names the output"
    cd "$ROOT" || exit 2
else
    skip "plot: gnuplot not installed"
fi

# ---------------------------------------------------------------- 2. pipes read once

mkfifo "$T/fifo"
"$HOGMF" train $TR -o "$D/ref.hogmf" --validate "$D/te.csv" "$D/tr.csv" 2>/dev/null
cat "$D/te.csv" >"$T/fifo" &
hm train $TR -o "$D/f1.hogmf" --validate "$T/fifo" "$D/tr.csv"
expect_rc 0 "train --validate FIFO: exit status"
same "train --validate FIFO: the model of the regular file" "$D/ref.hogmf" "$D/f1.hogmf"
cat "$D/tr.csv" >"$T/fifo" &
hm train $TR -o "$D/f2.hogmf" --validate "$D/te.csv" "$T/fifo"
expect_rc 0 "train FIFO: exit status"
same "train FIFO: the model of the regular file" "$D/ref.hogmf" "$D/f2.hogmf"
run timeout 60 "$HOGMF" train $TR -o "$D/f3.hogmf" --validate "$D/te.csv" - <"$D/tr.csv"
expect_rc 0 "train - (stdin): exit status"
same "train - (stdin): the model of the regular file" "$D/ref.hogmf" "$D/f3.hogmf"
gzip -c "$D/tr.csv" >"$D/tr.csv.gz"
cat "$D/tr.csv.gz" >"$T/fifo" &
hm train $TR -o "$D/f4.hogmf" --validate "$D/te.csv" "$T/fifo"
expect_rc 0 "train gzip FIFO: exit status"
same "train gzip FIFO: the model of the regular file" "$D/ref.hogmf" "$D/f4.hogmf"
wait

# ---------------------------------------------------------------- 3. an output that is an input

# CASE|ARGS: each must exit 2 naming both paths, leaving r.csv and m.hogmf as they were.
ln "$D/r.csv" "$D/hard.csv"
while IFS='|' read -r name args; do
    [ -n "$name" ] || continue
    cp "$D/r.orig" "$D/r.csv"
    cp "$D/m.orig" "$D/m.hogmf"
    rm -f "$D/a.csv" "$D/b.csv"
    # shellcheck disable=SC2086
    eval "hm $args"
    expect_rc 2 "$name: exit status"
    same "$name: r.csv intact" "$D/r.orig" "$D/r.csv"
    same "$name: m.hogmf intact" "$D/m.orig" "$D/m.hogmf"
    expect_err "is also" "$name: message"
done <<EOF
train -o r.csv r.csv|train -q -e 2 -o "$D/r.csv" "$D/r.csv"
train -o hard link|train -q -e 2 -o "$D/hard.csv" "$D/r.csv"
train --log r.csv|train -q -e 2 --log "$D/r.csv" -o "$D/x.hogmf" "$D/r.csv"
train --checkpoint r.csv|train -q -e 2 --checkpoint "$D/r.csv" -o "$D/x.hogmf" "$D/r.csv"
train -o VALIDATE|train -q -e 2 --validate "$D/r.csv" -o "$D/r.csv" "$D/tr.csv"
train --log MODEL|train -q -e 2 --log "$D/x.hogmf" -o "$D/x.hogmf" "$D/tr.csv"
train --resume m.hogmf -o m.hogmf|train -q -e 2 --resume "$D/m.hogmf" -o "$D/m.hogmf" "$D/tr.csv"
predict -o m.hogmf|predict -o "$D/m.hogmf" "$D/m.hogmf" "$D/te.csv"
predict -o r.csv|predict -o "$D/r.csv" "$D/m.hogmf" "$D/r.csv"
recommend -o m.hogmf|recommend -n 3 --user 1 -o "$D/m.hogmf" "$D/m.hogmf"
recommend --exclude r.csv -o r.csv|recommend -n 3 --user 1 --exclude "$D/r.csv" -o "$D/r.csv" "$D/m.hogmf"
foldin -o m.hogmf|foldin -q -o "$D/m.hogmf" "$D/m.hogmf" "$D/te.csv"
export -o m.hogmf|export --libmf -o "$D/m.hogmf" "$D/m.hogmf"
split r.csv a.csv a.csv|split --test-fraction 0.2 "$D/r.csv" "$D/a.csv" "$D/a.csv"
split r.csv r.csv b.csv|split --test-fraction 0.2 "$D/r.csv" "$D/r.csv" "$D/b.csv"
convert r.csv r.csv|convert --to tsv "$D/r.csv" "$D/r.csv"
EOF

# ---------------------------------------------------------------- 4. SIGTERM during the final save

# The model goes to a FIFO, so that its write waits for a reader: the signal lands while
# the model is being written, every time. The first SIGTERM must still leave a checkpoint
# and exit status 4 (the write it interrupted completes).
mkfifo "$T/mfifo"
rm -f "$T/mfifo.ckpt"
"$HOGMF" train --json $TR -o "$T/mfifo" "$D/tr.csv" >"$T/ev" \
    2>"$T/err" &
pid=$!
n=0
while ! grep -q '"event": *"epoch".*"epoch": *3' "$T/ev" 2>/dev/null && [ $n -lt 600 ]; do
    n=$((n + 1))
    sleep 0.05
done
sleep 0.5
kill -TERM $pid
timeout 30 cat "$T/mfifo" >"$D/s.hogmf"
wait $pid
RC=$?
expect_rc 4 "SIGTERM while the model is written: exit status"
check "SIGTERM while the model is written: a checkpoint" -s "$T/mfifo.ckpt"
expect_err "checkpoint written to" "SIGTERM while the model is written: message"
hm checkpoint "$T/mfifo.ckpt"
expect_rc 0 "SIGTERM while the model is written: the checkpoint verifies"
hm info "$D/s.hogmf"
expect_rc 0 "SIGTERM while the model is written: the model write completed"

# ---------------------------------------------------------------- 5. outputs checked first

for opt in "-o $T/missing/m.hogmf" "--log $T/missing/l.jsonl -o $D/x.hogmf" \
    "--checkpoint $T/missing/c.ckpt -o $D/x.hogmf"; do
    # shellcheck disable=SC2086
    hm train --json -t 1 -k 4 -e 30 $opt "$D/r.csv"
    expect_rc 2 "train $opt: exit status"
    if grep -q '"event": *"epoch"' "$T/out"; then
        bad "train $opt" "trained before finding the output unwritable"
    else ok; fi
    expect_err "missing" "train $opt: message names the path"
done
# /dev/full cannot be detected before writing: the checkpoint keeps the run.
if [ -c /dev/full ]; then
    rm -f "$D/full.ckpt"
    hm train $TR --checkpoint "$D/full.ckpt" -o /dev/full "$D/r.csv"
    expect_rc 1 "train -o /dev/full: exit status"
    check "train -o /dev/full: a checkpoint kept" -s "$D/full.ckpt"
    expect_err "full.ckpt" "train -o /dev/full: message names the checkpoint"
    hm train $TR --resume "$D/full.ckpt" -o "$D/full.hogmf" "$D/r.csv"
    expect_rc 0 "train -o /dev/full: resumes from the checkpoint"
else
    skip "train -o /dev/full: no /dev/full"
fi

# ---------------------------------------------------------------- 6. the model loader

truncate -s 1T "$D/huge.hogmf"
hm info "$D/huge.hogmf"
expect_rc 2 "info on a 1 TB sparse file: exit status"
expect_err "magic" "info on a 1 TB sparse file: message"
cp "$D/m.orig" "$D/huge2.hogmf"
truncate -s 1T "$D/huge2.hogmf"
hm info "$D/huge2.hogmf"
expect_rc 2 "info on a model grown to 1 TB: exit status"
expect_err "size" "info on a model grown to 1 TB: message"
rm -f "$D/huge.hogmf" "$D/huge2.hogmf"
for c in "info" "eval" "checkpoint" "predict" "export --csv -o $D/e.csv"; do
    case $c in
    eval | predict) set -- "$T/fifo" "$D/te.csv" ;;
    *) set -- "$T/fifo" ;;
    esac
    # shellcheck disable=SC2086
    run timeout 10 "$HOGMF" $c "$@"
    expect_rc 2 "$c on a FIFO: exit status (no hang)"
    expect_err "regular file" "$c on a FIFO: message"
done

# ---------------------------------------------------------------- 8. --max-memory while reading

# The first MiB of random ratings, then 2 million copies of one line: the gzip estimate from
# the first MiB is far below what reading needs (about 80 MB).
{
    cat "$D/r.csv"
    for j in 1 2 3 4 5 6 7; do tail -n +2 "$D/r.csv"; done
    yes '1,1,3,0' | head -n 2000000
} | gzip -c >"$D/bomb.csv.gz"
hm train -t 1 -e 1 -k 4 --max-memory 24M -o "$D/x.hogmf" "$D/bomb.csv.gz"
expect_rc 2 "--max-memory with gzip: exit status"
expect_err "max-memory|memory limit" "--max-memory with gzip: message"
run timeout 60 "$HOGMF" train -t 1 -e 1 -k 4 --max-memory 24M -o "$D/x.hogmf" - \
    <"$D/bomb.csv.gz"
expect_rc 2 "--max-memory on standard input: exit status"
expect_err "max-memory|memory limit" "--max-memory on standard input: message"

# ---------------------------------------------------------------- 9. smaller ones

if [ -c /dev/full ]; then
    for c in "info $D/m.orig" "info --json $D/m.orig" "checkpoint $D/full.ckpt" "--help" \
        "--version" "train --help" "train --json -q -t 1 -k 4 -e 1 -o $D/x.hogmf $D/r.csv" \
        "predict $D/m.orig $D/te.csv"; do
        # shellcheck disable=SC2086
        timeout 60 "$HOGMF" $c >/dev/full 2>"$T/err"
        RC=$?
        check "hogmf $c >/dev/full: non-zero exit" "$RC" -ne 0
        expect_err "write|No space" "hogmf $c >/dev/full: message"
    done
fi

# Replacing a file keeps its mode; a symlink is written through to its target.
cp "$D/m.orig" "$D/mode.hogmf"
chmod 600 "$D/mode.hogmf"
hm train $TR -o "$D/mode.hogmf" "$D/tr.csv"
check "a replaced 0600 model stays 0600" "$(stat -c %a "$D/mode.hogmf")" = 600
cp "$D/m.orig" "$D/target.hogmf"
ln -s target.hogmf "$D/link.hogmf"
hm train $TR -o "$D/link.hogmf" --validate "$D/te.csv" "$D/tr.csv"
check "-o SYMLINK: still a symlink" -L "$D/link.hogmf"
same "-o SYMLINK: the target was written" "$D/ref.hogmf" "$D/target.hogmf"
cp "$D/r.orig" "$D/r.csv"

# A file size limit: an error message, not a silent death by SIGXFSZ.
(ulimit -f 4 && exec timeout 60 "$HOGMF" train $TR -o "$D/fsz.hogmf" "$D/tr.csv") \
    >"$T/out" 2>"$T/err"
RC=$?
expect_rc 1 "ulimit -f: exit status"
expect_err "File too large" "ulimit -f: message"

run timeout 30 env HOGMF_TILE_LANES=2147483647 "$HOGMF" train $TR -o "$D/x.hogmf" "$D/tr.csv"
check "HOGMF_TILE_LANES=2147483647: no hang" "$RC" -ne 124
rm -f ./-
hm train $TR -o - "$D/tr.csv"
check "train -o -: refused" "$RC" -eq 2
check "train -o -: no file named -" ! -e ./-
hm train -qZ -o "$D/x.hogmf" "$D/tr.csv"
expect_rc 2 "train -qZ: exit status"
expect_err "'-Z'" "train -qZ: names -Z"
hm recommend -qZ --user 1 "$D/m.orig"
expect_err "'-Z'" "recommend -qZ: names -Z"
hm train -Zq -o "$D/x.hogmf" "$D/tr.csv"
expect_err "'-Z'" "train -Zq: names -Z"
hm train --quiet=yes -o "$D/x.hogmf" "$D/tr.csv"
expect_err "'--quiet=yes': the option takes no value" "train --quiet=yes: says it takes no value"

printf '1,2,3\n4,,6\n\n7,8,9\n1,2,3\n' >"$D/blank.csv"
hm impute --missing '' -o "$D/imp.csv" "$D/blank.csv"
expect_rc 2 "impute: a blank line mid-matrix: exit status"
expect_err "blank.csv:3" "impute: a blank line mid-matrix: names line 3"

hm train -q -t 1 -k 4 -e 5 --lr 2e-12 --init-sd 1000 -o "$D/x.hogmf" "$D/tr.csv"
if [ "$RC" -eq 3 ]; then
    if grep -Eq -- '--lr (1e-1[3-9]|[0-9.]+e-(1[3-9]|[2-9][0-9]))' "$T/err"; then
        bad "divergence advice" "suggests an --lr below the minimum 1e-12"
    else ok; fi
else
    skip "divergence advice: training with --lr 2e-12 did not diverge (exit $RC)"
fi

echo "hostile_test: $PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
