# shellcheck shell=bash
# lib.sh: shared helpers for the bash end-to-end tests.
#
# A test sources this file, starts its own `floe serve` on free ports with
# floe_start, talks to it with real clients, checks results with the assert_*
# helpers and ends with e2e_finish. Every server the test started is killed on
# exit, and every server log is scanned for sanitizer reports.
#
#   FLOE_BIN   binary to test (default $BUILD/asan/floe; BUILD defaults to build)
#   E2E_KEEP=1 keep the temporary directory (data dirs, server logs) afterwards
#   E2E_CATALOG_URL=postgres://...  servers keep their catalog in PostgreSQL
#              (FLOE_CATALOG_URL; tests/e2e/test_catalog_pg.sh sets it)
#
# Nothing here talks to anything but 127.0.0.1, and every wait is bounded.

set -uo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_ROOT=$(cd "$E2E_DIR/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) E2E_BUILD_DIR=$BUILD ;; *) E2E_BUILD_DIR=$E2E_ROOT/$BUILD ;; esac
# FLOE_BIN is only a variable of this script: floe_start removes every FLOE_*
# variable from the server's environment, because floe rejects unknown ones.
FLOE_BIN=${FLOE_BIN:-$E2E_BUILD_DIR/asan/floe}
E2E_NAME=$(basename "$0")

# Root credentials the tests give the server.
E2E_AK=e2e-access-key
E2E_SK=e2e-secret-key-0123456789
E2E_REGION=us-east-1

E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/floe-e2e.${E2E_NAME%.*}.XXXXXX")
mkdir -p "$E2E_TMP/cwd"
E2E_PASS=0
E2E_FAIL=0
E2E_PIDS=()     # every server pid started, for the EXIT trap
E2E_LOGS=()     # every server log written
FLOE_PID=""
FLOE_LOG=""
FLOE_DATA=""
S3_PORT=""
S3_URL=""

# Never send test traffic through a proxy.
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

# ---------------------------------------------------------------- reporting

say() { printf '%s\n' "$*"; }

# section TITLE: a heading, with the seconds since the test started.
section() { say "# $* [${SECONDS}s]"; }

ok() {
    E2E_PASS=$((E2E_PASS + 1))
    say "  ok   $*"
}

fail() {
    E2E_FAIL=$((E2E_FAIL + 1))
    say "  FAIL $*"
}

# Shows at most 2000 characters of a value, so a mismatch on a large body
# stays readable.
e2e_show() {
    local s=$1
    if [ ${#s} -gt 2000 ]; then
        printf '%s... (%d chars)' "${s:0:2000}" "${#s}"
    else
        printf '%s' "$s"
    fi
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
    if [ "$2" == "$3" ]; then
        ok "$1"
    else
        fail "$1"
        say "       expected: [$(e2e_show "$2")]"
        say "       actual:   [$(e2e_show "$3")]"
    fi
}

# assert_ne WHAT UNEXPECTED ACTUAL
assert_ne() {
    if [ "$2" != "$3" ]; then
        ok "$1"
    else
        fail "$1: got [$(e2e_show "$3")], which it must not be"
    fi
}

# assert_contains WHAT HAYSTACK NEEDLE
assert_contains() {
    if [[ "$2" == *"$3"* ]]; then
        ok "$1"
    else
        fail "$1: [$(e2e_show "$3")] not found in:"
        say "       [$(e2e_show "$2")]"
    fi
}

# assert_not_contains WHAT HAYSTACK NEEDLE
assert_not_contains() {
    if [[ "$2" != *"$3"* ]]; then
        ok "$1"
    else
        fail "$1: [$(e2e_show "$3")] must not appear in:"
        say "       [$(e2e_show "$2")]"
    fi
}

# assert_match WHAT STRING ERE
assert_match() {
    if [[ "$2" =~ $3 ]]; then
        ok "$1"
    else
        fail "$1: [$(e2e_show "$2")] does not match /$3/"
    fi
}

# assert_files_equal WHAT EXPECTED_FILE ACTUAL_FILE: byte for byte.
assert_files_equal() {
    local what=$1 a=$2 b=$3
    if [ ! -f "$b" ]; then
        fail "$what: $b does not exist"
        return
    fi
    if cmp -s "$a" "$b"; then
        ok "$what"
    else
        fail "$what: files differ (expected $(stat -c %s "$a") bytes, got $(stat -c %s "$b") bytes)"
        say "       $(cmp "$a" "$b" 2>&1 | head -1)"
    fi
}

# assert_dirs_equal WHAT EXPECTED_DIR ACTUAL_DIR: same tree, same bytes.
assert_dirs_equal() {
    local out
    if out=$(diff -r "$2" "$3" 2>&1); then
        ok "$1"
    else
        fail "$1: trees differ:"
        printf '%s\n' "$out" | head -20 | sed 's/^/       /'
    fi
}

# assert_ok WHAT CMD...: the command exits 0. Its output is in $OUT.
OUT=""
assert_ok() {
    local what=$1
    shift
    local rc=0
    OUT=$("$@" 2>&1) || rc=$?
    if [ $rc -eq 0 ]; then
        ok "$what"
        return 0
    fi
    fail "$what: '$*' exited $rc:"
    printf '%s\n' "$OUT" | head -20 | sed 's/^/       /'
    return 1
}

# assert_fails_with WHAT NEEDLE CMD...: the command exits non-zero and its
# output contains NEEDLE (an error code such as "(NoSuchKey)").
assert_fails_with() {
    local what=$1 needle=$2
    shift 2
    if OUT=$("$@" 2>&1); then
        fail "$what: '$*' succeeded; expected an error containing $needle. Output:"
        printf '%s\n' "$OUT" | head -10 | sed 's/^/       /'
        return 1
    fi
    if [[ "$OUT" == *"$needle"* ]]; then
        ok "$what"
        return 0
    fi
    fail "$what: expected an error containing [$needle], got:"
    printf '%s\n' "$OUT" | head -10 | sed 's/^/       /'
    return 1
}

# e2e_finish: prints the tally and exits 1 when any check failed (or none ran).
e2e_finish() {
    say "$E2E_NAME: $E2E_PASS checks passed, $E2E_FAIL failed"
    if [ "$E2E_FAIL" -gt 0 ] || [ "$E2E_PASS" -eq 0 ]; then
        exit 1
    fi
    exit 0
}

# ---------------------------------------------------------------- data helpers

# random_file PATH BYTES: incompressible content, fast for large sizes.
random_file() {
    head -c "$2" /dev/urandom >"$1"
}

md5_of() { md5sum "$1" | cut -d' ' -f1; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# The multipart ETag S3 computes: md5 of the concatenated binary part md5s,
# then "-<part count>". part_etag FILE PART_SIZE
multipart_etag() {
    python3 - "$1" "$2" <<'EOF'
import hashlib, sys
path, size = sys.argv[1], int(sys.argv[2])
digests = []
with open(path, 'rb') as f:
    while True:
        b = f.read(size)
        if not b:
            break
        digests.append(hashlib.md5(b).digest())
print('%s-%d' % (hashlib.md5(b''.join(digests)).hexdigest(), len(digests)))
EOF
}

# ---------------------------------------------------------------- server

# free_ports N: prints N distinct free TCP ports on 127.0.0.1.
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    socks.append(s)
print(' '.join(str(s.getsockname()[1]) for s in socks))
EOF
}

# http_code URL [curl args...]: prints the status code (000 when unreachable).
http_code() {
    local url=$1
    shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$url" 2>/dev/null || true
}

# Runs the server with a clean environment: every FLOE_* variable of the
# caller is dropped, only the credentials (and FLOE_CONFIG when a test gives
# a config file) are set. cwd is an empty directory, so no stray ./floe.yaml
# is read.
e2e_exec_floe() {
    local v
    for v in $(compgen -e | grep '^FLOE_' || true); do unset "$v"; done
    export FLOE_ACCESS_KEY=$E2E_AK FLOE_SECRET_KEY=$E2E_SK
    if [ -n "${E2E_CATALOG_URL:-}" ]; then export FLOE_CATALOG_URL=$E2E_CATALOG_URL; fi
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    cd "$E2E_TMP/cwd" || exit 1
    exec "$@"
}

# floe_start DIR [extra serve flags...]: starts the server on fresh ports with
# data in DIR, logs to $E2E_TMP/floe.N.log, and waits up to 10 s for
# /_floe/health. Sets FLOE_PID, FLOE_LOG, FLOE_DATA, S3_PORT, S3_URL.
# Returns 1 (after printing the log) if the server does not come up.
floe_start() {
    local dir=$1
    shift
    if [ ! -x "$FLOE_BIN" ]; then
        fail "server binary $FLOE_BIN does not exist (run 'make asan' or set FLOE_BIN)"
        return 1
    fi
    mkdir -p "$dir"
    local attempt
    for attempt in 1 2 3; do
        read -r S3_PORT CATALOG_PORT CONSOLE_PORT <<<"$(free_ports 3)"
        S3_URL=http://127.0.0.1:$S3_PORT
        FLOE_DATA=$dir
        FLOE_LOG=$E2E_TMP/floe.$((${#E2E_LOGS[@]} + 1)).log
        E2E_LOGS+=("$FLOE_LOG")
        (e2e_exec_floe "$FLOE_BIN" serve --data "$dir" --s3-port "$S3_PORT" \
            --catalog-port "$CATALOG_PORT" --console-port "$CONSOLE_PORT" --bind 127.0.0.1 "$@") \
            >"$FLOE_LOG" 2>&1 </dev/null &
        FLOE_PID=$!
        E2E_PIDS+=("$FLOE_PID")
        local i
        for i in $(seq 1 100); do
            if ! kill -0 "$FLOE_PID" 2>/dev/null; then
                break
            fi
            # the catalog port comes up just after the S3 port
            if [ "$(http_code "$S3_URL/_floe/health" --max-time 1)" = 200 ] &&
                [ "$(http_code "http://127.0.0.1:$CATALOG_PORT/health" --max-time 1)" = 200 ]; then
                return 0
            fi
            sleep 0.1
        done
        if kill -0 "$FLOE_PID" 2>/dev/null; then
            fail "server did not answer $S3_URL/_floe/health with 200 within 10 s; log $FLOE_LOG:"
            tail -30 "$FLOE_LOG" | sed 's/^/       /'
            kill -9 "$FLOE_PID" 2>/dev/null
            wait "$FLOE_PID" 2>/dev/null
            FLOE_PID=""
            return 1
        fi
        wait "$FLOE_PID" 2>/dev/null
        # A port taken between choosing and binding: try other ports.
        if grep -qi 'in use' "$FLOE_LOG"; then
            continue
        fi
        break
    done
    fail "server exited during start-up; log $FLOE_LOG:"
    tail -30 "$FLOE_LOG" | sed 's/^/       /'
    FLOE_PID=""
    return 1
}

# Fails the test when a server log holds a sanitizer report.
floe_check_log() {
    local log=${1:-$FLOE_LOG}
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|UndefinedBehaviorSanitizer' "$log"; then
        fail "sanitizer report in server log $log:"
        grep -E -A25 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" | head -40 | sed 's/^/       /'
        return 1
    fi
    return 0
}

# floe_stop: SIGTERM, then up to 10 s for a clean exit (status 0, no
# sanitizer report). Kills with SIGKILL if it does not exit.
floe_stop() {
    [ -n "$FLOE_PID" ] || return 0
    local pid=$FLOE_PID rc i
    FLOE_PID=""
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        fail "server pid $pid did not exit within 10 s of SIGTERM; killing it"
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        return 1
    fi
    wait "$pid" 2>/dev/null
    rc=$?
    floe_check_log "$FLOE_LOG" || return 1
    if [ "$rc" -ne 0 ]; then
        fail "server exited with status $rc on SIGTERM (expected 0); log tail:"
        tail -15 "$FLOE_LOG" | sed 's/^/       /'
        return 1
    fi
    return 0
}

# floe_kill9: the crash: SIGKILL, no chance to clean up.
floe_kill9() {
    [ -n "$FLOE_PID" ] || return 0
    kill -9 "$FLOE_PID" 2>/dev/null
    wait "$FLOE_PID" 2>/dev/null
    floe_check_log "$FLOE_LOG"
    FLOE_PID=""
}

# e2e_at_exit CMD...: runs CMD at exit, after the servers are killed (an
# unmount, say). Use it rather than a trap of your own, which would replace
# the one that kills the servers and removes $E2E_TMP.
E2E_AT_EXIT=()
e2e_at_exit() { E2E_AT_EXIT+=("$*"); }

e2e_cleanup() {
    local pid cmd
    for pid in "${E2E_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    for cmd in "${E2E_AT_EXIT[@]}"; do
        eval "$cmd"
    done
    # Background helpers the test started (writers, loops).
    for pid in $(jobs -p); do
        kill -9 "$pid" 2>/dev/null
    done
    if [ "${E2E_KEEP:-0}" = 1 ]; then
        say "$E2E_NAME: kept $E2E_TMP"
    else
        rm -rf "$E2E_TMP"
    fi
}
trap e2e_cleanup EXIT

# ---------------------------------------------------------------- clients

# aws_env: credentials and an empty, private config for aws-cli and every
# other AWS SDK the test starts, so nothing from the host's ~/.aws leaks in.
aws_env() {
    local v
    for v in $(compgen -e | grep -E '^AWS_' || true); do unset "$v"; done
    mkdir -p "$E2E_TMP/aws"
    cat >"$E2E_TMP/aws/config" <<EOF
[default]
region = $E2E_REGION
max_attempts = 1
retry_mode = standard
s3 =
    addressing_style = path
    multipart_threshold = 8MB
    multipart_chunksize = 8MB
EOF
    : >"$E2E_TMP/aws/credentials"
    export AWS_ACCESS_KEY_ID=$E2E_AK
    export AWS_SECRET_ACCESS_KEY=$E2E_SK
    export AWS_DEFAULT_REGION=$E2E_REGION AWS_REGION=$E2E_REGION
    export AWS_EC2_METADATA_DISABLED=true
    export AWS_CONFIG_FILE=$E2E_TMP/aws/config
    export AWS_SHARED_CREDENTIALS_FILE=$E2E_TMP/aws/credentials
    export AWS_PAGER=""
}

# awsf ARGS...: aws-cli against the server under test.
awsf() {
    aws --endpoint-url "$S3_URL" --cli-read-timeout 60 --cli-connect-timeout 5 "$@"
}

# s3curl ARGS... URL: a SigV4-signed curl (curl signs; the payload is unsigned).
s3curl() {
    curl -s --max-time 30 --aws-sigv4 "aws:amz:$E2E_REGION:s3" --user "$E2E_AK:$E2E_SK" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}
