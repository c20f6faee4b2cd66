#!/usr/bin/env bash
# test_iceberg_cli.sh: `floe namespace` and `floe table` on a data directory,
# the way scripts use them: create, append (.jsonl and .csv), scans with
# filters and projections checked against counts computed here, dynamic
# overwrite of a rerun interval (no duplicates), delete, bad input that names
# the line and leaves no snapshot, and appends from 4 processes at once while
# `floe serve` holds the same directory (every append lands).
. "$(dirname "$0")/lib.sh"

D=$E2E_TMP/icecli
mkdir -p "$D"
F() { "$FLOE_BIN" "$@" --data "$D/data"; }

# 600 rows over 3 days: id i, ts day (i % 3) + i seconds, symbol by i % 4
python3 - "$D/rows.jsonl" <<'PY'
import json, sys
syms = ["BTC", "ETH", "SOL", "DOGE"]
with open(sys.argv[1], "w") as f:
    for i in range(600):
        f.write(json.dumps({"id": i, "ts": "2026-03-%02dT%02d:%02d:%02dZ" % (28 + i % 3, i // 3600, i // 60 % 60, i % 60),
                            "symbol": syms[i % 4], "price": i / 4}) + "\n")
PY

section "namespaces"
assert_ok "namespace create" F namespace create market
assert_fails_with "a second create" "already exists" F namespace create market
assert_fails_with "a table in a missing namespace" "namespace create" \
    F table create nope.t --schema "id long"

section "create and append"
assert_ok "table create" F table create market.trades \
    --schema "id long not null, ts timestamptz, symbol string, price double" \
    --partition "day(ts), bucket(4, id)" --property commit.retry.num-retries=100 \
    --property commit.retry.min-wait-ms=5 --property commit.retry.max-wait-ms=200
assert_ok "append jsonl" F table append market.trades "$D/rows.jsonl"
rows=$(F table scan market.trades --format csv | tail -n +2 | wc -l)
assert_eq "scan returns every row" 600 "$rows"
n=$(F table scan market.trades --filter "symbol = 'BTC' and ts >= '2026-03-29'" --format csv | tail -n +2 | wc -l)
assert_eq "filtered scan (i % 4 == 0 and i % 3 != 0)" 100 "$n"
plan=$(F table scan market.trades --filter "ts >= '2026-03-30'" --plan)
assert_contains "the plan prunes two of three days by partition" "$plan" "8 pruned by partition"
hdr=$(F table scan market.trades --columns symbol,id --format csv | head -1)
assert_eq "projection in the order asked" "symbol,id" "$hdr"
json=$(F table scan market.trades --filter "id = 7" --format json)
assert_eq "json rows" '{"id":7,"ts":"2026-03-29T00:00:07Z","symbol":"DOGE","price":1.75}' "$json"

section "dynamic overwrite and delete"
assert_ok "rerun with --dynamic" F table overwrite market.trades "$D/rows.jsonl" --dynamic
rows=$(F table scan market.trades --format csv | tail -n +2 | wc -l)
assert_eq "no duplicates after the rerun" 600 "$rows"
assert_ok "delete a day" F table delete market.trades --filter "ts >= '2026-03-28' and ts < '2026-03-29'"
rows=$(F table scan market.trades --format csv | tail -n +2 | wc -l)
assert_eq "the day is gone" 400 "$rows"
assert_ok "delete a symbol (copy-on-write)" F table delete market.trades --filter "symbol = 'SOL'"
rows=$(F table scan market.trades --format csv | tail -n +2 | wc -l)
assert_eq "rows left: i % 3 != 0 and i % 4 != 2" 300 "$rows"
files=$(F table files market.trades --format json)
assert_contains "files are listed" "$files" "ts_day=2026-03-29"
assert_not_contains "no null partition values" "$files" "=null"

section "bad input"
printf '{"id": 1, "ts": "2026-03-28T00:00:00Z", "symbol": "X", "price": 1}\n{"id": "x"}\n' >"$D/bad.jsonl"
before=$(F table snapshots market.trades --format csv | tail -n +2 | wc -l)
assert_fails_with "a bad value names its line" "line 2" F table append market.trades "$D/bad.jsonl"
after=$(F table snapshots market.trades --format csv | tail -n +2 | wc -l)
assert_eq "no snapshot from a failed append" "$before" "$after"

section "partition sources nested in structs"
F table create market.nested --schema "id long, pt struct<x: int, y: string>" \
    --partition "bucket(4, pt.x), identity(pt.y)" >/dev/null 2>&1
printf '%s\n' '{"id": 1, "pt": {"x": 5, "y": "a"}}' '{"id": 2, "pt": {"x": 6, "y": null}}' \
    '{"id": 3, "pt": null}' '{"id": 4, "pt": {"x": 5, "y": "a"}}' >"$D/nested.jsonl"
assert_ok "append with struct-nested partition sources" F table append market.nested "$D/nested.jsonl"
parts=$(F table files market.nested --format csv | tail -n +2 | cut -d, -f2 | sort | tr '\n' ' ')
# bucket(4) of int 5 is 3 and of 6 is 1 (murmur3 of the long, Appendix B)
assert_eq "one file per partition, nulls only where the struct or field is null" \
    "pt.x_bucket=1/pt.y=null pt.x_bucket=3/pt.y=a pt.x_bucket=null/pt.y=null " "$parts"
plan=$(F table scan market.nested --filter "pt.y = 'a'" --plan)
assert_contains "a filter on a nested source prunes by partition" "$plan" "1 scanned, 2 pruned by partition"
F table create market.listsrc --schema "id long, ls list<struct<x: int>>" >/dev/null 2>&1
assert_fails_with "a source inside a list is refused" "no column 'ls.x'" \
    F table evolve market.listsrc add-partition "identity(ls.x)"

section "appends from 4 processes beside floe serve"
if floe_start "$D/data"; then
    head -5 "$D/rows.jsonl" >"$D/five.jsonl"
    pids=()
    for p in 1 2 3 4; do
        (for i in $(seq 10); do F table append market.trades "$D/five.jsonl" >/dev/null 2>>"$D/err.$p" || echo fail >>"$D/err.$p"; done) &
        pids+=($!)
    done
    wait "${pids[@]}" # not the server
    errs=$(cat "$D"/err.? 2>/dev/null | grep -c fail || true)
    assert_eq "every append succeeded" 0 "$errs"
    after2=$(F table snapshots market.trades --format csv | tail -n +2 | wc -l)
    assert_eq "40 more snapshots" $((after + 40)) "$after2"
    rows=$(F table scan market.trades --format csv | tail -n +2 | wc -l)
    assert_eq "and their rows" 500 "$rows"
    floe_stop
fi
e2e_finish
