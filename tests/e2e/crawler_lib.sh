# shellcheck shell=bash
# crawler_lib.sh: helpers for the crawler's end-to-end tests
# (test_crawler.sh, test_crawler_redis.sh). Source it after lib.sh and
# queue_lib.sh.
#
#   sample_api_start ARGS...   `floe sample-api` on a free port with 2,500
#                              trades over one hour from 2024-01-01; sets
#                              SA_PORT, SA_PID, SA_URL (the last one started)
#   sa_stats PORT FIELD        a counter of its /stats ("total", "rate_limited", ...)
#   warehouse_create           the bucket warehouse on $S3_URL
#   worker_start LOG ARGS...   `floe worker --s3-endpoint $S3_URL ARGS...` in the
#                              background; sets W_PID
#   worker_term PID LOG        SIGTERM; fails unless it exits 0 within 20 s
#                              with no sanitizer report
#   enqueue URL PAYLOAD [MAX_TRIES]   prints the job id
#   job_wait URL ID STATE SECS waits for the state; JOB is its status JSON
#   job_field FIELD            a field of $JOB (result fields as result.X)
#   crawl_check KEY SYMBOL FROM TO
#                              the object at s3://warehouse/KEY holds exactly
#                              trades FROM..TO-1 of SYMBOL as the sample API
#                              at port $ORACLE (one without a rate limit: they
#                              all serve the same trades) serves them, one
#                              compact line each, and its manifest says so
#                              (records, bytes, sha256)
#   objects PREFIX             the keys under s3://warehouse/PREFIX, one a line
#
# The data: trade i is at 2024-01-01T00:00:00Z + i * 1440 ms (docs/sample-api.md).

SA_START_MS=1704067200000
SA_TRADES=2500
SA_SPAN=1h

sample_api_start() {
    local log attempt i
    for attempt in 1 2 3; do
        SA_PORT=$(free_ports 1)
        log=$E2E_TMP/sample-api.$SA_PORT.log
        (e2e_exec_floe "$FLOE_BIN" sample-api --port "$SA_PORT" --trades "$SA_TRADES" \
            --start 2024-01-01T00:00:00Z --span "$SA_SPAN" "$@") >"$log" 2>&1 </dev/null &
        SA_PID=$!
        E2E_PIDS+=("$SA_PID")
        E2E_LOGS+=("$log")
        for i in $(seq 1 100); do
            kill -0 "$SA_PID" 2>/dev/null || break
            if [ "$(http_code "http://127.0.0.1:$SA_PORT/stats" --max-time 1)" = 200 ]; then
                SA_URL=http://127.0.0.1:$SA_PORT
                return 0
            fi
            sleep 0.1
        done
        kill -9 "$SA_PID" 2>/dev/null
        wait "$SA_PID" 2>/dev/null
        grep -qi 'in use' "$log" || break
    done
    fail "sample-api did not start:"
    tail -5 "$log" | sed 's/^/       /'
    return 1
}

sa_stats() {
    curl -s --max-time 5 "http://127.0.0.1:$1/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}

warehouse_create() {
    python3 - "$S3_URL" "$E2E_AK" "$E2E_SK" <<'EOF'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3],
                  region_name="us-east-1")
try:
    s3.create_bucket(Bucket="warehouse")
except s3.exceptions.BucketAlreadyOwnedByYou:
    pass  # floe serve makes the warehouse bucket at start
EOF
}

W_PID=""
worker_start() {
    local log=$1
    shift
    E2E_LOGS+=("$log")
    (e2e_exec_floe "$FLOE_BIN" worker --s3-endpoint "$S3_URL" "$@") >"$log" 2>&1 </dev/null &
    W_PID=$!
    E2E_PIDS+=("$W_PID")
}

worker_term() {
    local pid=$1 log=$2 i rc
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        fail "worker $pid did not exit within 20 s of SIGTERM"
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        return 1
    fi
    wait "$pid"
    rc=$?
    assert_eq "the worker exits 0 on SIGTERM" 0 "$rc"
    floe_check_log "$log"
}

enqueue() {
    qd enqueue --queue "$1" --name crawl --count 1 --max-tries "${3:-5}" --payload "$2"
}

JOB=""
job_wait() {
    local url=$1 id=$2 state=$3 secs=$4 i
    for i in $(seq 1 $((secs * 5))); do
        JOB=$(qd status --queue "$url" --json "$id")
        [ "$(job_field state)" = "$state" ] && return 0
        sleep 0.2
    done
    return 1
}

job_field() {
    printf '%s' "$JOB" | python3 -c "
import json, sys
j = json.load(sys.stdin)
for k in sys.argv[1].split('.'):
    if isinstance(j, str):
        j = json.loads(j)
    j = j.get(k) if isinstance(j, dict) else None
print('' if j is None else (json.dumps(j) if isinstance(j, bool) else j))" "$1"
}

