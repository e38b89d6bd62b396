# mptrace — one Makefile for the whole tree.
#
# Knobs (override on the command line: `make WERROR=1`, `make BUILD=out`):
#   BUILD       output directory                                   (build)
#   CC, CXX     C and C++ compilers; C++ only for the oracle tests  (gcc, g++)
#   OPT         optimisation flags                                 (-O2 -g)
#   WERROR      1 turns every warning into an error (CI sets it)   (0)
#   SANITIZE    1 builds with ASan + UBSan (`make asan` sets it)   (0)
#   CUDA_HOME   CUDA toolkit: NVIDIA's headers are the formats' oracle; nvcc builds GPU code
#   NVCC        the CUDA compiler                                  ($(CUDA_HOME)/bin/nvcc)
#   GPU_ARCHS   SM versions `make gpu` compiles for                (80 90)
#   NO_DEPS     1 skips the check for missing Debian packages      (0)
#
# Targets:
#   all (default)      build libraries, tools, tests and benchmarks into $(BUILD)/
#   demo               the README's first command: the reference trainer under mptrace on simcuda
#   test               build and run every test (the README's test command)
#   asan               the whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   gpu                compile the GPU (CUDA) parts with nvcc, if nvcc is found
#   bench              run the benchmarks; each prints its ratio against a baseline in the same run
#   check-exhaustive   every fp32 bit pattern through every encoder against NVIDIA's (minutes)
#   config             print what was resolved
#   deps               install missing Debian packages (done automatically before a build)
#   format             clang-format every C source in place
#   clean

BUILD     ?= build
OPT       ?= -O2 -g
WERROR    ?= 0
SANITIZE  ?= 0
CUDA_HOME ?= /usr/local/cuda
NVCC      ?= $(CUDA_HOME)/bin/nvcc
GPU_ARCHS ?= 80 90
NO_DEPS   ?= 0
ifeq ($(origin CC),default)
CC := gcc
endif
ifeq ($(origin CXX),default)
CXX := g++
endif

