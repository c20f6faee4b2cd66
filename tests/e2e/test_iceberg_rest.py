#!/usr/bin/env python3
"""test_iceberg_rest.py: the Iceberg REST API on the catalog port, over
plain HTTP (urllib), for what iceberg-js does not cover, plus vended
credentials used through boto3.

Auth (no token 401, bad secret refused, read-only token cannot write),
the config shape, pagination, %1F namespaces, ETag/304, snapshots=refs,
stage-create + commit with assert-create, register, transactions/commit
atomicity, Idempotency-Key replay, unknown action 400, failed requirement
409, assert-ref-snapshot-id null, metrics, rename, purge, the warehouse
bucket created on first need, and vended keys that read their table's
files only, and are refused when tampered or expired.
"""

import hashlib
import hmac
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from floe_e2e import ACCESS_KEY, SECRET_KEY, Suite, http  # noqa: E402

CONFIG = """
keys:
  - access_key: reader-key
    secret_key: reader-secret-0123
    scope: read
    buckets: [warehouse]
  - access_key: n2-writer
    secret_key: n2-writer-secret-0123
    scope: read-write
    buckets: [warehouse/n2/]
"""

t = Suite()
try:
    srv = t.start(extra_args=["--fsync", "false"], config_text=CONFIG)
except RuntimeError as e:
    t.fail(str(e))
    t.finish()

BASE = srv.catalog_url + "/iceberg/v1"
TOKEN = None


def call(method, path, body=None, headers=None, token=True, raw=False):
    h = {"Content-Type": "application/json"}
    if token and TOKEN:
        h["Authorization"] = "Bearer " + TOKEN
    h.update(headers or {})
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    st, hd, b = http(method, BASE + path, data, h)
    if raw:
        return st, hd, b
    try:
        return st, hd, json.loads(b) if b else None
    except ValueError:
        return st, hd, b


def get_token(cid, secret):
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": cid, "client_secret": secret,
                                   "scope": "catalog"}).encode()
    return http("POST", BASE + "/oauth/tokens", form, {"Content-Type": "application/x-www-form-urlencoded"})


SCHEMA = {"type": "struct", "schema-id": 0, "fields": [
    {"id": 1, "name": "id", "type": "long", "required": True},
    {"id": 2, "name": "v", "type": "string", "required": False}]}

# ------------------------------------------------------------------ auth
print("# auth")
st, _, body = call("GET", "/config", token=False)
t.eq(401, st, "config without a token is 401")
t.check(isinstance(body, dict) and body.get("error", {}).get("code") == 401
        and body["error"].get("type") == "NotAuthorizedException", "401 comes in the error form", repr(body))
st, _, b = get_token(ACCESS_KEY, "not-the-secret")
t.eq(401, st, "a wrong client_secret gets no token")
t.eq("invalid_client", json.loads(b).get("error"), "OAuth error invalid_client")
st, _, b = get_token("nobody", SECRET_KEY)
t.eq(401, st, "an unknown client_id gets no token")
st, _, b = get_token(ACCESS_KEY, SECRET_KEY)
t.eq(200, st, "root key and secret get a token")
tok = json.loads(b)
t.check(tok.get("token_type") == "bearer" and tok.get("expires_in", 0) > 0, "token_type bearer with expires_in",
        repr(tok))
TOKEN = tok["access_token"]
st, _, _ = call("GET", "/config", headers={"Authorization": "Bearer " + TOKEN[:-2] + "00"}, token=False)
t.eq(401, st, "an altered token is refused")
form = urllib.parse.urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                               "subject_token": TOKEN,
                               "subject_token_type": "urn:ietf:params:oauth:token-type:access_token"}).encode()
