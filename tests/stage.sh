#!/bin/sh
# tests/stage.sh NAME CMD...: runs CMD; appends "NAME: N s" (its wall-clock
# seconds) to build/test-stages.txt; exits with CMD's status.
name=$1
shift
t0=$(date +%s)
rc=0
"$@" || rc=$?
mkdir -p build
printf '%-24s %5d s%s\n' "$name:" $(( $(date +%s) - t0 )) "$([ $rc -eq 0 ] || echo "  (failed: $rc)")" \
    >> build/test-stages.txt
exit $rc
