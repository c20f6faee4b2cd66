#!/usr/bin/env python3
"""test_boto3.py: boto3 against a real `floe serve`.

Core object flows (put/get/head/list/delete/copy with metadata and content
types), multipart uploads with their error cases, presigned URLs, flexible
checksums (CRC32, SHA256) and anonymous access to a public-read bucket.
"""

import base64
import hashlib
import io
import os
import sys
import time
import urllib.parse
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from floe_e2e import Suite, http  # noqa: E402

MiB = 1024 * 1024
PUBLIC = "public-e2e"
# Objects up to this size live in the index, larger ones in data files
# (docs/object-store.md); pinned so the data-file accounting below is exact.
INLINE_MAX = 32768

t = Suite()
try:
    srv = t.start(extra_args=["--fsync", "false", "--inline-max", str(INLINE_MAX)],
                  config_text="public_buckets:\n  - %s\n" % PUBLIC)
except RuntimeError as e:
    t.fail(str(e))
    t.finish()
s3 = t.client(srv)
B = "boto3-e2e"


def md5q(data):
    return '"%s"' % hashlib.md5(data).hexdigest()


def mp_etag(parts):
    return '"%s-%d"' % (hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest(), len(parts))


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def sha256_b64(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def body_of(r):
    return r["Body"].read()


print("# buckets and basic objects")
t.attempt(lambda: s3.create_bucket(Bucket=B), "create_bucket")
t.attempt(lambda: s3.head_bucket(Bucket=B), "head_bucket")
names = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
t.check(B in names, "list_buckets shows the bucket", repr(names))
# Creating a bucket you own again: 409 BucketAlreadyOwnedByYou, or 200 as
# AWS answers in us-east-1; either way the bucket and its objects stay.
try:
    s3.create_bucket(Bucket=B)
    t.ok("create_bucket twice answers 200 (the us-east-1 behaviour)")
except Exception as e:  # noqa: BLE001
    code = getattr(e, "response", {}).get("Error", {}).get("Code")
    t.eq("BucketAlreadyOwnedByYou", code, "create_bucket twice")

data = b"hello from boto3\n" * 100
r = t.attempt(lambda: s3.put_object(Bucket=B, Key="docs/hello.txt", Body=data, ContentType="application/x-floe",
                                    Metadata={"Author": "Floe Tests", "run-id": "42"}), "put_object with metadata")
if r:
    t.eq(md5q(data), r.get("ETag"), "put_object ETag is the MD5 of the body")
h = s3.head_object(Bucket=B, Key="docs/hello.txt")
t.eq(len(data), h.get("ContentLength"), "head_object ContentLength")
t.eq("application/x-floe", h.get("ContentType"), "head_object ContentType")
t.eq({"author": "Floe Tests", "run-id": "42"}, h.get("Metadata"), "head_object user metadata (x-amz-meta-*)")
g = s3.get_object(Bucket=B, Key="docs/hello.txt")
t.eq(data, body_of(g), "get_object body")
t.eq({"author": "Floe Tests", "run-id": "42"}, g.get("Metadata"), "get_object user metadata")
t.eq(md5q(data), g.get("ETag"), "get_object ETag")
g = s3.get_object(Bucket=B, Key="docs/hello.txt", ResponseContentType="text/csv",
                  ResponseContentDisposition='attachment; filename="h.csv"', ResponseCacheControl="no-cache")
body_of(g)
t.eq("text/csv", g.get("ContentType"), "response-content-type overrides Content-Type")
t.eq('attachment; filename="h.csv"', g.get("ContentDisposition"), "response-content-disposition")
t.eq("no-cache", g.get("CacheControl"), "response-cache-control")
h = s3.head_object(Bucket=B, Key="docs/hello.txt")
t.eq("application/x-floe", h.get("ContentType"), "the override did not change the stored Content-Type")

t.attempt(lambda: s3.put_object(Bucket=B, Key="docs/empty", Body=b""), "put_object of an empty body")
g = s3.get_object(Bucket=B, Key="docs/empty")
t.eq((b"", 0, md5q(b"")), (body_of(g), g.get("ContentLength"), g.get("ETag")), "empty object round trip")

# IfMatch / IfNoneMatch on writes go in as headers: botocore before 1.35
# has no such parameters, and the server must honour them either way.
t.raises("PreconditionFailed", lambda: t.with_headers(s3, {"If-None-Match": "*"}, lambda: s3.put_object(
    Bucket=B, Key="docs/hello.txt", Body=b"x")),
         "put_object IfNoneMatch='*' on an existing key", status=412)
t.attempt(lambda: t.with_headers(s3, {"If-None-Match": "*"}, lambda: s3.put_object(Bucket=B, Key="docs/new-once",
                                                                                   Body=b"1")),
          "put_object IfNoneMatch='*' on a new key")
t.raises("NoSuchKey", lambda: s3.get_object(Bucket=B, Key="docs/missing"), "get_object of a missing key", status=404)
t.raises("404", lambda: s3.head_object(Bucket=B, Key="docs/missing"), "head_object of a missing key")
t.raises("NoSuchBucket", lambda: s3.get_object(Bucket="no-such-bucket-e2e", Key="k"), "get_object in a missing bucket",
         status=404)
t.raises("NoSuchBucket", lambda: s3.list_objects_v2(Bucket="no-such-bucket-e2e"), "list in a missing bucket")

print("# keys that need encoding, listed with EncodingType=url (boto3 asks for it)")
odd_keys = ["odd/a+b.txt", "odd/sp ace.txt", "odd/per%cent", "odd/ünï-日本", "odd/xml&<>\"'.txt", "odd/tab\there",
            "odd/q?x=1#frag", "odd//double-slash", "odd/ends-with-dot."]
for k in odd_keys:
    try:
        s3.put_object(Bucket=B, Key=k, Body=k.encode())
        got = body_of(s3.get_object(Bucket=B, Key=k))
        t.eq(k.encode(), got, "round trip of key %r" % k)
    except Exception as e:  # noqa: BLE001
        t.fail("key %r: %s" % (k, e))
listed = [o["Key"] for o in s3.list_objects_v2(Bucket=B, Prefix="odd/").get("Contents", [])]
t.eq(sorted(odd_keys, key=lambda k: k.encode()), listed, "list_objects_v2 returns each odd key, in byte order")
listed = [o["Key"] for o in s3.list_objects(Bucket=B, Prefix="odd/").get("Contents", [])]
t.eq(sorted(odd_keys, key=lambda k: k.encode()), listed, "list_objects (v1) returns each odd key")
raw = s3.list_objects_v2(Bucket=B, Prefix="odd/x")
t.eq(["odd/xml&<>\"'.txt"], [o["Key"] for o in raw.get("Contents", [])], "prefix with an XML-special key")

print("# list, delete, copy")
for i in range(5):
    s3.put_object(Bucket=B, Key="list/k%d" % i, Body=b"%d" % i)
r = s3.list_objects_v2(Bucket=B, Prefix="list/", MaxKeys=3)
t.eq((["list/k0", "list/k1", "list/k2"], True), ([o["Key"] for o in r.get("Contents", [])], r.get("IsTruncated")),
     "MaxKeys=3 first page")
if r.get("NextContinuationToken"):
    r2 = s3.list_objects_v2(Bucket=B, Prefix="list/", MaxKeys=3, ContinuationToken=r["NextContinuationToken"])
    t.eq((["list/k3", "list/k4"], False), ([o["Key"] for o in r2.get("Contents", [])], r2.get("IsTruncated")),
         "second page via ContinuationToken")
else:
    t.fail("truncated page without NextContinuationToken: %r" % r)
sizes = {o["Key"]: (o.get("Size"), o.get("ETag")) for o in s3.list_objects_v2(Bucket=B, Prefix="list/")["Contents"]}
t.eq((1, md5q(b"3")), sizes.get("list/k3"), "listing carries Size and ETag")

paginator = s3.get_paginator("list_objects_v2")
keys = [o["Key"] for page in paginator.paginate(Bucket=B, PaginationConfig={"PageSize": 2}) for o in page.get("Contents", [])]
all_keys = sorted(k for k in keys)
t.eq(sorted(set(keys)), all_keys, "paginator with PageSize=2 returns no key twice")
t.check({"list/k0", "list/k4", "docs/hello.txt", "odd/a+b.txt"} <= set(keys), "paginator reaches every key")

t.attempt(lambda: s3.delete_object(Bucket=B, Key="list/k0"), "delete_object")
t.raises("404", lambda: s3.head_object(Bucket=B, Key="list/k0"), "deleted key is gone")
t.attempt(lambda: s3.delete_object(Bucket=B, Key="list/never"), "delete_object of a missing key succeeds (204)")
r = s3.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "list/k1"}, {"Key": "list/k2"}]})
t.eq(["list/k1", "list/k2"], sorted(d["Key"] for d in r.get("Deleted", [])), "delete_objects Deleted list")
left = [o["Key"] for o in s3.list_objects_v2(Bucket=B, Prefix="list/").get("Contents", [])]
t.eq(["list/k3", "list/k4"], left, "delete_objects removed the keys")

