#!/bin/sh
# The write path (issue 12): POST /v1/quotes of the 20-line request of
# bench_price --write, each request a new quote, durable (SQLite, WAL,
# synchronous=FULL), at wrk -c16 and -c64; the database bytes per stored
# quote, events included; then accept + schedule of such quotes (each
# request a contract with its receivables, durable).
#   tests/bench/bench_write.sh BUILD_DIR
# Every figure is printed under the command that produced it. Bounded: each
# wrk run lasts $BENCH_SECONDS (default 10) on 127.0.0.1 only.
# BENCH_WRITE_THREADS: the server's --threads (default: the server's own).
# BENCH_PERF=FILE: perf record of the server during the acceptances;
# BENCH_PERF_QUOTES=FILE: during the -c16 quotes (BENCH_PERF_ARGS: perf's
# options, default -g).
set -eu
B=${1:-build/release}
SECS=${BENCH_SECONDS:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
PID=""
cleanup() {
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

. "$HERE/common.sh" # free_port, wait_up

# A rep key (its limits are lifted below: docs/auth.md "Limits").
new_key() { # NAME [ROLE]
    "$B/cpqd" key new --keys "$TMP/keys.yaml" --role "${2:-rep}" --name "bench $1" 2>/dev/null
}

wrk_figures() { # FILE: the lines of wrk's report this bench reads
    grep -E 'Requests/sec|Latency  |^ +(50|90|99)%|requests in|Non-2xx' "$1"
}

# The server's CPU time (user + system, all threads) in clock ticks, and
# the machine's load: the rates depend on what else runs on the cores,
# the CPU time per request much less.
HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
ok_requests() { # FILE: wrk's requests minus its non-2xx
    awk -v r="$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$1")" \
        -v b="$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' "$1")" 'BEGIN { print r - b }'
}
cpu_per() { # TICKS FILE: the server's CPU microseconds per 2xx request of wrk's FILE
    awk -v t="$1" -v hz="$HZ" -v n="$(ok_requests "$2")" 'BEGIN { printf "%.0f", n ? t * 1e6 / hz / n : 0 }'
}

"$B/bench/bench_price" catalogs rules --write "$TMP" > /dev/null
tr -d '\n' < "$TMP/price-20.json" > "$TMP/quote-20.jsonl"
echo >> "$TMP/quote-20.jsonl"
echo '{"signed_on": "2026-11-05"}' > "$TMP/accept.json"
echo '{}' > "$TMP/empty.json"
: > "$TMP/keys.yaml"
K16=$(new_key c16)
K64=$(new_key c64)
KACC=$(new_key accept admin)
awk '{ print } /^ *- id: / { print "    quotes_per_minute: 100000"; print "    bytes_per_day: 1000000000000" }' \
    "$TMP/keys.yaml" > "$TMP/keys.new" && mv "$TMP/keys.new" "$TMP/keys.yaml"
PORT=$(free_port 7919)
THREADS=${BENCH_WRITE_THREADS:+--threads $BENCH_WRITE_THREADS}
echo "\$ cpqd serve --catalogs catalogs --rules rules --keys keys.yaml --db bench.db --clock 2026-11-05 $THREADS"
# shellcheck disable=SC2086
"$B/cpqd" serve --catalogs catalogs --rules rules --keys "$TMP/keys.yaml" --listen 127.0.0.1:"$PORT" \
    --log-level warn --db "$TMP/bench.db" --clock 2026-11-05 --sweep-every 0 $THREADS 2>"$TMP/serve.log" &
PID=$!
wait_up "http://127.0.0.1:$PORT/healthz" server || { cat "$TMP/serve.log" >&2; exit 1; }
for c in 16 64; do
    eval key=\$K$c
    echo "\$ wrk -t2 -c$c -d${SECS}s --latency -s wrk_post.lua http://127.0.0.1:PORT -- /v1/quotes quote-20.jsonl KEY"
    echo "load average before: $(load)"
    t0=$(cpu_ticks)
    # BENCH_PERF_QUOTES=FILE: a perf profile of the server during the -c16 quotes
    [ -n "${BENCH_PERF_QUOTES:-}" ] && [ "$c" = 16 ] && {
        perf record ${BENCH_PERF_ARGS:--g} -p "$PID" -o "$BENCH_PERF_QUOTES" -- sleep "$SECS" \
            >/dev/null 2>&1 &
    }
    wrk -t2 -c$c -d"${SECS}s" --latency -s "$HERE/wrk_post.lua" "http://127.0.0.1:$PORT" \
        -- /v1/quotes "$TMP/quote-20.jsonl" "$key" > "$TMP/wrk-$c.txt"
    eval cpu$c=$(cpu_per $(($(cpu_ticks) - t0)) "$TMP/wrk-$c.txt")
    wrk_figures "$TMP/wrk-$c.txt"
    eval echo "server CPU per quote: \$cpu$c us"
done

echo "\$ curl /v1/quotes?limit=500&after=... (counted page by page, once it stays put); du db + WAL"
# requests wrk left in flight still commit after it exits: wait for them.
# list QUERY [MAX]: the ids of the quotes the list gives, page by page
# (docs/api.md "Lists"), at most MAX of them
list() {
    python3 - "$PORT" "$K16" "$1" "${2:-0}" <<'PY'
import json, sys, urllib.request
port, key, query, most = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
n, after = 0, None
while True:
    url = f"http://127.0.0.1:{port}/v1/quotes?limit=500{query}" + (f"&after={after}" if after else "")
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + key})
    page = json.load(urllib.request.urlopen(req))
    for q in page["items"]:
        print(q["id"])
        n += 1
        if most and n >= most:
            sys.exit(0)
    after = page["next"]
    if not after:
        break
