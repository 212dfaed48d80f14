#!/bin/sh
# cli_tool_test.sh - end-to-end tests of what makes hogmf pleasant to use: `info`, LIBMF and
# CSV interoperability (`export`, `import`, `convert`, checked against LIBMF's prediction rule
# computed here with awk), `plot` (through gnuplot), progress on and off a terminal, --quiet,
# --json events, and the man page against every command's --help. tests/cli_test.sh covers
# train, eval, predict, split and gen themselves.
#
#   HOGMF=build/hogmf sh tests/cli_tool_test.sh      (from the repository root; `make check-tool`)
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
    echo "cli_tool_test: $HOGMF is not an executable; run 'make' first" >&2
    exit 2
fi
MAN=${HOGMF_MAN:-doc/hogmf.1}

T=$(mktemp -d "${TMPDIR:-/tmp}/hogmf-tool.XXXXXX") || exit 2
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
    if [ -s "$T/err" ]; then
        sed -n '1,5s/^/    stderr: /p' "$T/err"
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

hm() { run "$HOGMF" "$@"; }

expect_rc() {
    if [ "$RC" -eq "$1" ]; then ok; else bad "$2" "exit status $RC, expected $1"; fi
}

expect_err() {
    if grep -Eq -- "$1" "$T/err"; then ok; else bad "$2" "stderr does not match /$1/"; fi
}

expect_same() {
    if cmp -s "$1" "$2"; then ok; else bad "$3" "$1 and $2 differ"; fi
}

skip() { SKIP=$((SKIP + 1)); echo "SKIPPED: $*"; }

# info_field KEY MODEL: the value printed by `hogmf info MODEL` on the line "KEY ...".
info_field() {
    "$HOGMF" info "$2" | awk -v k="$1" '$1 == k { print $2; exit }'
}

# ---------------------------------------------------------------- data and a model

G=$T/g.csv
"$HOGMF" gen --users 300 --items 200 --ratings 20000 --seed 5 -o "$G" 2>/dev/null
"$HOGMF" split --test-fraction 0.2 --seed 3 "$G" "$T/tr.csv" "$T/te.csv" 2>/dev/null
M=$T/m.hogmf
hm train --threads 1 --seed 7 -e 6 -k 8 --validate "$T/te.csv" -o "$M" "$T/tr.csv"
expect_rc 0 "train a model for the tool tests"
BEST_VALID=$(sed -n 's/.*best epoch.*valid_rmse \([0-9.]*\).*/\1/p' "$T/err")

# ---------------------------------------------------------------- usage

for cmd in info export import convert plot; do
    hm "$cmd" --help
    expect_rc 0 "hogmf $cmd --help"
    check "hogmf $cmd --help prints its usage" "$(grep -c "^usage: hogmf $cmd" "$T/out")" -eq 1
    hm "$cmd" --no-such-option
    expect_rc 2 "hogmf $cmd: unknown option"
    expect_err "unknown option '--no-such-option'" "hogmf $cmd: unknown option is named"
