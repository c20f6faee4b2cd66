#!/usr/bin/env bash
# test_diskfull.sh: a full disk mid-upload. The data directory lives on a
# 24 MiB tmpfs; a 40 MiB PUT must fail with a clear error (507
# InsufficientStorage) and leave no object, no temp file and no lost space,
# while earlier objects stay readable and the server keeps serving.
source "$(dirname "$0")/lib.sh"

MNT=$E2E_TMP/full
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=24m tmpfs "$MNT" 2>"$E2E_TMP/mount.err"; then
    if [ "$(id -u)" = 0 ]; then
        fail "cannot mount a tmpfs as root: $(cat "$E2E_TMP/mount.err")"
    else
        say "SKIP: mounting a small tmpfs needs root"
        ok "skipped without root"
    fi
    e2e_finish
fi
cleanup_mount() { floe_stop >/dev/null 2>&1; umount "$MNT" 2>/dev/null; }
trap 'cleanup_mount' EXIT

floe_start "$MNT/data" || e2e_finish
sig=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$E2E_AK:$E2E_SK" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")

assert_eq "create bucket" 200 "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "${sig[@]}" "$S3_URL/full")"
random_file "$E2E_TMP/keep.bin" 1048576
assert_eq "small put" 200 "$(curl -s -o /dev/null -w '%{http_code}' -T "$E2E_TMP/keep.bin" "${sig[@]}" "$S3_URL/full/keep.bin")"
free_before=$(df --output=avail -B1 "$MNT" | tail -1)

random_file "$E2E_TMP/big.bin" $((40 * 1024 * 1024))
code=$(curl -s -o "$E2E_TMP/big.out" -w '%{http_code}' -T "$E2E_TMP/big.bin" "${sig[@]}" "$S3_URL/full/big.bin")
# The server answers as soon as the disk fills; curl may see the 507 or, if it
# was still sending, a reset. Either way the object must not exist.
if [ "$code" = 507 ]; then
    assert_contains "disk-full error body" "$(cat "$E2E_TMP/big.out")" "<Code>InsufficientStorage</Code>"
else
    assert_eq "disk-full PUT is refused (507, or the connection closed)" 000 "$code"
fi
assert_contains "server log names the full disk" "$(cat "$FLOE_LOG")" "No space left on device"

head_code=$(curl -s -o /dev/null -w '%{http_code}' -I "${sig[@]}" "$S3_URL/full/big.bin")
assert_eq "no partial object after a full disk" 404 "$head_code"
assert_eq "temp files removed" "" "$(ls -A "$MNT/data/objects/tmp")"
assert_eq "only the small object's data file remains" 1 "$(find "$MNT/data/objects/data" -type f | wc -l)"
free_after=$(df --output=avail -B1 "$MNT" | tail -1)
# The failed upload's bytes are given back (allow 2 MiB of index growth).
[ "$free_after" -ge $((free_before - 2 * 1024 * 1024)) ] && ok "space reclaimed after the failed upload" ||
    fail "space not reclaimed: $free_before bytes free before, $free_after after"

curl -s -o "$E2E_TMP/keep.out" "${sig[@]}" "$S3_URL/full/keep.bin"
assert_files_equal "earlier object intact" "$E2E_TMP/keep.bin" "$E2E_TMP/keep.out"
assert_eq "server still accepts writes" 200 "$(curl -s -o /dev/null -w '%{http_code}' -T "$E2E_TMP/keep.bin" "${sig[@]}" "$S3_URL/full/again.bin")"
e2e_finish
