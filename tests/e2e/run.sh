#!/usr/bin/env bash
# run.sh: runs the end-to-end tests, tests/e2e/test_*.{sh,py,mjs}, each with
# a time limit, prints PASS or FAIL per test and ends with the one line
# "e2e: N passed, M failed". Exits non-zero when any test failed.
#
#   tests/e2e/run.sh              every test
#   tests/e2e/run.sh boto3 cases  only tests whose file name contains a word
#
#   BUILD=dir         build directory (default build); the tests run
#                     $BUILD/asan/floe unless FLOE_BIN names another binary
#   E2E_TIMEOUT=s     time limit per test in seconds (default 300)
#   E2E_VERBOSE=1     print each test's output even when it passes
set -uo pipefail

cd "$(dirname "$0")" || exit 1
E2E_TIMEOUT=${E2E_TIMEOUT:-300}

tests=()
for f in test_*.sh test_*.py test_*.mjs; do
    [ -f "$f" ] || continue
    if [ $# -gt 0 ]; then
        keep=0
        for word in "$@"; do
            [[ "$f" == *"$word"* ]] && keep=1
        done
        [ $keep = 1 ] || continue
    fi
    tests+=("$f")
done

if [ ${#tests[@]} -eq 0 ]; then
    echo "run.sh: no test matches: $*" >&2
    echo "e2e: 0 passed, 0 failed"
    exit 1
fi

if ls test_*.mjs >/dev/null 2>&1 && [ ! -d node_modules/@aws-sdk/client-s3 ]; then
    echo "run.sh: tests/e2e/node_modules is missing; run 'make deps' (npm ci in tests/e2e)" >&2
fi

passed=0
failed=0
failed_names=()
logdir=$(mktemp -d "${TMPDIR:-/tmp}/floe-e2e-run.XXXXXX")
for t in "${tests[@]}"; do
    case $t in
    *.sh) cmd=(bash "$t") ;;
    *.py) cmd=(python3 "$t") ;;
    *.mjs) cmd=(node "$t") ;;
    esac
    start=$(date +%s%N)
    timeout --kill-after=10 "$E2E_TIMEOUT" "${cmd[@]}" >"$logdir/$t.log" 2>&1 </dev/null
    rc=$?
    ds=$((($(date +%s%N) - start) / 100000000))
    secs=$((ds / 10)).$((ds % 10))
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS $t (${secs}s)"
        [ "${E2E_VERBOSE:-0}" = 1 ] && sed 's/^/    /' "$logdir/$t.log"
    else
        failed=$((failed + 1))
        failed_names+=("$t")
        if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
            echo "FAIL $t (timed out after ${E2E_TIMEOUT}s)"
        else
            echo "FAIL $t (exit $rc, ${secs}s)"
        fi
        sed 's/^/    /' "$logdir/$t.log"
    fi
done
rm -rf "$logdir"

echo "e2e: $passed passed, $failed failed"
[ $failed -eq 0 ]
