#!/usr/bin/env python3
"""test_sample_api.py: `floe sample-api`, the local Binance-like API.

The trades are predicted here from the algorithm in docs/sample-api.md
(re-implemented below), and every page must equal the prediction byte for
byte. Then: the Binance shape field by field, each pagination style walked
to the end of a 2,500-trade range, limit bounds and Binance's error bodies,
/stats against what the test sent, the token bucket's 429 + Retry-After and
recovery (global and per client address), the seeded 503s and slow answers
request by request, flag validation, and a clean exit on SIGTERM. And
startTime/endTime (endTime exclusive) on the trades endpoints, alone, with
fromId, and crawling one interval in pages.
"""

import atexit
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from floe_e2e import _SANITIZER, Suite, floe_bin, free_ports  # noqa: E402

M64 = (1 << 64) - 1
# name: (price of trade 0 in ticks, price decimals, quantity decimals, most units)
SYMBOLS = {
    "BTCUSDT": (3000000, 2, 5, 100000),
    "ETHUSDT": (200000, 2, 4, 100000),
    "BNBUSDT": (30000, 2, 3, 50000),
}


def mix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for c in s.encode():
        h = ((h ^ c) * 0x100000001B3) & M64
    return h


def seeded_unit(seed, k):
    return (mix64(seed ^ mix64(k)) >> 11) / float(1 << 53)