done
hm info
expect_rc 2 "info without MODEL"
expect_err "info: expected one MODEL, found 0" "info without MODEL: message"
hm export -o "$T/x" "$M"
expect_rc 2 "export without --libmf or --csv"
expect_err "exactly one of --libmf and --csv" "export: the missing format is named"
hm export --libmf --csv -o "$T/x" "$M"
expect_rc 2 "export --libmf --csv"
expect_err "exactly one of --libmf and --csv" "export --libmf --csv: message"
hm export --libmf "$M"
expect_rc 2 "export without -o"
expect_err "export: -o OUT is required" "export without -o: message"
hm import -o "$T/x" "$T/x.txt"
expect_rc 2 "import without --libmf"
expect_err "import: expected --libmf" "import without --libmf: message"
hm import --libmf --rmin 5 --rmax 1 -o "$T/x" "$T/x.txt"
expect_rc 2 "import --rmin above --rmax"
expect_err "--rmin 5 is above --rmax 1" "import --rmin above --rmax: message"
hm convert "$G" "$T/x"
expect_rc 2 "convert without --to"
expect_err "convert: --to FMT is required" "convert without --to: message"
hm convert --to xml "$G" "$T/x"
expect_rc 2 "convert --to xml"
expect_err "--to: expected .*found 'xml'" "convert --to xml: choices named"
hm plot "$T/x.jsonl"
expect_rc 2 "plot without -o"
expect_err "plot: -o OUT is required" "plot without -o: message"
hm plot -o "$T/x.gif" "$T/x.jsonl"
expect_rc 2 "plot -o with an unknown picture type"
expect_err "-o: expected a file name ending in .png or .svg" "plot -o x.gif: message"
hm plot --size 10x10 -o "$T/x.png" "$T/x.jsonl"
expect_rc 2 "plot --size 10x10"
expect_err "--size: expected WxH .*found '10x10'" "plot --size 10x10: message"

# ---------------------------------------------------------------- info

hm info "$M"
expect_rc 0 "info"
USERS=$(tail -n +2 "$T/tr.csv" | cut -d, -f1 | sort -u | wc -l | tr -d ' ')
ITEMS=$(tail -n +2 "$T/tr.csv" | cut -d, -f2 | sort -u | wc -l | tr -d ' ')
NNZ=$(($(wc -l <"$T/tr.csv") - 1))
check "info: users = distinct users of the training file ($USERS)" \
    "$(awk '$1 == "users" { print $2 }' "$T/out")" = "$USERS"
check "info: items = distinct items of the training file ($ITEMS)" \
    "$(awk '$1 == "items" { print $2 }' "$T/out")" = "$ITEMS"
check "info: training ratings ($NNZ)" "$(awk '$1 == "ratings" { print $2 }' "$T/out")" = "$NNZ"
check "info: factors 8" "$(awk '$1 == "factors" { print $2 }' "$T/out")" = 8
check "info: seed 7" "$(awk '$1 == "seed" { print $2 }' "$T/out")" = 7
check "info: threads 1" "$(awk '$1 == "threads" { print $2 }' "$T/out")" = 1
check "info: at most 6 epochs" "$(grep -c 'of at most 6' "$T/out")" -eq 1
check "info: range 0.5 .. 5" "$(grep -Ec '^range +0\.5 \.\. 5 ' "$T/out")" -eq 1
MEAN=$(tail -n +2 "$T/tr.csv" | awk -F, '{ s += $3 } END { printf "%.4f", s / NR }')
check "info: mean = mean training rating ($MEAN)" \
    "$(awk '$1 == "mean" { printf "%.4f", $2 }' "$T/out")" = "$MEAN"
# The valid_rmse in the header against an independent figure: eval of the model on the
# validation file (train prints 5 decimals, info and eval 6)
VR=$("$HOGMF" eval "$M" "$T/te.csv" | tail -n 1 | sed -n 's/^rmse=\([0-9.]*\) .*/\1/p')
check "info: valid_rmse = eval of the model on the validation file ($VR)" \
    "$(awk -v b="$VR" '$1 == "valid_rmse" { d = $2 - b; print (b != "" && (d < 0 ? -d : d) <= 0.0000011) }' "$T/out")" = 1
check "train's final figure is that RMSE too ($BEST_VALID)" \
    "$(awk -v a="$BEST_VALID" -v b="$VR" 'BEGIN { d = a - b; print (a != "" && (d < 0 ? -d : d) <= 0.0000051) }')" = 1
hm info --json "$M"
expect_rc 0 "info --json"
check "info --json: one object" "$(grep -Ec '^\{"event": "info", .*\}$' "$T/out")" -eq 1
check "info --json: users" "$(grep -c "\"users\": $USERS," "$T/out")" -eq 1
check "info --json: seed" "$(grep -c '"seed": 7,' "$T/out")" -eq 1
check "info --json: not deterministic" "$(grep -c '"deterministic": 0,' "$T/out")" -eq 1
hm train --deterministic --threads 2 --seed 7 -e 2 -k 8 -q -o "$T/md.hogmf" "$T/tr.csv"
expect_rc 0 "train --deterministic"
hm info "$T/md.hogmf"
check "info: the deterministic schedule is shown" \
    "$(grep -Ec '^parallel +schedule deterministic, ' "$T/out")" -eq 1
