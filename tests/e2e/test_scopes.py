#!/usr/bin/env python3
"""test_scopes.py: scoped credentials from floe.yaml, through boto3.

A read-only key on one bucket, a read-write key on one prefix of another,
and the root key. Each may do exactly what its scope says and gets
AccessDenied for the rest; a wrong secret and an unknown key are refused.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from floe_e2e import Suite  # noqa: E402

CONFIG = """
keys:
  - access_key: reader-key
    secret_key: reader-secret-0123
    scope: read
    buckets: [logs]
  - access_key: writer-key
    secret_key: writer-secret-0123
    scope: read-write
    buckets: [raw/binance/]
"""

t = Suite()
try:
    srv = t.start(extra_args=["--fsync", "false"], config_text=CONFIG)
except RuntimeError as e:
    t.fail(str(e))
    t.finish()

root = t.client(srv)
reader = t.client(srv, access_key="reader-key", secret_key="reader-secret-0123")
writer = t.client(srv, access_key="writer-key", secret_key="writer-secret-0123")
wrong = t.client(srv, access_key="reader-key", secret_key="not-the-secret-0")
stranger = t.client(srv, access_key="nobody-key", secret_key="nobody-secret-01")

for b in ("logs", "raw", "other"):
    t.attempt(lambda b=b: root.create_bucket(Bucket=b), "root creates bucket %s" % b)
t.attempt(lambda: root.put_object(Bucket="logs", Key="day1.log", Body=b"line\n"), "root writes logs/day1.log")
t.attempt(lambda: root.put_object(Bucket="raw", Key="secret/x", Body=b"hidden"), "root writes raw/secret/x")

print("# read-only key on bucket logs")
got = t.attempt(lambda: reader.get_object(Bucket="logs", Key="day1.log")["Body"].read(), "reader reads logs")
t.eq(b"line\n", got, "reader gets the right bytes")
keys = t.attempt(lambda: [o["Key"] for o in reader.list_objects_v2(Bucket="logs").get("Contents", [])],
                 "reader lists logs")
t.eq(["day1.log"], keys, "reader's listing of logs")
t.raises("AccessDenied", lambda: reader.put_object(Bucket="logs", Key="new", Body=b"x"),
         "reader cannot write to logs", status=403)
t.raises("AccessDenied", lambda: reader.delete_object(Bucket="logs", Key="day1.log"),
         "reader cannot delete from logs", status=403)
t.raises("AccessDenied", lambda: reader.get_object(Bucket="raw", Key="secret/x"),
         "reader cannot read another bucket", status=403)
t.raises("AccessDenied", lambda: reader.create_bucket(Bucket="mine"), "reader cannot create buckets", status=403)

print("# read-write key on raw/binance/")
t.attempt(lambda: writer.put_object(Bucket="raw", Key="binance/2026/11/21.json", Body=b"{}"),
          "writer writes under its prefix")
t.eq(b"{}", t.attempt(lambda: writer.get_object(Bucket="raw", Key="binance/2026/11/21.json")["Body"].read(),
                      "writer reads under its prefix"), "writer reads back its object")
keys = t.attempt(lambda: [o["Key"] for o in writer.list_objects_v2(Bucket="raw", Prefix="binance/").get(
    "Contents", [])], "writer lists its prefix")
t.eq(["binance/2026/11/21.json"], keys, "writer's listing under binance/")
t.raises("AccessDenied", lambda: writer.list_objects_v2(Bucket="raw"), "writer cannot list the whole bucket",
         status=403)
t.raises("AccessDenied", lambda: writer.put_object(Bucket="raw", Key="elsewhere/x", Body=b"x"),
         "writer cannot write outside its prefix", status=403)
t.raises("AccessDenied", lambda: writer.get_object(Bucket="raw", Key="secret/x"),
         "writer cannot read outside its prefix", status=403)
t.raises("AccessDenied", lambda: writer.put_object(Bucket="logs", Key="x", Body=b"x"),
         "writer cannot write to another bucket", status=403)
t.raises("AccessDenied", lambda: writer.copy_object(Bucket="raw", Key="binance/copy",
                                                     CopySource={"Bucket": "raw", "Key": "secret/x"}),
         "writer cannot copy from outside its scope", status=403)
r = t.attempt(lambda: writer.delete_objects(Bucket="raw", Delete={"Objects": [
    {"Key": "binance/2026/11/21.json"}, {"Key": "secret/x"}]}), "writer sends DeleteObjects")
if r is not None:
    t.eq(["binance/2026/11/21.json"], [d["Key"] for d in r.get("Deleted", [])], "only the in-scope key is deleted")
    t.eq([("secret/x", "AccessDenied")], [(e["Key"], e["Code"]) for e in r.get("Errors", [])],
         "the out-of-scope key is refused")
t.eq(b"hidden", t.attempt(lambda: root.get_object(Bucket="raw", Key="secret/x")["Body"].read(),
                          "root still reads raw/secret/x"), "out-of-scope object survived")

print("# bad credentials")
t.raises("SignatureDoesNotMatch", lambda: wrong.list_objects_v2(Bucket="logs"), "a wrong secret is refused",
         status=403)
t.raises("InvalidAccessKeyId", lambda: stranger.list_objects_v2(Bucket="logs"), "an unknown key is refused",
         status=403)
t.finish()
