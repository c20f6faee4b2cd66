#!/usr/bin/env bash
# demo.sh: the README's main job (`make demo`). Starts the whole stack from
# this checkout, runs the seed's four pipelines over several intervals with
# a backfill, prints what landed, and stops everything.
#
#   floe serve        S3, catalog, console API, scheduler, embedded queue
#   floe sample-api   a local Binance-like market API (no internet here)
#   floe worker       an external crawler worker on the embedded queue
#
# Environment:
#   BUILD=dir          build directory (default build); runs $BUILD/floe
#   DEMO_FLOE=path     another floe binary (the tests run the sanitizer build)
#   DEMO_DIR=dir       where the data goes (default ./demo-data, emptied first)
#   DEMO_QUEUE=redis   use a Debian redis-server (started here, appendonly)
#                      instead of the embedded SQLite queue
#   DEMO_PORT_BASE=N   ports N (S3), N+1 (catalog), N+2 (console), N+3
#                      (sample API), N+4 (worker metrics), N+5 (redis);
#                      default: the usual 9000, 19120, 8080, 8800, 9100, 6390
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
FLOE=${DEMO_FLOE:-$ROOT/$BUILD/floe}
[ -x "$FLOE" ] || { echo "demo: $FLOE is missing; run 'make' first" >&2; exit 1; }
DEMO_DIR=${DEMO_DIR:-$ROOT/demo-data}
case $DEMO_DIR in /*) ;; *) DEMO_DIR=$ROOT/$DEMO_DIR ;; esac
if [ -n "${DEMO_PORT_BASE:-}" ]; then
    S3_PORT=$DEMO_PORT_BASE CAT_PORT=$((DEMO_PORT_BASE + 1)) CON_PORT=$((DEMO_PORT_BASE + 2))
    API_PORT=$((DEMO_PORT_BASE + 3)) MET_PORT=$((DEMO_PORT_BASE + 4)) REDIS_PORT=$((DEMO_PORT_BASE + 5))
else
    S3_PORT=9000 CAT_PORT=19120 CON_PORT=8080 API_PORT=8800 MET_PORT=9100 REDIS_PORT=6390
fi
for v in http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY; do unset "$v"; done
export NO_PROXY=127.0.0.1,localhost
export FLOE_ACCESS_KEY=${FLOE_ACCESS_KEY:-floeadmin} FLOE_SECRET_KEY=${FLOE_SECRET_KEY:-floeadmin}

PIDS=()
LOGS=$DEMO_DIR/demo-logs
stop_all() {
    local rc=$?
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    [ $rc -ne 0 ] && echo "demo: failed; logs are in $LOGS" >&2
    exit $rc
}
trap stop_all EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in $S3_PORT $CAT_PORT $CON_PORT $API_PORT $MET_PORT; do
    port_free "$p" || { echo "demo: port $p is in use; stop what holds it or set DEMO_PORT_BASE" >&2; exit 1; }
done

wait_http() { # URL what
    local i
    for i in $(seq 1 100); do
        curl -sf -o /dev/null --max-time 1 "$1" && return 0
        sleep 0.1
    done
    echo "demo: $2 did not come up at $1; see $LOGS" >&2
    return 1
}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR" "$LOGS"
T0=$(date +%s%N)
elapsed() { echo "$((($(date +%s%N) - T0) / 1000000))"; }

QUEUE_FLAG=()
WORKER_QUEUE=sqlite:$DEMO_DIR/queue.db
if [ "${DEMO_QUEUE:-}" = redis ]; then
    command -v redis-server >/dev/null || { echo "demo: redis-server is missing; run 'make deps'" >&2; exit 1; }
    mkdir -p "$DEMO_DIR/redis"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$DEMO_DIR/redis" --appendonly yes \
        --appendfsync always --save '' --logfile "$LOGS/redis.log" </dev/null &
    PIDS+=($!)
    for i in $(seq 1 50); do [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done
    QUEUE_FLAG=(--queue "redis://127.0.0.1:$REDIS_PORT/0")
    WORKER_QUEUE=redis://127.0.0.1:$REDIS_PORT/0
fi

PIPES=$ROOT/pipelines/examples
if [ "$API_PORT" != 8800 ]; then
    # the scraper takes the market API from its param api_base: point a copy here
    PIPES=$DEMO_DIR/pipelines
    mkdir -p "$PIPES"
    for f in "$ROOT"/pipelines/examples/*.yaml; do
        sed "s#api_base: http://127.0.0.1:8800#api_base: http://127.0.0.1:$API_PORT#" "$f" >"$PIPES/$(basename "$f")"
    done
fi

step "starting floe serve, the sample API and a crawler worker (queue: ${DEMO_QUEUE:-embedded})"
"$FLOE" serve --data "$DEMO_DIR" --pipelines "$PIPES" --crawler-workers 0 \
    --s3-port "$S3_PORT" --catalog-port "$CAT_PORT" --console-port "$CON_PORT" "${QUEUE_FLAG[@]}" \
    >"$LOGS/serve.log" 2>&1 </dev/null &
PIDS+=($!)
# trades over 2024-01-01..03: 10,000 a day, so a day is 10 pages
"$FLOE" sample-api --port "$API_PORT" --trades 30000 --start 2024-01-01T00:00:00Z --span 3d \
    >"$LOGS/sample-api.log" 2>&1 </dev/null &
PIDS+=($!)
wait_http "http://127.0.0.1:$CON_PORT/health" "floe serve"
wait_http "http://127.0.0.1:$API_PORT/stats" "the sample API"
"$FLOE" worker --queue "$WORKER_QUEUE" --config "$ROOT/crawler.yaml" --s3-endpoint "http://127.0.0.1:$S3_PORT" \
    --metrics-port "$MET_PORT" >"$LOGS/worker.log" 2>&1 </dev/null &
PIDS+=($!)
wait_http "http://127.0.0.1:$MET_PORT/metrics" "floe worker"
echo "up in $(elapsed) ms: S3 :$S3_PORT, catalog :$CAT_PORT, console :$CON_PORT, sample API :$API_PORT"

P=("$FLOE" pipeline --server "http://127.0.0.1:$CON_PORT")
tbl() { "$FLOE" table "$@" --data "$DEMO_DIR"; }
"${P[@]}" list

step "hello: a manual run"
"${P[@]}" trigger hello --wait
run=$("${P[@]}" runs hello --format json | head -1 | sed 's/.*"run_id":"\([^"]*\)".*/\1/')
"${P[@]}" logs "$run" hello

