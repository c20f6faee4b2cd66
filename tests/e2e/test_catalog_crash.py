#!/usr/bin/env python3
"""test_catalog_crash.py: `floe serve` killed with SIGKILL under Iceberg
REST commit load, several rounds on one data dir.

Each round: 4 writers (catalog_load.Writer, each its own connection) commit
snapshots to crash.t, while another thread creates namespaces and a table
in each; once a few commits are acknowledged the server is killed after a
random 0.05-2.0 s. Every commit answered 200 is recorded with its snapshot
id, and so is the one commit each writer had in flight at the kill. After
each restart on the same data dir:

- the catalog opens and crash.t loads;
- every acknowledged commit of every round so far is in the history, on
  main's one parent line (no gap, sequence numbers 1..n, the snapshot log
  the same line);
- no snapshot id appears twice, every snapshot was sent by a writer, and
  one present without a 200 is a commit that was in flight at a kill
  (never one answered 409);
- the metadata file the catalog points at and every file in its
  metadata-log exist, and the current one holds main's state;
- every namespace and table create acknowledged before the kill is there,
  and each such table's metadata file exists;
- new commits work (3 more, acknowledged and then on the line).

Finally a clean SIGTERM stop. CATCRASH_ROUNDS sets the rounds (8). About
20 to 45 s with the ASan binary on 2 busy cores.
"""

import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from catalog_load import SCHEMA, Rest, Writer, check_history, wait_catalog  # noqa: E402
from floe_e2e import Suite  # noqa: E402

ROUNDS = int(os.environ.get("CATCRASH_ROUNDS", "8"))
WRITERS = 4
NS, TABLE = "crash", "t"
PATH = "/main/namespaces/%s/tables/%s" % (NS, TABLE)

t = Suite()
DATA = os.path.join(t.tmp, "data")
rnd = random.Random()


class Creator(threading.Thread):
    """Creates namespaces r<round>n<i> and a table t in each until stopped
    or the server goes away; records what was answered 200."""

    def __init__(self, url, token, rnd_no, stop):
        super().__init__(daemon=True)
        self.rest = Rest(url, token)
        self.round, self.stop = rnd_no, stop
        self.namespaces, self.tables, self.errors = [], {}, []

    def run(self):
        try:
            i = 0
            while not self.stop.is_set():
                ns = "r%dn%d" % (self.round, i)
                i += 1
                st, b = self.rest.call("POST", "/main/namespaces", {"namespace": [ns], "properties": {"i": str(i)}})
                if st != 200:
                    self.errors.append("create namespace %s: %s %r" % (ns, st, b))
                    return
                self.namespaces.append(ns)
                st, b = self.rest.call("POST", "/main/namespaces/%s/tables" % ns, {"name": "t", "schema": SCHEMA})
                if st != 200:
                    self.errors.append("create table %s.t: %s %r" % (ns, st, b))
                    return
                self.tables[ns] = b["metadata-location"]
                time.sleep(0.05)
        except OSError:
            pass  # the kill
        finally:
            self.rest.close()


def head_ok(s3, loc):
    bucket, key = loc[len("s3://"):].split("/", 1)
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except Exception:  # noqa: BLE001 - missing, or the server is down: both a failure here
        return False


acked = []  # every snapshot id answered 200, all rounds
sent = set()  # every snapshot id sent
inflight = set()  # snapshot ids sent and unanswered when the server died
namespaces, tables = [], {}


