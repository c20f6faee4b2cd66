#!/usr/bin/env bash
# test_iceberg_maint.sh: `floe table compact | rewrite-manifests | expire |
# remove-orphans` end to end on a data directory, with `floe serve` holding
# it so aws-cli can list the table's objects and plant an orphan: rows are
# checked unchanged after every step, the object listing shows exactly what
# each step deleted, dry runs delete nothing, and bad usage exits 2.
. "$(dirname "$0")/lib.sh"

D=$E2E_TMP/maint
mkdir -p "$D"
F() { "$FLOE_BIN" "$@" --data "$D/data"; }

aws_env
floe_start "$D/data" --fsync false || e2e_finish

# Sorted keys under the table's location (all pages).
keys() {
    awsf s3api list-objects-v2 --bucket warehouse --prefix "market/trades/${1:-}" --output json |
        python3 -c 'import json,sys
t = sys.stdin.read().strip()
d = json.loads(t) if t else {}
print("\n".join(sorted(o["Key"] for o in d.get("Contents", []))))'
}
count() { keys "$1" | grep -c "$2" || true; }
rows() { F table scan market.trades --format csv | tail -n +2 | LC_ALL=C sort; }

# 8 files of 50 rows, each over two days
for k in $(seq 0 7); do
    python3 - "$D/r$k.jsonl" "$k" <<'PY'
