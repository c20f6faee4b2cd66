#!/usr/bin/env bash
# test_queue_crash.sh: the embedded (SQLite) job queue under kill -9:
# jobs held by killed workers come back after the visibility timeout and
# none of 100 is lost; and every enqueue that was acknowledged before its
# process was killed is in the queue afterwards.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/queue_lib.sh"

URL=sqlite:$E2E_TMP/queue.db

queue_no_job_lost "$URL"

section "kill -9 of the enqueuing process: every acknowledged enqueue survives"
qd_bg "$E2E_TMP/enq.out" enqueue --queue "$URL" --name crash --count 1000000
pid=$QD_PID
sleep 1.5
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
# An id is printed only after its enqueue returned; a line cut short by
# the kill is not an acknowledged one.
grep -E '^[0-9a-f-]{36}$' "$E2E_TMP/enq.out" >"$E2E_TMP/enq.ids"
n=$(wc -l <"$E2E_TMP/enq.ids")
if [ "$n" -gt 0 ]; then ok "$n enqueues acknowledged before the kill"; else fail "no enqueue was acknowledged in 1.5 s"; fi
qd status --queue "$URL" <"$E2E_TMP/enq.ids" >"$E2E_TMP/enq.status"
assert_eq "every acknowledged job is queued" "$n" "$(awk '$2=="queued"' "$E2E_TMP/enq.status" | wc -l)"
assert_eq "none is missing" 0 "$(grep -c ' missing$' "$E2E_TMP/enq.status")"
assert_ok "the database passes integrity_check" python3 -c "
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
r = c.execute('PRAGMA integrity_check').fetchone()[0]
sys.exit(0 if r == 'ok' else r)" "$E2E_TMP/queue.db"

e2e_finish