PY
}
total() {
    list "" | wc -l
}
quotes=$(total)
while sleep 0.5; now=$(total); [ "$now" != "$quotes" ]; do quotes=$now; done
bytes=$(cat "$TMP"/bench.db* | wc -c)
qbytes=$quotes
awk -v q="$quotes" -v b="$bytes" 'BEGIN {
    if (q > 0) printf "store: %d quotes of 20 lines (with their events) in %d bytes (db + WAL): %.0f bytes per quote\n",
                      q, b, b / q }'

# the same quotes, each with an Idempotency-Key of its own (as the CRM
# sends them: the stored reply counts too); the database's growth, its
# WAL checkpointed into it (truncated) before and after
db_bytes() {
    python3 -c "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute('PRAGMA wal_checkpoint(TRUNCATE)')" \
        "$TMP/bench.db" && cat "$TMP"/bench.db* | wc -c
}
echo "\$ wrk -t2 -c16 -d${SECS}s -s wrk_post.lua http://127.0.0.1:PORT -- /v1/quotes quote-20.jsonl KEY keyed; du db (WAL checkpointed)"
b0=$(db_bytes)
wrk -t2 -c16 -d"${SECS}s" --latency -s "$HERE/wrk_post.lua" "http://127.0.0.1:$PORT" \
    -- /v1/quotes "$TMP/quote-20.jsonl" "$K16" keyed > "$TMP/wrk-keyed.txt"
wrk_figures "$TMP/wrk-keyed.txt"
keyed=$(total)
while sleep 0.5; now=$(total); [ "$now" != "$keyed" ]; do keyed=$now; done
b1=$(db_bytes)
keyed_bytes=$(awk -v q=$((keyed - quotes)) -v b=$((b1 - b0)) 'BEGIN { printf "%.0f", (q > 0 ? b / q : 0) }')
echo "store: $((keyed - quotes)) quotes with an Idempotency-Key in $((b1 - b0)) bytes: $keyed_bytes bytes per quote"
quotes=$keyed

