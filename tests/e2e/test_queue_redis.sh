#!/usr/bin/env bash
# test_queue_redis.sh: the job queue's Redis backend against a real
# redis-server: the unit suite (tests/unit/queue) with FLOE_TEST_REDIS_URL,
# then the seed's weakness, proved absent: jobs held by workers killed with
# kill -9 come back after the visibility timeout and none is lost.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/queue_lib.sh"

redis_start || e2e_finish
say "redis-server at $REDIS_URL"

section "unit suite queue_redis against the server"
UNIT=$E2E_BUILD_DIR/asan/unit-tests
if [ ! -x "$UNIT" ]; then
    fail "$UNIT does not exist (run 'make asan')"
else
    out=$(FLOE_TEST_REDIS_URL=$REDIS_URL LSAN_OPTIONS=suppressions=$E2E_ROOT/tests/unit/lsan.supp:print_suppressions=0 \
        "$UNIT" --filter 'queue_redis/*' --jobs 2 2>&1)
    synth=$(printf '%s\n' "$out" | grep 'Synthesis' | tail -1)
    say "  $synth"
    if [[ "$synth" =~ Tested:\ ([0-9]+)\ \|\ Passing:\ ([0-9]+)\ \|\ Failing:\ 0\ \|\ Crashing:\ 0 ]] &&
        [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] && [ "${BASH_REMATCH[1]}" -ge 12 ]; then
        ok "every queue_redis unit case passes (${BASH_REMATCH[1]})"
    else
        fail "queue_redis unit cases failed:"
        printf '%s\n' "$out" | grep -vE '^\[(RUN|PASS|SKIP)' | tail -30 | sed 's/^/       /'
    fi
fi

queue_no_job_lost "$REDIS_URL"

section "what Redis holds afterwards"
assert_eq "no entry of the chaos queue is still pending" 0 \
    "$(redis-cli -p "$REDIS_PORT" xpending floe:queue:chaos floe | head -1)"
assert_eq "the chaos stream is empty (acked entries are deleted)" 0 "$(redis-cli -p "$REDIS_PORT" xlen floe:queue:chaos)"
ttl=$(redis-cli -p "$REDIS_PORT" ttl "floe:job:$(head -1 "$E2E_TMP"/nolost.*/ids)")
if [ "$ttl" -gt 600000 ] && [ "$ttl" -le 604800 ]; then
    ok "a job's status key expires (TTL $ttl s, 7 days by default)"
else
    fail "a job's status key has TTL $ttl s; expected up to 7 days"
fi

e2e_finish
