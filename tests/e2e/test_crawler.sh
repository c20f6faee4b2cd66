#!/usr/bin/env bash
# test_crawler.sh: `floe worker` end to end on the embedded (SQLite) queue
# of a running `floe serve`, crawling `floe sample-api`, landing through S3.
#
#   - start-up: an unset ${VAR} of a header fails naming endpoint, header
#     and variable; --check lists the endpoints
#   - every pagination style lands exactly the trades the API serves (one
#     compact line each, zstd), with a manifest that agrees (records, bytes,
#     sha256); startTime/endTime crawl one interval
#   - a job delivered again is acked from its manifest without a request;
#     a bad job is dead-lettered after its tries with an error naming it
#   - metrics; the header's secret in no log
#   - 5xx faults are retried and the crawl completes
#   - claim 5: the measured request rate stays within the configured rate
#     (requests <= rate * elapsed + burst, no 429); 429 + Retry-After is
#     honoured (a crawl configured faster than the API still completes, with
#     few 429s, where retries that ignored Retry-After would all be spent)
#   - claim 2: a worker killed with kill -9 mid-crawl: the job is delivered
#     again after its visibility timeout to a second worker, as try 2, and
#     lands once
#   - SIGTERM mid-crawl: the page finishes, the job is released (try not
#     counted, nothing landed), the worker exits 0; another worker lands it
# test_crawler_redis.sh does the kill -9 on Redis, and Redis restarts.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/queue_lib.sh"
source "$(dirname "$0")/crawler_lib.sh"

if ! command -v zstd >/dev/null 2>&1; then
    fail "the zstd command is not installed; run 'make deps'"
    e2e_finish
fi
export CRAWL_E2E_SECRET=e2e-secret-4f9a1c77

floe_start "$E2E_TMP/data" || e2e_finish
warehouse_create || fail "cannot create the warehouse bucket"
Q=sqlite:$FLOE_DATA/queue.db

section "start-up checks"
sample_api_start --rate-limit 0 || e2e_finish
API=$SA_PORT
ORACLE=$API
crawler_config "$E2E_TMP/crawler.yaml" "$API"
assert_ok "--check lists the endpoints" "$FLOE_BIN" worker --check --config "$E2E_TMP/crawler.yaml"
assert_contains "--check names 6 endpoints" "$OUT" "6 endpoints"
rc=0
out=$(env -u CRAWL_E2E_SECRET "$FLOE_BIN" worker --queue "$Q" --config "$E2E_TMP/crawler.yaml" 2>&1) || rc=$?
assert_eq "an unset \${VAR} in a header: exit 2" 2 "$rc"
assert_contains "the error names file:line, endpoint default header and variable" "$out" \
    "crawler.yaml:8: defaults.headers.X-MBX-APIKEY: environment variable CRAWL_E2E_SECRET is not set"
rc=0
out=$("$FLOE_BIN" worker --queue "$Q" 2>&1) || rc=$?
assert_eq "no --config: exit 2" 2 "$rc"

section "every pagination style lands what the API serves"
W1LOG=$E2E_TMP/worker1.log
MPORT=$(free_ports 1)
worker_start "$W1LOG" --queue "$Q" --config "$E2E_TMP/crawler.yaml" --threads 2 --metrics-port "$MPORT"
W1=$W_PID
# trades: one interval, [500, 1800) by time (endTime exclusive)
iv="{\"startTime\":$((SA_START_MS + 500 * 1440)),\"endTime\":$((SA_START_MS + 1800 * 1440))}"
declare -A IDS KEYS
for ep in trades offset page cursor link; do
    KEYS[$ep]=raw/$ep/ds=2024-01-01/hr=00/min=00/e2e.jsonl.zst
    params=""
    [ "$ep" = trades ] && params=$iv
    IDS[$ep]=$(enqueue "$Q" "$(payload "$ep" "${KEYS[$ep]}" "$params")")
