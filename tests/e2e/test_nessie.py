#!/usr/bin/env python3
"""test_nessie.py: the Nessie v2 REST API under /api/v2 on the catalog port,
over plain HTTP (urllib; pynessie is not installed), with the JSON shapes
checked field by field against Nessie's model (api/model).

config; trees: list with paging, create from a Reference, get, assign and
delete with expected hashes (stale: 409); entries with and without
content, paging; contents one and in bulk (GET with keys, POST); history
with paging and commitMeta; diff; commits of Put (IcebergTable,
Namespace) and Delete with content ids stable across commits; the branch
workflow (dev from main, commit on dev, merge into main); a merge conflict
(409 naming the key), dry run, FORCE/DROP modes, returnConflictAsResult;
transplant; refspecs main~N, main@hash, @hash, '-'; errors (unknown ref
404, unknown key 404, malformed key 400, bad JSON 400) in NessieError form.
"""

import json
import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from floe_e2e import ACCESS_KEY, SECRET_KEY, Suite, http  # noqa: E402

NO_ANCESTOR = "2e1cfa82b035c26cbbbdae632cea070514eb8b773f616aaeaf668e2f0be8f10d"
HASH = re.compile(r"^[0-9a-f]{64}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

CONFIG = """
keys:
  - access_key: reader-key
    secret_key: reader-secret-0123
    scope: read
    buckets: [warehouse]
"""

t = Suite()
try:
    srv = t.start(extra_args=["--fsync", "false"], config_text=CONFIG)
except RuntimeError as e:
    t.fail(str(e))
    t.finish()

BASE = srv.catalog_url + "/api/v2"
# the server answers on S3 first; wait (bounded) for the catalog port too
for _ in range(100):
    try:
        if http("GET", srv.catalog_url + "/health", timeout=1)[0] == 200:
            break
    except OSError:
        pass
    time.sleep(0.1)
form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": ACCESS_KEY,
                               "client_secret": SECRET_KEY}).encode()
st, _, b = http("POST", srv.catalog_url + "/iceberg/v1/oauth/tokens", form,
                {"Content-Type": "application/x-www-form-urlencoded"})
TOKEN = json.loads(b)["access_token"]
form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": "reader-key",
                               "client_secret": "reader-secret-0123"}).encode()
st, _, b = http("POST", srv.catalog_url + "/iceberg/v1/oauth/tokens", form,
                {"Content-Type": "application/x-www-form-urlencoded"})
READER = json.loads(b)["access_token"]


def call(method, path, body=None, token=True, raw_body=None):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + (token if isinstance(token, str) else TOKEN)
    data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
    st, _, b = http(method, BASE + path, data, h)
    try:
        return st, json.loads(b) if b else None
    except ValueError:
        return st, b


def is_error(body, status, code, what):
    ok = (isinstance(body, dict) and body.get("status") == status and body.get("errorCode") == code
          and isinstance(body.get("reason"), str) and isinstance(body.get("message"), str) and body["message"])
    t.check(ok, "%s: NessieError %d %s" % (what, status, code), repr(body)[:400])


def ref_ok(r, typ, name, what):
    t.check(isinstance(r, dict) and r.get("type") == typ and r.get("name") == name
            and isinstance(r.get("hash"), str) and HASH.match(r["hash"]), what + ": Reference shape", repr(r))


def key(*els):
    return {"elements": list(els)}


def table(loc, cid=None, snap=1):
    c = {"type": "ICEBERG_TABLE", "metadataLocation": loc, "snapshotId": snap, "schemaId": 0, "specId": 0,
         "sortOrderId": 0}
    if cid:
        c["id"] = cid
    return c


def put(k, content):
    return {"type": "PUT", "key": key(*k.split(".")), "content": content}


def commit(ref, ops, msg="a commit"):
    return call("POST", "/trees/%s/history/commit" % ref, {"commitMeta": {"message": msg}, "operations": ops})


def head(name):
    st, b = call("GET", "/trees/" + name)
    return b["reference"]["hash"] if st == 200 else None


def content_of(ref, k):
    st, b = call("GET", "/trees/%s/contents/%s" % (ref, k))
    return b.get("content") if st == 200 else None


