#!/bin/sh
# make bench: catalog load time and memory, HTTP throughput on loopback.
# Every figure is printed under the command that produced it.
#   tests/bench/bench.sh BUILD_DIR   (BUILD_DIR holds cpqd, gencat, bench/)
# Bounded: each wrk run lasts $BENCH_SECONDS (default 10) on 127.0.0.1 only;
# the soak at the end $SOAK_SECONDS (default 600, 0 skips it).
set -eu
B=${1:-build/release}
SECS=${BENCH_SECONDS:-10}
TMP=$(mktemp -d)
PID=""
cleanup() {
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

run() {
    echo "\$ $*"
    "$@"
}

free_port() { # the first port nothing answers on (curl exits 7: refused); /dev/tcp
    p=$(( 20000 + $$ % 20000 ))  # is bash's, not sh's
    while curl -s -o /dev/null --connect-timeout 1 "http://127.0.0.1:$p/"; [ $? -ne 7 ]; do
        p=$((p + 1))
    done
    echo "$p"
}

echo "== machine: $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%d)"
echo
echo "== catalog load, in-process (best/median of N runs, resident memory)"
run "$B/bench/bench_load" catalogs "" 10
echo "\$ $B/gencat 100000 --seed 1 > gen/catalog.yaml"
mkdir -p "$TMP/gen"
"$B/gencat" 100000 --seed 1 > "$TMP/gen/catalog.yaml"
echo "generated: $(du -h "$TMP/gen/catalog.yaml" | cut -f1), $(grep -c '^  - sku:' "$TMP/gen/catalog.yaml") products"
run "$B/bench/bench_load" "$TMP/gen" rules 3

echo
echo "== HTTP on loopback (wrk -t2 -c64 -d${SECS}s; server --threads 2, sample catalogs)"
PORT=$(free_port)
"$B/cpqd" serve --catalogs catalogs --listen 127.0.0.1:"$PORT" --threads 2 --log-level warn \
    --db "$TMP/bench.db" &
PID=$!
i=0
until curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -gt 100 ] && { echo "server did not start" >&2; exit 1; }
    sleep 0.1
done
SKU=$(curl -fs "http://127.0.0.1:$PORT/v1/products?per_page=1&mode=goods_with_service" |
      sed -n 's/.*"sku": *"\([^"]*\)".*/\1/p' | head -n 1)
for path in /healthz "/v1/products/$SKU"; do
    echo "\$ wrk -t2 -c64 -d${SECS}s --latency http://127.0.0.1:PORT$path"
    wrk -t2 -c64 -d"${SECS}s" --latency "http://127.0.0.1:$PORT$path" > "$TMP/wrk.txt"
    grep -E 'Requests/sec|Latency  |^ +(50|90|99)%|requests in|Non-2xx' "$TMP/wrk.txt"
done
echo
echo "== pricing in-process (parse JSON, price, render JSON; appliances catalog, 2026-11-05:"
echo "   formulas, adders, requested discounts, Singles' Day + coupon with limit rules, exclusive bundle)"
run "$B/bench/bench_price" catalogs rules --write "$TMP"

echo
echo "== POST /v1/price over HTTP (same requests; curl, 1 connection, median of N)"
for n in 1 20 1000 10000; do
    case $n in 1|20) reps=50 ;; 1000) reps=20 ;; *) reps=7 ;; esac
    echo "\$ curl -s -o /dev/null -w '%{http_code} %{time_total}' -d @price-$n.json http://127.0.0.1:PORT/v1/price  (x$reps)"
    : > "$TMP/times"
    i=0
    while [ $i -lt $reps ]; do
        curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H 'Content-Type: application/json' \
            --data-binary @"$TMP/price-$n.json" "http://127.0.0.1:$PORT/v1/price" >> "$TMP/times"
        i=$((i + 1))
    done
    bad=$(awk '$1 != 200' "$TMP/times" | wc -l)
    sort -n -k2 "$TMP/times" | awk -v n=$n -v bad="$bad" '{t[NR] = $2} END {
        m = t[int((NR + 1) / 2)] * 1000;
        printf "%6d lines: median %.2f ms per request, %.2f us per line (%d requests, %d non-200)\n",
               n, m, m * 1000 / n, NR, bad }'
done