hm info --json "$T/md.hogmf"
check "info --json: deterministic" "$(grep -c '"deterministic": 1,' "$T/out")" -eq 1
hm info "$T/tr.csv"
expect_rc 2 "info on a ratings file"
expect_err "not a valid hogmf model" "info: a foreign file is named"

# No timestamps in the model: the same run a second later gives the same bytes.
sleep 1
hm train --threads 1 --seed 7 -e 6 -k 8 --validate "$T/te.csv" -q -o "$T/m2.hogmf" "$T/tr.csv"
expect_same "$M" "$T/m2.hogmf" "one thread, one seed, a second apart: identical model files"

# ---------------------------------------------------------------- export --libmf

L=$T/m.libmf
hm export --libmf -o "$L" "$M"
expect_rc 0 "export --libmf"
MAXU=$(tail -n +2 "$T/tr.csv" | cut -d, -f1 | sort -n | tail -n 1)
MAXI=$(tail -n +2 "$T/tr.csv" | cut -d, -f2 | sort -n | tail -n 1)
check "libmf header" "$(head -n 5 "$L" | tr '\n' ' ')" = \
    "f 0 m $((MAXU + 1)) n $((MAXI + 1)) k 11 b $(awk '$1 == "b" { print $2 }' "$L") "
check "libmf: one line per row" "$(wc -l <"$L" | tr -d ' ')" -eq $((5 + MAXU + 1 + MAXI + 1))
check "libmf: T rows = users + items" "$(grep -c '^[pq][0-9]* T ' "$L")" -eq $((USERS + ITEMS))
check "libmf: every row has k = 11 values" \
    "$(awk 'NR > 5 && NF != 13 { bad++ } END { print bad + 0 }' "$L")" -eq 0

# LIBMF's mf_predict, in awk: b when a row is out of range or F, else P'[u] . Q'[i];
# clipped here to the model's range to compare with `hogmf predict`.
cut -d, -f1,2 "$T/te.csv" | tail -n +2 | head -n 400 | tr , ' ' >"$T/pairs.txt"
awk -v lo=0.5 -v hi=5 '
    FNR == NR {
        if ($1 == "b") b = $2
        if ($1 == "k") k = $2
        if ($1 ~ /^[pq][0-9]+$/ && $2 == "T") {
            for (d = 1; d <= k; d++) v[$1, d] = $(d + 2)
            t[$1] = 1
        }
        next
    }
    {
        p = "p" $1; q = "q" $2; z = b
        if ((p in t) && (q in t)) { z = 0; for (d = 1; d <= k; d++) z += v[p, d] * v[q, d] }
        if (z < lo) z = lo
        if (z > hi) z = hi
        printf "%s %s %.6f\n", $1, $2, z
    }' "$L" "$T/pairs.txt" >"$T/libmf.pred"
hm predict "$M" "$T/pairs.txt"
expect_rc 0 "predict the pairs with the hogmf model"
cp "$T/out" "$T/hogmf.pred"
check "LIBMF's rule on the export = hogmf predict (400 pairs, |diff| <= 1e-4)" "$(paste -d' ' \
    "$T/hogmf.pred" "$T/libmf.pred" | awk '{ d = $3 - $6; if (d < 0) d = -d
        if ($1 != $4 || $2 != $5 || d > 1e-4) bad++ } END { print bad + 0 }')" -eq 0
check "the pairs were predicted" "$(wc -l <"$T/libmf.pred" | tr -d ' ')" -eq 400

# ---------------------------------------------------------------- import --libmf

