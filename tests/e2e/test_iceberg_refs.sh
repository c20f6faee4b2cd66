#!/usr/bin/env bash
# test_iceberg_refs.sh: table branches and tags through `floe table`, in a
# write-audit-publish flow: create a branch, append to it while main stays
# as it was, read the branch by --ref, publish with fast-forward, tag,
# roll back, set-current, cherry-pick, and the history, refs and partitions
# listings in csv and json, checked against values computed here. Usage
# errors exit 2, refusals 1, diverged branches 3.
. "$(dirname "$0")/lib.sh"

D=$E2E_TMP/icerefs
mkdir -p "$D"
F() { "$FLOE_BIN" "$@" --data "$D/data"; }
rows() { F table scan "$@" --format csv | tail -n +2 | wc -l; }
ref_of() { F table refs market.trades --format csv | awk -F, -v n="$1" '$1 == n { print $3 }'; }
# runs a command: its exit code in $RC, its output in $OUT
rc_of() {
    RC=0
    OUT=$("$@" 2>&1) || RC=$?
}

# rows [from, to): id i on day 2026-03-(28 + i % 3)
gen() {
    python3 - "$1" "$2" "$3" <<'PY'
import json, sys
out, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(out, "w") as f:
    for i in range(lo, hi):
        f.write(json.dumps({"id": i, "ts": "2026-03-%02dT00:00:%02dZ" % (28 + i % 3, i % 60),
                            "symbol": ["BTC", "ETH"][i % 2], "price": i / 2}) + "\n")
PY
}
gen "$D/base.jsonl" 0 300
gen "$D/audit.jsonl" 300 360
gen "$D/more.jsonl" 360 420
gen "$D/late.jsonl" 420 430
gen "$D/side.jsonl" 430 433

section "setup"
assert_ok "namespace create" F namespace create market
assert_ok "table create" F table create market.trades \
    --schema "id long not null, ts timestamptz, symbol string, price double" --partition "day(ts)"
assert_fails_with "no branch on a table without snapshots" "no snapshot yet" F table branch market.trades create audit
assert_ok "append to main" F table append market.trades "$D/base.jsonl"
s1=$(ref_of main)
assert_match "main has a snapshot" "$s1" '^[0-9]+$'

section "write, audit, publish"
assert_ok "branch create audit" F table branch market.trades create audit
assert_contains "says what it made" "$OUT" "created branch audit at snapshot $s1"
assert_fails_with "a second create" "already has a branch named audit" F table branch market.trades create audit
rc_of F table append market.trades "$D/audit.jsonl" --branch nope
assert_eq "a write to a missing branch exits 1" 1 "$RC"
assert_contains "and says how to create it" "$OUT" "floe table branch market.trades create nope"
assert_ok "append to audit" F table append market.trades "$D/audit.jsonl" --branch audit
a1=$(ref_of audit)
assert_ne "audit moved" "$s1" "$a1"
assert_eq "main is unchanged" "$s1" "$(ref_of main)"
assert_eq "scan main: only the published rows" 300 "$(rows market.trades)"
assert_eq "scan --ref audit: the staged rows too" 360 "$(rows market.trades --ref audit)"
n=$(F table scan market.trades --ref audit --filter "id >= 300" --format csv | tail -n +2 | wc -l)
assert_eq "the staged rows are the ones appended" 60 "$n"
assert_eq "the snapshot log still has one entry" 1 "$(F table history market.trades --format csv | tail -n +2 | wc -l)"
assert_ok "fast-forward main to audit" F table fast-forward market.trades main --to audit
assert_contains "says from and to" "$OUT" "fast-forwarded main from snapshot $s1 to $a1"
assert_eq "main now at audit's head" "$a1" "$(ref_of main)"
assert_eq "scan main after publishing" 360 "$(rows market.trades)"
assert_ok "a second fast-forward is a no-op" F table fast-forward market.trades main --to audit
assert_contains "and says so" "$OUT" "nothing changed"

