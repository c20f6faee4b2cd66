#!/usr/bin/env python3
"""crash_load.py: the load and the check of test_crash.sh.

  crash_load.py write URL BUCKET PREFIX LOG SECONDS
      16 threads PUT distinct keys PREFIX/tN/kM with random content of
      assorted sizes (some multi-MB) until SECONDS pass or the server goes
      away. Every PUT is logged before it is sent (START key size sha256) and
      once it is acknowledged with a 200 (ACK key size sha256 etag).

  crash_load.py verify URL BUCKET INLINE_MAX LOG...
      After a restart: every acknowledged PUT must read back with the same
      bytes and ETag; every listed key must have been acknowledged or in
      flight, and an in-flight key that exists must hold its full content.
      Prints "OBJECTS n" (listed objects) and "FILE_OBJECTS n" (those larger
      than INLINE_MAX or multipart, which the server keeps in data files
      rather than in its index), and exits 1 on any violation.
"""

import hashlib
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import floe_e2e  # noqa: E402  (for the credentials and a clean AWS env)

THREADS = 16
# Sizes in bytes and their weights: mostly small, some multi-MB.
SIZES = [(1, 2), (1000, 4), (40_000, 4), (300_000, 3), (1_500_000, 2), (4_000_000, 1), (7_000_000, 1)]


def client(url):
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id=floe_e2e.ACCESS_KEY,
                                    aws_secret_access_key=floe_e2e.SECRET_KEY, region_name=floe_e2e.REGION)
    return session.client("s3", endpoint_url=url, config=Config(
        s3={"addressing_style": "path"}, retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=3, read_timeout=30, max_pool_connections=THREADS + 2))


def clean_env():
    for k in list(os.environ):
        if k.startswith("AWS_"):
            del os.environ[k]
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def write(url, bucket, prefix, log_path, seconds):
    deadline = time.time() + seconds
    lock = threading.Lock()
    log = open(log_path, "a", buffering=1)

    def note(line):
        with lock:
            log.write(line + "\n")
            log.flush()

    def worker(tid):
        s3 = client(url)
        rnd = random.Random("%s-%d-%f" % (prefix, tid, time.time()))
        sizes = [s for s, w in SIZES for _ in range(w)]
        n = 0
        while time.time() < deadline:
            key = "%s/t%02d/k%04d" % (prefix, tid, n)
            n += 1
            size = max(1, int(rnd.choice(sizes) * rnd.uniform(0.5, 1.0)))
            body = rnd.randbytes(size)
            sha = hashlib.sha256(body).hexdigest()
            note("START %s %d %s" % (key, size, sha))
            try:
                r = s3.put_object(Bucket=bucket, Key=key, Body=body)
            except Exception as e:  # noqa: BLE001 - the server was killed
                note("ERR %s %s" % (key, type(e).__name__))
                return
            st = r["ResponseMetadata"]["HTTPStatusCode"]
            if st == 200:
                note("ACK %s %d %s %s" % (key, size, sha, r["ETag"]))
            else:
                note("ERR %s status %d" % (key, st))
                return

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(seconds + 40)
    log.close()


def verify(url, bucket, inline_max, logs):
    started, acked = {}, {}
    for path in logs:
        with open(path) as f:
            for line in f:
                p = line.split()
                if not p:
                    continue
                if p[0] == "START" and len(p) == 4:
                    started[p[1]] = (int(p[2]), p[3])
                elif p[0] == "ACK" and len(p) == 5:
                    acked[p[1]] = (int(p[2]), p[3], p[4])
    s3 = client(url)
    listed = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            listed[o["Key"]] = (o["Size"], o["ETag"])
    bad = []
    for key, (size, sha, etag) in sorted(acked.items()):
        if key not in listed:
            bad.append("acknowledged PUT %s (%d bytes, ETag %s) is missing after the restart" % (key, size, etag))
            continue
        try:
            r = s3.get_object(Bucket=bucket, Key=key)
            body = r["Body"].read()
        except Exception as e:  # noqa: BLE001
            bad.append("acknowledged PUT %s is listed but GET fails: %s" % (key, e))
            continue
        got = hashlib.sha256(body).hexdigest()
        if got != sha or len(body) != size:
            bad.append("acknowledged PUT %s: got %d bytes sha256 %s, expected %d bytes sha256 %s"
                       % (key, len(body), got, size, sha))
        if r["ETag"] != etag or listed[key][1] != etag:
            bad.append("acknowledged PUT %s: ETag %s (listed %s), acknowledged as %s"
                       % (key, r["ETag"], listed[key][1], etag))
        if etag != '"%s"' % hashlib.md5(body).hexdigest():
            bad.append("acknowledged PUT %s: ETag %s is not the MD5 of the body" % (key, etag))
    in_flight_present = 0
    for key in sorted(set(listed) - set(acked)):
        if key not in started:
            bad.append("listed key %s was never written" % key)
            continue
        size, sha = started[key]
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as e:  # noqa: BLE001
            bad.append("in-flight key %s is listed but GET fails: %s" % (key, e))
            continue
        if hashlib.sha256(body).hexdigest() != sha or len(body) != size or listed[key][0] != size:
            bad.append("in-flight key %s exists PARTIALLY or wrong: %d bytes (listed %d), expected %d bytes sha256 %s"
                       % (key, len(body), listed[key][0], size, sha))
        else:
            in_flight_present += 1
    in_flight = len(set(started) - set(acked))
    print("acknowledged %d, in flight at a kill %d (of which present after restart: %d), listed %d"
          % (len(acked), in_flight, in_flight_present, len(listed)))
    for b in bad[:30]:
        print("VIOLATION " + b)
    if len(bad) > 30:
        print("VIOLATION ... and %d more" % (len(bad) - 30))
    print("OBJECTS %d" % len(listed))
    print("FILE_OBJECTS %d" % sum(1 for size, etag in listed.values() if size > inline_max or "-" in etag))
    return 1 if bad else 0


def main():
    clean_env()
    if len(sys.argv) == 7 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], float(sys.argv[6]))
        return 0
    if len(sys.argv) >= 6 and sys.argv[1] == "verify":
        return verify(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
