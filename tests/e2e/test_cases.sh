#!/usr/bin/env bash
# test_cases.sh: data-driven S3 protocol cases, in the style of curl's
# tests/data: each file tests/e2e/cases/NNNN holds one raw request and what
# the answer must be (the format is in cases/README and cases_lib.py). A new
# case is a new file.
#
# Signed requests go out through `curl --aws-sigv4`; anonymous ones through
# plain curl; the two curl cannot make (a skewed clock, a hang-up in the
# middle of a body) through cases_lib.py. After every case the server must
# still answer its health check.
#
#   tests/e2e/test_cases.sh [NNNN...]   run only the named cases
. "$(dirname "$0")/lib.sh"

CASES_DIR=$E2E_DIR/cases
DATA=$E2E_TMP/root/data
# A small max_object_size, so the EntityTooLarge cases stay small.
SERVE_FLAGS=(--fsync false --max-object-size 8M)
floe_start "$DATA" "${SERVE_FLAGS[@]}" || e2e_finish
MARKER=m$$x$RANDOM

case_files=()
if [ $# -gt 0 ]; then
    for n in "$@"; do case_files+=("$CASES_DIR/$n"); done
else
    for f in "$CASES_DIR"/[0-9][0-9][0-9][0-9]; do case_files+=("$f"); done
fi

# status_matches STATUS SPEC: SPEC is alternatives separated by '|', each a
# code (404) or a class (4xx).
status_matches() {
    local alt
    IFS='|' read -ra alts <<<"$2"
    for alt in "${alts[@]}"; do
        if [[ "$alt" == ?xx ]]; then
            [ "${1:0:1}" = "${alt:0:1}" ] && return 0
        elif [ "$1" = "$alt" ]; then
            return 0
        fi
    done
    return 1
}

# send_case DIR: sends the parsed request; prints the status, leaves the
# response in DIR/resp.headers and DIR/resp.body.
send_case() {
    local d=$1 method target auth mode url
    method=$(cat "$d/method")
    target=$(cat "$d/target")
    auth=$(cat "$d/auth")
    mode=$(cat "$d/mode")
    url=$S3_URL$target
    : >"$d/resp.headers"
    : >"$d/resp.body"
    if [ -n "$mode" ]; then
        python3 "$E2E_DIR/cases_lib.py" send "$d" "$S3_PORT" "$E2E_AK" "$E2E_SK"
        return
    fi
    local args=(-s --max-time 30 --path-as-is -o "$d/resp.body" -D "$d/resp.headers" -w '%{http_code}')
    case $method in
    HEAD) args+=(--head) ;;
    PUT | POST) args+=(-X "$method" --data-binary "@$d/body") ;;
    *)
        args+=(-X "$method")
        [ -s "$d/body" ] && args+=(--data-binary "@$d/body")
        ;;
    esac
    case $auth in
    sigv4)
        # curl signs; the payload hash is the real one unless the case
        # names its own x-amz-content-sha256.
        if ! grep -qi '^x-amz-content-sha256:' "$d/headers"; then
            echo "x-amz-content-sha256: $(sha256sum <"$d/body" | cut -d' ' -f1)" >>"$d/headers"
        fi
        args+=(--aws-sigv4 "aws:amz:$E2E_REGION:s3" --user "$E2E_AK:$E2E_SK")
        ;;
    none) ;;
    skew\ *)
        python3 "$E2E_DIR/cases_lib.py" sign "$d" "$S3_PORT" "${auth#skew }" "$E2E_AK" "$E2E_SK" >>"$d/headers"
        ;;
    *)
        echo "999"
        return
        ;;
    esac
    [ -s "$d/headers" ] && args+=(-H "@$d/headers")
    curl "${args[@]}" "$url" 2>/dev/null
}

# setup_case DIR: the preconditions (objects to create).
setup_case() {
    local d=$1 bucket=$2 what key text code
    while read -r what key text; do
        [ -n "$what" ] || continue
        case $what in
        object)
            code=$(s3curl -o /dev/null -w '%{http_code}' -X PUT --data-binary "$text" "$S3_URL/$bucket/$key")
            [ "$code" = 200 ] || fail "$(basename "$d"): setup: PUT $key answered $code"
            ;;
        *) fail "$(basename "$d"): unknown setup '$what'" ;;
        esac
    done <"$d/setup"
}