def e8(v):
    return "%d.%08d" % (v // 100000000, v % 100000000)


def predict(symbol, count, start_ms, span_ms):
    """Every trade of symbol, as the JSON text the server sends for each."""
    start, pd, qd, qmax = SYMBOLS[symbol]
    seed = fnv1a64(symbol)

    def word(i, k):
        return mix64(seed ^ mix64(((i << 2) | k) & M64))

    step = max(start // 20000, 1)
    lo, hi = start // 10, start * 10
    out, p = [], start
    for i in range(count):
        if i > 0:
            p = p + (word(i, 0) % (2 * step + 1)) - step
            if p < lo:
                p = 2 * lo - p
            if p > hi:
                p = 2 * hi - p
        q = word(i, 1)
        units = 1 + (q % 1000) * ((q >> 32) % 1000) * (qmax - 1) // 998001
        t = {"id": i, "price": e8(p * 10 ** (8 - pd)), "qty": e8(units * 10 ** (8 - qd)),
             "quoteQty": e8(p * units * 10 ** (8 - pd - qd)), "time": start_ms + i * span_ms // count,
             "isBuyerMaker": bool(word(i, 2) & 1), "isBestMatch": True}
        out.append(json.dumps(t, separators=(",", ":")))
    return out


def arr(trades):
    return ("[" + ",".join(trades) + "]").encode()


class SampleApi:
    """One `floe sample-api` process on a free port of 127.0.0.1."""

    def __init__(self, t, args):
        self.t = t
        self.log = os.path.join(t.tmp, "sample-api.%d.log" % t.next_log())
        for _ in range(3):
            self.port = free_ports(1)[0]
            with open(self.log, "wb") as f:
                self.proc = subprocess.Popen([floe_bin(), "sample-api", "--port", str(self.port)] + args,
                                             stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            deadline = time.time() + 10
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    if self.get("/stats")[0] == 200:
                        RUNNING.append(self)
                        return
                except OSError:
                    time.sleep(0.1)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            if "in use" not in open(self.log, errors="replace").read():
                break
        raise RuntimeError("sample-api did not come up:\n" + open(self.log, errors="replace").read())

    def get(self, path, source=None, timeout=20):
        """GET path; (status, headers with lower-case names, body bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                       source_address=(source, 0) if source else None)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def stats(self):
        return json.loads(self.get("/stats")[2])

    def stop(self):
        """SIGTERM: exit 0 within 10 s, no sanitizer report."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "timeout"
        RUNNING.remove(self)
        self.t.eq(0, rc, "sample-api exits 0 on SIGTERM")
        text = open(self.log, errors="replace").read()
        m = _SANITIZER.search(text)
        self.t.check(not m, "no sanitizer report in the sample-api log", text[m.start():m.start() + 3000] if m else "")


RUNNING = []
t = Suite()


def cleanup():
    for s in list(RUNNING):
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


atexit.register(cleanup)

COUNT, START_MS, SPAN_MS = 2500, 1709251200000, 3600000  # 2024-03-01T00:00:00Z, one hour
try:
    api = SampleApi(t, ["--trades", str(COUNT), "--start", "2024-03-01T00:00:00Z", "--span", "1h",
                        "--rate-limit", "0"])
except RuntimeError as e:
    t.fail(str(e))
    t.finish()

sent = Counter()  # (path, status) of every counted request


def get(path, source=None):
    st, h, body = api.get(path, source)
    sent[(urllib.parse.urlsplit(path).path, st)] += 1
    return st, h, body


want = {s: predict(s, COUNT, START_MS, SPAN_MS) for s in SYMBOLS}

print("# the Binance trade shape, field by field")
st, h, body = get("/api/v3/trades?symbol=BTCUSDT&limit=5&fromId=0")
t.eq(200, st, "trades fromId=0 answers 200")
t.check(h.get("content-type", "").startswith("application/json"), "content type is JSON", h.get("content-type"))
t.check(re.fullmatch(r"\d+", h.get("x-mbx-used-weight-1m", "")), "X-MBX-USED-WEIGHT-1M is sent", str(h))
rows = json.loads(body, object_pairs_hook=lambda kv: kv)
t.eq(5, len(rows), "limit=5 gives 5 trades")
t.eq(["id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isBestMatch"], [k for k, _ in rows[0]],
     "fields in Binance's order")
r0 = dict(rows[0])
t.check(isinstance(r0["id"], int) and r0["id"] == 0, "id is the integer 0", repr(r0["id"]))
for f in ("price", "qty", "quoteQty"):
    t.check(isinstance(r0[f], str) and re.fullmatch(r"\d+\.\d{8}", r0[f]), "%s is a decimal string" % f, repr(r0[f]))
t.eq("30000.00000000", r0["price"], "BTCUSDT's first price")
t.check(abs(float(r0["price"]) * float(r0["qty"]) - float(r0["quoteQty"])) < 1e-6, "quoteQty = price x qty", str(r0))
t.eq(START_MS, r0["time"], "trade 0 is at --start (ms)")
t.check(isinstance(r0["isBuyerMaker"], bool) and r0["isBestMatch"] is True, "isBuyerMaker bool, isBestMatch true")
times = [dict(r)["time"] for r in rows]
t.check(times == sorted(times), "times do not decrease", str(times))
t.eq(arr(want["BTCUSDT"][:5]), body, "page equals the prediction byte for byte")

print("# determinism")
t.eq(body, get("/api/v3/trades?symbol=BTCUSDT&limit=5&fromId=0")[2], "the same request gives the same bytes")
last = json.loads(body)[-1]["id"]
st, _, nxt = get("/api/v3/trades?symbol=BTCUSDT&limit=7&fromId=%d" % (last + 1))
t.eq(arr(want["BTCUSDT"][last + 1:last + 8]), nxt, "the next page, predicted from the last id")
st, _, newest = get("/api/v3/trades?symbol=ETHUSDT")
t.eq(arr(want["ETHUSDT"][COUNT - 500:]), newest, "no fromId: the newest 500 (default limit)")
t.eq(newest, get("/api/v3/historicalTrades?symbol=ETHUSDT")[2], "historicalTrades answers the same")
t.eq(arr(want["BNBUSDT"][1234:1334]), get("/api/v3/trades?symbol=BNBUSDT&limit=100&fromId=1234")[2],
     "BNBUSDT from the middle of a checkpoint block")
t.eq(START_MS + (COUNT - 1) * SPAN_MS // COUNT, json.loads(newest)[-1]["time"], "the last trade ends the span")

print("# pagination to the end, in every style")
ids, body_all, frm = [], [], 0
while True:
    st, _, b = get("/api/v3/trades?symbol=BTCUSDT&limit=1000&fromId=%d" % frm)
    page = json.loads(b)
    if st != 200 or not page:
        break
    body_all += [json.dumps(x, separators=(",", ":")) for x in page]
    frm = page[-1]["id"] + 1
t.eq(want["BTCUSDT"], body_all, "fromId pages: all 2,500 trades, then an empty page")

got, off = [], 0
while True:
    st, _, b = get("/api/v1/trades_offset?symbol=ETHUSDT&offset=%d&limit=600" % off)
    d = json.loads(b)
    if st != 200 or not d["trades"]:
        break
    t.check(d["total"] == COUNT and d["offset"] == off and d["limit"] == 600, "offset page header at %d" % off,
            str({k: d[k] for k in ("total", "offset", "limit")}))
    got += [json.dumps(x, separators=(",", ":")) for x in d["trades"]]
    off += len(d["trades"])
t.eq(want["ETHUSDT"], got, "offset pages: every trade once")

got, page_no, pages = [], 1, None
while pages is None or page_no <= pages:
    st, _, b = get("/api/v1/trades_page?symbol=BNBUSDT&page=%d&size=700" % page_no)
    d = json.loads(b)
    pages = d["pages"]
    got += [json.dumps(x, separators=(",", ":")) for x in d["data"]["trades"]]
    page_no += 1
t.eq(4, pages, "page style: 4 pages of 700")
t.eq(want["BNBUSDT"], got, "page style: every trade once (selector data.trades)")
t.eq(b'{"page":5,"size":700,"pages":4,"data":{"trades":[]}}',
     get("/api/v1/trades_page?symbol=BNBUSDT&page=5&size=700")[2], "a page past the end is empty")

got, cursor, n = [], None, 0
while n < 20:
    st, _, b = get("/api/v1/trades_cursor?symbol=BTCUSDT&limit=999" + ("&cursor=" + cursor if cursor else ""))
    d = json.loads(b)
    got += [json.dumps(x, separators=(",", ":")) for x in d["data"]]
    cursor, n = d["next"], n + 1
    if cursor is None:
        break
t.eq(3, n, "cursor style: 3 pages, the last with next null")
t.eq(want["BTCUSDT"], got, "cursor style: every trade once")

got, url, n = [], "/api/v1/trades_link?symbol=ETHUSDT&limit=1000", 0
while url and n < 20:
    st, h, b = get(url)
    got += [json.dumps(x, separators=(",", ":")) for x in json.loads(b)]
    n += 1
    m = re.fullmatch(r'<([^>]*)>; rel="next"', h.get("link", ""))
    url = None
    if m:
        u = urllib.parse.urlsplit(m.group(1))
        t.check(u.netloc == "127.0.0.1:%d" % api.port, "Link names this server", m.group(1))
        url = u.path + "?" + u.query
t.eq(3, n, "link style: 3 pages, the last without a Link header")
t.eq(want["ETHUSDT"], got, "link style: every trade once")

print("# startTime and endTime (epoch ms; endTime exclusive)")
# trade i is at START_MS + i * SPAN_MS // COUNT: 1440 ms apart here
T = [START_MS + i * SPAN_MS // COUNT for i in range(COUNT)]


def first_at(ms):
    return next((i for i, x in enumerate(T) if x >= ms), COUNT)


def ids(path):
    st, _, b = get(path)
    t.eq(200, st, path)
    return [x["id"] for x in json.loads(b)] if st == 200 else []


s_ms, e_ms = T[500], T[1800]
t.eq(list(range(500, 1000)), ids("/api/v3/trades?symbol=BTCUSDT&limit=500&startTime=%d&endTime=%d" % (s_ms, e_ms)),
     "startTime picks the first trade at or after it")
t.eq(list(range(1700, 1800)), ids("/api/v3/trades?symbol=BTCUSDT&limit=500&fromId=1700&startTime=%d&endTime=%d"
                                  % (s_ms, e_ms)), "endTime stops before the first trade at or after it")
t.eq(list(range(1000, 1500)), ids("/api/v3/trades?symbol=BTCUSDT&limit=500&fromId=1000&startTime=%d" % s_ms),
     "fromId later than startTime: fromId wins")
t.eq(list(range(500, 510)), ids("/api/v3/trades?symbol=BTCUSDT&limit=10&fromId=3&startTime=%d" % s_ms),
     "startTime later than fromId: startTime wins")
t.eq(list(range(501, 511)), ids("/api/v3/historicalTrades?symbol=BTCUSDT&limit=10&startTime=%d" % (s_ms + 1)),
     "a startTime between two trades starts at the next (historicalTrades too)")
t.eq(list(range(1790, 1800)), ids("/api/v3/trades?symbol=BTCUSDT&limit=10&endTime=%d" % e_ms),
     "endTime alone: the newest trades before it")
t.eq([], ids("/api/v3/trades?symbol=BTCUSDT&startTime=%d&endTime=%d" % (e_ms, s_ms)), "endTime before startTime: []")
t.eq([], ids("/api/v3/trades?symbol=BTCUSDT&startTime=%d" % (T[-1] + 1)), "startTime after the last trade: []")
t.eq(list(range(0, 5)), ids("/api/v3/trades?symbol=BTCUSDT&limit=5&startTime=0"), "startTime 0: from the first")
# a crawl of one interval [start, end) in pages of 300: every trade in it once, none outside
got, frm = [], None
while True:
    q = "/api/v3/trades?symbol=ETHUSDT&limit=300&startTime=%d&endTime=%d" % (T[100], T[1234])
    page = ids(q + ("&fromId=%d" % frm if frm is not None else ""))
    got += page
    if len(page) < 300:
        break
    frm = page[-1] + 1
t.eq(list(range(100, 1234)), got, "an interval crawled in pages: each of its trades once")
st, _, b = get("/api/v3/trades?symbol=ETHUSDT&limit=3&startTime=%d" % T[7])
t.eq(arr(want["ETHUSDT"][7:10]), b, "the page equals the prediction byte for byte")

print("# limits and errors")


def err(path, status, code, what):
    st, _, b = get(path)
    try:
        d = json.loads(b)
    except ValueError:
        d = b
    t.eq((status, code), (st, d.get("code") if isinstance(d, dict) else d), what)
    t.check(isinstance(d, dict) and isinstance(d.get("msg"), str) and sorted(d) == ["code", "msg"],
            what + ": body is {code, msg}", repr(b))


err("/api/v3/trades?symbol=DOGEUSDT", 400, -1121, "unknown symbol: -1121 Invalid symbol")
err("/api/v3/trades", 400, -1102, "no symbol: -1102")
err("/api/v3/trades?symbol=BTCUSDT&limit=0", 400, -1130, "limit=0 is out of range")
err("/api/v3/trades?symbol=BTCUSDT&limit=1001", 400, -1130, "limit=1001 is out of range")
err("/api/v3/trades?symbol=BTCUSDT&limit=ten", 400, -1100, "limit=ten is not a number")
err("/api/v3/trades?symbol=BTCUSDT&fromId=-1", 400, -1100, "fromId=-1 is not a number")
err("/api/v1/trades_cursor?symbol=BTCUSDT&cursor=zz", 400, -1100, "a made-up cursor")
err("/api/v3/trades?symbol=BTCUSDT&startTime=yesterday", 400, -1100, "startTime=yesterday is not a number")
err("/api/v3/trades?symbol=BTCUSDT&endTime=-5", 400, -1100, "endTime=-5 is not a number")
err("/api/v3/nothing", 404, -1, "an unknown path is 404")
t.eq(1000, len(json.loads(get("/api/v3/trades?symbol=BTCUSDT&limit=1000&fromId=0")[2])), "limit=1000 is allowed")
t.eq(1, len(json.loads(get("/api/v3/trades?symbol=BTCUSDT&limit=1&fromId=0")[2])), "limit=1 is allowed")
t.eq(b"[]", get("/api/v3/trades?symbol=BTCUSDT&fromId=2500")[2], "fromId past the end: []")
st, _, b = get("/api/v3/time")
t.check(st == 200 and abs(json.loads(b)["serverTime"] - time.time() * 1000) < 60000, "/api/v3/time", repr(b))
t.eq((200, b"{}"), get("/api/v3/ping")[::2], "/api/v3/ping")

print("# /stats counts what was sent")
s = api.stats()
t.eq(sum(sent.values()), s["total"], "total")
by_path = Counter()
for (p, st), n in sent.items():
    by_path[p if p not in ("/api/v3/nothing",) else "other"] += n
t.eq(dict(by_path), s["by_path"], "by path")
by_status = Counter()
for (p, st), n in sent.items():
    by_status[str(st)] += n
t.eq(dict(by_status), s["by_status"], "by status")
t.eq((0, 0, 0), (s["rate_limited"], s["faults"], s["slow"]), "no 429s, faults or slow answers")
api.stop()

print("# rate limit: 2/s, burst 3, global")
rl = SampleApi(t, ["--trades", "100", "--rate-limit", "2", "--burst", "3", "--rate-scope", "global"])
t0 = time.time()
statuses, retry = [], None
for i in range(8):
    st, h, b = rl.get("/api/v3/ping")
    statuses.append(st)
    if st == 429 and retry is None:
        retry = h.get("retry-after")
        body429 = json.loads(b)
elapsed = time.time() - t0
t.eq([200, 200, 200], statuses[:3], "the burst of 3 is served")
ok = statuses.count(200)
t.check(429 in statuses and ok <= 3 + int(elapsed * 2) + 1, "then 429s (%d of 8 served in %.2f s)" % (ok, elapsed),
        str(statuses))
t.check(retry is not None and re.fullmatch(r"[1-9]\d*", retry) and int(retry) <= 1, "429 has Retry-After: 1",
        repr(retry))
t.eq(-1003, body429.get("code") if retry else None, "429 body is Binance's -1003")
time.sleep(int(retry or 1) + 0.1)
t.eq(200, rl.get("/api/v3/ping")[0], "after Retry-After the next request is served")
s = rl.stats()
t.eq(statuses.count(429), s["rate_limited"], "/stats counts the 429s")
t.eq(statuses.count(429), s["by_status"].get("429"), "/stats by_status has them too")
rl.stop()

print("# rate limit per client address")
pip = SampleApi(t, ["--trades", "100", "--rate-limit", "0.5", "--burst", "1"])
t.eq(200, pip.get("/api/v3/ping")[0], "127.0.0.1's first request")
st, h, _ = pip.get("/api/v3/ping")
t.eq(429, st, "127.0.0.1's second is limited")
t.eq("2", h.get("retry-after"), "Retry-After at 0.5/s is 2 s")
try:
    t.eq(200, pip.get("/api/v3/ping", source="127.0.0.2")[0], "127.0.0.2 has its own bucket")
except OSError as e:
    print("  SKIP 127.0.0.2 as a source address: %s" % e)
pip.stop()

print("# seeded faults and slow answers")
SEED, N, FAIL, SLOW_MS, SLOW = 42, 120, 0.2, 250, 0.1
fa = SampleApi(t, ["--trades", "100", "--rate-limit", "0", "--fail-rate", str(FAIL), "--seed", str(SEED),
                   "--slow-ms", str(SLOW_MS), "--slow-rate", str(SLOW)])
got, took = [], []
for k in range(N):
    t0 = time.time()
    st, _, b = fa.get("/api/v3/trades?symbol=BTCUSDT&limit=1&fromId=0")
    took.append(time.time() - t0)
    got.append(st)
    if st == 503 and got.count(503) == 1:
        t.check(json.loads(b).get("code") == -1001, "503 body is Binance's -1001", repr(b))
expect = [503 if seeded_unit(SEED, 2 * k) < FAIL else 200 for k in range(N)]
slow = [seeded_unit(SEED, 2 * k + 1) < SLOW for k in range(N)]
t.eq(expect, got, "each request's status is as the seed says")
t.check(0.1 * N < expect.count(503) < 0.3 * N, "about 20%% fail (%d of %d)" % (expect.count(503), N))
late = [k for k in range(N) if slow[k] and took[k] < SLOW_MS / 1000.0 - 0.01]
t.check(any(slow) and not late, "the %d seeded slow answers take >= %d ms" % (slow.count(True), SLOW_MS), str(late))
fast = sorted(took[k] for k in range(N) if not slow[k])
t.check(fast[len(fast) // 2] < SLOW_MS / 1000.0, "the others are fast (median %.3f s)" % fast[len(fast) // 2])
s = fa.stats()
t.eq((N, expect.count(503), slow.count(True)), (s["total"], s["faults"], s["slow"]), "/stats: total, faults, slow")
fa.stop()

print("# flags")
BAD_FLAGS = ((["--bogus", "1"], "--bogus"), (["--rate-limit", "fast"], "--rate-limit"),
             (["--port", "70000"], "--port"), (["--span", "3x"], "--span"), (["--rate-scope", "any"], "--rate-scope"),
             (["--fail-rate", "1.5"], "--fail-rate"), (["--start", "yesterday"], "--start"), (["--trades"], "--trades"))
for args, word in BAD_FLAGS:
    p = subprocess.run([floe_bin(), "sample-api"] + args, capture_output=True, text=True, timeout=20)
    t.check(p.returncode == 2 and word in p.stderr, "%s: exit 2 naming %s" % (" ".join(args), word),
            "exit %d: %s" % (p.returncode, p.stderr.strip()))
p = subprocess.run([floe_bin(), "sample-api", "--help"], capture_output=True, text=True, timeout=20)
t.check(p.returncode == 0 and "--rate-limit" in p.stdout, "--help lists the flags", p.stdout + p.stderr)

t.finish()
