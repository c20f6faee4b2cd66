#!/usr/bin/env bash
# test_pipeline_catalog_fault.sh: the issue's claim 1 at the pipeline level.
# A catalog failure after the crawl retries only publish_signal, never the
# crawl.
#
# `floe serve` keeps its catalog in a throwaway PostgreSQL and runs the
# example scraper pipeline (crawl -> wait -> publish -> load) over
# 2024-01-01, with its embedded crawler, against `floe sample-api`.
#
#   - while the crawl is in progress (the sample API is stopped with SIGSTOP
#     in the middle of it, so nothing can run ahead), PostgreSQL is stopped;
#     the API continues and the crawl and wait finish without the catalog
#   - publish fails and goes up_for_retry, try after try, while crawl and
#     wait stay at try 1 and load has not started
#   - PostgreSQL starts again (same data dir and port): the catalog's pool
#     reconnects, publish succeeds on a later try, load follows, the run
#     succeeds
#   - the crawl ran exactly once: the sample API's request count equals the
#     pages (and requests) in wait's output, and the crawl task has one
#     attempt; scraper.signals has exactly one row for the run, and
#     market.trades holds the day's 10,000 trades
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/queue_lib.sh"
source "$(dirname "$0")/crawler_lib.sh"
source "$(dirname "$0")/pg_lib.sh"
source "$(dirname "$0")/pipeline_lib.sh"

command -v jq >/dev/null || {
    fail "jq is not installed; run 'make deps'"
    e2e_finish
}

section "PostgreSQL, the sample API and floe serve with the catalog in PostgreSQL"
pg_start || e2e_finish
PL_CATALOG_URL=$(pg_createdb floe_pipe) || {
    fail "cannot create the database"
    e2e_finish
}
# 11 requests (10 full pages and an empty one), 200 ms each
market_api_start --slow-ms 200 || e2e_finish
# retries: many and fast, so the outage below cannot use them up
pl_specs "$E2E_TMP/pipes" "$SA_PORT" 's/^retries: 4$/retries: 40/' 's/^retry_delay: 1s$/retry_delay: 200ms/' \
    's/^max_retry_delay: 30s$/max_retry_delay: 1s/'
pl_crawler_config "$E2E_TMP/crawler.yaml" "$SA_PORT"
pl_serve "$E2E_TMP/data" "$E2E_TMP/pipes" --catalog-url "$PL_CATALOG_URL" \
    --crawler-config "$E2E_TMP/crawler.yaml" --crawler-workers 1 || e2e_finish
RUN=scraper__backfill__20240101T000000Z

section "PostgreSQL goes down while the crawl is in progress"
bf=$(pl_backfill scraper 2024-01-01 2024-01-01) || e2e_finish
for i in $(seq 1 150); do
    [ "$(sa_stats "$SA_PORT" total)" -ge 2 ] && break
    sleep 0.1
done
kill -STOP "$SA_PID"
assert_eq "the crawl task enqueued its job (try 1)" "success 1" "$(pl_ti "$RUN" crawl '"\(.state) \(.try_number)"')"
assert_eq "wait is still waiting for the job" "false" "$(pl_ti "$RUN" wait '.state == "success"')"
if pg_down; then ok "PostgreSQL stopped"; else fail "pg_ctl stop failed"; fi
kill -CONT "$SA_PID"
assert_eq "publish has not started before the outage" none "$(pl_ti "$RUN" publish .state)"

section "the crawl finishes without the catalog; publish fails and retries alone"
if pl_ti_wait "$RUN" wait '.state == "success"' 60; then
    ok "wait saw the job done"
else
    fail "wait is $(pl_ti "$RUN" wait .state)"
fi
if pl_ti_wait "$RUN" publish '.state == "up_for_retry" and .try_number >= 2' 60; then
    ok "publish is up_for_retry after $(pl_ti "$RUN" publish .try_number) failed tries"
else
    fail "publish did not go up_for_retry twice: $(pl_tasks_summary "$RUN")"
