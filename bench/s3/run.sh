#!/usr/bin/env bash
# bench/s3/run.sh: Floe's S3 server against its peers, in one run, on one disk.
#
# `make bench` calls this with BUILD set. It builds the load generator
# (s3load) and the start-up timer (s3ready), starts nginx (the throughput
# ceiling for GET) and `floe serve` side by side on 127.0.0.1 with the same
# objects, measures each target of the S3 benchmark issue, prints a table
# with the peer figures, the ratios and whether each target is met, and
# writes the same table as markdown to $BUILD/bench-s3.md.
#
# Knobs (environment): BENCH_SECONDS (per timed run, default 10),
# BENCH_REPS (runs per measure, median taken, default 3), BENCH_LIST_KEYS
# (default 100000), BENCH_KEEP=1 keeps the work directory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
SECS=${BENCH_SECONDS:-10}
REPS=${BENCH_REPS:-3}
LIST_KEYS=${BENCH_LIST_KEYS:-100000}
FLOE="$BUILD/floe"
LOAD="$BUILD/bench/s3load"
READY="$BUILD/bench/s3ready"
BIG=$((256 * 1024 * 1024))
SMALL=4096
NSMALL=100
export FLOE_ACCESS_KEY=${FLOE_ACCESS_KEY:-benchaccesskey}
export FLOE_SECRET_KEY=${FLOE_SECRET_KEY:-benchsecretkey0123456789}

say() { printf '%s\n' "bench: $*" >&2; }
# A per-run figure: shown now, and listed under the table in the markdown.
run_note() { say "$*"; printf '%s\n' "$*" >>"$WORK/runs.log"; }
fail() { say "$*"; exit 1; }

[ -x "$FLOE" ] || fail "$FLOE not found: build it first (make BUILD=$BUILD)"
command -v nginx >/dev/null || fail "nginx not installed (make deps installs it)"
make -s -C "$ROOT/bench/s3" BUILD="$BUILD" >&2

# ---------------------------------------------------------------- work dir
# On the same disk as the repo, so nginx, floe and dd all read and write the
# same device; never tmpfs, where fsync costs nothing.
mkdir -p "$BUILD"
WORK=$(mktemp -d "$BUILD/bench-s3.XXXXXX")
[ "$(stat -f -c %T "$WORK")" != tmpfs ] || fail "$WORK is on tmpfs; set BUILD to a directory on a disk"
[ "$(stat -c %d "$WORK")" = "$(stat -c %d "$ROOT")" ] || say "note: $WORK is not on the same device as $ROOT"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
TREE_AT_START=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')
FLOE_BUILT=$(date -u -r "$FLOE" '+%Y-%m-%d %H:%M UTC')
NGINX_PID=""
FLOE_PID=""
stop_pid() { # pid: SIGTERM, then SIGKILL after 5 s
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || return 0
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
    stop_pid "$FLOE_PID"
    stop_pid "$NGINX_PID"
    if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r NGINX_PORT S3_PORT CAT_PORT CON_PORT < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
for s in socks: s.close()
EOF
)

# ---------------------------------------------------------------- helpers
field() { # key, result line -> value
    awk -v k="$1" '{ for (i = 1; i <= NF; i++) { n = index($i, "="); if (substr($i, 1, n - 1) == k) print substr($i, n + 1) } }' <<<"$2"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }" 2>/dev/null || echo nan; }
now() { date +%s.%N; }

# Runs s3load; prints its result line. Failed requests are shown on stderr
# by s3load and noted in errors.log (load runs in subshells, so a file, not a
# variable), but do not stop the run.
load() {
    local out rc=0
    out=$("$LOAD" "$@") || rc=$?
    printf '%s\n' "$out" >>"$WORK/results.log"
    if [ $rc -ne 0 ]; then
        printf 's3load %s: %s\n' "$*" "$out" >>"$WORK/errors.log"
        say "s3load $* reported errors: $out"
    fi
    printf '%s\n' "$out"
}
note_error() { printf '%s\n' "$*" >>"$WORK/errors.log"; say "$*"; }

