#!/bin/sh
# plot-convergence.sh - turns `hogmf train --log` JSON lines into a PNG of the training and
# validation RMSE, per epoch (left) and per second of SGD (right, the epochs' epoch_seconds
# added up, so reading and evaluation are not counted), with gnuplot. Several logs (say
# two learning-rate schedules) go into the same panels, one colour per log.
#
#   sh scripts/plot-convergence.sh -o curve.png LOG.jsonl [LOG2.jsonl ...]
#   GNUPLOT=gnuplot  (the program to run)   SIZE=1200,450  (pixels)
#
# Exit status 0 with the PNG written; 2 for bad usage or a malformed log (named with its
# line); 1 when gnuplot is missing or fails. It reads only the keys it needs and does not
# check the rest of each line (hogmf train writes them).
set -u

usage() {
    echo "usage: sh scripts/plot-convergence.sh -o OUT.png LOG.jsonl [LOG.jsonl ...]" >&2
    exit 2
}
OUT=
while [ $# -gt 0 ]; do
    case $1 in
    -o) [ $# -ge 2 ] || usage; OUT=$2; shift 2 ;;
    -h | --help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "plot-convergence: unknown option '$1'" >&2; usage ;;
    *) break ;;
    esac
done
[ -n "$OUT" ] && [ $# -ge 1 ] || usage
GNUPLOT=${GNUPLOT:-gnuplot}
if ! command -v "$GNUPLOT" >/dev/null 2>&1; then
    echo "plot-convergence: $GNUPLOT not found (apt-get install gnuplot-nox)" >&2
    exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/hogmf-plot.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

# One data file per log: epoch, seconds so far, train RMSE, valid RMSE ("NaN" when null).
n=0
for log in "$@"; do
    n=$((n + 1))
    if [ ! -r "$log" ]; then
        echo "plot-convergence: $log: cannot read" >&2
        exit 2
    fi
    awk -v name="$log" '
        function num(key,    s) {
            s = $0
            if (!sub(".*\"" key "\": *", "", s)) return "missing"
            sub(/[,}].*/, "", s)
            if (s == "null") return "NaN"
            if (s !~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/) return "bad"
            return s
        }
        /^[ \t\r]*$/ { next }
        {
            e = num("epoch"); tr = num("train_rmse"); va = num("valid_rmse")
            sec = num("epoch_seconds")
            if (e == "missing" || tr == "missing" || va == "missing" || sec == "missing" ||
                e == "bad" || tr == "bad" || va == "bad" || sec == "bad") {
                printf "plot-convergence: %s:%d: expected a hogmf train --log line " \
                    "(epoch, train_rmse, valid_rmse, epoch_seconds)\n", name, NR > "/dev/stderr"
                failed = 1
                exit 2
            }
            t += sec
            printf "%s %.6f %s %s\n", e, t, tr, va
            rows++
        }
        END { if (!failed && !rows) { printf "plot-convergence: %s: no epochs\n", name > "/dev/stderr"; exit 2 } }
    ' "$log" >"$T/$n.dat" || exit 2
done

# The gnuplot script: two panels, train dashed and validation solid in the log's colour.
# Nothing given by the user is code to gnuplot: the picture goes to gnuplot's standard
# output (OUT is never named in the script), and in the quoted titles a control character
# (a newline would end the command) becomes '?' and ' is doubled.
quote() { printf %s "$1" | tr '\000-\037\177' '?' | sed "s/'/''/g"; }
case ${SIZE:-} in *[!0-9,]*) echo "plot-convergence: SIZE: expected W,H, found '$SIZE'" >&2; exit 2 ;; esac
{
    echo "set terminal pngcairo size ${SIZE:-1200,450} font 'sans,10'"
    echo "set multiplot layout 1,2"
    echo "set grid; set key top right; set ylabel 'RMSE'"
    for panel in epoch second; do
        if [ "$panel" = epoch ]; then
            echo "set xlabel 'epoch'; set title 'RMSE per epoch'"; col=1
        else
            echo "set xlabel 'seconds of SGD'; set title 'RMSE per second'"; col=2
        fi
        printf "plot "
        i=0
        for log in "$@"; do
            i=$((i + 1))
            name=$(quote "$(basename "$log")")
            [ $i -gt 1 ] && printf ", "
            printf "'%s/%d.dat' using %d:3 with lines dt 2 lc %d title '%s train', " \
                "$(quote "$T")" "$i" "$col" "$i" "$name"
            printf "'' using %d:4 with linespoints pt 7 ps 0.4 lc %d title '%s valid'" \
                "$col" "$i" "$name"
        done
        echo
    done
    echo "unset multiplot"
} >"$T/plot.gp"
if ! "$GNUPLOT" "$T/plot.gp" >"$T/out.png" 2>"$T/gnuplot.err"; then
    echo "plot-convergence: gnuplot failed:" >&2
    cat "$T/gnuplot.err" >&2
    exit 1
fi
if [ ! -s "$T/out.png" ] || ! cp "$T/out.png" "$OUT.tmp.$$" || ! mv -f "$OUT.tmp.$$" "$OUT"; then
    rm -f "$OUT.tmp.$$"
    echo "plot-convergence: $OUT: cannot write the picture" >&2
    exit 1
fi
echo "plot-convergence: wrote $OUT" >&2