# ---------------------------------------------------------------- auth, config
print("# auth and config")
st, b = call("GET", "/config", token=False)
t.eq(401, st, "no token is 401")
t.check(isinstance(b, dict) and b.get("status") == 401 and isinstance(b.get("errorCode"), str)
        and b.get("message"), "401 comes as a NessieError", repr(b))
st, cfg = call("GET", "/config")
t.eq(200, st, "GET /config")
t.eq("main", cfg.get("defaultBranch"), "config.defaultBranch")
t.eq(2, cfg.get("maxSupportedApiVersion"), "config.maxSupportedApiVersion")
t.eq(1, cfg.get("minSupportedApiVersion"), "config.minSupportedApiVersion")
t.eq(NO_ANCESTOR, cfg.get("noAncestorHash"), "config.noAncestorHash")
t.check(isinstance(cfg.get("specVersion"), str), "config.specVersion", repr(cfg))

# ---------------------------------------------------------------- trees
print("# trees")
st, b = call("GET", "/trees")
t.eq(200, st, "GET /trees")
t.check(b.get("hasMore") is False and isinstance(b.get("references"), list), "ReferencesResponse shape", repr(b))
ref_ok(b["references"][0], "BRANCH", "main", "main listed")
t.eq(NO_ANCESTOR, b["references"][0]["hash"], "an empty main is at the no-ancestor hash")
st, b = call("GET", "/trees/main")
t.eq(200, st, "GET /trees/main")
ref_ok(b.get("reference"), "BRANCH", "main", "SingleReferenceResponse")
st, b = call("GET", "/trees/-")
t.check(st == 200 and b["reference"]["name"] == "main", "'-' is the default branch", repr(b))
st, b = call("GET", "/trees/nope")
t.eq(404, st, "an unknown ref is 404")
is_error(b, 404, "REFERENCE_NOT_FOUND", "unknown ref")

# ---------------------------------------------------------------- commits
print("# commits")
st, b = commit("main", [put("sales", {"type": "NAMESPACE", "elements": ["sales"], "properties": {"owner": "ops"}})],
               "create sales")
t.eq(200, st, "commit a Namespace Put")
ref_ok(b.get("targetBranch"), "BRANCH", "main", "CommitResponse.targetBranch")
added = b.get("addedContents") or []
t.check(len(added) == 1 and added[0]["key"] == key("sales") and added[0].get("contentId"),
        "addedContents names the new key and its id", repr(b))
ns_id = added[0]["contentId"] if added else None
h1 = b["targetBranch"]["hash"]
t.eq(h1, head("main"), "main moved to the commit")

st, b = commit("main@" + h1, [put("sales.orders", table("s3://warehouse/sales/orders/metadata/1.json"))],
               "create orders")
t.eq(200, st, "commit an IcebergTable Put with the expected hash")
tbl_id = b["addedContents"][0]["contentId"]
h2 = b["targetBranch"]["hash"]
c = content_of("main", "sales.orders")
t.check(c and c.get("type") == "ICEBERG_TABLE" and c.get("id") == tbl_id
        and c.get("metadataLocation") == "s3://warehouse/sales/orders/metadata/1.json" and c.get("snapshotId") == 1
        and c.get("schemaId") == 0 and c.get("specId") == 0 and c.get("sortOrderId") == 0,
        "IcebergTable content shape", repr(c))
c = content_of("main", "sales")
t.check(c and c.get("type") == "NAMESPACE" and c.get("id") == ns_id and c.get("elements") == ["sales"]
        and c.get("properties") == {"owner": "ops"}, "Namespace content shape", repr(c))

st, b = commit("main@" + h2, [put("sales.orders", table("s3://warehouse/sales/orders/metadata/2.json", tbl_id, 2))],
               "update orders")
t.eq(200, st, "a Put with the content id updates the table")
t.eq([], b.get("addedContents"), "an update adds no content")
h3 = b["targetBranch"]["hash"]
c = content_of("main", "sales.orders")
t.check(c and c["id"] == tbl_id and c["metadataLocation"].endswith("/2.json"), "the id is stable across commits",
        repr(c))

st, b = commit("main", [put("sales.orders", table("s3://x/3.json", "00000000-0000-0000-0000-000000000000"))])
t.eq(409, st, "a Put whose content id differs is a conflict")
is_error(b, 409, "REFERENCE_CONFLICT", "content id mismatch")
cf = (b.get("errorDetails") or {}).get("conflicts") or [{}]
t.check(cf[0].get("conflictType") == "CONTENT_ID_DIFFERS" and cf[0].get("key") == key("sales", "orders"),
        "the conflict names the key and CONTENT_ID_DIFFERS", repr(b))
