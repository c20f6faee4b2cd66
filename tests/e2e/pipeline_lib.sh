# shellcheck shell=bash
# pipeline_lib.sh: helpers for the pipeline end-to-end tests
# (test_pipeline_*.sh, test_demo.sh). Source it after lib.sh, queue_lib.sh
# and crawler_lib.sh.
#
#   market_api_start ARGS...   `floe sample-api` with the demo's data: 30,000
#                              trades over 2024-01-01..03 (10,000 a day, so a
#                              day's crawl is 10 full pages and an empty one),
#                              no rate limit; sets SA_PORT, SA_PID, SA_URL
#   pl_specs DIR PORT [SED...] copies of pipelines/examples/*.yaml into DIR
#                              with api_base pointed at PORT, each SED
#                              expression applied to every copy; `end_date:
#                              2024-01-31` is added so the timetable makes no
#                              scheduled run of today (backfills only)
#   pl_crawler_config FILE PORT   ./crawler.yaml for the sample API at PORT
#   pl_serve DIR PIPES [FLAGS...] floe_start with --pipelines PIPES, no fsync;
#                              sets CON_URL (the console port) and PIPES_DIR
#   pl_serve_again             the same server again after floe_kill9: same
#                              data dir, ports and flags
#   api METHOD PATH [BODY]     a call to the pipeline API with a root token;
#                              sets API_STATUS and API_BODY (no subshell!)
#   pcli ARGS...               `floe pipeline --server $CON_URL ARGS...`
#   pl_trigger NAME [CONF]     prints the new run's id
#   pl_backfill NAME FROM TO [REPROCESS]   prints the backfill's id
#   pl_run_wait RUN SECS       waits until the run is success or failed;
#                              RUN_STATE holds the state
#   pl_bf_wait ID SECS         the same for a backfill (BF_STATE)
#   pl_ti RUN TASK [JQ]        the task instance's JSON (or a jq filter of it)
#   pl_ti_wait RUN TASK JQ SECS   waits until the jq filter of the task
#                              instance prints true
#   tscan TABLE [ARGS...]      `floe table scan TABLE --format json` of the
#                              running server's data dir (PL_CATALOG_URL: a
#                              PostgreSQL catalog): one JSON object a row
#   tparts TABLE               `k=v[/k=v] record_count` lines, one a
#                              partition, sorted
#   pl_check_logs DIR          fails on any sanitizer report in DIR/**.log
#   pg_down, pg_up             stop pg_lib.sh's PostgreSQL (fast), start it
#                              again on the same data dir and port

PL_TOKEN=""
CON_URL=""
PIPES_DIR=""
PL_CATALOG_URL=""
API_STATUS=""
API_BODY=""

# The market API of the pipeline tests: 30,000 trades over 2024-01-01..03
# (10,000 a day), no rate limit; extra flags pass through. crawler_lib.sh's
# sample_api_start does the work.
market_api_start() {
    SA_TRADES=30000 SA_SPAN=3d sample_api_start --rate-limit 0 "$@"
}