section "tags, rollback, set-current"
assert_ok "tag v1" F table tag market.trades create v1
assert_fails_with "a tag named main" "cannot be named main" F table tag market.trades create main
assert_ok "tag v0 at the first snapshot" F table tag market.trades create v0 --snapshot "$s1"
assert_eq "scan --ref v0" 300 "$(rows market.trades --ref v0)"
assert_ok "append to main" F table append market.trades "$D/more.jsonl"
s3=$(ref_of main)
assert_eq "420 rows" 420 "$(rows market.trades)"
assert_ok "rollback to v1's snapshot" F table rollback market.trades "$a1"
assert_contains "says what moved" "$OUT" "main rolled back from snapshot $s3 to $a1"
assert_eq "rows after rollback" 360 "$(rows market.trades)"
rc_of F table rollback market.trades "$s3"
assert_eq "rollback to a non-ancestor exits 1" 1 "$RC"
assert_contains "and points at set-current" "$OUT" "floe table set-current market.trades $s3"
assert_ok "set-current to it" F table set-current market.trades "$s3"
assert_eq "rows after set-current" 420 "$(rows market.trades)"
assert_ok "rollback again" F table rollback market.trades "$a1"
assert_ok "append after rollback" F table append market.trades "$D/late.jsonl"
s5=$(ref_of main)
assert_eq "rows: the rolled-back state plus the append" 370 "$(rows market.trades)"
parent=$(F table snapshots market.trades --format csv | awk -F, -v s="$s5" '$1 == s { print $2 }')
assert_eq "the append's parent is the rollback target" "$a1" "$parent"

section "history"
hist=$(F table history market.trades --format csv)
assert_eq "history header" "made_current_at,snapshot_id,parent_id,is_current_ancestor" "$(head -1 <<<"$hist")"
got=$(tail -n +2 <<<"$hist" | cut -d, -f2,3,4 | tr '\n' ' ')
want="$s1,,true $a1,$s1,true $s3,$a1,false $a1,$s1,true $s3,$a1,false $a1,$s1,true $s5,$a1,true "
assert_eq "history rows: snapshot, parent, is_current_ancestor" "$want" "$got"
json=$(F table history market.trades --format json | head -1)
assert_match "history json" "$json" "^\\{\"made_current_at\":\"20[0-9-]+T[0-9:.]+Z\",\"snapshot_id\":$s1,\"parent_id\":null,\"is_current_ancestor\":true\\}$"

section "refs"
refs=$(F table refs market.trades --format csv)
assert_eq "refs header" "name,type,snapshot_id,max_reference_age_in_ms,min_snapshots_to_keep,max_snapshot_age_in_ms" \
    "$(head -1 <<<"$refs")"
assert_eq "refs rows" "audit,BRANCH,$a1,,, main,BRANCH,$s5,,, v0,TAG,$s1,,, v1,TAG,$a1,,, " \
    "$(tail -n +2 <<<"$refs" | sort | tr '\n' ' ')"
json=$(F table refs market.trades --format json | grep '"v0"')
assert_eq "refs json" "{\"name\":\"v0\",\"type\":\"TAG\",\"snapshot_id\":$s1,\"max_reference_age_in_ms\":null,\"min_snapshots_to_keep\":null,\"max_snapshot_age_in_ms\":null}" "$json"

section "diverged branches and cherry-pick"
assert_ok "append to audit" F table append market.trades "$D/side.jsonl" --branch audit
a2=$(ref_of audit)
rc_of F table fast-forward market.trades main --to audit
assert_eq "fast-forward of diverged branches exits 3" 3 "$RC"
assert_contains "and says they diverged" "$OUT" "diverged"
assert_eq "main did not move" "$s5" "$(ref_of main)"
assert_ok "cherry-pick audit's append" F table cherry-pick market.trades "$a2"
assert_contains "says what it made" "$OUT" "cherry-picked snapshot $a2 onto main as snapshot"
p1=$(ref_of main)
assert_ne "main has a new snapshot" "$a2" "$p1"
assert_eq "rows: main plus the 3 picked" 373 "$(rows market.trades)"
sum=$(F table snapshots market.trades --format csv | grep "^$p1,")
assert_contains "the pick names its source" "$sum" "source-snapshot-id\"\":\"\"$a2\"\""
rc_of F table cherry-pick market.trades "$a2"
assert_eq "picking it twice exits 1" 1 "$RC"
assert_contains "and says it was picked" "$OUT" "already cherry-picked into main as snapshot $p1"
assert_fails_with "picking main's own history" "already in main's history" F table cherry-pick market.trades "$s1"
assert_fails_with "picking an unknown snapshot" "has no snapshot 42" F table cherry-pick market.trades 42