# CPU seconds used so far by a process and its children threads (utime+stime).
cpu_of() {
    local pid=$1 total=0 p
    for p in "$pid" $(pgrep -P "$pid" || true); do
        [ -r "/proc/$p/stat" ] || continue
        total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
    done
    calc "$total / $(getconf CLK_TCK)" 2
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

wait_http() { # url, seconds
    local i
    for i in $(seq 1 $(($2 * 100))); do
        curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null | grep -q '^200$' && return 0
        sleep 0.01
    done
    return 1
}

# ---------------------------------------------------------------- nginx
mkdir -p "$WORK/www/small" "$WORK/www/dav" "$WORK/nginx-tmp"
say "writing a 256 MiB file and $NSMALL files of 4 KiB into $WORK/www"
head -c "$BIG" /dev/urandom >"$WORK/www/big.bin"
for i in $(seq 0 $((NSMALL - 1))); do head -c "$SMALL" /dev/urandom >"$WORK/www/small/$(printf 'obj-%04d' "$i")"; done
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root root;" # workers must read the 0700 work dir
cat >"$WORK/nginx.conf" <<EOF
$USER_LINE
daemon off;
master_process on;
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 1024; }
http {
    sendfile on;
    tcp_nopush on;
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/nginx-tmp;
    proxy_temp_path $WORK/nginx-tmp;
    fastcgi_temp_path $WORK/nginx-tmp;
    uwsgi_temp_path $WORK/nginx-tmp;
    scgi_temp_path $WORK/nginx-tmp;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/www;
        # Context for the 256 MiB PUT: the same upload over HTTP, stored
        # without fsync, shows what receiving it costs on this machine.
        location /dav/ {
            dav_methods PUT;
            client_max_body_size 0;
            client_body_buffer_size 1m;
        }
    }
}
EOF
nginx -c "$WORK/nginx.conf" -p "$WORK" 2>>"$WORK/nginx-error.log" &
NGINX_PID=$!
wait_http "http://127.0.0.1:$NGINX_PORT/small/obj-0000" 5 || fail "nginx did not start: $(tail -5 "$WORK/nginx-error.log")"
NGINX="http://127.0.0.1:$NGINX_PORT"

# ---------------------------------------------------------------- floe
S3="http://127.0.0.1:$S3_PORT"
HEALTH="$S3/_floe/health"
floe_args() { echo serve --data "$1" --s3-port "$S3_PORT" --catalog-port "$CAT_PORT" --console-port "$CON_PORT"; }
# shellcheck disable=SC2046
"$FLOE" $(floe_args "$WORK/floe-data") >>"$WORK/floe.log" 2>&1 &
FLOE_PID=$!
wait_http "$HEALTH" 10 || fail "floe did not answer $HEALTH within 10 s: $(tail -20 "$WORK/floe.log")"
sleep 1
RSS_START=$(rss_kib "$FLOE_PID")
say "floe pid $FLOE_PID ready; idle RSS ${RSS_START} KiB"

load --url "$S3" --mode put -n 1 -s 0 --key bench >/dev/null
load --url "$S3/bench" --mode put -n 1 -s "$BIG" --key big.bin >/dev/null
load --url "$S3/bench" --mode put -n "$NSMALL" -c 16 -s "$SMALL" --key 'small/obj-%04d' >/dev/null
sync

# ---------------------------------------------------------------- measures
declare -A FIG # measure -> figure
RESULT_ROWS=()

# One timed GET measure, nginx then floe, REPS times; median of `metric`.
get_pair() { # name, metric, s3load args...
    local name=$1 metric=$2 r line n=() f=() ncpu=() fcpu=() c0
    shift 2
    for r in $(seq 1 "$REPS"); do
        c0=$(cpu_of "$NGINX_PID")
        line=$(load --url "$NGINX" --unsigned "$@")
        n+=("$(field "$metric" "$line")")
        ncpu+=("$(calc "($(cpu_of "$NGINX_PID") - $c0) / $(field seconds "$line")" 2)")
        c0=$(cpu_of "$FLOE_PID")
        line=$(load --url "$S3/bench" "$@")
        f+=("$(field "$metric" "$line")")
        fcpu+=("$(calc "($(cpu_of "$FLOE_PID") - $c0) / $(field seconds "$line")" 2)")
        run_note "$name run $r: nginx ${n[-1]}, floe ${f[-1]} $metric"
    done
    FIG[$name.floe]=$(median "${f[@]}")
    FIG[$name.peer]=$(median "${n[@]}")
    FIG[$name.floe_cpu]=$(median "${fcpu[@]}")
    FIG[$name.peer_cpu]=$(median "${ncpu[@]}")
}

say "GET 256 MiB, 1 stream (${SECS} s x $REPS)"
get_pair get1 mb_per_s --mode get -c 1 -d "$SECS" -s "$BIG" --key big.bin
say "GET 256 MiB, 8 streams"
get_pair get8 mb_per_s --mode get -c 8 -d "$SECS" -s "$BIG" --key big.bin
say "GET 4 KiB, concurrency 16"
get_pair get4k ops_per_s --mode get -c 16 -d "$SECS" -s "$SMALL" --key 'small/obj-%04d' --keys "$NSMALL"

