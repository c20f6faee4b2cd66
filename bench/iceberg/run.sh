#!/usr/bin/env bash
# bench/iceberg/run.sh: Iceberg tables on the embedded store (issue 4).
#
#   append   10M trade rows (30 days) into a day(ts)-partitioned table:
#            Floe in process (icebench append: Parquet input read, split by
#            day, written, one snapshot committed) at threads=1 and 2, and
#            `floe table append` as a process for reference; against
#            DuckDB's COPY ... TO dir (FORMAT parquet, PARTITION_BY (ts_day))
#            of the same input at the same thread counts. rows/s.
#   scan     a one-day filter against the full scan (ice_scan: plan and read
#            every batch) on the appended table (1 manifest, 30 files) and
#            on the same rows appended day by day (30 manifests).
#   commits  N small appends (ROWS rows each) in process into a new table,
#            each timed from ice_writer_new to the commit's return, fsync
#            on; percentiles of the run (of REPS) with the lowest p50. Also
#            CLI appends of a small file, as processes, for reference.
#
# Each timed measure is the best of $REPS runs (default 3), the runs
# interleaved (every measure once, then again) so that a slow spell on a
# shared machine hits all of them alike. Work goes under $BUILD (a real
# disk, never tmpfs: fsync must cost what it costs). The table goes to
# stdout and $BUILD/bench-iceberg.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
ROWS=${ROWS:-10000000}
REPS=${REPS:-3}
COMMITS=${COMMITS:-500}
COMMIT_ROWS=${COMMIT_ROWS:-5}
CLI_COMMITS=${CLI_COMMITS:-30}
IB=$BUILD/bench/icebench
FLOE=$BUILD/floe
mkdir -p "$BUILD"
work=$(mktemp -d "$root/$BUILD/bench-ice.XXXXXX")
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }

echo "bench/iceberg: $ROWS rows, best of $REPS, interleaved" >&2
$IB gen "$work/in.parquet" "$ROWS" >"$work/gen.json"

# name -> command; every command prints one JSON object with "seconds"
declare -A cmd
cmd[fa1]="$IB append $work/fa1 $work/in.parquet 1"
cmd[fa2]="$IB append $work/fa2 $work/in.parquet 2"
cmd[da1]="node bench/iceberg/duck.mjs copy $work/in.parquet $work/duck1 1"
cmd[da2]="node bench/iceberg/duck.mjs copy $work/in.parquet $work/duck2 2"
appends="fa1 fa2 da1 da2"

# the CLI append, timed around the process (table creation not included)
cli_append() {
    local d=$work/cli
    rm -rf "$d"
    $FLOE namespace create market --data "$d" >/dev/null 2>&1
    $FLOE table create market.trades --data "$d" \
        --schema "id long, ts timestamptz, symbol string, price double, qty double" --partition "day(ts)" 2>/dev/null
    local t0 t1
    t0=$(now)
    $FLOE table append market.trades "$work/in.parquet" --data "$d" 2>/dev/null
    t1=$(now)
    python3 -c "import json; print(json.dumps({'seconds': $t1 - $t0}))"
}

day="ts >= '2026-01-15T00:00:00Z' and ts < '2026-01-16T00:00:00Z'"
scans="s_full s_day sd_full sd_day"
for rep in $(seq "$REPS"); do
    for m in $appends; do
        rm -rf "$work/${m}" "$work/duck1" "$work/duck2"
        ${cmd[$m]} >"$work/$m.$rep.json"
    done
    cli_append >"$work/cli.$rep.json"
    # scans on the table fa1 left (one snapshot) and on a day-by-day one
    [ -d "$work/daily" ] || $IB daily "$work/daily" "$work/in.parquet" >/dev/null
    $IB scan "$work/fa1" >"$work/s_full.$rep.json"
    $IB scan "$work/fa1" "$day" >"$work/s_day.$rep.json"
    $IB scan "$work/daily" >"$work/sd_full.$rep.json"
    $IB scan "$work/daily" "$day" >"$work/sd_day.$rep.json"
    # commit latency: a new table, COMMITS appends in process
    rm -rf "$work/commits"
    $IB commits "$work/commits" "$COMMITS" "$COMMIT_ROWS" >"$work/commits.$rep.json"
done

# CLI appends of 5 rows, for reference
d=$work/cli_small
$FLOE namespace create market --data "$d" >/dev/null 2>&1
$FLOE table create market.trades --data "$d" \
    --schema "id long, ts timestamptz, symbol string, price double, qty double" --partition "day(ts)" 2>/dev/null
