#!/bin/sh
# mutate.sh - the mutation check (`make mutate`): applies each mutant of tests/mutants.txt, one
# at a time, to a copy of src/, include/, tests/ and the Makefile in a temporary folder, builds
# what its tests need there (objects stay, so each mutant recompiles one file), runs the tests
# it names and reports it "killed" when they fail, "SURVIVED" when they pass. The real tree is
# never written to. Fails when any mutant survives, when a mutant's text is not found exactly
# once in its file (the code moved: re-aim it in mutants.txt), when a mutant does not build,
# or when the tests fail on the unmutated copy.
#
#   sh tests/mutate.sh [NAME...]    (from the repository root; `make mutate`)
#   NAME...          only the mutants with these names
#   MUTANTS=FILE     the list [tests/mutants.txt]
#   MUTATE_JOBS=N    mutants tested at once, each in its own copy, and make -j of the first
#                    build [number of cores, at most 4]
#   CC, CFLAGS       passed to make (the copy builds with the Makefile's flags)
#
# The last line is "N killed, M survived, B broken"; the exit status is non-zero unless M and B
# are 0 (every mutant applied, built, and was killed).

set -u

ROOT=$(pwd)
MUTANTS=${MUTANTS:-tests/mutants.txt}
case $MUTANTS in
/*) ;;
*) MUTANTS=$ROOT/$MUTANTS ;;
esac
if [ ! -r "$MUTANTS" ] || [ ! -r Makefile ] || [ ! -d src ]; then
    echo "mutate: run from the repository root (no Makefile, src/ or $MUTANTS here)" >&2
    exit 2
fi
JOBS=${MUTATE_JOBS:-$(nproc 2>/dev/null || echo 2)}
[ "$JOBS" -ge 1 ] 2>/dev/null || JOBS=1
[ -n "${MUTATE_JOBS:-}" ] || [ "$JOBS" -le 4 ] || JOBS=4
TIMEOUT=${MUTATE_TIMEOUT:-120}

W=$(mktemp -d "${TMPDIR:-/tmp}/hogmf-mutate.XXXXXX") || exit 2
trap 'rm -rf "$W"' EXIT
trap 'exit 130' INT TERM

start=$(date +%s)

# ---------------------------------------------------------------- the list

# apply NAME SRC DST FILE: writes SRC (a copy of FILE) with the mutant's text replaced to DST;
# exit status 3, with a message naming FILE, when the text is not found exactly once.
awk '/^mutant / { print $2 }' "$MUTANTS" >"$W/all"
if [ ! -s "$W/all" ]; then
    echo "mutate: no mutants in $MUTANTS" >&2
    exit 2
fi
dups=$(sort "$W/all" | uniq -d)
if [ -n "$dups" ]; then
    echo "mutate: $MUTANTS: mutant names used twice: $dups" >&2
    exit 2
fi

# field NAME KEY: the value of KEY (file, tests) in the record of NAME.
field() {
    awk -v name="$1" -v key="$2" '
        /^mutant / { in_rec = ($2 == name); next }
        in_rec && index($0, key " ") == 1 { print substr($0, length(key) + 2); exit }
    ' "$MUTANTS"
}

apply() {
    awk -v name="$1" -v shown="$4" '
        FNR == NR {
            if ($0 ~ /^mutant /) { in_rec = ($2 == name); next }
            if (!in_rec) next
            if (index($0, "find ") == 1) { find = nf++ ? find "\n" substr($0, 6) : substr($0, 6) }
            else if (index($0, "repl ") == 1) { repl = nr++ ? repl "\n" substr($0, 6) : substr($0, 6) }
            next
        }
        { text = FNR == 1 ? $0 : text "\n" $0 }
        END {
            if (nf == 0) { print "mutate: " name ": no find line" > "/dev/stderr"; exit 3 }
            count = 0; rest = text
            while ((p = index(rest, find)) > 0) { count++; rest = substr(rest, p + length(find)) }
            if (count != 1) {
                printf "mutate: %s: its text is found %d times in %s, expected once:\n%s\n",
                       name, count, shown, find > "/dev/stderr"
                exit 3
            }
            p = index(text, find)
            printf "%s\n", substr(text, 1, p - 1) repl substr(text, p + length(find))
        }
    ' "$MUTANTS" "$2" >"$3"
}

# ---------------------------------------------------------------- the copy

mkdir "$W/tree" "$W/orig"
cp -R src include tests Makefile "$W/tree/" || exit 2
cp -R src "$W/orig/" || exit 2

if [ $# -gt 0 ]; then
    for n in "$@"; do
        grep -qx -- "$n" "$W/all" || { echo "mutate: no mutant named '$n'" >&2; exit 2; }
    done
    printf '%s\n' "$@" >"$W/names"
else
    cp "$W/all" "$W/names"
fi

# Every mutant must apply to the unmutated files before anything is built.
bad_list=0
while read -r name; do
    f=$(field "$name" file)
    if [ -z "$f" ] || [ ! -f "$W/tree/$f" ]; then
        echo "mutate: $name: no such file '$f'" >&2
        bad_list=$((bad_list + 1))
        continue
    fi
    if [ -z "$(field "$name" tests)" ]; then
        echo "mutate: $name: no tests line" >&2
        bad_list=$((bad_list + 1))
        continue
    fi
    apply "$name" "$W/tree/$f" "$W/probe" "$f" || bad_list=$((bad_list + 1))
done <"$W/names"
if [ "$bad_list" -ne 0 ]; then
    echo "mutate: FAILED: $bad_list mutants of $MUTANTS do not apply; re-aim them" >&2
    exit 1
fi

# ---------------------------------------------------------------- the tests

# TREE is the copy the tests run in (one per worker); LOG their output.
TREE=$W/tree
LOG=$W/log

# The CLI accuracy check (as in tests/cli_test.sh): the default model trained on generated
# data must score 5% below the bias-only model computed by tests/bias_only_rmse.awk.
cli_check() {
    h=$TREE/build/hogmf
    d=$TREE/cli
    rm -rf "$d" && mkdir "$d" || return 1
    "$h" gen --users 300 --items 200 --ratings 20000 --seed 5 -o "$d/g.csv" 2>"$d/err" &&
        "$h" split --test-fraction 0.2 --seed 3 "$d/g.csv" "$d/tr.csv" "$d/te.csv" 2>>"$d/err" &&
        "$h" train --threads 1 --seed 7 -e 20 -q -o "$d/m" "$d/tr.csv" 2>>"$d/err" &&
        "$h" eval "$d/m" "$d/te.csv" >"$d/out" 2>>"$d/err" || return 1
    rmse=$(tail -n 1 "$d/out" | sed -n 's/^rmse=\([0-9.]*\) .*/\1/p')
    bias=$(awk -F, -f "$ROOT/tests/bias_only_rmse.awk" "$d/tr.csv" "$d/te.csv")
    echo "rmse=$rmse, bias-only $bias"
    [ -n "$rmse" ] && awk -v a="$rmse" -v b="$bias" 'BEGIN { exit !(a + 0 < 0.95 * b) }'
}