crawl_check() {
    python3 - "$S3_URL" "$E2E_AK" "$E2E_SK" "$1" "$2" "$3" "$4" "$ORACLE" <<'EOF'
import hashlib, json, subprocess, sys, urllib.request
import boto3
url, ak, sk, key, symbol, lo, hi, port = sys.argv[1:]
lo, hi = int(lo), int(hi)
s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id=ak, aws_secret_access_key=sk, region_name="us-east-1")
obj = s3.get_object(Bucket="warehouse", Key=key)["Body"].read()
man = json.loads(s3.get_object(Bucket="warehouse", Key=key + ".manifest.json")["Body"].read())
lines = subprocess.run(["zstd", "-dc"], input=obj, capture_output=True, check=True).stdout
want, f = [], lo
while f < hi:
    page = json.loads(urllib.request.urlopen(
        "http://127.0.0.1:%s/api/v3/trades?symbol=%s&fromId=%d&limit=1000" % (port, symbol, f), timeout=20).read())
    if not page:
        break
    want += [json.dumps(t, separators=(",", ":")) for t in page if t["id"] < hi]
    f = page[-1]["id"] + 1
expected = "".join(w + "\n" for w in want).encode()
errors = []
if lines != expected:
    got = lines.decode(errors="replace").splitlines()
    first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    errors.append("the records differ: %d lines landed, %d expected; first difference at line %d: %r vs %r" % (
        len(got), len(want), first, got[first] if first < len(got) else None,
        want[first] if first < len(want) else None))
checks = {"records": len(want), "bytes": len(obj), "sha256": hashlib.sha256(obj).hexdigest(),
          "s3_path": "s3://warehouse/" + key, "manifest": "s3://warehouse/" + key + ".manifest.json"}
for k, v in checks.items():
    if man.get(k) != v:
        errors.append("manifest %s is %r, expected %r" % (k, man.get(k), v))
if errors:
    print("; ".join(errors))
    sys.exit(1)
print("%d records, %d pages, %d bytes" % (len(want), man["pages"], len(obj)))
EOF
}

objects() {
    python3 - "$S3_URL" "$E2E_AK" "$E2E_SK" "$1" <<'EOF'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3],
                  region_name="us-east-1")
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="warehouse", Prefix=sys.argv[4]):
    for o in page.get("Contents", []):
        print(o["Key"])
EOF
}

# crawler_config FILE PORT [extra endpoint YAML...]: the sample API's
# endpoints, every pagination style, with the host at rate RATE (default
# none) and burst BURST.
crawler_config() {
    local file=$1 port=$2 hostblock=${3:-} retries=${4:-5} backoff=${5:-"{initial: 100ms, max: 2s}"}
    cat >"$file" <<EOF
hosts:
  "127.0.0.1:$port": ${hostblock:-"{concurrency: 4}"}
defaults:
  timeout: 10s
  retries: $retries
  backoff: $backoff
  headers:
    X-MBX-APIKEY: "\${CRAWL_E2E_SECRET}"
endpoints:
  trades:
    base_url: http://127.0.0.1:$port
    path: /api/v3/trades
    params: {symbol: BTCUSDT}
    pagination: {type: cursor, param: fromId, from_record: id, increment: 1, limit_param: limit, limit: 1000}
    records: $
  small:
    base_url: http://127.0.0.1:$port
    path: /api/v3/historicalTrades
    params: {symbol: BTCUSDT}
    pagination: {type: cursor, param: fromId, from_record: id, increment: 1, limit_param: limit, limit: 100, start: 0}
    records: $
  offset:
    base_url: http://127.0.0.1:$port
    path: /api/v1/trades_offset
    params: {symbol: ETHUSDT}
    pagination: {type: offset, param: offset, limit_param: limit, limit: 600, total: total}
    records: trades
  page:
    base_url: http://127.0.0.1:$port
    path: /api/v1/trades_page
    params: {symbol: BNBUSDT}
    pagination: {type: page, param: page, limit_param: size, limit: 700, total_pages: pages}
    records: data.trades
  cursor:
    base_url: http://127.0.0.1:$port
    path: /api/v1/trades_cursor
    params: {symbol: BTCUSDT}
    pagination: {type: cursor, param: cursor, next: next, limit_param: limit, limit: 999}
    records: data
  link:
    base_url: http://127.0.0.1:$port
    path: /api/v1/trades_link
    params: {symbol: ETHUSDT}
    pagination: {type: link, limit_param: limit, limit: 1000}
    records: $
EOF
}

# payload ENDPOINT KEY [PARAMS_JSON]
payload() {
    local params=${3:-}
    [ -n "$params" ] || params='{}'
    printf '{"endpoint":"%s","target":"s3://warehouse/%s","run_id":"e2e","params":%s}' "$1" "$2" "$params"
}