fi
pub=$(pl_ti "$RUN" publish)
assert_eq "every attempt of publish so far failed" "[]" \
    "$(printf '%s' "$pub" | jq -c '[.attempts[] | select(.state != "failed" and .state != "running")]')"
err=$(printf '%s' "$pub" | jq -r '.attempts[0].error')
assert_contains "the error is the catalog's" "$err" "catalog"
say "       (publish's first error: $err)"
assert_eq "crawl: try 1, success" "success 1 1" \
    "$(pl_ti "$RUN" crawl '"\(.state) \(.try_number) \(.attempts | length)"')"
assert_eq "wait: try 1, success" "success 1 1" \
    "$(pl_ti "$RUN" wait '"\(.state) \(.try_number) \(.attempts | length)"')"
assert_eq "load has not started" none "$(pl_ti "$RUN" load .state)"

section "PostgreSQL is back: publish succeeds, the run completes"
if pg_up; then ok "PostgreSQL started again on port $PG_PORT"; else fail "pg_ctl start failed"; fi
if pl_run_wait "$RUN" 90; then
    assert_eq "the run succeeded" success "$RUN_STATE"
else
    fail "the run did not end within 90 s: $(pl_tasks_summary "$RUN")"
fi
pl_bf_wait "$bf" 10
assert_eq "the backfill succeeded" success "$BF_STATE"
pub=$(pl_ti "$RUN" publish)
tries=$(printf '%s' "$pub" | jq .try_number)
if [ "$tries" -ge 3 ]; then ok "publish succeeded on try $tries"; else fail "publish's try is $tries"; fi
assert_eq "its last attempt succeeded, the earlier ones failed" "success $((tries - 1))" \
    "$(printf '%s' "$pub" | jq -r '"\(.attempts[-1].state) \([.attempts[] | select(.state == "failed")] | length)"')"
assert_eq "published once" false "$(printf '%s' "$pub" | jq .output.already_published)"
assert_eq "crawl still has one attempt" "success 1 1" \
    "$(pl_ti "$RUN" crawl '"\(.state) \(.try_number) \(.attempts | length)"')"
assert_eq "wait still has one attempt" "success 1 1" \
    "$(pl_ti "$RUN" wait '"\(.state) \(.try_number) \(.attempts | length)"')"
assert_eq "load ran once" "success 1" "$(pl_ti "$RUN" load '"\(.state) \(.try_number)"')"

section "the crawl ran exactly once; one signal row"
wout=$(pl_ti "$RUN" wait .output)
pages=$(printf '%s' "$wout" | jq .pages)
assert_eq "the crawl landed the day's 10,000 trades" 10000 "$(printf '%s' "$wout" | jq .records)"
assert_eq "in 11 pages (10 full, 1 empty)" 11 "$pages"
assert_eq "the sample API answered exactly the crawl's pages" "$pages" "$(sa_stats "$SA_PORT" total)"
assert_eq "and the crawl's requests" "$(printf '%s' "$wout" | jq .requests)" "$(sa_stats "$SA_PORT" total)"
assert_eq "none of them rate limited or faulted" "0 0" \
    "$(sa_stats "$SA_PORT" rate_limited) $(sa_stats "$SA_PORT" faults)"
assert_eq "the job was not redelivered" false "$(printf '%s' "$wout" | jq .redelivered)"
signals=$(tscan scraper.signals)
assert_eq "scraper.signals has exactly one row for the run" 1 \
    "$(printf '%s\n' "$signals" | jq -s --arg r "$RUN" '[.[] | select(.run_id == $r)] | length')"
assert_eq "and no other row" 1 "$(printf '%s\n' "$signals" | grep -c .)"
assert_eq "its s3_path is the crawl's" "$(printf '%s' "$wout" | jq -r .s3_path)" \
    "$(printf '%s\n' "$signals" | jq -r .s3_path)"
assert_eq "market.trades: 10,000 rows in the day's partition" "trade_time_day=2024-01-01 10000" \
    "$(tparts market.trades)"

section "stop"
floe_stop
e2e_finish
