# vpcnet: one static multi-call binary for container networking.
#   make            build/vpcnet (static musl, stripped)
#   make deps       install build and test dependencies (root, Debian)
#   make check      unit tests (musl and glibc+ASan/UBSan), fuzz smoke, e2e
#   make demo       two pods wired by cni-flannel, pinging each other
#   make bench      side-by-side benchmarks with the upstream plugins
#   make clean      remove build/

VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
B        := build
VENDOR   := $(B)/vendor
MUSLCC   := musl-gcc

all:

include vendor/versions.mk
include vendor/kernel-headers.mk
include vendor/bearssl.mk

WARN     := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
	    -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS := -D_GNU_SOURCE -DVPCNET_VERSION=\"$(VERSION)\" -Ilib
CFLAGS   := -std=gnu11 -Os $(WARN) -ffunction-sections -fdata-sections

LIB_SRC  := $(sort $(wildcard lib/*.c))
MNL_SRC  := $(sort $(wildcard lib/mnl/*.c))
APP_SRC  := $(sort $(wildcard applets/*.c applets/*/*.c))
UNIT_SRC := $(sort $(wildcard test/unit/*_test.c))
FUZZ_SRC := $(sort $(wildcard test/fuzz/*_fuzz.c))

# LIBMNL=/path/libmnl.a replaces lib/mnl/ in the static build.
ifeq ($(LIBMNL),)
MUSL_MNL_SRC := $(MNL_SRC)
MUSL_MNL_INC := -Ilib/mnl
else
MUSL_MNL_SRC :=
MUSL_MNL_INC := -I$(dir $(LIBMNL))../include
endif

# --- static musl build ----------------------------------------------------
M := $(B)/musl
MUSL_CPP := $(CPPFLAGS) $(MUSL_MNL_INC) -I$(VENDOR)/include -I$(BEARSSL_INC)
MUSL_OBJ_LIB := $(patsubst %.c,$(M)/%.o,$(LIB_SRC) $(MUSL_MNL_SRC))
MUSL_OBJ_APP := $(patsubst %.c,$(M)/%.o,main.c $(APP_SRC))
MUSL_DEPS := $(VENDOR)/include/.stamp $(BEARSSL_LIB)

all: depcheck
	$(MAKE) $(B)/vpcnet

$(B)/vpcnet: $(MUSL_OBJ_APP) $(MUSL_OBJ_LIB) $(BEARSSL_LIB) $(LIBMNL)
	$(MUSLCC) -static -s -Wl,--gc-sections -o $@ $^
	@! readelf -d $@ 2>/dev/null | grep -q 'Dynamic section' || \
		{ echo "$@ has a dynamic section" >&2; rm -f $@; exit 1; }

$(M)/%.o: %.c | $(MUSL_DEPS)
	@mkdir -p $(dir $@)
	$(MUSLCC) $(MUSL_CPP) $(CFLAGS) -MMD -MP -c -o $@ $<

# --- dynamic glibc build against Debian's real libmnl ----------------------
G := $(B)/glibc
GLIBC_CPP := $(CPPFLAGS) -I$(BEARSSL_INC) -DVPCNET_TEST_BUILD=1
GLIBC_CFLAGS := -std=gnu11 -O1 -g $(WARN)
GLIBC_OBJ_LIB := $(patsubst %.c,$(G)/%.o,$(LIB_SRC))
GLIBC_OBJ_APP := $(patsubst %.c,$(G)/%.o,main.c $(APP_SRC))

$(G)/vpcnet: $(GLIBC_OBJ_APP) $(GLIBC_OBJ_LIB) $(BEARSSL_GLIBC_LIB)
	gcc -o $@ $^ -lmnl

$(G)/%.o: %.c | $(BEARSSL_LIB)
	@mkdir -p $(dir $@)
	gcc $(GLIBC_CPP) $(GLIBC_CFLAGS) -MMD -MP -c -o $@ $<

# --- unit tests: musl static (our lib/mnl) and glibc ASan+UBSan (real libmnl)
A := $(B)/asan
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
ASAN_OBJ_LIB := $(patsubst %.c,$(A)/%.o,$(LIB_SRC))
UNIT_MUSL := $(patsubst test/unit/%.c,$(B)/unit/%,$(UNIT_SRC))
UNIT_ASAN := $(patsubst test/unit/%.c,$(A)/unit/%,$(UNIT_SRC))

$(A)/%.o: %.c | $(BEARSSL_LIB)
	@mkdir -p $(dir $@)
	gcc $(GLIBC_CPP) $(GLIBC_CFLAGS) $(SAN) -MMD -MP -c -o $@ $<

$(B)/unit/%: $(M)/test/unit/%.o $(MUSL_OBJ_LIB) $(BEARSSL_LIB)
	@mkdir -p $(dir $@)
	$(MUSLCC) -static -o $@ $^

$(A)/unit/%: $(A)/test/unit/%.o $(ASAN_OBJ_LIB) $(BEARSSL_GLIBC_LIB)
	@mkdir -p $(dir $@)
	gcc $(SAN) -o $@ $^ -lmnl

units: $(UNIT_MUSL) $(UNIT_ASAN)

# --- fuzz targets (libFuzzer, clang) ----------------------------------------
F := $(B)/fuzz
FUZZ_BIN := $(patsubst test/fuzz/%.c,$(F)/%,$(FUZZ_SRC))
FUZZ_CPP := $(CPPFLAGS) -I$(BEARSSL_INC) -DVPCNET_TEST_BUILD=1
FUZZ_SAN := -g -O1 -fsanitize=address,undefined
FUZZ_OBJ_LIB := $(patsubst %.c,$(F)/obj/%.o,$(LIB_SRC))

$(F)/obj/%.o: %.c | $(BEARSSL_LIB)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CPP) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP \
		-c -o $@ $<

$(F)/%: $(F)/obj/test/fuzz/%.o $(FUZZ_OBJ_LIB) $(BEARSSL_GLIBC_LIB)
	clang $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -lmnl

fuzzers: $(FUZZ_BIN)

fuzz: fuzzers
	FUZZ_SECONDS=$${FUZZ_SECONDS:-300} test/fuzz/run.sh $(FUZZ_BIN)

# --- top-level targets -------------------------------------------------------
deps:
	vendor/deps.sh

depcheck:
	@vendor/deps.sh --check || $(MAKE) deps

check: depcheck
	$(MAKE) $(B)/vpcnet $(G)/vpcnet units fuzzers
	test/run.sh

demo: depcheck
	$(MAKE) $(B)/vpcnet
	test/demo.sh

bench: depcheck
	$(MAKE) $(B)/vpcnet $(G)/vpcnet
	test/bench/run.sh

clean:
	rm -rf $(B) test/fake/node_modules

.PHONY: all deps depcheck check demo bench clean units fuzzers fuzz
.SECONDARY:
-include $(shell find $(B) -name '*.d' 2>/dev/null)
