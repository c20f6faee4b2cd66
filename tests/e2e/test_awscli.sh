#!/usr/bin/env bash
# test_awscli.sh: aws-cli (s3 and s3api) against a real `floe serve`.
#
# Covers the high-level commands (cp, sync, ls, rm with recursive trees and
# awkward key names, a 64 MiB multipart upload and ranged download), the
# s3api calls with conditional requests, ranges, paginated listings,
# DeleteObjects, CopyObject with REPLACE, bucket life cycle and the error
# codes a client relies on.
. "$(dirname "$0")/lib.sh"

aws_env
floe_start "$E2E_TMP/data" --fsync false || e2e_finish

B=cli-test
W=$E2E_TMP/work
mkdir -p "$W"

# Prints sorted keys of BUCKET under PREFIX, one per line (all pages).
s3_keys() {
    awsf s3api list-objects-v2 --bucket "$1" --prefix "${2:-}" --output json |
        python3 -c 'import json,sys
t = sys.stdin.read().strip()
d = json.loads(t) if t else {}
print("\n".join(sorted(o["Key"] for o in d.get("Contents", []))))'
}

# Prints sorted relative paths of the files under DIR, one per line.
local_keys() {
    (cd "$1" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
}

# json_field JSON PYEXPR: evaluates PYEXPR with d bound to the parsed JSON.
json_field() {
    python3 -c 'import json,sys
d = json.loads(sys.argv[1] or "{}")
v = eval(sys.argv[2])
print(" ".join(str(x) for x in v) if isinstance(v, tuple) else v)' "$1" "$2" 2>&1
}

section "buckets"
assert_ok "mb creates a bucket" awsf s3 mb "s3://$B"
assert_ok "head-bucket on the new bucket" awsf s3api head-bucket --bucket "$B"
names=$(awsf s3api list-buckets --query 'Buckets[].Name' --output text 2>&1)
assert_contains "list-buckets shows the bucket" "$names" "$B"
assert_fails_with "head-bucket on a missing bucket is 404" "(404)" awsf s3api head-bucket --bucket no-such-bucket-e2e
for bad in ab Bad_Name UPPERCASE -leading-dash trailing-dash- 'a..b' 192.168.5.4 \
    "$(printf 'a%.0s' $(seq 1 64))"; do
    assert_fails_with "create-bucket '$bad' is InvalidBucketName" "(InvalidBucketName)" \
        awsf s3api create-bucket --bucket="$bad"
done
assert_fails_with "list-objects-v2 on a missing bucket is NoSuchBucket" "(NoSuchBucket)" \
    awsf s3api list-objects-v2 --bucket no-such-bucket-e2e
echo hi >"$W/hi.txt"
assert_fails_with "put-object into a missing bucket is NoSuchBucket" "(NoSuchBucket)" \
    awsf s3api put-object --bucket no-such-bucket-e2e --key k --body "$W/hi.txt"

section "cp / ls / sync / rm with a tree of awkward names"
SRC=$W/src
mkdir -p "$SRC/dir/sub/deeper" "$SRC/with space" "$SRC/unicode" "$SRC/plus" "$SRC/odd"
printf 'top level\n' >"$SRC/a.txt"
random_file "$SRC/dir/b.bin" 100000
printf 'c\n' >"$SRC/dir/sub/c.txt"
random_file "$SRC/dir/sub/deeper/d.bin" 4097
printf 'spaces\n' >"$SRC/with space/file name.txt"
printf 'unicode\n' >"$SRC/unicode/ñandú-日本語-é.txt"
printf 'plus\n' >"$SRC/plus/a+b=c.txt"
printf 'percent\n' >"$SRC/odd/100%.txt"
printf 'tilde\n' >"$SRC/odd/~tilde;semi,comma@at.txt"
: >"$SRC/odd/empty"
assert_ok "s3 cp --recursive uploads the tree" awsf s3 cp --recursive --only-show-errors "$SRC" "s3://$B/tree/"
assert_eq "listed keys equal the local tree" "$(local_keys "$SRC" | sed 's|^|tree/|')" "$(s3_keys "$B" tree/)"

ls_top=$(awsf s3 ls "s3://$B/tree/" 2>&1)
for pre in dir/ "with space/" unicode/ plus/ odd/; do
    assert_match "s3 ls shows PRE $pre" "$ls_top" "PRE ${pre}"
done
assert_match "s3 ls shows a.txt with its size" "$ls_top" "[[:space:]]10 a\.txt"
assert_not_contains "s3 ls (no --recursive) does not descend" "$ls_top" "c.txt"
ls_rec=$(awsf s3 ls --recursive "s3://$B/tree/dir/" 2>&1)
assert_match "s3 ls --recursive shows nested keys" "$ls_rec" "tree/dir/sub/deeper/d\.bin"

DST=$W/dst
assert_ok "s3 cp --recursive downloads the tree" awsf s3 cp --recursive --only-show-errors "s3://$B/tree/" "$DST"
assert_dirs_equal "downloaded tree equals the uploaded tree" "$SRC" "$DST"

# One file into a "folder" given with a trailing slash keeps its name.
assert_ok "s3 cp FILE s3://b/folder/ (trailing slash)" awsf s3 cp --only-show-errors "$SRC/a.txt" "s3://$B/folder/"
assert_ok "head-object folder/a.txt" awsf s3api head-object --bucket "$B" --key folder/a.txt
# An explicit "directory marker" key ending in '/'.
assert_ok "put-object of a key ending in '/'" awsf s3api put-object --bucket "$B" --key marker/
assert_eq "the marker key lists as itself" "marker/" "$(s3_keys "$B" marker/)"
out=$(awsf s3api head-object --bucket "$B" --key marker/ --query ContentLength --output text 2>&1)
assert_eq "the marker object is empty" "0" "$out"

# sync: change one file, add one, delete one, then --delete. Local times
# are set in the past first: aws-cli compares them with LastModified, which
# has whole seconds, so a file written in the same second as its upload
# would look newer than the object.
find "$SRC" -exec touch -d '2020-01-01 00:00:00' {} +
printf 'changed content, longer than before\n' >"$SRC/dir/sub/c.txt"
printf 'new\n' >"$SRC/dir/new file.txt"
rm "$SRC/plus/a+b=c.txt"
rmdir "$SRC/plus" # sync does not make empty directories
touch -d '2020-01-02 00:00:00' "$SRC/dir/sub/c.txt" "$SRC/dir/new file.txt"
assert_ok "s3 sync --delete" awsf s3 sync --delete --only-show-errors "$SRC" "s3://$B/tree/"
assert_eq "after sync the keys equal the local tree" "$(local_keys "$SRC" | sed 's|^|tree/|')" "$(s3_keys "$B" tree/)"
SYNCED=$W/synced
assert_ok "s3 sync down into an empty dir" awsf s3 sync --only-show-errors "s3://$B/tree/" "$SYNCED"
assert_dirs_equal "synced-down tree equals the local tree" "$SRC" "$SYNCED"
out=$(awsf s3 sync --dryrun "$SRC" "s3://$B/tree/" 2>&1)
assert_eq "a second sync has nothing to do" "" "$out"

assert_ok "s3 rm one key" awsf s3 rm --only-show-errors "s3://$B/tree/a.txt"
assert_fails_with "the removed key is gone (head 404)" "(404)" awsf s3api head-object --bucket "$B" --key tree/a.txt
assert_ok "s3 rm --recursive" awsf s3 rm --recursive --only-show-errors "s3://$B/tree/"
assert_eq "nothing is left under tree/" "" "$(s3_keys "$B" tree/)"

section "multipart upload of 64 MiB via s3 cp (8 MiB parts)"
BIG=$W/big.bin
random_file "$BIG" $((64 * 1024 * 1024 + 12345))
assert_ok "s3 cp of a 64 MiB file" awsf s3 cp --only-show-errors "$BIG" "s3://$B/big/big.bin"
etag=$(awsf s3api head-object --bucket "$B" --key big/big.bin --query ETag --output text 2>&1)
assert_match "multipart ETag ends in -9" "$etag" '^"[0-9a-f]{32}-9"$'
assert_eq "multipart ETag is md5 of the part md5s" "\"$(multipart_etag "$BIG" $((8 * 1024 * 1024)))\"" "$etag"
size=$(awsf s3api head-object --bucket "$B" --key big/big.bin --query ContentLength --output text 2>&1)
assert_eq "multipart object size" "$(stat -c %s "$BIG")" "$size"
# The download of a large object is a set of parallel ranged GETs.
assert_ok "s3 cp downloads the 64 MiB object" awsf s3 cp --only-show-errors "s3://$B/big/big.bin" "$W/big.back"
assert_files_equal "64 MiB round trip is byte for byte" "$BIG" "$W/big.back"
rm -f "$W/big.back"
# A copy of an object above multipart_threshold is a multipart upload whose
# parts are UploadPartCopy calls with byte ranges of the source.
assert_ok "s3 cp s3->s3 of the 64 MiB object (UploadPartCopy)" \
    awsf s3 cp --only-show-errors "s3://$B/big/big.bin" "s3://$B/big/copy of big.bin"
etag2=$(awsf s3api head-object --bucket "$B" --key "big/copy of big.bin" --query ETag --output text 2>&1)
assert_match "the copied object was assembled from 9 parts" "$etag2" '^"[0-9a-f]{32}-9"$'
assert_ok "download the UploadPartCopy result" \
    awsf s3 cp --only-show-errors "s3://$B/big/copy of big.bin" "$W/big.back"
assert_files_equal "UploadPartCopy result is byte for byte the source" "$BIG" "$W/big.back"
rm -f "$W/big.back"
assert_ok "s3 mv renames an object" awsf s3 mv --only-show-errors "s3://$B/folder/a.txt" "s3://$B/moved/a.txt"
assert_fails_with "the moved-from key is gone" "(404)" awsf s3api head-object --bucket "$B" --key folder/a.txt
awsf s3 cp --only-show-errors "s3://$B/moved/a.txt" "$W/moved.txt" >/dev/null 2>&1
assert_files_equal "the moved-to key has the bytes" "$SRC/a.txt" "$W/moved.txt"
out=$(awsf s3 ls 2>&1)
assert_match "s3 ls lists buckets with their creation time" "$out" "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} $B"

section "s3api: conditional requests, head, ranges"
printf '0123456789abcdefghijklmnopqrstuvwxyz' >"$W/obj.txt"
# put-object --if-none-match needs a 2024 or later aws-cli (botocore); the
# Debian awscli 2.9 lacks it, so there the same request goes out through curl.
probe=$(awsf s3api put-object --bucket "$B" --key cond.txt --body "$W/obj.txt" --if-none-match '*' 2>&1)
if [[ "$probe" == *"Unknown options"* ]]; then
    say "       (this aws-cli has no put-object --if-none-match; using curl for those checks)"
    cond_put() { # KEY FILE: a conditional PUT; prints aws-cli's style of error
        local code
        code=$(s3curl -o "$W/cond.resp" -w '%{http_code}' -X PUT -H 'If-None-Match: *' \
            --data-binary "@$2" "$S3_URL/$B/$1")
        [ "$code" = 200 ] && return 0
        echo "An error occurred ($(sed -n 's:.*<Code>\(.*\)</Code>.*:\1:p' "$W/cond.resp")) HTTP $code"
        return 1
    }
else
    awsf s3api delete-object --bucket "$B" --key cond.txt >/dev/null 2>&1
    cond_put() { awsf s3api put-object --bucket "$B" --key "$1" --body "$2" --if-none-match '*'; }
fi
assert_ok "put-object --if-none-match '*' of a new key" cond_put cond.txt "$W/obj.txt"
out=$(awsf s3api put-object --bucket "$B" --key cond.txt --body "$W/obj.txt" --content-type text/plain --output json 2>&1)
etag=$(json_field "$out" 'd["ETag"]')
assert_eq "put-object returns the MD5 ETag" "\"$(md5_of "$W/obj.txt")\"" "$etag"
assert_fails_with "put-object --if-none-match '*' on an existing key is 412 PreconditionFailed" \
    "(PreconditionFailed)" cond_put cond.txt "$W/hi.txt"
assert_ok "get-object after the refused overwrite" awsf s3api get-object --bucket "$B" --key cond.txt "$W/cond.out"
assert_files_equal "the refused overwrite did not change the object" "$W/obj.txt" "$W/cond.out"

assert_ok "get-object --if-match with the current ETag" \
    awsf s3api get-object --bucket "$B" --key cond.txt --if-match "$etag" "$W/m.out"
assert_files_equal "if-match body" "$W/obj.txt" "$W/m.out"
assert_fails_with "get-object --if-match with another ETag is 412" "(PreconditionFailed)" \
    awsf s3api get-object --bucket "$B" --key cond.txt --if-match '"0123456789abcdef0123456789abcdef"' "$W/x.out"
assert_fails_with "get-object --if-none-match with the current ETag is 304" "(304)" \
    awsf s3api get-object --bucket "$B" --key cond.txt --if-none-match "$etag" "$W/x.out"
assert_ok "get-object --if-none-match with another ETag is 200" \
    awsf s3api get-object --bucket "$B" --key cond.txt --if-none-match '"0123456789abcdef0123456789abcdef"' "$W/x.out"
assert_fails_with "head-object --if-none-match with the current ETag is 304" "(304)" \
    awsf s3api head-object --bucket "$B" --key cond.txt --if-none-match "$etag"

out=$(awsf s3api head-object --bucket "$B" --key cond.txt --output json 2>&1)
assert_eq "head-object ContentLength" "36" "$(json_field "$out" 'd["ContentLength"]')"
assert_eq "head-object ETag" "$etag" "$(json_field "$out" 'd["ETag"]')"
assert_eq "head-object ContentType" "text/plain" "$(json_field "$out" 'd["ContentType"]')"
# aws-cli v1 prints the HTTP date as sent, v2 an ISO 8601 time.
assert_match "head-object LastModified is a date" "$(json_field "$out" 'd["LastModified"]')" \
    '^((Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) 20[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT|20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(\+00:00|Z))$'

out=$(awsf s3api get-object --bucket "$B" --key cond.txt --range bytes=0-9 "$W/r1.out" --output json 2>&1)
assert_eq "range bytes=0-9 body" "0123456789" "$(cat "$W/r1.out" 2>/dev/null)"
assert_eq "range bytes=0-9 Content-Range" "bytes 0-9/36" "$(json_field "$out" 'd.get("ContentRange")')"
assert_eq "range bytes=0-9 ContentLength" "10" "$(json_field "$out" 'd.get("ContentLength")')"
out=$(awsf s3api get-object --bucket "$B" --key cond.txt --range bytes=-10 "$W/r2.out" --output json 2>&1)
assert_eq "range bytes=-10 body" "qrstuvwxyz" "$(cat "$W/r2.out" 2>/dev/null)"
assert_eq "range bytes=-10 Content-Range" "bytes 26-35/36" "$(json_field "$out" 'd.get("ContentRange")')"
out=$(awsf s3api get-object --bucket "$B" --key cond.txt --range bytes=30- "$W/r3.out" --output json 2>&1)
assert_eq "range bytes=30- body" "uvwxyz" "$(cat "$W/r3.out" 2>/dev/null)"
assert_fails_with "range past the end is 416 InvalidRange" "(InvalidRange)" \
    awsf s3api get-object --bucket "$B" --key cond.txt --range bytes=100-200 "$W/x.out"

assert_fails_with "get-object of a missing key is NoSuchKey" "(NoSuchKey)" \
    awsf s3api get-object --bucket "$B" --key no/such/key "$W/x.out"
assert_fails_with "head-object of a missing key is 404" "(404)" \
    awsf s3api head-object --bucket "$B" --key no/such/key

section "list-objects-v2: prefix, delimiter, max-keys pagination"
for k in pg/a/1 pg/a/2 pg/b/1 pg/c pg/d pg/e pg/f pgx; do
    awsf s3api put-object --bucket "$B" --key "$k" --body "$W/hi.txt" >/dev/null 2>&1 || fail "put $k"
done
out=$(awsf s3api list-objects-v2 --bucket "$B" --prefix pg/ --delimiter / --no-paginate --output json 2>&1)
assert_eq "delimiter: CommonPrefixes" "['pg/a/', 'pg/b/']" "$(json_field "$out" '[p["Prefix"] for p in d.get("CommonPrefixes", [])]')"
assert_eq "delimiter: Contents" "['pg/c', 'pg/d', 'pg/e', 'pg/f']" "$(json_field "$out" '[o["Key"] for o in d.get("Contents", [])]')"
assert_eq "delimiter: KeyCount counts keys and prefixes" "6" "$(json_field "$out" 'd.get("KeyCount")')"
out=$(awsf s3api list-objects-v2 --bucket "$B" --prefix pg --output json 2>&1)
assert_eq "prefix without delimiter lists every key under it" \
    "['pg/a/1', 'pg/a/2', 'pg/b/1', 'pg/c', 'pg/d', 'pg/e', 'pg/f', 'pgx']" \
    "$(json_field "$out" '[o["Key"] for o in d.get("Contents", [])]')"
out=$(awsf s3api list-objects-v2 --bucket "$B" --prefix pg/ --start-after pg/d --output json 2>&1)
assert_eq "start-after" "['pg/e', 'pg/f']" "$(json_field "$out" '[o["Key"] for o in d.get("Contents", [])]')"

# Page through with max-keys 2 by hand, following NextContinuationToken.
paged_walk() { # $1: extra args; prints "keys|prefixes|pages|bad"
    local token="" pages=0 all="" bad="" page
    for pages in $(seq 1 20); do
        if [ -n "$token" ]; then
            page=$(awsf s3api list-objects-v2 --bucket "$B" --prefix pg/ $1 --max-keys 2 --no-paginate \
                --continuation-token "$token" --output json 2>&1)
        else
            page=$(awsf s3api list-objects-v2 --bucket "$B" --prefix pg/ $1 --max-keys 2 --no-paginate --output json 2>&1)
        fi
        local r
        r=$(python3 -c 'import json,sys
d = json.loads(sys.argv[1])
items = [o["Key"] for o in d.get("Contents", [])] + [p["Prefix"] for p in d.get("CommonPrefixes", [])]
bad = []
if len(items) > 2: bad.append("page has %d items" % len(items))
if d.get("KeyCount") != len(items): bad.append("KeyCount %s != %d" % (d.get("KeyCount"), len(items)))
if d.get("MaxKeys") != 2: bad.append("MaxKeys %s" % d.get("MaxKeys"))
if d.get("IsTruncated") and not d.get("NextContinuationToken"): bad.append("truncated without token")
print(" ".join(items)); print(d.get("NextContinuationToken", "") if d.get("IsTruncated") else ""); print(";".join(bad))' "$page" 2>&1)
        all="$all $(sed -n 1p <<<"$r")"
        bad="$bad$(sed -n 3p <<<"$r")"
        token=$(sed -n 2p <<<"$r")
        [ -n "$token" ] || break
    done
    echo "$(tr ' ' '\n' <<<"$all" | sed '/^$/d' | LC_ALL=C sort | tr '\n' ' ')|$pages|$bad"
}
r=$(paged_walk "")
assert_eq "max-keys 2 pages cover every key once" "pg/a/1 pg/a/2 pg/b/1 pg/c pg/d pg/e pg/f " "${r%%|*}"
assert_eq "max-keys 2: 7 keys take 4 pages" "4" "$(cut -d'|' -f2 <<<"$r")"
assert_eq "max-keys 2: pages well-formed" "" "$(cut -d'|' -f3 <<<"$r")"
r=$(paged_walk "--delimiter /")
assert_eq "max-keys 2 with delimiter covers keys and prefixes once" "pg/a/ pg/b/ pg/c pg/d pg/e pg/f " "${r%%|*}"
assert_eq "max-keys 2 with delimiter: 6 items take 3 pages" "3" "$(cut -d'|' -f2 <<<"$r")"
assert_eq "max-keys 2 with delimiter: pages well-formed" "" "$(cut -d'|' -f3 <<<"$r")"
# list-objects (v1) with a marker, still used by old tools.
out=$(awsf s3api list-objects --bucket "$B" --prefix pg/ --max-keys 3 --no-paginate --output json 2>&1)
assert_eq "list-objects v1 first page" "['pg/a/1', 'pg/a/2', 'pg/b/1'] True" \
    "$(json_field "$out" '[o["Key"] for o in d.get("Contents", [])], d.get("IsTruncated")')"
out=$(awsf s3api list-objects --bucket "$B" --prefix pg/ --marker pg/b/1 --no-paginate --output json 2>&1)
assert_eq "list-objects v1 with marker" "['pg/c', 'pg/d', 'pg/e', 'pg/f']" \
    "$(json_field "$out" '[o["Key"] for o in d.get("Contents", [])]')"

section "delete-objects"
out=$(awsf s3api delete-objects --bucket "$B" --output json \
    --delete '{"Objects":[{"Key":"pg/c"},{"Key":"pg/d"},{"Key":"pg/never-existed"}]}' 2>&1)
assert_eq "delete-objects reports each key deleted (missing keys too)" "['pg/c', 'pg/d', 'pg/never-existed'] []" \
    "$(json_field "$out" 'sorted(x["Key"] for x in d.get("Deleted", [])), d.get("Errors", [])')"
assert_eq "deleted keys are gone from the listing" "pg/a/1 pg/a/2 pg/b/1 pg/e pg/f " "$(s3_keys "$B" pg/ | tr '\n' ' ')"
out=$(awsf s3api delete-objects --bucket "$B" --output json --delete '{"Objects":[{"Key":"pg/e"}],"Quiet":true}' 2>&1)
assert_eq "quiet delete-objects lists nothing" "[] []" "$(json_field "$out" 'd.get("Deleted", []), d.get("Errors", [])')"
assert_fails_with "quiet-deleted key is gone" "(404)" awsf s3api head-object --bucket "$B" --key pg/e

section "copy-object"
awsf s3api put-object --bucket "$B" --key src.txt --body "$W/obj.txt" --content-type text/x-src \
    --metadata colour=blue,shape=round >/dev/null 2>&1 || fail "put src.txt"
assert_ok "copy-object (default COPY directive)" awsf s3api copy-object --bucket "$B" --key copy1.txt --copy-source "$B/src.txt"
out=$(awsf s3api head-object --bucket "$B" --key copy1.txt --output json 2>&1)
assert_eq "COPY keeps the metadata" "{'colour': 'blue', 'shape': 'round'} text/x-src" \
    "$(json_field "$out" 'dict(sorted(d.get("Metadata", {}).items())), d.get("ContentType")')"
assert_eq "copy has the source ETag" "$etag" "$(json_field "$out" 'd.get("ETag")')"
out=$(awsf s3api copy-object --bucket "$B" --key "copy dir/copy2+.txt" --copy-source "$B/src.txt" \
    --metadata-directive REPLACE --metadata fresh=yes --content-type text/x-new --output json 2>&1)
assert_eq "copy-object returns the ETag in CopyObjectResult" "$etag" "$(json_field "$out" 'd["CopyObjectResult"]["ETag"]')"
out=$(awsf s3api head-object --bucket "$B" --key "copy dir/copy2+.txt" --output json 2>&1)
assert_eq "REPLACE sets the new metadata and content type" "{'fresh': 'yes'} text/x-new" \
    "$(json_field "$out" 'd.get("Metadata"), d.get("ContentType")')"
awsf s3api get-object --bucket "$B" --key "copy dir/copy2+.txt" "$W/copy2.out" >/dev/null 2>&1
assert_files_equal "copied bytes" "$W/obj.txt" "$W/copy2.out"
assert_ok "copy-object from a key with a space and '+'" \
    awsf s3api copy-object --bucket "$B" --key copy4.txt --copy-source "$B/copy dir/copy2+.txt"
awsf s3api get-object --bucket "$B" --key copy4.txt "$W/copy4.out" >/dev/null 2>&1
assert_files_equal "copied bytes from an awkward source key" "$W/obj.txt" "$W/copy4.out"
assert_fails_with "copy from a missing key is NoSuchKey" "(NoSuchKey)" \
    awsf s3api copy-object --bucket "$B" --key c3 --copy-source "$B/none-such"
assert_ok "s3 cp between keys (server-side copy)" awsf s3 cp --only-show-errors "s3://$B/src.txt" "s3://$B/unicode-é/copied.txt"
awsf s3api get-object --bucket "$B" --key "unicode-é/copied.txt" "$W/copy3.out" >/dev/null 2>&1
assert_files_equal "s3 cp s3->s3 bytes" "$W/obj.txt" "$W/copy3.out"

section "bucket deletion"
assert_fails_with "delete-bucket of a non-empty bucket is BucketNotEmpty" "(BucketNotEmpty)" \
    awsf s3api delete-bucket --bucket "$B"
assert_ok "s3 rb --force empties and removes the bucket" awsf s3 rb --force "s3://$B"
assert_fails_with "head-bucket after delete is 404" "(404)" awsf s3api head-bucket --bucket "$B"
assert_fails_with "delete-bucket of a missing bucket is NoSuchBucket" "(NoSuchBucket)" \
    awsf s3api delete-bucket --bucket "$B"
assert_ok "create-bucket then delete-bucket of an empty bucket" awsf s3api create-bucket --bucket empty-e2e
assert_ok "delete-bucket of an empty bucket" awsf s3api delete-bucket --bucket empty-e2e

section "credentials"
assert_fails_with "a wrong secret is SignatureDoesNotMatch" "(SignatureDoesNotMatch)" \
    env AWS_SECRET_ACCESS_KEY=wrong-secret-0000 aws --endpoint-url "$S3_URL" s3api list-buckets
assert_fails_with "an unknown access key is InvalidAccessKeyId" "(InvalidAccessKeyId)" \
    env AWS_ACCESS_KEY_ID=NOSUCHKEY aws --endpoint-url "$S3_URL" s3api list-buckets
assert_fails_with "an unsigned request is refused" "(AccessDenied)" \
    awsf --no-sign-request s3api list-buckets

floe_stop
e2e_finish