say "PUT 256 MiB vs dd conv=fsync"
d=() f=() w=()
for r in $(seq 1 "$REPS"); do
    sync
    t0=$(now)
    dd if=/dev/zero of="$WORK/dd.bin" bs=1M count=256 conv=fsync status=none
    t1=$(now)
    d+=("$(calc "$BIG / 1e6 / ($t1 - $t0)" 1)")
    rm -f "$WORK/dd.bin"
    sync
    line=$(load --url "$S3/bench" --mode put -n 1 -s "$BIG" --key 'put-big-%d' --first "$r")
    f+=("$(field mb_per_s "$line")")
    sync
    line=$(load --url "$NGINX/dav" --unsigned --mode put -n 1 -s "$BIG" --key 'put-big-%d' --first "$r")
    w+=("$(field mb_per_s "$line")")
    rm -f "$WORK"/www/dav/put-big-*
    run_note "put run $r: dd ${d[-1]}, floe ${f[-1]}, nginx WebDAV PUT ${w[-1]} MB/s"
done
FIG[put.floe]=$(median "${f[@]}")
FIG[put.peer]=$(median "${d[@]}")
FIG[putdav.floe]=${FIG[put.floe]}
FIG[putdav.peer]=$(median "${w[@]}")

say "PUT 4 KiB, concurrency 16, durable"
f=() p50=() p99=()
for r in $(seq 1 "$REPS"); do
    sync
    line=$(load --url "$S3/bench" --mode put -c 16 -d "$SECS" -s "$SMALL" --key 'put-small/k-%09d' --first $((r * 100000000)))
    f+=("$(field ops_per_s "$line")")
    p50+=("$(field p50_ms "$line")")
    p99+=("$(field p99_ms "$line")")
    run_note "put4k run $r: ${f[-1]} ops/s, p50 ${p50[-1]} ms, p99 ${p99[-1]} ms"
done
FIG[put4k.floe]=$(median "${f[@]}")
FIG[put4k.p50]=$(median "${p50[@]}")
FIG[put4k.p99]=$(median "${p99[@]}")

say "ListObjectsV2: populating $LIST_KEYS keys"
load --url "$S3" --mode put -n 1 -s 0 --key bench-list >/dev/null
line=$(timeout 1800 "$LOAD" --url "$S3/bench-list" --mode put -c 64 -n "$LIST_KEYS" -s 64 --key 'k-%07d') ||
    note_error "populating reported errors: $line"
run_note "list populate: $line"
line=$(load --url "$S3/bench-list" --mode list -n "$REPS" --max-keys 1000 --expect-keys "$LIST_KEYS")
run_note "list: $line"
FIG[list.floe]=$(field listing_s_p50 "$line")
FIG[list.keys]=$(field keys "$line")
FIG[list.err]=$(field errors "$line")

sleep 2
RSS_END=$(rss_kib "$FLOE_PID")
say "idle RSS after the run: $RSS_END KiB"
stop_pid "$FLOE_PID"
FLOE_PID=""

say "start to ready, 5 starts on an empty data dir, 5 on the benchmark's"
ready_ms() { # data dir -> ms or "fail"
    local out
    # shellcheck disable=SC2046
    out=$("$READY" --url "$HEALTH" --timeout 10 --log "$WORK/floe-ready.log" -- "$FLOE" $(floe_args "$1")) ||
        { echo fail; return 0; }
    field ready_ms "$out"
}
e=() p=()
for r in 1 2 3 4 5; do e+=("$(ready_ms "$WORK/empty-$r")"); done
for r in 1 2 3 4 5; do p+=("$(ready_ms "$WORK/floe-data")"); done
run_note "ready ms, empty data dir: ${e[*]}; benchmark data dir: ${p[*]}"
FIG[ready.empty]=$(median "${e[@]}")
FIG[ready.full]=$(median "${p[@]}")
case " ${e[*]} ${p[*]} " in *" fail "*) note_error "some starts failed: $(tail -5 "$WORK/floe-ready.log")" ;; esac

# ---------------------------------------------------------------- report
ERRORS=0
[ -f "$WORK/errors.log" ] && ERRORS=$(wc -l <"$WORK/errors.log")
# met: "yes" or "no" from an awk condition; "no" when a figure is missing.
met() { awk "BEGIN { exit !($1) }" 2>/dev/null && echo yes || echo no; }
below() { # figure, limit: yes when a number below the limit
    case "$1" in '' | fail | nan) echo no ;; *) met "$1 < $2" ;; esac
}
row() { RESULT_ROWS+=("$1|$2|$3|$4|$5|$6"); }