# check_case NAME DIR BUCKET: the post-conditions.
check_case() {
    local name=$1 d=$2 bucket=$3 what key text code n i
    while read -r what key text; do
        [ -n "$what" ] || continue
        case $what in
        no-object)
            code=$(http_code "$S3_URL/$bucket/$key" --aws-sigv4 "aws:amz:$E2E_REGION:s3" --user "$E2E_AK:$E2E_SK" \
                -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' --head)
            assert_eq "$name: no object $key was stored (HEAD status)" "404" "$code"
            ;;
        object)
            assert_eq "$name: object $key holds the expected bytes" "$text" "$(s3curl "$S3_URL/$bucket/$key")"
            ;;
        no-tmp)
            for i in $(seq 1 50); do
                n=$(find "$DATA/objects/tmp" -type f 2>/dev/null | wc -l)
                [ "$n" -eq 0 ] && break
                sleep 0.1
            done
            assert_eq "$name: no temporary file left in objects/tmp" "0" "$n"
            ;;
        no-escape)
            # Nothing named after the marker may exist outside the data dir:
            # not in the test's temp dir, not in /tmp.
            n=$( (find "$E2E_TMP" -path "$DATA" -prune -o -name "*$MARKER*" -print
                find /tmp -maxdepth 1 -name "*$MARKER*" -print) 2>/dev/null)
            assert_eq "$name: no file was written outside the data dir" "" "$n"
            ;;
        *) fail "$name: unknown check '$what'" ;;
        esac
    done <"$d/check"
}

for f in "${case_files[@]}"; do
    id=$(basename "$f")
    if [ ! -f "$f" ]; then
        fail "case $id does not exist"
        continue
    fi
    d=$E2E_TMP/case.$id
    bucket=case-$id
    if ! python3 "$E2E_DIR/cases_lib.py" parse "$f" "$d" "$bucket" "$MARKER" 2>"$d.err"; then
        fail "case $id: cannot parse: $(cat "$d.err")"
        continue
    fi
    name="$id $(cat "$d/title")"
    code=$(s3curl -o /dev/null -w '%{http_code}' -X PUT "$S3_URL/$bucket")
    [ "$code" = 200 ] || fail "$id: setup: create bucket $bucket answered $code"
    setup_case "$d" "$bucket"

    status=$(send_case "$d")
    want=$(cat "$d/status")
    if [ -z "$want" ]; then
        : # no answer is expected (a hang-up): the checks below are the test
    elif status_matches "$status" "$want"; then
        ok "$name: status $status"
    else
        fail "$name: status $status, expected $want"
        say "       request: $(cat "$d/method") $(head -c 300 "$d/target")"
        say "       response headers: $(head -c 600 "$d/resp.headers" | tr '\r\n' '  ')"
        say "       response body: $(head -c 600 "$d/resp.body")"
    fi
    while IFS= read -r needle; do
        [ -n "$needle" ] || continue
        assert_contains "$name: body has $needle" "$(head -c 100000 "$d/resp.body")" "$needle"
    done <"$d/expect_body"
    while IFS= read -r needle; do
        [ -n "$needle" ] || continue
        assert_contains "$name: header $needle" "$(tr -d '\r' <"$d/resp.headers" | tr 'A-Z' 'a-z')" \
            "$(tr 'A-Z' 'a-z' <<<"$needle")"
    done <"$d/expect_header"
    check_case "$name" "$d" "$bucket"
    if ! kill -0 "$FLOE_PID" 2>/dev/null || [ "$(http_code "$S3_URL/_floe/health")" != 200 ]; then
        fail "$name: the server is down after this case; log tail:"
        tail -30 "$FLOE_LOG" | sed 's/^/       /'
        floe_check_log
        FLOE_PID=""
        floe_start "$DATA" "${SERVE_FLAGS[@]}" || break
    fi
done

floe_stop
e2e_finish