st, b = commit("main", [put("sales.orders", table("s3://x/3.json"))])
t.eq(409, st, "a Put of an existing key without its id is a conflict")
st, b = commit("main", [put("nons.t", table("s3://x/3.json"))])
t.eq(409, st, "a table in a missing namespace is a conflict")
t.eq("NAMESPACE_ABSENT", b["errorDetails"]["conflicts"][0]["conflictType"], "NAMESPACE_ABSENT conflict")
st, b = commit("main", [{"type": "DELETE", "key": key("sales")}])
t.eq(409, st, "deleting a namespace with a table is a conflict")
t.eq("NAMESPACE_NOT_EMPTY", b["errorDetails"]["conflicts"][0]["conflictType"], "NAMESPACE_NOT_EMPTY conflict")
# stale expected hash: a key changed since is a conflict, others are fine
st, b = commit("main@" + h2, [put("sales.orders", table("s3://x/4.json", tbl_id))])
t.eq(409, st, "a Put based on a stale hash of a key changed since is 409")
st, b = commit("main@" + h2, [put("sales.items", table("s3://warehouse/sales/items/metadata/1.json"))], "items")
t.eq(200, st, "a stale expected hash is fine when the commit's keys did not change since")
h4 = b["targetBranch"]["hash"]
st, b = commit("main", [{"type": "PUT", "key": key("sales", "x"), "content": {"type": "DELTA_LAKE_TABLE"}}])
t.eq(400, st, "an unsupported content type is 400")
st, b = commit("main", None)
t.eq(400, st, "a commit without operations is 400")

# ---------------------------------------------------------------- entries, contents
print("# entries and contents")
st, b = call("GET", "/trees/main/entries")
t.eq(200, st, "GET entries")
es = b.get("entries") or []
t.eq([["sales"], ["sales", "items"], ["sales", "orders"]], [e["name"]["elements"] for e in es], "entries by key")
t.eq(["NAMESPACE", "ICEBERG_TABLE", "ICEBERG_TABLE"], [e["type"] for e in es], "entries' types")
t.check(all(e.get("contentId") and "content" not in e for e in es), "entries carry contentId, no content", repr(es))
t.eq(tbl_id, es[2]["contentId"] if len(es) > 2 else None, "entry contentId is the table's id")
ref_ok(b.get("effectiveReference"), "BRANCH", "main", "entries' effectiveReference")
t.check(b.get("hasMore") is False, "entries hasMore false", repr(b))
st, b = call("GET", "/trees/main/entries?content=true")
t.check(st == 200 and all(e.get("content", {}).get("id") == e["contentId"] for e in b["entries"]),
        "content=true carries each entry's content", repr(b)[:300])
st, b = call("GET", "/trees/main/entries?max-records=2")
t.check(st == 200 and len(b["entries"]) == 2 and b["hasMore"] is True and b["token"], "entries page 1", repr(b))
st, b2 = call("GET", "/trees/main/entries?max-records=2&page-token=" + b["token"])
t.check(st == 200 and [e["name"]["elements"] for e in b2["entries"]] == [["sales", "orders"]]
        and b2["hasMore"] is False, "entries page 2", repr(b2))
st, b = call("GET", "/trees/main/entries?filter=entry.namespace%3D%3D'sales'")
t.eq(400, st, "a CEL filter is refused with 400")

st, b = call("GET", "/trees/main/contents/sales.orders")
t.eq(200, st, "GET contents/{key}")
ref_ok(b.get("effectiveReference"), "BRANCH", "main", "ContentResponse.effectiveReference")
st, b = call("GET", "/trees/main/contents/sales.nothing")
t.eq(404, st, "an unknown key is 404")
is_error(b, 404, "CONTENT_NOT_FOUND", "unknown key")
st, b = call("GET", "/trees/main/contents/sales..orders")
t.eq(400, st, "a malformed key is 400")
is_error(b, 400, "BAD_REQUEST", "malformed key")
st, b = call("GET", "/trees/main/contents?key=sales.orders&key=sales.items&key=sales.none")
t.eq(200, st, "GET contents with keys")
t.eq([key("sales", "orders"), key("sales", "items")], [x["key"] for x in b.get("contents", [])],
     "GetMultipleContentsResponse lists the found keys in order")
