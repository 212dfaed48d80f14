#!/bin/sh
# python_install_test.sh - the README's set-up of the Python package, as a new user runs it:
# a virtual environment that sees Debian's NumPy, `pip install --no-index ./python` (no
# package index: what works offline), then, from another folder, import, train, save, load
# and predict in that environment. Run by `make check-python` from the repository root.
set -eu
PYTHON=${PYTHON:-/usr/bin/python3}
T=$(mktemp -d "${TMPDIR:-/tmp}/hogmf-pyinst.XXXXXX")
trap 'rm -rf "$T"' EXIT
if ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
    echo "python_install_test: SKIPPED: $PYTHON has no venv/ensurepip (python3-venv)"
    exit 0
fi
"$PYTHON" -m venv --system-site-packages "$T/venv"
if ! "$T/venv/bin/pip" install --no-index ./python >"$T/pip.log" 2>&1; then
    cat "$T/pip.log"
    echo "python_install_test: 0 passed, 1 failed"
    exit 1
fi
cd "$T"
"$T/venv/bin/python" - <<'PY'
import numpy as np, hogmf
assert hogmf.__file__.startswith(__import__("sys").prefix), hogmf.__file__
u = np.arange(200) % 20
i = (np.arange(200) * 7) % 13
r = (1 + (u + i) % 5).astype(np.float32)
mf = hogmf.MF(k=3, epochs=5, threads=1).fit(u, i, r)
mf.save("m.bin")
back = hogmf.load("m.bin")
assert np.array_equal(back.predict(u, i), mf.predict(u, i))
PY
echo "python_install_test: 1 passed, 0 failed"
