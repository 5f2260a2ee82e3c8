#!/bin/sh
# The soak (issue 11, "Guards that keep it so"): wrk at saturation on
# POST /v1/price and POST /v1/configure for $SOAK_SECONDS (default 600)
# while $SOAK_RELOADS (default 100) catalog reloads, good and broken
# alternating, go through POST /v1/admin/reload. Passes when:
#   - wrk saw 0 non-2xx answers and 0 socket errors (timeout 10 s),
#   - every good reload answered 200 with a new version that /healthz then
#     serves, with the edited price served by GET /v1/products/{sku},
#   - every broken reload answered 422 and changed nothing (version and
#     price as after the last good reload), so the version changed exactly
#     as many times as there were good reloads,
#   - the server's resident memory (VmRSS, sampled every second) grew less
#     than 5% from just after warm-up (median over 10-20% of the run) to
#     the end (median over the last tenth): a median over many samples,
#     as RSS moves by a few 100 kB with the requests in flight,
#   - the server exits 0 on SIGTERM afterwards.
# Prints every figure under the command that produced it and ends with a
# PASS or FAIL line; exits 1 on FAIL.
#   tests/bench/soak.sh BUILD_DIR   (BUILD_DIR holds cpqd)
# Bounded and loopback-only: one server on 127.0.0.1 (--threads 2), two
# wrk processes (-t1 -c32 each) for $SOAK_SECONDS, files under a temp dir.
set -eu
B=${1:-build/release}
SECS=${SOAK_SECONDS:-600}
RELOADS=${SOAK_RELOADS:-100}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TMP=$(mktemp -d)
PID=""
WRK_P=""
WRK_C=""
SAMPLER=""
cleanup() {
    for p in $WRK_P $WRK_C $SAMPLER; do kill -TERM "$p" 2>/dev/null || true; done
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() { # from $1: the first port nothing answers on (curl: exit 7, refused)
    p=$1
    while curl -s -o /dev/null --connect-timeout 1 "http://127.0.0.1:$p/"; [ $? -ne 7 ]; do
        p=$((p + 1))
    done
    echo "$p"
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
sleep_until() { # ms since T0
    d=$(( $1 - ($(now_ms) - T0) ))
    [ "$d" -gt 0 ] && sleep "$(awk -v d="$d" 'BEGIN { printf "%.3f", d / 1000 }')"
    return 0
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status" 2>/dev/null || echo 0; }
json_str() { # json_str KEY FILE: the first "KEY":"value" of FILE
    grep -o "\"$1\": *\"[^\"]*\"" "$2" | head -n 1 | sed 's/.*: *"\(.*\)"/\1/'
}

case "$SECS$RELOADS" in *[!0-9]*) echo "SOAK_SECONDS and SOAK_RELOADS must be integers" >&2; exit 2 ;; esac
if [ "$SECS" -lt 10 ] || [ "$RELOADS" -lt 2 ]; then
    echo "soak: SOAK_SECONDS >= 10 and SOAK_RELOADS >= 2, please" >&2
    exit 2
fi

echo "== soak: wrk at saturation on POST /v1/price and POST /v1/configure for ${SECS} s,"
echo "   ${RELOADS} reloads through POST /v1/admin/reload (good and broken alternating)"
# The catalogs are a copy, so that reloads can edit them: a good reload
# moves the list price of APL-HOOD-T (in the 20-line price request) up by
# 1.00; a broken one also moves it, but with a YAML syntax error, an
# unknown key or a rule that does not compile beside it.
cp -R "$ROOT/catalogs" "$ROOT/rules" "$TMP/"
mkdir -p "$TMP/pristine"
cp "$TMP/catalogs/appliances.yaml" "$TMP/rules/appliances/carry_up_fee.lua" "$TMP/pristine/"
HOOD='{sku: APL-HOOD-T, list: "2999.00", floor: "2599.00", cost: "1850.00"}'
grep -qF "$HOOD" "$TMP/pristine/appliances.yaml" || {
    echo "soak: catalogs/appliances.yaml no longer has the line '$HOOD' the reloads edit" >&2
    exit 1
}
ADMIN=$("$B/cpqd" key new --keys "$TMP/keys.yaml" --role admin --name soak-admin 2>/dev/null)
REP=$("$B/cpqd" key new --keys "$TMP/keys.yaml" --role rep --name soak-rep 2>/dev/null)

# edit KIND PRICE: writes the catalog copy for one reload, each file
# replaced by a rename so the server never reads half a file.
edit() {
    case $1 in
        good|lua) new="{sku: APL-HOOD-T, list: \"$2\", floor: \"2599.00\", cost: \"1850.00\"}" ;;
        yaml) new="{sku: APL-HOOD-T, list: \"$2\", floor: \"2599.00\", cost: \"1850.00\"" ;;
        key) new="{sku: APL-HOOD-T, list: \"$2\", floor: \"2599.00\", cost: \"1850.00\", colour_code: red}" ;;
    esac
    awk -v old="$HOOD" -v new="$new" '{ i = index($0, old);
        if (i) $0 = substr($0, 1, i - 1) new substr($0, i + length(old)); print }' \
        "$TMP/pristine/appliances.yaml" > "$TMP/appliances.yaml.new"
    mv "$TMP/appliances.yaml.new" "$TMP/catalogs/appliances.yaml"
    cp "$TMP/pristine/carry_up_fee.lua" "$TMP/carry_up_fee.lua.new"
    [ "$1" = lua ] && echo 'return (' >> "$TMP/carry_up_fee.lua.new"
    mv "$TMP/carry_up_fee.lua.new" "$TMP/rules/appliances/carry_up_fee.lua"
}