t.check(b["contents"][0]["content"]["id"] == tbl_id, "bulk content carries the content", repr(b))
ref_ok(b.get("effectiveReference"), "BRANCH", "main", "bulk effectiveReference")
st, b = call("POST", "/trees/main/contents", {"requestedKeys": [key("sales"), key("sales", "items")]})
t.check(st == 200 and [x["key"] for x in b["contents"]] == [key("sales"), key("sales", "items")],
        "POST contents with requestedKeys", repr(b))
st, b = call("POST", "/trees/main/contents", {"requestedKeys": [key("sales")]}, token=READER)
t.eq(200, st, "a read-only key may POST contents (a bulk read)")
st, b = call("POST", "/trees?name=ro&type=BRANCH", {"type": "BRANCH", "name": "main", "hash": h4}, token=READER)
t.eq(403, st, "a read-only key cannot create a branch")
st, b = call("POST", "/trees/main/contents", raw_body=b"{not json")
t.eq(400, st, "bad JSON is 400")
t.check("requestedKeys" in b.get("message", ""), "the 400 names what was expected", repr(b))
st, b = call("POST", "/trees/main/contents", {"requestedKeys": "sales"})
t.eq(400, st, "requestedKeys not an array is 400")

# ---------------------------------------------------------------- history
print("# history")
st, b = call("GET", "/trees/main/history")
t.eq(200, st, "GET history")
log = b.get("logEntries") or []
t.eq([h4, h3, h2, h1], [e["commitMeta"]["hash"] for e in log], "history newest first")
cm = log[0]["commitMeta"] if log else {}
t.eq("items", cm.get("message"), "commitMeta.message")
t.check(isinstance(cm.get("author"), str) and ISO.match(cm.get("commitTime", "")), "commitMeta author, commitTime",
        repr(cm))
t.eq([h3], cm.get("parentCommitHashes"), "commitMeta.parentCommitHashes")
t.eq(h3, log[0].get("parentCommitHash"), "logEntry.parentCommitHash")
t.eq(NO_ANCESTOR, log[-1]["commitMeta"]["parentCommitHashes"][0], "the first commit's parent is no-ancestor")
st, b = call("GET", "/trees/main/history?max-records=3")
t.check(len(b["logEntries"]) == 3 and b["hasMore"] and b["token"], "history page 1", repr(b)[:300])
st, b = call("GET", "/trees/main/history?max-records=3&page-token=" + b["token"])
t.eq([h1], [e["commitMeta"]["hash"] for e in b["logEntries"]], "history page 2")
t.check(b["hasMore"] is False, "the last page says so", repr(b)[:300])

# refspecs
st, b = call("GET", "/trees/main~1")
t.check(st == 200 and b["reference"]["hash"] == h3 and b["reference"]["name"] == "main", "main~1", repr(b))
st, b = call("GET", "/trees/main@%s/contents/sales.orders" % h2)
t.check(st == 200 and b["content"]["metadataLocation"].endswith("/1.json")
        and b["effectiveReference"]["hash"] == h2, "contents at main@hash read the old commit", repr(b))
st, b = call("GET", "/trees/@%s/entries" % h1)
t.check(st == 200 and b["effectiveReference"] == {"type": "DETACHED", "name": "DETACHED", "hash": h1}
        and [e["name"]["elements"] for e in b["entries"]] == [["sales"]], "@hash reads a detached commit",
        repr(b))
st, b = call("GET", "/trees/-~3/entries")
t.check(st == 200 and b["effectiveReference"]["hash"] == h1, "-~3 is main~3", repr(b))

# ---------------------------------------------------------------- branches
print("# branch workflow")
st, b = call("POST", "/trees?name=dev&type=BRANCH", {"type": "BRANCH", "name": "main", "hash": h4})
t.eq(200, st, "create dev from main's reference")
ref_ok(b.get("reference"), "BRANCH", "dev", "created reference")
t.eq(h4, b["reference"]["hash"], "dev starts at main's head")
st, b = call("POST", "/trees?name=dev&type=BRANCH", {"type": "BRANCH", "name": "main", "hash": h4})
t.eq(409, st, "creating dev again is 409")
is_error(b, 409, "REFERENCE_ALREADY_EXISTS", "dev exists")
st, b = call("POST", "/trees?name=v1&type=TAG", {"type": "BRANCH", "name": "main", "hash": h3})
t.check(st == 200 and b["reference"]["type"] == "TAG" and b["reference"]["hash"] == h3, "create a tag at main~1",
        repr(b))