def verify(srv, what):
    rest = Rest(srv.catalog_url)
    rest.login()
    st, b = rest.call("GET", PATH + "?snapshots=all")
    if not t.eq(200, st, "%s: %s.%s loads" % (what, NS, TABLE)):
        print("       %r" % (b,))
        return None
    meta = b["metadata"]
    line = check_history(t, meta, acked, what)
    ids = set(s["snapshot-id"] for s in meta.get("snapshots", []))
    t.eq([], sorted(ids - sent)[:10], "%s: every snapshot was sent by a writer" % what)
    extra = ids - set(acked)
    t.eq([], sorted(extra - inflight)[:10],
         "%s: a snapshot without a 200 was in flight at a kill (%d of %d such)" % (what, len(extra), len(inflight)))
    s3 = t.client(srv)
    loc = b["metadata-location"]
    t.check(head_ok(s3, loc), "%s: the current metadata file exists" % what, loc)
    logged = [e["metadata-file"] for e in meta.get("metadata-log", [])]
    t.eq([], [f for f in logged if not head_ok(s3, f)][:5],
         "%s: every file in its metadata-log exists (%d)" % (what, len(logged)))
    st, lst = rest.call("GET", "/main/namespaces")
    have = set(tuple(n) for n in (lst or {}).get("namespaces", []))
    t.eq([], [n for n in namespaces if (n,) not in have][:10],
         "%s: every acknowledged namespace create (%d) survived" % (what, len(namespaces)))
    lost = []
    for ns, mloc in sorted(tables.items()):
        st, tb = rest.call("GET", "/main/namespaces/%s/tables/t" % ns)
        if st != 200 or tb.get("metadata-location") != mloc or not head_ok(s3, mloc):
            lost.append("%s.t: %s %s" % (ns, st, (tb or {}).get("metadata-location")))
    t.eq([], lost[:10], "%s: every acknowledged table create (%d) loads with its metadata file" % (what, len(tables)))
    rest.close()
    return line


t0 = time.time()
try:
    srv = t.start(data_dir=DATA)
    wait_catalog(srv)
except RuntimeError as e:
    t.fail(str(e))
    t.finish()
rest = Rest(srv.catalog_url)
rest.login()
t.eq(200, rest.call("POST", "/main/namespaces", {"namespace": [NS]})[0], "create namespace %s" % NS)
t.eq(200, rest.call("POST", "/main/namespaces/%s/tables" % NS, {"name": TABLE, "schema": SCHEMA})[0],
     "create table %s.%s" % (NS, TABLE))
rest.close()

for r in range(1, ROUNDS + 1):
    print("# round %d: %d writers and namespace creates, SIGKILL at a random moment" % (r, WRITERS), flush=True)
    token = Rest(srv.catalog_url).login()
    stop = threading.Event()
    writers = [Writer(srv.catalog_url, token, NS, TABLE, w, id_base=r * 10**10, stop=stop) for w in range(WRITERS)]
    creator = Creator(srv.catalog_url, token, r, stop)
    for th in writers + [creator]:
        th.start()
    limit = time.time() + 30
    while time.time() < limit and sum(len(w.acked) for w in writers) < 5 and all(w.is_alive() for w in writers):
        time.sleep(0.02)
    delay = rnd.uniform(0.05, 2.0)
    time.sleep(delay)
    srv.kill9()
    stop.set()
    for th in writers + [creator]:
        th.join(30)
    t.eq([], [w.wid for w in writers if w.is_alive()] + (["creator"] if creator.is_alive() else []),
         "round %d: every client stopped within 30 s of the kill" % r)
    errs = [e for w in writers for e in w.errors] + creator.errors
    t.eq([], errs[:5], "round %d: before the kill every answer was 200 or 409" % r)
    n = sum(len(w.acked) for w in writers)
    for w in writers:
        acked.extend(w.acked)
        sent.update(w.sent)
        if w.inflight is not None:
            inflight.add(w.inflight)
    namespaces.extend(creator.namespaces)
    tables.update(creator.tables)
    print("       killed after %.2f s more: %d commits acknowledged (%d in flight), %d namespaces, %d tables"
          % (delay, n, sum(1 for w in writers if w.inflight is not None), len(creator.namespaces),
             len(creator.tables)), flush=True)
    t.check(n > 0, "round %d: commits were acknowledged before the kill" % r)

    try:
        srv = t.start(data_dir=DATA)
        wait_catalog(srv)
    except RuntimeError as e:
        t.fail("round %d: the server does not start again on the same data dir: %s" % (r, e))
        break
    t.ok("round %d: the server starts again on the same data dir" % r)
    line = verify(srv, "after kill %d" % r)
    if line is None:
        break
    w = Writer(srv.catalog_url, Rest(srv.catalog_url).login(), NS, TABLE, 8, commits=3, id_base=r * 10**10,
               deadline=time.time() + 60)
    w.run()
    t.eq(([], None, 3), (w.errors, w.died, len(w.acked)), "after kill %d: 3 new commits are acknowledged" % r)
    acked.extend(w.acked)
    sent.update(w.sent)

print("# after %d kills: %d commits acknowledged in all, %d in flight at a kill" % (ROUNDS, len(acked), len(inflight)))
verify(srv, "at the end")
print("# run time %.1f s" % (time.time() - t0))
t.finish()