r = t.attempt(lambda: s3.copy_object(Bucket=B, Key="copies/one", CopySource={"Bucket": B, "Key": "docs/hello.txt"}),
              "copy_object")
if r:
    t.eq(md5q(data), r.get("CopyObjectResult", {}).get("ETag"), "copy_object result ETag")
h = s3.head_object(Bucket=B, Key="copies/one")
t.eq(({"author": "Floe Tests", "run-id": "42"}, "application/x-floe"), (h.get("Metadata"), h.get("ContentType")),
     "copy keeps metadata and content type")
s3.copy_object(Bucket=B, Key="copies/two", CopySource={"Bucket": B, "Key": "odd/sp ace.txt"},
               MetadataDirective="REPLACE", Metadata={"new": "meta"}, ContentType="text/x-replaced")
h = s3.head_object(Bucket=B, Key="copies/two")
t.eq(({"new": "meta"}, "text/x-replaced"), (h.get("Metadata"), h.get("ContentType")), "copy with REPLACE")
t.eq(b"odd/sp ace.txt", body_of(s3.get_object(Bucket=B, Key="copies/two")), "copy from a key with a space")
s3.create_bucket(Bucket="boto3-e2e-other")
t.attempt(lambda: s3.copy_object(Bucket="boto3-e2e-other", Key="x", CopySource={"Bucket": B, "Key": "odd/a+b.txt"}),
          "copy_object across buckets")
