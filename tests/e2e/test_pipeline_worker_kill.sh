#!/usr/bin/env bash
# test_pipeline_worker_kill.sh: the issue's claim 2 at the pipeline level,
# on the embedded (SQLite) queue and on Redis Streams.
#
# `floe serve` runs the example scraper pipeline over 2024-01-02 with no
# embedded crawler (--crawler-workers 0); an external `floe worker` with a
# 4 s visibility timeout crawls a slow sample API (300 ms an answer, 11
# answers for the day).
#
#   - the worker is killed with kill -9 in the middle of the crawl
#   - a second worker gets the job after the visibility timeout (try 2 in
#     the queue), crawls the day again and lands it
#   - the run succeeds with every task on try 1: wait_job saw the job done
#     after the redelivery, nothing in the pipeline was retried
#   - scraper.signals has exactly one row for the run, market.trades
#     exactly the day's 10,000 trades (30,000 over 3 days, evenly spaced),
#     and the sample API answered the killed worker's partial crawl plus
#     one whole crawl, nothing more
# test_crawler*.sh prove the same of bare jobs on the queue.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/queue_lib.sh"
source "$(dirname "$0")/crawler_lib.sh"
source "$(dirname "$0")/pipeline_lib.sh"

command -v jq >/dev/null || {
    fail "jq is not installed; run 'make deps'"
    e2e_finish
}
RUN=scraper__backfill__20240102T000000Z

# scenario NAME QUEUE_URL|"" : one serve, one sample API, two workers.
scenario() {
    local name=$1 queue=$2 dir=$E2E_TMP/$1
    mkdir -p "$dir"
    section "$name: floe serve without embedded crawler, a slow sample API, worker A"
    market_api_start --slow-ms 300 || return 1
    pl_specs "$dir/pipes" "$SA_PORT"
    pl_crawler_config "$dir/crawler.yaml" "$SA_PORT"
    local qflag=()
    [ -n "$queue" ] && qflag=(--queue "$queue")
    pl_serve "$dir/data" "$dir/pipes" --crawler-workers 0 "${qflag[@]}" || return 1
    [ -n "$queue" ] || queue=sqlite:$FLOE_DATA/queue.db
    worker_start "$dir/worker-a.log" --queue "$queue" --config "$dir/crawler.yaml" --visibility 4s \
        --worker-id worker-a
    local wa=$W_PID

    local bf i
    bf=$(pl_backfill scraper 2024-01-02 2024-01-02) || return 1
    for i in $(seq 1 300); do
        [ "$(sa_stats "$SA_PORT" total)" -ge 3 ] && break
        sleep 0.1
    done
    kill -9 "$wa" 2>/dev/null
    wait "$wa" 2>/dev/null
    floe_check_log "$dir/worker-a.log"
    local killed_at
    killed_at=$(sa_stats "$SA_PORT" total)
    if [ "$killed_at" -ge 3 ] && [ "$killed_at" -lt 11 ]; then
        ok "worker A killed with kill -9 mid-crawl, after $killed_at of the day's 11 requests"
    else
        fail "worker A was killed after $killed_at requests: not mid-crawl"
    fi
    local job
    job=$(pl_ti "$RUN" crawl .output.job_id)
    JOB=$(qd status --queue "$queue" --json "$job")
    assert_eq "the job is still leased to the dead worker (try 1)" "leased 1" "$(job_field state) $(job_field tries)"
    assert_eq "wait is still waiting" false "$(pl_ti "$RUN" wait '.state == "success"')"

    section "$name: worker B gets the job after the visibility timeout"
    worker_start "$dir/worker-b.log" --queue "$queue" --config "$dir/crawler.yaml" --visibility 4s \
        --worker-id worker-b
    local wb=$W_PID
    if pl_run_wait "$RUN" 90; then
        assert_eq "the run succeeded" success "$RUN_STATE"
    else
        fail "the run did not end within 90 s: $(pl_tasks_summary "$RUN")"
    fi
    pl_bf_wait "$bf" 10
    assert_eq "the backfill succeeded" success "$BF_STATE"
    JOB=$(qd status --queue "$queue" --json "$job")
    assert_eq "the job is done, delivered twice" "done 2" "$(job_field state) $(job_field tries)"
    assert_contains "worker B crawled it" "$(cat "$dir/worker-b.log")" "$job"
    local t
    for t in crawl wait publish load; do
        assert_eq "$t: success on try 1, one attempt" "success 1 1" \
            "$(pl_ti "$RUN" "$t" '"\(.state) \(.try_number) \(.attempts | length)"')"
    done
    local wout
    wout=$(pl_ti "$RUN" wait .output)
    assert_eq "wait's output: the day's 10,000 records in 11 pages" "10000 11" \
        "$(printf '%s' "$wout" | jq -r '"\(.records) \(.pages)"')"
    # a slow answer is counted when it is sent: worker A's request in flight
    # at the kill (if any) was counted after killed_at was read
    local extra=$(($(sa_stats "$SA_PORT" total) - killed_at))
    if [ "$extra" = 11 ] || [ "$extra" = 12 ]; then
        ok "the sample API answered worker A's requests and one whole crawl (11 + $((extra - 11)) in flight at the kill)"
    else
        fail "the sample API answered $extra requests after the kill; expected one whole crawl (11, or 12 with the one in flight at the kill)"
    fi

    section "$name: one signal row, the day's rows once"
    local signals
    signals=$(tscan scraper.signals)
    assert_eq "scraper.signals: exactly one row, for the run" "$RUN" \
        "$(printf '%s\n' "$signals" | jq -r .run_id)"
    assert_eq "market.trades: exactly 10,000 rows, in 2024-01-02's partition" "trade_time_day=2024-01-02 10000" \
        "$(tparts market.trades)"
    assert_eq "10,000 distinct trade ids" 10000 \
        "$(tscan market.trades --columns trade_id | jq -r .trade_id | sort -u | wc -l)"
    # trade i is at 2024-01-01T00:00:00Z + i * 3d / 30000 = i * 8640 ms
    assert_eq "exactly trades 10000..19999 (2024-01-02's)" "10000 19999" \
        "$(tscan market.trades --columns trade_id | jq -s -r '[.[].trade_id] | "\(min) \(max)"')"

    worker_term "$wb" "$dir/worker-b.log"
    floe_stop
}

scenario embedded ""

if redis_start; then
    scenario redis "$REDIS_URL"
    assert_eq "redis: no entry left pending in the crawl stream" 0 \
        "$(redis-cli -p "$REDIS_PORT" xpending floe:queue:crawl floe | head -1)"
fi
e2e_finish
