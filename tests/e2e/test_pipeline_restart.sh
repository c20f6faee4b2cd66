#!/usr/bin/env bash
# test_pipeline_restart.sh: the issue's claim 6. `floe serve` (the
# scheduler) killed with kill -9 mid-run and started again on the same data
# dir: the runs complete, and no task runs twice at once.
#
# Two runs are in flight at the kill:
#   - `marks`: log -> shell -> log. The shell task appends "START try pid",
#     then a "TICK try" line every 100 ms for about 5 s, then "END try" to a
#     file; it is killed in the middle of its ticks
#   - the example scraper over 2024-01-01, its wait_job sensor poking while
#     an external `floe worker` crawls a slow sample API
# Then:
#   - the killed shell try's processes died with the server (the shell's
#     supervisor has PR_SET_PDEATHSIG): its whole process group is gone, and
#     try 1 never wrote its END
#   - the restarted scheduler records the try failed ("executor died: no
#     heartbeat since ...") and runs try 2, which completes; the marks file
#     holds try 1's START and ticks, then try 2's START, ticks and END:
#     never a line of an older try after a newer START, never two STARTs
#     without an END between them except after the killed try
#   - both runs succeed; in every task instance, attempts never overlap in
#     time (each ends before the next starts); the scraper's signal row is
#     there once and market.trades holds the day's 10,000 trades
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/queue_lib.sh"
source "$(dirname "$0")/crawler_lib.sh"
source "$(dirname "$0")/pipeline_lib.sh"

command -v jq >/dev/null || {
    fail "jq is not installed; run 'make deps'"
    e2e_finish
}

MARKS=$E2E_TMP/marks.txt
market_api_start --slow-ms 600 || e2e_finish
pl_specs "$E2E_TMP/pipes" "$SA_PORT"
rm "$E2E_TMP/pipes/hello.yaml" "$E2E_TMP/pipes/static_write.yaml" "$E2E_TMP/pipes/partitioned_write.yaml"
cat >"$E2E_TMP/pipes/marks.yaml" <<EOF
description: a shell task that marks its start, progress and end
retries: 2
retry_delay: 500ms
tasks:
  first:
    type: log
    message: "run {{ run_id }}"
  work:
    type: shell
    upstream: first
    command: |
      echo "START \$FLOE_TRY_NUMBER \$\$" >> $MARKS
      i=0
      while [ \$i -lt 50 ]; do echo "TICK \$FLOE_TRY_NUMBER" >> $MARKS; sleep 0.1; i=\$((i + 1)); done
      echo "END \$FLOE_TRY_NUMBER" >> $MARKS
  after:
    type: log
    upstream: work
    message: "after try {{ try_number }}"
EOF
pl_crawler_config "$E2E_TMP/crawler.yaml" "$SA_PORT"
pl_serve "$E2E_TMP/data" "$E2E_TMP/pipes" --crawler-workers 0 || e2e_finish
worker_start "$E2E_TMP/worker.log" --queue "sqlite:$FLOE_DATA/queue.db" --config "$E2E_TMP/crawler.yaml" \
    --retry-delay 1s
WORKER=$W_PID
SRUN=scraper__backfill__20240101T000000Z

section "two runs in flight"
MRUN=$(pl_trigger marks) || e2e_finish
bf=$(pl_backfill scraper 2024-01-01 2024-01-01) || e2e_finish
for i in $(seq 1 200); do
    [ "$(grep -c '^TICK 1' "$MARKS" 2>/dev/null)" -ge 3 ] && [ "$(sa_stats "$SA_PORT" total)" -ge 1 ] && break
    sleep 0.1
done
assert_eq "the shell task runs (try 1)" "running 1" "$(pl_ti "$MRUN" work '"\(.state) \(.try_number)"')"
assert_match "the sensor waits for the crawl" "$(pl_ti "$SRUN" wait .state)" '^(scheduled|queued|running)$'
SHPID=$(awk '$1 == "START" && $2 == 1 {print $3}' "$MARKS")
assert_match "the shell wrote its pid" "$SHPID" '^[0-9]+$'

# the group of the try's processes (the shell's supervisor leads it)
PGID=$(awk '{print $5}' "/proc/$SHPID/stat" 2>/dev/null)
assert_match "the shell runs in a process group" "$PGID" '^[0-9]+$'

section "kill -9 floe serve"
floe_kill9
group_gone=0
for i in $(seq 1 200); do
    if ! pgrep -g "$PGID" >/dev/null; then
        group_gone=1
        break
    fi
    sleep 0.05
done
if [ $group_gone = 1 ]; then ok "every process of the killed try (group $PGID) is gone"; else
    fail "processes of the killed try live on: $(pgrep -a -g "$PGID" | tr '\n' ';')"
fi
assert_eq "killed, not finished: no END of try 1" 0 "$(grep -c '^END 1' "$MARKS")"