st, b = call("POST", "/trees?name=det&type=BRANCH", {"type": "DETACHED", "name": "DETACHED", "hash": h2})
t.check(st == 200 and b["reference"]["hash"] == h2, "create from a DETACHED reference", repr(b))
st, b = call("POST", "/trees?name=nohash&type=BRANCH", {"type": "BRANCH", "name": "main"})
t.eq(400, st, "a source Reference without a hash is 400")
st, b = call("POST", "/trees?name=bad..name&type=BRANCH", {"type": "BRANCH", "name": "main", "hash": h4})
t.eq(400, st, "a bad ref name is 400")
st, b = call("POST", "/trees?name=x&type=BRANCH", raw_body=b"[1,2")
t.eq(400, st, "a bad JSON body for create is 400")
st, b = call("POST", "/trees?name=x&type=BRANCH", {"type": "BRANCH", "name": "nope", "hash": h4})
t.eq(404, st, "creating from an unknown ref is 404")

st, b = call("GET", "/trees?max-records=2")
t.check(st == 200 and [r["name"] for r in b["references"]] == ["det", "dev"] and b["hasMore"], "refs page 1",
        repr(b))
st, b = call("GET", "/trees?max-records=2&page-token=" + b["token"])
t.check(st == 200 and [(r["name"], r["type"]) for r in b["references"]] == [("main", "BRANCH"), ("v1", "TAG")]
        and not b["hasMore"] and b["token"] is None, "refs page 2 is the last", repr(b))

st, b = commit("dev", [put("sales.orders", table("s3://warehouse/sales/orders/metadata/3.json", tbl_id, 3))],
               "dev update")
t.eq(200, st, "commit on dev")
dev1 = b["targetBranch"]["hash"]
t.eq("BRANCH", b["targetBranch"]["type"], "targetBranch type")
t.check(content_of("main", "sales.orders")["metadataLocation"].endswith("/2.json"), "main is unchanged")
t.check(content_of("dev", "sales.orders")["metadataLocation"].endswith("/3.json"), "dev has the change")
t.eq(tbl_id, content_of("dev", "sales.orders")["id"], "the content id is the same on dev")

st, b = call("GET", "/trees/main/diff/dev")
t.eq(200, st, "GET diff main..dev")
d = b.get("diffs") or []
t.check(len(d) == 1 and d[0]["key"] == key("sales", "orders") and d[0]["from"]["metadataLocation"].endswith("2.json")
        and d[0]["to"]["metadataLocation"].endswith("3.json"), "DiffResponse entry from/to", repr(b))
ref_ok(b.get("effectiveFromReference"), "BRANCH", "main", "effectiveFromReference")
ref_ok(b.get("effectiveToReference"), "BRANCH", "dev", "effectiveToReference")
t.check(b.get("hasMore") is False, "diff hasMore", repr(b))
st, b = call("GET", "/trees/main/diff/nope")
t.eq(404, st, "diff with an unknown ref is 404")

main_before = head("main")
st, b = call("POST", "/trees/main/history/merge", {"fromRefName": "dev", "fromHash": dev1, "dryRun": True})
t.eq(200, st, "dry-run merge")
t.check(b.get("wasApplied") is False and b.get("wasSuccessful") is True, "dry run: not applied, successful", repr(b))
t.eq(main_before, head("main"), "a dry run changes nothing")
st, b = call("POST", "/trees/main@%s/history/merge" % main_before, {"fromRefName": "dev", "fromHash": dev1})
t.eq(200, st, "merge dev into main")
t.check(b.get("wasApplied") is True and b.get("wasSuccessful") is True and HASH.match(b.get("resultantTargetHash", ""))
        and b.get("targetBranch") == "main" and b.get("effectiveTargetHash") == main_before
        and b.get("commonAncestor") == h4, "MergeResponse fields", repr(b))
t.check([(x["key"], x["mergeBehavior"]) for x in b.get("details", [])] == [(key("sales", "orders"), "NORMAL")],
        "MergeResponse details", repr(b))
