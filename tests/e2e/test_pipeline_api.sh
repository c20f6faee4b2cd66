#!/usr/bin/env bash
# test_pipeline_api.sh: the pipeline API on the console port and `floe
# pipeline`, end to end, and the issue's claim 7 (spec errors name file,
# line and key).
#
#   - a spec with an unknown key, then a bad cron, then an unknown upstream,
#     written into the pipelines dir of a running server: each shows in GET
#     /api/v1/pipelines and `floe pipeline list` as FILE:LINE: KEY ...; a
#     trigger of it is refused (412) with that error; fixing the file
#     reloads it (inotify) without a restart, and it runs; a pipeline that
#     loaded and then breaks shows the error and keeps running its last
#     good version
#   - auth: 401 without a token or with a bad one, in the documented error
#     shape; a read-only key (floe.yaml keys:) may GET but gets 403 on POST,
#     from the API and from the CLI; a token from the catalog port's
#     /iceberg/v1/oauth/tokens works on the console port
#   - trigger --conf reaches templates ({{ params.x }} in a log task, read
#     back with `floe pipeline logs`); params default without conf
#   - trigger --wait exits non-zero when the run fails; logs --try 1 and 2
#     are each try's log; a try that does not exist is 404
#   - pause: a trigger makes a run that waits queued; unpause runs it
#   - runs, tasks, clear through the CLI with --format json; 404, 400 and
#     405 answers in the documented shape
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/queue_lib.sh"
source "$(dirname "$0")/crawler_lib.sh"
source "$(dirname "$0")/pipeline_lib.sh"

command -v jq >/dev/null || {
    fail "jq is not installed; run 'make deps'"
    e2e_finish
}

RO_AK=e2e-reader
RO_SK=e2e-reader-secret-0123456789
cat >"$E2E_TMP/floe.yaml" <<EOF
keys:
  - access_key: $RO_AK
    secret_key: $RO_SK
    scope: read
    buckets: [warehouse]
EOF
P=$E2E_TMP/pipes
mkdir -p "$P"
cat >"$P/echo.yaml" <<'EOF'
description: logs a param
params:
  x: the-default
tasks:
  say:
    type: log
    message: "x is {{ params.x }}"
EOF
cat >"$P/fails.yaml" <<'EOF'
description: fails every try
retries: 1
retry_delay: 100ms
tasks:
  work:
    type: shell
    command: "echo try $FLOE_TRY_NUMBER here; echo going wrong >&2; exit 3"
EOF
pl_serve "$E2E_TMP/data" "$P" --crawler-workers 0 --config "$E2E_TMP/floe.yaml" || e2e_finish

# pipe_error NAME: the spec error the API shows for the pipeline ("" for none)
pipe_error() {
    api GET "/api/v1/pipelines/$1"
    printf '%s' "$API_BODY" | jq -r '.error // ""'
}

# wait_error NAME NEEDLE: until the pipeline's error contains NEEDLE (or,
# with NEEDLE "", until it has none); 10 s
wait_error() {
    local i e
    for i in $(seq 1 100); do
        api GET "/api/v1/pipelines/$1"
        e=$(printf '%s' "$API_BODY" | jq -r '.error // ""')
        if [ -z "$2" ]; then [ "$API_STATUS" = 200 ] && [ -z "$e" ] && return 0; else [[ "$e" == *"$2"* ]] && return 0; fi
        sleep 0.1
    done
    return 1
}

# error_shape STATUS TYPE: the last answer is {"error": {"code", "type", "message"}}
error_shape() {
    assert_eq "$3: HTTP $1 $2 with the error shape" "$1 $1 $2 true" \
        "$API_STATUS $(printf '%s' "$API_BODY" | jq -r '"\(.error.code) \(.error.type) \(.error.message | type == "string" and length > 0)"')"
}

section "claim 7: spec errors name file, line and key; a fix reloads"
cat >"$P/broken.yaml" <<'EOF'
description: a typo
schedul: "@daily"
tasks:
  a: {type: log, message: hi}
EOF
if wait_error broken "broken.yaml:2: schedul: unknown key"; then
    ok "an unknown key: $(pipe_error broken)"
else
    fail "the unknown key is not reported as broken.yaml:2: schedul: ...; the error is [$(pipe_error broken)]"