t.eq(b"odd/a+b.txt", body_of(s3.get_object(Bucket="boto3-e2e-other", Key="x")), "cross-bucket copy body")
t.raises("NoSuchKey", lambda: s3.copy_object(Bucket=B, Key="c", CopySource={"Bucket": B, "Key": "nope"}),
         "copy from a missing key")
# CopyObject with IfMatch on the source.
t.raises("PreconditionFailed",
         lambda: s3.copy_object(Bucket=B, Key="c", CopySource={"Bucket": B, "Key": "docs/hello.txt"},
                                CopySourceIfMatch='"00000000000000000000000000000000"'),
         "copy with a failing x-amz-copy-source-if-match", status=412)

print("# multipart")
p1, p2, p3 = os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(MiB + 7)
up = s3.create_multipart_upload(Bucket=B, Key="mp/big.bin", ContentType="application/x-mp", Metadata={"m": "1"})
uid = up["UploadId"]
t.check(bool(uid), "create_multipart_upload returns an UploadId")
etags = []
for n, p in ((1, p1), (2, p2), (3, p3)):
    r = s3.upload_part(Bucket=B, Key="mp/big.bin", UploadId=uid, PartNumber=n, Body=p)
    etags.append(r.get("ETag"))
t.eq([md5q(p1), md5q(p2), md5q(p3)], etags, "upload_part ETags are part MD5s")
# Part 2 again with other bytes: the last upload of a number wins.
p2 = os.urandom(5 * MiB)
etags[1] = s3.upload_part(Bucket=B, Key="mp/big.bin", UploadId=uid, PartNumber=2, Body=p2).get("ETag")
lp = s3.list_parts(Bucket=B, Key="mp/big.bin", UploadId=uid)
t.eq([(1, 5 * MiB, etags[0]), (2, 5 * MiB, etags[1]), (3, MiB + 7, etags[2])],
     [(p["PartNumber"], p["Size"], p["ETag"]) for p in lp.get("Parts", [])], "list_parts")
lp = s3.list_parts(Bucket=B, Key="mp/big.bin", UploadId=uid, MaxParts=2)
t.eq(([1, 2], True), ([p["PartNumber"] for p in lp.get("Parts", [])], lp.get("IsTruncated")), "list_parts MaxParts=2")
if lp.get("NextPartNumberMarker"):
    lp = s3.list_parts(Bucket=B, Key="mp/big.bin", UploadId=uid, PartNumberMarker=lp["NextPartNumberMarker"])
    t.eq([3], [p["PartNumber"] for p in lp.get("Parts", [])], "list_parts after PartNumberMarker")
else:
    t.fail("list_parts truncated without NextPartNumberMarker")
mu = s3.list_multipart_uploads(Bucket=B)
t.check((uid, "mp/big.bin") in [(u["UploadId"], u["Key"]) for u in mu.get("Uploads", [])],
        "list_multipart_uploads shows the upload", repr(mu.get("Uploads")))
t.raises("404", lambda: s3.head_object(Bucket=B, Key="mp/big.bin"), "an unfinished upload is not an object")

parts = [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]
t.raises("InvalidPartOrder",
         lambda: s3.complete_multipart_upload(Bucket=B, Key="mp/big.bin", UploadId=uid,
                                              MultipartUpload={"Parts": [parts[1], parts[0], parts[2]]}),
         "complete with parts out of order", status=400)
bad = [dict(parts[0]), parts[1], parts[2]]
bad[0]["ETag"] = md5q(b"not the part")
t.raises("InvalidPart", lambda: s3.complete_multipart_upload(Bucket=B, Key="mp/big.bin", UploadId=uid,
                                                            MultipartUpload={"Parts": bad}),
         "complete with a wrong part ETag", status=400)
t.raises("InvalidPart", lambda: s3.complete_multipart_upload(
    Bucket=B, Key="mp/big.bin", UploadId=uid,
    MultipartUpload={"Parts": parts[:2] + [{"PartNumber": 4, "ETag": etags[2]}]}),
    "complete naming a part never uploaded", status=400)
r = t.attempt(lambda: s3.complete_multipart_upload(Bucket=B, Key="mp/big.bin", UploadId=uid,
                                                   MultipartUpload={"Parts": parts}),
              "complete_multipart_upload (after the failed attempts)")
