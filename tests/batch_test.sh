#!/bin/sh
# batch_test.sh - `hogmf` as an unattended batch job: every class of bad ratings input gets
# its own FILE:LINE message and exit status 2; gzip input; unreadable inputs; the memory
# estimate and --max-memory; a failed allocation; SIGTERM and SIGINT stop after an epoch
# with a checkpoint and exit status 4, and --resume continues bit for bit; foreign, corrupt
# and missing checkpoints; checkpoints that cannot be written. The SIGKILL test is
# kill_test.sh; the library-level checks are in tests/check_*.c.
#
#   HOGMF=build/hogmf sh tests/batch_test.sh      (from the repository root; `make check-batch`)
#   HOGMF_SANITIZER=1 skips what sanitizers cannot run (address-space limits).
#
# The last line is "N passed, M failed, S skipped" (a check that cannot run here prints
# "SKIPPED: why"); the exit status is non-zero when M > 0.

set -u

HOGMF=${HOGMF:-build/hogmf}
case $HOGMF in
/*) ;;
*) HOGMF=$(pwd)/$HOGMF ;;
esac
if [ ! -x "$HOGMF" ]; then
    echo "batch_test: $HOGMF is not an executable; run 'make' first" >&2
    exit 2
fi
FIX=tests/fixtures
T=$(mktemp -d "${TMPDIR:-/tmp}/hogmf-batch.XXXXXX") || exit 2
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

PASS=0
FAIL=0
SKIP=0
RC=0

ok() { PASS=$((PASS + 1)); }
bad() {
    FAIL=$((FAIL + 1))
    echo "FAIL: $1: $2"
    if [ -s "$T/err" ]; then sed -n '1,5s/^/    stderr: /p' "$T/err"; fi
}
skip() { SKIP=$((SKIP + 1)); echo "SKIPPED: $1"; }
check() {
    name=$1
    shift
    if [ "$@" ]; then ok; else bad "$name" "expected [ $* ]"; fi
}
run() {
    "$@" >"$T/out" 2>"$T/err"
    RC=$?
}
hm() { run "$HOGMF" "$@"; }
expect_rc() {
    if [ "$RC" -eq "$1" ]; then ok; else bad "$2" "exit status $RC, expected $1"; fi
}
expect_err() {
    if grep -Eq -- "$1" "$T/err"; then ok; else bad "$2" "stderr does not match /$1/"; fi
}
# wait_for FILE PATTERN: waits up to 20 s until FILE contains PATTERN.
wait_for() {
    n=0
    while ! grep -q -- "$2" "$1" 2>/dev/null; do
        n=$((n + 1))
        [ "$n" -gt 400 ] && return 1
        sleep 0.05
    done
    return 0
}

# ---------------------------------------------------------------- bad input, one class each

# FILE LINE MESSAGE: the message after "hogmf: FILE:LINE: " ("hogmf: FILE: " for line 0).
while IFS='|' read -r file line msg; do
    [ -n "$file" ] || continue
    hm train -q -o "$T/m" "$FIX/$file"
    expect_rc 2 "$file: exit status"
    if [ "$line" -eq 0 ]; then prefix="hogmf: $FIX/$file: "; else prefix="hogmf: $FIX/$file:$line: "; fi
    if grep -qF -- "$prefix$msg" "$T/err"; then ok; else bad "$file" "stderr lacks '$prefix$msg'"; fi
    check "$file: no model written" ! -e "$T/m"
done <<'EOF'
bad_user_id.txt|3|user id: expected a non-negative integer id, found 'u7'
bad_item_id.csv|3|item id: expected a non-negative integer id, found 'x7'
bad_rating.txt|3|rating: expected a finite real number, found 'good'
bad_trailing_junk.txt|3|rating: expected a finite real number, found '3.5x'
bad_missing_field.txt|3|expected 3 or 4 fields (user, item, rating[, timestamp]) separated as dat, found 2 fields
bad_extra_field.txt|3|expected 3 or 4 fields (user, item, rating[, timestamp]) separated as tsv, found 5 fields
bad_nan.txt|3|rating: expected a finite real number, not NaN or infinity, found 'nan'
bad_inf.txt|3|rating: expected a finite real number, not NaN or infinity, found 'inf'
bad_rating_float_range.txt|3|rating: expected a rating within the range of a float, found '4e38'
bad_rating_overflow.txt|3|rating: expected a number within the range of a double, found '1e999'
bad_negative_id.txt|3|user id: expected a non-negative integer id, not a negative number, found '-7'
bad_id_overflow.txt|3|user id: expected an id of at most 4294967295, found '4294967296'
bad_empty.txt|0|expected at least one rating, found an empty file
bad_header_only.csv|0|expected at least one rating, found only a header line
bad_binary.txt|3|expected text, found binary data (byte 0x1a in column 6)
bad_nul.txt|3|expected text, found a NUL byte (binary file?)
bad_gzip_line3.tsv.gz|3|item id: expected a non-negative integer id, found 'x7'
bad_gzip_truncated.tsv.gz|0|expected gzip data, found the end of the file inside a gzip member (truncated?)
bad_gzip_corrupt.tsv.gz|0|expected gzip data, found corrupt data (zlib:
bad_gzip_trailing.tsv.gz|0|expected gzip data, found other bytes after the last gzip member
EOF

# A line longer than any buffer (1 MiB + 1 bytes on line 2).
{
    printf '1\t2\t3\n'
    head -c 1048577 /dev/zero | tr '\0' ' '
    printf '4\t5\t6\n'
} >"$T/long.tsv"
hm train -q -o "$T/m" "$T/long.tsv"
expect_rc 2 "a 1 MiB line: exit status"
expect_err "long.tsv:2: expected a line of at most 1048576 bytes, found a longer one" \
    "a 1 MiB line: FILE:LINE message"

# Binary garbage from the first byte (an ELF file: NUL bytes).
hm train -q -o "$T/m" "$HOGMF"
expect_rc 2 "the hogmf binary as ratings: exit status"
expect_err ":1: expected text, found a NUL byte" "the hogmf binary as ratings: message"

# Not a file, or not readable.
hm train -q -o "$T/m" "$T"
expect_rc 2 "a directory: exit status"
expect_err "$T: expected a ratings file, found a directory" "a directory: message"
hm train -q -o "$T/m" "$T/no-such-file"
expect_rc 2 "a missing file: exit status"
expect_err "no-such-file: cannot open: No such file or directory" "a missing file: message"
hm train -q -o "$T/m" /proc/self/mem
expect_rc 2 "a file that cannot be read (EIO): exit status"
expect_err "/proc/self/mem: read failed after 0 bytes: Input/output error" \
    "a file that cannot be read: message"
printf '1\t2\t3\n' >"$T/secret.tsv"
chmod 000 "$T/secret.tsv"
if [ "$(id -u)" -ne 0 ]; then
    hm train -q -o "$T/m" "$T/secret.tsv"
elif command -v setpriv >/dev/null 2>&1; then
    run setpriv --reuid=65534 --regid=65534 --clear-groups "$HOGMF" train -q -o /dev/null \
        "$T/secret.tsv"
else
    RC=skip
fi
if [ "$RC" = skip ]; then
    skip "permission denied: root and no setpriv to drop privileges"
else
    expect_rc 2 "a file without read permission: exit status"
    expect_err "secret.tsv: cannot open: Permission denied" "no read permission: message"
fi

# ---------------------------------------------------------------- gzip

"$HOGMF" gen --users 300 --items 200 --ratings 6000 --seed 3 -o "$T/g.csv" 2>/dev/null
gzip -c "$T/g.csv" >"$T/g.csv.gz"
cp "$T/g.csv.gz" "$T/g-no-suffix.csv"
hm train -q --threads 1 -e 3 -k 4 -o "$T/m-plain" "$T/g.csv"
expect_rc 0 "train on plain text"
for f in g.csv.gz g-no-suffix.csv; do
    hm train -q --threads 1 -e 3 -k 4 -o "$T/m-gz" "$T/$f"
    expect_rc 0 "train on $f"
    if cmp -s "$T/m-plain" "$T/m-gz"; then ok; else bad "$f" "model differs from plain text's"; fi
done
run sh -c '"$1" eval "$2" - <"$3"' sh "$HOGMF" "$T/m-plain" "$T/g.csv.gz"
expect_rc 0 "eval reads gzip from standard input"

# ---------------------------------------------------------------- memory

hm train --threads 1 -e 1 -k 4 --holdout 0 -o "$T/m" "$T/g.csv"
expect_err "^hogmf: memory: reading .*g.csv needs about [0-9.]+ MiB \\(about [0-9]+ ratings" \
    "the memory for reading is printed"
expect_err "^hogmf: memory: training needs about [0-9.]+ MiB \\(6000 ratings, 300 users" \
    "the memory for training is printed"
if [ "$(grep -n 'memory: reading' "$T/err" | cut -d: -f1)" -lt "$(grep -n 'hogmf: read ' "$T/err" | cut -d: -f1)" ]; then
    ok
else
    bad "memory estimate" "not printed before reading"
fi
rm -f "$T/m"
hm train -q --max-memory 1K -o "$T/m" "$T/g.csv"
expect_rc 2 "--max-memory below the read estimate"
expect_err "g.csv: reading it needs about [0-9.]+ MiB \\(about 600[0-9] ratings\\), more than --max-memory 1.0 KiB" \
    "--max-memory: refused before reading"
check "--max-memory: no model" ! -e "$T/m"
hm train -q --threads 1 -k 16384 --max-memory 40M -o "$T/m" "$T/g.csv"
expect_rc 2 "--max-memory below the training estimate"
expect_err "training needs about .* 16384 factors\\), more than --max-memory 40.0 MiB" \
    "--max-memory: refused before training"
hm train -q --threads 1 -e 1 -k 4 --max-memory 1G -o "$T/m" "$T/g.csv"
expect_rc 0 "--max-memory 1G is enough"
for v in 0 -5 12Q 1.5G G ''; do
    hm train -q --max-memory "$v" -o "$T/m" "$T/g.csv"
    expect_rc 2 "--max-memory '$v' is rejected"
    expect_err "--max-memory: expected a positive size .*found '$v'" "--max-memory '$v': message"
done
rm -f "$T/m"

# An allocation that fails: 300 + 200 rows of 65536 factors (131 MB) in 120 MB of address space.
if [ -n "${HOGMF_SANITIZER:-}" ]; then
    skip "allocation failure under ulimit -v (sanitizers reserve more address space)"
else
    run sh -c 'ulimit -v 120000 && exec "$1" train -q --threads 1 -e 1 -k 65536 -o "$2" "$3"' \
        sh "$HOGMF" "$T/m" "$T/g.csv"
    expect_rc 1 "a failed allocation: exit status 1"
    expect_err "out of memory" "a failed allocation: clear message"
    check "a failed allocation: no model" ! -e "$T/m"
fi

# ---------------------------------------------------------------- signals and resume

"$HOGMF" gen --users 2000 --items 1500 --ratings 200000 --seed 9 -o "$T/big.csv" 2>/dev/null
# 300 epochs: long enough (about 1 s) that a signal sent after the first epoch line still
# finds the job running, also when resuming.
OPTS="--threads 1 -e 300 -k 16 --order shuffle --seed 4"
# shellcheck disable=SC2086 # OPTS is a list of options
hm train -q $OPTS -o "$T/ref" "$T/big.csv"
expect_rc 0 "uninterrupted reference run"

# stop_after SIGNAL EXTRA...: starts training, sends SIGNAL once an epoch line appeared, and
# waits; RC is the exit status.
stop_after() {
    sig=$1
    shift
    # Emptied here, before the start: the background job's own redirection may come after the
    # first look, which would then find the last run's epoch lines.
    : >"$T/err"
    # shellcheck disable=SC2086
    "$HOGMF" train $OPTS "$@" -o "$T/model" "$T/big.csv" >"$T/out" 2>"$T/err" &
    pid=$!
    if ! wait_for "$T/err" "^epoch "; then
        kill -9 "$pid"
        RC=timeout
        return
    fi
    kill -s "$sig" "$pid"
    wait "$pid"
    RC=$?
}

stop_after TERM
expect_rc 4 "SIGTERM: exit status 4"
expect_err "stopped by SIGTERM after epoch [0-9]+ of 300; checkpoint written to $T/model.ckpt" \
    "SIGTERM: message names the epoch and the default checkpoint MODEL.ckpt"
check "SIGTERM: no model written" ! -e "$T/model"
hm checkpoint "$T/model.ckpt"
expect_rc 0 "SIGTERM: the checkpoint verifies"
E1=$(sed -n 's/^epoch=//p' "$T/out")
check "SIGTERM: checkpoint after an epoch" "${E1:-0}" -ge 1

stop_after INT --resume "$T/model.ckpt"
expect_rc 4 "SIGINT after resuming: exit status 4"
expect_err "resuming from $T/model.ckpt after epoch $E1 of 300" "resume: message names the epoch"
expect_err "stopped by SIGINT" "SIGINT: message"
hm checkpoint "$T/model.ckpt"
E2=$(sed -n 's/^epoch=//p' "$T/out")
check "SIGINT: the resumed run made progress" "${E2:-0}" -gt "$E1"

# shellcheck disable=SC2086
hm train -q $OPTS --resume "$T/model.ckpt" -o "$T/model" "$T/big.csv"
expect_rc 0 "resume to the end"
if cmp -s "$T/ref" "$T/model"; then ok; else bad "resume" "model differs from the uninterrupted run"; fi

# --checkpoint-every: files written while training (the JSON events say when).
rm -f "$T/model"
# shellcheck disable=SC2086
hm train $OPTS -e 6 --json --checkpoint "$T/ck" --checkpoint-every 2 -o "$T/model" "$T/big.csv"
expect_rc 0 "--checkpoint-every 2"
check "--checkpoint-every 2: checkpoints after epochs 2, 4 and 6" \
    "$(grep -o '"event": "checkpoint"[^}]*"epoch": [0-9]*' "$T/out" | sed 's/.*: //' | tr '\n' ' ')" \
    = "2 4 6 "

# Foreign, corrupt and missing checkpoints.
hm train -q $OPTS --lr 0.5 --resume "$T/ck" -o "$T/m2" "$T/big.csv"
expect_rc 2 "resume with another --lr"
expect_err "ck: the checkpoint was written with other training parameters: learning rate" \
    "resume with another --lr: message"
hm train -q $OPTS --resume "$T/ck" -o "$T/m2" "$T/g.csv"
expect_rc 2 "resume with other data"
expect_err "ck: the checkpoint was written for other training data" "other data: message"
head -c 1000 "$T/ck" >"$T/ck.trunc"
hm train -q $OPTS --resume "$T/ck.trunc" -o "$T/m2" "$T/big.csv"
expect_rc 2 "resume from a truncated checkpoint"
expect_err "ck.trunc: not a valid hogmf checkpoint: the file size does not match" \
    "truncated checkpoint: message"
hm train -q $OPTS --resume "$T/ref" -o "$T/m2" "$T/big.csv"
expect_rc 2 "resume from a model file"
expect_err "not a valid hogmf checkpoint: wrong magic" "a model as checkpoint: message"
hm train -q $OPTS --resume "$T/nothing" -o "$T/m2" "$T/big.csv"
expect_rc 2 "resume from a missing file"
expect_err "nothing: cannot open" "missing checkpoint: message"
hm checkpoint "$T/ref"
expect_rc 2 "hogmf checkpoint on a model file"
expect_err "ref: not a valid hogmf checkpoint" "hogmf checkpoint on a model file: message"
hm checkpoint
expect_rc 2 "hogmf checkpoint without a file"
expect_err "checkpoint: expected one FILE" "hogmf checkpoint without a file: message"
check "no model from failed resumes" ! -e "$T/m2"

# Checkpoints that cannot be written: exit status 1, the previous checkpoint intact; one
# that cannot even be created is refused before training (exit status 2).
# shellcheck disable=SC2086
hm train -q $OPTS -e 2 --checkpoint /dev/full -o "$T/m2" "$T/big.csv"
expect_rc 1 "--checkpoint /dev/full"
expect_err "/dev/full: write failed: No space left on device" "--checkpoint /dev/full: message"
# shellcheck disable=SC2086
hm train -q $OPTS -e 2 --checkpoint "$T/no/dir/ck" -o "$T/m2" "$T/big.csv"
expect_rc 2 "--checkpoint in a missing folder"
expect_err "no/dir/ck" "--checkpoint in a missing folder: message"
cp "$T/ck" "$T/ck.before"
SIZE=$(wc -c <"$T/ck" | tr -d ' ')
# shellcheck disable=SC2016
run sh -c 'trap "" XFSZ; ulimit -f $(($4 / 1024)) && exec "$1" train -q '"$OPTS"' -e 2 \
    --checkpoint "$2" -o "$2.model" "$3"' sh "$HOGMF" "$T/ck" "$T/big.csv" "$SIZE"
expect_rc 1 "a checkpoint write that fails half-way"
if cmp -s "$T/ck" "$T/ck.before"; then ok; else bad "failed checkpoint write" "old checkpoint changed"; fi
check "failed checkpoint write: no temporary file" "$(find "$T" -name 'ck.tmp.*' | wc -l | tr -d ' ')" -eq 0

# A full file system (a 256 KiB tmpfs; needs root and permission to mount): ENOSPC half-way
# through the model and the checkpoint leaves the old files intact and no temporary file.
mkdir "$T/tiny"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=256k tmpfs "$T/tiny" 2>/dev/null; then
    trap 'umount "$T/tiny" 2>/dev/null; rm -rf "$T"' EXIT
    hm train -q --threads 1 -e 1 -k 4 --checkpoint "$T/tiny/ck" -o "$T/tiny/model" "$T/g.csv"
    expect_rc 0 "tiny file system: a small model and checkpoint fit"
    cp "$T/tiny/model" "$T/model.small"
    cp "$T/tiny/ck" "$T/ck.small"
    hm train -q --threads 1 -e 1 -k 256 -o "$T/tiny/model" "$T/g.csv"
    expect_rc 1 "tiny file system: a model that does not fit"
    expect_err "tiny/model: write failed: No space left on device" "disk full: clear message"
    if cmp -s "$T/tiny/model" "$T/model.small"; then ok; else bad "disk full" "old model changed"; fi
    hm train -q --threads 1 -e 1 -k 256 --checkpoint "$T/tiny/ck" -o "$T/model.big" "$T/g.csv"
    expect_rc 1 "tiny file system: a checkpoint that does not fit"
    expect_err "tiny/ck: write failed: No space left on device" "disk full, checkpoint: message"
    if cmp -s "$T/tiny/ck" "$T/ck.small"; then ok; else bad "disk full" "old checkpoint changed"; fi
    check "disk full: only the two old files are left" "$(ls -A "$T/tiny" | tr '\n' ' ')" = "ck model "
    umount "$T/tiny"
else
    skip "disk full on a tiny tmpfs: cannot mount one here (not root, or no permission)"
fi

echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
