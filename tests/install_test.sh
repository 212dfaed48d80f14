#!/bin/sh
# install_test.sh - `make install` and `make uninstall` into a staging DESTDIR (the exact
# tree, symlinks, soname, exported symbols, the .pc file, the man page), then an install into
# a PREFIX inside the build folder and examples/quickstart.c compiled against it through
# `pkg-config --cflags --libs hogmf` (shared, and static with --static), run, and checked
# against the installed hogmf command. Nothing outside the build folder is touched.
#
#   MAKE=make BUILD=build VERSION=0.1.0 sh tests/install_test.sh     (`make check-install`)
#
# The last line is "N passed, M failed, S skipped" (a check that cannot run here prints
# "SKIPPED: why"); the exit status is non-zero when M > 0.

set -u

MAKE=${MAKE:-make}
BUILD=${BUILD:-build}
CC=${CC:-cc}
VERSION=${VERSION:?VERSION is required (the Makefile passes it)}
SOMAJOR=${VERSION%%.*}
ROOT=$(pwd)
ABSBUILD=$(cd "$BUILD" && pwd) || exit 2
STAGE=$ABSBUILD/stage
PREFIX=$ABSBUILD/example-prefix
EX=$ABSBUILD/example

PASS=0
FAIL=0
SKIP=0
ok() { PASS=$((PASS + 1)); }
bad() {
    FAIL=$((FAIL + 1))
    echo "FAIL: $1: $2"
}
check() {
    name=$1
    shift
    if [ "$@" ]; then ok; else bad "$name" "expected [ $* ]"; fi
}
# mk ARGS...: the project's make, quiet, output in $EX/make.log.
mk() {
    $MAKE --no-print-directory -C "$ROOT" BUILD="$BUILD" "$@" >"$EX/make.log" 2>&1
}

rm -rf "$STAGE" "$PREFIX" "$EX"
mkdir -p "$EX"

# ---------------------------------------------------------------- DESTDIR staging

if mk install DESTDIR="$STAGE" PREFIX=/usr/local; then ok; else
    bad "make install DESTDIR=... PREFIX=/usr/local" "failed:"
    sed 's/^/    /' "$EX/make.log" | tail -n 20
fi
(cd "$STAGE" && find . \( -type f -o -type l \) | sort) >"$EX/tree"
cat >"$EX/tree.expected" <<EOF
./usr/local/bin/hogmf
./usr/local/include/hogmf.h
./usr/local/lib/libhogmf.a
./usr/local/lib/libhogmf.so
./usr/local/lib/libhogmf.so.$SOMAJOR
./usr/local/lib/libhogmf.so.$VERSION
./usr/local/lib/pkgconfig/hogmf.pc
./usr/local/share/man/man1/hogmf.1
EOF
if cmp -s "$EX/tree" "$EX/tree.expected"; then ok; else
    bad "install tree" "differs from the expected one:"
    diff "$EX/tree.expected" "$EX/tree" | sed 's/^/    /'
fi
L=$STAGE/usr/local/lib
check "libhogmf.so -> libhogmf.so.$SOMAJOR" "$(readlink "$L/libhogmf.so")" = "libhogmf.so.$SOMAJOR"
check "libhogmf.so.$SOMAJOR -> libhogmf.so.$VERSION" "$(readlink "$L/libhogmf.so.$SOMAJOR")" = \
    "libhogmf.so.$VERSION"
check "the binary is executable" -x "$STAGE/usr/local/bin/hogmf"
check "the header is not executable" ! -x "$STAGE/usr/local/include/hogmf.h"
check "the installed header is include/hogmf.h" "$(cmp -s include/hogmf.h \
    "$STAGE/usr/local/include/hogmf.h" && echo same)" = same
check "the installed hogmf runs" "$("$STAGE/usr/local/bin/hogmf" --version)" = "hogmf $VERSION"
if command -v readelf >/dev/null 2>&1; then
    check "soname libhogmf.so.$SOMAJOR" "$(readelf -d "$L/libhogmf.so.$VERSION" |
        sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')" = "libhogmf.so.$SOMAJOR"
else
    SKIP=$((SKIP + 1))
    echo "SKIPPED: readelf not installed, soname not checked"
fi
if command -v nm >/dev/null 2>&1; then
    nm -D --defined-only "$L/libhogmf.so.$VERSION" | awk '$2 ~ /[TDBRW]/ { print $3 }' \
        >"$EX/exports"
    check "the shared library exports hogmf_model_load" "$(grep -cx hogmf_model_load "$EX/exports")" -eq 1
    check "the shared library exports only hogmf_* ($(grep -v '^hogmf_[a-z]' "$EX/exports" |
        head -n 3 | tr '\n' ' '))" "$(grep -cv '^hogmf_[a-z]' "$EX/exports")" -eq 0