if r:
    t.eq(mp_etag([p1, p2, p3]), r.get("ETag"), "multipart ETag is md5 of part md5s plus -3")
g = s3.get_object(Bucket=B, Key="mp/big.bin")
t.eq(hashlib.sha256(p1 + p2 + p3).hexdigest(), hashlib.sha256(body_of(g)).hexdigest(), "multipart object bytes")
t.eq((mp_etag([p1, p2, p3]), "application/x-mp", {"m": "1"}), (g.get("ETag"), g.get("ContentType"), g.get("Metadata")),
     "multipart object ETag, content type and metadata")
g = s3.get_object(Bucket=B, Key="mp/big.bin", Range="bytes=%d-%d" % (5 * MiB - 3, 5 * MiB + 2))
t.eq(p1[-3:] + p2[:3], body_of(g), "a range across a part boundary")
mu = s3.list_multipart_uploads(Bucket=B)
t.check(uid not in [u["UploadId"] for u in mu.get("Uploads", [])], "completed upload is no longer listed")
t.raises("NoSuchUpload", lambda: s3.list_parts(Bucket=B, Key="mp/big.bin", UploadId=uid), "list_parts after complete")

# EntityTooSmall: every part but the last must be at least 5 MiB.
up = s3.create_multipart_upload(Bucket=B, Key="mp/small.bin")
u2 = up["UploadId"]
a, b = os.urandom(MiB), os.urandom(MiB)
ea = s3.upload_part(Bucket=B, Key="mp/small.bin", UploadId=u2, PartNumber=1, Body=a)["ETag"]
eb = s3.upload_part(Bucket=B, Key="mp/small.bin", UploadId=u2, PartNumber=2, Body=b)["ETag"]
t.raises("EntityTooSmall", lambda: s3.complete_multipart_upload(
    Bucket=B, Key="mp/small.bin", UploadId=u2,
    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": ea}, {"PartNumber": 2, "ETag": eb}]}),
    "complete with a 1 MiB non-last part", status=400)
t.attempt(lambda: s3.abort_multipart_upload(Bucket=B, Key="mp/small.bin", UploadId=u2), "abort_multipart_upload")
mu = s3.list_multipart_uploads(Bucket=B)
t.check(u2 not in [u["UploadId"] for u in mu.get("Uploads", [])], "aborted upload is no longer listed")
t.raises("NoSuchUpload", lambda: s3.upload_part(Bucket=B, Key="mp/small.bin", UploadId=u2, PartNumber=3, Body=b"x"),
         "upload_part to an aborted upload", status=404)
t.raises("NoSuchUpload", lambda: s3.list_parts(Bucket=B, Key="mp/small.bin", UploadId=u2), "list_parts after abort")
t.raises("404", lambda: s3.head_object(Bucket=B, Key="mp/small.bin"), "aborted upload left no object")
# A single small part is fine: the last part has no minimum.
up = s3.create_multipart_upload(Bucket=B, Key="mp/one-part")
e1 = s3.upload_part(Bucket=B, Key="mp/one-part", UploadId=up["UploadId"], PartNumber=1, Body=b"tiny")["ETag"]
r = t.attempt(lambda: s3.complete_multipart_upload(Bucket=B, Key="mp/one-part", UploadId=up["UploadId"],
                                                   MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}]}),
              "complete with one small part")
t.eq(b"tiny", body_of(s3.get_object(Bucket=B, Key="mp/one-part")), "one-part upload body")

# The managed transfer (s3transfer) both ways.
from boto3.s3.transfer import TransferConfig  # noqa: E402

blob = os.urandom(11 * MiB + 3)
cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)
t.attempt(lambda: s3.upload_fileobj(io.BytesIO(blob), B, "mp/managed.bin", Config=cfg), "upload_fileobj (3 parts)")
out = io.BytesIO()
t.attempt(lambda: s3.download_fileobj(B, "mp/managed.bin", out, Config=cfg), "download_fileobj (ranged GETs)")
t.eq(hashlib.sha256(blob).hexdigest(), hashlib.sha256(out.getvalue()).hexdigest(), "managed transfer round trip")
t.check(s3.head_object(Bucket=B, Key="mp/managed.bin")["ETag"].endswith('-3"'), "managed upload ETag ends in -3")

