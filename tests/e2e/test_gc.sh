#!/usr/bin/env bash
# test_gc.sh: `floe gc` end to end on a data directory held by `floe serve`,
# with aws-cli listing the warehouse: a table dropped without purge keeps
# its files until gc deletes them (Nessie's GC never does, nessie#9097);
# the default grace period keeps new files; a dry run lists exactly the
# dropped table's files and deletes nothing; an unreadable manifest of a
# live table stops gc with nothing deleted; a table dropped on main but
# alive on another branch keeps its files; live tables still scan.
. "$(dirname "$0")/lib.sh"

D=$E2E_TMP/gc
mkdir -p "$D"
F() { "$FLOE_BIN" "$@" --data "$D/data"; }

aws_env
floe_start "$D/data" --fsync false || e2e_finish

# Sorted keys under a prefix of the warehouse (all pages).
keys() {
    awsf s3api list-objects-v2 --bucket warehouse --prefix "${1:-}" --output json |
        python3 -c 'import json,sys
t = sys.stdin.read().strip()
d = json.loads(t) if t else {}
print("\n".join(sorted(o["Key"] for o in d.get("Contents", []))))'
}
rows() { F table scan "$1" --format csv | tail -n +2 | LC_ALL=C sort; }
# The file_location column of gc's CSV, as keys.
gc_keys() { tail -n +2 | cut -d, -f1 | sed 's|^s3://warehouse/||' | LC_ALL=C sort; }

for k in 0 1; do
    python3 - "$D/r$k.jsonl" "$k" <<'PY'
import json, sys
k = int(sys.argv[2])
with open(sys.argv[1], "w") as f:
    for i in range(k * 100, k * 100 + 100):
        f.write(json.dumps({"id": i, "symbol": ["BTC", "ETH", "SOL"][i % 3], "price": i / 4}) + "\n")
PY
done

section "set up: two tables, one dropped without purge"
assert_ok "namespace" F namespace create market
for t in trades gone; do
    assert_ok "create $t" F table create market.$t --schema "id long not null, symbol string, price double" \
        --partition "bucket(4, id)"
    for k in 0 1; do F table append market.$t "$D/r$k.jsonl" 2>/dev/null || fail "append $k to $t"; done
done
rows market.trades >"$D/rows.before"
assert_eq "200 rows" 200 "$(wc -l <"$D/rows.before")"
keys market/gone/ >"$D/gone.keys"
keys market/trades/ >"$D/trades.keys"
ngone=$(wc -l <"$D/gone.keys")
[ "$ngone" -gt 6 ] || fail "market.gone has $ngone objects"
assert_ok "drop market.gone (no purge)" F table drop market.gone
keys market/gone/ >"$D/k1"
assert_files_equal "the drop leaves its files" "$D/gone.keys" "$D/k1"
sleep 1.1 # the store keeps whole seconds
cutoff=$(date +%s%3N)

section "the grace period (3 days) keeps new files"
out=$(F gc --format csv 2>"$D/err" | tail -n +2)
assert_eq "nothing that new is deleted" "" "$out"
assert_contains "the report counts them" "$(cat "$D/err")" "unreachable but modified after"
assert_eq "the dropped table's files are still there" "$ngone" "$(keys market/gone/ | wc -l)"

section "dry run"
keys >"$D/all.before"
F gc --older-than "$cutoff" --dry-run --format csv 2>"$D/err" | gc_keys >"$D/dry.keys"
assert_files_equal "the dry run lists exactly the dropped table's files" "$D/gone.keys" "$D/dry.keys"
assert_contains "it says so" "$(cat "$D/err")" "dry run: would delete $ngone files"
keys >"$D/k2"
assert_files_equal "a dry run deletes nothing" "$D/all.before" "$D/k2"
out=$(F gc --older-than "$cutoff" --dry-run --summary --format csv 2>/dev/null | tail -1)
assert_match "the summary row" "$out" "^1,1,1,[0-9]+,[0-9]+,[0-9]+,0,0,$ngone,[0-9]+,0,true$"

section "an unreadable manifest of a live table stops gc"
manifest=$(grep -m1 -- '-m[0-9]*\.avro$' "$D/trades.keys")
awsf s3 cp "s3://warehouse/$manifest" "$D/manifest.avro" >/dev/null || fail "saving $manifest"
printf 'not avro' >"$D/junk"
awsf s3 cp "$D/junk" "s3://warehouse/$manifest" >/dev/null || fail "corrupting $manifest"
rc=0
F gc --older-than "$cutoff" >"$D/out" 2>"$D/err" || rc=$?
assert_eq "exit 1" 1 "$rc"
assert_contains "the error names the table" "$(cat "$D/err")" "market.trades"
assert_contains "and the manifest" "$(cat "$D/err")" "$manifest"
assert_contains "and says nothing was deleted" "$(cat "$D/err")" "nothing was deleted"
keys >"$D/k3"
assert_files_equal "nothing was deleted" "$D/all.before" "$D/k3"
awsf s3 cp "$D/manifest.avro" "s3://warehouse/$manifest" >/dev/null || fail "restoring $manifest"

section "gc deletes the dropped table's files"
out=$(F gc --older-than "$cutoff" --format json 2>"$D/err")
assert_eq "one JSON row per file" "$ngone" "$(printf '%s\n' "$out" | grep -c '"status":"deleted"')"
assert_eq "nothing left of market.gone" "" "$(keys market/gone/)"
keys market/trades/ >"$D/k4"
assert_files_equal "market.trades untouched" "$D/trades.keys" "$D/k4"
rows market.trades >"$D/k5"
assert_files_equal "market.trades still scans" "$D/rows.before" "$D/k5"
out=$(F gc --older-than "$cutoff" --summary --format csv 2>/dev/null | tail -1)
assert_match "a second run deletes nothing" "$out" '^1,1,1,[0-9]+,[0-9]+,[0-9]+,0,0,0,0,0,false$'

section "a table dropped on main but alive on another branch keeps its files"
# the branch as versions.c will make it: the ref and a copy of main's contents
sqlite3 "$D/data/catalog.db" "INSERT INTO refs(name, is_tag, hash) SELECT 'dev', 0, hash FROM refs WHERE name = 'main';
INSERT INTO heads SELECT 'dev', key, parent, kind, content_id, location, content FROM heads WHERE ref = 'main';" ||
    fail "making branch dev"
assert_ok "drop market.trades on main" F table drop market.trades
sleep 1.1
cutoff=$(date +%s%3N)
out=$(F gc --older-than "$cutoff" --format csv 2>/dev/null | tail -n +2)
assert_eq "nothing deleted" "" "$out"
keys market/trades/ >"$D/k6"
assert_files_equal "market.trades's files stay for dev" "$D/trades.keys" "$D/k6"

section "usage and errors"
rc=0
F gc --older-than yesterday >/dev/null 2>&1 || rc=$?
assert_eq "a bad --older-than: exit 2" 2 "$rc"
rc=0
F gc --older-than 2099-01-01T00:00:00Z >/dev/null 2>"$D/err" || rc=$?
assert_eq "a cutoff in the future: exit 2" 2 "$rc"
assert_contains "it says why" "$(cat "$D/err")" "in the future"
rc=0
F gc --purge >/dev/null 2>&1 || rc=$?
assert_eq "an unknown flag: exit 2" 2 "$rc"

floe_stop
e2e_finish
