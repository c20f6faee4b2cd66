#!/usr/bin/env bash
# bench/pipeline/run.sh: the pipeline benchmark (issue 6), in one run.
#
# BENCH_REPS times (default 3), interleaved (every measure once, then
# again), each on a fresh directory under $BUILD (the repository's disk,
# never tmpfs), with fsync on (the default) and off, bench/pipeline's
# pipebench measures in-process:
#
#   - trigger -> first task start: BENCH_SAMPLES runs (default 2000) of a
#     pipeline of one no-op task, one at a time, through pipe_trigger and
#     through the console API (POST /api/v1/pipelines/NAME/runs);
#   - no-op tasks per second, 16 executors: one run of BENCH_TASKS (2000)
#     independent tasks; BENCH_CHAIN_RUNS (200) runs of a 10-task chain,
#     queued while paused and then unpaused, and triggered one by one while
#     the first ones run;
#   - the cost of a try's log directory and file on this disk (fsfloor),
#     and the latency and rates again with the attempt logs on tmpfs
#     (/dev/shm; pipelines.db still on the disk, fsync on);
#   - pipe_next_interval over BENCH_PIPELINES (10000) schedules;
#
# then once: the scheduler's start-up with BENCH_PIPELINES spec files (its
# own BENCH_REPS repetitions), and the peak RSS of scripts/demo.sh's
# processes (`floe serve`, `floe sample-api`, `floe worker`), sampled from
# /proc while the demo runs (skipped, saying why, when this floe has no
# `worker` command). BENCH_ONLY=sched runs only the in-process measures,
# BENCH_ONLY=demo only the demo's. The table goes to stdout
# and $BUILD/bench-pipeline.md, every raw figure to
# $BUILD/bench-pipeline.json; BENCH_KEEP=1 keeps the work directory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
REPS=${BENCH_REPS:-3}
SAMPLES=${BENCH_SAMPLES:-2000}
TASKS=${BENCH_TASKS:-2000}
CHAIN_RUNS=${BENCH_CHAIN_RUNS:-200}
CHAIN_LEN=10
NPIPES=${BENCH_PIPELINES:-10000}
ONLY=${BENCH_ONLY:-} # sched: the in-process measures only; demo: the demo's RSS only
case "$ONLY" in "" | sched | demo) ;; *) echo "bench: BENCH_ONLY is sched or demo, not '$ONLY'" >&2; exit 2 ;; esac
FLOE="$BUILD/floe"
PB="$BUILD/bench/pipebench"

say() { printf '%s\n' "bench: $*" >&2; }
fail() { say "$*"; exit 1; }
[ -x "$FLOE" ] || fail "$FLOE not found: build it first (make BUILD=$BUILD)"
[ -x "$PB" ] || fail "$PB not found: make BUILD=$BUILD $PB"

