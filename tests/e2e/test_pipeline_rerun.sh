#!/usr/bin/env bash
# test_pipeline_rerun.sh: the issue's claim 3. Reruns and backfills of the
# same interval replace its partitions: no duplicate rows, no second signal.
# Driven through `floe pipeline` (the CLI) against `floe serve` with its
# embedded crawler and the example pipelines.
#
# scraper, over 2024-01-01..02 (10,000 trades a day):
#   - backfill: two runs, 10,000 rows in each day's partition of
#     market.trades, one signal row per run
#   - backfill --reprocess completed: every task's try goes to 2 with both
#     attempts kept; load committed a new snapshot that replaced each
#     partition (still 10,000 rows, 20,000 in all, ids distinct); publish
#     found its row (already_published) so scraper.signals is unchanged;
#     the crawl task found its done job, so the sample API got no request
#   - clear RUN load: try 3, three attempts in the API's JSON, rows unchanged
#   - a manual trigger at logical date 2024-01-01 (an empty interval
#     [logical, logical), docs/pipeline-specs.md): market.trades unchanged,
#     one signal row for the new run, no (run_id, endpoint) twice
#   - backfill --reprocess none over 01..03: the two finished runs are left
#     alone (tries unchanged), only 2024-01-03 runs
# partitioned_write, four 15-minute intervals: backfill, reprocess
# completed, a manual trigger of one interval and a clear keep exactly
# 100 rows in each ds/hr/min partition, the replaced one holding the last
# writer's rows.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/queue_lib.sh"
source "$(dirname "$0")/crawler_lib.sh"
source "$(dirname "$0")/pipeline_lib.sh"

command -v jq >/dev/null || {
    fail "jq is not installed; run 'make deps'"
    e2e_finish
}

market_api_start || e2e_finish
pl_specs "$E2E_TMP/pipes" "$SA_PORT"
pl_crawler_config "$E2E_TMP/crawler.yaml" "$SA_PORT"
pl_serve "$E2E_TMP/data" "$E2E_TMP/pipes" --crawler-config "$E2E_TMP/crawler.yaml" || e2e_finish
R1=scraper__backfill__20240101T000000Z
R2=scraper__backfill__20240102T000000Z
TWO_DAYS="trade_time_day=2024-01-01 10000
trade_time_day=2024-01-02 10000"

# tries RUN: "task:try/attempts" for each task of the run
tries() {
    api GET "/api/v1/runs/$1/tasks"
    printf '%s' "$API_BODY" | jq -r '[.[] | "\(.task_id):\(.try_number)/\(.attempts | length)"] | join(" ")'
}

# signals_check WHAT EXPECTED_ROWS: no (run_id, endpoint) twice
signals_check() {
    local rows
    rows=$(tscan scraper.signals)
    assert_eq "$1: scraper.signals has $2 rows" "$2" "$(printf '%s\n' "$rows" | grep -c .)"
    assert_eq "$1: no (run_id, endpoint) twice" "" \
        "$(printf '%s\n' "$rows" | jq -r '"\(.run_id) \(.endpoint)"' | sort | uniq -d)"
}

trades_check() {
    assert_eq "$1: market.trades partitions" "$2" "$(tparts market.trades)"
    local ids
    ids=$(tscan market.trades --columns trade_id | jq -r .trade_id)
    assert_eq "$1: market.trades has $3 rows, every trade id once" "$3 $3" \
        "$(printf '%s\n' "$ids" | grep -c .) $(printf '%s\n' "$ids" | sort -u | grep -c .)"
}

section "scraper: backfill 2024-01-01..02"
assert_ok "backfill --wait exits 0" pcli backfill scraper --from 2024-01-01 --to 2024-01-02 --wait
assert_contains "it reports success with 2 runs" "$OUT" "success, 2 runs"
trades_check "after the backfill" "$TWO_DAYS" 20000
signals_check "after the backfill" 2
assert_eq "the sample API answered the two crawls (11 requests each)" 22 "$(sa_stats "$SA_PORT" total)"
snap1=$(pl_ti "$R1" load .output.snapshot_id)
assert_eq "each task of $R1 ran once" "crawl:1/1 wait:1/1 publish:1/1 load:1/1" "$(tries "$R1")"

section "scraper: backfill --reprocess completed of the same days"
assert_ok "backfill --reprocess completed --wait exits 0" \
    pcli backfill scraper --from 2024-01-01 --to 2024-01-02 --reprocess completed --wait
for r in "$R1" "$R2"; do
    assert_eq "$r: every task on try 2, both attempts kept" "crawl:2/2 wait:2/2 publish:2/2 load:2/2" "$(tries "$r")"
    assert_eq "$r: publish found its row" true "$(pl_ti "$r" publish .output.already_published)"
    assert_eq "$r: the crawl task found its job (the same id)" \
        "$(pl_ti "$r" crawl '.attempts[0].output.job_id')" "$(pl_ti "$r" crawl '.output.job_id')"
done
assert_ne "load committed a new snapshot" "$snap1" "$(pl_ti "$R1" load .output.snapshot_id)"
assert_eq "load wrote the day again" 10000 "$(pl_ti "$R1" load .output.rows)"
trades_check "after the rerun" "$TWO_DAYS" 20000
signals_check "after the rerun" 2
assert_eq "the rerun cost the sample API no request" 22 "$(sa_stats "$SA_PORT" total)"