# run_tests SPEC...: 0 when every test passes, 1 when one fails, 2 when one cannot run.
run_tests() {
    for spec in "$@"; do
        case $spec in
        unit:*)
            (cd "$TREE/tests" && HOGMF_FIXTURES=fixtures CK_RUN_SUITE=${spec#unit:} \
                timeout "$TIMEOUT" ../build/check_hogmf) >"$LOG" 2>&1 || return 1
            grep -q 'Checks: [1-9]' "$LOG" || { echo "mutate: $spec ran no checks" >&2; return 2; }
            ;;
        cli) cli_check >"$LOG" 2>&1 || return 1 ;;
        *)
            echo "mutate: unknown test '$spec'" >&2
            return 2
            ;;
        esac
    done
    return 0
}

# targets SPEC...: what the tests need built.
targets() {
    t=build/check_hogmf
    for spec in "$@"; do
        [ "$spec" = cli ] && t="$t build/hogmf"
    done
    echo "$t"
}

all_specs=$(while read -r name; do field "$name" tests; done <"$W/names" | tr ' ' '\n' | sort -u |
    tr '\n' ' ')
# shellcheck disable=SC2046,SC2086 # lists of words
if ! make -C "$TREE" --no-print-directory -j"$JOBS" $(targets $all_specs) >"$W/build.log" 2>&1; then
    tail -n 20 "$W/build.log"
    echo "mutate: FAILED: the unmutated copy does not build" >&2
    exit 1
