# hogmf - one non-recursive Makefile. Objects under build/, automatic dependencies.
#   make            library and CLI (build/libhogmf.a, build/hogmf)
#   make test       Check unit tests and CLI tests
#   make mutate     the mutation check: tests/mutants.txt applied to a copy, each must be killed
#   make bench      benchmarks (bench/run.sh)
#   make bench-accuracy  hogmf vs LIBMF accuracy panel (bench/accuracy.py)
#   make demo       generate demo data, train, evaluate
#   V=1             full command lines; OPENMP=0 builds without OpenMP; NATIVE=1 adds -march=native (the SGD kernel picks AVX2/AVX-512 at run time anyway)

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
OPENMP  ?= 1
NATIVE  ?= 0

OMP_FLAGS  := $(if $(filter 1,$(OPENMP)),-fopenmp,)
ARCH_FLAGS := $(if $(filter 1,$(NATIVE)),-march=native,)
WARN       := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unknown-pragmas
HWLOC_CFLAGS := $(shell pkg-config --cflags hwloc 2>/dev/null)
HWLOC_LIBS   := $(shell pkg-config --libs hwloc 2>/dev/null || echo -lhwloc)
ALL_CFLAGS := -std=c11 -O3 -g $(ARCH_FLAGS) -ffp-contract=fast -fno-math-errno $(OMP_FLAGS) $(WARN) \
              -Iinclude -Isrc -D_GNU_SOURCE $(HWLOC_CFLAGS) $(CFLAGS)