print("# presigned URLs")
url = s3.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "docs/hello.txt"}, ExpiresIn=300)
st, hd, bd = http("GET", url)
t.eq((200, data), (st, bd), "presigned GET")
url = s3.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "odd/sp ace.txt"}, ExpiresIn=300)
st, hd, bd = http("GET", url)
t.eq((200, b"odd/sp ace.txt"), (st, bd), "presigned GET of a key with a space")
pdata = os.urandom(70000)
url = s3.generate_presigned_url("put_object", Params={"Bucket": B, "Key": "presigned/up.bin"}, ExpiresIn=300)
st, hd, bd = http("PUT", url, body=pdata, headers={"Content-Type": "application/octet-stream"})
t.eq(200, st, "presigned PUT status (body %r)" % bd[:300])
t.eq(md5q(pdata), hd.get("etag"), "presigned PUT ETag")
t.eq(pdata, body_of(s3.get_object(Bucket=B, Key="presigned/up.bin")), "presigned PUT stored the bytes")
# Tampering: another key with the same signature.
url = s3.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "docs/hello.txt"}, ExpiresIn=300)
st, hd, bd = http("GET", url.replace("docs/hello.txt", "docs/empty"))
t.eq(403, st, "presigned URL used for another key is refused")
t.check(b"SignatureDoesNotMatch" in bd, "  ... with SignatureDoesNotMatch", bd[:300])
url = s3.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "docs/hello.txt"}, ExpiresIn=1)
time.sleep(2.1)
st, hd, bd = http("GET", url)
t.eq(403, st, "an expired presigned URL is refused")
t.check(b"AccessDenied" in bd, "  ... with AccessDenied", bd[:300])

print("# flexible checksums")
cdata = os.urandom(300000)
r = t.attempt(lambda: s3.put_object(Bucket=B, Key="ck/crc32", Body=cdata, ChecksumAlgorithm="CRC32"),
              "put_object ChecksumAlgorithm=CRC32")
if r:
    t.eq(crc32_b64(cdata), r.get("ChecksumCRC32"), "put_object returns x-amz-checksum-crc32")
g = s3.get_object(Bucket=B, Key="ck/crc32", ChecksumMode="ENABLED")
t.eq(cdata, body_of(g), "get_object ChecksumMode=ENABLED body (botocore validates the checksum)")
t.eq(crc32_b64(cdata), g.get("ChecksumCRC32"), "get_object returns the stored CRC32")
h = s3.head_object(Bucket=B, Key="ck/crc32", ChecksumMode="ENABLED")
t.eq(crc32_b64(cdata), h.get("ChecksumCRC32"), "head_object returns the stored CRC32")
r = t.attempt(lambda: s3.put_object(Bucket=B, Key="ck/sha256", Body=cdata, ChecksumAlgorithm="SHA256"),
              "put_object ChecksumAlgorithm=SHA256")
if r:
    t.eq(sha256_b64(cdata), r.get("ChecksumSHA256"), "put_object returns x-amz-checksum-sha256")
g = s3.get_object(Bucket=B, Key="ck/sha256", ChecksumMode="ENABLED")
t.eq(cdata, body_of(g), "get_object SHA256 body")
t.eq(sha256_b64(cdata), g.get("ChecksumSHA256"), "get_object returns the stored SHA256")
t.raises("BadDigest", lambda: s3.put_object(Bucket=B, Key="ck/bad", Body=cdata, ChecksumCRC32=crc32_b64(b"other")),
         "put_object with a wrong x-amz-checksum-crc32", status=400)
t.raises("BadDigest", lambda: s3.put_object(Bucket=B, Key="ck/bad", Body=cdata, ChecksumSHA256=sha256_b64(b"other")),
         "put_object with a wrong x-amz-checksum-sha256", status=400)
t.raises("404", lambda: s3.head_object(Bucket=B, Key="ck/bad"), "a put refused for its checksum stored nothing")

print("# public-read bucket")
# The bucket may already exist: the server may create configured buckets.
try:
    s3.create_bucket(Bucket=PUBLIC)
    t.ok("create the public bucket")
except Exception as e:  # noqa: BLE001
    t.eq("BucketAlreadyOwnedByYou", getattr(e, "response", {}).get("Error", {}).get("Code"),
         "create the public bucket (or find it made from the config)")
s3.put_object(Bucket=PUBLIC, Key="pub/file.txt", Body=b"public bytes", ContentType="text/plain")
pub = srv.url + "/" + PUBLIC + "/pub/file.txt"
st, hd, bd = http("GET", pub)
t.eq((200, b"public bytes"), (st, bd), "anonymous GET on a public bucket")
st, hd, bd = http("HEAD", pub)
t.eq((200, "12"), (st, hd.get("content-length")), "anonymous HEAD on a public bucket")
st, hd, bd = http("PUT", srv.url + "/" + PUBLIC + "/pub/evil.txt", body=b"nope")
t.eq(403, st, "anonymous PUT on a public bucket is refused")
t.check(b"AccessDenied" in bd, "  ... with AccessDenied", bd[:300])
st, hd, bd = http("DELETE", pub)
t.eq(403, st, "anonymous DELETE on a public bucket is refused")
t.eq(b"public bytes", body_of(s3.get_object(Bucket=PUBLIC, Key="pub/file.txt")), "the public object is intact")
t.raises("404", lambda: s3.head_object(Bucket=PUBLIC, Key="pub/evil.txt"), "the anonymous PUT stored nothing")
st, hd, bd = http("GET", srv.url + "/" + B + "/docs/hello.txt")
t.eq(403, st, "anonymous GET on a private bucket is refused")
t.check(b"AccessDenied" in bd, "  ... with AccessDenied", bd[:300])
st, hd, bd = http("GET", srv.url + "/" + PUBLIC + "/pub/missing")
t.eq(404, st, "anonymous GET of a missing key in a public bucket is 404")

