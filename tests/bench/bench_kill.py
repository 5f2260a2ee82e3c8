#!/usr/bin/env python3
"""make bench, several instances (issue 13): kill -9 of one instance under load.

Two `cpqd serve` processes on one PostgreSQL database, both delivering
webhooks to one receiver (this script, on 127.0.0.1). Writers post
20-line quotes to both instances; halfway through, one instance gets
SIGKILL. Afterwards, with the other instance alone:

- every quote a client was told was written (201) is there
  (GET /v1/quotes/{id} on the survivor answers 200 with the same number);
- every event in the database reaches the receiver (the survivor takes
  over the killed instance's leases once they expire), among them the
  quote.created event of every acknowledged quote; nothing stays pending.

Deliveries twice are allowed (at least once) and counted.

  bench_kill.py BUILD DB_URL KEYS KEY BODY TMPDIR SECONDS

Bounded: SECONDS of load (16 writers), then at most 120 s waiting for the
outbox to drain; 127.0.0.1 only.
"""
import http.client
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time

B, DB, KEYS, KEY, BODY, TMP, SECS = sys.argv[1:8]
SECS = float(SECS)
LEASE = 3
WRITERS = 16

received = {}  # event id -> deliveries
rx_lock = threading.Lock()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        ev = self.headers.get("X-Cpqd-Event-Id", "")
        with rx_lock:
            received[ev] = received.get(ev, 0) + 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


rx = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=rx.serve_forever, daemon=True).start()
secret = os.path.join(TMP, "kill-webhook.secret")
with open(secret, "w") as f:
    f.write("bench-kill-secret-0123456789abcdef\n")
os.chmod(secret, 0o600)
with open(BODY, "rb") as f:
    body = f.read()


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(name):
    port = free_port()
    log = open(os.path.join(TMP, name + ".log"), "w")
    p = subprocess.Popen(
        [B + "/cpqd", "serve", "--catalogs", "catalogs", "--rules", "rules",
         "--listen", f"127.0.0.1:{port}", "--threads", "1", "--log-level", "warn",
         "--db", DB, "--keys", KEYS, "--sweep-every", "0", "--clock", "2026-11-05",
         "--webhook", f"http://127.0.0.1:{rx.server_address[1]}/hooks",
         "--webhook-secret", secret, "--webhook-lease", str(LEASE)],
        stdout=log, stderr=log)
    for _ in range(300):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return p, port
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"{name} did not start")


a, pa = start("kill-a")
b, pb = start("kill-b")
H = {"Authorization": "Bearer " + KEY, "Content-Type": "application/json"}
acked = {}  # quote id -> number
cut = [0]   # requests the kill cut short (no answer: not acknowledged)
other = [0]
lock = threading.Lock()
stop = threading.Event()


def writer(i):
    port = pa if i % 2 == 0 else pb
    conn = None
    while not stop.is_set():
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/v1/quotes", body, H)
            r = conn.getresponse()
            data = r.read()
            if r.status == 201:
                q = json.loads(data)
                with lock:
                    acked[q["id"]] = q["number"]
            else:
                with lock:
                    other[0] += 1
        except (OSError, http.client.HTTPException):
            with lock:
                cut[0] += 1
            conn = None
            port = pb  # the killed instance is gone: go on with the other
            time.sleep(0.05)


ws = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
for w in ws:
    w.start()
time.sleep(SECS / 2)
with lock:
    before = len(acked)
a.send_signal(signal.SIGKILL)
a.wait()
time.sleep(SECS / 2)
stop.set()
for w in ws:
    w.join()


def psql(sql):
    return subprocess.run(["psql", "-XAt", DB, "-c", sql], check=True,
                          capture_output=True, text=True).stdout.split()


deadline = time.time() + 120
while time.time() < deadline:
    left = int(psql("SELECT count(*) FROM outbox WHERE status <> 'delivered'")[0])
    if left == 0:
        break
    time.sleep(0.5)

lost_writes = 0
c = http.client.HTTPConnection("127.0.0.1", pb, timeout=30)
for qid, number in acked.items():
    c.request("GET", "/v1/quotes/" + qid, headers=H)
    r = c.getresponse()
    data = r.read()
    if r.status != 200 or json.loads(data).get("number") != number:
        lost_writes += 1
events = set(psql("SELECT id FROM outbox"))
created = set(psql("SELECT resource_id FROM outbox WHERE type = 'quote.created'"))
pending = int(psql("SELECT count(*) FROM outbox WHERE status <> 'delivered'")[0])
with rx_lock:
    got = dict(received)
lost_events = len(events - set(got))
acked_without_event = len(set(acked) - created)
twice = sum(1 for e in events if got.get(e, 0) > 1)
b.send_signal(signal.SIGTERM)
b.wait()
rx.shutdown()

print(f"{len(acked)} quotes acknowledged ({before} before the kill), {cut[0]} requests cut short "
      f"by the kill (never acknowledged), {other[0]} other answers")
print(f"acknowledged writes lost: {lost_writes}")
print(f"events: {len(events)} in the database, {len(events) - lost_events} delivered, "
      f"{lost_events} lost, {pending} still pending; acknowledged quotes without their "
      f"quote.created event: {acked_without_event}; delivered more than once: {twice}")
ok = lost_writes == 0 and lost_events == 0 and pending == 0 and acked_without_event == 0
print("kill -9 under load: " + ("PASS" if ok else "FAIL"))
sys.exit(0 if ok else 1)