step "scraper: backfill 2024-01-01 to 2024-01-03 (crawl -> wait_job -> publish_signal -> load_raw)"
"${P[@]}" backfill scraper --from 2024-01-01 --to 2024-01-03 --max-active-runs 2 --wait
echo "first data landed and loaded $(elapsed) ms after the start"

step "static_write: two runs, each overwrites the table"
"${P[@]}" trigger static_write --wait >/dev/null
"${P[@]}" trigger static_write --wait >/dev/null
tbl scan demo.static_rows

step "partitioned_write: backfill four 15-minute intervals, then rerun one"
"${P[@]}" backfill partitioned_write --from 2024-01-01T00:00:00Z --to 2024-01-01T00:59:59Z --max-active-runs 4 --wait
"${P[@]}" backfill partitioned_write --from 2024-01-01T00:15:00Z --to 2024-01-01T00:29:59Z --reprocess completed --wait
tbl partitions demo.readings

step "scraper: rerun 2024-01-02; its partition is replaced, not duplicated"
"${P[@]}" backfill scraper --from 2024-01-02 --to 2024-01-02 --reprocess completed --wait

step "the signal table scraper.signals"
tbl scan scraper.signals --columns run_id,endpoint,ds,s3_path
step "rows per partition of market.trades"
tbl partitions market.trades
step "the sample API's request counts"
curl -s "http://127.0.0.1:$API_PORT/stats"
echo
echo
echo "demo: done in $(elapsed) ms; data in $DEMO_DIR (floe serve --data $DEMO_DIR to look around)"
