#!/bin/sh
# make bench, several instances (issue 13): POST /v1/quotes (20 lines) on
# SQLite and on PostgreSQL with one instance and with two, side by side;
# a promotion budget under 2 x 32 concurrent acceptances, run after run.
#   tests/bench/bench_instances.sh BUILD_DIR
# Bounded: each wrk run lasts $BENCH_SECONDS (default 10), $BUDGET_RUNS
# budget runs (default 100); 127.0.0.1 only. PostgreSQL is a throwaway
# cluster (tests/pg-cluster.sh) with its durable defaults (fsync on).
set -eu
B=${1:-build/release}
SECS=${BENCH_SECONDS:-10}
RUNS=${BUDGET_RUNS:-100}
TMP=$(mktemp -d)
PIDS=""
PGDIR=""
cleanup() {
    rc=$?
    # a failed run shows the tail of each server's log before they go
    if [ "$rc" -ne 0 ]; then
        for f in "$TMP"/*.log; do
            [ -f "$f" ] && { echo "== $f (exit $rc)"; tail -n 20 "$f"; } >&2
        done
    fi
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    [ -n "$PGDIR" ] && sh tests/pg-cluster.sh stop "$PGDIR" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

. "$(dirname "$0")/common.sh" # free_port, wait_up

# start NAME DB THREADS [CATALOGS RULES]: a server; sets PORT, adds its pid.
# With CPU=N set, the server runs on core N alone (taskset): one instance
# stands for one machine's worth of cores, whatever its threads.
start() {
    PORT=$(free_port "$(echo "$PIDS" | wc -w)")
    ${CPU:+taskset -c "$CPU"} "$B/cpqd" serve --catalogs "${4:-catalogs}" --rules "${5:-rules}" --listen 127.0.0.1:"$PORT" \
        --threads "$3" --log-level warn --db "$2" --keys "$TMP/keys.yaml" --sweep-every 0 \
        --clock 2026-11-05 >"$TMP/$1.log" 2>&1 &
    PIDS="$PIDS $!"
    i=0
    until curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -gt 300 ] && { cat "$TMP/$1.log" >&2; echo "$1 did not start" >&2; exit 1; }
        sleep 0.1
    done
}

stop_all() {
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    PIDS=""
}

KEY=$("$B/cpqd" key new --keys "$TMP/keys.yaml" --role rep 2>/dev/null)
# a bench key: the write rate is what is measured, not the key's limit
printf '    quotes_per_minute: 6000000\n    bytes_per_day: 1099511627776\n' >>"$TMP/keys.yaml"
"$B/bench/bench_price" catalogs rules --write "$TMP" >/dev/null
sed "s|@BODY@|$TMP/price-20.json|; s|@KEY@|$KEY|" > "$TMP/quote.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer @KEY@"
local f = io.open("@BODY@", "rb")
wrk.body = f:read("*a")
f:close()
LUA

# cpu_ticks: busy and total jiffies of the whole machine (/proc/stat)
cpu_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
# cpqd_ticks: user + system jiffies of the running cpqd servers ($PIDS)
cpqd_ticks() { for p in $PIDS; do cat "/proc/$p/stat"; done | awk '{ t += $14 + $15 } END { print t + 0 }'; }

# wrk_on LABEL CONNS PORT...: one wrk per port (CONNS connections each, at
# the same time); prints the summed rate, the worst p99 and how busy the
# machine's cores were meanwhile (cpqd, PostgreSQL and wrk share them)
wrk_on() {
    label=$1 conns=$2
    shift 2
    c0=$(cpu_ticks) q0=$(cpqd_ticks)
    n=0
    for port in "$@"; do
        wrk -t1 -c"$conns" -d"${SECS}s" --latency -s "$TMP/quote.lua" \
            "http://127.0.0.1:$port/v1/quotes" >"$TMP/wrk-$n.txt" &
        eval "w$n=\$!"
        n=$((n + 1))
    done
    i=0
    while [ $i -lt $n ]; do eval "wait \$w$i"; i=$((i + 1)); done
    c1=$(cpu_ticks) q1=$(cpqd_ticks)
    cat "$TMP"/wrk-*.txt | awk -v label="$label" -v c0="$c0" -v c1="$c1" -v q="$((q1 - q0))" \
        -v hz="$(getconf CLK_TCK)" -v secs="$SECS" '
        /^Requests\/sec/ { rps += $2 }
        /^ +99%/ { v = $2; ms = v + 0; if (v ~ /us$/) ms /= 1000; else if (v ~ /[0-9]s$/) ms *= 1000;
                   if (ms > p99) p99 = ms }
        /Non-2xx/ { bad += $NF }
        END { split(c0, a, " "); split(c1, b, " ")
              printf "%-26s %6.0f quotes/s  p99 %6.1f ms  non-2xx %d  cores busy %3.0f%%  cpqd CPU %.2f ms/quote\n",
                     label, rps, p99, bad, 100 * (b[1] - a[1]) / (b[2] - a[2]),
                     (rps > 0 ? 1000 * q / hz / (rps * secs) : 0) }'
    rm -f "$TMP"/wrk-*.txt
}

echo "== machine: $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%d), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "== POST /v1/quotes, 20 lines (the request of bench_price --write), durable commits:"
echo "   wrk -t1 -c16 -d${SECS}s per instance, at the same time; instances --threads 1 each,"
echo "   each on one core of its own (taskset): two instances use both cores where one uses one,"
echo "   instance scaling on this machine"
CPU=0 start sqlite1 "$TMP/bench.db" 1
wrk_on "SQLite, 1 instance" 16 "$PORT"
stop_all

PGDIR=$(CPQD_PG_DURABLE=1 sh tests/pg-cluster.sh start)
BASE=$(sh tests/pg-cluster.sh url "$PGDIR")
mkdb() { # mkdb NAME: a fresh database in byte order; prints its URL
    psql -q "$BASE" -c "CREATE DATABASE $1 TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
    echo "$BASE" | sed "s|/postgres\$|/$1|"
}
DB1=$(mkdb bench1)
CPU=0 start pg1 "$DB1" 1
wrk_on "PostgreSQL, 1 instance" 16 "$PORT"
stop_all
DB2=$(mkdb bench2)
CPU=0 start pg2a "$DB2" 1
P1=$PORT
CPU=1 start pg2b "$DB2" 1
wrk_on "PostgreSQL, 2 instances" 16 "$P1" "$PORT"
stop_all

echo "   (cores busy near 100%: the machine, shared by cpqd, PostgreSQL and wrk, is the limit;"
echo "   cpqd CPU per quote, all instances together, shows what a second instance costs)"

echo
echo "== kill -9 of one of two instances under load (PostgreSQL, webhooks to a local receiver):"
echo "   16 writers post 20-line quotes to both for ${SECS}s, one instance gets SIGKILL halfway"
echo "\$ tests/bench/bench_kill.py $B DB_URL KEYS KEY price-20.json TMP $SECS"
DBK=$(mkdb killbench)
python3 tests/bench/bench_kill.py "$B" "$DBK" "$TMP/keys.yaml" "$KEY" "$TMP/price-20.json" "$TMP" "$SECS"

echo
echo "== a promotion budget across two instances: $RUNS runs, each 64 quotes of one new"
echo "   customer with 100.00 off a promotion its limit rule grants 10 times per customer,"
echo "   accepted by 2 x 32 concurrent requests (one instance each; PostgreSQL)"
mkdir -p "$TMP/cats" "$TMP/rules/budget"
cat >"$TMP/cats/budget.yaml" <<'YAML'
catalog: {id: budget, version: "1", name: Budget bench, currency: CNY, timezone: Asia/Shanghai,
          tax: {prices_include_tax: true, classes: {standard: "0.13"}}}
approval_levels:
  - {id: rep, max_discount: "10"}
  - {id: manager, max_discount: "100"}
products:
  - {sku: B-1, name: Budgeted gadget, category: gadgets, delivery: {mode: goods, payment_term: prepaid}}
payment_terms:
  - {id: prepaid, name: Prepaid, installments: [{percent: "100", due: signing}]}
price_books:
  - {id: list, name: List, currency: CNY, valid_from: 2026-01-01, audience: all,
     entries: [{sku: B-1, list: "1000.00"}]}
promotions:
  - {id: launch-100, name: Launch 100 off, valid_from: 2026-01-01, effect: {amount_off: "100.00"},
     limit: budget/ten.lua}
YAML
cat >"$TMP/rules/budget/ten.lua" <<'LUA'
if ctx.usage.customer_uses >= 10 then return false, "budget spent for this customer" end
return nil
LUA
DB3=$(mkdb budget)
start b1 "$DB3" 2 "$TMP/cats" "$TMP/rules"
P1=$PORT
start b2 "$DB3" 2 "$TMP/cats" "$TMP/rules"
python3 - "$P1" "$PORT" "$KEY" "$RUNS" <<'PY'
import json, sys, threading, time, urllib.request, urllib.error
p1, p2, key, runs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
H = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
def call(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(), H)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)
exact, t0 = 0, time.time()
for run in range(runs):
    cust = f"BUDGET-{run}"
    ids = []
    for i in range(64):
        st, q = call(p1, "/v1/quotes", {"customer": {"id": cust},
                                        "lines": [{"id": "b", "sku": "B-1", "quantity": "1"}]})
        assert st == 201 and q["total"] == "900.00", (st, q)
        st, q = call(p1, f"/v1/quotes/{q['id']}/submit", {})
        assert st == 200 and q["status"] == "approved", (st, q)
        ids.append(q["id"])
    got = [0] * 64
    def accept(i):
        got[i] = call(p1 if i % 2 == 0 else p2, f"/v1/quotes/{ids[i]}/accept",
                      {"signed_on": "2026-11-05"})[0]
    th = [threading.Thread(target=accept, args=(i,)) for i in range(64)]
    for t in th: t.start()
    for t in th: t.join()
    granted, refused = got.count(201), got.count(409)
    exact += granted == 10 and refused == 54
    if granted != 10 or refused != 54:
        print(f"run {run}: granted {granted}, refused {refused}, other {64 - granted - refused}")
dt = time.time() - t0
print(f"granted = min(demand 64, budget 10) exactly in {exact} of {runs} runs "
      f"({dt / runs:.2f} s per run: 64 quotes created and submitted, 64 acceptances)")
PY
stop_all