echo
echo "== wrk: POST /v1/price with 20 lines next to GET /healthz (same server, same run)"
sed "s|@BODY@|$TMP/price-20.json|" > "$TMP/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("@BODY@", "rb")
wrk.body = f:read("*a")
f:close()
LUA
echo "\$ wrk -t2 -c64 -d${SECS}s --latency -s post.lua http://127.0.0.1:PORT/v1/price"
wrk -t2 -c64 -d"${SECS}s" --latency -s "$TMP/post.lua" "http://127.0.0.1:$PORT/v1/price" > "$TMP/wrk.txt"
grep -E 'Requests/sec|Latency  |^ +(50|90|99)%|requests in|Non-2xx' "$TMP/wrk.txt"
price_rps=$(sed -n 's/^Requests\/sec: *//p' "$TMP/wrk.txt")
echo "\$ wrk -t2 -c64 -d${SECS}s --latency http://127.0.0.1:PORT/healthz"
wrk -t2 -c64 -d"${SECS}s" --latency "http://127.0.0.1:$PORT/healthz" > "$TMP/wrk.txt"
grep -E 'Requests/sec|Latency  |^ +(50|90|99)%|requests in|Non-2xx' "$TMP/wrk.txt"
health_rps=$(sed -n 's/^Requests\/sec: *//p' "$TMP/wrk.txt")

echo
echo "== wrk: POST /v1/quotes with 20 lines (each request stores a new quote: one SQLite"
echo "   transaction, WAL, synchronous=FULL), next to the /healthz run above"
sed "s|@BODY@|$TMP/price-20.json|; s|/v1/price|/v1/quotes|" "$TMP/post.lua" > "$TMP/quote.lua"
echo "\$ wrk -t2 -c16 -d${SECS}s --latency -s post.lua http://127.0.0.1:PORT/v1/quotes"
wrk -t2 -c16 -d"${SECS}s" --latency -s "$TMP/quote.lua" "http://127.0.0.1:$PORT/v1/quotes" > "$TMP/wrk.txt"
grep -E 'Requests/sec|Latency  |^ +(50|90|99)%|requests in|Non-2xx' "$TMP/wrk.txt"
quotes=$(curl -fs "http://127.0.0.1:$PORT/v1/quotes?per_page=1" | sed -n 's/.*"total": *\([0-9]*\).*/\1/p')
bytes=$(cat "$TMP"/bench.db* | wc -c)
awk -v q="$quotes" -v b="$bytes" 'BEGIN {
    if (q > 0) printf "store: %d quotes in %.1f MiB (db + WAL): %.1f MiB per 1,000 quotes of 20 lines\n",
                      q, b / 1048576, b / 1048576 / q * 1000 }'
awk -v p="$price_rps" -v h="$health_rps" 'BEGIN {
    printf "20-line price requests run at %.0f%% of the /healthz rate (%.0f vs %.0f req/s)\n",
           100 * p / h, p, h }'
echo "server resident memory after the runs: $(grep VmRSS /proc/$PID/status | tr -s ' ')"
kill -TERM "$PID"
wait "$PID" && echo "server exited 0 on SIGTERM"
PID=""

