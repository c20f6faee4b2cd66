#!/usr/bin/env bash
# test_iceberg_crash.sh: `floe table` processes killed with SIGKILL in the
# middle of their work, beside a running `floe serve` on the same data dir.
#
# 1. Rounds of an append loop (each append 5 rows carrying a unique marker m,
#    ids m*10+0..4; the marker is written to "acked" only after the CLI exits
#    0), stopped after a random time by SIGKILL of the loop and the `floe`
#    process it is running. After every round: the table loads (describe,
#    scan), every acknowledged append's rows are there, every marker present
#    has all 5 rows exactly once, a marker present but not acknowledged can
#    only be the one in flight at the kill, the rows equal the sum of the
#    snapshots' added-records and the head's total-records, and a new append
#    works.
# 2. `floe table overwrite --filter` and `floe table delete --filter` (both
#    copy-on-write over 24 files) killed at fractions (15% to 103%) of the
#    time a full run took, each on a fresh table of the same shape: the
#    table is then exactly as before or exactly as after, never in between,
#    and takes an append.
#
# Rounds and delays are bounded: about 50 s with the ASan binary on 2 busy
# cores. E2E_CRASH_ROUNDS sets the number of append rounds (8).
. "$(dirname "$0")/lib.sh"

D=$E2E_TMP/icecrash
mkdir -p "$D/in"
F() { "$FLOE_BIN" "$@" --data "$D/data"; }
ROUNDS=${E2E_CRASH_ROUNDS:-8}

# rand_ms LO HI: a random whole number of milliseconds in [LO, HI]
rand_ms() { echo $((RANDOM % ($2 - $1 + 1) + $1)); }
ms_to_s() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

append_file() { # append_file MARKER: the file of marker m
    local m=$1 f=$D/in/m.$1.jsonl r
    : >"$f"
    for r in 0 1 2 3 4; do
        printf '{"id": %d, "m": %d, "r": %d, "note": "marker %d row %d"}\n' $((m * 10 + r)) "$m" "$r" "$m" "$r" >>"$f"
    done
    printf '%s' "$f"
}

# The append loop: markers from $1 up. Runs floe itself in the background so
# its pid is known (cur.pid) and can be killed.
append_loop() {
    local m=$1 rc cpid f
    while :; do
        f=$(append_file "$m")
        echo "$m" >>"$D/attempted"
        "$FLOE_BIN" table append crash.t "$f" --data "$D/data" >/dev/null 2>>"$D/append.err" &
        cpid=$!
        echo "$cpid $m" >"$D/cur.pid"
        rc=0
        wait "$cpid" || rc=$?
        if [ $rc -eq 0 ]; then
            echo "$m" >>"$D/acked"
        else
            echo "marker $m: exit $rc" >>"$D/append.failed"
        fi
        m=$((m + 1))
    done
}