pl_specs() {
    local dir=$1 port=$2 f
    shift 2
    mkdir -p "$dir"
    local args=(-e "s#api_base: http://127.0.0.1:8800#api_base: http://127.0.0.1:$port#"
        -e "s#^start_date: 2024-01-01\$#start_date: 2024-01-01\nend_date: 2024-01-31#")
    local e
    for e in "$@"; do args+=(-e "$e"); done
    for f in "$E2E_ROOT"/pipelines/examples/*.yaml; do
        sed "${args[@]}" "$f" >"$dir/$(basename "$f")"
    done
}

pl_crawler_config() {
    sed "s#127.0.0.1:8800#127.0.0.1:$2#g" "$E2E_ROOT/crawler.yaml" >"$1"
}

PL_SERVE_ARGS=()
pl_serve() {
    local dir=$1 pipes=$2
    shift 2
    PIPES_DIR=$pipes
    PL_SERVE_ARGS=(--pipelines "$pipes" --fsync false "$@")
    floe_start "$dir" "${PL_SERVE_ARGS[@]}" || return 1
    pl_serve_ready
}

# pl_serve_again: after floe_kill9 or floe_stop, the same server again: the
# same data dir, ports and flags (a worker and the specs keep its address).
pl_serve_again() {
    local attempt i
    for attempt in $(seq 1 50); do
        FLOE_LOG=$E2E_TMP/floe.$((${#E2E_LOGS[@]} + 1)).log
        E2E_LOGS+=("$FLOE_LOG")
        (e2e_exec_floe "$FLOE_BIN" serve --data "$FLOE_DATA" --s3-port "$S3_PORT" --catalog-port "$CATALOG_PORT" \
            --console-port "$CONSOLE_PORT" --bind 127.0.0.1 "${PL_SERVE_ARGS[@]}") >"$FLOE_LOG" 2>&1 </dev/null &
        FLOE_PID=$!
        E2E_PIDS+=("$FLOE_PID")
        for i in $(seq 1 200); do
            kill -0 "$FLOE_PID" 2>/dev/null || break
            if [ "$(http_code "$S3_URL/_floe/health" --max-time 1)" = 200 ] &&
                [ "$(http_code "http://127.0.0.1:$CONSOLE_PORT/health" --max-time 1)" = 200 ]; then
                pl_serve_ready
                return
            fi
            sleep 0.1
        done
        if kill -0 "$FLOE_PID" 2>/dev/null; then break; fi
        wait "$FLOE_PID" 2>/dev/null
        # the old server's ports may take a moment to be free again
        grep -qi 'in use' "$FLOE_LOG" || break
        sleep 0.2
    done
    fail "the server did not start again on its ports; log $FLOE_LOG:"
    tail -20 "$FLOE_LOG" | sed 's/^/       /'
    return 1
}

pl_serve_ready() {
    CON_URL=http://127.0.0.1:$CONSOLE_PORT
    local i
    for i in $(seq 1 100); do
        [ "$(http_code "$CON_URL/health" --max-time 1)" = 200 ] && break
        sleep 0.1
    done
    PL_TOKEN=$(curl -s --max-time 10 -X POST "$CON_URL/api/v1/oauth/tokens" -d grant_type=client_credentials \
        -d "client_id=$E2E_AK" -d "client_secret=$E2E_SK" | jq -r .access_token)
    if [ -z "$PL_TOKEN" ] || [ "$PL_TOKEN" = null ]; then
        fail "no token from $CON_URL/api/v1/oauth/tokens"
        return 1
    fi
}

api() {
    local method=$1 path=$2 body=${3:-} out=$E2E_TMP/api.out
    local args=(-s --max-time 30 -o "$out" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $PL_TOKEN")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    API_STATUS=$(curl "${args[@]}" "$CON_URL$path" 2>/dev/null) || API_STATUS=000
    API_BODY=$(cat "$out" 2>/dev/null)
}

pcli() {
    FLOE_ACCESS_KEY=$E2E_AK FLOE_SECRET_KEY=$E2E_SK "$FLOE_BIN" pipeline --server "$CON_URL" "$@"
}

pl_trigger() {
    local body='{}'
    [ -n "${2:-}" ] && body="{\"conf\": $2}"
    api POST "/api/v1/pipelines/$1/runs" "$body"
    if [ "$API_STATUS" != 201 ]; then
        fail "trigger $1: HTTP $API_STATUS: $API_BODY"
        return 1
    fi
    printf '%s' "$API_BODY" | jq -r .run_id
}

pl_backfill() {
    api POST "/api/v1/pipelines/$1/backfills" \
        "{\"from\": \"$2\", \"to\": \"$3\", \"reprocess\": \"${4:-none}\", \"max_active_runs\": ${5:-2}}"
    if [ "$API_STATUS" != 201 ]; then
        fail "backfill $1 $2..$3: HTTP $API_STATUS: $API_BODY"
        return 1
    fi
    printf '%s' "$API_BODY" | jq -r .id
}

RUN_STATE=""
pl_run_wait() {
    local run=$1 secs=$2 i
    for i in $(seq 1 $((secs * 5))); do
        api GET "/api/v1/runs/$run"
        RUN_STATE=$(printf '%s' "$API_BODY" | jq -r '.state // empty' 2>/dev/null)
        case $RUN_STATE in success | failed) return 0 ;; esac
        sleep 0.2
    done
    return 1
}

BF_STATE=""
pl_bf_wait() {
    local id=$1 secs=$2 i
    for i in $(seq 1 $((secs * 5))); do
        api GET "/api/v1/backfills/$id"
        BF_STATE=$(printf '%s' "$API_BODY" | jq -r '.state // empty' 2>/dev/null)
        case $BF_STATE in success | failed) return 0 ;; esac
        sleep 0.2
    done
    return 1
}

pl_ti() {
    api GET "/api/v1/runs/$1/tasks/$2"
    printf '%s' "$API_BODY" | jq -c -r "${3:-.}"
}

pl_ti_wait() {
    local i
    for i in $(seq 1 $(($4 * 5))); do
        [ "$(pl_ti "$1" "$2" "$3" 2>/dev/null)" = true ] && return 0
        sleep 0.2
    done
    return 1
}

# The run's task instances, one "task state try" line each, for messages.
pl_tasks_summary() {
    api GET "/api/v1/runs/$1/tasks"
    printf '%s' "$API_BODY" | jq -r '.[] | "\(.task_id) \(.state) try \(.try_number) \(.error // "")"' 2>/dev/null
}

tscan() {
    local t=$1
    shift
    local url=()
    [ -n "$PL_CATALOG_URL" ] && url=(--catalog-url "$PL_CATALOG_URL")
    (e2e_exec_floe "$FLOE_BIN" table scan "$t" --format json "$@" "${url[@]}" --data "$FLOE_DATA") 2>>"$E2E_TMP/table-cli.err"
}

tparts() {
    local url=()
    [ -n "$PL_CATALOG_URL" ] && url=(--catalog-url "$PL_CATALOG_URL")
    (e2e_exec_floe "$FLOE_BIN" table partitions "$1" --format json "${url[@]}" --data "$FLOE_DATA") 2>>"$E2E_TMP/table-cli.err" |
        jq -r '"\(.partition | to_entries | map("\(.key)=\(.value)") | join("/")) \(.record_count)"' | sort
}

pl_check_logs() {
    local f bad=0
    while IFS= read -r -d '' f; do
        floe_check_log "$f" || bad=1
    done < <(find "$1" -name '*.log' -print0)
    return $bad
}

# pg_down: stops the throwaway PostgreSQL of pg_lib.sh (fast shutdown: open
# connections are cut), keeping its data dir and port for pg_up.
pg_down() {
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1
}

# pg_up: starts it again on the same data dir and port.
pg_up() {
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
        start >/dev/null 2>&1
}