merged = b["resultantTargetHash"]
t.eq(merged, head("main"), "main is at the merge commit")
t.check(content_of("main", "sales.orders")["metadataLocation"].endswith("/3.json"), "main has dev's change")
st, b = call("GET", "/trees/main/history?max-records=1")
t.eq([main_before, dev1], b["logEntries"][0]["commitMeta"]["parentCommitHashes"], "a merge commit has two parents")

# conflict: the same key changed on both sides
print("# conflicts")
st, b = commit("dev", [put("sales.orders", table("s3://warehouse/sales/orders/metadata/4d.json", tbl_id, 4))], "d")
dev2 = b["targetBranch"]["hash"]
st, b = commit("main", [put("sales.orders", table("s3://warehouse/sales/orders/metadata/4m.json", tbl_id, 4))], "m")
main2 = b["targetBranch"]["hash"]
st, b = call("POST", "/trees/main/history/merge", {"fromRefName": "dev", "fromHash": dev2})
t.eq(409, st, "a conflicting merge is 409")
is_error(b, 409, "REFERENCE_CONFLICT", "merge conflict")
cf = (b.get("errorDetails") or {}).get("conflicts") or [{}]
t.check(cf[0].get("key") == key("sales", "orders") and cf[0].get("conflictType") == "KEY_CONFLICT",
        "the conflict names the key", repr(b))
t.eq(main2, head("main"), "a refused merge changes nothing")
st, b = call("POST", "/trees/main/history/merge", {"fromRefName": "dev", "dryRun": True})
t.check(st == 200 and b["wasSuccessful"] is False and b["wasApplied"] is False
        and b["details"][0].get("conflict", {}).get("conflictType") == "KEY_CONFLICT",
        "a dry run reports the conflict in details", repr(b))
st, b = call("POST", "/trees/main/history/merge", {"fromRefName": "dev", "returnConflictAsResult": True})
t.check(st == 200 and b["wasSuccessful"] is False, "returnConflictAsResult answers 200", repr(b))
st, b = call("POST", "/trees/main/history/merge", {"fromRefName": "dev", "defaultKeyMergeMode": "DROP"})
t.check(st == 200 and b["details"][0]["mergeBehavior"] == "DROP", "DROP leaves the key out", repr(b))
t.check(content_of("main", "sales.orders")["metadataLocation"].endswith("4m.json"), "DROP keeps main's")
st, b = commit("dev", [put("sales.orders", table("s3://warehouse/sales/orders/metadata/5d.json", tbl_id, 5))], "d5")
st, b = call("POST", "/trees/main/history/merge",
             {"fromRefName": "dev", "keyMergeModes": [{"key": key("sales", "orders"), "mergeBehavior": "FORCE"}]})
t.check(st == 200 and b["wasApplied"] and b["details"][0]["mergeBehavior"] == "FORCE", "FORCE per key", repr(b))
t.check(content_of("main", "sales.orders")["metadataLocation"].endswith("5d.json"), "FORCE takes dev's")
st, b = call("POST", "/trees/main/history/merge", {"fromRefName": "dev", "defaultKeyMergeMode": "SOMETIMES"})
t.eq(400, st, "an unknown merge mode is 400")
st, b = call("POST", "/trees/main/history/merge", {"fromHash": dev2})
t.eq(400, st, "a merge without fromRefName is 400")
st, b = call("POST", "/trees/main/history/merge", {"fromRefName": "nope"})
t.eq(404, st, "a merge from an unknown ref is 404")

# ---------------------------------------------------------------- transplant
print("# transplant")
st, b = call("POST", "/trees?name=fix&type=BRANCH", {"type": "BRANCH", "name": "main", "hash": head("main")})
st, b = commit("fix", [put("sales.fixes", table("s3://warehouse/sales/fixes/metadata/1.json"))], "add fixes")
fix1 = b["targetBranch"]["hash"]
st, b = call("POST", "/trees?name=rel&type=BRANCH", {"type": "BRANCH", "name": "main", "hash": head("main")})
st, b = call("POST", "/trees/rel/history/transplant", {"fromRefName": "fix", "hashesToTransplant": [fix1]})
t.eq(200, st, "transplant")
t.check(b.get("wasApplied") is True and b.get("wasSuccessful") is True and b.get("targetBranch") == "rel",
        "transplant MergeResponse", repr(b))