ALL_LDFLAGS := $(OMP_FLAGS) $(LDFLAGS)
LIBS       := $(HWLOC_LIBS) -lz -lm
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lpthread -lm)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Every src/*.c is part of the library except the MPI driver (built with MPI=1).
LIB_SRC  := $(filter-out src/mpi_%.c,$(wildcard src/*.c))
CLI_SRC  := $(filter-out src/cli/mpi_%.c,$(wildcard src/cli/*.c))

# MPI=1 adds the MPI mode (src/mpi_*.c, src/cli/mpi_*.c; see README "Distributed training")
# with Open MPI's flags from pkg-config ompi, else from mpicc. The default build needs no MPI.
MPI ?= 0
ifeq ($(MPI),1)
MPI_CFLAGS := $(shell pkg-config --cflags ompi 2>/dev/null || mpicc --showme:compile)
MPI_LIBS   := $(shell pkg-config --libs ompi 2>/dev/null || mpicc --showme:link)
ALL_CFLAGS += -DHOGMF_MPI $(MPI_CFLAGS)
LIBS       += $(MPI_LIBS)
LIB_SRC    += $(wildcard src/mpi_*.c)
CLI_SRC    += $(wildcard src/cli/mpi_*.c)
endif

TEST_SRC := $(wildcard tests/check_*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)

LIB  := $(BUILD)/libhogmf.a
BIN  := $(BUILD)/hogmf
TEST_BIN := $(BUILD)/check_hogmf

.PHONY: all test check-unit check-cli bench demo clean

all: $(LIB) $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LIBS)

$(TEST_BIN): $(TEST_OBJ) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(TEST_OBJ) $(LIB) $(CHECK_LIBS) $(LIBS)

# The unit tests (Check) run first; then the CLI tests drive the built binary.
test: check-unit check-cli

check-unit: $(TEST_BIN)
	$(Q)cd tests && HOGMF_FIXTURES=fixtures ../$(TEST_BIN)

check-cli: $(BIN)
	$(Q)HOGMF=$(BIN) sh tests/cli_test.sh

# The MPI tests run when mpicc and mpirun exist: an MPI=1 build (in $(BUILD)-mpi unless this
# is one) driven by tests/mpi_test.sh under mpirun -np 2 and 3. Otherwise a note says why not.
HAVE_MPI  := $(shell command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1 && echo 1)
MPI_BUILD := $(if $(filter 1,$(MPI)),$(BUILD),$(BUILD)-mpi)
.PHONY: check-mpi
test: check-mpi
check-mpi:
ifeq ($(HAVE_MPI),1)
	$(Q)$(MAKE) --no-print-directory BUILD=$(MPI_BUILD) MPI=1 $(MPI_BUILD)/hogmf
	$(Q)HOGMF=$(MPI_BUILD)/hogmf sh tests/mpi_test.sh
else
	@echo "check-mpi: SKIPPED: mpicc or mpirun not found (scripts/install-deps.sh installs Open MPI)"
endif

bench: all
	$(Q)BENCH_BUILD=$(BUILD) sh bench/run.sh

# The accuracy panel against LIBMF (bench/accuracy.py, bench/README.md); LIBMF is built into
# $(BUILD)/libmf from ../shared/anchors/libmf when that is there. ACCURACY_OPTS passes options,
# e.g. make bench-accuracy ACCURACY_OPTS="--sets ciao,epinions --with-tune 60".
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
.PHONY: bench-accuracy
bench-accuracy: all
	$(Q)sh scripts/build-libmf.sh "" $(BUILD)/libmf || echo "bench-accuracy: LIBMF did not build"
	$(Q)$(PYTHON) bench/accuracy.py --hogmf $(BUILD)/hogmf --libmf-dir $(BUILD)/libmf $(ACCURACY_OPTS)

demo: all
	$(Q)sh scripts/demo.sh

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

# ---------------------------------------------------------------- bench programs
# Small C programs under bench/ that link the library (bench/NAME.c -> build/bench_NAME);
# `make bench` builds them before it runs bench/run.sh, which times them and the CLI.
BENCH_SRC := bench/load.c bench/rss.c bench/naive.c bench/epochs.c
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench_%)

.PHONY: bench-progs bench-epochs
bench-progs: $(BENCH_BIN)

# Issue 14's evaluation and short-epoch ratios (bench/epochs.sh).
bench-epochs: all $(BUILD)/bench_epochs
	$(Q)BENCH_BUILD=$(BUILD) sh bench/epochs.sh

bench: $(BENCH_BIN)

$(BUILD)/bench_%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS)

# The naive yardstick (REFERENCE.md) has its own flags: -O2, no -march, no vectorisation, no
# FMA contraction, and not the user's CFLAGS; only the library it reads ratings with is ours.
NAIVE_CFLAGS := -std=c11 -O2 -g -fno-tree-vectorize -ffp-contract=off $(WARN) -Iinclude \
                -D_GNU_SOURCE
$(BUILD)/bench_naive: bench/naive.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $< (naive flags)")
	$(Q)$(CC) $(NAIVE_CFLAGS) -MMD -MP -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LIBS)

-include $(BENCH_BIN:=.d)

# ---------------------------------------------------------------- shared library, install
# The shared library is built from its own position-independent objects under
# $(BUILD)/pic/ (the static library and the CLI keep their non-PIC code) and exports only the
# public hogmf_* symbols (src/libhogmf.map). Real name libhogmf.so.$(VERSION), soname
# libhogmf.so.$(SOMAJOR), both from include/hogmf.h.
#   make install [PREFIX=/usr/local] [DESTDIR=]   bin, lib (.a, .so), include, pkg-config, man
#   make uninstall (same PREFIX and DESTDIR)       removes exactly those files
VERSION := $(shell sed -n 's/^\#define HOGMF_VERSION_STRING "\(.*\)"$$/\1/p' include/hogmf.h)
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR  ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL ?= install

PIC_OBJ  := $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
SHLIB    := $(BUILD)/libhogmf.so.$(VERSION)
SONAME   := libhogmf.so.$(SOMAJOR)
# What the .pc file's users link besides -lhogmf when they link libhogmf.a (hwloc by its
# flags, not Requires.private: hwloc.pc would pull in -ludev, which Debian has no static
# form of and no libudev-dev by default).
PC_REQUIRES := zlib
PC_PRIVATE  := $(OMP_FLAGS) $(HWLOC_LIBS) -lm $(if $(filter 1,$(MPI)),$(MPI_LIBS),)

.PHONY: shared install uninstall check-install check-tool
shared: $(SHLIB)

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC PIC  $<")
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -fno-semantic-interposition -MMD -MP -c $< -o $@

$(SHLIB): $(PIC_OBJ) src/libhogmf.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared $(ALL_LDFLAGS) -Wl,-soname,$(SONAME) \
	    -Wl,--version-script,src/libhogmf.map -o $@ $(PIC_OBJ) $(LIBS)
	$(Q)ln -sf libhogmf.so.$(VERSION) $(BUILD)/$(SONAME) && \
	    ln -sf $(SONAME) $(BUILD)/libhogmf.so

-include $(PIC_OBJ:.o=.d)

install: all shared
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 755 $(BIN) $(DESTDIR)$(BINDIR)/hogmf
	$(INSTALL) -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libhogmf.a
	$(INSTALL) -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/libhogmf.so.$(VERSION)
	ln -sf libhogmf.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libhogmf.so
	$(INSTALL) -m 644 include/hogmf.h $(DESTDIR)$(INCLUDEDIR)/hogmf.h
	$(INSTALL) -m 644 doc/hogmf.1 $(DESTDIR)$(MANDIR)/man1/hogmf.1
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@REQUIRES@|$(PC_REQUIRES)|g' -e 's|@PRIVATE@|$(PC_PRIVATE)|g' \
	    hogmf.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/hogmf.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/hogmf.pc
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
	    ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/hogmf $(DESTDIR)$(LIBDIR)/libhogmf.a \
	    $(DESTDIR)$(LIBDIR)/libhogmf.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	    $(DESTDIR)$(LIBDIR)/libhogmf.so $(DESTDIR)$(INCLUDEDIR)/hogmf.h \
	    $(DESTDIR)$(PKGCONFIGDIR)/hogmf.pc $(DESTDIR)$(MANDIR)/man1/hogmf.1

# `make test` also installs into $(BUILD)/stage (DESTDIR) and $(BUILD)/example-prefix
# (PREFIX), checks the tree, the soname and the exports, uninstalls, and builds and runs
# examples/quickstart.c against the installed library through pkg-config.
test: check-install check-tool
check-install: all shared
	$(Q)MAKE="$(MAKE)" BUILD="$(BUILD)" CC="$(CC)" VERSION="$(VERSION)" sh tests/install_test.sh

# The CLI tests of the user-facing tools: info, export/import/convert, plot, progress and
# --json, and the man page against every command's --help.
check-tool: $(BIN)
	$(Q)HOGMF=$(BIN) sh tests/cli_tool_test.sh

# ---------------------------------------------------------------- the Python package
# `make test` builds python/ (the extension hogmf._hogmf with the library's sources) into
# $(BUILD)/python/lib and runs its pytest suite against the CLI there, then installs it as
# the README says (a venv, pip install --no-index ./python) and uses it from another folder. Without Debian's
# python3-dev, python3-numpy, python3-setuptools and python3-pytest it prints SKIPPED and why.
PYTHON ?= /usr/bin/python3
PY_LIB := $(CURDIR)/$(BUILD)/python/lib
.PHONY: check-python python
test: check-python

# The extension is built with Python's own compiler settings: not with a sanitizer's CC or
# CFLAGS from `make asan` (an uninstrumented interpreter cannot load an instrumented module).
python:
	$(Q)mkdir -p $(BUILD)/python && cd python && \
	    env -u CC -u CFLAGS -u LDFLAGS -u CPPFLAGS -u LDSHARED $(PYTHON) setup.py -q build \
	    --build-base $(CURDIR)/$(BUILD)/python --build-lib $(PY_LIB) \
	    >$(CURDIR)/$(BUILD)/python/build.log 2>&1 || { cat $(CURDIR)/$(BUILD)/python/build.log; exit 1; }

check-python: $(BIN)
	$(Q)missing=$$($(PYTHON) scripts/python-missing.py 2>/dev/null || echo "$(PYTHON)"); \
	if [ -n "$$missing" ]; then \
	    echo "check-python: SKIPPED: not found: $$missing (scripts/install-deps.sh installs them)"; \
	else \
	    $(MAKE) --no-print-directory python || exit 1; \
	    tmp=$$(mktemp -d) && HOGMF=$(CURDIR)/$(BIN) PYTHONPATH=$(PY_LIB) $(PYTHON) -m pytest \
	        -q -p no:cacheprovider --basetemp "$$tmp/pytest" python/tests; \
	    rc=$$?; rm -rf "$$tmp"; [ $$rc -eq 0 ] || exit $$rc; \
	    PYTHON=$(PYTHON) sh tests/python_install_test.sh; \
	fi

# ---------------------------------------------------------------- batch jobs: robustness
# `make test` also runs tests/batch_test.sh (each bad-input class, gzip, memory limits,
# signals, resume, unwritable checkpoints), tests/kill_test.sh (SIGKILL at 20 random
# moments, then a bit-identical resume) and replays the fuzz corpus tests/fuzz/corpus/TARGET
# through each fuzz target built with the normal compiler (no clang needed).
#   make fuzz [FUZZ_SECONDS=60]  libFuzzer (clang) on each target for a bounded time, in
#                                build-fuzz/; new inputs go to build-fuzz/corpus/TARGET
#   make fuzz-merge              adds those inputs (minimised) to the regression corpus
#   make asan                    the whole test suite with ASan + UBSan (gcc), in build-asan/
#   make tsan                    training and evaluation with TSan (clang, libomp), in
#                                build-tsan/; only the marked Hogwild race is suppressed
FUZZ_TARGETS := ratings model checkpoint
FUZZ_REPLAY  := $(FUZZ_TARGETS:%=$(BUILD)/fuzz_replay_%)

.PHONY: check-batch check-kill check-fuzz-corpus fuzz fuzz-merge asan tsan
test: check-batch check-kill check-fuzz-corpus

check-batch: $(BIN)
	$(Q)HOGMF=$(BIN) sh tests/batch_test.sh

check-kill: $(BIN)
	$(Q)HOGMF=$(BIN) sh tests/kill_test.sh

# Hostile inputs, paths and signals (tests/hostile_test.sh): gnuplot injection, pipes read
# once, outputs that are inputs, SIGTERM while the model is written, outputs checked before
# training, huge or FIFO model files, --max-memory while reading, failed writes to stdout.
.PHONY: check-hostile
test: check-hostile
check-hostile: $(BIN)
	$(Q)HOGMF=$(BIN) sh tests/hostile_test.sh

# The mutation check: each mutant of tests/mutants.txt applied to a copy of the tree (never
# this one), built there, and the tests it names run; fails if any mutant survives or no
# longer applies (tests/mutate.sh).
.PHONY: mutate
mutate:
	$(Q)sh tests/mutate.sh

$(BUILD)/fuzz_replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz_memfile.h \
                        include/hogmf.h $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ tests/fuzz/fuzz_$*.c tests/fuzz/replay.c \
	    $(LIB) $(LIBS)

check-fuzz-corpus: $(FUZZ_REPLAY)
	$(Q)for t in $(FUZZ_TARGETS); do \
	    printf '%s: ' "$$t"; $(BUILD)/fuzz_replay_$$t tests/fuzz/corpus/$$t || exit 1; done

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_FLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=undefined -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
FUZZ_ENV     := ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# The library without OpenMP (the targets run one thread) and the CRC checks (so mutations
# get past them); one binary per target; each run for FUZZ_SECONDS with a 2 GB memory cap.
fuzz:
	$(Q)$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) OPENMP=0 \
	    CFLAGS="$(FUZZ_FLAGS)" $(FUZZ_BUILD)/libhogmf.a
	$(Q)for t in $(FUZZ_TARGETS); do \
	    $(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -Iinclude -D_GNU_SOURCE \
	        -o $(FUZZ_BUILD)/fuzz_$$t tests/fuzz/fuzz_$$t.c $(FUZZ_BUILD)/libhogmf.a $(LIBS) \
	        || exit 1; \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	    $(FUZZ_ENV) $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	        -max_len=65536 -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t- \
	        $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t 2>$(FUZZ_BUILD)/fuzz_$$t.log; \
	    rc=$$?; grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss)' \
	        $(FUZZ_BUILD)/fuzz_$$t.log; \
	    if [ $$rc -ne 0 ]; then tail -n 40 $(FUZZ_BUILD)/fuzz_$$t.log; exit $$rc; fi; \
	done

fuzz-merge:
	$(Q)for t in $(FUZZ_TARGETS); do \
	    $(FUZZ_ENV) $(FUZZ_BUILD)/fuzz_$$t -merge=1 tests/fuzz/corpus/$$t \
	        $(FUZZ_BUILD)/corpus/$$t 2>/dev/null || exit 1; done

# ASan + UBSan: every test script and the unit tests against an instrumented build. Reports
# go to build-asan/san/ (so an error in a process whose exit status a test ignores is still
# seen); any report fails the target. The sanitizer flags go into CC, so that every compile
# and link (the install test's example programs too) has them. The MPI tests run last with
# leak detection off: Open MPI keeps what MPI_Init allocates in plugins it unloads before
# exit, which LeakSanitizer can neither attribute nor suppress; memory errors still count.
ASAN_BUILD := build-asan
ASAN_CC    := $(CC) -fsanitize=address,undefined -fno-sanitize-recover=undefined
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer
ASAN_MAKE  := UBSAN_OPTIONS=log_path=$(CURDIR)/$(ASAN_BUILD)/san/ubsan:print_stacktrace=1 \
              HOGMF_SANITIZER=asan $(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) \
              CC="$(ASAN_CC)" CFLAGS="$(ASAN_FLAGS)"
asan:
	$(Q)rm -rf $(ASAN_BUILD)/san && mkdir -p $(ASAN_BUILD)/san
	$(Q)ASAN_OPTIONS=log_path=$(CURDIR)/$(ASAN_BUILD)/san/asan:detect_leaks=1 \
	    $(ASAN_MAKE) HAVE_MPI=0 test
	$(Q)ASAN_OPTIONS=log_path=$(CURDIR)/$(ASAN_BUILD)/san/asan:detect_leaks=0 \
	    $(ASAN_MAKE) check-mpi
	$(Q)if [ -n "$$(ls $(ASAN_BUILD)/san)" ]; then \
	    head -n 40 $(ASAN_BUILD)/san/*; echo "asan: sanitizer reports above"; exit 1; fi
	@echo "asan: no sanitizer reports"

# TSan with clang and LLVM's libomp (its Archer tool tells TSan about OpenMP's barriers and
# tasks). tests/tsan.supp suppresses the one race that is by design, in hogmf__sgd_update.
TSAN_BUILD := build-tsan
TSAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
ARCHER     := $(firstword $(wildcard /usr/lib/llvm-*/lib/libarcher.so))
tsan:
	$(Q)$(MAKE) --no-print-directory BUILD=$(TSAN_BUILD) CC=clang CFLAGS="$(TSAN_FLAGS)" \
	    LDFLAGS="-fsanitize=thread" $(TSAN_BUILD)/hogmf
	$(Q)rm -rf $(TSAN_BUILD)/san && mkdir -p $(TSAN_BUILD)/san
	$(Q)OMP_TOOL_LIBRARIES=$(ARCHER) HOGMF=$(TSAN_BUILD)/hogmf \
	    TSAN_LOG=$(CURDIR)/$(TSAN_BUILD)/san sh tests/tsan_test.sh
	$(Q)if [ -n "$$(ls $(TSAN_BUILD)/san)" ]; then \
	    head -n 60 $(TSAN_BUILD)/san/*; echo "tsan: data races reported above"; exit 1; fi
	@echo "tsan: no data race outside the marked Hogwild update"