hm import --libmf --rmin 0.5 --rmax 5 -o "$T/back.hogmf" "$L"
expect_rc 0 "import --libmf of the export"
hm predict "$T/back.hogmf" "$T/pairs.txt"
expect_same "$T/hogmf.pred" "$T/out" "export then import: identical predictions"
hm eval "$T/back.hogmf" "$T/te.csv"
tail -n 1 "$T/out" >"$T/eval.back"
hm eval "$M" "$T/te.csv"
tail -n 1 "$T/out" >"$T/eval.orig"
expect_same "$T/eval.orig" "$T/eval.back" "export then import: identical eval"
check "import: info shows the same factors" "$(info_field factors "$T/back.hogmf")" = 8
check "import: info says imported" "$("$HOGMF" info "$T/back.hogmf" | grep -c imported)" -eq 1

# LIBMF's own README example, a plain LIBMF model: p.q, and b for the row without data.
printf 'f 0\nm 3\nn 2\nk 3\nb 0.5\np0 T 1 3 5 \np1 F 0 0 0 \np2 T 2 4 6 \nq0 T -1 -3 -5 \nq1 T -2 -4 -6 \n' \
    >"$T/readme.libmf"
hm import --libmf -o "$T/readme.hogmf" "$T/readme.libmf"
expect_rc 0 "import LIBMF's README model"
printf '0 0\n0 1\n2 1\n1 0\n7 0\n' >"$T/rp.txt"
hm predict "$T/readme.hogmf" "$T/rp.txt"
check "plain LIBMF model: p.q and b" "$(awk '{ printf "%s ", $3 }' "$T/out")" = "-35 -44 -56 0.5 0.5 "
printf 'f 0\nm 1\nn 1\nk 2\nb 0\np0 T 1 x\nq0 T 1 2\n' >"$T/bad.libmf"
hm import --libmf -o "$T/x.hogmf" "$T/bad.libmf"
expect_rc 2 "import of a malformed LIBMF model"
expect_err "bad.libmf:6: expected value 2 of 2 of p0" "import: the bad value is located"
check "import: nothing written on failure" ! -e "$T/x.hogmf"

# ---------------------------------------------------------------- export --csv

hm export --csv -o "$T/f" "$M"
expect_rc 0 "export --csv"
check "csv: users header" "$(head -n 1 "$T/f_users.csv")" = "user,bias,f1,f2,f3,f4,f5,f6,f7,f8"
check "csv: items header" "$(head -n 1 "$T/f_items.csv")" = "item,bias,f1,f2,f3,f4,f5,f6,f7,f8"
check "csv: one row per user" "$(wc -l <"$T/f_users.csv" | tr -d ' ')" -eq $((USERS + 1))
check "csv: one row per item" "$(wc -l <"$T/f_items.csv" | tr -d ' ')" -eq $((ITEMS + 1))
check "csv: global" "$(head -n 1 "$T/f_global.csv")" = "mu,rmin,rmax,k,users,items"
# mu + bias_u + bias_i + f_u . f_i, clipped, from the CSV files alone.
awk -F, '
    FILENAME ~ /_global/ { if (FNR == 2) { mu = $1; lo = $2; hi = $3 }; next }
    FILENAME ~ /_users/ { if (FNR > 1) { ub[$1] = $2; for (d = 3; d <= NF; d++) U[$1, d] = $d }
                          k = NF; next }
    FILENAME ~ /_items/ { if (FNR > 1) { ib[$1] = $2; for (d = 3; d <= NF; d++) I[$1, d] = $d }
                          next }
    {
        split($0, a, " "); u = a[1]; i = a[2]; z = mu
        if (u in ub) z += ub[u]
        if (i in ib) z += ib[i]
        if ((u in ub) && (i in ib)) for (d = 3; d <= k; d++) z += U[u, d] * I[i, d]
        if (z < lo) z = lo
        if (z > hi) z = hi
        printf "%s %s %.6f\n", u, i, z
    }' "$T/f_global.csv" "$T/f_users.csv" "$T/f_items.csv" "$T/pairs.txt" >"$T/csv.pred"