section "partitions"
parts=$(F table partitions market.trades --format csv)
assert_eq "partitions header" \
    "partition,spec_id,record_count,file_count,total_data_file_size_in_bytes,last_updated_at,last_updated_snapshot_id" \
    "$(head -1 <<<"$parts")"
# main: ids 0..359, 420..432; per day: i % 3
want=$(python3 -c '
ids = list(range(360)) + list(range(420, 433))
for d in range(3):
    print("ts_day=2026-03-%02d,0,%d" % (28 + d, sum(1 for i in ids if i % 3 == d)))')
assert_eq "partitions: day, spec, record_count" "$want" "$(tail -n +2 <<<"$parts" | cut -d, -f1-3)"
assert_eq "file counts: base, audit, late, picked" "4 4 4 " "$(tail -n +2 <<<"$parts" | cut -d, -f4 | tr '\n' ' ')"
assert_eq "every partition last updated by the pick" "$p1 $p1 $p1 " \
    "$(tail -n +2 <<<"$parts" | cut -d, -f7 | tr '\n' ' ')"
total=$(F table partitions market.trades --format json | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert all(set(r["partition"]) == {"ts_day"} for r in rows), rows
print(sum(r["record_count"] for r in rows))')
assert_eq "json record counts add up to a scan" "$(rows market.trades)" "$total"
v0=$(F table partitions market.trades --ref v0 --format csv | tail -n +2 | cut -d, -f1,3,4 | tr '\n' ' ')
assert_eq "partitions --ref v0" "ts_day=2026-03-28,100,1 ts_day=2026-03-29,100,1 ts_day=2026-03-30,100,1 " "$v0"
n=$(F table partitions market.trades --snapshot "$a1" --format csv | tail -n +2 | awk -F, '{ s += $3 } END { print s }')
assert_eq "partitions --snapshot" 360 "$n"
assert_fails_with "partitions of a missing ref" "no branch or tag nope" F table partitions market.trades --ref nope

section "drops and usage"
assert_fails_with "dropping main" "main cannot be dropped" F table branch market.trades drop main
assert_fails_with "dropping a tag as a branch" "drop it with \`floe table tag market.trades drop v1\`" \
    F table branch market.trades drop v1
assert_ok "drop tag v1" F table tag market.trades drop v1
assert_contains "says what it dropped" "$OUT" "dropped tag v1 (it was at snapshot $a1)"
assert_ok "drop branch audit" F table branch market.trades drop audit
assert_eq "refs left" "main v0 " "$(F table refs market.trades --format csv | tail -n +2 | cut -d, -f1 | sort | tr '\n' ' ')"
rc_of F table scan market.trades --ref audit
assert_eq "scan of a dropped branch exits 1" 1 "$RC"
rc_of F table rollback market.trades abc
assert_eq "a bad snapshot id exits 2" 2 "$RC"
rc_of F table branch market.trades rename x
assert_eq "a bad verb exits 2" 2 "$RC"
rc_of F table fast-forward market.trades main
assert_eq "fast-forward without --to exits 2" 2 "$RC"
rc_of F table tag market.trades drop v0 --snapshot "$s1"
assert_eq "--snapshot on drop exits 2" 2 "$RC"
assert_eq "rows unchanged by the refusals" 373 "$(rows market.trades)"

e2e_finish