for i in $(seq "$CLI_COMMITS"); do
    f=$work/small.jsonl
    : >"$f"
    for k in 1 2 3 4 5; do
        echo "{\"id\": $((i * 10 + k)), \"ts\": \"2026-01-0$((k))T10:00:0${k}Z\", \"symbol\": \"BTCUSDT\", \"price\": 97000.5, \"qty\": 0.25}" >>"$f"
    done
    t0=$(now)
    $FLOE table append market.trades "$f" --data "$d" 2>/dev/null
    t1=$(now)
    echo "$t0 $t1"
done >"$work/cli_small.txt"

python3 - "$work" "$REPS" "$ROWS" "$appends" "$scans" <<'PY' | tee "$BUILD/bench-iceberg.md"
import json, os, sys
work, reps, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
appends, scans = sys.argv[4].split(), sys.argv[5].split()
load = lambda f: json.load(open(os.path.join(work, f)))
runs = {m: [load(f"{m}.{r}.json") for r in range(1, reps + 1)] for m in appends + scans + ["cli"]}
best = {m: min(x["seconds"] for x in runs[m]) for m in runs}
for m in appends:
    for x in runs[m]:
        assert int(x["rows"]) == n, f"{m} wrote {x['rows']} rows, not {n}"
full, day = runs["s_full"][0], runs["s_day"][0]
assert full["rows"] == n and runs["sd_full"][0]["rows"] == n, "a full scan lost rows"
assert day["rows"] == runs["sd_day"][0]["rows"] and 0 < day["rows"] < n, "the one-day scans disagree"
assert abs(full["sum_qty"] - runs["sd_full"][0]["sum_qty"]) < 1e-6 * full["sum_qty"]

mr = lambda m: n / best[m] / 1e6
print(f"| measure ({n:,} rows, 30 days) | Floe | peer | ratio | target |")
print("|---|---|---|---|---|")
for t in (1, 2):
    f, d = f"fa{t}", f"da{t}"
    print(f"| append into day(ts), threads={t}: Floe ice_writer + commit vs DuckDB COPY PARTITION_BY | "
          f"{mr(f):.2f} M rows/s ({runs[f][0]['files']} files) | {mr(d):.2f} M rows/s ({runs[d][0]['files']} files) | "
          f"{best[d] / best[f]:.2f}x | >= 1.0x |")
print(f"| (reference) `floe table append` as a process, threads=1 | {mr('cli'):.2f} M rows/s | "
      f"DuckDB threads=1 {mr('da1'):.2f} M rows/s | {best['da1'] / best['cli']:.2f}x | - |")
def scan_line(what, fm, dm):
    f, d = runs[fm][0], runs[dm][0]
    print(f"| {what}: one day vs full scan, plan + read | {best[dm] * 1e3:.1f} ms "
          f"(plan {min(x['plan_seconds'] for x in runs[dm]) * 1e3:.1f} ms; manifests {d['manifests'] - d['manifests_skipped']}"
          f" of {d['manifests']} read, files {d['files_read']} of {d['files']}, row groups {d['row_groups'] - d['row_groups_skipped']}"
          f" read, {d['rows_read']:,} rows) | full {best[fm] * 1e3:.1f} ms ({f['files_read']} files, {f['rows_read']:,} rows) | "
          f"{best[fm] / best[dm]:.1f}x | >= 20x |")
scan_line("scan, table of one append (1 manifest, 30 files)", "s_full", "s_day")
scan_line("scan, table of 30 daily appends (30 manifests)", "sd_full", "sd_day")
# the run with the lowest p50 (each run is a new table of COMMITS appends)
cs = sorted((load(f"commits.{r}.json") for r in range(1, reps + 1)), key=lambda c: c["p50_ms"])
c = cs[0]
others = ", ".join(f"{x['p50_ms']:.2f}" for x in cs[1:])
print(f"| small append commit latency, in process, {c['commits']} appends of {c['rows_each']} rows, fsync on "
      f"(best of {reps} runs by p50{'; the others ' + others if others else ''}) | "
      f"p50 {c['p50_ms']:.2f} ms, p95 {c['p95_ms']:.2f}, p99 {c['p99_ms']:.2f}, max {c['max_ms']:.2f} "
      f"(CPU {c['cpu_ms_mean']:.2f} ms per commit) | - | - | p50 < 5 ms |")
cl = sorted(float(b) - float(a) for a, b in (l.split() for l in open(os.path.join(work, "cli_small.txt"))))
pct = lambda p: cl[round((len(cl) - 1) * p)] * 1e3
print(f"| (reference) `floe table append` of 5 rows as a process, {len(cl)} appends | p50 {pct(0.5):.1f} ms, "
      f"p99 {pct(0.99):.1f}, max {cl[-1] * 1e3:.1f} | - | - | - |")
PY