fi
PC=$L/pkgconfig/hogmf.pc
check "hogmf.pc: prefix" "$(sed -n 's/^prefix=//p' "$PC")" = /usr/local
check "hogmf.pc: version" "$(sed -n 's/^Version: //p' "$PC")" = "$VERSION"
check "hogmf.pc: no unsubstituted @...@" "$(grep -c '@' "$PC")" -eq 0
if command -v man >/dev/null 2>&1; then
    MANWIDTH=80 man -l "$STAGE/usr/local/share/man/man1/hogmf.1" 2>/dev/null >"$EX/man.txt"
    check "the man page renders" "$(grep -c 'HOGMF(1)' "$EX/man.txt")" -ge 1
fi

if mk uninstall DESTDIR="$STAGE" PREFIX=/usr/local; then ok; else bad "make uninstall" "failed"; fi
check "uninstall removes every file" "$(find "$STAGE" \( -type f -o -type l \) | wc -l | tr -d ' ')" -eq 0

# ---------------------------------------------------------------- PREFIX and the example

if mk install PREFIX="$PREFIX"; then ok; else
    bad "make install PREFIX=$PREFIX" "failed:"
    tail -n 20 "$EX/make.log" | sed 's/^/    /'
fi
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
check "pkg-config finds hogmf $VERSION" "$(pkg-config --modversion hogmf 2>&1)" = "$VERSION"
CFLAGS_PC=$(echo $(pkg-config --cflags hogmf))
LIBS_PC=$(echo $(pkg-config --libs hogmf))
check "pkg-config --cflags points into the prefix" "$CFLAGS_PC" = "-I$PREFIX/include"
echo "install_test: cc $CFLAGS_PC examples/quickstart.c -o quickstart $LIBS_PC"
# shellcheck disable=SC2086 # the flags are word lists
if $CC $CFLAGS_PC examples/quickstart.c -o "$EX/quickstart" $LIBS_PC 2>"$EX/cc.err"; then
    ok
else
    bad "compile examples/quickstart.c with pkg-config" "$(head -n 5 "$EX/cc.err")"
fi
# shellcheck disable=SC2046
if $CC $CFLAGS_PC examples/quickstart.c -o "$EX/quickstart_static" \
    -Wl,-Bstatic -lhogmf -Wl,-Bdynamic $(pkg-config --static --libs hogmf | sed 's/-lhogmf//') \
    2>"$EX/cc_static.err"; then
    ok
else
    bad "link examples/quickstart.c statically with pkg-config --static" \
        "$(head -n 5 "$EX/cc_static.err")"
fi
if command -v ldd >/dev/null 2>&1 && [ -x "$EX/quickstart" ]; then
    check "the example uses the installed shared library" "$(LD_LIBRARY_PATH=$PREFIX/lib ldd \
        "$EX/quickstart" | grep -c "libhogmf.so.$SOMAJOR => $PREFIX/lib/libhogmf.so.$SOMAJOR")" -eq 1
fi

"$PREFIX/bin/hogmf" gen --users 400 --items 300 --ratings 30000 --seed 3 -o "$EX/ratings.csv" \
    2>/dev/null
LD_LIBRARY_PATH=$PREFIX/lib "$EX/quickstart" "$EX/ratings.csv" "$EX/model.hogmf" \
    >"$EX/quickstart.out" 2>&1
rc=$?
echo "install_test: the example's output:"
sed 's/^/    /' "$EX/quickstart.out"
check "the example exits 0" "$rc" -eq 0
check "the example read every rating" "$(grep -c '^read 30000 ratings' "$EX/quickstart.out")" -eq 1
check "the example's loaded model predicts the same" \
    "$(grep -c 'loaded it back: 0 of 3000 predictions differ' "$EX/quickstart.out")" -eq 1
# Its five predictions again, from the saved model through the installed command.
awk '/^ +user +item/ { on = 1; next } on && NF == 4 { print $1, $2, $4 } NF != 4 { on = 0 }' \
    "$EX/quickstart.out" >"$EX/example.pred"
awk '{ print $1, $2 }' "$EX/example.pred" >"$EX/pairs.txt"
"$PREFIX/bin/hogmf" predict "$EX/model.hogmf" "$EX/pairs.txt" 2>/dev/null >"$EX/cli.pred"
check "five predictions printed" "$(wc -l <"$EX/example.pred" | tr -d ' ')" -eq 5
check "the example's predictions = hogmf predict on its saved model" "$(paste -d' ' \
    "$EX/example.pred" "$EX/cli.pred" | awk '{ d = $3 - $6; if (d < 0) d = -d
        if ($1 != $4 || $2 != $5 || d > 1e-4) bad++ } END { print bad + 0 }')" -eq 0
if [ -x "$EX/quickstart_static" ]; then
    "$EX/quickstart_static" "$EX/ratings.csv" "$EX/model2.hogmf" >"$EX/static.out" 2>&1
    check "the statically linked example prints the same" "$(sed 's/model2\.hogmf/model.hogmf/' \
        "$EX/static.out" | cmp -s - "$EX/quickstart.out" && echo same)" = same
    check "and saves the same model" "$(cmp -s "$EX/model.hogmf" "$EX/model2.hogmf" &&
        echo same)" = same
fi

echo "install_test: $PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
