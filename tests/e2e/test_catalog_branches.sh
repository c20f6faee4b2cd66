#!/usr/bin/env bash
# test_catalog_branches.sh: the catalog's branches through the CLI, the
# workflow of issue 5: create dev, append on dev (`--ref dev`), main does not
# see it, merge dev into main, main has the rows; the same table changed on
# both branches is a conflict naming the table (exit 3, nothing written;
# a dry run says so; --force takes dev's); log, diff, reflog, tags,
# transplant, refspecs (main~1) on scans, and a table-level Iceberg branch
# still reached with --ref when no catalog ref has that name.
. "$(dirname "$0")/lib.sh"

D=$E2E_TMP/branches
mkdir -p "$D"
F() { "$FLOE_BIN" "$@" --data "$D/data"; }
rows() { F table scan "$@" --format csv | tail -n +2 | wc -l; }

python3 - "$D" <<'PY'
import json, sys
d = sys.argv[1]
for name, lo, hi in (("a", 0, 100), ("b", 100, 130), ("c", 200, 205), ("d", 300, 307)):
    with open("%s/%s.jsonl" % (d, name), "w") as f:
        for i in range(lo, hi):
            f.write(json.dumps({"id": i, "symbol": "S%d" % (i % 3)}) + "\n")
PY

section "setup on main"
assert_ok "namespace create" F namespace create market
assert_ok "table create" F table create market.trades --schema "id long not null, symbol string"
assert_ok "append on main" F table append market.trades "$D/a.jsonl"
assert_eq "main has 100 rows" 100 "$(rows market.trades)"

section "branch dev"
assert_ok "branch create dev" F branch create dev
assert_fails_with "a second create names it" "already exists" F branch create dev
assert_fails_with "a bad name is refused" "not valid" F branch create "bad..name"
list=$(F branch list --format csv)
assert_contains "branch list shows dev" "$list" "dev,"
assert_contains "branch list marks main" "$list" "main,"
assert_ok "append on dev" F table append market.trades "$D/b.jsonl" --ref dev
assert_eq "dev has 130 rows" 130 "$(rows market.trades --ref dev)"
assert_eq "main is unchanged" 100 "$(rows market.trades)"
diff=$(F diff main dev --format csv)
assert_contains "diff names the table" "$diff" "market.trades,changed,ICEBERG_TABLE"
log=$(F log dev --format csv)
assert_contains "dev's log has the append" "$log" "commit to market.trades"

section "merge dev into main"
dry=$(F merge dev --into main --dry-run 2>&1)
assert_contains "dry run says it applies" "$dry" "apply cleanly"
assert_eq "the dry run changed nothing" 100 "$(rows market.trades)"
assert_ok "merge" F merge dev --into main
assert_eq "main has dev's rows" 130 "$(rows market.trades)"
assert_eq "main~1 is main before the merge" 100 "$(rows market.trades --ref main~1)"
mlog=$(F log main --limit 1 --format json)
assert_contains "the merge commit names its second parent" "$mlog" "\"merged\":\"$(F branch list --format csv | grep '^dev,' | cut -d, -f2)\""
again=$(F merge dev 2>&1)
assert_contains "merging again has nothing to do" "$again" "nothing to merge"

section "conflict"
assert_ok "append on dev" F table append market.trades "$D/c.jsonl" --ref dev
assert_ok "append on main" F table append market.trades "$D/d.jsonl"
head_before=$(F branch list --format csv | grep '^main,' | cut -d, -f2)
rc=0
out=$(F merge dev 2>&1) || rc=$?
assert_eq "a conflict exits 3" 3 "$rc"
assert_contains "the conflict names the table" "$out" "market.trades"
assert_contains "and its type" "$out" "KEY_CONFLICT"
assert_eq "main did not move" "$head_before" "$(F branch list --format csv | grep '^main,' | cut -d, -f2)"
rc=0
out=$(F merge dev --dry-run 2>&1) || rc=$?
assert_eq "a dry run with conflicts exits 3" 3 "$rc"
assert_contains "and lists the key" "$out" "market.trades"
assert_ok "merge --drop keeps main's" F merge dev --drop market.trades
assert_eq "main kept its own rows" 137 "$(rows market.trades)"
assert_ok "another change on dev" F table append market.trades "$D/c.jsonl" --ref dev
assert_ok "merge --force takes dev's" F merge dev --force market.trades
assert_eq "main now has dev's table" 140 "$(rows market.trades)"

section "tags, assign, transplant, drop"
assert_ok "tag create at main~1" F tag create before-force --from main~1
assert_eq "the tag reads the old table" 137 "$(rows market.trades --ref before-force)"
assert_fails_with "tags take no commits" "tag" F table append market.trades "$D/c.jsonl" --ref before-force
assert_ok "branch fix from the tag" F branch create fix --from before-force
assert_ok "append on fix" F table append market.trades "$D/c.jsonl" --ref fix
fixhash=$(F log fix --limit 1 --format csv | tail -1 | cut -d, -f1)
assert_ok "branch assign dev to main" F branch assign dev --from main
assert_eq "dev reads main's table" 140 "$(rows market.trades --ref dev)"
rc=0
out=$(F transplant "$fixhash" --into dev 2>&1) || rc=$?
assert_eq "a transplant of a stale change conflicts (exit 3)" 3 "$rc"
assert_contains "naming the table" "$out" "market.trades"
assert_ok "namespace-only change on fix" F table create market.quotes --schema "id long" --ref fix
qhash=$(F log fix --limit 1 --format csv | tail -1 | cut -d, -f1)
assert_ok "transplant it onto dev" F transplant "$qhash" --into dev
assert_contains "dev has the new table" "$(F table list market --ref dev --format csv)" "quotes"
assert_fails_with "main cannot be dropped" "cannot be deleted" F branch drop main
assert_fails_with "a stale --expect is refused" "expected" F branch drop fix --expect 0123456789abcdef
assert_ok "branch drop fix" F branch drop fix
assert_fails_with "fix is gone" "no branch or tag named 'fix'" F log fix

section "reflog"
rl=$(F reflog --format csv)
for op in CREATE_REFERENCE ASSIGN_REFERENCE DELETE_REFERENCE COMMIT MERGE TRANSPLANT; do
    assert_contains "reflog has $op" "$rl" "$op"
done
rl=$(F reflog dev --limit 2 --format csv 2>&1)
assert_contains "the reflog of one ref pages" "$rl" "more: --page-token"

section "table-level branches still work"
assert_ok "iceberg branch on the table" F table branch market.trades create audit
assert_ok "append to the table branch" F table append market.trades "$D/d.jsonl" --ref audit
assert_eq "the table branch has the rows" 147 "$(rows market.trades --ref audit)"
assert_eq "main's table did not change" 140 "$(rows market.trades)"
assert_ok "a catalog branch by the same name" F branch create audit
assert_eq "--ref audit now means the catalog branch" 140 "$(rows market.trades --ref audit)"
assert_eq "table:audit still means the table's" 147 "$(rows market.trades --ref table:audit)"

e2e_finish