fi
assert_contains "it names the file's path" "$(pipe_error broken)" "$P/broken.yaml:2:"
assert_contains "and suggests the key" "$(pipe_error broken)" "did you mean schedule"
api GET /api/v1/pipelines
assert_contains "GET /api/v1/pipelines lists it with the error" \
    "$(printf '%s' "$API_BODY" | jq -r '.[] | select(.name == "broken") | .error')" "broken.yaml:2: schedul"
assert_ok "floe pipeline list" pcli list
assert_contains "floe pipeline list shows the error" "$OUT" "broken.yaml:2: schedul: unknown key"
api POST /api/v1/pipelines/broken/runs '{}'
# (docs/pipelines-api.md says 409; the API answers a failed precondition
# with 412, as it does for a run whose pipeline has no spec loaded)
error_shape 412 PreconditionFailed "a trigger of a broken pipeline"
assert_contains "its message is the spec error" "$API_BODY" "broken.yaml:2: schedul"

cat >"$P/broken.yaml" <<'EOF'
description: a bad cron
schedule: "61 * * * *"
start_date: 2024-01-01
tasks:
  a: {type: log, message: hi}
EOF
if wait_error broken "broken.yaml:2: schedule"; then
    ok "a bad cron: $(pipe_error broken)"
else
    fail "the bad cron is not reported as broken.yaml:2: schedule ...; the error is [$(pipe_error broken)]"
fi
assert_contains "it names the bad field" "$(pipe_error broken)" "61"

cat >"$P/broken.yaml" <<'EOF'
description: an unknown upstream
tasks:
  a: {type: log, message: hi}
  b:
    type: log
    message: there
    upstream: [a, nosuch]
EOF
if wait_error broken "broken.yaml:7: tasks.b.upstream"; then
    ok "an unknown upstream: $(pipe_error broken)"
else
    fail "the unknown upstream is not reported as broken.yaml:7: tasks.b.upstream ...; the error is [$(pipe_error broken)]"
fi
assert_contains "it names the missing task" "$(pipe_error broken)" "nosuch"

cat >"$P/broken.yaml" <<'EOF'
description: fixed
tasks:
  a: {type: log, message: hi}
  b:
    type: log
    message: "there, after {{ tasks.a.output.message }}"
    upstream: [a]
EOF
if wait_error broken ""; then ok "fixed: the error is gone without a restart"; else
    fail "the fixed spec still shows [$(pipe_error broken)]"
fi
assert_ok "the fixed pipeline runs" pcli trigger broken --wait
assert_contains "its tasks ran" "$OUT" "success"

# a pipeline that loaded and then breaks keeps its last good version
cp "$P/echo.yaml" "$E2E_TMP/echo.good"
printf 'description: logs a param\nparams:\n  x: the-default\ntasks:\n  say:\n    type: log\n    mesage: oops\n' \
    >"$P/echo.yaml"
if wait_error echo "echo.yaml:7: tasks.say.mesage: unknown key"; then
    ok "a loaded pipeline whose file breaks shows the error: $(pipe_error echo | cut -c1-120)..."
else
    fail "the broken echo.yaml is not reported; the error is [$(pipe_error echo)]"
fi
erun=$(pl_trigger echo)
if [ -n "$erun" ] && pl_run_wait "$erun" 30; then
    assert_eq "and still runs its last good version" success "$RUN_STATE"
fi
assert_ok "the last good version's log" pcli logs "$erun" say
assert_contains "is the good spec's message" "$OUT" "x is the-default"
cp "$E2E_TMP/echo.good" "$P/echo.yaml"
wait_error echo "" || fail "echo.yaml restored, but the error stays: [$(pipe_error echo)]"

section "auth"
code=$(curl -s -o "$E2E_TMP/noauth" -w '%{http_code}' --max-time 10 "$CON_URL/api/v1/pipelines")
API_STATUS=$code API_BODY=$(cat "$E2E_TMP/noauth")
error_shape 401 Unauthorized "no token"
assert_contains "it says how to get one" "$API_BODY" "/api/v1/oauth/tokens"
saved=$PL_TOKEN
PL_TOKEN=not-a-token
api GET /api/v1/pipelines
error_shape 401 Unauthorized "a bad token"
PL_TOKEN=$(curl -s --max-time 10 -X POST "http://127.0.0.1:$CATALOG_PORT/iceberg/v1/oauth/tokens" \
    -d grant_type=client_credentials -d "client_id=$E2E_AK" -d "client_secret=$E2E_SK" | jq -r .access_token)