done
declare -A SYM=([trades]=BTCUSDT [offset]=ETHUSDT [page]=BNBUSDT [cursor]=BTCUSDT [link]=ETHUSDT)
for ep in trades offset page cursor link; do
    if job_wait "$Q" "${IDS[$ep]}" done 60; then
        ok "$ep: the job is done"
    else
        fail "$ep: the job is $(job_field state) after 60 s: $(job_field error)"
        continue
    fi
    lo=0 hi=$SA_TRADES
    [ "$ep" = trades ] && lo=500 hi=1800
    assert_eq "$ep: the result names the object" "s3://warehouse/${KEYS[$ep]}" "$(job_field result.s3_path)"
    assert_eq "$ep: the result counts the records" $((hi - lo)) "$(job_field result.records)"
    if res=$(crawl_check "${KEYS[$ep]}" "${SYM[$ep]}" $lo $hi); then
        ok "$ep: trades $lo..$((hi - 1)) of ${SYM[$ep]} landed exactly, manifest agrees ($res)"
    else
        fail "$ep: $res"
    fi
done
assert_eq "cursor from the body: 3 pages of 999" 3 "$(JOB=$(qd status --queue "$Q" --json "${IDS[cursor]}") job_field result.pages)"

section "redelivery and a bad job"
before=$(sa_stats "$API" total)
id=$(enqueue "$Q" "$(payload cursor "${KEYS[cursor]}")")
job_wait "$Q" "$id" done 30 || fail "the repeated job is $(job_field state)"
assert_eq "a job whose object and manifest exist is acked as redelivered" true "$(job_field result.redelivered)"
assert_eq "with the manifest's sha256" "$(JOB=$(qd status --queue "$Q" --json "${IDS[cursor]}") job_field result.sha256)" \
    "$(job_field result.sha256)"
assert_eq "and no request to the API" "$before" "$(sa_stats "$API" total)"
id=$(enqueue "$Q" '{"endpoint":"nosuch","target":"s3://warehouse/raw/x.jsonl.zst"}' 2)
if job_wait "$Q" "$id" dead 90; then
    ok "an unknown endpoint: dead-lettered after 2 tries"
else
    fail "the bad job is $(job_field state), tries $(job_field tries)"
fi
assert_contains "its error names the endpoint and the config" "$(job_field error)" \
    "the job names endpoint 'nosuch', which the crawler config"