t.check(content_of("rel", "sales.fixes") is not None, "rel has the transplanted table")
st, b = call("GET", "/trees/rel/history?max-records=1")
t.eq("add fixes", b["logEntries"][0]["commitMeta"]["message"], "the transplanted commit keeps its message")
t.check(b["logEntries"][0]["commitMeta"]["hash"] != fix1, "as a new commit")
st, b = call("POST", "/trees/rel/history/transplant", {"fromRefName": "fix", "hashesToTransplant": []})
t.eq(400, st, "transplant of no hashes is 400")

# ---------------------------------------------------------------- assign, delete
print("# assign and delete")
rel = head("rel")
st, b = call("PUT", "/trees/rel@%s?type=BRANCH" % h1, {"type": "BRANCH", "name": "main", "hash": h2})
t.eq(409, st, "assign with a stale expected hash is 409")
is_error(b, 409, "REFERENCE_CONFLICT", "stale assign")
t.eq(rel, head("rel"), "a refused assign changes nothing")
st, b = call("PUT", "/trees/rel@%s?type=BRANCH" % rel, {"type": "BRANCH", "name": "main", "hash": h2})
t.eq(200, st, "assign with the expected hash")
ref_ok(b.get("reference"), "BRANCH", "rel", "assigned reference")
t.eq(h2, head("rel"), "rel points at h2")
st, b = call("PUT", "/trees/rel?type=BRANCH", {"type": "BRANCH", "name": "main", "hash": h2})
t.eq(400, st, "assign without an expected hash is 400")
st, b = call("PUT", "/trees/v1@%s?type=TAG" % h3, {"type": "BRANCH", "name": "main", "hash": h4})
t.check(st == 200 and b["reference"]["type"] == "TAG" and b["reference"]["hash"] == h4, "assign a tag", repr(b))
st, b = call("PUT", "/trees/v1@%s?type=BRANCH" % h4, {"type": "BRANCH", "name": "main", "hash": h4})
t.eq(404, st, "assign with the wrong type is 404")
st, b = call("PUT", "/trees/rel@%s" % h2, raw_body=b"nope")
t.eq(400, st, "assign with a bad body is 400")
st, b = commit("v1", [put("sales.t", table("s3://x"))])
t.eq(400, st, "a commit to a tag is 400")

st, b = call("DELETE", "/trees/rel@%s?type=BRANCH" % h1)
t.eq(409, st, "delete with a stale expected hash is 409")
t.check(head("rel") == h2, "a refused delete changes nothing")
st, b = call("DELETE", "/trees/rel@%s?type=BRANCH" % h2)
t.eq(200, st, "delete with the expected hash")
ref_ok(b.get("reference"), "BRANCH", "rel", "deleted reference")
st, b = call("GET", "/trees/rel")
t.eq(404, st, "a deleted ref is gone")
st, b = call("DELETE", "/trees/main@%s" % head("main"))
t.eq(400, st, "main cannot be deleted")

# ---------------------------------------------------------------- deletes, routes
print("# deletes and routes")
st, b = commit("main", [{"type": "DELETE", "key": key("sales", "items")}, {"type": "UNCHANGED", "key": key("sales")}],
               "drop items")
t.eq(200, st, "a Delete commit (with an Unchanged op)")
t.eq(None, content_of("main", "sales.items"), "the deleted key is gone")
t.check(content_of("main~1", "sales.items") is not None, "it is still there at main~1")
st, b = commit("main", [{"type": "DELETE", "key": key("sales", "items")}])
t.eq(409, st, "deleting a missing key is a conflict")
t.eq("KEY_DOES_NOT_EXIST", b["errorDetails"]["conflicts"][0]["conflictType"], "KEY_DOES_NOT_EXIST")
st, b = commit("main", [{"type": "REWRITE", "key": key("sales")}])
t.eq(400, st, "an unknown operation type is 400")
st, b = commit("main", [{"type": "DELETE", "key": {"elements": []}}])
t.eq(400, st, "an empty key is 400")
st, b = call("GET", "/nothing")
t.eq(404, st, "an unknown route is 404")
st, b = call("PATCH", "/trees/main")
t.eq(405, st, "a wrong method is 405")

t.finish()
