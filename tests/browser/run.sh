#!/bin/sh
# The browser stage of `make test` (docs/portal.md "Tests"): runs
# tests/browser/portal.test.mjs (Debian's chromium driven by
# playwright-core against BUILD_DIR/cpqd on loopback), bounded in time,
# and writes its counts to BUILD_DIR/test-summary-browser ("passed
# failed") for the summary of make test. Fails loudly, counted as a
# failure, when node or chromium cannot run: it is never skipped.
# usage: tests/browser/run.sh BUILD_DIR
set -u
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SUMMARY="$BUILD/test-summary-browser"
LIMIT=${CPQD_BROWSER_TIMEOUT:-240}
fail() {
    echo "browser: $*: the browser stage FAILED" >&2
    echo "0 1" > "$SUMMARY"
    echo "browser: 0 passed, 1 failed"
    exit 1
}
echo "browser: chromium + playwright-core (tests/browser)"
node --version >/dev/null 2>&1 || fail "node cannot run (sh scripts/install-deps.sh)"
chromium --version >/dev/null 2>&1 || fail "chromium cannot run (sh scripts/install-deps.sh)"
[ -d "$HERE/node_modules/playwright-core" ] || fail "tests/browser/node_modules is missing (npm ci)"
rm -f "$SUMMARY"
CPQD_BIN="$BUILD/cpqd" CPQD_SUMMARY="$SUMMARY" timeout "$LIMIT" node "$HERE/portal.test.mjs"
rc=$?
[ -s "$SUMMARY" ] || fail "portal.test.mjs ended without a summary (status $rc; 124: over ${LIMIT} s)"
exit $rc