mkdir -p "$BUILD"
WORK=$(mktemp -d "$BUILD/bench-pipeline.XXXXXX")
[ "$(stat -f -c %T "$WORK")" != tmpfs ] || fail "$WORK is on tmpfs; set BUILD to a directory on a disk"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
TREE=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')
DEMO_PID=""
# the attempt logs on tmpfs, for rows that take the disk's inode
# allocation out (pipelines.db stays on the disk)
SHM=""
[ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && SHM=$(mktemp -d /dev/shm/pipebench.XXXXXX)

cleanup() {
    [ -z "$SHM" ] || rm -rf "$SHM"
    if [ -n "$DEMO_PID" ] && kill -0 "$DEMO_PID" 2>/dev/null; then
        kill "$DEMO_PID" 2>/dev/null || true # its trap stops what it started
        wait "$DEMO_PID" 2>/dev/null || true
    fi
    if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run NAME pipebench-args...: one measure into $WORK/NAME.json, on a new
# directory $WORK/d/NAME (nothing is deleted until the end: on this disk,
# ext4 without a journal, every recently deleted inode slows the next
# inode allocation down)
run() {
    local name=$1
    shift
    "$PB" "$@" >"$WORK/$name.json" || fail "pipebench $* failed"
    say "$name: $(cat "$WORK/$name.json")"
}

say "floe $TREE; $REPS interleaved runs; load average $LOAD_BEFORE; work dir $WORK"
mkdir -p "$WORK/d"
if [ "$ONLY" != demo ]; then
    for rep in $(seq "$REPS"); do
        run "fsfloor.$rep" fsfloor "$WORK/d/fsfloor.$rep" "$TASKS"
        for fs in on off; do
            flag=()
            [ "$fs" = off ] && flag=(--no-fsync)
            run "lat.inproc.$fs.$rep" latency "$WORK/d/lat.inproc.$fs.$rep" "$SAMPLES" "${flag[@]}"
            run "lat.http.$fs.$rep" latency "$WORK/d/lat.http.$fs.$rep" "$SAMPLES" --http "${flag[@]}"
            run "tp.wide.$fs.$rep" throughput "$WORK/d/tp.wide.$fs.$rep" "$TASKS" 1 "${flag[@]}"
            run "tp.chain.$fs.$rep" throughput "$WORK/d/tp.chain.$fs.$rep" "$CHAIN_LEN" "$CHAIN_RUNS" --chain "${flag[@]}"
            run "tp.live.$fs.$rep" throughput "$WORK/d/tp.live.$fs.$rep" "$CHAIN_LEN" "$CHAIN_RUNS" --chain --live \
                "${flag[@]}"
        done
        if [ -n "$SHM" ]; then
            run "lat.shm.on.$rep" latency "$WORK/d/lat.shm.$rep" "$SAMPLES" --log-dir "$SHM/lat.$rep"
            run "tp.wideshm.on.$rep" throughput "$WORK/d/tp.wideshm.$rep" "$TASKS" 1 --log-dir "$SHM/wide.$rep"
            run "tp.chainshm.on.$rep" throughput "$WORK/d/tp.chainshm.$rep" "$CHAIN_LEN" "$CHAIN_RUNS" --chain \
                --log-dir "$SHM/chain.$rep"
        fi
        run "sched.$rep" schedules "$NPIPES" 20
    done
    run startup startup "$WORK/d/startup" "$NPIPES" "$REPS"
fi

# ---------------------------------------------------------------- the demo's peak RSS
demo_skip() {
    say "demo RSS: skipped: $1"
    printf '{"skipped": "%s"}\n' "$1" >"$WORK/demo.json"
}
free_base() { # a port N with N..N+5 free on 127.0.0.1
    python3 -c '
import random, socket
for _ in range(200):
    base = random.randrange(20000, 60000)
    try:
        socks = []
        for p in range(base, base + 6):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
        print(base); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()'
}
demo_rss() {
    if [ "$ONLY" = sched ]; then
        demo_skip "BENCH_ONLY=sched"
        return
    fi
    [ -x "$ROOT/scripts/demo.sh" ] || { demo_skip "scripts/demo.sh is missing"; return; }
    if ! "$FLOE" worker --help >/dev/null 2>&1; then
        demo_skip "this floe has no 'worker' command (the crawler is not merged yet), and the demo needs one"
        return
    fi
    local base rel
    base=$(free_base)
    rel=$(realpath --relative-to="$ROOT" "$BUILD") # demo.sh runs $ROOT/$BUILD/floe
    say "demo RSS: scripts/demo.sh with ports $base.., data in $WORK/demo"
    BUILD="$rel" DEMO_DIR="$WORK/demo" DEMO_PORT_BASE="$base" "$ROOT/scripts/demo.sh" >"$WORK/demo.log" 2>&1 &
    DEMO_PID=$!
    # every 50 ms, each floe process under the demo: VmHWM (peak RSS, which
    # only grows) and VmRSS; the stack is serve, sample-api and worker
    python3 - "$DEMO_PID" >"$WORK/demo.json" <<'PY'
import json, os, sys, time
root = int(sys.argv[1])
procs = {}  # pid -> {"cmd", "hwm_kb"}
peak_sum_rss, peak_sum_pss, samples = 0, 0, 0
t0 = time.time()
def pss(pid):
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
def status(pid):
    out = {}
    try:
        for line in open(f"/proc/{pid}/status"):
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0])
    except OSError:
        pass
    return out
while os.path.exists(f"/proc/{root}"):
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = open(f"/proc/{d}/stat").read()
            kids.setdefault(int(st[st.rindex(")") + 2:].split()[1]), []).append(int(d))
        except (OSError, ValueError):
            pass
    todo, tree = [root], []
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            tree.append(c)
            todo.append(c)
    sum_rss = sum_pss = 0
    for pid in tree:
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if not argv or os.path.basename(argv[0]) != b"floe" or len(argv) < 2:
            continue
        s = status(pid)
        if "VmHWM" not in s:
            continue
        e = procs.setdefault(pid, {"cmd": argv[1].decode(), "hwm_kb": 0, "anon_kb": 0, "file_kb": 0})
        e["hwm_kb"] = max(e["hwm_kb"], s["VmHWM"])
        e["anon_kb"] = max(e["anon_kb"], s.get("RssAnon", 0))
        e["file_kb"] = max(e["file_kb"], s.get("RssFile", 0))
        if e["cmd"] in ("serve", "sample-api", "worker"):
            sum_rss += s["VmRSS"]
            sum_pss += pss(pid)
    peak_sum_rss = max(peak_sum_rss, sum_rss)
    peak_sum_pss = max(peak_sum_pss, sum_pss)
    samples += 1
    time.sleep(0.05)
stack = {p: e for p, e in procs.items() if e["cmd"] in ("serve", "sample-api", "worker")}
cli = [e["hwm_kb"] for e in procs.values() if e["cmd"] not in ("serve", "sample-api", "worker")]
print(json.dumps({
    "seconds": round(time.time() - t0, 1), "samples": samples,
    "stack": sorted(({"cmd": e["cmd"], "pid": p, "hwm_kb": e["hwm_kb"], "max_anon_kb": e["anon_kb"],
                      "max_file_kb": e["file_kb"]} for p, e in stack.items()),
                    key=lambda x: x["cmd"]),
    "sum_hwm_kb": sum(e["hwm_kb"] for e in stack.values()),
    "peak_sum_rss_kb": peak_sum_rss, "peak_sum_pss_kb": peak_sum_pss,
    "cli_processes": len(cli), "cli_max_hwm_kb": max(cli) if cli else 0,
}))
PY
    local rc=0
    wait "$DEMO_PID" || rc=$?
    DEMO_PID=""
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["demo_exit"]=int(sys.argv[2]); json.dump(d,open(sys.argv[1],"w"))' \
        "$WORK/demo.json" "$rc"
    [ "$rc" = 0 ] || say "demo RSS: scripts/demo.sh exited $rc; its output: $(tail -5 "$WORK/demo.log")"
    say "demo RSS: $(cat "$WORK/demo.json")"
}
demo_rss