# ---- what the machine has -------------------------------------------------------------------
HAVE_CUDA_HEADERS := $(if $(wildcard $(CUDA_HOME)/include/cuda_fp16.h),1,0)
HAVE_NVCC         := $(if $(wildcard $(NVCC)),1,0)
PKG_CHECK         := $(shell pkg-config --cflags --libs check 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
ifeq ($(WERROR),1)
WARN += -Werror
endif
SAN_FLAGS :=
ifeq ($(SANITIZE),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT := -O1 -g
endif

CPPFLAGS += -I. -D_GNU_SOURCE
CFLAGS   += -std=gnu11 $(OPT) $(WARN) $(SAN_FLAGS) -fPIC -pthread -MMD -MP
CXXFLAGS += -std=gnu++17 $(OPT) -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) $(SAN_FLAGS) -fPIC -MMD -MP
LDFLAGS  += $(SAN_FLAGS) -pthread
LDLIBS   += -lm

DEPS_STAMP := $(BUILD)/.deps-ok
ifeq ($(NO_DEPS),1)
DEPS_STAMP :=
endif

.PHONY: all demo test asan gpu bench check-exhaustive config deps format clean
all:

# ---- core: formats, statistics, trace I/O (used by every part) -----------------------------
CORE_SRC := $(wildcard core/*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
CORE_LIB := $(BUILD)/lib/libmptcore.a

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

# ---- oracle: NVIDIA's host-side conversions, wrapped for C tests ----------------------------
# With the toolkit's headers the wrappers call cuda_fp16.h / cuda_bf16.h / cuda_fp8.h; without
# them a fallback reports "unavailable" and the oracle tests print SKIP.
ifeq ($(HAVE_CUDA_HEADERS),1)
ORACLE_OBJ := $(BUILD)/obj/tests/oracle/nv_oracle.o
$(ORACLE_OBJ): CPPFLAGS += -isystem $(CUDA_HOME)/include
ORACLE_LIBS := -lstdc++
else
ORACLE_OBJ := $(BUILD)/obj/tests/oracle/nv_oracle_missing.o
ORACLE_LIBS :=
endif

# ---- unit tests: one Check runner over every suite in tests/unit/ ---------------------------
# Each tests/unit/*.c that defines `Suite *suite_NAME(void)` is found and registered here.
TEST_SRC := $(wildcard tests/unit/*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(BUILD)/tests/mptrace-tests
SUITES_INC := $(BUILD)/gen/suites.inc

$(SUITES_INC): $(TEST_SRC)
	@mkdir -p $(@D)
	@grep -ho '^Suite \*suite_[A-Za-z0-9_]*(void)' $(TEST_SRC) | \
	  sed 's/^Suite \*suite_\([A-Za-z0-9_]*\)(void)/MPT_SUITE(\1)/' | sort -u > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp
$(BUILD)/obj/tests/unit/main.o: $(SUITES_INC)
$(BUILD)/obj/tests/unit/main.o: CPPFLAGS += -I$(BUILD)/gen

$(TEST_BIN): $(TEST_OBJ) $(ORACLE_OBJ) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(ORACLE_OBJ) $(CORE_LIB) $(PKG_CHECK) $(ORACLE_LIBS) $(LDLIBS)

# ---- tools: exhaustive checks and helpers that are not part of `make test` ------------------
TOOL_SRC := $(wildcard tools/*.c)
TOOL_BIN := $(TOOL_SRC:tools/%.c=$(BUILD)/tools/%)
$(BUILD)/tools/%: $(BUILD)/obj/tools/%.o $(ORACLE_OBJ) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(ORACLE_OBJ) $(CORE_LIB) $(ORACLE_LIBS) $(LDLIBS)

# ---- benchmarks -----------------------------------------------------------------------------
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(CORE_LIB) $(LDLIBS)

# ---- the mptrace command --------------------------------------------------------------------
CLI_SRC := $(wildcard cli/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
CLI_BIN := $(if $(CLI_SRC),$(BUILD)/bin/mptrace)
$(BUILD)/bin/mptrace: $(CLI_OBJ) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(CORE_LIB) $(LDLIBS)

# ---- GPU parts: compiled with nvcc whenever it is found -------------------------------------
GPU_SRC := $(wildcard core/*.cu)
GPU_OBJ := $(GPU_SRC:%.cu=$(BUILD)/gpu/%.o)
NVCC_ARCH := $(foreach a,$(GPU_ARCHS),-gencode arch=compute_$(a),code=sm_$(a))
$(BUILD)/gpu/%.o: %.cu
	@mkdir -p $(@D)
	$(NVCC) -std=c++17 -O2 -I. $(NVCC_ARCH) -Xcompiler -Wall,-Wextra$(if $(filter 1,$(WERROR)),$(comma)-Werror) \
	  -MD -MF $(@:.o=.d) -c $< -o $@
comma := ,

# ---- generic rules --------------------------------------------------------------------------
$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@
$(BUILD)/obj/%.o: %.cpp | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(BUILD)/.deps-ok: scripts/install-deps.sh
	@mkdir -p $(@D)
	@scripts/install-deps.sh
	@touch $@

# pkg-config's answer above was taken before the packages were installed on a fresh machine;
# re-read it when linking if it was empty then.
ifeq ($(PKG_CHECK),)
PKG_CHECK = $(shell pkg-config --cflags --libs check 2>/dev/null)
endif

all: $(CORE_LIB) $(TEST_BIN) $(TOOL_BIN) $(BENCH_BIN) $(CLI_BIN)

test: all
	@echo "== unit tests ($(TEST_BIN))"
	@$(TEST_BIN)

# The demo needs the reference trainer, the interposer and the report (issues 4-6). Until they
# exist it says so and fails rather than pretending.
demo: all
	@echo "make demo: the demo (reference trainer under mptrace on simcuda, then the report) needs" >&2
	@echo "the reference trainer, the interposer and 'mptrace report' (issues 4-6), not built yet." >&2
	@exit 1

asan:
	$(MAKE) BUILD=$(BUILD)/asan SANITIZE=1 test

gpu:
ifeq ($(HAVE_NVCC),1)
	@$(MAKE) --no-print-directory $(GPU_OBJ) && \
	  echo "GPU build: ✓ nvcc compiled $(words $(GPU_OBJ)) unit(s) for sm_$(subst $() ,/sm_,$(GPU_ARCHS))"
else
	@echo "GPU build: ✗ nvcc not found at $(NVCC): GPU parts not compiled (set CUDA_HOME or NVCC)"
endif

bench: all
	@for b in $(BENCH_BIN); do echo "== $$b"; $$b || exit 1; done

check-exhaustive: $(BUILD)/tools/check_formats_exhaustive
	$(BUILD)/tools/check_formats_exhaustive

config:
	@echo "BUILD        $(BUILD)"
	@echo "CC           $(CC) ($(shell $(CC) -dumpfullversion 2>/dev/null || echo missing))"
	@echo "CXX          $(CXX) ($(shell $(CXX) -dumpfullversion 2>/dev/null || echo missing))"
	@echo "CFLAGS       $(CFLAGS)"
	@echo "CUDA_HOME    $(CUDA_HOME)"
	@echo "CUDA headers $(if $(filter 1,$(HAVE_CUDA_HEADERS)),✓ found (format oracle tests run),✗ missing (oracle tests SKIP))"
	@echo "nvcc         $(if $(filter 1,$(HAVE_NVCC)),✓ $(NVCC) (GPU parts compiled by make gpu),✗ not found (GPU parts not compiled))"
	@echo "check        $(or $(PKG_CHECK),✗ missing: make deps)"
	@echo "WERROR       $(WERROR)   SANITIZE $(SANITIZE)"

deps:
	@scripts/install-deps.sh

format:
	clang-format -i $(shell git ls-files '*.c' '*.h' '*.cpp' '*.cu')

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/gpu -name '*.d' 2>/dev/null)