# accept + schedule: the newest quotes, submitted and approved (their
# discounts need the vp level: an admin key), then accepted, each once;
# as many as 3,000 acceptances a second would use (at most 30,000).
# BENCH_QUOTES_ONLY=1 leaves the acceptances out (a quicker measure of
# the quotes alone).
if [ -z "${BENCH_QUOTES_ONLY:-}" ]; then
n=$(awk -v q="$quotes" -v s="$SECS" 'BEGIN { m = s * 3000; m = m < 30000 ? m : 30000; print (q < m ? q : m) }')
: > "$TMP/ids"
list "" "$n" > "$TMP/ids"
awk -v n="$n" '!seen[$0]++ && ++k <= n' "$TMP/ids" > "$TMP/ids.new" && mv "$TMP/ids.new" "$TMP/ids"
# submitted and approved ahead of the measure, 16 at a time (curl's
# parallel transfers end when the ids do; wrk would wait out its -d)
for action in submit approve; do
    echo "\$ curl -Z --parallel-max 16 -X POST -d {} .../v1/quotes/ID/$action  (ids($n))"
    sed "s|.*|url = \"http://127.0.0.1:$PORT/v1/quotes/&/$action\"\noutput = \"/dev/null\"|" "$TMP/ids" \
        > "$TMP/$action.cfg"
    start=$(date +%s.%N)
    curl -s --no-progress-meter -Z --parallel-max 16 -X POST -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $KACC" -d '{}' -w '%{http_code}\n' -K "$TMP/$action.cfg" \
        > "$TMP/$action.codes" || true
    awk -v s="$start" -v e="$(date +%s.%N)" '{ n[$1]++ } END {
        printf "%d requests in %.1f s:", NR, e - s; for (c in n) printf " %s x %d", c, n[c]; print "" }' \
        "$TMP/$action.codes"
done
echo "\$ wrk -t2 -c16 -d${SECS}s --latency -s wrk_ids.lua http://127.0.0.1:PORT -- /v1/quotes/%s/accept ids($n) accept.json KEY"
echo "load average before: $(load)"
t0=$(cpu_ticks)
# BENCH_PERF=FILE: a perf profile of the server during the acceptances
[ -n "${BENCH_PERF:-}" ] && { perf record ${BENCH_PERF_ARGS:--g} -p "$PID" -o "$BENCH_PERF" -- sleep "$SECS" \
    >/dev/null 2>&1 & }
wrk -t2 -c16 -d"${SECS}s" --latency -s "$HERE/wrk_ids.lua" "http://127.0.0.1:$PORT" \
    -- /v1/quotes/%s/accept "$TMP/ids" "$TMP/accept.json" "$KACC" 2 > "$TMP/wrk-accept.txt"
cpuacc=$(cpu_per $(($(cpu_ticks) - t0)) "$TMP/wrk-accept.txt")
wrk_figures "$TMP/wrk-accept.txt"
echo "server CPU per acceptance: $cpuacc us; load average after: $(load)"
contracts=$(list "&status=accepted" | wc -l)
echo "accepted quotes (contracts with their receivables): $contracts"
fi

kill -TERM "$PID"
wait "$PID" && echo "server exited 0 on SIGTERM"
PID=""

# side by side (issue 12's figures)
rps() { sed -n 's/^Requests\/sec: *//p' "$1"; }
pct() { sed -n "s/^ *$2% *//p" "$1"; }
non2xx() { n=$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' "$1"); echo "${n:-0}"; }
echo
echo "== write path, side by side (issue 12: targets)"
printf '%-52s %-34s %s\n' "figure" "this run" "target"
for c in 16 64; do
    eval cpu=\$cpu$c
    printf '%-52s %-34s %s\n' "POST /v1/quotes, 20 lines, wrk -c$c, durable" \
        "$(rps "$TMP/wrk-$c.txt")/s, p50 $(pct "$TMP/wrk-$c.txt" 50), p99 $(pct "$TMP/wrk-$c.txt" 99) ($(non2xx "$TMP/wrk-$c.txt") non-2xx; server CPU $cpu us/quote)" \
        ">= 5,000/s, p99 < 20 ms"
done
printf '%-52s %-34s %s\n' "database bytes per stored 20-line quote, events incl." \
    "$(awk -v q="$qbytes" -v b="$bytes" 'BEGIN { printf "%.0f B", q ? b / q : 0 }'); with an Idempotency-Key $keyed_bytes B" "<= 8 KB"
ok2xx() { awk -v r="$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$1")" -v b="$(non2xx "$1")" -v s="$SECS" \
    'BEGIN { printf "%.0f", (r - b) / s }'; }
[ -n "${BENCH_QUOTES_ONLY:-}" ] || printf '%-52s %-34s %s\n' "accept + schedule of a 20-line quote, durable" \
    "$(ok2xx "$TMP/wrk-accept.txt") accepted/s, p99 $(pct "$TMP/wrk-accept.txt" 99) ($(non2xx "$TMP/wrk-accept.txt") non-2xx; server CPU $cpuacc us/acceptance)" ">= 2,000/s"
echo "machine: $(nproc) cores, load average now: $(load)"