# ---------------------------------------------------------------- table
python3 - "$WORK" "$REPS" "$SAMPLES" "$TASKS" "$CHAIN_RUNS" "$CHAIN_LEN" "$NPIPES" "$TREE" "$LOAD_BEFORE" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$BUILD/bench-pipeline.json" <<'PY' | tee "$BUILD/bench-pipeline.md"
import json, os, statistics, sys
work, reps, samples, tasks, chain_runs, chain_len, npipes, tree, load_before, load_after, json_out = sys.argv[1:]
reps, npipes = int(reps), int(npipes)
def load(name):
    return json.load(open(os.path.join(work, name + ".json")))
def runs(prefix):
    return [load(f"{prefix}.{r}") for r in range(1, reps + 1)]
med = statistics.median
def rng(v, fmt, unit=""):
    return fmt.format(med(v)) + unit + (f" ({fmt.format(min(v))}-{fmt.format(max(v))})" if len(v) > 1 else "")

raw = {}
def lat_cell(via, fs):
    rs = runs(f"lat.{via}.{fs}")
    raw[f"latency_{via}_fsync_{fs}"] = rs
    p50 = [r["start_ms"]["p50"] for r in rs]
    return (f"p50 {rng(p50, '{:.2f}', ' ms')}, p90 {med([r['start_ms']['p90'] for r in rs]):.2f}, "
            f"p99 {med([r['start_ms']['p99'] for r in rs]):.2f}"), med(p50)
