#!/usr/bin/env bash
# bench/catalog/run.sh: the catalog's benchmark (issue 5), in one run.
#
# Starts `floe serve` (the release build, fsync on as shipped) on a data dir
# under $BUILD, and, when the binary has --catalog-url, a temporary
# PostgreSQL 15 and a second `floe serve` whose catalog lives there. Then,
# BENCH_REPS times, interleaved (every measure on every backend once, then
# again), it runs bench/catalog/catbench against each:
#
#   - REST commits, BENCH_CLIENTS clients (default 8) each committing
#     BENCH_COMMITS times (default 250): each to its own table, and all to
#     one table (assert-ref-snapshot-id; a 409 means reload and retry);
#   - loadTable, 1 and BENCH_CLIENTS clients, with and without If-None-Match.
#
# and, on a third data dir, in-process: BENCH_HISTORY commits (default
# 100000) on main, then BENCH_REPS merges of a branch with BENCH_CHANGES
# commits (default 10) while main moved by as many, timed around cat_merge;
# and the same merge through the CLI (`floe merge cliN --into main`, the
# process's whole life). Each figure is the best of the runs (highest rate,
# and that run's latencies). The table goes to stdout and
# $BUILD/bench-catalog.md; BENCH_KEEP=1 keeps the work directory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
REPS=${BENCH_REPS:-3}
CLIENTS=${BENCH_CLIENTS:-8}
COMMITS=${BENCH_COMMITS:-250}
LOADS=${BENCH_LOADS:-1000}
HISTORY=${BENCH_HISTORY:-100000}
CHANGES=${BENCH_CHANGES:-10}
FLOE="$BUILD/floe"
CB="$BUILD/bench/catbench"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export FLOE_ACCESS_KEY=${FLOE_ACCESS_KEY:-benchaccesskey}
export FLOE_SECRET_KEY=${FLOE_SECRET_KEY:-benchsecretkey0123456789}

say() { printf '%s\n' "bench: $*" >&2; }
fail() { say "$*"; exit 1; }
[ -x "$FLOE" ] || fail "$FLOE not found: build it first (make BUILD=$BUILD)"
[ -x "$CB" ] || fail "$CB not found: make BUILD=$BUILD $CB"

# On the repository's disk, never tmpfs, where fsync costs nothing.
mkdir -p "$BUILD"
WORK=$(mktemp -d "$BUILD/bench-catalog.XXXXXX")
[ "$(stat -f -c %T "$WORK")" != tmpfs ] || fail "$WORK is on tmpfs; set BUILD to a directory on a disk"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
TREE=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')

PIDS=()
PG_STARTED=0
PG_USER=""
as_pg() { if [ -n "$PG_USER" ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi; }
stop_pid() { # SIGTERM, then SIGKILL after 5 s
    local pid=$1 i
    kill "$pid" 2>/dev/null || return 0
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    [ "$PG_STARTED" = 1 ] && as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_ports() { # n -> n free TCP ports on 127.0.0.1
    python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])' "$1"
}
wait_http() { # url, seconds
    local i
    for i in $(seq 1 $(($2 * 100))); do
        curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null | grep -q '^200$' && return 0
        sleep 0.01
    done
    return 1
}

# start_floe NAME [extra serve flags]: sets CAT_URL_<NAME>
start_floe() {
    local name=$1 s3 cat con
    shift
    read -r s3 cat con < <(free_ports 3)
    mkdir -p "$WORK/$name"
    "$FLOE" serve --data "$WORK/$name" --s3-port "$s3" --catalog-port "$cat" --console-port "$con" "$@" \
        >>"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$cat/health" 10 || fail "floe ($name) did not start: $(tail -5 "$WORK/$name.log")"
    printf -v "CAT_URL_$name" '%s' "http://127.0.0.1:$cat"
    say "floe ($name) pid $! ready, catalog on :$cat"
}

