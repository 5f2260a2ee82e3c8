# cpqd build. Top-level targets install Debian packages first (scripts/
# install-deps.sh, a no-op once done) and then build in build/$(MODE):
#   release  -O2, fortified      (make all, make run, make bench)
#   asan     ASan + UBSan, -O1 -g (make asan; part of make test)

MODE    ?= release
BUILD   := build/$(MODE)
PKGS    := libevent libevent_pthreads yaml-0.1 lua5.4 libpcre2-8 jansson libcrypto libxml-2.0 sqlite3 libpq
LISTEN  ?= 127.0.0.1:8080
THREADS ?=
KEYS    ?=
DB      ?= var/cpqd.db

WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wvla -Wformat=2 -Wimplicit-fallthrough
DEFS := -D_GNU_SOURCE -DPCRE2_CODE_UNIT_WIDTH=8
ifeq ($(MODE),asan)
OPT  := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
        -fno-omit-frame-pointer -DCPQD_TESTING
LOPT := -fsanitize=address,undefined
else
OPT  := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong
LOPT :=
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  = $(WARN) $(DEFS) $(OPT) -Iinclude -Isrc $(PKG_CFLAGS) -MMD -MP
LDLIBS  = $(PKG_LIBS) -lcadical -lstdc++ -lpthread -lm

LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/portal_assets.o
# the portal's files (docs/portal.md), embedded into the binary
PORTAL_FILES := $(sort $(wildcard web/portal/*))
TEST_SRC := $(wildcard tests/test_*.c)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TOOLS    := $(BUILD)/gencat
BENCHES  := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/bench_*.c))

.PHONY: all deps run test asan check check-dates check-pg check-browser screenshots unit e2e bench soak install clean fmt tidy
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory MODE=release $(BUILD)/cpqd

deps:
	@sh scripts/install-deps.sh

run: deps
	@$(MAKE) --no-print-directory MODE=release build/release/cpqd
	./build/release/cpqd serve --catalogs catalogs --listen $(LISTEN) --db $(DB) \
		$(if $(THREADS),--threads $(THREADS)) $(if $(KEYS),--keys $(KEYS))

# The whole suite: unit + end-to-end tests, once optimised, the tests
# that keep data again on PostgreSQL (check-pg), again optimised under
# faketime (two years ahead, and a 31 December 23:59:30 that turns into a
# new year during the run) so that a test reading the calendar fails the
# day it is written, and once under AddressSanitizer and
# UndefinedBehaviorSanitizer (the store's tests on PostgreSQL too).
test: deps
	@rm -f build/release/test-summary* build/asan/test-summary*
	@$(MAKE) --no-print-directory MODE=release check
	@$(MAKE) --no-print-directory MODE=release check-browser
	@$(MAKE) --no-print-directory MODE=release check-pg
	@$(MAKE) --no-print-directory MODE=release check-dates
	@$(MAKE) --no-print-directory MODE=asan check
	@$(MAKE) --no-print-directory MODE=asan check-pg PG_TESTS="$(PG_STORE_TESTS)"
	@cat build/release/test-summary* build/asan/test-summary* | \
		awk '{p += $$1; f += $$2} END {print "all: " p " passed, " f " failed"}'

# The optimised suite on other dates (Debian's faketime; the clock runs on
# from the date given).
check-dates: $(BUILD)/cpqd $(TESTS) $(TOOLS) $(BENCHES)
	@echo "faketime: +730 days"
	@CPQD_SUMMARY=$(BUILD)/test-summary-730d faketime -f '+730d' sh tests/run-tests.sh $(BUILD)
	@y=$$(( $$(date +%Y) + 2 )); echo "faketime: $$y-12-31 23:59:30"; \
		CPQD_SUMMARY=$(BUILD)/test-summary-eoy faketime -f "@$$y-12-31 23:59:30" \
		sh tests/run-tests.sh $(BUILD)

# The PostgreSQL half: the store tests and the end-to-end tests that
# keep data, on a throwaway PostgreSQL cluster (tests/pg-cluster.sh: a
# temporary directory, a loopback port, stopped and removed after), a
# fresh database per test. A cluster that cannot be started fails the
# run (counted as a failure); it is never skipped.
PG_STORE_TESTS := test_store test_contract_store test_outbox test_instances_http
PG_TESTS := $(PG_STORE_TESTS) test_quotes_http test_events_http test_contracts_http \
            test_contracts_events_http test_contracts_renew_http test_e2e \
            test_authority_http test_limits_http test_promo_budget_http test_portal_http

check-pg: $(BUILD)/cpqd $(TESTS) $(TOOLS)
	@echo "PostgreSQL: a throwaway cluster (tests/pg-cluster.sh)"
	@rm -f $(BUILD)/test-summary-pg; \
	if ! dir=$$(sh tests/pg-cluster.sh start); then \
		echo "0 1" > $(BUILD)/test-summary-pg; \
		echo "tests: 0 passed, 1 failed"; \
		echo "check-pg: PostgreSQL could not be started: the PostgreSQL half FAILED" >&2; \
		exit 1; \
	fi; \
	trap 'sh tests/pg-cluster.sh stop "$$dir"' EXIT INT TERM; \
	CPQD_TEST_DB_URL=$$(sh tests/pg-cluster.sh url "$$dir") CPQD_TESTS="$(PG_TESTS)" \
		CPQD_SUMMARY=$(BUILD)/test-summary-pg sh tests/run-tests.sh $(BUILD)

# The portal in a real browser (docs/portal.md "Tests"): Debian's
# chromium driven by playwright-core (npm, tests/browser/package-lock.json)
# against the optimised cpqd; counted in make test's summary.
BROWSER_NPM := tests/browser/node_modules/.package-lock.json

check-browser: $(BUILD)/cpqd $(BROWSER_NPM)
	@sh tests/browser/run.sh $(BUILD)

$(BROWSER_NPM): tests/browser/package-lock.json tests/browser/package.json
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# docs/img/portal-*.png, the screenshots of docs/portal.md and the README.
screenshots: deps
	@$(MAKE) --no-print-directory MODE=release build/release/cpqd $(BROWSER_NPM)
	node tests/browser/screenshots.mjs docs/img

asan: deps
	@$(MAKE) --no-print-directory MODE=asan check

check: $(BUILD)/cpqd $(TESTS) $(TOOLS) $(BENCHES)
	@sh tests/run-tests.sh $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory MODE=release build/release/cpqd build/release/gencat \
		$(patsubst tests/bench/%.c,build/release/bench/%,$(wildcard tests/bench/bench_*.c))
	@$(MAKE) --no-print-directory $(BROWSER_NPM)
	@sh tests/bench/bench.sh build/release

# The soak alone (also the last stage of make bench): SOAK_SECONDS
# (default 600) of wrk on price and configure with SOAK_RELOADS (100).
soak: deps
	@$(MAKE) --no-print-directory MODE=release build/release/cpqd
	@sh tests/bench/soak.sh build/release

install: all
	install -D -m 0755 build/release/cpqd $(DESTDIR)$(or $(PREFIX),/usr/local)/bin/cpqd

$(BUILD)/cpqd: $(BUILD)/obj/main.o $(LIB_OBJ)
	$(CC) $(LOPT) -o $@ $^ $(LDLIBS)

$(BUILD)/gencat: tools/gencat.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) $(OPT) $(LOPT) -o $@ $<

$(BUILD)/bench/%: tests/bench/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS) $(LOPT)

$(BUILD)/gen/portal_assets.c: $(PORTAL_FILES) scripts/embed-assets.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-assets.sh $(PORTAL_FILES) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/portal_assets.o: $(BUILD)/gen/portal_assets.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(LIB_OBJ) tests/testutil.h tests/contracts_fixture.h \
		tests/store_fixture.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(LIB_OBJ) $(LDLIBS) -lcmocka $(LOPT)

fmt:
	clang-format -i src/*.c src/*.h include/cpqd/*.h tests/*.c

tidy:
	cppcheck --quiet --enable=warning,portability --inline-suppr -Iinclude -Isrc src

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/main.d
