// test_js_sdk.mjs: the AWS SDK for JavaScript v3 against a real `floe serve`,
// with the SDK's DEFAULT checksum behaviour: bodies it cannot hash up front
// (streams) go out as aws-chunked STREAMING-UNSIGNED-PAYLOAD-TRAILER with an
// x-amz-checksum-crc32 trailer, and GetObject asks for checksums back and
// validates them. A middleware records what was sent, so the test proves the
// streaming encoding really was exercised.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import zlib from "node:zlib";
import {
  S3Client,
  CreateBucketCommand,
  HeadBucketCommand,
  PutObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  CopyObjectCommand,
  DeleteBucketCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { Suite, ACCESS_KEY, SECRET_KEY, REGION } from "./floe_e2e.mjs";

const MiB = 1024 * 1024;
const t = new Suite();
let srv;
try {
  srv = await t.start({ extraArgs: ["--fsync", "false"] });
} catch (e) {
  t.fail(e.message);
  await t.finish();
}

const sent = []; // {op, headers} of every request, after the checksum middleware
const s3 = new S3Client({
  endpoint: srv.url,
  region: REGION,
  forcePathStyle: true,
  credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
  maxAttempts: 1,
});
s3.middlewareStack.add(
  (next, context) => async (args) => {
    sent.push({ op: context.commandName, headers: { ...args.request.headers } });
    return next(args);
  },
  { step: "finalizeRequest", name: "e2eRecorder" },
);
const lastSent = (op) => [...sent].reverse().find((s) => s.op === op)?.headers || {};

const md5q = (b) => `"${crypto.createHash("md5").update(b).digest("hex")}"`;
const sha256 = (b) => crypto.createHash("sha256").update(b).digest("hex");
const crc32b64 = (b) => {
  const v = zlib.crc32(b);
  const out = Buffer.alloc(4);
  out.writeUInt32BE(v >>> 0);
  return out.toString("base64");
};
const mpEtag = (parts) =>
  `"${crypto.createHash("md5").update(Buffer.concat(parts.map((p) => crypto.createHash("md5").update(p).digest()))).digest("hex")}-${parts.length}"`;
// A stream that yields `buf` in pieces of `piece` bytes, as a file read would.
const piecewise = (buf, piece = 64 * 1024) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < buf.length; i += piece) yield buf.subarray(i, Math.min(i + piece, buf.length));
    })(),
  );
const bytesOf = async (r) => Buffer.from(await r.Body.transformToByteArray());

const B = "js-sdk-e2e";

console.log("# buckets and string / buffer bodies");
await t.attempt(() => s3.send(new CreateBucketCommand({ Bucket: B })), "CreateBucket");
await t.attempt(() => s3.send(new HeadBucketCommand({ Bucket: B })), "HeadBucket");

let r = await t.attempt(
  () => s3.send(new PutObjectCommand({ Bucket: B, Key: "s/hello.txt", Body: "hello from the JS SDK", ContentType: "text/plain" })),
  "PutObject of a string",
);
t.eq(md5q("hello from the JS SDK"), r?.ETag, "PutObject ETag (string)");
t.check(lastSent("PutObjectCommand")["x-amz-checksum-crc32"] !== undefined, "the SDK sent x-amz-checksum-crc32 for a string body");
r = await t.attempt(() => s3.send(new GetObjectCommand({ Bucket: B, Key: "s/hello.txt" })), "GetObject of the string");
if (r) {
  t.eq("hello from the JS SDK", await r.Body.transformToString(), "GetObject string body");
  t.eq("text/plain", r.ContentType, "GetObject ContentType");
}
r = await t.attempt(
  () => s3.send(new PutObjectCommand({ Bucket: B, Key: "s/unicode-ñ-日本.txt", Body: "ünïcødé ✓" })),
  "PutObject of a unicode string to a unicode key",
);
r = await s3.send(new GetObjectCommand({ Bucket: B, Key: "s/unicode-ñ-日本.txt" })).catch((e) => e);
t.eq("ünïcødé ✓", r.Body ? await r.Body.transformToString() : r.name, "unicode round trip");

const big = crypto.randomBytes(10 * MiB);
r = await t.attempt(() => s3.send(new PutObjectCommand({ Bucket: B, Key: "b/buffer-10m.bin", Body: big })), "PutObject of a 10 MiB Buffer");
t.eq(md5q(big), r?.ETag, "PutObject ETag (10 MiB buffer)");
r = await t.attempt(() => s3.send(new GetObjectCommand({ Bucket: B, Key: "b/buffer-10m.bin" })), "GetObject 10 MiB");
if (r) t.eq(sha256(big), sha256(await bytesOf(r)), "10 MiB buffer round trip");
r = await t.attempt(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: "b/buffer-10m.bin" })), "HeadObject");
t.eq([10 * MiB, md5q(big)], [r?.ContentLength, r?.ETag], "HeadObject ContentLength and ETag");

