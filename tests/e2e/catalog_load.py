"""catalog_load.py: Iceberg REST commit load for test_catalog_concurrency.py
and test_catalog_crash.py.

Rest is one HTTP/1.1 connection to the catalog port with a bearer token.
Writer makes snapshot commits to one table the way an Iceberg client does:
assert-ref-snapshot-id on main with the snapshot it last saw (null for an
empty table), add-snapshot (parent = that snapshot, sequence number = the
table's last + 1) and set-snapshot-ref main; a 409 reloads the table and
tries again with a fresh snapshot id. Every acknowledged commit (a 200) is
recorded with its snapshot id. check_history() holds the invariants both
tests assert over the table afterwards.

Snapshot ids say who made them: writer w's attempt n is
(w + 1) * 10**9 + n (plus a round's base in the crash test), so an id
seen in the table can be traced to one attempt.
"""

import http.client
import json
import random
import socket
import threading
import time
import urllib.parse

from floe_e2e import ACCESS_KEY, SECRET_KEY

SCHEMA = {"type": "struct", "schema-id": 0, "fields": [
    {"id": 1, "name": "id", "type": "long", "required": True},
    {"id": 2, "name": "v", "type": "string", "required": False}]}


class Rest:
    """One keep-alive connection to the catalog port. call() returns
    (status, parsed JSON body or None); a connection error raises OSError
    (http.client's errors included)."""

    def __init__(self, catalog_url, token=None, timeout=60):
        u = urllib.parse.urlparse(catalog_url)
        assert u.hostname == "127.0.0.1", catalog_url
        self.host, self.port, self.timeout = u.hostname, u.port, timeout
        self.token = token
        self.conn = None
        self.used = 0.0  # when the connection last answered


    def _connect(self):
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def call(self, method, path, body=None, form=False):
        # the server closes idle keep-alive connections; start afresh rather
        # than send on one it may have closed
        if self.conn is not None and time.time() - self.used > 5:
            self.close()
        if self.conn is None:
            self._connect()
        h = {}
        data = None
        if form:
            h["Content-Type"] = "application/x-www-form-urlencoded"
            data = urllib.parse.urlencode(body).encode()
        elif body is not None:
            h["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        try:
            self.conn.request(method, "/iceberg/v1" + path, body=data, headers=h)
            r = self.conn.getresponse()
            raw = r.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise OSError("%s %s: %s: %s" % (method, path, type(e).__name__, e)) from e
        self.used = time.time()
        if r.getheader("Connection", "").lower() == "close":
            self.close()
        try:
            return r.status, json.loads(raw) if raw else None
        except ValueError:
            return r.status, raw

    def login(self):
        st, b = self.call("POST", "/oauth/tokens", {"grant_type": "client_credentials", "client_id": ACCESS_KEY,
                                                    "client_secret": SECRET_KEY, "scope": "catalog"}, form=True)
        if st != 200:
            raise RuntimeError("no token: %s %r" % (st, b))
        self.token = b["access_token"]
        return self.token


def wait_catalog(srv, seconds=10):
    """Waits until the catalog port answers (a 401 without a token will do):
    Suite.start waits for the S3 port only, and `floe serve` opens the
    catalog after it. Raises RuntimeError after `seconds`."""
    deadline = time.time() + seconds
    while True:
        r = Rest(srv.catalog_url, timeout=2)
        try:
            st, _ = r.call("GET", "/config")
            if st in (200, 401):
                return
        except OSError:
            pass
        finally:
            r.close()
        if time.time() > deadline:
            raise RuntimeError("the catalog port %s did not answer within %d s:\n%s"
                               % (srv.catalog_url, seconds, srv.log_tail()))
        time.sleep(0.05)


def main_state(meta):
    """(main's snapshot id or None, last-sequence-number) of table metadata."""
    ref = (meta.get("refs") or {}).get("main")
    return (ref["snapshot-id"] if ref else None), meta.get("last-sequence-number", 0)


def commit_body(ns, table, seen, seq, sid):
    # small on purpose: the whole history is parsed and written on every
    # commit, so its size is what the load costs
    snap = {"snapshot-id": sid, "sequence-number": seq + 1, "timestamp-ms": int(time.time() * 1000),
            "manifest-list": "s3://warehouse/%s/%s/metadata/snap-%d.avro" % (ns, table, sid),
            "summary": {"operation": "append"}, "schema-id": 0}
    if seen is not None:
        snap["parent-snapshot-id"] = seen
    return {"requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": seen}],
            "updates": [{"action": "add-snapshot", "snapshot": snap},
                        {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": sid}]}


class Writer(threading.Thread):
    """Makes `commits` acknowledged commits (or runs until stop is set, or
    the server goes away when stop_on_error). acked: snapshot ids answered
    with 200, in order; sent: every snapshot id sent; errors: unexpected
    answers (anything but 200 and 409)."""

    def __init__(self, catalog_url, token, ns, table, wid, commits=None, id_base=0, stop=None, on_ack=None,
                 deadline=None):
        super().__init__(daemon=True)
        self.rest = Rest(catalog_url, token)
        self.ns, self.table, self.wid = ns, table, wid
        self.commits, self.id_base = commits, id_base
        self.stop, self.on_ack, self.deadline = stop, on_ack, deadline
        self.acked, self.sent, self.errors = [], [], []
        self.conflicts = 0
        self.died = None  # the connection error that ended a crash-test writer
        self.inflight = None  # the snapshot id of a commit sent and not answered
        self.path = "/main/namespaces/%s/tables/%s" % (ns, table)
        self.rnd = random.Random(id_base + wid)

    def _reload(self):
        st, b = self.rest.call("GET", self.path + "?snapshots=refs")
        if st != 200:
            raise RuntimeError("writer %d: load %s is %s: %r" % (self.wid, self.path, st, b))
        return main_state(b["metadata"])

    def run(self):
        try:
            self._run()
        except OSError as e:
            self.died = str(e)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.errors.append("writer %d: %s: %s" % (self.wid, type(e).__name__, e))
        finally:
            self.rest.close()

    def _run(self):
        seen, seq = self._reload()
        n = streak = 0
        while True:
            if self.commits is not None and len(self.acked) >= self.commits:
                return
            if self.stop is not None and self.stop.is_set():
                return
            if self.deadline is not None and time.time() > self.deadline:
                self.errors.append("writer %d: still short of its commits at the deadline (%d acknowledged)"
                                   % (self.wid, len(self.acked)))
                return
            n += 1
            sid = self.id_base + (self.wid + 1) * 10**9 + n
            self.sent.append(sid)
            self.inflight = sid
            st, b = self.rest.call("POST", self.path, commit_body(self.ns, self.table, seen, seq, sid))
            self.inflight = None
            if st == 200:
                streak = 0
                self.acked.append(sid)
                if self.on_ack:
                    self.on_ack(self.wid, sid)
                got, seq2 = main_state(b["metadata"])
                if got != sid or seq2 != seq + 1:
                    self.errors.append("writer %d: commit of %d answered 200 with main=%s, last-sequence-number=%s "
                                       "(expected %d, %d)" % (self.wid, sid, got, seq2, sid, seq + 1))
                seen, seq = sid, seq2
            elif st == 409:
                # back off as Iceberg clients do (commit.retry.min-wait-ms),
                # with jitter, so the writers do not all retry at once
                self.conflicts += 1
                streak += 1
                time.sleep(self.rnd.uniform(0, 0.04 * 2 ** min(streak, 4)))
                seen, seq = self._reload()
            else:
                self.errors.append("writer %d: commit of %d answered %s: %r" % (self.wid, sid, st, b))
                return


def chain(meta):
    """Follows main's parents: returns (list of snapshot ids newest first,
    problems)."""
    snaps = {s["snapshot-id"]: s for s in meta.get("snapshots", [])}
    cur, _ = main_state(meta)
    out, problems, visited = [], [], set()
    while cur is not None:
        if cur in visited:
            problems.append("the parent chain loops at %d" % cur)
            break
        visited.add(cur)
        s = snaps.get(cur)
        if s is None:
            problems.append("the parent chain reaches %d, which is not in snapshots (a gap)" % cur)
            break
        out.append(cur)
        cur = s.get("parent-snapshot-id")
    return out, problems


def check_history(t, meta, acked, what):
    """The invariants over a table whose only snapshots are from Writers:
    snapshots unique, one parent line from main through all of them with
    sequence numbers n..1, the snapshot log in that order, and every
    acknowledged snapshot on it. Returns the line, oldest first."""
    ids = [s["snapshot-id"] for s in meta.get("snapshots", [])]
    t.eq(len(ids), len(set(ids)), "%s: no snapshot id appears twice in snapshots" % what)
    line, problems = chain(meta)
    t.eq([], problems, "%s: main's parent chain has no gap or loop" % what)
    t.eq(sorted(ids), sorted(line), "%s: the chain from main covers every snapshot (one line, no branches)" % what)
    line.reverse()
    seqs = {s["snapshot-id"]: s.get("sequence-number") for s in meta.get("snapshots", [])}
    t.eq(list(range(1, len(line) + 1)), [seqs[i] for i in line],
         "%s: sequence numbers run 1..%d along the line" % (what, len(line)))
    t.eq(len(line), meta.get("last-sequence-number"), "%s: last-sequence-number is the line's length" % what)
    log = [e["snapshot-id"] for e in meta.get("snapshot-log", [])]
    t.eq(line, log, "%s: snapshot-log is the line, oldest first" % what)
    missing = sorted(set(acked) - set(line))
    t.eq([], missing[:20], "%s: every acknowledged commit (%d) is on main's line" % (what, len(acked)))
    return line