# kill_tree PID: stop PID (a subshell of this script), SIGKILL its children,
# then PID itself.
kill_tree() {
    local pid=$1 c
    kill -STOP "$pid" 2>/dev/null
    for c in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
        kill -9 "$c" 2>/dev/null
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

# check_table WHAT: the invariants of phase 1 over the whole table.
check_table() {
    local what=$1 res
    if ! F table describe crash.t >"$D/describe.out" 2>&1; then
        fail "$what: describe fails after the kill: $(head -5 "$D/describe.out")"
        return 1
    fi
    if ! F table scan crash.t --format json --columns id,m,r >"$D/rows.json" 2>"$D/scan.err"; then
        fail "$what: scan fails after the kill: $(head -5 "$D/scan.err")"
        return 1
    fi
    F table snapshots crash.t --format json >"$D/snaps.json"
    touch "$D/acked" "$D/inflight"
    res=$(python3 - "$D/rows.json" "$D/snaps.json" "$D/acked" "$D/inflight" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
snaps = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
acked = set(int(x) for x in open(sys.argv[3]).read().split())
inflight = set(int(x) for x in open(sys.argv[4]).read().split())
by_m = {}
for r in rows:
    by_m.setdefault(r["m"], []).append(r["id"])
ids = [r["id"] for r in rows]
out = []
out.append("ids twice: %d" % (len(ids) - len(set(ids))))
torn = [m for m, l in by_m.items() if sorted(l) != [m * 10 + k for k in range(5)]]
out.append("markers not whole: %s" % (sorted(torn)[:10] or "none"))
out.append("acked missing: %s" % (sorted(acked - set(by_m))[:10] or "none"))
out.append("unacked beyond in-flight: %s" % (sorted(set(by_m) - acked - inflight)[:10] or "none"))
appends = [s for s in snaps if s["operation"] == "append"]
out.append("append snapshots = markers present: %s" % (len(appends) == len(by_m)))
added = sum(int(s["summary"].get("added-records", 0)) for s in snaps)
out.append("added-records sum = rows: %s" % (added == len(rows)))
head = max(snaps, key=lambda s: s["sequence_number"]) if snaps else None
out.append("head total-records = rows: %s" % (head is not None and int(head["summary"]["total-records"]) == len(rows)))
print("\n".join(out))
print("markers present %d, acked %d, rows %d" % (len(by_m), len(acked), len(rows)), file=sys.stderr)
PY
)
    assert_contains "$what: no id twice" "$res" "ids twice: 0"
    assert_contains "$what: every marker whole (5 rows)" "$res" "markers not whole: none"
    assert_contains "$what: every acknowledged append is there" "$res" "acked missing: none"
    assert_contains "$what: unacknowledged rows only from the append in flight" "$res" "unacked beyond in-flight: none"
    assert_contains "$what: one append snapshot per marker" "$res" "append snapshots = markers present: True"
    assert_contains "$what: rows = sum of added-records" "$res" "added-records sum = rows: True"
    assert_contains "$what: rows = the head's total-records" "$res" "head total-records = rows: True"
}

section "setup"
floe_start "$D/data" || e2e_finish
assert_ok "namespace create" F namespace create crash
assert_ok "table create" F table create crash.t --schema "id long not null, m long, r int, note string" \
    --partition "bucket(4, id)"
: >"$D/acked"
: >"$D/inflight"

section "append loops killed with SIGKILL ($ROUNDS rounds)"
for round in $(seq 1 "$ROUNDS"); do
    append_loop $((round * 1000)) &
    loop=$!
    delay=$(rand_ms 300 1500)
    sleep "$(ms_to_s "$delay")"
    inflight=$(cut -d' ' -f2 "$D/cur.pid" 2>/dev/null)
    kill_tree "$loop"
    # the marker whose append was running (or about to) when the loop died
    [ -n "$inflight" ] && echo "$inflight" >>"$D/inflight"
    tail -1 "$D/attempted" >>"$D/inflight"
    n=$(awk -v lo=$((round * 1000)) '$1 >= lo && $1 < lo + 999' "$D/acked" | wc -l)
    say "  round $round: killed after ${delay} ms, $n appends acknowledged"
    check_table "round $round"
    m=$((round * 1000 + 999))
    if assert_ok "round $round: a new append works" F table append crash.t "$(append_file $m)"; then
        echo "$m" >>"$D/acked"
    fi
done
assert_ne "some appends were acknowledged" 0 "$(wc -l <"$D/acked")"
# the loop is stopped before its floe is killed, so it never records that exit
assert_eq "every append the loops saw finish exited 0" "" "$(cat "$D/append.failed" 2>/dev/null | head -5)"
check_table "after all rounds"

# ids_now TABLE FILE: the table's ids, sorted
ids_now() { F table scan "$1" --format csv --columns id | tail -n +2 | sort -n >"$2"; }

# kill_during WHAT DELAY_MS ARGS...: runs floe ARGS (the binary itself, so
# the pid is floe's), kills it with SIGKILL after DELAY_MS, and says whether
# it finished first.
kill_during() {
    local what=$1 delay=$2
    shift 2
    "$FLOE_BIN" "$@" --data "$D/data" >"$D/op.out" 2>&1 &
    local pid=$!
    sleep "$(ms_to_s "$delay")"
    if kill -9 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null
        say "  $what: killed after $delay ms"
    else
        local rc=0
        wait "$pid" || rc=$?
        say "  $what: finished (exit $rc) before the kill at $delay ms"
    fi
}

# before_or_after WHAT TABLE BEFORE AFTER: the table's ids equal one of the two.
before_or_after() {
    local what=$1 now=$D/now.ids
    ids_now "$2" "$now"
    if cmp -s "$now" "$3"; then
        ok "$what: the table is as before"
        echo "$what as before" >>"$D/outcomes"
    elif cmp -s "$now" "$4"; then
        ok "$what: the table is as after"
        echo "$what as after" >>"$D/outcomes"
    else
        fail "$what: the table is neither before ($(wc -l <"$3") rows) nor after ($(wc -l <"$4") rows): $(wc -l <"$now") rows"
        diff "$3" "$now" | head -5 | sed 's/^/       /'
    fi
}

# Every kill below hits a fresh table of the same shape (3 appends of 300
# rows over bucket(8, id): 24 files, each rewritten by the copy-on-write), so
# one timed run tells how long the operation takes, and the kills land at
# fractions of that, from start-up to the commit at the end.
python3 - "$D/in" <<'PY'
import json, os, sys
for k in range(3):
    with open(os.path.join(sys.argv[1], "load.%d.jsonl" % k), "w") as f:
        for j in range(300):
            i = k * 300 + j
            f.write(json.dumps({"id": i, "m": 500000 + k, "r": i % 5, "note": "load row %d" % i}) + "\n")
with open(os.path.join(sys.argv[1], "ow.jsonl"), "w") as f:
    for j in range(50):
        f.write(json.dumps({"id": 10**9 + j, "m": -1, "r": 0, "note": "overwrite"}) + "\n")
PY
prep_table() { # prep_table T: a fresh crash.T, loaded
    F table create "crash.$1" --schema "id long not null, m long, r int, note string" \
        --partition "bucket(8, id)" >/dev/null 2>>"$D/prep.log" || return 1
    local k
    for k in 0 1 2; do F table append "crash.$1" "$D/in/load.$k.jsonl" >/dev/null 2>>"$D/prep.log" || return 1; done
}
# the ids after each operation, the same for every fresh table
python3 - "$D/in" <<'PY'
import sys
ids = list(range(900))
open(sys.argv[1] + "/ow.after", "w").write("".join("%d\n" % i for i in sorted([i for i in ids if i % 5 != 0] + [10**9 + j for j in range(50)])))
open(sys.argv[1] + "/del.after", "w").write("".join("%d\n" % i for i in ids if i % 5 != 1))
open(sys.argv[1] + "/load.ids", "w").write("".join("%d\n" % i for i in ids))
PY

section "overwrite and delete killed with SIGKILL"
assert_ok "a table to time the operations on" prep_table cal
t0=$(date +%s%N)
assert_ok "an overwrite that runs to the end" F table overwrite crash.cal "$D/in/ow.jsonl" --filter "r = 0"
t_ow=$((($(date +%s%N) - t0) / 1000000))
before_or_after "the timed overwrite" crash.cal "$D/in/load.ids" "$D/in/ow.after"
assert_ok "a table to time the delete on" prep_table cal2
t0=$(date +%s%N)
assert_ok "a delete that runs to the end" F table delete crash.cal2 --filter "r = 1"
t_del=$((($(date +%s%N) - t0) / 1000000))
before_or_after "the timed delete" crash.cal2 "$D/in/load.ids" "$D/in/del.after"
say "  (a full overwrite takes $t_ow ms, a full delete $t_del ms)"
: >"$D/outcomes"
i=0
for pct in 15 40 60 75 85 92 97 103; do
    i=$((i + 1))
    prep_table "o$i" || fail "prepare crash.o$i"
    kill_during "overwrite at $pct%" $((t_ow * pct / 100)) table overwrite "crash.o$i" "$D/in/ow.jsonl" --filter "r = 0"
    before_or_after "overwrite at $pct%" "crash.o$i" "$D/in/load.ids" "$D/in/ow.after"
    assert_ok "overwrite at $pct%: describe" F table describe "crash.o$i"
    assert_ok "overwrite at $pct%: a new append works" F table append "crash.o$i" "$(append_file $((90000 + i)))"
    prep_table "d$i" || fail "prepare crash.d$i"
    kill_during "delete at $pct%" $((t_del * pct / 100)) table delete "crash.d$i" --filter "r = 1"
    before_or_after "delete at $pct%" "crash.d$i" "$D/in/load.ids" "$D/in/del.after"
    assert_ok "delete at $pct%: a new append works" F table append "crash.d$i" "$(append_file $((91000 + i)))"
    n=$(F table scan "crash.d$i" --format csv --columns id --filter "m = $((91000 + i))" | tail -n +2 | wc -l)
    assert_eq "delete at $pct%: the new append's rows are there" 5 "$n"
done
say "  (outcomes: $(grep -c 'as before' "$D/outcomes" || true) before, $(grep -c 'as after' "$D/outcomes" || true) after)"

total=$(F table scan crash.t --format csv --columns id | tail -n +2 | wc -l)
uniq=$(F table scan crash.t --format csv --columns id | tail -n +2 | sort -u | wc -l)
assert_eq "no id twice in the end" "$total" "$uniq"
head_total=$(F table snapshots crash.t --format json | python3 -c '
import json, sys
s = [json.loads(l) for l in sys.stdin if l.strip()]
print(max(s, key=lambda x: x["sequence_number"])["summary"]["total-records"])')
assert_eq "the head's total-records = rows" "$total" "$head_total"

assert_eq "the server is still healthy" 200 "$(http_code "$S3_URL/_floe/health")"
floe_stop
e2e_finish
