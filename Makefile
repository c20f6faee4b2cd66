# Floe build.
#
#   make            release build: build/floe
#   make test       deps, sanitizer build (ASan+UBSan), unit, e2e and short fuzz runs
#   make demo       deps, build, and the ingestion demo (scripts/demo.sh)
#   make run        deps, build, `floe serve` on ./data
#   make fuzz       long fuzz runs (FUZZ_SECONDS each, default 300)
#   make bench      benchmarks against their peers (bench/)
#   make fmt        clang-format every C file
#
# BUILD=dir puts every output under another directory, so two builds of the
# same tree (say, two people at work) do not trample each other.

BUILD     ?= build
CC        ?= gcc
FUZZ_CC   ?= clang-14
PKGS      := libmicrohttpd jansson expat libfyaml sqlite3 hiredis libcrypto zlib libzstd libxxhash liblz4 libbrotlienc libbrotlidec
# Opened with dlopen on first use (src/base/dl.h): headers only at build time.
DL_PKGS   := libcurl libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(DL_PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN      := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wpointer-arith -Wvla
GCC_WARN  := $(WARN) -Wno-format-truncation
BASEFLAGS := -std=gnu11 -D_GNU_SOURCE -Isrc $(PKG_CFLAGS) -pthread -MMD -MP
CFLAGS    ?= -O2 -g
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDLIBS    := $(PKG_LIBS) -lsnappy -lpthread -lm

SRC       := $(shell find src -name '*.c' | sort)
LIB_SRC   := $(filter-out src/cli/%,$(SRC))
CLI_SRC   := $(filter src/cli/%,$(SRC))
UNIT_SRC  := $(shell find tests/unit -name '*.c' 2>/dev/null | sort)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)

REL_OBJ   := $(SRC:%.c=$(BUILD)/rel/%.o)
ASAN_OBJ  := $(SRC:%.c=$(BUILD)/asan/%.o)
ASAN_LIB  := $(LIB_SRC:%.c=$(BUILD)/asan/%.o)
UNIT_OBJ  := $(UNIT_SRC:%.c=$(BUILD)/asan/%.o)
FUZZ_LIB  := $(LIB_SRC:%.c=$(BUILD)/fuzz/%.o)
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all deps test unit e2e fuzz-short fuzz bench bench-parquet bench-iceberg run fmt clean asan bench-encoding pq-page-seeds
# Keep object files that pattern rules build on the way to a binary.
.SECONDARY:

all: $(BUILD)/floe

deps:
	@scripts/deps.sh

$(BUILD)/floe: $(REL_OBJ)
	$(CC) $(CFLAGS) -pthread -o $@ $^ $(LDLIBS)

$(BUILD)/rel/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) $(BASEFLAGS) $(GCC_WARN) -c -o $@ $<

# Sanitizer build: what the tests run.
asan: $(BUILD)/asan/floe $(BUILD)/asan/unit-tests

$(BUILD)/asan/floe: $(ASAN_OBJ)
	$(CC) $(ASAN_FLAGS) -pthread -o $@ $^ $(LDLIBS)

$(BUILD)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	@$(CC) $(ASAN_FLAGS) $(BASEFLAGS) $(GCC_WARN) -c -o $@ $<

$(BUILD)/asan/unit-tests: $(UNIT_OBJ) $(ASAN_LIB)
	$(CC) $(ASAN_FLAGS) -pthread -o $@ $^ $(LDLIBS) -lcriterion

# libFuzzer harnesses, built with clang over the library sources.
$(BUILD)/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC fuzz $<"
	@$(FUZZ_CC) -g -O1 -fsanitize=fuzzer-no-link,address,undefined $(BASEFLAGS) $(WARN) -c -o $@ $<

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined $(BASEFLAGS) $(WARN) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

unit: $(BUILD)/asan/unit-tests
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/unit/lsan.supp:print_suppressions=0 $(BUILD)/asan/unit-tests --jobs 2

e2e: $(BUILD)/asan/floe $(BUILD)/floe
	BUILD=$(BUILD) tests/e2e/run.sh

fuzz-short: $(FUZZ_BIN)
	FUZZ_SECONDS=$${FUZZ_SECONDS:-10} BUILD=$(BUILD) tests/fuzz/run.sh