check "CSV factors reproduce hogmf predict (|diff| <= 1e-4)" "$(paste -d' ' "$T/hogmf.pred" \
    "$T/csv.pred" | awk '{ d = $3 - $6; if (d < 0) d = -d
        if ($1 != $4 || $2 != $5 || d > 1e-4) bad++ } END { print bad + 0 }')" -eq 0

# ---------------------------------------------------------------- convert

hm convert --to libmf "$T/tr.csv" "$T/tr.libmf.txt"
expect_rc 0 "convert --to libmf"
check "convert: LIBMF data lines 'user item rating'" \
    "$(grep -Ecv '^[0-9]+ [0-9]+ [0-9.]+$' "$T/tr.libmf.txt")" -eq 0
check "convert: every rating" "$(wc -l <"$T/tr.libmf.txt" | tr -d ' ')" -eq "$NNZ"
tail -n +2 "$T/tr.csv" | cut -d, -f1-3 | tr , ' ' | sort >"$T/a.sorted"
sort "$T/tr.libmf.txt" >"$T/b.sorted"
expect_same "$T/a.sorted" "$T/b.sorted" "convert: same ratings, ids unchanged"
hm train --threads 1 --seed 7 -e 6 -k 8 --validate "$T/te.csv" -q -o "$T/m3.hogmf" \
    "$T/tr.libmf.txt"
expect_same "$M" "$T/m3.hogmf" "training on the LIBMF-format file gives the same model"

# ---------------------------------------------------------------- progress, --quiet, --json

hm train --threads 1 -e 3 --log "$T/log.jsonl" -o "$T/m4.hogmf" "$T/tr.csv"
check "off a terminal: no carriage returns or escapes on stderr" \
    "$(tr -d '\n' <"$T/err" | tr -c '\r\033' '\n' | tr -d '\n' | wc -c | tr -d ' ')" -eq 0
check "off a terminal: no progress bar" "$(grep -c 'ETA' "$T/err")" -eq 0
check "off a terminal: plain epoch lines" "$(grep -Ec '^epoch +[0-9]+ +train_rmse' "$T/err")" -eq 3

hm train --threads 1 -e 3 -q -o "$T/m4.hogmf" "$T/tr.csv"
check "--quiet: nothing on stderr" "$(wc -c <"$T/err" | tr -d ' ')" -eq 0
check "--quiet: nothing on stdout" "$(wc -c <"$T/out" | tr -d ' ')" -eq 0

hm train --threads 1 -e 4 --patience 0 --json --validate "$T/te.csv" -o "$T/m5.hogmf" "$T/tr.csv"
expect_rc 0 "train --json"
cp "$T/out" "$T/events.jsonl"
check "--json: every stdout line is one event object" \
    "$(grep -Ecv '^\{"event": "[a-z_]+", "time": [0-9.]+(, "[a-z_]+": ([0-9.eE+-]+|null|"[^"]*"))*\}$' \
        "$T/events.jsonl")" -eq 0
check "--json: events in order" "$(sed 's/^{"event": "\([a-z_]*\)".*/\1/' "$T/events.jsonl" |
    grep -Ex 'read|train|epoch|done' | tr '\n' ' ')" = "read read train epoch epoch epoch epoch done "
check "--json: epochs 1..4 of 4" "$(grep -c '"event": "epoch", .*"epochs": 4,' "$T/events.jsonl")" -eq 4
check "--json: the done event names the model" \
    "$(grep -c "\"event\": \"done\".*\"model\": \"$T/m5.hogmf\"" "$T/events.jsonl")" -eq 1
check "--json: the read event counts the ratings" \
    "$(grep -c "\"event\": \"read\".*\"ratings\": $NNZ," "$T/events.jsonl")" -eq 1
