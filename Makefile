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
#   HAVE_CUPTI_HEADERS  0 builds libmptrace.so without CUPTI capture  (1 when the toolkit has cupti.h)
#   PREFIX, DESTDIR  where `make install` puts things             (/usr/local, empty)
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
#   install            mptrace, libmptrace.so and simcuda under $(DESTDIR)$(PREFIX)
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
	@rm -f $@
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
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(ORACLE_OBJ) $(FRONT_LIBS) $(CORE_LIB) $(PKG_CHECK) $(ORACLE_LIBS) $(LDLIBS)

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

# ---- analyzer and TUI: libraries the mptrace command and the tests link --------------------
ANALYZER_SRC := $(wildcard analyzer/*.c)
ANALYZER_LIB := $(if $(ANALYZER_SRC),$(BUILD)/lib/libmptanalyzer.a)
$(BUILD)/lib/libmptanalyzer.a: $(ANALYZER_SRC:%.c=$(BUILD)/obj/%.o)
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^
TUI_SRC := $(wildcard tui/*.c)
TUI_LIB := $(if $(TUI_SRC),$(BUILD)/lib/libmpttui.a)
$(BUILD)/lib/libmpttui.a: $(TUI_SRC:%.c=$(BUILD)/obj/%.o)
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^
# Front-end libraries in link order (a library before those it uses), and what they need.
FRONT_LIBS  := $(TUI_LIB) $(ANALYZER_LIB)
FRONT_LDLIBS = $(if $(TUI_LIB),$(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw -ltinfo)) \
               $(if $(ANALYZER_LIB),$(shell pkg-config --libs sqlite3 2>/dev/null || echo -lsqlite3))
$(TEST_BIN): $(FRONT_LIBS)
$(TEST_BIN): LDLIBS := $(FRONT_LDLIBS) $(LDLIBS)
# bench_tui times the TUI on a synthetic run: it links the front-end libraries and the fixture
# that writes the run (tests/unit/test_tui_synth.c), which the generic bench rule does not.
$(BUILD)/bench/bench_tui: $(BUILD)/obj/bench/bench_tui.o $(BUILD)/obj/tests/unit/test_tui_synth.o \
                          $(FRONT_LIBS) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(FRONT_LIBS) $(CORE_LIB) $(FRONT_LDLIBS) $(LDLIBS)

# ---- the mptrace command --------------------------------------------------------------------
# cli/main.c dispatches to `int mpt_cmd_NAME(int argc, char **argv)`, one per cli/cmd_NAME.c;
# the list is generated from those files, like the test suites.
CLI_SRC := $(wildcard cli/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
CLI_BIN := $(if $(CLI_SRC),$(BUILD)/bin/mptrace)
COMMANDS_INC := $(BUILD)/gen/commands.inc
$(COMMANDS_INC): $(wildcard cli/cmd_*.c)
	@mkdir -p $(@D)
	@ls cli/cmd_*.c 2>/dev/null | sed 's|cli/cmd_\(.*\)\.c|MPT_COMMAND(\1)|' | sort -u > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp
$(BUILD)/obj/cli/main.o: $(COMMANDS_INC)
$(BUILD)/obj/cli/main.o: CPPFLAGS += -I$(BUILD)/gen
$(BUILD)/bin/mptrace: $(CLI_OBJ) $(FRONT_LIBS) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(FRONT_LIBS) $(CORE_LIB) $(FRONT_LDLIBS) $(LDLIBS)

# ---- GPU parts: compiled with nvcc whenever it is found -------------------------------------
GPU_SRC := $(wildcard core/*.cu)
GPU_OBJ := $(GPU_SRC:%.cu=$(BUILD)/gpu/%.o)
NVCC_ARCH := $(foreach a,$(GPU_ARCHS),-gencode arch=compute_$(a),code=sm_$(a))
$(BUILD)/gpu/%.o: %.cu
	@mkdir -p $(@D)
	$(NVCC) -std=c++17 -O2 -I. $(NVCC_ARCH) -Xcompiler -Wall,-Wextra$(if $(filter 1,$(WERROR)),$(comma)-Werror) \
	  -MD -MF $(@:.o=.d) -c $< -o $@
comma := ,

# ---- simcuda ----
# sim/: CPU stand-ins for CUDA 13's libcudart, libcublas and libcublasLt, same sonames, symbols
# and symbol versions (docs/simcuda.md). Built against NVIDIA's headers (exact prototypes and
# struct layouts), so only when they are found. Each .so links its objects with libmptcore.a
# and exports only the CUDA API (sim/lib*.map). tests/programs/*.c are linked the normal way
# against the CUDA libraries (the real ones when present, else these) and run on the stand-ins
# by the sim suites; tests/programs/*.cu are built by nvcc when it is found.
ifeq ($(HAVE_CUDA_HEADERS),1)
SIM_DIR         := $(BUILD)/sim
SIM_CUDA_LIBDIR := $(if $(wildcard $(CUDA_HOME)/lib64/libcublasLt.so),$(CUDA_HOME)/lib64,$(SIM_DIR))
OPENBLAS_CFLAGS  = $(shell pkg-config --cflags openblas 2>/dev/null)
OPENBLAS_LIBS    = $(or $(shell pkg-config --libs openblas 2>/dev/null),-lopenblas)
SIM_COMMON      := sim/sim_notice.c sim/sim_grid.c
SIM_CUDART_SRC  := $(wildcard sim/cudart_*.c) $(SIM_COMMON)
SIM_CUBLAS_SRC  := $(wildcard sim/cublas_*.c) sim/gemm_kernel.c $(SIM_COMMON)
SIM_LT_SRC      := $(wildcard sim/cublaslt_*.c) sim/cublas_types.c sim/gemm_kernel.c $(SIM_COMMON)
SIM_LIBS        := $(SIM_DIR)/libcudart.so.13 $(SIM_DIR)/libcublas.so.13 $(SIM_DIR)/libcublasLt.so.13
SIM_LINKS       := $(SIM_LIBS:.so.13=.so)
SIM_PROG_SRC    := $(wildcard tests/programs/*.c)
SIM_PROGS       := $(SIM_PROG_SRC:tests/programs/%.c=$(BUILD)/tests/programs/%)
SIM_NVCC_PROGS  := $(if $(and $(filter 1,$(HAVE_NVCC)),$(filter 0,$(SANITIZE))),$(patsubst tests/programs/%.cu,$(BUILD)/tests/programs/%,$(wildcard tests/programs/*.cu)))
SIM_CUDA_FLAGS  := -isystem $(CUDA_HOME)/include

$(BUILD)/obj/sim/%.o: CPPFLAGS += $(SIM_CUDA_FLAGS) $(OPENBLAS_CFLAGS)
# Static TLS (~200 bytes in all): the stand-ins are normally loaded at start-up, and a dlopen'ed
# copy with dynamic TLS crashed LeakSanitizer's exit-time scan in the sim suites (make asan).
$(BUILD)/obj/sim/%.o: CFLAGS += -ftls-model=initial-exec
$(BUILD)/obj/tests/unit/test_sim_%.o: CPPFLAGS += $(SIM_CUDA_FLAGS) -DMPT_CUDA_LIBDIR='"$(CUDA_HOME)/lib64"'
$(BUILD)/obj/tests/programs/%.o: CPPFLAGS += $(SIM_CUDA_FLAGS)
$(BUILD)/obj/bench/bench_sim_%.o: CPPFLAGS += $(SIM_CUDA_FLAGS) $(OPENBLAS_CFLAGS)
$(BUILD)/bench/bench_sim_gemm: LDLIBS += $(OPENBLAS_LIBS)
$(BUILD)/bench/bench_sim_gemm: | $(SIM_LIBS)

SIM_SO_LINK = $(CC) $(LDFLAGS) -shared -Wl,-soname,$(@F) -Wl,--version-script=$(filter %.map,$^) \
              -Wl,--no-undefined -o $@ $(filter %.o,$^) $(CORE_LIB)
$(SIM_DIR)/libcudart.so.13: $(SIM_CUDART_SRC:%.c=$(BUILD)/obj/%.o) $(CORE_LIB) sim/libcudart.map
	@mkdir -p $(@D)
	$(SIM_SO_LINK) -lm
$(SIM_DIR)/libcublas.so.13: $(SIM_CUBLAS_SRC:%.c=$(BUILD)/obj/%.o) $(CORE_LIB) sim/libcublas.map
	@mkdir -p $(@D)
	$(SIM_SO_LINK) $(OPENBLAS_LIBS) -lm
$(SIM_DIR)/libcublasLt.so.13: $(SIM_LT_SRC:%.c=$(BUILD)/obj/%.o) $(CORE_LIB) sim/libcublasLt.map
	@mkdir -p $(@D)
	$(SIM_SO_LINK) $(OPENBLAS_LIBS) -lm
$(SIM_DIR)/%.so: $(SIM_DIR)/%.so.13
	ln -sf $(<F) $@
# libcuda.so.1: only the driver calls libmptrace.so's GPU statistics path makes (docs/simcuda.md),
# so that path runs on the CPU; unversioned exports, as NVIDIA's.
SIM_DRIVER := $(SIM_DIR)/libcuda.so.1
$(SIM_DRIVER): $(BUILD)/obj/sim/cuda_driver.o $(BUILD)/obj/sim/sim_grid.o sim/libcuda.map
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,$(@F) -Wl,--version-script=sim/libcuda.map \
	  -Wl,--no-undefined -o $@ $(filter %.o,$^)

# Test programs: real headers, the CUDA libraries' link-time names, no rpath: they run on
# whatever LD_LIBRARY_PATH points at (the sim suites point it at $(SIM_DIR)).
$(BUILD)/tests/programs/%: $(BUILD)/obj/tests/programs/%.o | $(SIM_LINKS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -L$(SIM_CUDA_LIBDIR) -lcublasLt -lcublas -lcudart -lm
$(BUILD)/tests/programs/%: tests/programs/%.cu
	@mkdir -p $(@D)
	$(NVCC) -std=c++17 -O1 -arch=sm_90 -cudart shared $(SIM_CUDA_FLAGS) $< -o $@

.SECONDARY: $(SIM_PROG_SRC:%.c=$(BUILD)/obj/%.o)
$(TEST_BIN): | $(SIM_LIBS) $(SIM_DRIVER) $(SIM_PROGS) $(SIM_NVCC_PROGS)
all: $(SIM_LIBS) $(SIM_DRIVER) $(SIM_LINKS) $(SIM_PROGS) $(SIM_NVCC_PROGS)
endif
# ---- end simcuda ----

# ---- reference trainer ----
# reference-trainer/: the GPT that fails on demand (docs/reference-trainer.md). Its host-only
# parts (options, data, layout, the double-precision reference, optimizer scalars, log) form
# libmpttrain.a, which the unit-test runner links; the device parts (cuBLAS calls, kernels,
# NVTX) link only into build/bin/mpt-train, which the trainer suites run as a program.
# mpt-train is the CPU build: its one-source kernels (kernels.cu, compiled as C) run on simcuda,
# found through RUNPATH $ORIGIN/../sim (LD_LIBRARY_PATH still wins). `make gpu` builds the same
# program with nvcc-compiled kernels for GPU_ARCHS as $(BUILD)/gpu/bin/mpt-train.
TRAIN_DEV_SRC := reference-trainer/main.c reference-trainer/train.c reference-trainer/scope.c \
                 $(wildcard reference-trainer/gpt*.c) $(wildcard reference-trainer/selfcheck*.c)
TRAIN_SRC     := $(filter-out $(TRAIN_DEV_SRC),$(wildcard reference-trainer/*.c))
TRAIN_OBJ     := $(TRAIN_SRC:%.c=$(BUILD)/obj/%.o)
TRAIN_LIB     := $(BUILD)/lib/libmpttrain.a

$(TRAIN_LIB): $(TRAIN_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(TEST_BIN) $(BUILD)/bench/bench_trainer: $(TRAIN_LIB)
$(TEST_BIN) $(BUILD)/bench/bench_trainer: LDLIBS += $(TRAIN_LIB) $(CORE_LIB) -lm
all: $(TRAIN_LIB)

ifeq ($(HAVE_CUDA_HEADERS),1)
TRAIN_BIN        := $(BUILD)/bin/mpt-train
TRAIN_DEV_OBJ    := $(TRAIN_DEV_SRC:%.c=$(BUILD)/obj/%.o)
TRAIN_KERNEL_OBJ := $(BUILD)/obj/reference-trainer/kernels.o
TRAIN_CUDA_LIBS  := -lcublasLt -lcublas -lcudart -lm
$(TRAIN_DEV_OBJ) $(TRAIN_KERNEL_OBJ): CPPFLAGS += -isystem $(CUDA_HOME)/include

$(TRAIN_KERNEL_OBJ): reference-trainer/kernels.cu | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -x c -c $< -o $@

$(TRAIN_BIN): $(TRAIN_DEV_OBJ) $(TRAIN_KERNEL_OBJ) $(TRAIN_LIB) $(CORE_LIB) | $(SIM_LINKS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(TRAIN_DEV_OBJ) $(TRAIN_KERNEL_OBJ) $(TRAIN_LIB) $(CORE_LIB) \
	  -L$(SIM_CUDA_LIBDIR) -Wl,--enable-new-dtags,-rpath,'$$ORIGIN/../sim' $(TRAIN_CUDA_LIBS)

$(TEST_BIN) $(BUILD)/bench/bench_trainer: | $(TRAIN_BIN)
all: $(TRAIN_BIN)

ifeq ($(HAVE_NVCC),1)
TRAIN_GPU_BIN := $(BUILD)/gpu/bin/mpt-train
$(TRAIN_GPU_BIN): $(TRAIN_DEV_OBJ) $(BUILD)/gpu/reference-trainer/kernels.o $(TRAIN_LIB) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(TRAIN_DEV_OBJ) $(BUILD)/gpu/reference-trainer/kernels.o $(TRAIN_LIB) \
	  $(CORE_LIB) -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 $(TRAIN_CUDA_LIBS) -lstdc++
GPU_OBJ += $(BUILD)/gpu/reference-trainer/kernels.o $(TRAIN_GPU_BIN)
endif
endif
# ---- end reference trainer ----

# ---- interposer ----
# interposer/: libmptrace.so, which `mptrace run` preloads into the traced program and names as
# NVTX's injection library (docs/interposer.md). It exports only the intercepted CUDA symbols,
# with the real libraries' symbol versions (interposer/libmptrace.map), and links its own copy of
# libmptcore.a. Its pure modules (everything but the hooks) also form libmptipx.a, which the unit
# runner links to test them in-process. Under `make asan` the library is sanitized too and the
# end-to-end tests run the (sanitized) test programs with ASAN_OPTIONS=verify_asan_link_order=0,
# so the interposer runs under ASan inside them. `make gpu` builds the GPU statistics kernel's
# fatbin next to the library. `make install` installs mptrace, libmptrace.so (and the fatbin when
# built) and simcuda under $(DESTDIR)$(PREFIX).
PREFIX  ?= /usr/local
DESTDIR ?=
ifeq ($(HAVE_CUDA_HEADERS),1)
IPX_SRC      := $(wildcard interposer/*.c)
IPX_OBJ      := $(IPX_SRC:%.c=$(BUILD)/obj/%.o)
IPX_HOOK_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard interposer/hooks_*.c) interposer/nvtx_injection.c)
IPX_LIB      := $(BUILD)/lib/libmptipx.a
IPX_SO       := $(BUILD)/lib/libmptrace.so
IPX_LDLIBS   := -lelf -ldl -lm

$(IPX_OBJ): CPPFLAGS += $(SIM_CUDA_FLAGS)
$(IPX_OBJ): CFLAGS += -fvisibility=hidden
$(IPX_LIB): $(filter-out $(IPX_HOOK_OBJ),$(IPX_OBJ))
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^
$(IPX_SO): $(IPX_OBJ) $(CORE_LIB) interposer/libmptrace.map
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libmptrace.so -Wl,--version-script=interposer/libmptrace.map \
	  -Wl,--no-undefined -o $@ $(IPX_OBJ) $(CORE_LIB) $(IPX_LDLIBS)

# Unit tests of the interposer's modules, and the end-to-end suites that run mptrace.
$(BUILD)/obj/tests/unit/test_interposer_%.o: CPPFLAGS += $(SIM_CUDA_FLAGS) -DMPT_HAVE_INTERPOSER=1
$(TEST_BIN): $(IPX_LIB)
$(TEST_BIN): LDLIBS += $(IPX_LIB) $(CORE_LIB) $(IPX_LDLIBS)
$(TEST_BIN): | $(IPX_SO) $(CLI_BIN)

# Test programs that need more than the CUDA libraries: the GPU statistics kernel checked
# against the host reducer (links libmptcore.a), and a stand-in libcublas.so.13 that calls
# cuBLASLt internally, as NVIDIA's does (the reentrancy guard's test).
$(BUILD)/tests/programs/ipx_gpu_stats: $(BUILD)/obj/tests/programs/ipx_gpu_stats.o $(CORE_LIB) | $(SIM_LINKS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(CORE_LIB) -L$(SIM_CUDA_LIBDIR) -lcublasLt -lcublas -lcudart -lm
IPX_NESTED := $(BUILD)/tests/programs/ipx_lib/libcublas.so.13
$(BUILD)/obj/tests/programs/ipx_lib/%.o: CPPFLAGS += $(SIM_CUDA_FLAGS)
$(IPX_NESTED): $(BUILD)/obj/tests/programs/ipx_lib/nested_cublas.o | $(SIM_LINKS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libcublas.so.13 -Wl,--version-script=sim/libcublas.map \
	  -o $@ $< -L$(SIM_DIR) -lcublasLt -lcudart
$(TEST_BIN): | $(IPX_NESTED)
# libcaptureshim.so: says every created stream is capturing a graph (simcuda never captures),
# preloaded after libmptrace.so by the GPU-path suite's graph-capture test.
IPX_CAPTURE_SHIM := $(BUILD)/tests/programs/ipx_lib/libcaptureshim.so
$(IPX_CAPTURE_SHIM): $(BUILD)/obj/tests/programs/ipx_lib/capture_shim.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -shared -Wl,--version-script=sim/libcudart.map -o $@ $<
$(TEST_BIN): | $(IPX_CAPTURE_SHIM)

# CUPTI (interposer/cupti_injection.c) is compiled against CUPTI's headers when the toolkit has
# them (HAVE_CUPTI_HEADERS=0 builds the stub that only says so); libcupti itself is dlopen'ed at
# run time, never linked. libfakecupti.so: the stand-in libcupti the CUPTI suite drives it with.
CUPTI_INC := $(firstword $(foreach d,$(CUDA_HOME)/include $(CUDA_HOME)/extras/CUPTI/include,$(if $(wildcard $(d)/cupti_callbacks.h),$(d))))
HAVE_CUPTI_HEADERS ?= $(if $(CUPTI_INC),1,0)
ifeq ($(HAVE_CUPTI_HEADERS),1)
IPX_CUPTI_OBJ  := $(addprefix $(BUILD)/obj/,interposer/cupti_injection.o tests/unit/test_interposer_cupti.o tests/programs/ipx_lib/fake_cupti.o)
IPX_FAKE_CUPTI := $(BUILD)/tests/programs/ipx_lib/libfakecupti.so
$(IPX_CUPTI_OBJ): CPPFLAGS += -isystem $(CUPTI_INC) -DMPT_HAVE_CUPTI_HEADERS=1
$(IPX_FAKE_CUPTI): $(BUILD)/obj/tests/programs/ipx_lib/fake_cupti.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libcupti.so.13 -o $@ $<
$(TEST_BIN): | $(IPX_FAKE_CUPTI)
all: $(IPX_FAKE_CUPTI)
endif

# The GPU statistics kernel as a fatbin next to the library (gpu_ring.c loads it with
# cuModuleLoadData): SASS for GPU_ARCHS and PTX for the last of them. Built by `make gpu`.
IPX_FATBIN := $(BUILD)/lib/mptrace-stats.fatbin
ifeq ($(HAVE_NVCC),1)
$(IPX_FATBIN): interposer/gpu_stats.cu interposer/gpu_stats_kernel.cu interposer/gpu_stats.h \
               interposer/gpu_sample_kernel.cu interposer/gpu_sample.h \
               core/fpformat.h core/fpformat_inline.h sim/mpt_kernel.h
	@mkdir -p $(@D)
	$(NVCC) -std=c++17 -O3 -I. -fatbin $(NVCC_ARCH) \
	  -gencode arch=compute_$(lastword $(GPU_ARCHS)),code=compute_$(lastword $(GPU_ARCHS)) $< -o $@
GPU_OBJ += $(IPX_FATBIN)
endif
all: $(IPX_SO) $(IPX_LIB) $(IPX_NESTED) $(IPX_CAPTURE_SHIM)
endif

.PHONY: install
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/lib/mptrace/sim
	install -m 755 $(BUILD)/bin/mptrace $(DESTDIR)$(PREFIX)/bin/mptrace
	$(if $(IPX_SO),install -m 755 $(IPX_SO) $(DESTDIR)$(PREFIX)/lib/libmptrace.so)
	$(if $(IPX_FATBIN),if [ -f $(IPX_FATBIN) ]; then install -m 644 $(IPX_FATBIN) $(DESTDIR)$(PREFIX)/lib/; fi)
	$(if $(SIM_LIBS),install -m 755 $(SIM_LIBS) $(SIM_DRIVER) $(DESTDIR)$(PREFIX)/lib/mptrace/sim/)
	$(if $(SIM_LIBS),for l in $(notdir $(SIM_LIBS)); do ln -sf $$l $(DESTDIR)$(PREFIX)/lib/mptrace/sim/$${l%.13}; done)
# ---- end interposer ----

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

# The README's first command: the reference trainer in fp16 without a loss scaler, with an
# outlier batch at step 150, run under mptrace on simcuda; then the report, which names the
# step and the layer. The trainer's own ground-truth log lands beside the trace.
DEMO_DIR := $(BUILD)/demo
demo: all
	@mkdir -p $(DEMO_DIR)
	@echo "== mptrace --sim: the reference trainer, 16-mixed without a loss scaler, spike at step 150"
	$(BUILD)/bin/mptrace --sim -o $(DEMO_DIR)/spike.mpt $(BUILD)/bin/mpt-train \
	  --precision 16-mixed --no-loss-scale --inject spike@150 --log $(DEMO_DIR)/ground-truth.jsonl
	@echo "== mptrace report $(DEMO_DIR)/spike.mpt"
	@$(BUILD)/bin/mptrace report $(DEMO_DIR)/spike.mpt
	@echo "== the same trace interactively: $(BUILD)/bin/mptrace tui $(DEMO_DIR)/spike.mpt"

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
	@echo "CUPTI        $(if $(filter 1,$(HAVE_CUPTI_HEADERS)),✓ headers found (CUPTI capture built into libmptrace.so),✗ no cupti.h (libmptrace.so built without CUPTI capture))"
	@echo "check        $(or $(PKG_CHECK),✗ missing: make deps)"
	@echo "WERROR       $(WERROR)   SANITIZE $(SANITIZE)"

deps:
	@scripts/install-deps.sh

format:
	clang-format -i $(shell git ls-files '*.c' '*.h' '*.cpp' '*.cu')

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/gpu -name '*.d' 2>/dev/null)
