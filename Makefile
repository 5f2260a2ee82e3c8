# cpqd build. Top-level targets install Debian packages first (scripts/
# install-deps.sh, a no-op once done) and then build in build/$(MODE):
#   release  -O2, fortified      (make all, make run, make bench)
#   asan     ASan + UBSan, -O1 -g (make asan; part of make test)
#   fuzz     clang, libFuzzer + ASan + UBSan (make fuzz; tests/fuzz/fuzz.mk)

MODE    ?= release
BUILD   := build/$(MODE)
PKGS    := libevent libevent_pthreads libevent_openssl libssl yaml-0.1 lua5.4 libpcre2-8 jansson libcrypto libxml-2.0 sqlite3 libpq libzstd
LISTEN  ?= 127.0.0.1:8080
THREADS ?=
KEYS    ?=
DB      ?= var/cpqd.db
# make run passes these on when set (docs/operations.md "Configuration")
CONFIG         ?=
LOG_LEVEL      ?=
LOG_FORMAT     ?=
WEBHOOK        ?=
WEBHOOK_SECRET ?=
WEBHOOK_SECRET_PREVIOUS ?=
WEBHOOK_CA     ?=

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
# docs/openapi.yaml is built into the binary (GET /openapi.yaml, src/http_spec.c)
SPEC_OBJ := $(BUILD)/gen/openapi_yaml.o
# the portal's files (docs/portal.md), embedded into the binary
PORTAL_OBJ := $(BUILD)/gen/portal_assets.o
PORTAL_FILES := $(sort $(wildcard web/portal/*))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o) $(SPEC_OBJ) $(PORTAL_OBJ)
TEST_SRC := $(wildcard tests/test_*.c)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TOOLS    := $(BUILD)/gencat
BENCHES  := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/bench_*.c))

.PHONY: all deps run test asan check check-dates check-pg check-spec check-browser screenshots unit e2e bench soak install clean fmt tidy
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory MODE=release $(BUILD)/cpqd

deps:
	@sh scripts/install-deps.sh

run: deps
	@$(MAKE) --no-print-directory MODE=release build/release/cpqd
	./build/release/cpqd serve --catalogs catalogs --listen $(LISTEN) --db $(DB) \
		$(if $(THREADS),--threads $(THREADS)) $(if $(KEYS),--keys $(KEYS)) \
		$(if $(CONFIG),--config $(CONFIG)) $(if $(LOG_LEVEL),--log-level $(LOG_LEVEL)) \
		$(if $(LOG_FORMAT),--log-format $(LOG_FORMAT)) $(if $(WEBHOOK),--webhook $(WEBHOOK)) \
		$(if $(WEBHOOK_SECRET),--webhook-secret $(WEBHOOK_SECRET)) \
		$(if $(WEBHOOK_SECRET_PREVIOUS),--webhook-secret-previous $(WEBHOOK_SECRET_PREVIOUS)) \
		$(if $(WEBHOOK_CA),--webhook-ca $(WEBHOOK_CA))

# The whole suite: unit + end-to-end tests, once optimised (recording
# every response for check-spec), the API contract (check-spec), the tests
# that keep data again on PostgreSQL (check-pg), again optimised under
# faketime (two years ahead, and a 31 December 23:59:30 that turns into a
# new year during the run) so that a test reading the calendar fails the
# day it is written, once under AddressSanitizer and
# UndefinedBehaviorSanitizer (the store's tests on PostgreSQL too), then
# every fuzz target for a short time.
test: deps
	@rm -f build/release/test-summary* build/asan/test-summary* build/fuzz/test-summary* \
		build/release/responses.rec build/test-stages.txt
	@$(STAGE) "optimised suite" env CPQD_TEST_RECORD=$(CURDIR)/build/release/responses.rec \
		$(MAKE) --no-print-directory MODE=release check
	@$(STAGE) "browser" env CPQD_TEST_RECORD=$(CURDIR)/build/release/responses.rec \
		$(MAKE) --no-print-directory MODE=release check-browser
	@$(STAGE) "spec" $(MAKE) --no-print-directory MODE=release check-spec
	@$(STAGE) "PostgreSQL" $(MAKE) --no-print-directory MODE=release check-pg
	@$(STAGE) "faketime" $(MAKE) --no-print-directory MODE=release check-dates
	@$(STAGE) "ASan+UBSan suite" $(MAKE) --no-print-directory MODE=asan check
	@$(STAGE) "ASan+UBSan PostgreSQL" \
		$(MAKE) --no-print-directory MODE=asan check-pg PG_TESTS="$(PG_STORE_TESTS)"
	@$(STAGE) "fuzz" $(MAKE) --no-print-directory fuzz-check
	@echo "== stages of make test (seconds, build included):"; cat build/test-stages.txt
	@cat build/release/test-summary* build/asan/test-summary* build/fuzz/test-summary* | \
		awk '{p += $$1; f += $$2} END {print "all: " p " passed, " f " failed"}'

# STAGE NAME CMD...: runs CMD and notes its wall-clock seconds in
# build/test-stages.txt (make test prints them: the CI budget is 20 min).
STAGE = sh tests/stage.sh

# The optimised suite on other dates (Debian's faketime; the clock runs on
# from the date given).
check-dates: $(BUILD)/cpqd $(TESTS) $(TOOLS) $(BENCHES)
	@y=$$(( $$(date +%Y) + 2 )); echo "faketime: +730 days and $$y-12-31 23:59:30, side by side"; \
	CPQD_SUMMARY=$(BUILD)/test-summary-730d faketime -f '+730d' \
		sh tests/run-tests.sh $(BUILD) > $(BUILD)/dates-730d.log 2>&1 & a=$$!; \
	CPQD_SUMMARY=$(BUILD)/test-summary-eoy faketime -f "@$$y-12-31 23:59:30" \
		sh tests/run-tests.sh $(BUILD) > $(BUILD)/dates-eoy.log 2>&1 & b=$$!; \
	wait $$a; ra=$$?; wait $$b; rb=$$?; \
	echo "== faketime +730 days"; cat $(BUILD)/dates-730d.log; \
	echo "== faketime $$y-12-31 23:59:30"; cat $(BUILD)/dates-eoy.log; \
	[ $$ra -eq 0 ] && [ $$rb -eq 0 ]

# The PostgreSQL half: the store tests and the end-to-end tests that
# keep data, on a throwaway PostgreSQL cluster (tests/pg-cluster.sh: a
# temporary directory, a loopback port, stopped and removed after), a
# fresh database per test. A cluster that cannot be started fails the
# run (counted as a failure); it is never skipped.
PG_STORE_TESTS := test_store test_contract_store test_fin_store test_outbox test_portal test_instances_http
PG_TESTS := $(PG_STORE_TESTS) test_quotes_http test_events_http test_contracts_http \
            test_contracts_events_http test_contracts_renew_http test_e2e \
            test_authority_http test_limits_http test_promo_budget_http test_finance_http test_portal_http test_ops_http \
            test_outbox_instances_http test_find_http

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

# The API contract, docs/openapi.yaml (tests/spec/README.md): lint it
# (@redocly/cli), check every response the suite recorded in
# $(BUILD)/responses.rec against it (make test records them; alone: `make
# check CPQD_TEST_RECORD=$$PWD/build/release/responses.rec` first), check
# that the curl commands of docs/quickstart.md send its examples' requests,
# and drive a real cpqd from the contract alone (tests/spec/drive.mjs). The npm
# packages are installed from tests/spec/package-lock.json (npm ci) into
# tests/spec/node_modules. Each step counts in the summary.
PYTHON    ?= /usr/bin/python3
SPEC_NODE := tests/spec/node_modules/.package-lock.json

$(SPEC_NODE): tests/spec/package.json tests/spec/package-lock.json
	@echo "npm ci (tests/spec)"
	@cd tests/spec && timeout 600 npm ci --no-audit --no-fund --loglevel=error

check-spec: $(BUILD)/cpqd
	@rm -f $(BUILD)/test-summary-spec*
	@echo "API contract: docs/openapi.yaml"
	@if ! $(MAKE) --no-print-directory $(SPEC_NODE); then \
		echo "0 1" > $(BUILD)/test-summary-spec-npm; \
		echo "check-spec: npm ci failed (tests/spec/package-lock.json)" >&2; exit 1; fi
	@rc=0; \
	echo "==> redocly lint"; \
	if REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true timeout 300 \
		tests/spec/node_modules/.bin/redocly lint --config tests/spec/redocly.yaml \
		docs/openapi.yaml; then echo "1 0" > $(BUILD)/test-summary-spec-lint; \
	else echo "0 1" > $(BUILD)/test-summary-spec-lint; rc=1; fi; \
	echo "==> responses of the suite against the contract"; \
	timeout 300 $(PYTHON) tests/spec/check_responses.py docs/openapi.yaml $(BUILD)/responses.rec \
		$(BUILD)/test-summary-spec-responses || rc=1; \
	[ -s $(BUILD)/test-summary-spec-responses ] || echo "0 1" > $(BUILD)/test-summary-spec-responses; \
	echo "==> curl commands of docs/quickstart.md"; \
	$(PYTHON) tests/spec/check_curl.py docs/quickstart.md \
		--summary $(BUILD)/test-summary-spec-curl || rc=1; \
	[ -s $(BUILD)/test-summary-spec-curl ] || echo "0 1" > $(BUILD)/test-summary-spec-curl; \
	echo "==> a client driven by the contract alone"; \
	timeout 300 node tests/spec/drive.mjs docs/openapi.yaml $(BUILD)/cpqd $(CURDIR) \
		$(BUILD)/test-summary-spec-client || rc=1; \
	[ -s $(BUILD)/test-summary-spec-client ] || echo "0 1" > $(BUILD)/test-summary-spec-client; \
	cat $(BUILD)/test-summary-spec-* | awk '{p += $$1; f += $$2} END {print "contract: " p " passed, " f " failed"}'; \
	exit $$rc

# The portal in a real browser (docs/portal.md "Tests"): Debian's
# chromium driven by playwright-core, accessibility by axe-core (npm ci
# from tests/browser/package-lock.json into tests/browser/node_modules)
# against the optimised cpqd; one browser, bounded in time (run.sh);
# the responses the page receives are recorded like the suite's
# (CPQD_TEST_RECORD) for check-spec; counted in make test's summary.
BROWSER_NPM := tests/browser/node_modules/.package-lock.json

$(BROWSER_NPM): tests/browser/package-lock.json tests/browser/package.json
	@echo "npm ci (tests/browser)"
	@cd tests/browser && timeout 600 npm ci --no-audit --no-fund --loglevel=error
	@touch $@

check-browser: $(BUILD)/cpqd
	@if ! $(MAKE) --no-print-directory $(BROWSER_NPM); then \
		echo "0 1" > $(BUILD)/test-summary-browser; \
		echo "check-browser: npm ci failed (tests/browser/package-lock.json)" >&2; exit 1; fi
	@sh tests/browser/run.sh $(BUILD)

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
	@sh tests/bench/bench_instances.sh build/release

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

$(BUILD)/bench/%: tests/bench/%.c $(LIB_OBJ) tests/finance_gen.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(LIB_OBJ) $(LDLIBS) $(LOPT)

# The contract as a byte array (od and sed: no tool beyond coreutils).
build/%/gen/openapi_yaml.c: docs/openapi.yaml
	@mkdir -p $(dir $@)
	@{ printf '/* generated by the Makefile from docs/openapi.yaml: do not edit */\n'; \
	  printf '#include <stddef.h>\nextern const unsigned char http_spec_yaml[];\n'; \
	  printf 'extern const size_t http_spec_yaml_len;\nconst unsigned char http_spec_yaml[] = {\n'; \
	  od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  printf '};\nconst size_t http_spec_yaml_len = %s;\n' "$$(wc -c < $<)"; } > $@.tmp && mv $@.tmp $@

$(SPEC_OBJ): $(BUILD)/gen/openapi_yaml.c
	$(CC) $(CFLAGS) -c -o $@ $<

# The portal's files as byte arrays (scripts/embed-assets.sh).
build/%/gen/portal_assets.c: $(PORTAL_FILES) scripts/embed-assets.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-assets.sh $(PORTAL_FILES) > $@.tmp && mv $@.tmp $@

$(PORTAL_OBJ): $(BUILD)/gen/portal_assets.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(LIB_OBJ) tests/testutil.h tests/contracts_fixture.h \
		tests/store_fixture.h tests/finance_gen.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(LIB_OBJ) $(LDLIBS) -lcmocka $(LOPT)

fmt:
	clang-format -i src/*.c src/*.h include/cpqd/*.h tests/*.c

tidy:
	cppcheck --quiet --enable=warning,portability --inline-suppr -Iinclude -Isrc src

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/main.d
include tests/fuzz/fuzz.mk