def ret_cell(via, fs):
    rs = runs(f"lat.{via}.{fs}")
    return f"p50 {med([r['return_ms']['p50'] for r in rs]):.2f} ms, p99 {med([r['return_ms']['p99'] for r in rs]):.2f}"
def tp_cell(kind, fs):
    rs = runs(f"tp.{kind}.{fs}")
    raw[f"throughput_{kind}_fsync_{fs}"] = rs
    v = [r["per_sec"] for r in rs]
    return rng(v, '{:,.0f}', '/s'), med(v)

print(f"bench/pipeline: floe {tree}; {reps} interleaved runs, median (range); "
      f"load average {load_before} before, {load_after} after")
print()
print("| measure | fsync on (default) | fsync off | target | anchor | ratio to the anchor (fsync on) | met |")
print("|---|---|---|---|---|---|---|")
if os.path.exists(os.path.join(work, "lat.inproc.on.1.json")):  # not with BENCH_ONLY=demo
    for via, what in (("inproc", "pipe_trigger"), ("http", "POST /api/v1/pipelines/NAME/runs, bearer token, keep-alive")):
        on, p50 = lat_cell(via, "on")
        off, _ = lat_cell(via, "off")
        print(f"| trigger -> first task start, {what} ({samples} runs of 1 no-op task, one at a time) | {on} | {off} "
              f"| p50 < 10 ms | Airflow: 1.5-4.3 s per task | {1500 / p50:,.0f}x-{4300 / p50:,.0f}x faster "
              f"| {'yes' if p50 < 10 else 'no'} |")
    if os.path.exists(os.path.join(work, "lat.shm.on.1.json")):
        on, _ = lat_cell("shm", "on")
        print(f"| (context) the same through pipe_trigger, attempt logs on tmpfs | {on} | - | - | - | - | |")
    print(f"| (context) the trigger's own return, pipe_trigger / the 201 | {ret_cell('inproc', 'on')} / "
          f"{ret_cell('http', 'on')} | {ret_cell('inproc', 'off')} / {ret_cell('http', 'off')} | - | - | - | |")
    for kind, what in (("wide", f"1 run of {tasks} independent no-op tasks"),
                       ("chain", f"{chain_runs} runs of a {chain_len}-task chain, queued, then unpaused"),
                       ("live", f"{chain_runs} runs of a {chain_len}-task chain, triggered one by one as they run")):
        on, v = tp_cell(kind, "on")
        off, _ = tp_cell(kind, "off")
        target = ">= 1,000/s" if kind != "live" else "-"
        met = ("yes" if v >= 1000 else "no") if kind != "live" else ""
        print(f"| no-op tasks per second, 16 executors, {what} | {on} | {off} | {target} | - | - | {met} |")
    for kind, what in (("wideshm", f"1 run of {tasks} independent tasks"),
                       ("chainshm", f"{chain_runs} runs of a {chain_len}-task chain, queued")):
        if os.path.exists(os.path.join(work, f"tp.{kind}.on.1.json")):
            on, _ = tp_cell(kind, "on")
            print(f"| (context) {what}, attempt logs on tmpfs | {on} | - | - | - | - | |")
    ff = runs("fsfloor")
    raw["fsfloor"] = ff
    print(f"| (context) this disk: a try's log directory and file (mkdir + create), per task | "
          f"{rng([r['us_per_task'] for r in ff], '{:.0f}', ' us')} | - | - | - | - | |")
    sc = runs("sched")
    raw["schedules"] = sc
    mix = sc[0]["mix"]
    first = [r["first_median_ms"] for r in sc]
    print(f"| evaluating {npipes:,} schedules: pipe_next_interval, first look (no run yet) "
          f"({mix['cron']} cron, {mix['preset']} presets, {mix['interval']} intervals) | {rng(first, '{:.2f}', ' ms')} | - "
          f"| < 100 ms | - | - | {'yes' if med(first) < 100 else 'no'} |")
    print(f"| the same, steady state (the latest interval already run) | "
          f"{rng([r['steady_median_ms'] for r in sc], '{:.2f}', ' ms')} | - | - | - | - | |")
    print(f"| (context) parsing the {npipes:,} schedules | {rng([r['parse_ms'] for r in sc], '{:.2f}', ' ms')} | - | - | - | - | |")
    st = load("startup")
    raw["startup"] = st
    print(f"| scheduler start-up, {npipes:,} spec files, new pipelines.db (load + first evaluation) "
          f"| {st['cold_median_ms']:.0f} ms (best {st['cold_best_ms']:.0f}) | - | - | - | - | |")
    print(f"| scheduler restart, the same files and pipelines.db | {st['warm_median_ms']:.0f} ms "
          f"(best {st['warm_best_ms']:.0f}) | - | - | - | - | |")
    print(f"| reload with nothing changed (pipe_reload: read and hash every file) | {st['reload_median_ms']:.0f} ms "
          f"(best {st['reload_best_ms']:.0f}) | - | - | - | - | |")
    print(f"| (context) reading and parsing the {npipes:,} spec files alone | {st['read_parse_ms']:.0f} ms | - | - | - | - | |")
