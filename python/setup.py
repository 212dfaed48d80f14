"""Builds the hogmf Python package: the C extension hogmf._hogmf compiled together with the
library's sources (../src, ../include of this repository), with the Makefile's flags, so the
same options give the same model bit for bit as the CLI. Offline: no build requirement beyond
Debian's python3-dev, python3-numpy and python3-setuptools (no pyproject.toml, so pip does not
set up an isolated build environment, which would need a package index).

    /usr/bin/python3 -m venv --system-site-packages ~/.venvs/hogmf
    ~/.venvs/hogmf/bin/pip install ./python
"""
import glob
import os
import re
import subprocess

import numpy
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def version():
    with open(os.path.join(ROOT, "include", "hogmf.h")) as f:
        return re.search(r'#define HOGMF_VERSION_STRING "([^"]+)"', f.read()).group(1)


def pkg_config(flag, name, fallback):
    try:
        out = subprocess.run(["pkg-config", flag, name], check=True, capture_output=True,
                             text=True).stdout.split()
        return out
    except (OSError, subprocess.CalledProcessError):
        return fallback


# The library is every src/*.c but the MPI driver (as the Makefile's LIB_SRC).
lib_src = sorted(s for s in glob.glob(os.path.join(ROOT, "src", "*.c"))
                 if not os.path.basename(s).startswith("mpi_"))
hwloc_cflags = pkg_config("--cflags", "hwloc", [])
hwloc_libs = pkg_config("--libs", "hwloc", ["-lhwloc"])

ext = Extension(
    "hogmf._hogmf",
    sources=[os.path.join(HERE, "src", "_hogmf.c")] + lib_src,
    include_dirs=[os.path.join(ROOT, "include"), os.path.join(ROOT, "src"),
                  numpy.get_include()],
    define_macros=[("_GNU_SOURCE", None)],
    # The Makefile's ALL_CFLAGS (minus its warnings): the trainer's floating point must match
    # the CLI's for bit-identical models.
    # Hidden visibility and no interposition: calls inside the library stay direct, as in the
    # CLI's static link (only PyInit__hogmf is exported).
    extra_compile_args=["-std=c11", "-O3", "-ffp-contract=fast", "-fno-math-errno", "-fopenmp",
                        "-fvisibility=hidden", "-fno-semantic-interposition",
                        "-Wno-unknown-pragmas", "-Wno-missing-field-initializers"]
    + hwloc_cflags,
    extra_link_args=["-fopenmp"] + hwloc_libs + ["-lz", "-lm"],
)

setup(
    name="hogmf",
    version=version(),
    description="Biased matrix factorization with Hogwild SGD (the hogmf C library)",
    packages=["hogmf"],
    package_dir={"hogmf": os.path.join("hogmf")},
    ext_modules=[ext],
    install_requires=["numpy"],
    python_requires=">=3.9",
)
