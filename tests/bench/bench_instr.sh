#!/bin/sh
# bench_instr: instructions per request of the server, counted by
# valgrind's callgrind: a figure that does not move with what else runs on
# the cores, for comparing two builds on a busy machine (a rate or a CPU
# time there moves 10-20 % between two runs of the same build).
#
#   tests/bench/bench_instr.sh BUILD_DIR   (BUILD_DIR holds cpqd and bench/bench_price)
#
# One server under callgrind (sample catalogs and rules, --clock 2026-11-05,
# an embedded store in a temporary directory, 127.0.0.1 only); each kind of
# request is sent one at a time with curl, first BENCH_INSTR_WARM times
# (default 30: connections opened, statements prepared, caches filled),
# then the counters are zeroed and BENCH_INSTR_N (default 200) more are
# counted: every thread of the server process (request threads, write
# threads, the writer), its user-space instructions only (the kernel's
# work, a system call, an fsync, is not counted). Kinds: GET /healthz, the
# 20-line POST /v1/price of bench_price, POST /v1/quotes with the same
# lines, and POST /v1/quotes/{id}/accept of such quotes (submitted and
# approved beforehand, not counted). Takes about a minute.
set -eu
B=${1:-build/release}
WARM=${BENCH_INSTR_WARM:-30}
N=${BENCH_INSTR_N:-200}
TMP=$(mktemp -d)
PID=""
cleanup() {
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

if ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null; then
    echo "bench_instr: valgrind is not installed (make deps installs it)" >&2
    exit 1
fi
. "$(dirname "$0")/common.sh" # free_port, wait_up
p=$(free_port 3571)
U="http://127.0.0.1:$p"
"$B/bench/bench_price" catalogs rules --write "$TMP" > /dev/null
echo '{"signed_on": "2026-11-05"}' > "$TMP/accept.json"

echo "\$ valgrind --tool=callgrind $B/cpqd serve --catalogs catalogs --rules rules --clock 2026-11-05 --db x.db"
valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" "$B/cpqd" serve --catalogs catalogs \
    --rules rules --listen "127.0.0.1:$p" --log-level error --db "$TMP/x.db" --clock 2026-11-05 \
    2> "$TMP/valgrind.log" &
PID=$!
wait_up "$U/healthz" "the server under valgrind" 120 || exit 1

# send TIMES KIND: TIMES requests of KIND, one at a time; the statuses to FILE codes
send() {
    k=0
    while [ $k -lt "$1" ]; do
        k=$((k + 1))
        case $2 in
        healthz) curl -s -o /dev/null -w '%{http_code}\n' "$U/healthz" ;;
        price) curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
                   --data-binary @"$TMP/price-20.json" "$U/v1/price" ;;
        quote) curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
                   --data-binary @"$TMP/price-20.json" "$U/v1/quotes" ;;
        accept) id=$(sed -n "$(( $(cat "$TMP/accepted") + 1 ))p" "$TMP/ids")
                echo $(( $(cat "$TMP/accepted") + 1 )) > "$TMP/accepted"
                curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
                    --data-binary @"$TMP/accept.json" "$U/v1/quotes/$id/accept" ;;
        esac
    done >> "$TMP/codes"
}
# count KIND: warm, zero, N counted, dump; prints instructions per request
dumps=0
count() {
    send "$WARM" "$1"
    callgrind_control -z "$PID" > /dev/null 2>&1
    : > "$TMP/codes"
    send "$N" "$1"
    callgrind_control -d "$PID" > /dev/null 2>&1
    dumps=$((dumps + 1))
    f="$TMP/cg.out.$dumps"
    ok=$(grep -c '^20[01]$' "$TMP/codes" || true)
    ir=$(sed -n 's/^summary: *//p' "$f")
    awk -v k="$1" -v ir="$ir" -v n="$N" -v ok="$ok" 'BEGIN {
        printf "%-8s %9.0f instructions per request (%d requests, %d answered 200/201)\n", k, ir / n, n, ok }'
    [ "$ok" -eq "$N" ] || { echo "bench_instr: $1: $((N - ok)) requests failed" >&2; exit 1; }
}

echo "instructions of the server process (all threads, user space) per request, $N counted after $WARM:"
count healthz
count price
# quotes to accept: made, submitted and approved before the measure
: > "$TMP/ids"
k=0
while [ $k -lt $((WARM + N)) ]; do
    k=$((k + 1))
    id=$(curl -s -H 'Content-Type: application/json' --data-binary @"$TMP/price-20.json" \
        "$U/v1/quotes" | sed -n 's/^{"id":"\([^"]*\)".*/\1/p') # the reply ends without a newline
    [ -n "$id" ] && echo "$id" >> "$TMP/ids"
done
[ "$(wc -l < "$TMP/ids")" -eq $((WARM + N)) ] || { echo "bench_instr: quotes not made: $(wc -l < "$TMP/ids") of $((WARM + N))" >&2; exit 1; }
for action in submit approve; do
    while read -r id; do
        curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d '{}' \
            "$U/v1/quotes/$id/$action"
    done < "$TMP/ids"
done
count quote
echo 0 > "$TMP/accepted"
count accept
kill -TERM "$PID"
wait "$PID" || true
PID=""