dm = load("demo")
raw["demo"] = dm
if "skipped" in dm:
    print(f"| peak RSS of the demo stack (serve + sample-api + worker) | not measured: {dm['skipped']} | - "
          f"| < 60 MB | the seed's stack: a 16 GB VM; Airflow's compose file asks for 4 GB | - | |")
else:
    mb = dm["sum_hwm_kb"] / 1024
    parts = ", ".join(f"{e['cmd']} {e['hwm_kb'] / 1024:.1f}" for e in dm["stack"])
    print(f"| peak RSS of the demo stack, the sum of each process's VmHWM ({parts}) | {mb:.1f} MB "
          f"(the highest sampled sum of VmRSS: {dm['peak_sum_rss_kb'] / 1024:.1f} MB) | - | < 60 MB "
          f"| the seed's stack: a 16 GB VM; Airflow's compose file asks for 4 GB | {4096 / mb:,.0f}x less than 4 GB "
          f"| {'yes' if mb < 60 else 'no'} |")
    parts = ", ".join(f"{e['cmd']} {e['max_anon_kb'] / 1024:.1f} + {e['max_file_kb'] / 1024:.1f}"
                      for e in dm["stack"])
    print(f"| (context) the same, the highest sampled sum of PSS (shared pages counted once) | "
          f"{dm['peak_sum_pss_kb'] / 1024:.1f} MB | - | - | - | - | |")
    print(f"| (context) per process, the largest anonymous + file-backed RSS sampled, MB | {parts} | - | - | - | - | |")
    print(f"| (context) the demo's CLI processes (floe pipeline, floe table), the largest | "
          f"{dm['cli_max_hwm_kb'] / 1024:.1f} MB ({dm['cli_processes']} processes; the demo took {dm['seconds']} s, "
          f"{dm['samples']} samples) | - | - | - | - | |")
print()
print(f"Latency runs from just before the trigger to the no-op task's run() being called (time_mono_ns, one process; "
      f"the HTTP client, the console port and the scheduler share it), each run ending before the next trigger. "
      f"Throughput runs from the unpause (or the first trigger) until the last task succeeded, every run then "
      f"checked committed as success. The start-up rows start with start_date after tomorrow, so no run is due: "
      f"each pipeline's schedule is evaluated and its first check armed. fsync off is pipe_sched_opts.no_fsync "
      f"(tests and benchmarks only).")
if "skipped" not in dm and dm.get("demo_exit"):
    print(f"Note: scripts/demo.sh exited {dm['demo_exit']}; the RSS figures cover the part that ran.")
json.dump(raw, open(json_out, "w"), indent=1)
PY