echo "\$ $B/cpqd serve --catalogs soak/catalogs --rules soak/rules --listen 127.0.0.1:PORT --threads 2 \\"
echo "      --keys soak/keys.yaml --db soak/soak.db --clock 2026-11-05 --log-level warn"
# A port can be taken between the probe and the bind: then the next one.
PORT=$(( 20000 + ($$ + 7) % 20000 ))
tries=0
while :; do
    PORT=$(free_port "$PORT")
    URL="http://127.0.0.1:$PORT"
    "$B/cpqd" serve --catalogs "$TMP/catalogs" --rules "$TMP/rules" --listen "127.0.0.1:$PORT" \
        --threads 2 --keys "$TMP/keys.yaml" --db "$TMP/soak.db" --clock 2026-11-05 \
        --log-level warn 2> "$TMP/server.log" &
    PID=$!
    i=0
    until curl -fs "$URL/healthz" >/dev/null 2>&1 || ! kill -0 "$PID" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "server did not start" >&2; cat "$TMP/server.log" >&2; exit 1; }
        sleep 0.1
    done
    kill -0 "$PID" 2>/dev/null && break
    wait "$PID" || true
    PID=""
    tries=$((tries + 1))
    if [ $tries -ge 5 ] || ! grep -q 'cannot listen' "$TMP/server.log"; then
        echo "server did not start" >&2
        cat "$TMP/server.log" >&2
        exit 1
    fi
    PORT=$((PORT + 1))
done
curl -fs -o "$TMP/h.json" "$URL/healthz"
V0=$(json_str version "$TMP/h.json")
echo "serving version $V0, resident $(rss_kb) kB before load"