api GET /api/v1/pipelines
assert_eq "a token from the catalog port works on the console port" 200 "$API_STATUS"
PL_TOKEN=$(curl -s --max-time 10 -X POST "$CON_URL/api/v1/oauth/tokens" -d grant_type=client_credentials \
    -d "client_id=$RO_AK" -d "client_secret=$RO_SK" | jq -r .access_token)
api GET /api/v1/pipelines
assert_eq "a read-only key may GET" 200 "$API_STATUS"
api POST /api/v1/pipelines/echo/runs '{}'
error_shape 403 Forbidden "a read-only key's POST"
assert_contains "the message names the key" "$API_BODY" "'$RO_AK' is read-only"
api POST /api/v1/pipelines/echo/pause ''
assert_eq "nor may it pause" 403 "$API_STATUS"
rc=0
out=$(FLOE_ACCESS_KEY=$RO_AK FLOE_SECRET_KEY=$RO_SK "$FLOE_BIN" pipeline --server "$CON_URL" trigger echo 2>&1) || rc=$?
assert_ne "the CLI with the read-only key: trigger fails" 0 "$rc"
assert_contains "with the API's message" "$out" "read-only"
assert_ok "the CLI with the read-only key: list works" \
    env FLOE_ACCESS_KEY=$RO_AK FLOE_SECRET_KEY=$RO_SK "$FLOE_BIN" pipeline --server "$CON_URL" list
rc=0
out=$(FLOE_ACCESS_KEY=$E2E_AK FLOE_SECRET_KEY=wrong-secret "$FLOE_BIN" pipeline --server "$CON_URL" list 2>&1) || rc=$?
assert_ne "the CLI with a wrong secret fails" 0 "$rc"
PL_TOKEN=$saved

section "trigger --conf reaches templates"
assert_ok "trigger --conf --wait" pcli trigger echo --conf '{"x": "from-the-conf"}' --wait
run=$(pcli runs echo --format json | head -1 | jq -r .run_id)
assert_eq "the run keeps its conf" '{"x":"from-the-conf"}' "$(pcli runs echo --format json | head -1 | jq -c .conf)"
assert_ok "logs" pcli logs "$run" say
assert_contains "the log task printed the conf's x" "$OUT" "x is from-the-conf"
assert_ok "trigger without conf" pcli trigger echo --wait
run=$(pcli runs echo --format json | head -1 | jq -r .run_id)
assert_ok "logs" pcli logs "$run" say
assert_contains "the param's default" "$OUT" "x is the-default"
api POST /api/v1/pipelines/echo/runs '{"conf": [1, 2]}'
error_shape 400 BadRequest "a conf that is not an object"
api POST /api/v1/pipelines/echo/runs '{"conf": '
error_shape 400 BadRequest "a body that is not JSON"

section "trigger --wait of a failing run; logs --try N"
rc=0
out=$(pcli trigger fails --wait 2>&1) || rc=$?
assert_ne "trigger --wait exits non-zero when the run fails" 0 "$rc"
assert_contains "and says it failed" "$out" "failed"
frun=$(pcli runs fails --format json | head -1 | jq -r .run_id)
assert_eq "the run failed after 2 tries" "failed 2" \
    "$(pl_ti "$frun" work '"\(.state) \(.try_number)"')"
assert_ok "logs --try 1" pcli logs "$frun" work --try 1
assert_contains "try 1's log" "$OUT" "try 1 of work started"
assert_contains "its output" "$OUT" "try 1 here"
assert_contains "its stderr and failure" "$OUT" "[stderr] going wrong"
assert_not_contains "not try 2's" "$OUT" "try 2"
assert_ok "logs --try 2" pcli logs "$frun" work --try 2
assert_contains "try 2's log" "$OUT" "try 2 here"
assert_ok "logs (the latest)" pcli logs "$frun" work
assert_contains "is try 2's" "$OUT" "try 2 of work started"
api GET "/api/v1/runs/$frun/tasks/work/logs?try=7"
error_shape 404 NotFound "the log of a try that did not happen"
rc=0
pcli logs "$frun" work --try 7 >/dev/null 2>&1 || rc=$?
assert_ne "logs --try 7 exits non-zero" 0 "$rc"

