#!/usr/bin/env bash
# bench/parquet/run.sh: Floe's Parquet writer and reader side by side with
# DuckDB 1.5 in one run, on 10M rows of a trade-like schema (pqbench.c),
# each engine at threads=1 and threads=2. Each measure is the best of $REPS
# runs (default 3); the runs are interleaved (every measure once, then
# again), so a slow spell on a shared machine hits all of them alike. The
# table goes to stdout and $BUILD/bench-parquet.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
ROWS=${ROWS:-10000000}
REPS=${REPS:-3}
PQ=$BUILD/bench/pqbench
work=$(mktemp -d "${TMPDIR:-/tmp}/floe-bench-pq.XXXXXX")
trap 'rm -rf "$work"' EXIT

# name -> command; every command prints one JSON object with "seconds"
declare -A cmd
cmd[fw1]="$PQ write $work/floe.parquet $ROWS 1"
cmd[fw2]="$PQ write $work/floe2.parquet $ROWS 2"
cmd[dw1]="node bench/parquet/duck.mjs write $work/duck1.parquet $ROWS 1"
cmd[dw2]="node bench/parquet/duck.mjs write $work/duck.parquet $ROWS 2"
cmd[fr1_d]="$PQ read $work/duck.parquet 1"
cmd[fr2_d]="$PQ read $work/duck.parquet 2"
cmd[dr1_d]="node bench/parquet/duck.mjs read $work/duck.parquet 1"
cmd[dr2_d]="node bench/parquet/duck.mjs read $work/duck.parquet 2"
cmd[fr1_f]="$PQ read $work/floe.parquet 1"
cmd[fr2_f]="$PQ read $work/floe.parquet 2"
cmd[dr1_f]="node bench/parquet/duck.mjs read $work/floe.parquet 1"
cmd[dr2_f]="node bench/parquet/duck.mjs read $work/floe.parquet 2"
writes="fw1 fw2 dw1 dw2"
reads="fr1_d fr2_d dr1_d dr2_d fr1_f fr2_f dr1_f dr2_f"

echo "bench/parquet: $ROWS rows, best of $REPS, interleaved" >&2
for rep in $(seq "$REPS"); do
    # writes first: the reads need the files
    for m in $writes $reads; do
        ${cmd[$m]} >"$work/$m.$rep.json"
    done
done

# best run per measure, the aggregates of every reading, the file sizes
python3 - "$work" "$REPS" "$ROWS" "$writes" "$reads" <<'PY' | tee "$BUILD/bench-parquet.md"
import json, os, sys
work, reps, n, writes, reads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(), sys.argv[5].split()
runs = {m: [json.load(open(os.path.join(work, f"{m}.{r}.json"))) for r in range(1, reps + 1)] for m in writes + reads}
best = {m: min(x["seconds"] for x in runs[m]) for m in runs}

# the same rows on both sides: every reading agrees on the aggregates
rows = [x for m in reads for x in runs[m]]
for k in ("rows", "count_note", "max_ts"):
    vals = {str(r[k]) for r in rows}
    assert len(vals) == 1, f"{k} differs: {vals}"
for k in ("sum_price", "sum_qty"):
    v = [float(r[k]) for r in rows]
    assert max(v) - min(v) <= 1e-6 * abs(max(v)), f"{k} differs: {v}"
assert runs["fw1"][0]["bytes"] == runs["fw2"][0]["bytes"], "Floe's file depends on its thread count"
fb, db = runs["fw1"][0]["bytes"], runs["dw2"][0]["bytes"]

r = lambda m: n / best[m] / 1e6
ratio = lambda f, d: best[d] / best[f]  # Floe's rows/s over DuckDB's
def line(what, f, d, fmt, target=""):
    print(f"| {what} | {r(f):{fmt}} M rows/s | {r(d):{fmt}} M rows/s | {ratio(f, d):.2f}x | {target} |")
print(f"| measure ({n:,} rows; Floe and DuckDB at the same thread count) | Floe | DuckDB 1.5 | ratio | target |")
print("|---|---|---|---|---|")
line("write, zstd, threads=1", "fw1", "dw1", ".2f", ">= 1.0x")
line("write, zstd, threads=2", "fw2", "dw2", ".2f", ">= 1.0x")
print(f"| file size | {fb/1e6:.2f} MB | {db/1e6:.2f} MB | {fb/db:.2f}x | <= 1.1x |")
line("full decode, DuckDB's file, threads=2", "fr2_d", "dr2_d", ".1f", ">= 1.0x")
line("full decode, DuckDB's file, threads=1", "fr1_d", "dr1_d", ".1f")
line("full decode, Floe's file, threads=2", "fr2_f", "dr2_f", ".1f")
line("full decode, Floe's file, threads=1", "fr1_f", "dr1_f", ".1f")
PY
