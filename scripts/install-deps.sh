#!/bin/sh
# install-deps.sh - installs the Debian 12 packages hogmf needs to build and test (compiler,
# make, pkg-config, Check, zlib, hwloc, gnuplot, Open MPI for `make MPI=1` and its tests, and
# for the Python package in python/: python3-dev, NumPy, setuptools, pip, venv, pytest and
# pandas), and only those that are missing.
# It does nothing on a machine that already has them; it knows only apt-based systems.
set -eu

PACKAGES="gcc libc6-dev make pkg-config check libsubunit-dev zlib1g-dev libhwloc-dev gnuplot-nox groff-base libopenmpi-dev openmpi-bin"
PACKAGES="$PACKAGES python3-dev python3-numpy python3-setuptools python3-pip python3-venv python3-wheel python3-pytest python3-pandas"
# --sanitizers adds what `make tsan` and `make fuzz` need: clang, LLVM's OpenMP runtime (with
# the Archer tool for TSan) and compiler-rt (libFuzzer). `make asan` needs only gcc.
# --bench adds what `make bench-accuracy` needs besides: g++ (LIBMF, built from
# ../shared/anchors/libmf) and python3 (bench/accuracy.py).
for opt in "$@"; do
    case $opt in
    --sanitizers) PACKAGES="$PACKAGES clang libomp-dev libclang-rt-14-dev" ;;
    --bench) PACKAGES="$PACKAGES g++ python3" ;;
    *)
        echo "install-deps: unknown option '$opt' (expected --sanitizers or --bench)" >&2
        exit 2
        ;;
    esac
done

missing=""
for p in $PACKAGES; do
    if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed$'; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all present: $PACKAGES"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: apt-get not found; install by hand:$missing" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install-deps: not root and sudo not found; as root run: apt-get install$missing" >&2
    exit 1
fi

echo "install-deps: installing$missing"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
# shellcheck disable=SC2086 # $missing is a list of package names
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
