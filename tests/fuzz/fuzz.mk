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
FUZZ_OBJ    := $(LIB_SRC:src/%.c=$(FUZZ_BUILD)/obj/%.o) $(FUZZ_BUILD)/gen/openapi_yaml.o \
               $(FUZZ_BUILD)/gen/portal_assets.o
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: fuzz fuzz-build fuzz-check

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@sh tests/fuzz/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Two targets at a time (libFuzzer takes one core each): half the wall time.
fuzz-check: fuzz-build
	@rm -f $(FUZZ_BUILD)/test-summary*; \
	all="$(or $(FUZZ_TARGETS),$(notdir $(FUZZ_BINS)))"; \
	odd=$$(echo $$all | tr ' ' '\n' | awk 'NR % 2 == 1' | tr '\n' ' '); \
	even=$$(echo $$all | tr ' ' '\n' | awk 'NR % 2 == 0' | tr '\n' ' '); \
	CPQD_SUMMARY=$(FUZZ_BUILD)/test-summary-odd sh tests/fuzz/run-fuzz.sh $(FUZZ_BUILD) \
		$(FUZZ_TEST_SECONDS) $$odd > $(FUZZ_BUILD)/check-odd.log 2>&1 & a=$$!; \
	CPQD_SUMMARY=$(FUZZ_BUILD)/test-summary-even sh tests/fuzz/run-fuzz.sh $(FUZZ_BUILD) \
		$(FUZZ_TEST_SECONDS) $$even > $(FUZZ_BUILD)/check-even.log 2>&1 & b=$$!; \
	wait $$a; ra=$$?; wait $$b; rb=$$?; \
	cat $(FUZZ_BUILD)/check-odd.log $(FUZZ_BUILD)/check-even.log; \
	[ $$ra -eq 0 ] && [ $$rb -eq 0 ]

fuzz-build: $(FUZZ_BINS)
.SECONDARY: $(FUZZ_OBJ)

$(FUZZ_BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/gen/openapi_yaml.o: $(FUZZ_BUILD)/gen/openapi_yaml.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/gen/portal_assets.o: $(FUZZ_BUILD)/gen/portal_assets.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(LDLIBS)

-include $(FUZZ_OBJ:.o=.d)
