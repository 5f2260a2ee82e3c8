# libFuzzer targets (tests/fuzz/fuzz_*.c), included by the Makefile.
# Debian's clang builds the library again in build/fuzz with the
# Makefile's WARN and coverage instrumentation (fuzzer-no-link) under
# AddressSanitizer and UndefinedBehaviorSanitizer; each target links it
# with libFuzzer.
#   make fuzz [FUZZ_SECONDS=300] [FUZZ_TARGETS="fuzz_price ..."]
#   make fuzz-check     every target for FUZZ_TEST_SECONDS (part of make test)

FUZZ_CC           ?= clang
FUZZ_SECONDS      ?= 300
FUZZ_TEST_SECONDS ?= 20
FUZZ_TARGETS      ?=
FUZZ_BUILD  := build/fuzz
FUZZ_CFLAGS  = $(WARN) $(DEFS) -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer -Iinclude -Isrc $(PKG_CFLAGS) -MMD -MP
FUZZ_OBJ    := $(LIB_SRC:src/%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: fuzz fuzz-build fuzz-check

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@sh tests/fuzz/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-check: fuzz-build
	@CPQD_SUMMARY=$(FUZZ_BUILD)/test-summary sh tests/fuzz/run-fuzz.sh $(FUZZ_BUILD) \
		$(FUZZ_TEST_SECONDS) $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_BINS)
.SECONDARY: $(FUZZ_OBJ)

$(FUZZ_BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(LDLIBS)

-include $(FUZZ_OBJ:.o=.d)