st, _, b = http("POST", BASE + "/oauth/tokens", form, {"Content-Type": "application/x-www-form-urlencoded"})
t.check(st == 200 and json.loads(b).get("access_token"), "token exchange renews a valid token", b[:200])
form = urllib.parse.urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                               "subject_token": TOKEN + "x"}).encode()
st, _, b = http("POST", BASE + "/oauth/tokens", form, {"Content-Type": "application/x-www-form-urlencoded"})
t.eq(401, st, "token exchange with an altered token is refused")
st, _, b = get_token("reader-key", "reader-secret-0123")
reader_token = json.loads(b).get("access_token")
st, _, _ = call("GET", "/namespaces", headers={"Authorization": "Bearer %s" % reader_token}, token=False)
t.eq(200, st, "a read-only key's token reads")
st, _, b = call("POST", "/namespaces", {"namespace": ["nope"]},
                headers={"Authorization": "Bearer %s" % reader_token}, token=False)
t.eq(403, st, "a read-only key's token cannot write")
st, _, _ = http("GET", srv.catalog_url + "/api/v2/config")
t.eq(401, st, "the Nessie API needs a token too")

# ---------------------------------------------------------------- config
print("# config")
st, _, cfg = call("GET", "/config")
t.eq(200, st, "GET /v1/config")
t.check(isinstance(cfg.get("defaults"), dict), "config has defaults (DuckDB needs it)")
t.eq("main", cfg["defaults"].get("prefix"), "defaults.prefix is main")
t.eq(srv.url, cfg["overrides"].get("s3.endpoint"), "overrides.s3.endpoint is the S3 port")
t.eq("true", cfg["overrides"].get("s3.path-style-access"), "overrides.s3.path-style-access")
t.check("POST /v1/{prefix}/transactions/commit" in cfg.get("endpoints", []), "endpoints list the transactions route")
t.check(cfg.get("idempotency-key-lifetime") == "PT30M", "idempotency-key-lifetime advertised")
st, _, c2 = call("GET", "/config?warehouse=main")
t.eq("main", (c2 or {}).get("overrides", {}).get("prefix"), "warehouse=main gives overrides.prefix main")
st, _, c3 = call("GET", "/config?warehouse=nosuchref")
t.eq(404, st, "an unknown warehouse is 404")
t.eq("NoSuchWarehouseException", (c3 or {}).get("error", {}).get("type"), "... NoSuchWarehouseException")

# ------------------------------------------------------------ namespaces
print("# namespaces")
s3 = t.client(srv)
buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
t.check("warehouse" in buckets, "floe serve made the warehouse bucket at start", repr(buckets))
for n in ["n1", "n2", "n3", "n4", "n5"]:
    st, _, _ = call("POST", "/main/namespaces", {"namespace": [n], "properties": {"owner": n}})
    t.eq(200, st, "create namespace %s" % n)
st, _, b = call("POST", "/main/namespaces", {"namespace": ["n1"]})
t.eq(409, st, "creating it again is 409")
t.eq("AlreadyExistsException", b["error"]["type"], "... AlreadyExistsException")
seen, token_, pages = [], None, 0
while True:
    q = "?pageSize=2" + ("&pageToken=" + urllib.parse.quote(token_) if token_ else "")
    st, _, b = call("GET", "/main/namespaces" + q)
    seen += [tuple(x) for x in b["namespaces"]]
    pages += 1
    token_ = b.get("next-page-token")
    if not token_ or pages > 10:
        break