import json, sys
k = int(sys.argv[2])
with open(sys.argv[1], "w") as f:
    for i in range(k * 50, k * 50 + 50):
        f.write(json.dumps({"id": i, "ts": "2026-03-%02dT00:%02d:%02dZ" % (28 + i % 2, i // 60 % 60, i % 60),
                            "symbol": ["BTC", "ETH", "SOL"][i % 3], "price": i / 4}) + "\n")
PY
done

section "set up: 8 appends, 16 small files"
assert_ok "namespace" F namespace create market
assert_ok "table" F table create market.trades \
    --schema "id long not null, ts timestamptz, symbol string, price double" --partition "day(ts)"
for k in $(seq 0 7); do F table append market.trades "$D/r$k.jsonl" 2>/dev/null || fail "append $k"; done
rows >"$D/rows.before"
assert_eq "400 rows" 400 "$(wc -l <"$D/rows.before")"
assert_eq "16 data files" 16 "$(count data/ '\.parquet$')"
first=$(F table snapshots market.trades --format csv | sed -n 2p | cut -d, -f1)

section "compact"
out=$(F table compact market.trades --format csv 2>/dev/null | tail -1)
assert_match "16 files rewritten into 2" "$out" '^16,2,[0-9]+$'
assert_eq "2 live files" 2 "$(F table files market.trades --format csv | tail -n +2 | wc -l)"
files=$(F table files market.trades --format json)
assert_not_contains "no null partition values" "$files" "=null"
assert_contains "day 28" "$files" "ts_day=2026-03-28"
assert_contains "day 29" "$files" "ts_day=2026-03-29"
rows >"$D/rows.after"
assert_files_equal "the same rows after compaction" "$D/rows.before" "$D/rows.after"
old=$(F table scan market.trades --snapshot "$first" --format csv | tail -n +2 | wc -l)
assert_eq "the first snapshot still reads" 50 "$old"
out=$(F table compact market.trades --format json 2>/dev/null)
assert_eq "a second run has nothing to do" \
    '{"rewritten_data_files_count":0,"added_data_files_count":0,"rewritten_bytes_count":0}' "$out"

section "rewrite-manifests"
out=$(F table rewrite-manifests market.trades --format csv 2>/dev/null | tail -1)
assert_eq "9 manifests (8 appends, the compaction's) merged into 1" "9,1" "$out"
op=$(F table snapshots market.trades --format csv | tail -1 | cut -d, -f5)
assert_eq "a replace snapshot" replace "$op"
rows >"$D/rows.after"
assert_files_equal "the same rows after rewrite-manifests" "$D/rows.before" "$D/rows.after"

section "expire"
keys >"$D/keys.before"
nsnap=$(F table snapshots market.trades --format csv | tail -n +2 | wc -l)
assert_eq "10 snapshots" 10 "$nsnap"
dry=$(F table expire market.trades --older-than 2099-01-01T00:00:00Z --retain-last 1 --dry-run --format csv 2>/dev/null | tail -1)
keys >"$D/keys.dry"
assert_files_equal "a dry run deletes nothing" "$D/keys.before" "$D/keys.dry"
assert_eq "a dry run commits nothing" 10 "$(F table snapshots market.trades --format csv | tail -n +2 | wc -l)"
# 16 small files; 8 append manifests + the compaction's added one + its 8
# rewritten ones; 9 manifest lists
assert_eq "the dry run's plan" "16,17,9" "$dry"
out=$(F table expire market.trades --older-than 2099-01-01T00:00:00Z --retain-last 1 --format csv 2>/dev/null | tail -1)
assert_eq "what expire deleted" "$dry" "$out"
assert_eq "1 snapshot left" 1 "$(F table snapshots market.trades --format csv | tail -n +2 | wc -l)"
assert_eq "2 data files left" 2 "$(count data/ '\.parquet$')"
assert_eq "1 manifest left" 1 "$(count metadata/ '\-m[0-9]*\.avro$')"
assert_eq "1 manifest list left" 1 "$(count metadata/ '/snap-')"
keys >"$D/keys.after"
gone=$(LC_ALL=C comm -23 "$D/keys.before" "$D/keys.after" | wc -l)
assert_eq "42 objects deleted" 42 "$gone"
new=$(LC_ALL=C comm -13 "$D/keys.before" "$D/keys.after")
assert_match "only a metadata file is new" "$new" '^market/trades/metadata/[0-9]+-[0-9a-f-]+\.metadata\.json$'
rows >"$D/rows.after"
assert_files_equal "the same rows after expire" "$D/rows.before" "$D/rows.after"
assert_fails_with "the expired snapshot is gone" "no snapshot" F table scan market.trades --snapshot "$first"

section "remove-orphans"
printf 'junk' >"$D/lost.parquet"
awsf s3 cp "$D/lost.parquet" s3://warehouse/market/trades/data/ts_day=2026-03-28/lost.parquet >/dev/null ||
    fail "planting an orphan"
awsf s3 cp "$D/lost.parquet" s3://warehouse/market/trades/data/_temporary/hidden.parquet >/dev/null ||
    fail "planting a hidden file"
out=$(F table remove-orphans market.trades --format csv 2>/dev/null | tail -n +2)
assert_eq "the default (3 days) finds nothing that new" "" "$out"
keys >"$D/keys.before"
out=$(F table remove-orphans market.trades --older-than 2099-01-01T00:00:00Z --dry-run --format csv 2>/dev/null | tail -n +2)
assert_eq "the dry run lists the orphan only" "s3://warehouse/market/trades/data/ts_day=2026-03-28/lost.parquet" "$out"
keys >"$D/keys.dry"
assert_files_equal "a dry run deletes nothing" "$D/keys.before" "$D/keys.dry"
out=$(F table remove-orphans market.trades --older-than 2099-01-01T00:00:00Z --format json 2>/dev/null)
assert_eq "json rows" '{"orphan_file_location":"s3://warehouse/market/trades/data/ts_day=2026-03-28/lost.parquet"}' "$out"
keys >"$D/keys.after"
assert_eq "exactly the orphan deleted" "market/trades/data/ts_day=2026-03-28/lost.parquet" \
    "$(LC_ALL=C comm -23 "$D/keys.before" "$D/keys.after")"
rows >"$D/rows.after"
assert_files_equal "the same rows after remove-orphans" "$D/rows.before" "$D/rows.after"

section "usage and errors"
rc=0
F table compact market.trades --dry-run >/dev/null 2>&1 || rc=$?
assert_eq "compact has no --dry-run: exit 2" 2 "$rc"
rc=0
F table expire market.trades --older-than yesterday >/dev/null 2>&1 || rc=$?
assert_eq "a bad --older-than: exit 2" 2 "$rc"
rc=0
F table expire market.nope >/dev/null 2>&1 || rc=$?
assert_eq "a missing table: exit 1" 1 "$rc"
assert_fails_with "a bad filter names the column" "no column 'nope'" F table compact market.trades --filter "nope = 1"

floe_stop
e2e_finish