console.log("# streaming bodies: aws-chunked with a CRC32 trailer");
r = await t.attempt(
  () => s3.send(new PutObjectCommand({ Bucket: B, Key: "c/stream-10m.bin", Body: piecewise(big), ContentLength: big.length })),
  "PutObject of a 10 MiB stream (64 KiB pieces)",
);
let h = lastSent("PutObjectCommand");
t.eq(
  ["STREAMING-UNSIGNED-PAYLOAD-TRAILER", "aws-chunked", "x-amz-checksum-crc32", `${big.length}`],
  [h["x-amz-content-sha256"], h["content-encoding"], h["x-amz-trailer"], h["x-amz-decoded-content-length"]],
  "the SDK sent aws-chunked with a CRC32 trailer",
);
t.eq(md5q(big), r?.ETag, "streamed PutObject ETag is the MD5 of the decoded bytes");
t.eq(crc32b64(big), r?.ChecksumCRC32, "streamed PutObject returns the CRC32 of the trailer");
r = await t.attempt(() => s3.send(new GetObjectCommand({ Bucket: B, Key: "c/stream-10m.bin" })), "GetObject of the streamed object");
if (r) {
  const got = await bytesOf(r);
  t.eq([big.length, sha256(big)], [got.length, sha256(got)], "streamed object bytes (no chunk framing stored)");
  t.eq(crc32b64(big), r.ChecksumCRC32, "GetObject returns the stored CRC32 (the SDK validated it)");
}
r = await t.attempt(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: "c/stream-10m.bin" })), "HeadObject of the streamed object");
t.eq(big.length, r?.ContentLength, "streamed object size is the decoded size");

r = await t.attempt(
  () => s3.send(new PutObjectCommand({ Bucket: B, Key: "c/one-chunk.bin", Body: Readable.from([big]), ContentLength: big.length })),
  "PutObject of a stream that yields 10 MiB in one piece (one big aws-chunk)",
);
r = await s3.send(new GetObjectCommand({ Bucket: B, Key: "c/one-chunk.bin" })).catch((e) => e);
t.eq(sha256(big), r.Body ? sha256(await bytesOf(r)) : r.name, "one-big-chunk object bytes");

const small = crypto.randomBytes(1000);
r = await t.attempt(
  () => s3.send(new PutObjectCommand({ Bucket: B, Key: "c/sha.bin", Body: piecewise(small, 300), ContentLength: small.length, ChecksumAlgorithm: "SHA256" })),
  "PutObject of a stream with a SHA256 trailer",
);
t.eq("x-amz-checksum-sha256", lastSent("PutObjectCommand")["x-amz-trailer"], "the SDK sent a SHA256 trailer");
t.eq(crypto.createHash("sha256").update(small).digest("base64"), r?.ChecksumSHA256, "PutObject returns the SHA256");
r = await s3.send(new GetObjectCommand({ Bucket: B, Key: "c/sha.bin" })).catch((e) => e);
t.eq(sha256(small), r.Body ? sha256(await bytesOf(r)) : r.name, "SHA256-trailer object bytes");

r = await t.attempt(
  () => s3.send(new PutObjectCommand({ Bucket: B, Key: "c/empty-stream", Body: Readable.from([]), ContentLength: 0 })),
  "PutObject of an empty stream",
);
r = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "c/empty-stream" })).catch((e) => e);
t.eq([0, md5q(Buffer.alloc(0))], [r.ContentLength, r.ETag], "empty streamed object");

const file = path.join(t.tmp, "file-3m.bin");
const fdata = crypto.randomBytes(3 * MiB + 17);
fs.writeFileSync(file, fdata);
r = await t.attempt(
  () => s3.send(new PutObjectCommand({ Bucket: B, Key: "c/from file.bin", Body: fs.createReadStream(file) })),
  "PutObject of fs.createReadStream (length from the file)",
);
t.eq(md5q(fdata), r?.ETag, "file stream ETag");
r = await s3.send(new GetObjectCommand({ Bucket: B, Key: "c/from file.bin" })).catch((e) => e);
t.eq(sha256(fdata), r.Body ? sha256(await bytesOf(r)) : r.name, "file stream round trip");

r = await t.attempt(
  () => s3.send(new GetObjectCommand({ Bucket: B, Key: "c/from file.bin", Range: "bytes=100-199" })),
  "GetObject with a Range",
);
if (r) {
  t.eq(fdata.subarray(100, 200).toString("hex"), (await bytesOf(r)).toString("hex"), "ranged body");
  t.eq(`bytes 100-199/${fdata.length}`, r.ContentRange, "ContentRange");
}

