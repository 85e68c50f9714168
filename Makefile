# mds - highly available, sharded metadata servers for MooseFS.
#
#   make            build/mdsd, build/mdsctl (gcc, -O2 -g)
#   make asan       the same in build-asan/ with ASan + UBSan, plus unit tests
#   make test       deps, both builds, unit tests (ASan), integration tests
#   make fuzz       libFuzzer targets in build-fuzz/ (clang-14)
#   make bench      benchmark programs in build/bench/
#   make demo       mdsd, a stock chunkserver and a stock mfsmount (make demo-stop ends it)
#   make chaos      the HA tests at full length: 20 leader kills, a 5-minute nemesis,
#                   100,000 operations while a node is down (MDS_HA_RESULTS: timings JSON)
#   make deps       installs the Debian packages the build and tests need

CC        := gcc
FUZZ_CC   := clang-14
BUILD     ?= build
CSTD      := -std=c11 -D_GNU_SOURCE
WARN      := -Wall -Wextra -Werror
OPT       ?= -O2 -g
SAN       ?=
CFLAGS    := $(CSTD) $(WARN) $(OPT) $(SAN) -Isrc -MMD -MP
LDFLAGS   := $(SAN)
LIBS      := -lraft -luv -llmdb -lcrypto -ljansson -lz -lm
TEST_LIBS := -lcmocka

ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Layers, lowest first. A file in one layer includes only its own and lower
# layers (checked by scripts/check-layers.sh).
LAYERS    := base proto meta consensus shard sync gossip server ctl
MAINS     := src/server/mdsd.c src/ctl/mdsctl.c
LIB_SRCS  := $(filter-out $(MAINS),$(foreach l,$(LAYERS),$(wildcard src/$(l)/*.c)))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRCS:= $(wildcard bench/*.c)
BENCH_BINS:= $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)

.PHONY: all asan test unit integration fuzz fuzz-smoke bench demo demo-stop deps clean check-layers chaos
.DEFAULT_GOAL := all
# Keep objects of test and bench programs between builds.
.SECONDARY:

all: $(BUILD)/mdsd $(BUILD)/mdsctl $(UNIT_BINS) $(BENCH_BINS)

$(BUILD)/libmds.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/mdsd: $(BUILD)/obj/src/server/mdsd.o $(BUILD)/libmds.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/mdsctl: $(BUILD)/obj/src/ctl/mdsctl.o $(BUILD)/libmds.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libmds.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/libmds.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

asan:
	$(MAKE) BUILD=build-asan SAN="$(ASAN_FLAGS)" OPT="-O1 -g" all

# libFuzzer: each target links the library sources directly (not libmds.a),
# compiled with clang's coverage instrumentation.
build-fuzz/%: tests/fuzz/%.c $(LIB_SRCS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CSTD) -Wall -Wextra -Werror -g -O1 -Isrc \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  -o $@ $< $(LIB_SRCS) $(LIBS)

fuzz: $(FUZZ_BINS)

# A short run of every fuzz target over its seed corpus (part of make test).
fuzz-smoke: fuzz
	@bash scripts/fuzz.sh smoke

bench: $(BENCH_BINS)

deps:
	@bash scripts/deps.sh

check-layers:
	@bash scripts/check-layers.sh

unit: asan
	@bash scripts/test.sh unit

integration: all
	@bash scripts/test.sh integration

test: deps
	@$(MAKE) --no-print-directory check-layers
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory fuzz
	@bash scripts/test.sh all

chaos: deps all
	MDS_HA_KILLS=$${MDS_HA_KILLS:-20} MDS_NEMESIS_SECONDS=$${MDS_NEMESIS_SECONDS:-300} \
	MDS_CATCHUP_OPS=$${MDS_CATCHUP_OPS:-100000} MDS_HA_LOADS=$${MDS_HA_LOADS:-meta,read,write} \
	/usr/bin/python3 -m pytest tests/integration/test_ha.py tests/integration/test_ha_chunks.py \
	  -v -s -p no:cacheprovider

demo: all
	@bash scripts/demo.sh start

demo-stop:
	@bash scripts/demo.sh stop

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find build build-asan $(BUILD) -name '*.d' 2>/dev/null | sort -u)