print("# more object semantics")
loc = t.attempt(lambda: s3.get_bucket_location(Bucket=B), "get_bucket_location")
t.check(loc is not None and loc.get("LocationConstraint") in (None, "", "us-east-1"),
        "bucket location is us-east-1 (null)", repr(loc and loc.get("LocationConstraint")))
t.attempt(lambda: s3.put_object(Bucket=B, Key="sem/acl", Body=b"acl", ACL="private"),
          "put_object with a canned ACL header (x-amz-acl: private) is accepted")
gz = zlib.compress(b"compressed text " * 100)
s3.put_object(Bucket=B, Key="sem/headers.gz", Body=gz, ContentType="text/plain", ContentEncoding="gzip",
              CacheControl="max-age=60", ContentDisposition='inline; filename="x.txt"', ContentLanguage="en-GB")
h = s3.head_object(Bucket=B, Key="sem/headers.gz")
t.eq(("gzip", "max-age=60", 'inline; filename="x.txt"', "en-GB"),
     (h.get("ContentEncoding"), h.get("CacheControl"), h.get("ContentDisposition"), h.get("ContentLanguage")),
     "Content-Encoding, Cache-Control, Content-Disposition, Content-Language are stored and returned")
raw = urllib.request.urlopen(s3.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "sem/headers.gz"}))
t.eq(gz, raw.read(), "a gzip Content-Encoding object is served as stored (not decoded)")
import datetime  # noqa: E402

lm = h["LastModified"]
t.raises("304", lambda: s3.get_object(Bucket=B, Key="sem/headers.gz", IfModifiedSince=lm + datetime.timedelta(hours=1)),
         "If-Modified-Since after Last-Modified is 304")
t.attempt(lambda: body_of(s3.get_object(Bucket=B, Key="sem/headers.gz", IfModifiedSince=lm - datetime.timedelta(hours=1))),
          "If-Modified-Since before Last-Modified is 200")
t.raises("PreconditionFailed",
         lambda: s3.get_object(Bucket=B, Key="sem/headers.gz", IfUnmodifiedSince=lm - datetime.timedelta(hours=1)),
         "If-Unmodified-Since before Last-Modified is 412", status=412)
# aws-cli v2 (Debian's awscli) calls GetObjectTagging on the source of every
# copy above its multipart threshold (aws s3 cp/mv/sync between S3 paths), and
# gives up when it fails: an untagged object must answer an empty TagSet.
r = t.attempt(lambda: s3.get_object_tagging(Bucket=B, Key="docs/hello.txt"),
              "GetObjectTagging of an untagged object (aws-cli v2 copies need it)")
t.eq([], r.get("TagSet") if r else None, "an untagged object has an empty TagSet")
# Conditional writes (optimistic concurrency, as table formats use them).
e_old = s3.put_object(Bucket=B, Key="sem/cas", Body=b"v1")["ETag"]
t.raises("PreconditionFailed", lambda: t.with_headers(s3, {"If-Match": md5q(b"other")}, lambda: s3.put_object(
    Bucket=B, Key="sem/cas", Body=b"v2")),
         "put_object IfMatch with a stale ETag", status=412)
t.attempt(lambda: t.with_headers(s3, {"If-Match": e_old}, lambda: s3.put_object(Bucket=B, Key="sem/cas", Body=b"v3")),
          "put_object IfMatch with the current ETag")
t.eq(b"v3", body_of(s3.get_object(Bucket=B, Key="sem/cas")), "only the matching conditional write landed")
t.raises("NoSuchKey", lambda: t.with_headers(s3, {"If-Match": e_old}, lambda: s3.put_object(
    Bucket=B, Key="sem/cas-missing", Body=b"x")),
         "put_object IfMatch on a missing key", status=404)
