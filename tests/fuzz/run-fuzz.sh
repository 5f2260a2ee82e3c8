#!/bin/sh
# Runs the libFuzzer targets of BUILD_DIR (build/fuzz) one after the other.
# For each target fuzz_X:
#   1. replays tests/fuzz/regress/fuzz_X/* (inputs that crashed once, fixed
#      since: a crash found once stays found);
#   2. fuzzes for SECONDS from the seeds in tests/fuzz/corpus/fuzz_X/ and
#      what earlier runs learnt (BUILD_DIR/corpus/fuzz_X/, where new inputs
#      go), with tests/fuzz/fuzz_X.dict when there is one; an input that
#      crashes, leaks, trips a sanitizer, runs longer than FUZZ_TIMEOUT
#      seconds (default 20) or needs more than 2 GiB fails the target and is
#      kept in BUILD_DIR/crashes/fuzz_X/ (fix the parser, then move it to
#      tests/fuzz/regress/fuzz_X/).
# Prints one line per target (runs, exec/s, crashes), a Markdown table of
# them, and "tests: N passed, N failed" (replay and fuzz run count one
# test each), also written to $CPQD_SUMMARY (default BUILD_DIR/test-summary).
# libFuzzer's own output goes to BUILD_DIR/logs/fuzz_X.log; its tail is
# printed when a target fails. Exits non-zero if any target failed.
#
# usage: tests/fuzz/run-fuzz.sh BUILD_DIR SECONDS [fuzz_X ...]
set -u

if [ $# -lt 2 ] || [ ! -d "$1" ]; then
    echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$1" && pwd)
SECONDS_EACH=$2
shift 2
TIMEOUT=${FUZZ_TIMEOUT:-20}
export CPQD_ROOT="$ROOT"
SHARED="${CPQD_SHARED:-$ROOT/../shared}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

targets="$*"
if [ -z "$targets" ]; then
    for t in "$BUILD"/fuzz_*; do
        case "$t" in *.d) continue ;; esac
        [ -x "$t" ] && targets="$targets $(basename "$t")"
    done
fi
if [ -z "$targets" ]; then
    echo "run-fuzz: no fuzz targets in $BUILD" >&2
    echo "tests: 0 passed, 1 failed"
    echo "0 1" > "${CPQD_SUMMARY:-$BUILD/test-summary}"
    exit 1
fi

passed=0
failed=0
table="| target | seconds | executions | exec/s | crashes | corpus |
|---|---:|---:|---:|---:|---:|"
mkdir -p "$BUILD/logs"
for name in $targets; do
    bin="$BUILD/$name"
    log="$BUILD/logs/$name.log"
    crashes="$BUILD/crashes/$name"
    corpus="$BUILD/corpus/$name"
    mkdir -p "$crashes" "$corpus"
    if [ ! -x "$bin" ]; then
        echo "run-fuzz: $bin is missing (make fuzz-build)" >&2
        failed=$((failed + 1))
        continue
    fi
    cd "$ROOT" || exit 2

    # 1. the regression inputs, each run once
    regress="$ROOT/tests/fuzz/regress/$name"
    nreg=$(ls "$regress" 2>/dev/null | wc -l)
    if [ "$nreg" -gt 0 ]; then
        if "$bin" -timeout="$TIMEOUT" -rss_limit_mb=2048 "$regress"/* > "$log.replay" 2>&1; then
            passed=$((passed + 1))
        else
            echo "run-fuzz: $name: a regression input fails again:" >&2
            tail -n 40 "$log.replay" >&2
            failed=$((failed + 1))
        fi
    fi

    # 2. the timed run
    dict=""
    [ -f "$ROOT/tests/fuzz/$name.dict" ] && dict="-dict=$ROOT/tests/fuzz/$name.dict"
    extra=""
    [ "$name" = fuzz_rules ] && [ -d "$SHARED/lua-attacks" ] && extra="$SHARED/lua-attacks"
    before=$(ls "$crashes" | wc -l)
    # shellcheck disable=SC2086
    timeout $((SECONDS_EACH + TIMEOUT + 120)) "$bin" -max_total_time="$SECONDS_EACH" \
        -timeout="$TIMEOUT" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$crashes/" $dict "$corpus" "$ROOT/tests/fuzz/corpus/$name" $extra \
        > "$log" 2>&1
    rc=$?
    after=$(ls "$crashes" | wc -l)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    if [ -z "$runs" ]; then # no final stats after a crash: the last status line
        runs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
        rate=$(sed -n 's/^#.*exec\/s: \([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
    fi
    runs=${runs:-0}
    rate=${rate:-0}
    ncrash=$((after - before))
    [ "$rc" -ne 0 ] && [ "$ncrash" -eq 0 ] && ncrash=1
    # the corpus libFuzzer kept (seeds and what it learnt, minimised)
    ncorpus=$(sed -n 's/^#.* corp: \([0-9][0-9]*\)\/.*/\1/p' "$log" | tail -n 1)
    ncorpus=${ncorpus:-0}
    echo "$name: $runs runs ($rate exec/s) in at most ${SECONDS_EACH} s, $ncrash crashes, $nreg regression inputs replayed, corpus of $ncorpus inputs"
    table="$table
| $name | $SECONDS_EACH | $runs | $rate | $ncrash | $ncorpus |"
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
    else
        echo "run-fuzz: $name failed (status $rc); input kept in $crashes/:" >&2
        grep -A 40 -m 1 '^==[0-9]*==ERROR\|runtime error\|^fuzz: \|ALARM\|out-of-memory\|Timeout' \
            "$log" | head -n 60 >&2
        failed=$((failed + 1))
    fi
done

echo
echo "$table"
echo
echo "tests: $passed passed, $failed failed"
echo "$passed $failed" > "${CPQD_SUMMARY:-$BUILD/test-summary}"
[ "$failed" -eq 0 ]