check "--json: human lines still on stderr" "$(grep -Ec '^epoch +[0-9]+' "$T/err")" -eq 4
printf '1,2,3\n1,x,3\n' >"$T/bad.csv"
hm train --json -o "$T/m6.hogmf" "$T/bad.csv"
expect_rc 2 "train --json on a malformed file"
check "--json: an error event with the message and exit status" \
    "$(grep -Ec '^\{"event": "error", .*"message": ".*bad.csv:2: .*", "exit": 2\}$' "$T/out")" -eq 1

if command -v script >/dev/null 2>&1 && script -qec true /dev/null >/dev/null 2>&1; then
    # On a terminal (a pseudo-terminal from script(1)): the bar with rate and ETA.
    TERM=xterm script -qec "'$HOGMF' train --threads 1 -e 4 --patience 0 -o '$T/m7.hogmf' \
        '$T/tr.csv'" /dev/null >"$T/tty.txt" 2>&1
    check "terminal: a training bar" "$(grep -c 'training \[#' "$T/tty.txt")" -ge 1
    check "terminal: rate and ETA" "$(grep -Ec 'Mupd/s +elapsed [0-9:]+ +ETA [0-9:]+' "$T/tty.txt")" -ge 1
    check "terminal: the bar is redrawn in place (CR, erase line)" \
        "$(grep -c "$(printf '\r\033\\[K')" "$T/tty.txt")" -ge 1
    check "terminal: the epoch lines are still there" \
        "$(grep -Ec 'epoch +4 +train_rmse' "$T/tty.txt")" -eq 1
    # A slow load: standard input arriving in two parts, the second after 0.5 s.
    head -n 8000 "$T/tr.csv" >"$T/part1"
    tail -n +8001 "$T/tr.csv" >"$T/part2"
    TERM=xterm script -qec "{ cat '$T/part1'; sleep 0.5; cat '$T/part2'; } |
        '$HOGMF' train --threads 1 -e 1 -o '$T/m8.hogmf' -" /dev/null >"$T/tty2.txt" 2>&1
    check "terminal: a reading bar with MB/s" \
        "$(grep -Ec 'reading standard input .*MB/s' "$T/tty2.txt")" -ge 1
    TERM=dumb script -qec "'$HOGMF' train --threads 1 -e 3 -o '$T/m9.hogmf' '$T/tr.csv'" \
        /dev/null >"$T/tty3.txt" 2>&1
    check "TERM=dumb: no bar" "$(grep -c 'ETA' "$T/tty3.txt")" -eq 0
    TERM=xterm script -qec "'$HOGMF' train -q --threads 1 -e 3 -o '$T/m9.hogmf' '$T/tr.csv'" \
        /dev/null >"$T/tty4.txt" 2>&1
    check "terminal with --quiet: nothing" "$(wc -c <"$T/tty4.txt" | tr -d ' ')" -eq 0
else
    skip "progress bar on a terminal: script(1) from util-linux is not available"
fi

# ---------------------------------------------------------------- plot

if command -v gnuplot >/dev/null 2>&1; then
    hm plot -o "$T/curve.png" "$T/log.jsonl"
    expect_rc 0 "plot a --log file"
    check "plot: a PNG file" "$(od -An -c -N4 "$T/curve.png" | tr -d ' ')" = '211PNG'
    check "plot: a picture of some size" "$(wc -c <"$T/curve.png" | tr -d ' ')" -gt 5000
    hm plot --title "events" --size 640x400 -o "$T/curve.svg" "$T/events.jsonl" "$T/log.jsonl"
    expect_rc 0 "plot two logs (one of them --json events) as SVG"
    check "plot: an SVG file" "$(grep -c '<svg' "$T/curve.svg")" -ge 1
    check "plot: the best validation epoch is marked" "$(grep -c 'best events.jsonl: epoch' "$T/curve.svg")" -ge 1
    check "plot: no temporary files" "$(find "$T" -name '*.tmp.*' | wc -l | tr -d ' ')" -eq 0