up = s3.create_multipart_upload(Bucket=B, Key="sem/cas")["UploadId"]
pe = s3.upload_part(Bucket=B, Key="sem/cas", UploadId=up, PartNumber=1, Body=b"mp")["ETag"]
t.raises("PreconditionFailed", lambda: t.with_headers(s3, {"If-None-Match": "*"}, lambda: s3.complete_multipart_upload(
    Bucket=B, Key="sem/cas", UploadId=up, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": pe}]})),
    "complete_multipart_upload IfNoneMatch='*' over an existing key", status=412)
s3.abort_multipart_upload(Bucket=B, Key="sem/cas", UploadId=up)
t.eq(b"v3", body_of(s3.get_object(Bucket=B, Key="sem/cas")), "the refused completion left the object alone")
t.raises("MetadataTooLarge", lambda: s3.put_object(Bucket=B, Key="sem/meta", Body=b"x", Metadata={"big": "v" * 3000}),
         "user metadata over 2 KiB", status=400)
big1 = os.urandom(200_000)
s3.put_object(Bucket=B, Key="sem/self", Body=big1, ContentType="text/x-old")
t.raises("InvalidRequest", lambda: s3.copy_object(Bucket=B, Key="sem/self", CopySource={"Bucket": B, "Key": "sem/self"}),
         "copying an object onto itself without REPLACE is 400 InvalidRequest", status=400)
t.attempt(lambda: s3.copy_object(Bucket=B, Key="sem/self", CopySource={"Bucket": B, "Key": "sem/self"},
                                 MetadataDirective="REPLACE", ContentType="text/x-new"),
          "copying an object onto itself with REPLACE (to change its content type)")
g = s3.get_object(Bucket=B, Key="sem/self")
t.eq((big1, "text/x-new"), (body_of(g), g.get("ContentType")), "self-copy kept the bytes and took the new type")
big2 = os.urandom(150_000)
s3.put_object(Bucket=B, Key="sem/self", Body=big2)
t.eq(big2, body_of(s3.get_object(Bucket=B, Key="sem/self")), "an overwrite returns the new bytes")
s3.put_object(Bucket=B, Key="sem/shrink", Body=os.urandom(100_000))
s3.put_object(Bucket=B, Key="sem/shrink", Body=b"now small")
t.eq(b"now small", body_of(s3.get_object(Bucket=B, Key="sem/shrink")), "overwrite of a file object by an inline one")

print("# edges of names, listings and uploads")
for name in ("abc", "a" * 63, "dots.in.name-e2e", "0digits-first"):
    try:
        s3.create_bucket(Bucket=name)
        s3.put_object(Bucket=name, Key="k", Body=b"v")
        ok = body_of(s3.get_object(Bucket=name, Key="k")) == b"v"
        s3.delete_object(Bucket=name, Key="k")
        s3.delete_bucket(Bucket=name)
        t.check(ok, "valid bucket name %r: create, put, get, delete" % name)
    except Exception as e:  # noqa: BLE001
        t.fail("valid bucket name %r: %s" % (name, e))
for k in ("d/a-b-c", "d/a-x", "d/b", "d/c-"):
    s3.put_object(Bucket=B, Key=k, Body=b"1")
r = s3.list_objects_v2(Bucket=B, Prefix="d/", Delimiter="-")
t.eq((["d/a-", "d/c-"], ["d/b"]), ([p["Prefix"] for p in r.get("CommonPrefixes", [])],
                                   [o["Key"] for o in r.get("Contents", [])]), "a delimiter other than '/'")
r = s3.list_objects_v2(Bucket=B, Prefix="d/a", Delimiter="-")
t.eq(["d/a-"], [p["Prefix"] for p in r.get("CommonPrefixes", [])], "a prefix that ends inside a segment")
r = s3.list_objects_v2(Bucket=B, Prefix="d/", StartAfter="d/zzz")
t.eq(([], False), ([o["Key"] for o in r.get("Contents", [])], r.get("IsTruncated")), "StartAfter past every key")
lst = {o["Key"]: o["LastModified"] for o in s3.list_objects_v2(Bucket=B, Prefix="d/b")["Contents"]}
# S3 keeps whole seconds: HEAD's HTTP date and the listing's ISO time (always
# .000Z on AWS) name the same instant, so tools may compare the two.
t.eq(s3.head_object(Bucket=B, Key="d/b")["LastModified"], lst.get("d/b"),
     "listing and HEAD agree on LastModified (whole seconds, as S3)")
up = s3.create_multipart_upload(Bucket=B, Key="mp/edges")["UploadId"]
t.raises("InvalidArgument", lambda: s3.upload_part(Bucket=B, Key="mp/edges", UploadId=up, PartNumber=0, Body=b"x"),
         "upload_part number 0", status=400)
t.raises("InvalidArgument", lambda: s3.upload_part(Bucket=B, Key="mp/edges", UploadId=up, PartNumber=10001, Body=b"x"),
         "upload_part number 10001", status=400)
t.raises("MalformedXML", lambda: s3.complete_multipart_upload(Bucket=B, Key="mp/edges", UploadId=up,
                                                             MultipartUpload={"Parts": []}),
         "complete with no parts", status=400)
t.raises("NoSuchUpload", lambda: s3.upload_part(Bucket=B, Key="mp/other-key", UploadId=up, PartNumber=1, Body=b"x"),
         "upload_part with an upload id of another key", status=404)
s3.abort_multipart_upload(Bucket=B, Key="mp/edges", UploadId=up)
bad5 = t.client(srv, secret_key="not-the-right-secret")
t0 = time.time()
t.raises("SignatureDoesNotMatch", lambda: bad5.put_object(Bucket=B, Key="mp/bad-secret", Body=os.urandom(5 * MiB)),
         "a 5 MiB PUT with a wrong secret (Expect: 100-continue) is refused", status=403)
t.check(time.time() - t0 < 20, "  ... promptly (%.1f s)" % (time.time() - t0))
t.raises("404", lambda: s3.head_object(Bucket=B, Key="mp/bad-secret"), "  ... and stored nothing")

print("# concurrency and listing at scale")
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

bodies = [bytes([65 + i]) * (60_000 + i) for i in range(8)]  # file-sized, all different


def put_same(i):
    return s3.put_object(Bucket=B, Key="race/same", Body=bodies[i])["ETag"]


with ThreadPoolExecutor(8) as ex:
    race_etags = list(ex.map(put_same, range(8)))
g = s3.get_object(Bucket=B, Key="race/same")
final = body_of(g)
t.check(final in bodies, "8 concurrent PUTs of one key: the result is exactly one of the bodies",
        "got %d bytes starting %r" % (len(final), final[:8]))
t.eq(md5q(final), g.get("ETag"), "the ETag belongs to the body that won")
t.check(g.get("ETag") in race_etags, "the winner was acknowledged")

keys = ["many/%04d" % i for i in range(1100)]
with ThreadPoolExecutor(8) as ex:
    list(ex.map(lambda k: s3.put_object(Bucket=B, Key=k, Body=k.encode()), keys))
r = s3.list_objects_v2(Bucket=B, Prefix="many/")
t.eq((1000, True, 1000), (len(r.get("Contents", [])), r.get("IsTruncated"), r.get("MaxKeys")),
     "a listing without max-keys stops at 1000 and is truncated")
r = s3.list_objects_v2(Bucket=B, Prefix="many/", MaxKeys=5000)
t.eq(1000, len(r.get("Contents", [])), "max-keys above 1000 still returns at most 1000")
got = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=B, Prefix="many/")
       for o in page.get("Contents", [])]
