#!/usr/bin/env bash
# test_catalog_pg_nodes.sh: two stateless catalog nodes on one PostgreSQL.
# Two `floe serve --catalog-url` processes share the database (and, standing
# in for shared S3, one data dir); writers hammer the same table through
# both at once. Every acknowledged commit must be there afterwards (no lost
# update), a commit that loses the race gets a clean 409
# CommitFailedException (never a 5xx), and the log holds exactly the
# acknowledged commits.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

section "a temporary PostgreSQL and two catalog nodes"
pg_start || e2e_finish
url=$(pg_createdb nodes)
D=$E2E_TMP/nodes
floe_start "$D/data" --catalog-url "$url" --auth none --fsync false || e2e_finish
A_PORT=$CATALOG_PORT
floe_start "$D/data" --catalog-url "$url" --auth none --fsync false || e2e_finish
B_PORT=$CATALOG_PORT
ok "node A on :$A_PORT, node B on :$B_PORT"
assert_contains "node A logs where its catalog is" "$(cat "${E2E_LOGS[0]}")" "PostgreSQL at postgres://floe@127.0.0.1"

section "concurrent commits through both nodes"
out=$(python3 - "$A_PORT" "$B_PORT" <<'PY'
import json, sys, threading, urllib.request, urllib.error
a, b = sys.argv[1], sys.argv[2]
def call(port, method, path, body=None):
    req = urllib.request.Request("http://127.0.0.1:%s/iceberg/v1%s" % (port, path), method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
schema = {"type": "struct", "schema-id": 0, "fields": [{"id": 1, "name": "id", "type": "long", "required": True}]}
assert call(a, "POST", "/namespaces", {"namespace": ["ns"]})[0] == 200
st, _ = call(b, "POST", "/namespaces", {"namespace": ["ns"]})
print("second create through B:", st)
assert call(b, "POST", "/namespaces/ns/tables", {"name": "t", "schema": schema})[0] == 200
N = 15
stats = {"ok": 0, "conflict": 0, "bad": []}
lock = threading.Lock()
def worker(name, port):
    for i in range(N):
        while True:
            st, body = call(port, "POST", "/namespaces/ns/tables/t",
                            {"requirements": [], "updates": [{"action": "set-properties",
                                                              "updates": {"%s%d" % (name, i): "v"}}]})
            with lock:
                if st == 200:
                    stats["ok"] += 1
                    break
                if st == 409 and body["error"]["type"] == "CommitFailedException":
                    stats["conflict"] += 1
                    continue
                stats["bad"].append((st, body))
                return
threads = [threading.Thread(target=worker, args=(n, p)) for n, p in (("a", a), ("b", b), ("c", a), ("d", b))]
for t in threads: t.start()
for t in threads: t.join()
_, t = call(b, "GET", "/namespaces/ns/tables/t")
props = t["metadata"].get("properties", {})
missing = ["%s%d" % (n, i) for n in "abcd" for i in range(N) if "%s%d" % (n, i) not in props]
_, t2 = call(a, "GET", "/namespaces/ns/tables/t")
print(json.dumps({"ok": stats["ok"], "conflicts": stats["conflict"], "bad": stats["bad"][:3], "missing": missing,
                  "same": t["metadata-location"] == t2["metadata-location"]}))
PY
)
say "$out"
res=$(tail -1 <<<"$out")
assert_contains "a namespace created through A exists for B (409)" "$out" "second create through B: 409"
assert_contains "all 60 commits acknowledged" "$res" '"ok": 60'
assert_contains "no 5xx or other error" "$res" '"bad": []'
assert_contains "no acknowledged commit is lost" "$res" '"missing": []'
assert_contains "both nodes see the same table version" "$res" '"same": true'
n=$("$PG_BIN/psql" -qtA "$url" -c "SELECT count(*) FROM commits")
assert_eq "the log holds exactly the acknowledged commits (namespace, create, 60)" 62 "$n"
n=$("$PG_BIN/psql" -qtA "$url" -c "SELECT count(*) FROM reflog WHERE ref = 'main' AND operation = 'COMMIT'")
assert_eq "the reflog has every movement of main" 62 "$n"

section "racing schema changes through both nodes: one winner per round"
out=$(python3 - "$A_PORT" "$B_PORT" <<'PY'
import json, sys, threading, urllib.request, urllib.error
ports = sys.argv[1:3]
def call(port, method, path, body=None):
    req = urllib.request.Request("http://127.0.0.1:%s/iceberg/v1%s" % (port, path), method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
rounds = []
for rnd in range(5):
    _, t = call(ports[0], "GET", "/namespaces/ns/tables/t")
    cur = t["metadata"]["current-schema-id"]
    fields = next(s for s in t["metadata"]["schemas"] if s["schema-id"] == cur)["fields"]
    res = []
    def go(i):
        f = fields + [{"id": 1000 + rnd * 10 + i, "name": "r%d_%d" % (rnd, i), "type": "long", "required": False}]
        st, body = call(ports[i % 2], "POST", "/namespaces/ns/tables/t", {
            "requirements": [{"type": "assert-current-schema-id", "current-schema-id": cur}],
            "updates": [{"action": "add-schema", "schema": {"type": "struct", "schema-id": -1, "fields": f}},
                        {"action": "set-current-schema", "schema-id": -1}]})
        res.append(st if st == 200 else (st, (body or {}).get("error", {}).get("type")))
    ts = [threading.Thread(target=go, args=(i,)) for i in range(4)]
    for x in ts: x.start()
    for x in ts: x.join()
    rounds.append(sorted(map(str, res)))
print(json.dumps(rounds))
PY
)
say "$out"
good=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(all(x.count("200")==1 and all(y=="200" or "CommitFailedException" in y for y in x) for x in r))' "$(tail -1 <<<"$out")")
assert_eq "each round: one commit wins, the others get 409 CommitFailedException" True "$good"

section "compare-and-swap across nodes on a ref"
h=$("$PG_BIN/psql" -qtA "$url" -c "SELECT hash FROM refs WHERE name = 'main'")
assert_ok "branch create through the CLI on the same database" \
    "$FLOE_BIN" branch create dev --data "$D/data" --catalog-url "$url"
assert_fails_with "an assign with a stale expected hash is a conflict" "moved since you read it" \
    "$FLOE_BIN" branch assign dev --from main --expect 0000000000000000 --data "$D/data" --catalog-url "$url"

section "a PostgreSQL that is not there"
assert_fails_with "an unreachable server names the URL without the password" \
    "cannot connect to the PostgreSQL catalog at postgres://floe:***@127.0.0.1:1/x" \
    "$FLOE_BIN" namespace list --data "$D/data" --catalog-url "postgres://floe:hunter2@127.0.0.1:1/x"
out=$("$FLOE_BIN" namespace list --data "$D/data" --catalog-url "postgres://floe:hunter2@127.0.0.1:1/x" 2>&1)
assert_not_contains "the password is not printed" "$out" "hunter2"

floe_stop
e2e_finish