else
    skip "plot: gnuplot is not installed (scripts/install-deps.sh installs gnuplot-nox)"
fi
printf '{"epoch": 1, "train_rmse": 0.9}\n{"epoch": 2, "train_rmse": }\n' >"$T/badlog.jsonl"
hm plot -o "$T/bad.png" "$T/badlog.jsonl"
expect_rc 2 "plot: a malformed log"
expect_err "badlog.jsonl:2: expected a number" "plot: the malformed line is located"
printf '{"event": "read", "time": 0.1}\n' >"$T/noepochs.jsonl"
hm plot -o "$T/bad.png" "$T/noepochs.jsonl"
expect_rc 2 "plot: a log without epochs"
expect_err "noepochs.jsonl: expected at least one epoch line, found none" "plot: no epochs: message"
run env HOGMF_GNUPLOT=/nonexistent/gnuplot "$HOGMF" plot -o "$T/no.png" "$T/log.jsonl"
expect_rc 1 "plot: gnuplot missing"
expect_err "HOGMF_GNUPLOT=/nonexistent/gnuplot is not an executable" "plot: says gnuplot is missing"
run env PATH=/nonexistent "$HOGMF" plot -o "$T/no.png" "$T/log.jsonl"
expect_rc 1 "plot: gnuplot not in PATH"
expect_err "gnuplot not found in PATH" "plot: says where it looked"
check "plot: no picture without gnuplot" ! -e "$T/no.png"

# ---------------------------------------------------------------- train --auto, cv --auto, tune --auto

# A time budget: the search, the line on stdout, and that line reproduces the model.
hm train --auto 2 -t 1 -o "$T/mauto" "$T/tr.csv"
expect_rc 0 "train --auto 2"
check "train --auto: the model is written" -s "$T/mauto"
ALINE=$(cat "$T/out")
check "train --auto: stdout is the train line ($ALINE)" \
    "$(echo "$ALINE" | grep -Ec "^hogmf train -k [0-9]+ -e [0-9]+ --lr [0-9.e-]+ .* -o $T/mauto $T/tr.csv\$")" -eq 1
expect_err "auto: (chose configuration [0-9]+ of [0-9]+: validation RMSE [0-9.]+ at epoch [0-9]+ against [0-9.]+|kept the defaults)" \
    "train --auto: says what it chose against the defaults"
expect_err "auto: rung 1: [0-9]+ configurations" "train --auto: reports the rungs"
set -- $(echo "$ALINE" | sed 's/^hogmf train //; s/ -o .*//')
hm train -q -t 1 "$@" -o "$T/mauto2" "$T/tr.csv"
expect_rc 0 "train --auto: the printed line runs"
expect_same "$T/mauto" "$T/mauto2" "train --auto: the printed line with -t 1 trains the same model"
# The default budget is counted in epochs: the same choice on 1 and 2 threads.
hm train --auto -e 8 -t 1 -o "$T/mauto3" "$T/tr.csv"
expect_rc 0 "train --auto (default budget)"
expect_err "budget 8 runs of the defaults' length, at most 600 s" "train --auto: default budget named"
A1=$(sed 's/ -o .*//' "$T/out")
hm train --auto -e 8 -t 2 -q -o "$T/mauto4" "$T/tr.csv"
check "train --auto: the same choice on 2 threads ($A1)" "$(sed 's/ -o .*//' "$T/out")" = "$A1"
check "train --auto -q: nothing on stderr" ! -s "$T/err"
hm train --auto=1 -t 1 --json -e 8 -o "$T/mauto5" "$T/tr.csv"
expect_rc 0 "train --auto=1 --json"
check "train --auto --json: an auto event with the command" \
    "$(grep -c '^{"event": "auto", .*"command": "hogmf train -k ' "$T/out")" -eq 1
check "train --auto --json: then train and done events" \
    "$(grep -Ec '"event": "(train|done)"' "$T/out")" -eq 2