t.eq(keys, got, "the paginator returns all 1100 keys in order")
got = [o["Key"] for page in s3.get_paginator("list_objects").paginate(Bucket=B, Prefix="many/")
       for o in page.get("Contents", [])]
t.eq(keys, got, "list_objects (v1) pages through all 1100 keys by marker")
t.raises("MalformedXML", lambda: s3.delete_objects(Bucket=B, Delete={"Objects": [{"Key": k} for k in keys[:1001]]}),
         "delete_objects with 1001 keys", status=400)
r = s3.delete_objects(Bucket=B, Delete={"Objects": [{"Key": k} for k in keys[:1000]]})
t.eq((1000, []), (len(r.get("Deleted", [])), r.get("Errors", [])), "delete_objects with 1000 keys")
left = [o["Key"] for o in s3.list_objects_v2(Bucket=B, Prefix="many/").get("Contents", [])]
t.eq(keys[1000:], left, "exactly the 100 undeleted keys remain")

print("# bucket deletion")
t.raises("BucketNotEmpty", lambda: s3.delete_bucket(Bucket="boto3-e2e-other"), "delete a non-empty bucket", status=409)
s3.delete_object(Bucket="boto3-e2e-other", Key="x")
t.attempt(lambda: s3.delete_bucket(Bucket="boto3-e2e-other"), "delete the emptied bucket")
t.raises("NoSuchBucket", lambda: s3.list_objects_v2(Bucket="boto3-e2e-other"), "the deleted bucket is gone")

bad = t.client(srv, secret_key="not-the-right-secret")
t.raises("SignatureDoesNotMatch", lambda: bad.list_objects_v2(Bucket=B), "wrong secret", status=403)

print("# disk accounting: overwrites, deletes, copies, completed and aborted uploads leave no data file behind")


def file_objects(client):
    n = 0
    for b in client.list_buckets().get("Buckets", []):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=b["Name"]):
            # Multipart objects are always files (their parts are concatenated).
            n += sum(1 for o in page.get("Contents", []) if o["Size"] > INLINE_MAX or "-" in o["ETag"])
    return n


def data_files(server):
    root = os.path.join(server.data_dir, "objects", "data")
    return sum(len(fs) for _, _, fs in os.walk(root))


def count_stable(client, server):
    want = file_objects(client)
    for _ in range(50):
        have = data_files(server)
        if have == want:
            break
        time.sleep(0.1)
    return want, have


uploads = [u["UploadId"] for b in s3.list_buckets().get("Buckets", [])
           for u in s3.list_multipart_uploads(Bucket=b["Name"]).get("Uploads", [])]
t.eq([], uploads, "no multipart upload is left in progress")
want, have = count_stable(s3, srv)
t.eq(want, have, "while running: data files == objects larger than inline_max or multipart")
srv.stop()
srv2 = t.start(data_dir=srv.data_dir, extra_args=["--fsync", "false", "--inline-max", str(INLINE_MAX)])
s3b = t.client(srv2)
want, have = count_stable(s3b, srv2)
t.eq(want, have, "after a restart: data files == objects larger than inline_max or multipart")
t.eq(big2, body_of(s3b.get_object(Bucket=B, Key="sem/self")), "objects survive a clean restart")

t.finish()