# Every request of both files answers 200 before the run starts.
for f in price configure; do
    while IFS= read -r body; do
        code=$(printf '%s' "$body" | curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $REP" \
               -H 'Content-Type: application/json' --data-binary @- "$URL/v1/$f")
        [ "$code" = 200 ] || { echo "soak: a $f request answers $code before the run" >&2; exit 1; }
    done < "$HERE/soak_$f.jsonl"
done

echo
echo "\$ wrk -t1 -c32 -d${SECS}s --timeout 10s --latency -s wrk_post.lua http://127.0.0.1:PORT -- /v1/price soak_price.jsonl REP_KEY &"
echo "\$ wrk -t1 -c32 -d${SECS}s --timeout 10s --latency -s wrk_post.lua http://127.0.0.1:PORT -- /v1/configure soak_configure.jsonl REP_KEY &"
echo "  (soak_price.jsonl: the 20-line appliances request of bench_price and a configured CNC-5AX-650"
echo "   line; soak_configure.jsonl: a 6-step CNC-5AX-650 session with explain full, one explain none)"
T0=$(now_ms)
wrk -t1 -c32 -d"${SECS}s" --timeout 10s --latency -s "$HERE/wrk_post.lua" "$URL" \
    -- /v1/price "$HERE/soak_price.jsonl" "$REP" > "$TMP/wrk_price.txt" 2>&1 &
WRK_P=$!
wrk -t1 -c32 -d"${SECS}s" --timeout 10s --latency -s "$HERE/wrk_post.lua" "$URL" \
    -- /v1/configure "$HERE/soak_configure.jsonl" "$REP" > "$TMP/wrk_configure.txt" 2>&1 &
WRK_C=$!

# reload N KIND PRICE: one reload and its checks; a line in reloads.txt.
GOOD=0
BROKEN=0
BAD=0
CHANGES=0
VCUR=$V0
PCUR=2999.00
reload() {
    edit "$2" "$3"
    t=$(now_ms)
    code=$(curl -s -m 60 -o "$TMP/r.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN" \
           "$URL/v1/admin/reload")
    ms=$(( $(now_ms) - t ))
    echo "$ms" >> "$TMP/reload_ms.txt"
    curl -s -m 10 -o "$TMP/h.json" "$URL/healthz" || true
    vnow=$(json_str version "$TMP/h.json")
    curl -s -m 10 -o "$TMP/p.json" -H "Authorization: Bearer $ADMIN" "$URL/v1/products/APL-HOOD-T" || true
    pnow=$(json_str list "$TMP/p.json")
    [ "$vnow" != "$VCUR" ] && CHANGES=$((CHANGES + 1))
    if [ "$2" = good ]; then
        GOOD=$((GOOD + 1))
        vans=$(json_str version "$TMP/r.json")
        vprev=$(json_str previous_version "$TMP/r.json")
        if [ "$code" = 200 ] && [ "$vprev" = "$VCUR" ] && [ "$vans" != "$VCUR" ] && [ "$vnow" = "$vans" ] &&
           [ "$pnow" = "$3" ]; then
            ok=ok
        else
            ok=FAILED; BAD=$((BAD + 1))
        fi
        line="reload $1 (good, list $3): $code in $ms ms, version $(echo "$VCUR" | cut -c1-12) -> $(echo "$vnow" | cut -c1-12), served list $pnow: $ok"
        [ "$ok" = FAILED ] && { echo "   answer: $(head -c 400 "$TMP/r.json")" >> "$TMP/reloads.txt"; }
        VCUR=$vnow
        [ "$code" = 200 ] && PCUR=$3
    else
        BROKEN=$((BROKEN + 1))
        ecode=$(json_str code "$TMP/r.json")
        if [ "$code" = 422 ] && [ "$ecode" = catalog_invalid ] && [ "$vnow" = "$VCUR" ] && [ "$pnow" = "$PCUR" ]; then
            ok=ok
        else
            ok=FAILED; BAD=$((BAD + 1))
        fi
        line="reload $1 (broken: $2, list $3): $code $ecode in $ms ms, version $(echo "$vnow" | cut -c1-12) (was $(echo "$VCUR" | cut -c1-12)), served list $pnow: $ok"
        [ "$ok" = FAILED ] && { echo "   answer: $(head -c 400 "$TMP/r.json")" >> "$TMP/reloads.txt"; }
        VCUR=$vnow
    fi
    echo "$line" >> "$TMP/reloads.txt"
}

# RSS every second while the load runs: "ms-since-start kB" lines.
( while [ $(( $(now_ms) - T0 )) -lt $(( SECS * 1000 - 500 )) ]; do
      echo "$(( $(now_ms) - T0 )) $(rss_kb)"
      sleep 1
  done ) > "$TMP/rss.txt" &
SAMPLER=$!
: > "$TMP/reloads.txt"
: > "$TMP/reload_ms.txt"
n=1
while [ $n -le "$RELOADS" ]; do
    at=$(( n * SECS * 1000 / (RELOADS + 1) ))
    sleep_until "$at"
    if [ $((n % 2)) = 1 ]; then
        reload "$n" good "$((3000 + (n - 1) / 2)).00"
    else
        case $(( (n / 2) % 3 )) in 1) kind=yaml ;; 2) kind=key ;; *) kind=lua ;; esac
        reload "$n" "$kind" "$((3500 + n)).00"
    fi
    n=$((n + 1))
done
wait "$SAMPLER" || true
SAMPLER=""
wait "$WRK_P" || true
WRK_P=""
wait "$WRK_C" || true
WRK_C=""
kill -0 "$PID" 2>/dev/null || { echo "soak: FAIL: the server died during the run"; tail -n 20 "$TMP/server.log"; exit 1; }
RSS_IDLE=$(rss_kb)
HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PID/status")

