# SPDX-License-Identifier: GPL-2.0-or-later
#
# One non-recursive Makefile. `make` builds build/kproxy; `make test` builds a
# sanitized copy (ASan+UBSan) and runs every test; `make deps` installs the
# Debian packages. Objects live in build/ (release) and build/san/ (tests).

CC	?= cc
BUILD	?= build
PKGS	:= libcurl libcjson libmnl libip4tc libmicrohttpd yaml-0.1 libcrypto
VERSION	:= 0.1.0

WFLAGS	:= -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wswitch-enum -Wvla \
	   -fno-common
CPPFLAGS += -D_GNU_SOURCE -I. -DKPROXY_VERSION='"$(VERSION)"'
CFLAGS	?= -O2 -g
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -fno-sanitize-recover=undefined

# Evaluated lazily so that `make deps` works before the packages exist.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
CMOCKA_LIBS = $(shell pkg-config --libs cmocka)

LIB_SRC	:= $(sort $(filter-out proxy/main.c, \
	     $(wildcard proxy/*.c rules/*.c apiwatch/*.c featuregate/*.c)))
MAIN_SRC := proxy/main.c
UNIT_SRC := $(sort $(wildcard test/unit/*/*_test.c))
# Shared test helpers: test/unit/lib/*.c are linked into every unit test.
TESTLIB_SRC := $(sort $(wildcard test/unit/lib/*.c))

LIB_OBJ	:= $(LIB_SRC:%.c=$(BUILD)/%.o)
SAN_LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/san/%.o)
SAN_TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(BUILD)/san/%.o)
UNIT_BIN := $(UNIT_SRC:%.c=$(BUILD)/san/%)

.PHONY: all test unit golden golden-update restore-check integration bench bench-quick fuzz \
	format format-check lint clean deps demo version

# Keep intermediate objects (test helpers): no stray "rm" after the test summary.
.SECONDARY:

all: $(BUILD)/kproxy

# The version kproxy --version prints and the image tag (kproxy:$(make -s version)).
version:
	@echo $(VERSION)

$(BUILD)/kproxy: $(LIB_OBJ) $(BUILD)/proxy/main.o
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) $(LDFLAGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(WFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/san/kproxy: $(SAN_LIB_OBJ) $(BUILD)/san/proxy/main.o
	$(CC) $(SANFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(WFLAGS) $(SANFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/san/test/unit/%: test/unit/%.c $(SAN_LIB_OBJ) $(SAN_TESTLIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	@$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(WFLAGS) $(SANFLAGS) -MMD -MP -o $@ $< \
		$(SAN_LIB_OBJ) $(SAN_TESTLIB_OBJ) $(PKG_LIBS) $(CMOCKA_LIBS)

# Every test prints its own summary; test/run.sh adds them up and prints the
# closing "N passed, N failed" line.
test: $(UNIT_BIN) $(BUILD)/san/kproxy
	@sh test/run.sh $(BUILD)

unit: $(UNIT_BIN)
	@KPROXY_ONLY=unit sh test/run.sh $(BUILD)

golden: $(BUILD)/san/kproxy
	@KPROXY_ONLY=golden sh test/run.sh $(BUILD)

golden-update: $(BUILD)/kproxy
	sh test/golden/run.sh --update $(BUILD)/kproxy

integration: $(BUILD)/san/kproxy
	@KPROXY_ONLY=integration sh test/run.sh $(BUILD)

demo:
	sh scripts/deps.sh
	$(MAKE) $(BUILD)/kproxy
	sh scripts/demo.sh $(BUILD)/kproxy

# Benchmarks print a table (no timing assertions): bench at 1k and 10k services,
# bench-quick at 1k as a smoke test that the benchmark still works (CI runs it).
bench: $(BUILD)/kproxy
	bash test/bench/bench.sh --build $(BUILD)

bench-quick: $(BUILD)/kproxy
	bash test/bench/bench.sh --quick --build $(BUILD)

# Soak (root): 1,000 Services churn for SOAK_MINUTES while traffic flows; the
# ASan build is the leak checker beside the release build (test/soak/soak.sh).
# `make test` runs a 3-minute variant.
SOAK_MINUTES ?= 30
.PHONY: soak
soak: $(BUILD)/kproxy $(BUILD)/san/kproxy
	sh test/soak/soak.sh $(BUILD)/kproxy $(SOAK_MINUTES)

deps:
	sh scripts/deps.sh

format:
	clang-format -i $(LIB_SRC) $(MAIN_SRC) $(wildcard */*.h) $(UNIT_SRC) $(TESTLIB_SRC)

format-check:
	clang-format --dry-run --Werror $(LIB_SRC) $(MAIN_SRC) $(wildcard */*.h) $(UNIT_SRC) $(TESTLIB_SRC)

# Both compilers must build the whole tree (tests included) without a warning.
lint:
	$(MAKE) all $(UNIT_BIN:$(BUILD)/%=$(BUILD)/lint-clang/%) CC=clang BUILD=$(BUILD)/lint-clang
	$(MAKE) all $(UNIT_BIN:$(BUILD)/%=$(BUILD)/lint-gcc/%) CC=gcc BUILD=$(BUILD)/lint-gcc

# libFuzzer targets (clang only): test/fuzz/NAME_fuzz.c is linked against the
# library into $(BUILD)/fuzz/NAME_fuzz. `make fuzz` runs each for FUZZ_SECONDS on
# a copy of test/fuzz/corpus/NAME (new inputs stay in $(BUILD)/fuzz/corpus-NAME,
# crashes land in $(BUILD)/fuzz/) and fails if any target crashes; `make -j`
# runs them side by side. `make fuzz-regress` only executes the committed
# corpus and test/fuzz/crashes/NAME once each, fast enough for `make test`.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_FLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=undefined
FUZZ_ENV     ?= UBSAN_OPTIONS=print_stacktrace=1
FUZZ_NAMES   := $(patsubst test/fuzz/%_fuzz.c,%,$(sort $(wildcard test/fuzz/*_fuzz.c)))
FUZZ_BIN     := $(FUZZ_NAMES:%=$(BUILD)/fuzz/%_fuzz)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o)

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $@"
	@$(FUZZ_CC) $(CPPFLAGS) $(PKG_CFLAGS) $(WFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link \
		-MMD -MP -c -o $@ $<

# rules_fuzz checks its payloads with the test tracer.
$(BUILD)/fuzz/rules_fuzz: $(BUILD)/fuzz/obj/test/unit/lib/tracer.o

$(FUZZ_BIN): $(BUILD)/fuzz/%_fuzz: test/fuzz/%_fuzz.c $(FUZZ_LIB_OBJ)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(CPPFLAGS) $(PKG_CFLAGS) $(WFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -MMD -MP \
		-o $@ $< $(filter %.o,$^) $(PKG_LIBS)

.PHONY: fuzz-regress

fuzz: $(FUZZ_NAMES:%=fuzz-run-%)

fuzz-run-%: $(BUILD)/fuzz/%_fuzz
	@mkdir -p $(BUILD)/fuzz/corpus-$*
	@cp test/fuzz/corpus/$*/* $(BUILD)/fuzz/corpus-$*/
	@echo "  FUZZ    $* for $(FUZZ_SECONDS)s (log: $(BUILD)/fuzz/$*.log)"
	@$(FUZZ_ENV) $< -max_total_time=$(FUZZ_SECONDS) -timeout=25 -print_final_stats=1 \
		-artifact_prefix=$(BUILD)/fuzz/$*- $(BUILD)/fuzz/corpus-$* \
		>$(BUILD)/fuzz/$*.log 2>&1 || { tail -n 60 $(BUILD)/fuzz/$*.log; exit 1; }
	@grep -E '^#[0-9]+.*DONE' $(BUILD)/fuzz/$*.log | sed 's|^|  $*: |'

fuzz-regress: $(FUZZ_NAMES:%=fuzz-regress-%)
	@echo "$(words $(FUZZ_NAMES)) fuzz targets passed"

# Git keeps no empty directory, so a target without reproducers may have none.
fuzz-regress-%: $(BUILD)/fuzz/%_fuzz
	@$(FUZZ_ENV) $< -runs=0 -artifact_prefix=$(BUILD)/fuzz/regress-$*- test/fuzz/corpus/$* \
		$(wildcard test/fuzz/crashes/$*) >$(BUILD)/fuzz/regress-$*.log 2>&1 || \
		{ tail -n 60 $(BUILD)/fuzz/regress-$*.log; exit 1; }
	@echo "  $*: $$(find test/fuzz/corpus/$* $(wildcard test/fuzz/crashes/$*) -type f ! -name '.*' | \
		wc -l) inputs passed"

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