hm train --auto 1 --resume "$T/x.ckpt" -o "$T/x" "$T/tr.csv"
expect_rc 2 "train --auto with --resume"
hm train --auto 0 -o "$T/x" "$T/tr.csv"
expect_rc 2 "train --auto 0"
hm cv --auto 1 --folds 2 -e 8 -t 2 "$T/tr.csv"
expect_rc 0 "cv --auto"
check "cv --auto: a line per fold says what it chose" \
    "$(grep -Ec '^hogmf: fold [12]: auto: (chose|kept)' "$T/err")" -eq 2
check "cv --auto: the summary line" "$(tail -n 1 "$T/out" | grep -c '^rmse_mean=.* folds=2$')" -eq 1
hm tune --auto --trials 6 -e 8 -t 2 "$T/tr.csv"
expect_rc 0 "tune --auto --trials 6"
check "tune --auto: a line per configuration of rung 1" "$(grep -c '^rung 1  configuration' "$T/err")" -eq 6
check "tune --auto: last line is a train command" \
    "$(tail -n 1 "$T/out" | grep -Ec '^hogmf train -k [0-9]+ -e [0-9]+ .* -o tuned.hogmf ')" -eq 1
hm tune --auto 1 --seconds 3 "$T/tr.csv"
expect_rc 2 "tune --auto with --seconds"

# ---------------------------------------------------------------- the man page

if [ -f "$MAN" ]; then
    # Every command of `hogmf --help` has a section, and every long option of its --help
    # appears in that section (roff writes "-" as "\-"); a section that says it "takes the
    # training options of train" may leave those to train's section.
    "$HOGMF" --help | awk '/^commands:/ { on = 1; next } on && /^$/ { on = 0 }
        on && /^  [a-z]/ { print $1 }' >"$T/commands"
    check "man: commands listed" "$(wc -l <"$T/commands" | tr -d ' ')" -ge 5
    sed 's/\\-/-/g; s/\\f[BIRP]//g' "$MAN" >"$T/man.txt"
    # section NAME: the text of ".SS NAME" up to the next .SS or .SH.
    section() {
        awk -v c="$1" '/^\.S[SH] / { on = ($1 == ".SS" && ($2 == c || $2 == "\"" c "\"")) }
            on' "$T/man.txt"
    }
    section train >"$T/man.train"
    missing=""
    while read -r cmd; do
        if ! grep -Eq "^\.SS \"?$cmd( |\"|$)" "$MAN"; then
            missing="$missing $cmd"
            continue
        fi
        section "$cmd" >"$T/man.sec"
        if tr '\n' ' ' <"$T/man.sec" | grep -q 'training options of *\.BR* *train'; then
            cat "$T/man.train" >>"$T/man.sec"
        fi
        "$HOGMF" "$cmd" --help 2>/dev/null | grep -Eo -- '--[a-z][a-z0-9-]*' | sort -u |
            grep -vx -- --help | while read -r opt; do
                grep -q -- "$opt" "$T/man.sec" || echo "$cmd $opt"
            done >>"$T/man.missing"
    done <"$T/commands"
    check "man: a section for every command (missing:$missing)" -z "$missing"
    if [ -s "$T/man.missing" ]; then
        bad "man: every option of every command is documented" \
            "undocumented: $(tr '\n' ',' <"$T/man.missing")"
    else
        ok
    fi
    for code in 0 1 2 3; do
        check "man: exit status $code" "$(grep -Ec "^\.IP $code\$|^\.B $code\$|^$code " "$MAN")" -ge 1
    done
    if command -v groff >/dev/null 2>&1; then
        groff -man -ww -z "$MAN" >"$T/groff.err" 2>&1
        check "man: groff -man -ww finds nothing to warn about ($(head -c 200 "$T/groff.err"))" \
            "$(wc -c <"$T/groff.err" | tr -d ' ')" -eq 0
    else
        skip "man: groff not installed, page not linted"
    fi
else
    bad "man page" "$MAN not found"
fi

echo "cli_tool_test: $PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