echo
echo "== configurator on the public benchmarks (\$CPQD_SHARED/configbench, imported by cpqd import)"
# Every sold configuration is replayed: BENCH_REPLAY_MEDIUM (default all
# 8,252, about 20 s) and BENCH_REPLAY_BIG (default all 8,337, about 5
# minutes; e.g. 1000 for a quicker run).
CB="${CPQD_SHARED:-$(cd "$(dirname "$0")/../.." && pwd)/../shared}/configbench"
if [ -d "$CB" ]; then
    for spec in "xcsp medium renault_fargier/medium_domainsorted.xml" \
                "xcsp big renault_fargier/big_domainsorted.xml" \
                "clib clib-renault clib_renault_partial" \
                "dimacs linux featuremodels/linux_2.6.33.3_Knueppel2017.dimacs" \
                "dimacs automotive02 featuremodels/automotive02_v1_Knueppel2017.dimacs"; do
        set -- $spec
        mkdir -p "$TMP/cb/$2"
        run "$B/cpqd" import "$1" "$CB/$3" -o "$TMP/cb/$2/catalog.yaml" --id "$2"
        run "$B/bench/bench_load" "$TMP/cb/$2" "" 3
    done
    # bench_config prints its own command line first
    "$B/bench/bench_config" "$TMP/cb/medium/catalog.yaml" \
        --replay "$CB/renault_fargier/config_medium_filtered.txt" --limit "${BENCH_REPLAY_MEDIUM:-all}"
    "$B/bench/bench_config" "$TMP/cb/big/catalog.yaml" \
        --replay "$CB/renault_fargier/config_big_filtered.txt" --limit "${BENCH_REPLAY_BIG:-all}"
    # README: Linux 2.6.33.3 has 456 variables with a single valid value (core + dead)
    "$B/bench/bench_config" "$TMP/cb/linux/catalog.yaml" --root --expect-singletons 456

    echo
    echo "== configurator: random sessions on every feature model (valid domains of every value"
    echo "   after each choice; 5 sessions from the root, up to 20 choices each, seed 7)"
    # Bounded: a model whose import exceeds BENCH_FM_IMPORT_BUDGET seconds
    # (default 60) or whose sessions exceed BENCH_FM_WALK_BUDGET (default
    # 120; the largest here, Automotive02, takes about 4 s) is skipped, and
    # said so. The whole section takes about 90 s on 2 cores.
    for fm in "$CB"/featuremodels/*.dimacs; do
        id=$(basename "$fm" .dimacs)
        mkdir -p "$TMP/fm/$id"
        echo "\$ $B/cpqd import dimacs \$CB/featuremodels/$id.dimacs -o fm/$id/catalog.yaml --id $id"
        rc=0
        timeout "${BENCH_FM_IMPORT_BUDGET:-60}" "$B/cpqd" import dimacs "$fm" \
            -o "$TMP/fm/$id/catalog.yaml" --id "$id" || rc=$?
        if [ $rc -ne 0 ]; then
            echo "skipped $id: import $([ $rc -eq 124 ] && echo "exceeded ${BENCH_FM_IMPORT_BUDGET:-60} s" || echo "failed ($rc)")"
            continue
        fi
        rc=0
        timeout "${BENCH_FM_WALK_BUDGET:-120}" "$B/bench/bench_config" "$TMP/fm/$id/catalog.yaml" \
            --walk 5 --steps 20 --seed 7 > "$TMP/walk.txt" || rc=$?
        cat "$TMP/walk.txt"
        case $rc in
            0) ;;
            124) echo "skipped $id: sessions exceeded ${BENCH_FM_WALK_BUDGET:-120} s" ;;
            *) echo "FAILED $id: bench_config exited $rc"; exit 1 ;;
        esac
        rm -rf "$TMP/fm/$id"
    done

    echo
    echo "== configurator over HTTP: Renault medium, first ${BENCH_HTTP_REPLAY:-200} sales, in-process then"
    echo "   POST /v1/configure (explain none), one keep-alive loopback connection, same steps"
    PORT=$(free_port)
    echo "\$ $B/cpqd serve --catalogs cb/medium --listen 127.0.0.1:PORT --db x.db"
    "$B/cpqd" serve --catalogs "$TMP/cb/medium" --listen 127.0.0.1:"$PORT" --log-level warn \
        --db "$TMP/x.db" &
    PID=$!
    i=0
    until curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "server did not start" >&2; exit 1; }
        sleep 0.1
    done
    SKU=$(sed -n 's/^  - sku: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$TMP/cb/medium/catalog.yaml" | head -n 1)
    timeout 300 "$B/bench/bench_config" "$TMP/cb/medium/catalog.yaml" \
        --replay "$CB/renault_fargier/config_medium_filtered.txt" --limit "${BENCH_HTTP_REPLAY:-200}" \
        --http "$PORT" --product "$SKU"
    kill -TERM "$PID"
    wait "$PID" && echo "server exited 0 on SIGTERM"
    PID=""
else
    echo "skipped: $CB not found (set CPQD_SHARED)"
fi

echo
echo "== contracts: schedule generation, outbox writes, webhook delivery (in-process, loopback)"
# bench_contracts prints its own command line first; WORK is a fresh
# directory under \$TMP. Bounded: 20 schedule runs, 20,300 outbox writes,
# delivery gives up after 60 s (about 0.3 s here for 1,000 events).
mkdir -p "$TMP/contracts"
"$B/bench/bench_contracts" catalogs rules "$TMP/contracts" --lines 1000 --events 1000

echo
echo "== payment matching: a generated statement of 10,000 credits against 20,000 open items"
echo "   (tests/finance_gen.h: missing references, typos, split, combined and overpaid payments,"
echo "   duplicates, payers under other names; BENCH_MATCH_SEED to replay), and its camt.053 parse"
# bench_match prints its own command line first
"$B/bench/bench_match" --items 20000 --credits 10000 --seed "${BENCH_MATCH_SEED:-$(date +%s)}" --camt

echo
echo "== the portal in headless chromium (tests/bench/portal.mjs; aims: < 300 KB and"
echo "   < 500 ms to interactive cold; one configuration step < 100 ms p95)"
echo "\$ node tests/bench/portal.mjs $B"
node tests/bench/portal.mjs "$B" || echo "portal figures: FAILED (node, chromium or tests/browser/node_modules missing?)"

echo
# The soak (tests/bench/soak.sh, also `make soak`): SOAK_SECONDS (default
# 600) of wrk at saturation with SOAK_RELOADS (default 100) reloads; a FAIL
# fails make bench. SOAK_SECONDS=0 skips it.
if [ "${SOAK_SECONDS:-600}" = 0 ]; then
    echo "== soak: skipped (SOAK_SECONDS=0)"
else
    sh "$(dirname "$0")/soak.sh" "$B"
fi