t.eq([("n1",), ("n2",), ("n3",), ("n4",), ("n5",)], seen, "pageSize=2 pages through all namespaces once")
t.eq(3, pages, "... in three pages")
st, _, b = call("POST", "/main/namespaces", {"namespace": ["n1", "inner"], "properties": {"k": "v"}})
t.eq(200, st, "create a two-level namespace n1.inner")
st, _, b = call("GET", "/main/namespaces?parent=n1")
t.eq([["n1", "inner"]], b.get("namespaces"), "list with parent=n1")
st, _, b = call("GET", "/main/namespaces/n1%1Finner")
t.eq(200, st, "load n1%1Finner")
t.eq({"namespace": ["n1", "inner"], "properties": {"k": "v"}}, b, "... with its levels and properties")
st, _, _ = call("HEAD", "/main/namespaces/n1%1Finner")
t.eq(204, st, "HEAD an existing namespace is 204")
st, _, _ = call("HEAD", "/main/namespaces/missing")
t.eq(404, st, "HEAD a missing namespace is 404")
st, _, b = call("POST", "/main/namespaces/n1/properties", {"removals": ["owner", "nothere"], "updates": {"a": "1"}})
t.eq(200, st, "update namespace properties")
t.eq({"updated": ["a"], "removed": ["owner"], "missing": ["nothere"]}, b, "updated, removed and missing")
st, _, b = call("POST", "/main/namespaces/n1/properties", {"removals": ["a"], "updates": {"a": "2"}})
t.eq(422, st, "the same key updated and removed is 422")
st, _, b = call("DELETE", "/main/namespaces/n1")
t.eq(409, st, "dropping a non-empty namespace is 409")
t.eq("NamespaceNotEmptyException", b["error"]["type"], "... NamespaceNotEmptyException")
st, _, _ = call("DELETE", "/main/namespaces/n1%1Finner")
t.eq(204, st, "drop n1.inner")
st, _, _ = call("DELETE", "/main/namespaces/n5")
t.eq(204, st, "drop n5")
st, _, b = call("GET", "/main/namespaces/n5")
t.eq(404, st, "a dropped namespace is 404")
t.eq("NoSuchNamespaceException", b["error"]["type"], "... NoSuchNamespaceException")

# ---------------------------------------------------------------- tables
print("# tables")
st, _, b = call("POST", "/main/namespaces/n1/tables", {"name": "t1", "schema": SCHEMA, "properties": {"p": "1"}})
t.eq(200, st, "create table n1.t1")
t1_loc = b.get("metadata-location", "")
t.check(t1_loc.startswith("s3://warehouse/n1/t1/metadata/00000-"), "metadata-location under the table", t1_loc)
t.eq("1", b["metadata"]["properties"].get("p"), "properties set at create")
buckets = [x["Name"] for x in s3.list_buckets()["Buckets"]]
t.check("warehouse" in buckets, "the warehouse bucket exists after the first table", repr(buckets))
st, _, b = call("POST", "/main/namespaces/n1/tables", {"name": "t1", "schema": SCHEMA})
t.eq(409, st, "creating it again is 409")
st, _, b = call("POST", "/main/namespaces/nope/tables", {"name": "t1", "schema": SCHEMA})
t.eq(404, st, "create in a missing namespace is 404")
st, hd, b = call("GET", "/main/namespaces/n1/tables/t1")
t.eq(200, st, "load n1.t1")
etag = hd.get("etag")
t.check(bool(etag), "load sends an ETag")
st, _, b = call("GET", "/main/namespaces/n1/tables/t1", headers={"If-None-Match": etag}, raw=True)
t.eq(304, st, "If-None-Match with the ETag is 304")
t.eq(b"", b, "... with no body")
st, _, _ = call("HEAD", "/main/namespaces/n1/tables/t1")
t.eq(204, st, "HEAD an existing table is 204")
st, _, b = call("GET", "/main/namespaces/n1/tables/nope")
t.eq(404, st, "load a missing table is 404")
t.eq("NoSuchTableException", b["error"]["type"], "... NoSuchTableException")
st, _, b = call("POST", "/main/namespaces/n1/tables/t1", {
    "requirements": [{"type": "assert-current-schema-id", "current-schema-id": 0}],
    "updates": [{"action": "set-properties", "updates": {"q": "2"}}]})
t.eq(200, st, "commit set-properties")
t.eq("2", b["metadata"]["properties"].get("q"), "... applied")
t.check(b["metadata-location"].split("/")[-1].startswith("00001-"), "... as metadata version 1")
st, _, b2 = call("GET", "/main/namespaces/n1/tables/t1", headers={"If-None-Match": etag})
t.eq(200, st, "after a commit the old ETag no longer matches")
st, _, b = call("POST", "/main/namespaces/n1/tables/t1", {
    "requirements": [], "updates": [{"action": "make-it-fast"}]})