console.log("# multipart: low level with streamed parts, and lib-storage Upload");
const mp = await t.attempt(() => s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: "m/low.bin" })), "CreateMultipartUpload");
const parts = [crypto.randomBytes(5 * MiB), crypto.randomBytes(2 * MiB + 5)];
const done = [];
for (let i = 0; mp && i < parts.length; i++) {
  r = await t.attempt(
    () => s3.send(new UploadPartCommand({ Bucket: B, Key: "m/low.bin", UploadId: mp.UploadId, PartNumber: i + 1, Body: piecewise(parts[i]), ContentLength: parts[i].length })),
    `UploadPart ${i + 1} as a stream`,
  );
  t.eq("STREAMING-UNSIGNED-PAYLOAD-TRAILER", lastSent("UploadPartCommand")["x-amz-content-sha256"], `UploadPart ${i + 1} went aws-chunked`);
  t.eq(md5q(parts[i]), r?.ETag, `UploadPart ${i + 1} ETag`);
  done.push({ PartNumber: i + 1, ETag: r?.ETag, ChecksumCRC32: r?.ChecksumCRC32 });
}
if (mp) {
  r = await t.attempt(
    () => s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: "m/low.bin", UploadId: mp.UploadId, MultipartUpload: { Parts: done } })),
    "CompleteMultipartUpload",
  );
  t.eq(mpEtag(parts), r?.ETag, "multipart ETag");
  r = await s3.send(new GetObjectCommand({ Bucket: B, Key: "m/low.bin" })).catch((e) => e);
  t.eq(sha256(Buffer.concat(parts)), r.Body ? sha256(await bytesOf(r)) : r.name, "multipart object bytes");
}

const ubuf = crypto.randomBytes(12 * MiB + 1);
r = await t.attempt(
  () => new Upload({ client: s3, params: { Bucket: B, Key: "m/lib-storage.bin", Body: ubuf, ContentType: "application/x-up" }, partSize: 5 * MiB, queueSize: 2 }).done(),
  "lib-storage Upload of a 12 MiB buffer (3 parts, 2 at a time)",
);
t.eq(mpEtag([ubuf.subarray(0, 5 * MiB), ubuf.subarray(5 * MiB, 10 * MiB), ubuf.subarray(10 * MiB)]), r?.ETag, "Upload ETag ends in -3");
r = await s3.send(new GetObjectCommand({ Bucket: B, Key: "m/lib-storage.bin" })).catch((e) => e);
t.eq([sha256(ubuf), "application/x-up"], r.Body ? [sha256(await bytesOf(r)), r.ContentType] : [r.name], "Upload round trip");
r = await t.attempt(
  () => new Upload({ client: s3, params: { Bucket: B, Key: "m/lib-storage-stream.bin", Body: piecewise(ubuf) }, partSize: 5 * MiB, queueSize: 2 }).done(),
  "lib-storage Upload of a stream of unknown length",
);
r = await s3.send(new GetObjectCommand({ Bucket: B, Key: "m/lib-storage-stream.bin" })).catch((e) => e);
t.eq(sha256(ubuf), r.Body ? sha256(await bytesOf(r)) : r.name, "Upload of a stream round trip");
r = await t.attempt(
  () => new Upload({ client: s3, params: { Bucket: B, Key: "m/lib-storage-small.txt", Body: "small enough for one PUT" } }).done(),
  "lib-storage Upload of a small string (one PutObject)",
);
r = await s3.send(new GetObjectCommand({ Bucket: B, Key: "m/lib-storage-small.txt" })).catch((e) => e);
t.eq("small enough for one PUT", r.Body ? await r.Body.transformToString() : r.name, "small Upload round trip");

console.log("# list, copy, delete");
r = await t.attempt(() => s3.send(new ListObjectsV2Command({ Bucket: B, Delimiter: "/" })), "ListObjectsV2 with a delimiter");
t.eq(["b/", "c/", "m/", "s/"], (r?.CommonPrefixes || []).map((p) => p.Prefix), "top-level CommonPrefixes");
r = await t.attempt(() => s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: "c/" })), "ListObjectsV2 with a prefix");
t.eq(
  ["c/empty-stream", "c/from file.bin", "c/one-chunk.bin", "c/sha.bin", "c/stream-10m.bin"],
  (r?.Contents || []).map((o) => o.Key),
  "keys under c/",
);
t.eq(big.length, (r?.Contents || []).find((o) => o.Key === "c/stream-10m.bin")?.Size, "listed size of the streamed object");
r = await t.attempt(() => s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: "c/", MaxKeys: 2 })), "ListObjectsV2 MaxKeys=2");
t.eq([2, true], [r?.Contents?.length, r?.IsTruncated], "first page of 2");
if (r?.NextContinuationToken) {
  const r2 = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: "c/", MaxKeys: 2, ContinuationToken: r.NextContinuationToken }));
  t.eq(["c/one-chunk.bin", "c/sha.bin"], (r2.Contents || []).map((o) => o.Key), "second page via ContinuationToken");
}