fuzz: $(FUZZ_BIN)
	FUZZ_SECONDS=$${FUZZ_SECONDS:-300} BUILD=$(BUILD) tests/fuzz/run.sh

test: deps
	$(MAKE) asan $(BUILD)/floe
	$(MAKE) unit
	$(MAKE) fuzz-short
	$(MAKE) e2e

REL_LIB   := $(LIB_SRC:%.c=$(BUILD)/rel/%.o)

$(BUILD)/bench/pqbench: bench/parquet/pqbench.c $(REL_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BASEFLAGS) $(GCC_WARN) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

$(BUILD)/bench/icebench: bench/iceberg/icebench.c $(REL_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BASEFLAGS) $(GCC_WARN) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

bench: deps $(BUILD)/floe $(BUILD)/bench/pqbench $(BUILD)/bench/icebench
	BUILD=$(BUILD) bench/s3/run.sh
	BUILD=$(BUILD) bench/parquet/run.sh
	BUILD=$(BUILD) bench/iceberg/run.sh

bench-parquet: deps $(BUILD)/floe $(BUILD)/bench/pqbench
	BUILD=$(BUILD) bench/parquet/run.sh

bench-iceberg: deps $(BUILD)/floe $(BUILD)/bench/icebench
	BUILD=$(BUILD) bench/iceberg/run.sh

# Catalog benchmark (bench/catalog): REST commits and loads against floe
# serve, and merge latency over a long history, in-process.
$(BUILD)/bench/catbench: bench/catalog/catbench.c $(REL_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BASEFLAGS) $(GCC_WARN) -o $@ $(filter %.c %.o,$^) $(LDLIBS) -lcurl

bench-catalog: deps $(BUILD)/floe $(BUILD)/bench/catbench
	BUILD=$(BUILD) bench/catalog/run.sh

bench: bench-catalog-run
bench-catalog-run: $(BUILD)/floe $(BUILD)/bench/catbench
	BUILD=$(BUILD) bench/catalog/run.sh
.PHONY: bench-catalog bench-catalog-run

# Pipeline benchmark (bench/pipeline): trigger-to-start latency, no-op
# tasks per second, schedule evaluation and start-up over 10,000
# pipelines, in-process; peak RSS of scripts/demo.sh's processes.
$(BUILD)/bench/pipebench: bench/pipeline/pipebench.c $(REL_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BASEFLAGS) $(GCC_WARN) -o $@ $(filter %.c %.o,$^) $(LDLIBS) -lcurl

bench-pipeline: deps $(BUILD)/floe $(BUILD)/bench/pipebench
	BUILD=$(BUILD) bench/pipeline/run.sh

bench: bench-pipeline-run
bench-pipeline-run: $(BUILD)/floe $(BUILD)/bench/pipebench
	BUILD=$(BUILD) bench/pipeline/run.sh
.PHONY: bench-pipeline bench-pipeline-run

# Parquet encoding micro-benchmark (not part of make test or make bench):
# values/s for the RLE, delta and byte-array decoders and encoders.
$(BUILD)/bench/encoding_bench: bench/parquet/encoding_bench.c $(REL_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BASEFLAGS) $(GCC_WARN) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

bench-encoding: $(BUILD)/bench/encoding_bench
	$(BUILD)/bench/encoding_bench

# Rewrites the fuzz_pq_page seed corpus from Floe's own encoders.
$(BUILD)/gen_pq_page_seeds: tests/fuzz/gen_pq_page_seeds.c $(REL_LIB)
	$(CC) $(CFLAGS) $(BASEFLAGS) $(GCC_WARN) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

pq-page-seeds: $(BUILD)/gen_pq_page_seeds
	rm -rf tests/fuzz/corpus/pq_page
	$(BUILD)/gen_pq_page_seeds tests/fuzz/corpus/pq_page

run: deps $(BUILD)/floe
	$(BUILD)/floe serve --data ./data

# The main job: the whole ingestion stack on the seed's four pipelines
# (scripts/demo.sh). demo-redis does the same on a Debian redis-server.
demo: deps $(BUILD)/floe
	BUILD=$(BUILD) scripts/demo.sh

demo-redis: deps $(BUILD)/floe
	BUILD=$(BUILD) DEMO_QUEUE=redis scripts/demo.sh
.PHONY: demo demo-redis

fmt:
	clang-format -i $$(find src tests bench -name '*.c' -o -name '*.h' | grep -v node_modules)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
