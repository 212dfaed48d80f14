"""Prints what `make check-python` needs and this Python lacks (Debian package names), or
nothing; the Makefile skips the Python tests, saying why, when something is printed."""
import importlib.util
import os
import sysconfig

missing = []
if not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")):
    missing.append("python3-dev (Python.h)")
for module, package in (("numpy", "python3-numpy"), ("setuptools", "python3-setuptools"),
                        ("pytest", "python3-pytest")):
    if importlib.util.find_spec(module) is None:
        missing.append(package)
print(" ".join(missing))