FAIL=""
for f in price configure; do
    echo
    echo "\$ wrk ... /v1/$f  (${SECS} s, 32 connections)"
    grep -E 'Requests/sec|Latency  |^ +(50|75|90|99)%|requests in|Non-2xx|Socket errors|rror' \
        "$TMP/wrk_$f.txt" || true
    total=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$TMP/wrk_$f.txt")
    non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$TMP/wrk_$f.txt")
    sock=$(sed -n 's/^ *Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' \
           "$TMP/wrk_$f.txt" | awk '{ print $1 + $2 + $3 + $4 }')
    echo "$f: ${total:-0} requests, ${non2xx:-0} non-2xx, ${sock:-0} socket errors"
    [ -n "$total" ] && [ "$total" -gt 0 ] || FAIL="$FAIL; wrk on /v1/$f did not run"
    [ "${non2xx:-0}" -eq 0 ] || FAIL="$FAIL; $non2xx non-2xx on /v1/$f"
    [ "${sock:-0}" -eq 0 ] || FAIL="$FAIL; $sock socket errors on /v1/$f"
done

echo
echo "\$ curl -X POST -H 'Authorization: Bearer ADMIN_KEY' http://127.0.0.1:PORT/v1/admin/reload  (x$RELOADS, then GET /healthz and GET /v1/products/APL-HOOD-T)"
# One line of each kind, then every failure.
awk '/\(good/ && !g++ || /broken: yaml/ && !y++ || /broken: key/ && !k++ || /broken: lua/ && !l++' "$TMP/reloads.txt"
grep -A1 FAILED "$TMP/reloads.txt" || true
sort -n "$TMP/reload_ms.txt" | awk '{ t[NR] = $1 } END {
    printf "reload answer time: median %d ms, max %d ms\n", t[int((NR + 1) / 2)], t[NR] }'
echo "good reloads: $GOOD, broken: $BROKEN, not as expected: $BAD; version changes seen: $CHANGES"
echo "final version $(echo "$VCUR" | cut -c1-12), APL-HOOD-T list $PCUR"
[ "$BAD" -eq 0 ] || FAIL="$FAIL; $BAD reloads not as expected"
[ "$CHANGES" -eq "$GOOD" ] || FAIL="$FAIL; $CHANGES version changes for $GOOD good reloads"

echo
echo "\$ grep VmRSS /proc/PID/status  (every second under load; medians per tenth of the run)"
# Prints the medians per tenth, then "WARM END" (tenths 2 and 10) on the last line.
awk -v total=$(( SECS * 1000 )) '
    function med(b,   i, j, m, t) {
        m = n[b]
        for (i = 0; i < m; i++) a[i] = v[b, i]
        for (i = 1; i < m; i++) {
            t = a[i]
            for (j = i - 1; j >= 0 && a[j] > t; j--) a[j + 1] = a[j]
            a[j + 1] = t
        }
        return m ? a[int((m - 1) / 2)] : 0
    }
    $2 > 0 { b = int($1 * 10 / total); if (b > 9) b = 9; v[b, n[b]++] = $2 }
    END {
        printf "resident by tenth of the run:"
        for (b = 0; b < 10; b++) printf " %.1f", med(b) / 1024
        printf " MiB (%d samples)\n%d %d\n", NR, med(1), med(9)
    }' "$TMP/rss.txt" > "$TMP/rss_sum.txt"
sed '$d' "$TMP/rss_sum.txt"
RSS_WARM=$(tail -n 1 "$TMP/rss_sum.txt" | cut -d' ' -f1)
RSS_END=$(tail -n 1 "$TMP/rss_sum.txt" | cut -d' ' -f2)
awk -v w="$RSS_WARM" -v e="$RSS_END" -v i="$RSS_IDLE" -v h="$HWM" 'BEGIN {
    printf "resident: %.2f MiB after warm-up (10-20%% of the run), %.2f MiB in the last tenth (%+.2f%%);\n", \
           w / 1024, e / 1024, w ? 100 * (e - w) / w : 0
    printf "%.1f MiB idle after the load; peak %.1f MiB\n", i / 1024, h / 1024 }'
awk -v w="$RSS_WARM" -v e="$RSS_END" 'BEGIN { exit !(w > 0 && 100 * (e - w) < 5 * w) }' ||
    FAIL="$FAIL; resident memory grew 5% or more"

kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
PID=""
if [ $rc -eq 0 ]; then
    echo "server exited 0 on SIGTERM"
else
    echo "server exited $rc on SIGTERM"
    FAIL="$FAIL; server exited $rc"
fi

echo
if [ -z "$FAIL" ]; then
    echo "soak: PASS (${SECS} s, $RELOADS reloads: 0 failed requests, RSS growth under 5%, the version changed only on the $GOOD good ones)"
else
    echo "soak: FAIL${FAIL#;}" | sed 's/FAIL /FAIL: /'
    echo "server log (last 20 lines):"
    tail -n 20 "$TMP/server.log"
    exit 1
fi