section "pause and unpause"
assert_ok "pause" pcli pause echo
api GET /api/v1/pipelines/echo
assert_eq "the pipeline is paused" true "$(printf '%s' "$API_BODY" | jq .paused)"
prun=$(pl_trigger echo '{"x": "after-unpause"}')
api GET "/api/v1/runs/$prun"
assert_eq "a trigger while paused makes a run that waits" queued "$(printf '%s' "$API_BODY" | jq -r .state)"
assert_ok "unpause" pcli unpause echo
api GET /api/v1/pipelines/echo
assert_eq "the pipeline is not paused" false "$(printf '%s' "$API_BODY" | jq .paused)"
if pl_run_wait "$prun" 30; then assert_eq "the waiting run ran" success "$RUN_STATE"; else fail "it did not run"; fi
api PATCH /api/v1/pipelines/echo '{"paused": true}'
st=$API_STATUS
api GET /api/v1/pipelines/echo
assert_eq "PATCH {paused: true} pauses" "200 true" "$st $(printf '%s' "$API_BODY" | jq .paused)"
api POST /api/v1/pipelines/echo/unpause ''
assert_eq "POST .../unpause" 200 "$API_STATUS"

section "runs, tasks, clear"
assert_ok "runs --format json" pcli runs echo --format json
assert_eq "one JSON run a line, newest first" "$prun" "$(printf '%s\n' "$OUT" | head -1 | jq -r .run_id)"
assert_ok "tasks" pcli tasks "$prun"
assert_contains "the table names the task and its state" "$OUT" "say"
assert_ok "clear" pcli clear "$prun" say
if pl_run_wait "$prun" 30; then assert_eq "the cleared run ran again" success "$RUN_STATE"; else fail "no rerun"; fi
for i in $(seq 1 50); do [ "$(pl_ti "$prun" say .try_number)" = 2 ] && break; sleep 0.1; done
assert_eq "the task's try went up and its history stayed" "2 success,success" \
    "$(pl_ti "$prun" say '"\(.try_number) \([.attempts[].state] | join(","))"')"

section "404, 405, 400"
api GET /api/v1/pipelines/nosuch
error_shape 404 NotFound "an unknown pipeline"
assert_contains "the message names it" "$API_BODY" "nosuch"
api POST /api/v1/pipelines/nosuch/runs '{}'
error_shape 404 NotFound "a trigger of an unknown pipeline"
api GET /api/v1/runs/echo__manual__19990101T000000000Z
error_shape 404 NotFound "an unknown run"
api GET "/api/v1/runs/$prun/tasks/nosuch"
error_shape 404 NotFound "an unknown task"
api POST "/api/v1/runs/$prun/tasks/nosuch/clear" '{}'
error_shape 404 NotFound "a clear of an unknown task"
api GET /api/v1/nothing
error_shape 404 NotFound "an unknown endpoint"
api GET /api/v1/backfills/nosuch
error_shape 404 NotFound "an unknown backfill"
allow=$(curl -s -o /dev/null -D - --max-time 10 -X DELETE -H "Authorization: Bearer $PL_TOKEN" \
    "$CON_URL/api/v1/pipelines/echo" | tr -d '\r')
assert_match "DELETE a pipeline: 405" "$allow" 'HTTP/1.1 405'
assert_match "with an Allow header" "$allow" $'\n[Aa]llow: [A-Z]'
api POST /api/v1/pipelines/echo/backfills '{"from": "2024-01-01", "to": "2024-01-02"}'
error_shape 400 BadRequest "a backfill of a pipeline without a schedule"
api POST /api/v1/pipelines/broken/backfills '{"from": "yesterday"}'
error_shape 400 BadRequest "a backfill with a bad date"
rc=0
out=$(pcli trigger nosuch 2>&1) || rc=$?
assert_ne "the CLI: trigger of an unknown pipeline fails" 0 "$rc"
assert_contains "naming it" "$out" "nosuch"

floe_stop
e2e_finish