// The JS SDK asks for no EncodingType, so keys come back XML-escaped only.
const oddKeys = ["x/amp&lt<gt>", "x/quote\"apos'", "x/tab\there", "x/ünï 日本", "x/sp ace+plus%25"];
for (const k of oddKeys) await s3.send(new PutObjectCommand({ Bucket: B, Key: k, Body: k }));
r = await t.attempt(() => s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: "x/" })), "ListObjectsV2 of XML-special keys");
t.eq([...oddKeys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))), (r?.Contents || []).map((o) => o.Key),
  "keys with & < > \" ' tab and unicode list back exactly (XML escaping)");
r = await s3.send(new GetObjectCommand({ Bucket: B, Key: "x/quote\"apos'" })).catch((e) => e);
t.eq("x/quote\"apos'", r.Body ? await r.Body.transformToString() : r.name, "GET of a key with quotes");
await s3.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: oddKeys.map((Key) => ({ Key })) } }));
r = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: "x/" }));
t.eq(0, r.KeyCount, "DeleteObjects of XML-special keys (escaped in the request body) removed them all");

r = await t.attempt(
  () => s3.send(new CopyObjectCommand({ Bucket: B, Key: "copies/x", CopySource: `${B}/${encodeURIComponent("c/from file.bin")}` })),
  "CopyObject from a key with a space",
);
t.eq(md5q(fdata), r?.CopyObjectResult?.ETag, "CopyObject result ETag");
r = await s3.send(new GetObjectCommand({ Bucket: B, Key: "copies/x" })).catch((e) => e);
t.eq(sha256(fdata), r.Body ? sha256(await bytesOf(r)) : r.name, "copied bytes");
r = await t.attempt(
  () => s3.send(new CopyObjectCommand({ Bucket: B, Key: "copies/y", CopySource: `${B}/s/hello.txt`, MetadataDirective: "REPLACE", Metadata: { k: "v" }, ContentType: "text/x-copy" })),
  "CopyObject with REPLACE",
);
r = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "copies/y" })).catch((e) => e);
t.eq([{ k: "v" }, "text/x-copy"], [r.Metadata, r.ContentType], "REPLACE metadata and content type");

r = await t.attempt(
  () => s3.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: "copies/x" }, { Key: "copies/y" }, { Key: "copies/none" }] } })),
  "DeleteObjects",
);
t.eq(["copies/none", "copies/x", "copies/y"], (r?.Deleted || []).map((d) => d.Key).sort(), "DeleteObjects Deleted");
t.eq([], r?.Errors || [], "DeleteObjects Errors");
r = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: "copies/" }));
t.eq(0, r.KeyCount, "nothing left under copies/");

await t.rejects("NoSuchKey", () => s3.send(new GetObjectCommand({ Bucket: B, Key: "nope" })), "GetObject of a missing key", 404);
await t.rejects("NotFound", () => s3.send(new HeadObjectCommand({ Bucket: B, Key: "nope" })), "HeadObject of a missing key", 404);
await t.rejects("NoSuchBucket", () => s3.send(new GetObjectCommand({ Bucket: "no-such-bucket-js", Key: "k" })), "GetObject in a missing bucket", 404);
await t.rejects("BucketNotEmpty", () => s3.send(new DeleteBucketCommand({ Bucket: B })), "DeleteBucket of a non-empty bucket", 409);

const bad = new S3Client({
  endpoint: srv.url, region: REGION, forcePathStyle: true, maxAttempts: 1,
  credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: "wrong-secret-key-xx" },
});
await t.rejects("SignatureDoesNotMatch", () => bad.send(new PutObjectCommand({ Bucket: B, Key: "x", Body: piecewise(small), ContentLength: small.length })), "a streamed PUT with a wrong secret", 403);
await t.rejects("NotFound", () => s3.send(new HeadObjectCommand({ Bucket: B, Key: "x" })), "the refused PUT stored nothing", 404);

// Empty the bucket, then delete it.
let listed = await s3.send(new ListObjectsV2Command({ Bucket: B }));
for (const o of listed.Contents || []) await s3.send(new DeleteObjectCommand({ Bucket: B, Key: o.Key }));
await t.attempt(() => s3.send(new DeleteBucketCommand({ Bucket: B })), "DeleteBucket after emptying it");
await t.rejects("NotFound", () => s3.send(new HeadBucketCommand({ Bucket: B })), "HeadBucket of the deleted bucket", 404);

await t.finish();
