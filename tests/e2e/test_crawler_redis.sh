#!/usr/bin/env bash
# test_crawler_redis.sh: `floe worker` on the Redis queue (a real
# redis-server with appendonly yes, appendfsync always, started here).
#
#   - claim 2 on Redis: a worker killed with kill -9 mid-crawl; the job is
#     delivered again (XAUTOCLAIM) after the visibility timeout to a second
#     worker, as try 2, and lands once
#   - claim 4: redis-server killed with kill -9 and restarted on its AOF
#     while jobs are queued (no worker running), and again while a worker
#     is crawling: every job is done, every object landed whole, once.
#     (test_queue_redis.sh kills workers, never the server, so this is the
#     test of a Redis restart.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/queue_lib.sh"
source "$(dirname "$0")/crawler_lib.sh"

if ! command -v redis-server >/dev/null 2>&1 || ! command -v zstd >/dev/null 2>&1; then
    fail "redis-server or zstd is not installed; run 'make deps'"
    e2e_finish
fi
export CRAWL_E2E_SECRET=e2e-secret-redis

# ---- a redis-server with an append-only file, restartable on its port ----
RDIR=$(mktemp -d "${TMPDIR:-/tmp}/floe-redis-aof.XXXXXX")
RPID=""
RPORT=$(free_ports 1)
R=redis://127.0.0.1:$RPORT/0
aof_stop() {
    [ -n "$RPID" ] && kill -9 "$RPID" 2>/dev/null && wait "$RPID" 2>/dev/null
    rm -rf "$RDIR"
}
e2e_at_exit aof_stop
aof_start() {
    local i
    redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$RDIR" --save '' --appendonly yes \
        --appendfsync always --logfile "$RDIR/redis.log" >/dev/null 2>&1 </dev/null &
    RPID=$!
    E2E_PIDS+=("$RPID")
    for i in $(seq 1 100); do
        [ "$(redis-cli -p "$RPORT" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.1
    done
    fail "redis-server did not start on port $RPORT:"
    tail -5 "$RDIR/redis.log" | sed 's/^/       /'
    return 1
}
aof_kill() {
    kill -9 "$RPID" 2>/dev/null
    wait "$RPID" 2>/dev/null
    RPID=""
}

aof_start || e2e_finish
floe_start "$E2E_TMP/data" || e2e_finish
warehouse_create || fail "cannot create the warehouse bucket"
sample_api_start --rate-limit 0 || e2e_finish
ORACLE=$SA_PORT
sample_api_start --rate-limit 0 --slow-ms 200 || e2e_finish
SAPI=$SA_PORT
crawler_config "$E2E_TMP/slow.yaml" "$SAPI"
say "redis-server at $R (AOF, fsync always); sample API at :$SAPI (200 ms a page)"

section "claim 2 on Redis: a worker killed with kill -9 mid-crawl"
KEY=raw/kill/ds=2024-01-01/e2e.jsonl.zst
id=$(enqueue "$R" "$(payload small $KEY)")
assert_match "the job is enqueued" "$id" '^[0-9a-f-]{36}$'
worker_start "$E2E_TMP/worker-a.log" --queue "$R" --config "$E2E_TMP/slow.yaml" --visibility 3s --worker-id worker-a
WA=$W_PID
for i in $(seq 1 150); do [ "$(sa_stats "$SAPI" total)" -ge 4 ] && break; sleep 0.2; done
kill -9 "$WA" 2>/dev/null
wait "$WA" 2>/dev/null
JOB=$(qd status --queue "$R" --json "$id")
assert_eq "killed after $(sa_stats "$SAPI" total) pages: the job is still leased" leased "$(job_field state)"
assert_eq "nothing landed" "" "$(objects raw/kill/)"
worker_start "$E2E_TMP/worker-b.log" --queue "$R" --config "$E2E_TMP/slow.yaml" --visibility 3s --worker-id worker-b
WB=$W_PID
if job_wait "$R" "$id" done 90; then ok "worker-b finished the job"; else fail "the job is $(job_field state)"; fi
assert_eq "as try 2" 2 "$(job_field tries)"
res=$(crawl_check $KEY BTCUSDT 0 $SA_TRADES) && ok "every trade once ($res)" || fail "$res"
assert_eq "exactly one object (and its manifest) landed" "$KEY
$KEY.manifest.json" "$(objects raw/kill/)"
assert_eq "no entry left pending in the stream" 0 "$(redis-cli -p "$RPORT" xpending floe:queue:crawl floe | head -1)"
worker_term "$WB" "$E2E_TMP/worker-b.log"
floe_check_log "$E2E_TMP/worker-a.log"

section "claim 4: redis-server killed and restarted while jobs are queued"
N=6
: >"$E2E_TMP/ids"
for s in $(seq 1 $N); do
    enqueue "$R" "$(payload small raw/restart/$s.jsonl.zst)" >>"$E2E_TMP/ids"
done
assert_eq "$N jobs enqueued" $N "$(wc -l <"$E2E_TMP/ids")"
aof_kill
aof_start || e2e_finish
ok "redis-server killed with kill -9 and restarted on its AOF"
qd status --queue "$R" <"$E2E_TMP/ids" >"$E2E_TMP/status"
assert_eq "every job is still queued" $N "$(awk '$2=="queued"' "$E2E_TMP/status" | wc -l)"

section "claim 4: and killed again while a worker crawls"
worker_start "$E2E_TMP/worker-c.log" --queue "$R" --config "$E2E_TMP/slow.yaml" --visibility 3s --threads 2
WC=$W_PID
before=$(sa_stats "$SAPI" total)
for i in $(seq 1 150); do [ "$(sa_stats "$SAPI" total)" -ge $((before + 30)) ] && break; sleep 0.2; done
aof_kill
say "  redis-server killed after $(($(sa_stats "$SAPI" total) - before)) pages; down for 2 s"
sleep 2
aof_start || e2e_finish
done_all=0
for i in $(seq 1 300); do
    qd status --queue "$R" <"$E2E_TMP/ids" >"$E2E_TMP/status"
    [ "$(awk '$2=="done"' "$E2E_TMP/status" | wc -l)" = $N ] && done_all=1 && break
    sleep 0.5
done
if [ $done_all = 1 ]; then
    ok "all $N jobs are done"
else
    fail "not every job is done:"
    sed 's/^/       /' "$E2E_TMP/status"
fi
for s in $(seq 1 $N); do
    res=$(crawl_check raw/restart/$s.jsonl.zst BTCUSDT 0 $SA_TRADES) || fail "job $s: $res"
done
ok "each of the $N objects holds every trade once"
assert_eq "and nothing else landed" $((2 * N)) "$(objects raw/restart/ | wc -l)"
assert_contains "the worker saw Redis go away and carried on" "$(cat "$E2E_TMP/worker-c.log")" "Redis"
worker_term "$WC" "$E2E_TMP/worker-c.log"

floe_stop
e2e_finish
