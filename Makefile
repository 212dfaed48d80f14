# hogmf - one non-recursive Makefile. Objects under build/, automatic dependencies.
#   make            library and CLI (build/libhogmf.a, build/hogmf)
#   make test       Check unit tests and CLI tests
#   make bench      benchmarks (bench/run.sh)
#   make demo       generate demo data, train, evaluate
#   V=1             full command lines; OPENMP=0 builds without OpenMP; NATIVE=0 portable code

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
OPENMP  ?= 1
NATIVE  ?= 1

OMP_FLAGS  := $(if $(filter 1,$(OPENMP)),-fopenmp,)
ARCH_FLAGS := $(if $(filter 1,$(NATIVE)),-march=native,)
WARN       := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unknown-pragmas
HWLOC_CFLAGS := $(shell pkg-config --cflags hwloc 2>/dev/null)
HWLOC_LIBS   := $(shell pkg-config --libs hwloc 2>/dev/null || echo -lhwloc)
ALL_CFLAGS := -std=c11 -O3 -g $(ARCH_FLAGS) -ffp-contract=fast $(OMP_FLAGS) $(WARN) \
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
CLI_SRC  := $(wildcard src/cli/*.c)
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

bench: all
	$(Q)sh bench/run.sh

demo: all
	$(Q)sh scripts/demo.sh

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

# ---------------------------------------------------------------- bench programs
# Small C programs under bench/ that link the library (bench/NAME.c -> build/bench_NAME);
# `make bench` builds them before it runs bench/run.sh, which times them and the CLI.
BENCH_SRC := bench/load.c
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench_%)

.PHONY: bench-progs
bench-progs: $(BENCH_BIN)

bench: $(BENCH_BIN)

$(BUILD)/bench_%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS)

-include $(BENCH_BIN:=.d)
