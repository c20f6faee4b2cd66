#!/usr/bin/env bash
# test_iceberg_evolve.sh: `floe table evolve` end to end on a data directory:
# each schema change and partition change, with appends between them, and
# scans (--format json) that read the old files through the new schema:
# added columns null, renamed ones with their data, widened ones promoted,
# dropped ones gone, nested fields matched by id; filters on renamed and
# widened columns; the partition tuples of files in two specs; refusals with
# their exit codes; `table describe --format json` listing every schema and
# spec.
. "$(dirname "$0")/lib.sh"

D=$E2E_TMP/iceevolve
mkdir -p "$D"
F() { "$FLOE_BIN" "$@" --data "$D/data"; }
# rows as JSON lines: id, ts on day 28 + id % 2, px, amt, sym, pt
rows() {
    python3 - "$@" <<'PY'
import json, sys
lo, hi, extra = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else ""
for i in range(lo, hi):
    r = {"id": i, "ts": "2026-03-%02dT10:00:%02dZ" % (28 + i % 2, i % 60), "px": i / 4,
         "amt": "%d.%02d" % (i, i % 100), "sym": ["BTC", "ETH", "SOL"][i % 3], "pt": {"x": i, "y": -i}}
    if extra == "new":  # the schema after evolution
        r["price"] = r.pop("px"); r["symbol"] = r.pop("sym"); r["note"] = "n%d" % i
        r["pt"] = {"x": i, "z": i * 10}
    print(json.dumps(r))
PY
}
# jq-free JSON field reader: prints field $1 of each JSON line on stdin
field() { python3 -c 'import json,sys
for l in sys.stdin:
    v = json.loads(l)
    for k in sys.argv[1].split("."): v = v[k]
    print(json.dumps(v))' "$1"; }

assert_ok "namespace" F namespace create m
assert_ok "create" F table create m.t \
    --schema "id int not null, ts timestamptz, px float, amt decimal(9,2), sym string, pt struct<x: int, y: int>" \
    --partition "day(ts)"
rows 0 6 >"$D/a.jsonl"
assert_ok "append before evolution" F table append m.t "$D/a.jsonl"

section "schema changes"
assert_ok "add-column" F table evolve m.t add-column note string
assert_contains "it says what changed and the ids" "$OUT" "added column note string (field id 9); schema 1 (new current), spec 0"
assert_ok "add a nested field" F table evolve m.t add-column pt.z long
assert_contains "nested id" "$OUT" "field id 10"
assert_ok "rename-column" F table evolve m.t rename-column sym symbol
assert_ok "rename another" F table evolve m.t rename-column px price
assert_ok "widen int to long" F table evolve m.t widen id long
assert_ok "widen float to double" F table evolve m.t widen price double
assert_ok "widen decimal(9,2) to decimal(12,2)" F table evolve m.t widen amt "decimal(12,2)"
assert_ok "drop a nested field" F table evolve m.t drop-column pt.y
assert_ok "make-optional" F table evolve m.t make-optional id
assert_ok "move-column first" F table evolve m.t move-column note first
assert_ok "move-column after" F table evolve m.t move-column symbol after note
assert_ok "move-column before" F table evolve m.t move-column pt.z before pt.x
assert_contains "schema 12" "$OUT" "schema 12 (new current)"

section "old files read through the new schema"
got=$(F table scan m.t --filter "id = 4" --format json)
assert_eq "row 4 from the old file" \
    '{"note":null,"symbol":"ETH","id":4,"ts":"2026-03-28T10:00:04Z","price":1,"amt":"4.04","pt":{"z":null,"x":4}}' \
    "$got"
rows 6 9 new >"$D/b.jsonl"
assert_ok "append with the new schema" F table append m.t "$D/b.jsonl"
got=$(F table scan m.t --filter "id >= 7" --columns id,note,pt,price --format json | sort)
assert_eq "new rows" \
    "$(printf '%s\n%s' '{"id":7,"note":"n7","pt":{"z":70,"x":7},"price":1.75}' '{"id":8,"note":"n8","pt":{"z":80,"x":8},"price":2}')" \
    "$got"
n=$(F table scan m.t --filter "symbol = 'SOL'" --format json | wc -l)
assert_eq "filter on a renamed column reads old and new files (ids 2, 5, 8)" 3 "$n"
ids=$(F table scan m.t --filter "price >= 1.0 and price < 1.5" --columns id --format csv | tail -n +2 | sort -n | tr '\n' ' ')
assert_eq "filter on the widened float" "4 5 " "$ids"
ids=$(F table scan m.t --filter "amt > 3.5" --columns id --format csv | tail -n +2 | sort -n | tr '\n' ' ')
assert_eq "filter on the widened decimal" "4 5 6 7 8 " "$ids"
plan=$(F table scan m.t --filter "id > 100" --plan 2>&1)
assert_contains "int bounds of old files prune a long filter" "$plan" "pruned by metrics"
n=$(F table scan m.t --filter "note is null" --format json | wc -l)
assert_eq "the added column is null in the 6 old rows" 6 "$n"

section "refusals"
assert_fails_with "a required column" "add it as optional" F table evolve m.t add-column q "int not null"
assert_fails_with "a narrowing" "allows only int to long" F table evolve m.t widen id int
assert_fails_with "string to long" "cannot widen 'symbol' from string to long" F table evolve m.t widen symbol long
assert_fails_with "a name clash" "already exists" F table evolve m.t rename-column note symbol
assert_fails_with "dropping a partition source" "drop-partition ts_day" F table evolve m.t drop-column ts
assert_fails_with "a move across structs" "different structs" F table evolve m.t move-column pt.x after id
assert_fails_with "an unknown column" "no column 'nope'" F table evolve m.t drop-column nope
F table evolve m.t widen id int >/dev/null 2>&1
assert_eq "a refused change exits 1" 1 $?
F table evolve m.t frobnicate x >/dev/null 2>&1
assert_eq "an unknown change exits 2" 2 $?
F table evolve m.t move-column id sideways >/dev/null 2>&1
assert_eq "a malformed move exits 2" 2 $?

section "partition evolution"
assert_ok "add-partition" F table evolve m.t add-partition "bucket(4, id)"
assert_contains "new spec, field id 1001" "$OUT" "partition field id 1001); schema 12, spec 1 (new default)"
assert_fails_with "a second time transform" "drop-partition ts_day first" F table evolve m.t add-partition "hour(ts)"
rows 20 28 new >"$D/c.jsonl"
assert_ok "append in spec 1" F table append m.t "$D/c.jsonl"
files=$(F table files m.t --format json)
specs=$(printf '%s\n' "$files" | field spec_id | sort | uniq -c | tr -s ' ' | tr '\n' ';')
assert_eq "files in both specs (spec 1: 2 days x 4 buckets, one pair empty)" " 4 0; 7 1;" "$specs"
assert_not_contains "no null partition values" "$files" "=null"
assert_contains "spec 1 paths have the bucket" "$files" "/id_bucket="
ids=$(F table scan m.t --filter "ts >= '2026-03-29'" --columns id --format csv | tail -n +2 | sort -n | tr '\n' ' ')
assert_eq "day filter over both specs" "1 3 5 7 21 23 25 27 " "$ids"
plan=$(F table scan m.t --filter "ts >= '2026-03-29'" --plan 2>&1)
assert_contains "pruned by partition in both specs" "$plan" "6 pruned by partition"
got=$(F table scan m.t --filter "id = 22" --columns id,symbol --format json)
assert_eq "bucket filter" '{"id":22,"symbol":"ETH"}' "$got"
assert_ok "drop-partition" F table evolve m.t drop-partition ts_day
assert_contains "spec 2" "$OUT" "spec 2 (new default)"
assert_ok "drop the old partition source now" F table evolve m.t drop-column ts
n=$(F table scan m.t --format json | wc -l)
assert_eq "every row still reads" 17 "$n"
assert_ok "drop-partition id_bucket" F table evolve m.t drop-partition id_bucket
assert_ok "add-partition again" F table evolve m.t add-partition "bucket(4, id)"
assert_contains "an equal spec is reused" "$OUT" "spec 2 (new default)"
assert_fails_with "an unknown partition field" "its fields: id_bucket" F table evolve m.t drop-partition ts_day

section "describe shows every schema and spec"
desc=$(F table describe m.t --format json)
n=$(printf '%s' "$desc" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(len(m["schemas"]), m["current-schema-id"], len(m["partition-specs"]), m["default-spec-id"], m["last-column-id"], m["last-partition-id"])')
assert_eq "schemas, current, specs, default, last ids" "14 13 4 2 10 1001" "$n"
cur=$(F table describe m.t)
assert_contains "the current schema" "$cur" "schema     note string, symbol string, id long, price double, amt decimal(12,2), pt struct<z: long, x: int>"

e2e_finish
