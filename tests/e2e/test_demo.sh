#!/usr/bin/env bash
# test_demo.sh: the README's main command, scripts/demo.sh (`make demo`),
# with the sanitizer build (DEMO_FLOE), on six free ports (DEMO_PORT_BASE)
# and a temporary DEMO_DIR: once on the embedded queue, once with
# DEMO_QUEUE=redis (the demo starts its own redis-server).
#
# Each run: exit 0 and "demo: done"; the signal table it prints holds the
# three backfill runs of 2024-01-01..03 once each (plus any scheduled run
# of the day before, which the timetable makes at start); market.trades has
# 10,000 rows in each of its three day partitions; demo.readings 100 in
# each of its four; no sanitizer report in any log of DEMO_DIR/demo-logs
# (serve, sample API, worker, redis) or in what the commands it ran print;
# nothing the demo started is left listening on its ports.
source "$(dirname "$0")/lib.sh"

# six consecutive free ports: prints the first
six_free_ports() {
    python3 - <<'EOF'
import random, socket
for _ in range(200):
    base = random.randrange(20000, 60000)
    socks = []
    try:
        for p in range(base, base + 6):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    break
EOF
}

port_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# demo_run NAME [ENV...]: runs the demo; sets DOUT (its output) and DRC
demo_run() {
    local name=$1
    shift
    DDIR=$E2E_TMP/$name
    DBASE=$(six_free_ports)
    section "$name: scripts/demo.sh on ports $DBASE..$((DBASE + 5))"
    DRC=0
    DOUT=$(
        for v in $(compgen -e | grep '^FLOE_' || true); do unset "$v"; done
        export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
        export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
        env "$@" DEMO_FLOE="$FLOE_BIN" DEMO_PORT_BASE="$DBASE" DEMO_DIR="$DDIR" \
            timeout --kill-after=10 240 "$E2E_ROOT/scripts/demo.sh" 2>&1 </dev/null
    ) || DRC=$?
    # ANSI bold around the step titles
    DOUT=$(printf '%s\n' "$DOUT" | sed 's/\x1b\[[0-9;]*m//g')
}

demo_check() {
    local name=$1
    assert_eq "$name: exit 0" 0 "$DRC"
    if [ "$DRC" != 0 ]; then
        printf '%s\n' "$DOUT" | tail -30 | sed 's/^/       /'
        for f in "$DDIR"/demo-logs/*.log; do
            say "       --- $f"
            tail -10 "$f" | sed 's/^/       /'
        done
    fi
    assert_contains "$name: it says it is done" "$DOUT" "demo: done in"
    local signals trades readings
    signals=$(printf '%s\n' "$DOUT" | sed -n '/^== the signal table scraper.signals/,/^== /p' | grep '^scraper__')
    local d
    for d in 20240101 20240102 20240103; do
        assert_eq "$name: the signal table has the backfill run of $d once" 1 \
            "$(printf '%s\n' "$signals" | grep -c "^scraper__backfill__${d}T000000Z ")"
    done
    assert_eq "$name: every other signal row is a scheduled run's" "" \
        "$(printf '%s\n' "$signals" | grep -v '^scraper__backfill__2024010[123]T000000Z ' | grep -v '^scraper__scheduled__')"
    assert_eq "$name: no run has two signal rows" "" "$(printf '%s\n' "$signals" | awk '{print $1}' | sort | uniq -d)"
    trades=$(printf '%s\n' "$DOUT" | sed -n '/^== rows per partition of market.trades/,/^== /p' | grep '^trade_time_day=' |
        awk '{print $1, $3}')
    assert_eq "$name: market.trades: 10,000 rows in each day" "trade_time_day=2024-01-01 10000
trade_time_day=2024-01-02 10000
trade_time_day=2024-01-03 10000" "$trades"
    readings=$(printf '%s\n' "$DOUT" | grep '^ds=2024-01-01/hr=00/min=' | awk '{print $1, $3}')
    assert_eq "$name: demo.readings: 100 rows in each backfilled interval" "ds=2024-01-01/hr=00/min=00 100
ds=2024-01-01/hr=00/min=15 100
ds=2024-01-01/hr=00/min=30 100
ds=2024-01-01/hr=00/min=45 100" "$readings"
    local logs=0 f
    for f in "$DDIR"/demo-logs/*.log; do
        [ -f "$f" ] || continue
        logs=$((logs + 1))
        floe_check_log "$f" || true
    done
    # the demo's own output: the floe pipeline and floe table commands it ran
    printf '%s\n' "$DOUT" >"$DDIR.out"
    floe_check_log "$DDIR.out" || true
    if [ "$logs" -ge 3 ]; then ok "$name: no sanitizer report in its $logs logs"; else
        fail "$name: only $logs logs in $DDIR/demo-logs"
    fi
    local p busy=""
    for p in $(seq "$DBASE" $((DBASE + 5))); do
        port_listening "$p" && busy="$busy $p"
    done
    assert_eq "$name: nothing left listening on its ports" "" "$busy"
}

demo_run embedded
demo_check embedded
if command -v redis-server >/dev/null 2>&1; then
    demo_run redis DEMO_QUEUE=redis
    demo_check redis
    assert_contains "redis: the demo used Redis" "$DOUT" "queue: redis"
else
    fail "redis-server is not installed; run 'make deps'"
fi
e2e_finish
