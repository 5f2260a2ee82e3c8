#!/bin/sh
# Runs every BUILD_DIR/tests/test_* binary from the repository root with
#   CPQD_BIN=BUILD_DIR/cpqd CPQD_ROOT=<repo> CPQD_SHARED=<repo>/../shared
# prints each binary's output, adds up cmocka's passed/failed counts and
# ends with exactly one line "tests: N passed, N failed".
# Exits non-zero if any test failed, or any binary crashed, timed out or
# printed no cmocka summary (each such binary counts as one failure).
#
# usage: tests/run-tests.sh BUILD_DIR      (e.g. build/release, build/asan)
# CPQD_TEST_JOBS binaries run at a time (default 2; 1: one after another).
# The counts also go to $CPQD_SUMMARY (default BUILD_DIR/test-summary).
# CPQD_TESTS, if set, names the binaries to run ("test_store test_e2e");
# a name without its binary counts as one failure.
set -u

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$1" && pwd)
PER_BINARY_TIMEOUT=${CPQD_TEST_TIMEOUT:-600}

export CPQD_BIN="$BUILD/cpqd"
export CPQD_ROOT="$ROOT"
export CPQD_SHARED="${CPQD_SHARED:-$ROOT/../shared}"
# Sanitizer builds: fail on the first report, and report leaks.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

echo "mode: $(basename "$BUILD")"
# the URL is not printed: it holds the cluster's password
[ -z "${CPQD_TEST_DB_URL:-}" ] || echo "databases: PostgreSQL, a fresh one per test (CPQD_TEST_DB_URL)"
if [ ! -x "$CPQD_BIN" ]; then
    echo "run-tests: $CPQD_BIN is missing (build first)" >&2
    echo "tests: 0 passed, 1 failed"
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cpqd-run-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

passed=0
failed=0
found=0
if [ -n "${CPQD_TESTS:-}" ]; then
    list=""
    for name in $CPQD_TESTS; do
        list="$list $BUILD/tests/$name"
    done
else
    list=$(ls "$BUILD"/tests/test_* 2>/dev/null)
fi
# Runs binary $1 into $tmp/NAME.out and $tmp/NAME.rc.
run_one() {
    n=$(basename "$1")
    (cd "$ROOT" && timeout "$PER_BINARY_TIMEOUT" "$1" > "$tmp/$n.out" 2>&1; echo $? > "$tmp/$n.rc")
}

# CPQD_TEST_JOBS binaries at a time (default 2): each binary takes its own
# ports, directories and databases, and most of their time is spent
# waiting (servers starting, deadlines), not computing. Outputs are
# printed whole, in the list's order.
JOBS=${CPQD_TEST_JOBS:-2}
running=""
nrun=0
for t in $list; do
    name=$(basename "$t")
    if [ -n "${CPQD_TESTS:-}" ] && [ ! -x "$t" ]; then
        echo "run-tests: $name is missing (build first)" >&2
        failed=$((failed + 1))
        continue
    fi
    [ -f "$t" ] && [ -x "$t" ] || continue
    found=$((found + 1))
    if [ "$nrun" -ge "$JOBS" ]; then
        first=${running%% *}
        running=${running#* }
        wait "$first"
        nrun=$((nrun - 1))
    fi
    run_one "$t" &
    running="$running$! "
    running=${running# }
    nrun=$((nrun + 1))
done
wait

for t in $list; do
    name=$(basename "$t")
    [ -f "$tmp/$name.out" ] || continue
    echo "==> $name"
    cat "$tmp/$name.out"
    rc=$(cat "$tmp/$name.rc" 2>/dev/null || echo 1)
    # cmocka prints one summary per group: "[  PASSED  ] N test(s)." and,
    # when some failed, "[  FAILED  ] N test(s), listed below:".
    p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$tmp/$name.out" | awk '{s += $1} END {print s + 0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s), listed below.*/\1/p' "$tmp/$name.out" | awk '{s += $1} END {print s + 0}')
    # a failed group setup or teardown is reported, but in no count
    f=$((f + $(grep -c '^\[  FAILED  \] GROUP ' "$tmp/$name.out")))
    groups=$(grep -c '^\[==========\] .*test(s) run\.$' "$tmp/$name.out")
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        # a crash, a sanitizer report, a timeout (124) or a failed setup
        echo "run-tests: $name exited with status $rc" >&2
        failed=$((failed + 1))
    elif [ "$groups" -eq 0 ]; then
        echo "run-tests: $name printed no cmocka summary" >&2
        failed=$((failed + 1))
    fi
done

if [ "$found" -eq 0 ]; then
    echo "run-tests: no test binaries in $BUILD/tests" >&2
    failed=$((failed + 1))
fi
echo "tests: $passed passed, $failed failed"
echo "$passed $failed" > "${CPQD_SUMMARY:-$BUILD/test-summary}"
[ "$failed" -eq 0 ]