section "metrics and logs"
m=$(curl -s --max-time 5 "http://127.0.0.1:$MPORT/metrics")
assert_contains "jobs done" "$m" 'floe_crawler_jobs_total{outcome="done"} 5'
assert_contains "jobs redelivered" "$m" 'floe_crawler_jobs_total{outcome="redelivered"} 1'
assert_contains "jobs failed" "$m" 'floe_crawler_jobs_total{outcome="failed"} 2'
assert_contains "requests by status" "$m" 'floe_crawler_requests_total{status="200"}'
assert_contains "records" "$m" "floe_crawler_records_total $((1300 + 4 * SA_TRADES))"
worker_term "$W1" "$W1LOG"
if grep -rq "$CRAWL_E2E_SECRET" "$E2E_TMP"/*.log; then
    fail "the header's secret appears in a log: $(grep -rl "$CRAWL_E2E_SECRET" "$E2E_TMP"/*.log)"
else
    ok "the header's secret is in no log"
fi

section "5xx faults are retried"
sample_api_start --rate-limit 0 --fail-rate 0.3 --seed 7 || e2e_finish
FAPI=$SA_PORT
crawler_config "$E2E_TMP/faults.yaml" "$FAPI" "" 10 "{initial: 10ms, max: 100ms}"
MPORT=$(free_ports 1)
worker_start "$E2E_TMP/worker-faults.log" --queue "$Q" --config "$E2E_TMP/faults.yaml" --queue-name faults \
    --metrics-port "$MPORT"
WF=$W_PID
id=$(qd enqueue --queue "$Q" --name faults --count 1 --payload "$(payload small raw/faults/e2e.jsonl.zst)")
if job_wait "$Q" "$id" done 90; then ok "the crawl completes"; else fail "the job is $(job_field state): $(job_field error)"; fi
assert_eq "on its first try" 1 "$(job_field tries)"
res=$(crawl_check raw/faults/e2e.jsonl.zst BTCUSDT 0 $SA_TRADES) && ok "every trade once ($res)" || fail "$res"
faults=$(sa_stats "$FAPI" faults)
m=$(curl -s --max-time 5 "http://127.0.0.1:$MPORT/metrics")
if [ "$faults" -ge 3 ]; then ok "the API answered 503 $faults times"; else fail "only $faults faults injected"; fi
assert_contains "each 503 was counted and retried" "$m" "floe_crawler_requests_total{status=\"503\"} $faults"
assert_contains "retries = 503s" "$m" "floe_crawler_retries_total $faults"
worker_term "$WF" "$E2E_TMP/worker-faults.log"

section "claim 5: the configured rate is respected"
sample_api_start --rate-limit 10 --burst 10 --rate-scope global || e2e_finish
RAPI=$SA_PORT
crawler_config "$E2E_TMP/rate.yaml" "$RAPI" "{rate: 8, burst: 8, concurrency: 4}"
worker_start "$E2E_TMP/worker-rate.log" --queue "$Q" --config "$E2E_TMP/rate.yaml" --queue-name rate --threads 3
WR=$W_PID
sleep 1
t0=$(date +%s.%N)
before=$(sa_stats "$RAPI" total)
ids=()
for s in 1 2 3; do
    ids+=("$(qd enqueue --queue "$Q" --name rate --count 1 --payload "$(payload small raw/rate/$s.jsonl.zst)")")
done
for id in "${ids[@]}"; do job_wait "$Q" "$id" done 120 || fail "rate job $id is $(job_field state): $(job_field error)"; done
t1=$(date +%s.%N)
sent=$(($(sa_stats "$RAPI" total) - before))
read -r elapsed bound < <(python3 -c "e = $t1 - $t0; print('%.2f %d' % (e, int(8 * e + 8)))")
say "  $sent requests in $elapsed s from 3 jobs on 3 threads; the configured rate allows $bound"
if [ "$sent" -ge 78 ] && [ "$sent" -le "$bound" ]; then
    ok "requests ($sent) <= rate 8/s x $elapsed s + burst 8"
else
    fail "$sent requests in $elapsed s: more than rate x elapsed + burst ($bound), or fewer than the 78 pages"
fi
assert_eq "the API never had to answer 429" 0 "$(sa_stats "$RAPI" rate_limited)"
res=$(crawl_check raw/rate/2.jsonl.zst BTCUSDT 0 $SA_TRADES) && ok "landed whole ($res)" || fail "$res"
worker_term "$WR" "$E2E_TMP/worker-rate.log"

section "claim 5: 429 with Retry-After is honoured"
sample_api_start --rate-limit 2 --burst 2 --rate-scope global || e2e_finish
LAPI=$SA_PORT
# no rate limit of our own, and 4 retries 10-50 ms apart: a crawler that
# ignored Retry-After (1 s) would spend them all within one empty bucket
crawler_config "$E2E_TMP/429.yaml" "$LAPI" "{concurrency: 2}" 4 "{initial: 10ms, max: 50ms}"
MPORT=$(free_ports 1)
worker_start "$E2E_TMP/worker-429.log" --queue "$Q" --config "$E2E_TMP/429.yaml" --queue-name limited \
    --metrics-port "$MPORT"
WL=$W_PID
ids=()
for s in a b; do
    ids+=("$(qd enqueue --queue "$Q" --name limited --count 1 --max-tries 1 \
        --payload "$(payload offset raw/429/$s.jsonl.zst)")")
done
for id in "${ids[@]}"; do
    if job_wait "$Q" "$id" done 90; then ok "job $id completes on its only try"; else
        fail "job $id is $(job_field state): $(job_field error)"
    fi
done
res=$(crawl_check raw/429/b.jsonl.zst ETHUSDT 0 $SA_TRADES) && ok "landed whole ($res)" || fail "$res"
n429=$(sa_stats "$LAPI" rate_limited)
n200=$(curl -s "http://127.0.0.1:$LAPI/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['by_status'].get('200', 0))")
if [ "$n429" -ge 1 ] && [ "$n429" -le "$n200" ]; then
    ok "$n429 answers were 429, at most one per page served ($n200)"
else
    fail "$n429 answers 429 for $n200 pages"
fi
m=$(curl -s --max-time 5 "http://127.0.0.1:$MPORT/metrics")
assert_contains "the worker counted them" "$m" "floe_crawler_rate_limited_total $n429"
worker_term "$WL" "$E2E_TMP/worker-429.log"

section "claim 2: a worker killed with kill -9 mid-crawl"
sample_api_start --rate-limit 0 --slow-ms 250 || e2e_finish
SAPI=$SA_PORT
crawler_config "$E2E_TMP/slow.yaml" "$SAPI"
KEY=raw/kill/ds=2024-01-01/e2e.jsonl.zst
id=$(qd enqueue --queue "$Q" --name slow --count 1 --payload "$(payload small $KEY)")
worker_start "$E2E_TMP/worker-a.log" --queue "$Q" --config "$E2E_TMP/slow.yaml" --queue-name slow --visibility 3s \
    --worker-id worker-a
WA=$W_PID
for i in $(seq 1 150); do [ "$(sa_stats "$SAPI" total)" -ge 4 ] && break; sleep 0.2; done
kill -9 "$WA" 2>/dev/null
wait "$WA" 2>/dev/null
JOB=$(qd status --queue "$Q" --json "$id")
assert_eq "killed after $(sa_stats "$SAPI" total) pages: the job is still leased" leased "$(job_field state)"
assert_eq "nothing landed" "" "$(objects raw/kill/)"
t0=$(date +%s)
worker_start "$E2E_TMP/worker-b.log" --queue "$Q" --config "$E2E_TMP/slow.yaml" --queue-name slow --visibility 3s \
    --worker-id worker-b
WB=$W_PID
if job_wait "$Q" "$id" done 90; then ok "worker-b finished the job"; else fail "the job is $(job_field state)"; fi
assert_eq "as try 2" 2 "$(job_field tries)"
res=$(crawl_check $KEY BTCUSDT 0 $SA_TRADES) && ok "every trade once ($res)" || fail "$res"
assert_eq "exactly one object (and its manifest) landed" "$KEY
$KEY.manifest.json" "$(objects raw/kill/)"

section "SIGTERM mid-crawl releases the job"
KEY=raw/term/e2e.jsonl.zst
id=$(qd enqueue --queue "$Q" --name slow --count 1 --payload "$(payload small $KEY)")
before=$(sa_stats "$SAPI" total)
for i in $(seq 1 150); do [ "$(sa_stats "$SAPI" total)" -ge $((before + 3)) ] && break; sleep 0.2; done
worker_term "$WB" "$E2E_TMP/worker-b.log"
JOB=$(qd status --queue "$Q" --json "$id")
assert_eq "the job is queued again" queued "$(job_field state)"
assert_eq "with its try given back" 0 "$(job_field tries)"
assert_contains "worker-b logged the release" "$(cat "$E2E_TMP/worker-b.log")" "released unfinished"
assert_eq "nothing landed" "" "$(objects raw/term/)"
worker_start "$E2E_TMP/worker-c.log" --queue "$Q" --config "$E2E_TMP/slow.yaml" --queue-name slow --visibility 3s
WC=$W_PID
if job_wait "$Q" "$id" done 90; then ok "another worker lands it"; else fail "the job is $(job_field state)"; fi
assert_eq "as try 1" 1 "$(job_field tries)"
res=$(crawl_check $KEY BTCUSDT 0 $SA_TRADES) && ok "every trade once ($res)" || fail "$res"
worker_term "$WC" "$E2E_TMP/worker-c.log"
floe_check_log "$E2E_TMP/worker-a.log"

floe_stop
e2e_finish