section "floe serve again, same data dir"
pl_serve_again || e2e_finish
assert_contains "the new scheduler found the killed try a zombie" "$(cat "$FLOE_LOG")" \
    "$MRUN work try 1: zombie (its scheduler died while it ran); now up_for_retry"
if pl_run_wait "$MRUN" 60; then assert_eq "marks: the run succeeded" success "$RUN_STATE"; else
    fail "marks did not end: $(pl_tasks_summary "$MRUN")"
fi
if pl_run_wait "$SRUN" 90; then assert_eq "scraper: the run succeeded" success "$RUN_STATE"; else
    fail "scraper did not end: $(pl_tasks_summary "$SRUN")"
fi
work=$(pl_ti "$MRUN" work)
assert_eq "work: try 2, two attempts" "success 2 2" \
    "$(printf '%s' "$work" | jq -r '"\(.state) \(.try_number) \(.attempts | length)"')"
assert_eq "try 1 is recorded failed" failed "$(printf '%s' "$work" | jq -r '.attempts[0].state')"
assert_contains "because its executor died" "$(printf '%s' "$work" | jq -r '.attempts[0].error')" \
    "executor died: no heartbeat since"
assert_eq "try 2 succeeded" success "$(printf '%s' "$work" | jq -r '.attempts[1].state')"
assert_eq "first and after ran once" "1 1" \
    "$(pl_ti "$MRUN" first '.attempts | length') $(pl_ti "$MRUN" after '.attempts | length')"

section "no task ran twice at once"
marks_check=$(python3 - "$MARKS" <<'EOF'
import sys
lines = [l.split() for l in open(sys.argv[1]).read().splitlines()]
errors, newest, open_try, ended = [], 0, None, set()
for n, l in enumerate(lines, 1):
    kind, t = l[0], int(l[1])
    if kind == "START":
        if open_try is not None and open_try != 1:
            errors.append("line %d: START %d while try %d (not the killed one) had no END" % (n, t, open_try))
        if t <= newest:
            errors.append("line %d: START %d after START %d" % (n, t, newest))
        newest, open_try = t, t
    else:
        if t != newest:
            errors.append("line %d: %s of try %d after START %d" % (n, kind, t, newest))
        if kind == "END":
            ended.add(t)
            open_try = None
starts = [int(l[1]) for l in lines if l[0] == "START"]
if starts != [1, 2]:
    errors.append("the STARTs are %s, expected tries 1 and 2" % starts)
if ended != {2}:
    errors.append("the ENDs are of tries %s, expected only 2" % sorted(ended))
if sum(1 for l in lines if l[:2] == ["TICK", "2"]) != 50:
    errors.append("try 2 did not tick 50 times")
print("; ".join(errors) if errors else "ok: %d lines" % len(lines))
EOF
)
assert_match "the marks file: tries one after the other ($marks_check)" "$marks_check" '^ok'
overlap() {
    api GET "/api/v1/runs/$1/tasks"
    printf '%s' "$API_BODY" | jq -r '.[] | .task_id as $t | .attempts | sort_by(.try_number) |
        (.[] | select(.ended_at == null) | "\($t) try \(.try_number) never ended"),
        (range(1; length) as $i | select(.[$i - 1].ended_at > .[$i].started_at) |
            "\($t) try \(.[$i - 1].try_number) ended at \(.[$i - 1].ended_at), after try \(.[$i].try_number) started at \(.[$i].started_at)")'
}
assert_eq "marks: no attempt overlaps the next" "" "$(overlap "$MRUN")"
assert_eq "scraper: no attempt overlaps the next" "" "$(overlap "$SRUN")"
# the sensor resumes its try across the restart (between pokes it holds
# no executor); only a kill in the middle of a poke makes it a zombie
wait_tries=$(pl_ti "$SRUN" wait '.attempts | length')
if [ "$wait_tries" = 1 ]; then
    ok "the sensor's try went on across the restart ($(pl_ti "$SRUN" wait '.attempts[0].pokes') pokes in one attempt)"
elif [ "$wait_tries" = 2 ]; then
    ok "the sensor was poking at the kill: its try 2 finished the wait"
else
    fail "the sensor has $wait_tries attempts: $(pl_tasks_summary "$SRUN" | tr '\n' ';')"
fi
assert_eq "scraper: crawl, publish and load ran once" "1 1 1" \
    "$(pl_ti "$SRUN" crawl '.attempts | length') $(pl_ti "$SRUN" publish '.attempts | length') $(pl_ti "$SRUN" load '.attempts | length')"
assert_eq "scraper.signals: one row, for the run" "$SRUN" "$(tscan scraper.signals | jq -r .run_id)"
assert_eq "market.trades: the day's 10,000 trades" "trade_time_day=2024-01-01 10000" "$(tparts market.trades)"

worker_term "$WORKER" "$E2E_TMP/worker.log"
floe_stop
e2e_finish