ratio() { calc "${FIG[$1.floe]} / ${FIG[$1.peer]}" 2; }
for m in get1 get8; do
    rt=$(ratio "$m")
    label="GET 256 MiB, 1 stream"
    [ "$m" = get8 ] && label="GET 256 MiB, 8 streams"
    row "$label" "${FIG[$m.floe]} MB/s (cpu ${FIG[$m.floe_cpu]})" "nginx ${FIG[$m.peer]} MB/s (cpu ${FIG[$m.peer_cpu]})" "${rt}x" ">= 0.9x" "$(met "$rt >= 0.9")"
done
rt=$(ratio get4k)
row "GET 4 KiB, concurrency 16" "${FIG[get4k.floe]} ops/s (cpu ${FIG[get4k.floe_cpu]})" "nginx ${FIG[get4k.peer]} ops/s (cpu ${FIG[get4k.peer_cpu]})" "${rt}x" ">= 0.5x" "$(met "$rt >= 0.5")"
rt=$(ratio put)
row "PUT 256 MiB" "${FIG[put.floe]} MB/s" "dd conv=fsync ${FIG[put.peer]} MB/s" "${rt}x" ">= 0.7x" "$(met "$rt >= 0.7")"
rt=$(ratio putdav)
row "PUT 256 MiB (context: HTTP upload, no fsync)" "${FIG[put.floe]} MB/s" "nginx WebDAV PUT ${FIG[putdav.peer]} MB/s" "${rt}x" "-" "-"
row "PUT 4 KiB, concurrency 16, durable" "${FIG[put4k.floe]} ops/s (p50 ${FIG[put4k.p50]} ms, p99 ${FIG[put4k.p99]} ms)" "-" "-" ">= 3,000 ops/s" "$(met "${FIG[put4k.floe]} >= 3000")"
row "ListObjectsV2, ${FIG[list.keys]:-?} keys, max-keys 1000" "${FIG[list.floe]} s" "-" "-" "< 1 s" "$( [ "${FIG[list.err]:-1}" = 0 ] && below "${FIG[list.floe]}" 1 || echo no)"
row "Idle RSS after start" "$(calc "$RSS_START * 1024 / 1e6" 1) MB" "-" "-" "< 20 MB" "$(met "$RSS_START * 1024 < 20e6")"
row "Idle RSS after the run" "$(calc "$RSS_END * 1024 / 1e6" 1) MB" "-" "-" "< 20 MB" "$(met "$RSS_END * 1024 < 20e6")"
row "Start to ready, empty data dir (median of 5)" "${FIG[ready.empty]} ms" "-" "-" "< 100 ms" "$(below "${FIG[ready.empty]}" 100)"
row "Start to ready, benchmark data dir (median of 5)" "${FIG[ready.full]} ms" "-" "-" "< 100 ms" "$(below "${FIG[ready.full]}" 100)"

MD="$BUILD/bench-s3.md"
{
    echo "# Floe S3 benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -r), nginx $(nginx -v 2>&1 | sed 's|.*/||'), tree $TREE_AT_START at start, floe binary built $FLOE_BUILT."
    echo "Load average before and after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "${SECS} s per timed run, median of $REPS runs; MB = 10^6 bytes; cpu = server CPU cores busy during the run."
    echo
    echo "| Measure | Floe | Peer | Ratio | Target | Met |"
    echo "|---|---|---|---|---|---|"
    for r in "${RESULT_ROWS[@]}"; do echo "| ${r//|/ | } |"; done
    [ "$ERRORS" -eq 0 ] || { echo; echo "$ERRORS measure(s) saw failed requests:"; echo; sed 's/^/    /' "$WORK/errors.log"; }
    echo
    echo "Every run:"
    echo
    sed 's/^/    /' "$WORK/runs.log"
} >"$MD"

echo
printf '%-48s %-44s %-40s %-7s %-15s %s\n' Measure Floe Peer Ratio Target Met
for r in "${RESULT_ROWS[@]}"; do
    IFS='|' read -r a b c d e f <<<"$r"
    printf '%-48s %-44s %-40s %-7s %-15s %s\n' "$a" "$b" "$c" "$d" "$e" "$f"
done
echo
[ "$ERRORS" -eq 0 ] || say "$ERRORS measure(s) saw failed requests (printed above)"
say "markdown table: $MD"
