#!/usr/bin/env bash
# test_rclone.sh: rclone (s3 backend, provider Other, path style) syncs a
# tree of ~200 files of assorted sizes (one of 20 MiB, sent as a multipart
# upload) up to `floe serve` and back down, then again after local changes.
# Every round trip is compared byte for byte, and `rclone check` compares the
# MD5s the server reports with the local files.
. "$(dirname "$0")/lib.sh"

floe_start "$E2E_TMP/data" --fsync false || e2e_finish
aws_env # rclone's S3 SDK reads AWS_* too (AWS_CA_BUNDLE breaks plain http)

# The remote "floe:" comes from the environment only; an empty config file
# keeps the host's rclone.conf out.
: >"$E2E_TMP/rclone.conf"
export RCLONE_CONFIG=$E2E_TMP/rclone.conf
export RCLONE_CONFIG_FLOE_TYPE=s3
export RCLONE_CONFIG_FLOE_PROVIDER=Other
export RCLONE_CONFIG_FLOE_ENV_AUTH=false
export RCLONE_CONFIG_FLOE_ACCESS_KEY_ID=$E2E_AK
export RCLONE_CONFIG_FLOE_SECRET_ACCESS_KEY=$E2E_SK
export RCLONE_CONFIG_FLOE_REGION=$E2E_REGION
export RCLONE_CONFIG_FLOE_ENDPOINT=$S3_URL
export RCLONE_CONFIG_FLOE_FORCE_PATH_STYLE=true
rc() {
    timeout 300 rclone --transfers 4 --checkers 8 --retries 1 --low-level-retries 1 --contimeout 5s \
        --timeout 60s --s3-upload-cutoff 5M --s3-chunk-size 5M --s3-upload-concurrency 2 "$@"
}

SRC=$E2E_TMP/src
python3 - "$SRC" <<'EOF'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(20240601)
dirs = ["", "a", "a/b", "a/b/c", "deep/er/than/that", "with space", "ünïcode", "x+y"]
sizes = [0, 1, 17, 100, 1000, 4096, 10_000, 65_536, 100_000, 300_000, 1_000_000, 3_000_000]
n = 0
for i in range(199):
    d = dirs[i % len(dirs)]
    os.makedirs(os.path.join(root, d), exist_ok=True)
    size = rnd.choice(sizes)
    name = "f%03d%s.bin" % (i, rnd.choice(["", " copy", "-é", "+plus", "(1)"]))
    with open(os.path.join(root, d, name), "wb") as f:
        f.write(rnd.randbytes(size))
with open(os.path.join(root, "a", "big-20m.bin"), "wb") as f:
    f.write(os.urandom(20 * 1024 * 1024 + 333))
EOF
nfiles=$(find "$SRC" -type f | wc -l)
section "local tree: $nfiles files, $(du -sh "$SRC" | cut -f1)"

assert_ok "rclone mkdir creates the bucket" rc mkdir floe:rclone-e2e
assert_ok "rclone sync up ($nfiles files)" rc sync "$SRC" floe:rclone-e2e/tree
assert_ok "rclone check: sizes and MD5s match" rc check "$SRC" floe:rclone-e2e/tree
remote=$(rc lsf -R --files-only floe:rclone-e2e/tree 2>&1 | LC_ALL=C sort)
assert_eq "rclone lsf lists every file" "$(cd "$SRC" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)" "$remote"
out=$(rc md5sum floe:rclone-e2e/tree/a/big-20m.bin 2>&1)
assert_eq "the 20 MiB multipart object has its MD5 (from rclone's metadata)" "$(md5_of "$SRC/a/big-20m.bin")" "${out%% *}"

DOWN=$E2E_TMP/down
assert_ok "rclone sync down into an empty dir" rc sync floe:rclone-e2e/tree "$DOWN"
assert_dirs_equal "downloaded tree equals the local tree" "$SRC" "$DOWN"
f=$(cd "$SRC" && find . -type f -name '*.bin' | head -1)
assert_eq "modification time survives the round trip (x-amz-meta-mtime)" \
    "$(stat -c %Y "$SRC/$f")" "$(stat -c %Y "$DOWN/$f")"

assert_ok "rclone sync --dry-run a second time" rc sync --dry-run "$SRC" floe:rclone-e2e/tree
assert_not_contains "a second sync has nothing to copy" "$OUT" "Skipped copy"
assert_not_contains "a second sync has nothing to delete" "$OUT" "Skipped delete"

section "change the local tree: modify, delete, add, rename"
python3 - "$SRC" <<'EOF'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(7)
files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(root) for f in fs if "big-20m" not in f)
for p in files[0:60:6]:          # 10 files get new content and a new size
    with open(p, "wb") as f:
        f.write(rnd.randbytes(rnd.choice([0, 5, 5000, 200_000])))
for p in files[1:80:8]:          # 10 files are deleted
    os.remove(p)
for i in range(5):               # 5 new files
    with open(os.path.join(root, "a", "b", "new-%d.txt" % i), "wb") as f:
        f.write(b"new file %d\n" % i * (i * 1000 + 1))
os.rename(os.path.join(root, "deep"), os.path.join(root, "moved deep"))
# Same size, new content: only the time and the hash tell.
p = files[2]
if os.path.exists(p):
    size = os.path.getsize(p)
    with open(p, "wb") as f:
        f.write(rnd.randbytes(size))
    os.utime(p, (os.path.getmtime(p) + 10, os.path.getmtime(p) + 10))
EOF
assert_ok "rclone sync up after the changes" rc sync "$SRC" floe:rclone-e2e/tree
assert_ok "rclone check after the changes" rc check "$SRC" floe:rclone-e2e/tree
remote=$(rc lsf -R --files-only floe:rclone-e2e/tree 2>&1 | LC_ALL=C sort)
assert_eq "deleted and renamed files are gone from the bucket" \
    "$(cd "$SRC" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)" "$remote"
assert_ok "rclone sync down into the old copy (incremental)" rc sync floe:rclone-e2e/tree "$DOWN"
find "$DOWN" -mindepth 1 -type d -empty -delete # directories are not objects
assert_dirs_equal "incrementally synced tree equals the changed tree" "$SRC" "$DOWN"
DOWN2=$E2E_TMP/down2
assert_ok "rclone sync down into a fresh dir" rc sync floe:rclone-e2e/tree "$DOWN2"
assert_dirs_equal "fresh download equals the changed tree" "$SRC" "$DOWN2"

assert_ok "rclone purge removes the tree and bucket" rc purge floe:rclone-e2e
assert_ok "rclone lsd lists the buckets" rc lsd floe:
assert_not_contains "the bucket is gone" "$OUT" "rclone-e2e"

floe_stop
e2e_finish
