#!/bin/sh
# build-libmf.sh - compiles LIBMF's mf-train and mf-predict from ../shared/anchors/libmf into
# build/libmf/ (ignored by git) for the side-by-side accuracy panel (bench/accuracy.py).
# Flags as LIBMF's own Makefile with its AVX line and OpenMP (LIBMF-AVX in REFERENCE.md).
# It never copies LIBMF's source into the repository; when the source is absent it says so
# and exits 0, and the panel then runs hogmf alone.
#
#   sh scripts/build-libmf.sh [LIBMF_SRC [OUT_DIR]]   (defaults: ../shared/anchors/libmf, build/libmf)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=${1:-${LIBMF_SRC:-$ROOT/../shared/anchors/libmf}}
OUT=${2:-${LIBMF_BUILD:-$ROOT/build/libmf}}
CXX=${CXX:-g++}
FLAGS="-O3 -pthread -std=c++0x -march=native -mavx -fopenmp -DUSEAVX -DUSEOMP"

if [ ! -f "$SRC/mf.cpp" ] || [ ! -f "$SRC/mf-train.cpp" ]; then
    echo "build-libmf: SKIPPED: no LIBMF source at $SRC (the panel runs hogmf alone)"
    exit 0
fi
SRC=$(cd "$SRC" && pwd)
if ! command -v "$CXX" >/dev/null 2>&1; then
    echo "build-libmf: $CXX not found; run scripts/install-deps.sh --bench" >&2
    exit 1
fi
mkdir -p "$OUT"
for prog in mf-train mf-predict; do
    # Rebuilt only when a source or the flags changed.
    stamp="$OUT/$prog.flags"
    if [ -x "$OUT/$prog" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$CXX $FLAGS" ] &&
        [ -z "$(find "$SRC/mf.cpp" "$SRC/mf.h" "$SRC/$prog.cpp" -newer "$OUT/$prog")" ]; then
        continue
    fi
    echo "build-libmf: $CXX $FLAGS -o $OUT/$prog $prog.cpp mf.cpp"
    # shellcheck disable=SC2086 # FLAGS is a list of flags
    "$CXX" $FLAGS -o "$OUT/$prog.tmp.$$" "$SRC/$prog.cpp" "$SRC/mf.cpp"
    mv "$OUT/$prog.tmp.$$" "$OUT/$prog"
    echo "$CXX $FLAGS" >"$stamp"
done
echo "build-libmf: $OUT/mf-train and $OUT/mf-predict ready (from $SRC)"
