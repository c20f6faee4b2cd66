#!/usr/bin/env python3
"""test_catalog_concurrency.py: 8 Iceberg REST writers x 200 commits to ONE
table through `POST /iceberg/v1/main/namespaces/load/tables/t`, each writer
a thread with its own HTTP connection (catalog_load.Writer: assert-ref-
snapshot-id on main with the snapshot it last saw, add-snapshot with that
parent and the next sequence number, set-snapshot-ref main; a 409 reloads
and retries).

Afterwards: exactly 1,600 snapshots in the metadata and in the snapshot
log, one parent line from main with no gap and sequence numbers 1..1600,
each writer's 200 acknowledged commits present exactly once and in the
order that writer made them, no snapshot id that was never acknowledged,
the metadata file the catalog points at holds the same history, and
writers really raced (409s happened). Then assert-ref-snapshot-id null
while main exists is 409 and changes nothing (Nessie #10062).

CATCON_WRITERS / CATCON_COMMITS change the load (8 x 200).

Binary: the RELEASE build ($BUILD/floe) by default, not the ASan one, as
test_crash.sh does: every commit parses and rewrites the whole metadata
file (1,600 snapshots, ~500 KB, by the end), and the ASan build managed
only 1,093 of the 1,600 commits in the 240 s deadline. CATCON_BIN or
FLOE_BIN picks another binary. Measured with the release build on 2 cores
shared with other work: 45 to 76 s (load average 3 to 7; about 650 409s).
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from catalog_load import SCHEMA, Rest, Writer, check_history, main_state, wait_catalog  # noqa: E402
from floe_e2e import Suite, build_dir, floe_bin  # noqa: E402

WRITERS = int(os.environ.get("CATCON_WRITERS", "8"))
COMMITS = int(os.environ.get("CATCON_COMMITS", "200"))
TOTAL = WRITERS * COMMITS
NS, TABLE = "load", "t"
PATH = "/main/namespaces/%s/tables/%s" % (NS, TABLE)

# the release build unless CATCON_BIN or FLOE_BIN names a binary (see above)
BIN = os.environ.get("CATCON_BIN") or os.environ.get("FLOE_BIN")
if not BIN:
    BIN = os.path.join(build_dir(), "floe")
    if not os.access(BIN, os.X_OK):
        BIN = floe_bin()

t = Suite()
print("# binary: %s" % BIN)
try:
    srv = t.start(extra_args=["--fsync", "false"], binary=BIN)
    wait_catalog(srv)
except RuntimeError as e:
    t.fail(str(e))
    t.finish()

rest = Rest(srv.catalog_url)
token = rest.login()
t.eq(200, rest.call("POST", "/main/namespaces", {"namespace": [NS]})[0], "create namespace %s" % NS)
st, b = rest.call("POST", "/main/namespaces/%s/tables" % NS, {"name": TABLE, "schema": SCHEMA})
t.eq(200, st, "create table %s.%s" % (NS, TABLE))

print("# %d writers x %d commits to one table" % (WRITERS, COMMITS), flush=True)
start = time.time()
deadline = start + 240
writers = [Writer(srv.catalog_url, token, NS, TABLE, w, commits=COMMITS, deadline=deadline) for w in range(WRITERS)]
for w in writers:
    w.start()
for w in writers:
    w.join(max(1, deadline + 10 - time.time()))
elapsed = time.time() - start
hung = [w.wid for w in writers if w.is_alive()]
t.eq([], hung, "every writer finished within the deadline")
errors = [e for w in writers for e in w.errors] + [w.died for w in writers if w.died]
t.eq([], errors[:10], "no writer got an answer other than 200 or 409")
conflicts = sum(w.conflicts for w in writers)
print("       %d commits in %.1f s (%.0f/s), %d answered 409 and retried"
      % (sum(len(w.acked) for w in writers), elapsed, sum(len(w.acked) for w in writers) / elapsed, conflicts))
t.eq([COMMITS] * WRITERS, [len(w.acked) for w in writers], "each writer had %d commits acknowledged" % COMMITS)
if WRITERS > 1:
    t.check(conflicts > 0, "the writers really raced (some commits were refused with 409)")

# ---------------------------------------------------------------- history
print("# the table's history")
st, b = rest.call("GET", PATH + "?snapshots=all")
t.eq(200, st, "load the table")
meta = b["metadata"]
acked = [sid for w in writers for sid in w.acked]
t.eq(TOTAL, len(meta.get("snapshots", [])), "exactly %d snapshots in the metadata" % TOTAL)
t.eq(TOTAL, len(meta.get("snapshot-log", [])), "exactly %d entries in the snapshot-log" % TOTAL)
line = check_history(t, meta, acked, "after the load")
t.eq(sorted(acked), sorted(line), "the snapshots are exactly the acknowledged commits (no lost, none extra)")
pos = {sid: i for i, sid in enumerate(line)}
out_of_order = [w.wid for w in writers if [pos.get(s, -1) for s in w.acked] != sorted(pos.get(s, -1) for s in w.acked)]
t.eq([], out_of_order, "each writer's commits are on the line in the order it made them")
sent_not_acked = set(s for w in writers for s in w.sent) - set(acked)
t.eq([], sorted(sent_not_acked & set(line))[:10], "no commit answered 409 made it into the table")

# the file the catalog points at holds the same history
s3 = t.client(srv)
loc = b["metadata-location"]
bucket, key = loc[len("s3://"):].split("/", 1)
on_disk = t.attempt(lambda: json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()),
                    "read the current metadata file %s" % loc)
if on_disk:
    t.eq(line, [e["snapshot-id"] for e in on_disk.get("snapshot-log", [])], "... its snapshot-log is the same line")
    t.eq(main_state(meta), main_state(on_disk), "... and its main and last-sequence-number are the same")
t.check(loc.split("/")[-1].startswith("%05d-" % TOTAL), "metadata version %d after %d commits" % (TOTAL, TOTAL), loc)

# ------------------------------------------------- assert-ref-snapshot-id null
print("# assert-ref-snapshot-id null while main exists (Nessie #10062)")
head, seq = main_state(meta)
body = {"requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": None}],
        "updates": [{"action": "add-snapshot", "snapshot": {
            "snapshot-id": 7, "sequence-number": seq + 1, "timestamp-ms": int(time.time() * 1000),
            "manifest-list": "s3://warehouse/%s/%s/metadata/snap-7.avro" % (NS, TABLE),
            "summary": {"operation": "append"}, "schema-id": 0}},
            {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": 7}]}
st, b = rest.call("POST", PATH, body)
t.eq(409, st, "a commit asserting main is absent is 409 while main exists")
t.eq("CommitFailedException", (b or {}).get("error", {}).get("type"), "... CommitFailedException")
st, b = rest.call("GET", PATH + "?snapshots=all")
t.eq((head, seq), main_state(b["metadata"]), "... and main and the sequence number did not move")
t.eq(TOTAL, len(b["metadata"].get("snapshots", [])), "... nor did the snapshot count")
t.check(loc == b.get("metadata-location"), "... nor the metadata location", b.get("metadata-location"))

print("# run time %.1f s (load %.1f s)" % (time.time() - start, elapsed))
t.finish()
