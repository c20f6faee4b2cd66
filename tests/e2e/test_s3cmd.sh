#!/usr/bin/env bash
# test_s3cmd.sh: s3cmd (SigV4 with signed payload hashes, its own multipart
# uploader, MD5 checks on download) against a real `floe serve`.
. "$(dirname "$0")/lib.sh"

floe_start "$E2E_TMP/data" --fsync false || e2e_finish
aws_env

# Path style: host_bucket without %(bucket)s. No ~/.s3cfg is read.
CFG=$E2E_TMP/s3cfg
cat >"$CFG" <<EOF
[default]
access_key = $E2E_AK
secret_key = $E2E_SK
host_base = 127.0.0.1:$S3_PORT
host_bucket = 127.0.0.1:$S3_PORT
bucket_location = $E2E_REGION
use_https = False
signature_v2 = False
check_ssl_certificate = False
proxy_host =
socket_timeout = 60
progress_meter = False
EOF
s3c() { timeout 120 s3cmd -c "$CFG" --no-check-certificate "$@"; }

W=$E2E_TMP/work
mkdir -p "$W/tree/sub"
random_file "$W/big.bin" $((12 * 1024 * 1024 + 7))
random_file "$W/tree/a.bin" 5000
printf 'hello s3cmd\n' >"$W/tree/sub/b c.txt"
printf 'plus\n' >"$W/tree/sub/x+y.txt"

assert_ok "s3cmd mb" s3c mb s3://s3cmd-e2e
assert_ok "s3cmd put of a small file with a content type" s3c put --mime-type=text/x-e2e "$W/tree/sub/b c.txt" "s3://s3cmd-e2e/one/b c.txt"
assert_ok "s3cmd put of 12 MiB in 5 MiB parts" s3c put --multipart-chunk-size-mb=5 "$W/big.bin" s3://s3cmd-e2e/big.bin
etag=$(awsf s3api head-object --bucket s3cmd-e2e --key big.bin --query ETag --output text 2>&1)
assert_match "s3cmd's upload was a 3-part multipart upload" "$etag" '^"[0-9a-f]{32}-3"$'
assert_ok "s3cmd info" s3c info "s3://s3cmd-e2e/one/b c.txt"
assert_match "s3cmd info shows the MIME type" "$OUT" "MIME type:[[:space:]]+text/x-e2e"
assert_match "s3cmd info shows the MD5" "$OUT" "MD5 sum:[[:space:]]+$(md5_of "$W/tree/sub/b c.txt")"
assert_ok "s3cmd get of the multipart object (s3cmd checks its MD5)" s3c get s3://s3cmd-e2e/big.bin "$W/big.back"
assert_files_equal "12 MiB round trip" "$W/big.bin" "$W/big.back"
assert_ok "s3cmd sync up a tree" s3c sync "$W/tree/" s3://s3cmd-e2e/tree/
assert_ok "s3cmd ls --recursive" s3c ls --recursive s3://s3cmd-e2e/tree/
for k in a.bin "sub/b c.txt" "sub/x+y.txt"; do
    assert_contains "s3cmd ls shows tree/$k" "$OUT" "s3://s3cmd-e2e/tree/$k"
done
assert_ok "s3cmd sync down" s3c sync s3://s3cmd-e2e/tree/ "$W/down/"
assert_dirs_equal "s3cmd synced-down tree" "$W/tree" "$W/down"
assert_ok "s3cmd del --recursive" s3c del --recursive --force s3://s3cmd-e2e/
assert_ok "s3cmd ls of the emptied bucket" s3c ls --recursive s3://s3cmd-e2e/
assert_eq "the bucket is empty" "" "$OUT"
assert_ok "s3cmd rb" s3c rb s3://s3cmd-e2e
assert_fails_with "the bucket is gone" "(404)" awsf s3api head-bucket --bucket s3cmd-e2e

floe_stop
e2e_finish
