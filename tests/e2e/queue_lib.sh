# shellcheck shell=bash
# queue_lib.sh: helpers for the job queue's end-to-end tests. Source it
# after lib.sh.
#
#   redis_start          a throwaway redis-server on a free port of
#                        127.0.0.1 (data in a temp dir, no snapshots, no
#                        AOF), shut down at exit. Sets REDIS_URL, REDIS_PORT.
#   qd ARGS...           runs `floe queue-debug ARGS...` (the hidden test
#                        driver, src/cli/queue_debug.c) in the foreground
#   qd_bg OUT ARGS...    the same in the background, stdout to OUT, stderr
#                        to OUT.err; sets QD_PID
#   queue_no_job_lost URL
#                        the seed's weakness, proved absent: a worker killed
#                        with kill -9 holding a job; then 100 jobs with
#                        workers killed at random. Every job ends done.
#
# Needs Debian's redis-server (make deps installs it).

REDIS_DIR=""
REDIS_PID=""

redis_stop() {
    [ -n "$REDIS_PID" ] || return 0
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1
    local i
    for i in $(seq 1 50); do
        kill -0 "$REDIS_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$REDIS_PID" 2>/dev/null
    wait "$REDIS_PID" 2>/dev/null
    rm -rf "$REDIS_DIR"
    REDIS_PID=""
}

redis_start() {
    if ! command -v redis-server >/dev/null 2>&1; then
        fail "redis-server is not installed; run 'make deps'"
        return 1
    fi
    REDIS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/floe-redis.XXXXXX")
    e2e_at_exit redis_stop
    local attempt i
    for attempt in 1 2 3; do
        REDIS_PORT=$(free_ports 1)
        redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" --save '' --appendonly no \
            --logfile "$REDIS_DIR/redis.log" >/dev/null 2>&1 </dev/null &
        REDIS_PID=$!
        E2E_PIDS+=("$REDIS_PID")
        for i in $(seq 1 50); do
            if [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; then
                REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
                return 0
            fi
            kill -0 "$REDIS_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$REDIS_PID" 2>/dev/null
        wait "$REDIS_PID" 2>/dev/null
    done
    REDIS_PID=""
    fail "redis-server did not start; log:"
    tail -20 "$REDIS_DIR/redis.log" 2>/dev/null | sed 's/^/       /'
    return 1
}

qd() { (e2e_exec_floe "$FLOE_BIN" queue-debug "$@"); }

QD_PID=""
qd_bg() {
    local out=$1
    shift
    (e2e_exec_floe "$FLOE_BIN" queue-debug "$@") >"$out" 2>"$out.err" </dev/null &
    QD_PID=$!
    E2E_PIDS+=("$QD_PID")
}

# wait_for_line FILE REGEX SECONDS
wait_for_line() {
    local i
    for i in $(seq 1 $(($3 * 10))); do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# Checks the stderr of a driver that was not killed for sanitizer reports.
qd_check_err() { floe_check_log "$1.err"; }

queue_no_job_lost() {
    local url=$1 dir=$E2E_TMP/nolost.$RANDOM
    mkdir -p "$dir"

    section "one job: its worker is killed with kill -9 before it acks"
    local id
    id=$(qd enqueue --queue "$url" --name single --count 1)
    assert_match "the job is enqueued" "$id" '^[0-9a-f-]{36}$'
    qd_bg "$dir/a.out" work --queue "$url" --name single --worker worker-a --vt 1000 --hold-ms 600000
    local a=$QD_PID
    if wait_for_line "$dir/a.out" "^leased $id 1$" 20; then
        ok "worker-a leased the job (try 1)"
    else
        fail "worker-a did not lease the job; its stderr:"
        sed 's/^/       /' "$dir/a.out.err" | head -10
    fi
    kill -9 "$a" 2>/dev/null
    wait "$a" 2>/dev/null
    assert_eq "status while worker-a's lease runs" "$id leased 1" "$(qd status --queue "$url" "$id")"
    qd_bg "$dir/b.out" work --queue "$url" --name single --worker worker-b --vt 1000 --idle-exit-ms 2500
    local b=$QD_PID
    wait "$b"
    assert_contains "worker-b got the job after the visibility timeout, as try 2" "$(cat "$dir/b.out")" \
        "leased $id 2"
    assert_contains "worker-b acked it" "$(cat "$dir/b.out")" "acked $id"
    qd_check_err "$dir/b.out"
    assert_eq "status: done after 2 tries" "$id done 2" "$(qd status --queue "$url" "$id")"

    section "100 jobs, workers killed with kill -9 at random"
    qd enqueue --queue "$url" --name chaos --count 100 >"$dir/ids"
    assert_eq "100 jobs enqueued" 100 "$(wc -l <"$dir/ids")"
    local round w pids kills=0
    for round in $(seq 1 8); do
        pids=()
        for w in 1 2 3; do
            qd_bg "$dir/r$round.w$w.out" work --queue "$url" --name chaos --worker "r$round-w$w" --vt 700 \
                --hold-ms $((100 + RANDOM % 200))
            pids+=("$QD_PID")
        done
        sleep "$((RANDOM % 2)).$((RANDOM % 10))"
        for w in "${pids[@]}"; do
            kill -9 "$w" 2>/dev/null && kills=$((kills + 1))
            wait "$w" 2>/dev/null
        done
    done
    local held
    # per killed worker: jobs it printed as leased and not as acked
    held=$(for f in "$dir"/r*.out; do
        awk '$1=="leased"{l[$2]=1} $1=="acked"{delete l[$2]} END{print length(l)}' "$f"
    done | awk '{s+=$1} END{print s+0}')
    say "  $kills workers killed; $held jobs were leased by a killed worker and never acked by it"
    # Drain: no more kills. Jobs held by dead workers come back after 700 ms.
    pids=()
    for w in 1 2; do
        qd_bg "$dir/drain.w$w.out" work --queue "$url" --name chaos --worker "drain-$w" --vt 700 --idle-exit-ms 3000
        pids+=("$QD_PID")
    done
    for w in "${pids[@]}"; do wait "$w"; done
    qd_check_err "$dir/drain.w1.out"
    qd_check_err "$dir/drain.w2.out"
    qd status --queue "$url" <"$dir/ids" >"$dir/status"
    assert_eq "every one of the 100 jobs is done" 100 "$(awk '$2=="done"' "$dir/status" | wc -l)"
    local notdone
    notdone=$(awk '$2!="done"' "$dir/status" | head -5)
    [ -z "$notdone" ] || say "       not done: $notdone"
    local retried
    retried=$(awk '$2=="done" && $3>1' "$dir/status" | wc -l)
    if [ "$held" -gt 0 ]; then
        if [ "$retried" -ge 1 ]; then
            ok "$retried jobs were redelivered after their worker died (tries > 1)"
        else
            fail "$held jobs were held by killed workers, yet no job has tries > 1"
        fi
    else
        say "  (no kill landed while a job was held this run)"
    fi
}