start_postgres() {
    local port
    [ -x "$PGBIN/initdb" ] || { say "no $PGBIN/initdb: install postgresql-15"; return 1; }
    if [ "$(id -u)" = 0 ]; then # postgres refuses to run as root
        PG_USER=postgres
        id "$PG_USER" >/dev/null 2>&1 || PG_USER=nobody
        chmod 711 "$WORK"
    fi
    mkdir -p "$WORK/pg"
    [ -z "$PG_USER" ] || chown "$PG_USER" "$WORK/pg"
    port=$(free_ports 1)
    as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -A trust -U floe >"$WORK/pg/initdb.log" 2>&1 ||
        { say "initdb failed: $(tail -3 "$WORK/pg/initdb.log")"; return 1; }
    as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" -w \
        -o "-p $port -k $WORK/pg -c listen_addresses=127.0.0.1" start >/dev/null ||
        { say "postgres did not start: $(tail -3 "$WORK/pg/server.log")"; return 1; }
    PG_STARTED=1
    as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U floe floe
    PG_URL="postgres://floe@127.0.0.1:$port/floe"
    PG_VERSION=$("$PGBIN/postgres" --version | awk '{ print $3 }')
    say "postgres $PG_VERSION on :$port (fsync on, as installed)"
}

# ---------------------------------------------------------------- servers
BACKENDS="sqlite"
PG_NOTE=""
start_floe sqlite
if "$FLOE" serve --help 2>&1 | grep -q -- '--catalog-url'; then
    if start_postgres; then
        start_floe pg --catalog-url "$PG_URL"
        BACKENDS="sqlite pg"
    else
        PG_NOTE="PostgreSQL could not be started (see above)"
    fi
else
    PG_NOTE="this floe has no --catalog-url (an older build: PostgreSQL needs --catalog-url)"
    say "PostgreSQL column not available: $PG_NOTE"
fi

# ---------------------------------------------------------------- REST
# measure -> catbench arguments after URL NS
declare -A ARGS
ARGS[own]="commits $CLIENTS $COMMITS"
ARGS[shared]="commits $CLIENTS $COMMITS --shared"
ARGS[load1]="load 1 $LOADS"
ARGS[load1_inm]="load 1 $LOADS --inm"
ARGS[loadN]="load $CLIENTS $LOADS"
ARGS[loadN_inm]="load $CLIENTS $LOADS --inm"
MEASURES="own shared load1 load1_inm loadN loadN_inm"

say "REST: $CLIENTS clients x $COMMITS commits, loads $LOADS per client, best of $REPS, interleaved"
for rep in $(seq "$REPS"); do
    for m in $MEASURES; do
        for b in $BACKENDS; do
            url_var="CAT_URL_$b"
            # shellcheck disable=SC2086
            set -- ${ARGS[$m]}
            mode=$1
            shift
            "$CB" "$mode" "${!url_var}" "r${rep}_$m" "$@" >"$WORK/$b.$m.$rep.json"
            say "$b $m run $rep: $(cat "$WORK/$b.$m.$rep.json")"
        done
    done
done

# ---------------------------------------------------------------- merge
say "merge: $HISTORY commits of history on main, $CHANGES on the branch and on main, $REPS times"
"$CB" merge "$WORK/merge" "$HISTORY" "$CHANGES" "$REPS" "$REPS" >"$WORK/merge.json"
say "merge in-process: $(cat "$WORK/merge.json")"
: >"$WORK/merge_cli.txt"
for rep in $(seq 0 $((REPS - 1))); do
    t0=$(date +%s%N)
    "$FLOE" merge "cli$rep" --into main --data "$WORK/merge" >/dev/null 2>&1
    echo $((($(date +%s%N) - t0) / 1000)) >>"$WORK/merge_cli.txt"
done
say "merge through the CLI (us): $(tr '\n' ' ' <"$WORK/merge_cli.txt")"

# ---------------------------------------------------------------- table
python3 - "$WORK" "$REPS" "$BACKENDS" "$CLIENTS" "$COMMITS" "$LOADS" "$HISTORY" "$CHANGES" "$PG_NOTE" \
    "${PG_VERSION:-}" "$TREE" "$LOAD_BEFORE" <<'PY' | tee "$BUILD/bench-catalog.md"