fi
# shellcheck disable=SC2086
if ! run_tests $all_specs; then
    tail -n 20 "$LOG"
    echo "mutate: FAILED: the tests ($all_specs) fail on the unmutated copy" >&2
    exit 1
fi
echo "mutate: the unmutated copy passes $all_specs($(($(date +%s) - start)) s)"

# worker K: applies mutants K, K + JOBS, K + 2 JOBS, ... in its own copy of the built tree
# (cp -p keeps the times, so only the mutated file is rebuilt) and writes one line per
# mutant, "killed", "survived" or "broken", to $W/result.K.
worker() {
    k=$1
    TREE=$W/tree.$k
    LOG=$W/log.$k
    rm -rf "$TREE" && cp -Rp "$W/tree" "$TREE" || exit 1
    : >"$W/result.$k"
    awk -v k="$k" -v jobs="$JOBS" '(NR - 1) % jobs == k' "$W/names" >"$W/names.$k"
    while read -r name; do
        f=$(field "$name" file)
        specs=$(field "$name" tests)
        apply "$name" "$W/orig/$f" "$TREE/$f" "$f" || exit 1
        t0=$(date +%s)
        # shellcheck disable=SC2046,SC2086
        if ! make -C "$TREE" --no-print-directory $(targets $specs) >"$W/build.$k.log" 2>&1; then
            grep -m 5 -E 'error|Error' "$W/build.$k.log"
            echo "mutate: BROKEN   $name: does not build (fix it in $MUTANTS)"
            echo broken >>"$W/result.$k"
        else
            # shellcheck disable=SC2086
            run_tests $specs
            rc=$?
            if [ "$rc" -eq 2 ]; then
                echo "mutate: BROKEN   $name: its tests could not run"
                echo broken >>"$W/result.$k"
            elif [ "$rc" -ne 0 ]; then
                why=$(grep -m 1 -E ':[FE]:|FAIL|rmse=' "$LOG" | cut -c 1-150)
                echo "mutate: killed   $name ($specs; $(($(date +%s) - t0)) s) ${why:+- $why}"
                echo killed >>"$W/result.$k"
            else
                echo "mutate: SURVIVED $name ($f; tests $specs passed)"
                echo survived >>"$W/result.$k"
            fi
        fi
        cp "$W/orig/$f" "$TREE/$f"
    done <"$W/names.$k"
}

k=0
while [ "$k" -lt "$JOBS" ]; do
    worker "$k" &
    k=$((k + 1))
done
wait

total=$(wc -l <"$W/names" | tr -d ' ')
killed=$(cat "$W"/result.* | grep -c '^killed$')
survived=$(cat "$W"/result.* | grep -c '^survived$')
broken=$(cat "$W"/result.* | grep -c '^broken$')
missing=$((total - killed - survived - broken))
echo "mutate: $total mutants in $(($(date +%s) - start)) s ($JOBS at a time)"
[ "$missing" -eq 0 ] || echo "mutate: FAILED: $missing mutants gave no result (a worker stopped)"
echo "$killed killed, $survived survived, $broken broken"
[ "$survived" -eq 0 ] && [ "$broken" -eq 0 ] && [ "$missing" -eq 0 ]
