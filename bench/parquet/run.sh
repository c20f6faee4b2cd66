#!/usr/bin/env bash
# bench/parquet/run.sh: Floe's Parquet writer and reader side by side with
# DuckDB 1.5 in one run, on 10M rows of a trade-like schema (pqbench.c).
# Each measure is the best of $REPS runs (default 3). The table goes to
# stdout and $BUILD/bench-parquet.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
ROWS=${ROWS:-10000000}
REPS=${REPS:-3}
PQ=$BUILD/bench/pqbench
work=$(mktemp -d "${TMPDIR:-/tmp}/floe-bench-pq.XXXXXX")
trap 'rm -rf "$work"' EXIT

best() { # best seconds over REPS runs of a command printing JSON
    local b="" out s
    for _ in $(seq "$REPS"); do
        out=$("$@")
        s=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["seconds"])' "$out")
        if [ -z "$b" ] || python3 -c "import sys;sys.exit(0 if $s < $b else 1)"; then b=$s; echo "$out" >"$work/last.json"; fi
    done
    echo "$b"
}
field() { python3 -c 'import json,sys;print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
last() { cat "$work/last.json"; }

echo "bench/parquet: $ROWS rows, best of $REPS" >&2
fw=$(best "$PQ" write "$work/floe.parquet" "$ROWS"); fbytes=$(field "$(last)" bytes)
d1=$(best node bench/parquet/duck.mjs write "$work/duck1.parquet" "$ROWS" 1)
d2=$(best node bench/parquet/duck.mjs write "$work/duck.parquet" "$ROWS" 2); dbytes=$(field "$(last)" bytes)
fr_f=$(best "$PQ" read "$work/floe.parquet"); agg_f=$(last)
fr_d=$(best "$PQ" read "$work/duck.parquet"); agg_fd=$(last)
dr_d=$(best node bench/parquet/duck.mjs read "$work/duck.parquet" 2); agg_d=$(last)
dr_f=$(best node bench/parquet/duck.mjs read "$work/floe.parquet" 2); agg_df=$(last)
dr1_d=$(best node bench/parquet/duck.mjs read "$work/duck.parquet" 1)

# the same rows on both sides: aggregates must agree
python3 - "$agg_f" "$agg_fd" "$agg_d" "$agg_df" <<'PY'
import json, sys
rows = [json.loads(a) for a in sys.argv[1:]]
for k in ("rows", "count_note", "max_ts"):
    vals = {str(r[k]) for r in rows}
    assert len(vals) == 1, f"{k} differs: {vals}"
for k in ("sum_price", "sum_qty"):
    v = [float(r[k]) for r in rows]
    assert max(v) - min(v) <= 1e-6 * abs(max(v)), f"{k} differs: {v}"
PY

python3 - "$ROWS" "$fw" "$d1" "$d2" "$fbytes" "$dbytes" "$fr_f" "$fr_d" "$dr_d" "$dr_f" "$dr1_d" <<'PY' | tee "$BUILD/bench-parquet.md"
import sys
n, fw, d1, d2, fb, db, frf, frd, drd, drf, dr1 = sys.argv[1:]
n = int(n); fw, d1, d2, frf, frd, drd, drf, dr1 = map(float, (fw, d1, d2, frf, frd, drd, drf, dr1)); fb, db = int(fb), int(db)
r = lambda s: n / s / 1e6
print(f"| measure ({n:,} rows) | Floe | DuckDB 1.5 | ratio | target |")
print("|---|---|---|---|---|")
print(f"| write, zstd, vs DuckDB threads=1 | {r(fw):.2f} M rows/s | {r(d1):.2f} M rows/s | {d1/fw:.2f}x | >= 1.0x |")
print(f"| write, zstd, vs DuckDB threads=2 | {r(fw):.2f} M rows/s | {r(d2):.2f} M rows/s | {d2/fw:.2f}x | >= 1.0x |")
print(f"| file size | {fb/1e6:.2f} MB | {db/1e6:.2f} MB | {fb/db:.2f}x | <= 1.1x |")
print(f"| full decode, DuckDB's file (Floe 1 thread, DuckDB threads=2) | {r(frd):.1f} M rows/s | {r(drd):.1f} M rows/s | {drd/frd:.2f}x | >= 1.0x |")
print(f"| full decode, DuckDB's file (DuckDB threads=1) | {r(frd):.1f} M rows/s | {r(dr1):.1f} M rows/s | {dr1/frd:.2f}x | |")
print(f"| full decode, Floe's file | {r(frf):.1f} M rows/s | {r(drf):.1f} M rows/s | {drf/frf:.2f}x | |")
PY