import json, os, sys, statistics
work, reps, backends, clients, commits, loads, history, changes, pg_note, pg_version, tree, load_before = sys.argv[1:]
reps, backends = int(reps), backends.split()
def runs(b, m):
    return [json.load(open(os.path.join(work, f"{b}.{m}.{r}.json"))) for r in range(1, reps + 1)]
def best(b, m):
    return max(runs(b, m), key=lambda x: x["per_sec"])
def cell(b, m, what):
    if b not in backends:
        return "n/a"
    x = best(b, m)
    s = f"{x['per_sec']:,.0f}/s, p50 {x['p50_ms']:.2f} ms, p95 {x['p95_ms']:.2f} ms, p99 {x['p99_ms']:.2f} ms"
    if what == "shared":
        a = sum(r["attempts"] for r in runs(b, m))
        c = sum(r["conflicts"] for r in runs(b, m))
        s += f"; {c / a:.0%} of attempts 409 ({a / (len(runs(b, m)) * x['n'] * x['clients']):.2f} attempts per commit)"
    return s
def met(b, m, target):
    if b not in backends:
        return ""
    x = best(b, m)
    return "yes" if target(x) else "no"

print(f"bench/catalog: floe {tree}; {clients} clients x {commits} commits; {loads} loads per client; "
      f"best of {reps} interleaved runs; load average before {load_before}")
print()
print("| measure | SQLite | PostgreSQL | target | met (SQLite) |")
print("|---|---|---|---|---|")
rows = [
    ("own", f"REST commits, {clients} clients, each to its own table", ">= 2,000/s, p99 < 10 ms",
     lambda x: x["per_sec"] >= 2000 and x["p99_ms"] < 10),
    ("shared", f"REST commits, {clients} clients, one table, assert-ref-snapshot-id + retry", "-", None),
    ("load1", "loadTable, 1 client", "-", None),
    ("load1_inm", "loadTable, 1 client, If-None-Match (304)", "-", None),
    ("loadN", f"loadTable, {clients} clients", "-", None),
    ("loadN_inm", f"loadTable, {clients} clients, If-None-Match (304)", "-", None),
]
for m, what, target, ok in rows:
    print(f"| {what} | {cell('sqlite', m, m)} | {cell('pg', m, m)} | {target} | {met('sqlite', m, ok) if ok else ''} |")
mg = json.load(open(os.path.join(work, "merge.json")))
ms = [r["ms"] for r in mg["runs"]]
cli = [int(l) / 1000 for l in open(os.path.join(work, "merge_cli.txt")) if l.strip()]
r0 = mg["runs"][0]
print(f"| merge, {history} commits on main, {changes} on the branch and {changes} on main since it, cat_merge in-process "
      f"| best {min(ms):.2f} ms, median {statistics.median(ms):.2f} ms ({r0['commits_read']} commits, {r0['ops_read']} op rows read) "
      f"| n/a | < 20 ms | {'yes' if min(ms) < 20 else 'no'} |")
print(f"| the same merge through `floe merge B --into main` (process start to exit) "
      f"| best {min(cli):.1f} ms, median {statistics.median(cli):.1f} ms | n/a | - | |")
print()
print(f"History on main built with cat_bulk_commits in {mg['bulk_seconds']:.1f} s (one transaction). "
      "Commits: an add-snapshot and set-snapshot-ref of main asserting main's snapshot id, and a remove-snapshots "
      "of the oldest once a table holds 20 snapshots; latency is from the first attempt to the 200, retries included. "
      "loadTable reads a table with 20 snapshots.")
if pg_note:
    print(f"PostgreSQL: not measured: {pg_note}.")
elif pg_version:
    print(f"PostgreSQL {pg_version}, a temporary cluster on the same disk, fsync on.")
print("Nessie HTTP merge: not measured yet (POST /api/v2/trees/{branch}/history/merge; cat_merge above is the work it does).")
PY
