#!/bin/sh
# python_fit.sh - issue 15's targets: `hogmf.MF.fit` on a 10M-rating NumPy set against the
# CLI's `hogmf train` on the same data and options, wall time and peak RSS (/usr/bin/time -v)
# of each whole process, interleaved REPS times; prints each run and the ratios of the
# medians (target: at most 1.1 for both). The NumPy set is the same file's columns as int32,
# int32, float32 .npy files (what a user holding MovieLens-like data in NumPy has); loading
# them is inside the Python process's time and RSS, as reading the text is inside the CLI's.
# Needs the package built (make python) and /usr/bin/time. Data cached in bench/data/.
#   BENCH_RATINGS=10000000 BENCH_EPOCHS=5 BENCH_THREADS=2 BENCH_REPS=3 sh bench/python_fit.sh
set -eu
cd "$(dirname "$0")/.."
BUILDDIR=${BENCH_BUILD:-build}
HOGMF=$BUILDDIR/hogmf
PYTHON=${PYTHON:-/usr/bin/python3}
N=${BENCH_RATINGS:-10000000}
EPOCHS=${BENCH_EPOCHS:-5}
THREADS=${BENCH_THREADS:-2}
REPS=${BENCH_REPS:-3}
DATA=bench/data
SET=$DATA/py_${N}.csv
mkdir -p "$DATA"
[ -f "$SET" ] || "$HOGMF" gen --users 200000 --items 20000 --ratings "$N" --seed 3 -o "$SET"
[ -f "$SET.users.npy" ] || PYTHONPATH=$BUILDDIR/python/lib "$PYTHON" - "$SET" <<'PY'
import sys, numpy as np
path = sys.argv[1]
try:  # pandas reads 10M lines in seconds; genfromtxt takes minutes
    import pandas as pd
    df = pd.read_csv(path, usecols=[0, 1, 2], dtype={0: np.int32, 1: np.int32, 2: np.float32})
    u, i, r = (df.iloc[:, c].to_numpy() for c in range(3))
except ImportError:
    a = np.genfromtxt(path, delimiter=",", skip_header=1, usecols=(0, 1, 2))
    u, i, r = a[:, 0].astype(np.int32), a[:, 1].astype(np.int32), a[:, 2].astype(np.float32)
np.save(path + ".users.npy", u)
np.save(path + ".items.npy", i)
np.save(path + ".ratings.npy", r)
PY
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cat >"$TMP/fit.py" <<PY
import sys, time, numpy as np, hogmf
p = "$SET"
u, i, r = np.load(p + ".users.npy"), np.load(p + ".items.npy"), np.load(p + ".ratings.npy")
t = time.time()
mf = hogmf.MF(epochs=$EPOCHS, threads=$THREADS).fit(u, i, r)
print("fit_seconds %.3f" % (time.time() - t), file=sys.stderr)
mf.save("$TMP/py.bin")
PY
field() { sed -n "s/^[[:space:]]*$1: //p" "$2"; }
secs() { awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }'; }
: >"$TMP/runs"
rep=1
while [ "$rep" -le "$REPS" ]; do
    /usr/bin/time -v "$HOGMF" train -q -e "$EPOCHS" -t "$THREADS" -o "$TMP/cli.bin" "$SET" \
        2>"$TMP/cli.time"
    PYTHONPATH=$BUILDDIR/python/lib /usr/bin/time -v "$PYTHON" "$TMP/fit.py" 2>"$TMP/py.time"
    cw=$(field 'Elapsed (wall clock) time (h:mm:ss or m:ss)' "$TMP/cli.time" | secs)
    pw=$(field 'Elapsed (wall clock) time (h:mm:ss or m:ss)' "$TMP/py.time" | secs)
    cr=$(field 'Maximum resident set size (kbytes)' "$TMP/cli.time")
    pr=$(field 'Maximum resident set size (kbytes)' "$TMP/py.time")
    pf=$(sed -n 's/^fit_seconds //p' "$TMP/py.time")
    # CPU seconds (user + system): on a shared machine they move less than wall time.
    cc=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$TMP/cli.time")
    pc=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$TMP/py.time")
    echo "rep $rep: cli ${cw}s ${cc}s-cpu ${cr}KB  python ${pw}s ${pc}s-cpu ${pr}KB (fit ${pf}s)"
    echo "$cw $pw $cr $pr $cc $pc" >>"$TMP/runs"
    rep=$((rep + 1))
done
med() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
cw=$(awk '{ print $1 }' "$TMP/runs" | med); pw=$(awk '{ print $2 }' "$TMP/runs" | med)
cr=$(awk '{ print $3 }' "$TMP/runs" | med); pr=$(awk '{ print $4 }' "$TMP/runs" | med)
cc=$(awk '{ print $5 }' "$TMP/runs" | med); pc=$(awk '{ print $6 }' "$TMP/runs" | med)
echo "median: cli ${cw}s ${cc}s-cpu ${cr}KB  python ${pw}s ${pc}s-cpu ${pr}KB"
awk -v cw="$cw" -v pw="$pw" -v cr="$cr" -v pr="$pr" -v cc="$cc" -v pc="$pc" \
    'BEGIN { printf "ratio python/cli: wall %.3f  cpu %.3f  peak RSS %.3f\n", pw / cw, pc / cc, pr / cr }'