section "scraper: clear one run's load"
assert_ok "clear exits 0" pcli clear "$R1" load
if pl_run_wait "$R1" 60; then assert_eq "the run ran again and succeeded" success "$RUN_STATE"; else fail "the run did not end"; fi
load=$(pl_ti "$R1" load)
assert_eq "load: try 3 with three attempts, all succeeded" "3 [1,2,3] success,success,success" \
    "$(printf '%s' "$load" | jq -r '"\(.try_number) \([.attempts[].try_number] | tojson) \([.attempts[].state] | join(","))"')"
assert_eq "its max_tries went up" true "$(printf '%s' "$load" | jq '.max_tries >= 3 + 4')"
assert_eq "the other tasks were not rerun" "crawl:2/2 wait:2/2 publish:2/2 load:3/3" "$(tries "$R1")"
assert_ok "logs --try 1 of load is still readable" pcli logs "$R1" load --try 1
assert_contains "it is try 1's log" "$OUT" "try 1 of load started"
trades_check "after the clear" "$TWO_DAYS" 20000
signals_check "after the clear" 2

section "scraper: a manual trigger at logical date 2024-01-01"
assert_ok "trigger --logical-date --wait exits 0" pcli trigger scraper --logical-date 2024-01-01T00:00:00Z --wait
manual=$(pcli runs scraper --format json | jq -r 'select(.type == "manual") | .run_id' | head -1)
assert_match "a manual run" "$manual" '^scraper__manual__20240101T000000000Z'
assert_eq "its interval is [logical, logical): no trades" 0 "$(pl_ti "$manual" wait .output.records)"
trades_check "after the manual run" "$TWO_DAYS" 20000
signals_check "after the manual run (its own row)" 3

section "scraper: backfill --reprocess none over 2024-01-01..03"
before=$(sa_stats "$SA_PORT" total)
assert_ok "backfill --reprocess none --wait exits 0" \
    pcli backfill scraper --from 2024-01-01 --to 2024-01-03 --reprocess none --wait
assert_eq "$R1 was left alone" "crawl:2/2 wait:2/2 publish:2/2 load:3/3" "$(tries "$R1")"
assert_eq "$R2 was left alone" "crawl:2/2 wait:2/2 publish:2/2 load:2/2" "$(tries "$R2")"
assert_eq "2024-01-03 ran once" "crawl:1/1 wait:1/1 publish:1/1 load:1/1" \
    "$(tries scraper__backfill__20240103T000000Z)"
trades_check "after reprocess none" "$TWO_DAYS
trade_time_day=2024-01-03 10000" 30000
signals_check "after reprocess none" 4
assert_eq "only 2024-01-03 was crawled (11 requests)" $((before + 11)) "$(sa_stats "$SA_PORT" total)"

section "partitioned_write: backfill, rerun, trigger, clear of the same intervals"
FOUR="ds=2024-01-01/hr=00/min=00 100
ds=2024-01-01/hr=00/min=15 100
ds=2024-01-01/hr=00/min=30 100
ds=2024-01-01/hr=00/min=45 100"
P15=partitioned_write__backfill__20240101T001500Z
assert_ok "backfill of four 15-minute intervals" \
    pcli backfill partitioned_write --from 2024-01-01T00:00:00Z --to 2024-01-01T00:59:59Z --wait
assert_eq "100 rows in each of 4 partitions" "$FOUR" "$(tparts demo.readings)"
assert_ok "backfill --reprocess completed of the same" \
    pcli backfill partitioned_write --from 2024-01-01T00:00:00Z --to 2024-01-01T00:59:59Z --reprocess completed --wait
assert_eq "still 100 rows in each" "$FOUR" "$(tparts demo.readings)"
assert_eq "the rerun was try 2" "2 2" "$(pl_ti "$P15" write '"\(.try_number) \(.attempts | length)"')"
assert_eq "400 rows in all" 400 "$(tscan demo.readings --columns sensor | grep -c .)"
assert_ok "a manual trigger at 00:15" pcli trigger partitioned_write --logical-date 2024-01-01T00:15:00Z --wait
pmanual=$(pcli runs partitioned_write --format json | jq -r 'select(.type == "manual") | .run_id' | head -1)
assert_eq "still 100 rows in each" "$FOUR" "$(tparts demo.readings)"
assert_eq "the 00:15 partition holds the manual run's rows" "$pmanual 100" \
    "$(tscan demo.readings --filter "min = '15'" --columns run_id | jq -r .run_id | sort | uniq -c | awk '{print $2, $1}')"
assert_ok "clear the 00:30 run's write" pcli clear partitioned_write__backfill__20240101T003000Z write
pl_run_wait partitioned_write__backfill__20240101T003000Z 60
assert_eq "it ran as try 3 and succeeded" "success 3 3" \
    "$(pl_ti partitioned_write__backfill__20240101T003000Z write '"\(.state) \(.try_number) \(.attempts | length)"')"
assert_eq "still 100 rows in each" "$FOUR" "$(tparts demo.readings)"
assert_eq "400 rows in all" 400 "$(tscan demo.readings --columns sensor | grep -c .)"

floe_stop
e2e_finish