t.eq(400, st, "an unknown update action is 400")
st, _, b = call("POST", "/main/namespaces/n1/tables/t1", {
    "requirements": [{"type": "assert-current-schema-id", "current-schema-id": 7}],
    "updates": [{"action": "set-properties", "updates": {"q": "3"}}]})
t.eq(409, st, "a failed requirement is 409")
t.eq("CommitFailedException", b["error"]["type"], "... CommitFailedException")

# assert-ref-snapshot-id with snapshot-id null: the ref must not exist (Nessie #10062)
null_req = [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": None}]
st, _, b = call("POST", "/main/namespaces/n1/tables/t1",
                {"requirements": null_req, "updates": [{"action": "set-properties", "updates": {"r": "1"}}]})
t.eq(200, st, "assert-ref-snapshot-id null passes while main does not exist")
snap = {"snapshot-id": 1001, "sequence-number": 1, "timestamp-ms": int(time.time() * 1000),
        "manifest-list": "s3://warehouse/n1/t1/metadata/snap-1001.avro",
        "summary": {"operation": "append"}, "schema-id": 0}
st, _, b = call("POST", "/main/namespaces/n1/tables/t1", {"requirements": null_req, "updates": [
    {"action": "add-snapshot", "snapshot": snap},
    {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": 1001}]})
t.eq(200, st, "add a snapshot and create main, asserting main is absent")
st, _, b = call("POST", "/main/namespaces/n1/tables/t1",
                {"requirements": null_req, "updates": [{"action": "set-properties", "updates": {"r": "2"}}]})
t.eq(409, st, "assert-ref-snapshot-id null fails once main exists")
st, _, b = call("POST", "/main/namespaces/n1/tables/t1", {"requirements": [], "updates": [
    {"action": "add-snapshot", "snapshot": dict(snap, **{"snapshot-id": 1002, "sequence-number": 2,
                                                          "parent-snapshot-id": 1001})},
    {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": 1002}]})
t.eq(200, st, "a second snapshot on main")
st, _, b = call("GET", "/main/namespaces/n1/tables/t1?snapshots=refs")
t.eq([1002], [s["snapshot-id"] for s in b["metadata"]["snapshots"]], "snapshots=refs gives only referenced ones")
st, _, b = call("GET", "/main/namespaces/n1/tables/t1?snapshots=all")
t.eq([1001, 1002], sorted(s["snapshot-id"] for s in b["metadata"]["snapshots"]), "snapshots=all gives all")

# ------------------------------------------------------------ stage-create
print("# stage-create, register")
st, _, b = call("POST", "/main/namespaces/n2/tables", {"name": "staged", "schema": SCHEMA, "stage-create": True})
t.eq(200, st, "stage-create")
t.check("metadata-location" not in b, "a staged table has no metadata-location yet")
st, _, _ = call("GET", "/main/namespaces/n2/tables/staged")
t.eq(404, st, "a staged table does not exist yet")
staged_uuid = b["metadata"]["table-uuid"]
st, _, b = call("POST", "/main/namespaces/n2/tables/staged", {
    "requirements": [{"type": "assert-create"}],
    "updates": [{"action": "assign-uuid", "uuid": staged_uuid},
                {"action": "upgrade-format-version", "format-version": 2},
                {"action": "add-schema", "schema": SCHEMA, "last-column-id": 2},
                {"action": "set-current-schema", "schema-id": -1},
                {"action": "add-spec", "spec": {"spec-id": 0, "fields": []}},
                {"action": "set-default-spec", "spec-id": -1},
                {"action": "add-sort-order", "sort-order": {"order-id": 0, "fields": []}},
                {"action": "set-default-sort-order", "sort-order-id": -1},
                {"action": "set-properties", "updates": {"staged": "yes"}}]})
t.eq(200, st, "commit with assert-create creates the staged table")
st, _, b = call("GET", "/main/namespaces/n2/tables/staged")
t.eq(200, st, "the staged table loads after its commit")
t.eq(staged_uuid, b.get("metadata", {}).get("table-uuid"), "... with the staged uuid")
st, _, b = call("POST", "/main/namespaces/n2/tables/staged", {
    "requirements": [{"type": "assert-create"}], "updates": [{"action": "set-properties", "updates": {}}]})
t.eq(409, st, "assert-create on an existing table is 409")

st, _, cur = call("GET", "/main/namespaces/n1/tables/t1")
st, _, b = call("POST", "/main/namespaces/n2/register",
                {"name": "copy", "metadata-location": cur["metadata-location"]})
t.eq(200, st, "register a table from a metadata location")
st, _, b = call("GET", "/main/namespaces/n2/tables/copy")
t.eq(cur["metadata-location"], b.get("metadata-location"), "the registered table points at that file")
st, _, b = call("POST", "/main/namespaces/n2/register", {"name": "copy", "metadata-location": cur["metadata-location"]})
t.eq(409, st, "registering the name again is 409")
st, _, b = call("POST", "/main/namespaces/n2/register",
                {"name": "ghost", "metadata-location": "s3://warehouse/none/metadata/00000-x.metadata.json"})
t.eq(400, st, "registering a missing metadata file is 400")

# ----------------------------------------------------------- transactions
print("# transactions, idempotency")
call("POST", "/main/namespaces/n3/tables", {"name": "a", "schema": SCHEMA})
call("POST", "/main/namespaces/n3/tables", {"name": "b", "schema": SCHEMA})
before = {n: call("GET", "/main/namespaces/n3/tables/" + n)[2]["metadata-location"] for n in "ab"}
tx = {"table-changes": [
    {"identifier": {"namespace": ["n3"], "name": "a"}, "requirements": [],
     "updates": [{"action": "set-properties", "updates": {"tx": "1"}}]},
    {"identifier": {"namespace": ["n3"], "name": "b"},
     "requirements": [{"type": "assert-current-schema-id", "current-schema-id": 99}],
     "updates": [{"action": "set-properties", "updates": {"tx": "1"}}]}]}
st, _, b = call("POST", "/main/transactions/commit", tx)
t.eq(409, st, "a transaction with one failing requirement is 409")
after = {n: call("GET", "/main/namespaces/n3/tables/" + n)[2]["metadata-location"] for n in "ab"}
t.eq(before, after, "... and changes neither table")
tx["table-changes"][1]["requirements"][0]["current-schema-id"] = 0
st, _, b = call("POST", "/main/transactions/commit", tx)
t.eq(204, st, "the transaction commits when every requirement holds")
props = {n: call("GET", "/main/namespaces/n3/tables/" + n)[2]["metadata"]["properties"].get("tx") for n in "ab"}
t.eq({"a": "1", "b": "1"}, props, "... and changes both tables")

key = {"Idempotency-Key": "0190d3a4-7b1c-7d2e-8f00-000000000001"}
commit = {"requirements": [], "updates": [{"action": "set-properties", "updates": {"idem": "1"}}]}
st1, _, r1 = call("POST", "/main/namespaces/n3/tables/a", commit, headers=key)
st2, h2, r2 = call("POST", "/main/namespaces/n3/tables/a", commit, headers=key)
t.eq(200, st1, "a commit with an Idempotency-Key")
t.eq((200, r1), (st2, r2), "its retry returns the first result")
t.eq("true", h2.get("idempotent-replayed"), "... marked Idempotent-Replayed")
st, _, cur = call("GET", "/main/namespaces/n3/tables/a")
t.eq(r1["metadata-location"], cur["metadata-location"], "the retry made no second commit")
st, _, b = call("POST", "/main/namespaces/n3/tables/a",
                {"requirements": [], "updates": [{"action": "set-properties", "updates": {"idem": "2"}}]}, headers=key)
t.eq(422, st, "the key reused for another request is 422")
k2 = {"Idempotency-Key": "0190d3a4-7b1c-7d2e-8f00-000000000002"}
st1, _, _ = call("DELETE", "/main/namespaces/n4", headers=k2)
st2, _, _ = call("DELETE", "/main/namespaces/n4", headers=k2)
t.eq((204, 204), (st1, st2), "a retried drop with the same key answers 204 again")

# ------------------------------------------------------ metrics, rename
print("# metrics, rename, drop")
st, _, _ = call("POST", "/main/namespaces/n3/tables/a/metrics",
                {"report-type": "scan-report", "table-name": "n3.a", "snapshot-id": -1, "filter": True,
                 "schema-id": 0, "projected-field-ids": [1], "projected-field-names": ["id"], "metrics": {}})
t.eq(204, st, "a metrics report is 204")
st, _, _ = call("POST", "/main/namespaces/n3/tables/zzz/metrics", {"report-type": "scan-report"})
t.eq(404, st, "metrics for a missing table is 404")
st, _, _ = call("POST", "/main/tables/rename", {"source": {"namespace": ["n3"], "name": "b"},
                                                 "destination": {"namespace": ["n2"], "name": "b2"}})
t.eq(204, st, "rename n3.b to n2.b2")
t.eq(404, call("GET", "/main/namespaces/n3/tables/b")[0], "the old name is gone")
t.eq(200, call("GET", "/main/namespaces/n2/tables/b2")[0], "the new name loads")
st, _, _ = call("POST", "/main/tables/rename", {"source": {"namespace": ["n3"], "name": "a"},
                                                 "destination": {"namespace": ["n2"], "name": "b2"}})
t.eq(409, st, "renaming onto an existing table is 409")
st, _, b = call("GET", "/main/namespaces/n2/tables?pageSize=1")
t.eq(1, len(b["identifiers"]), "list tables with pageSize=1")
t.check(b.get("next-page-token") is not None, "... has a next-page-token")

# ------------------------------------------------------------- vended
print("# vended credentials")
import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

st, _, b = call("GET", "/main/namespaces/n3/tables/a", headers={"X-Iceberg-Access-Delegation": "vended-credentials"})
creds = (b or {}).get("storage-credentials") or []
t.check(len(creds) == 1 and creds[0]["prefix"] == "s3://warehouse/n3/a", "loadTable returns storage-credentials",
        repr(creds)[:300])
vc = creds[0]["config"] if creds else {}
t.check(vc.get("s3.access-key-id", "").startswith("FLOEV") and vc.get("s3.session-token"), "... with a session token")


def vended_client(ak, sk, token):
    return boto3.session.Session(aws_access_key_id=ak, aws_secret_access_key=sk, aws_session_token=token,
                                 region_name="us-east-1").client(
        "s3", endpoint_url=srv.url, config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                                  retries={"max_attempts": 1}))


v = vended_client(vc.get("s3.access-key-id"), vc.get("s3.secret-access-key"), vc.get("s3.session-token"))
own_key = cur["metadata-location"][len("s3://warehouse/"):]
got = t.attempt(lambda: v.get_object(Bucket="warehouse", Key=own_key)["Body"].read(), "vended key reads its table")
t.check(got and json.loads(got)["location"] == "s3://warehouse/n3/a", "... the table's metadata")
listed = t.attempt(lambda: v.list_objects_v2(Bucket="warehouse", Prefix="n3/a/"), "vended key lists its table")
t.attempt(lambda: v.put_object(Bucket="warehouse", Key="n3/a/data/x.parquet", Body=b"x"), "vended key writes its table")
other = call("GET", "/main/namespaces/n2/tables/staged")[2]["metadata-location"][len("s3://warehouse/"):]
t.raises("AccessDenied", lambda: v.get_object(Bucket="warehouse", Key=other), "vended key cannot read another table")
t.raises("AccessDenied", lambda: v.list_objects_v2(Bucket="warehouse", Prefix="n2/"),
         "vended key cannot list another table")
t.raises("AccessDenied", lambda: v.put_object(Bucket="warehouse", Key="n3/ab/x", Body=b"x"),
         "vended key for n3/a cannot write n3/ab (prefixes end in '/')")
tok = vc.get("s3.session-token", "")
t.raises("InvalidToken", lambda: vended_client(vc["s3.access-key-id"], vc["s3.secret-access-key"],
                                               tok[:-2] + ("00" if tok[-2:] != "00" else "11")).get_object(
    Bucket="warehouse", Key=own_key), "a tampered session token is refused")
t.raises("InvalidToken", lambda: vended_client(vc["s3.access-key-id"], vc["s3.secret-access-key"], None).get_object(
    Bucket="warehouse", Key=own_key), "a vended key without its session token is refused")


def derive(purpose, token, n):
    k = hmac.new(SECRET_KEY.encode(), purpose.encode(), hashlib.sha256).digest()
    return hmac.new(k, token.encode(), hashlib.sha256).hexdigest()[:n]


# the documented format, with an expiry in the past: the server's own check refuses it
old = "FV1" + ("%d\nr\nwarehouse/n3/a/" % (int(time.time()) - 5)).encode().hex()
old_ak = "FLOEV" + derive("floe vended access key v1", old, 27).upper()
t.raises("ExpiredToken", lambda: vended_client(old_ak, derive("floe vended secret key v1", old, 40), old).get_object(
    Bucket="warehouse", Key=own_key), "an expired vended key is refused")
st, _, b = call("GET", "/main/namespaces/n3/tables/a/credentials")
t.check(st == 200 and len(b.get("storage-credentials", [])) == 1, "GET .../credentials vends keys", repr(b)[:200])
st, _, b = call("GET", "/main/namespaces/n3/tables/a", headers={
    "X-Iceberg-Access-Delegation": "vended-credentials", "Authorization": "Bearer %s" % reader_token}, token=False)
rc = (b.get("storage-credentials") or [{}])[0].get("config", {})
rv = vended_client(rc.get("s3.access-key-id"), rc.get("s3.secret-access-key"), rc.get("s3.session-token"))
t.raises("AccessDenied", lambda: rv.put_object(Bucket="warehouse", Key="n3/a/data/y", Body=b"y"),
         "a read-only caller's vended key cannot write")

st, _, b = get_token("n2-writer", "n2-writer-secret-0123")
w_auth = {"Authorization": "Bearer %s" % json.loads(b).get("access_token"),
          "X-Iceberg-Access-Delegation": "vended-credentials"}
st, _, b = call("GET", "/main/namespaces/n3/tables/a", headers=w_auth, token=False)
t.check(st == 200 and "storage-credentials" not in b,
        "a key scoped to warehouse/n2/ gets no vended keys for n3.a", repr(b)[:200])
st, _, b = call("GET", "/main/namespaces/n2/tables/staged", headers=w_auth, token=False)
t.check(st == 200 and len(b.get("storage-credentials", [])) == 1, "... but does for n2.staged", repr(b)[:200])
st, _, b = call("DELETE", "/main/namespaces/n3/tables/a?purgeRequested=true", headers=w_auth, token=False)
t.eq(403, st, "... and cannot purge n3.a")

# ---------------------------------------------------------------- drop
st, _, _ = call("DELETE", "/main/namespaces/n3/tables/a?purgeRequested=true")
t.eq(204, st, "drop n3.a with purgeRequested")
left = s3.list_objects_v2(Bucket="warehouse", Prefix="n3/a/").get("KeyCount")
t.eq(0, left, "purge deleted the table's files")
st, _, _ = call("DELETE", "/main/namespaces/n2/tables/b2")
t.eq(204, st, "drop n2.b2 without purge")
t.check(s3.list_objects_v2(Bucket="warehouse", Prefix="n3/b/").get("KeyCount", 0) > 0,
        "a drop without purge keeps the files")
t.eq(404, call("DELETE", "/main/namespaces/n2/tables/b2")[0], "dropping it again is 404")
st, _, b = call("GET", "/dev/namespaces")
t.eq(404, st, "a prefix naming no branch is 404")

t.finish()
