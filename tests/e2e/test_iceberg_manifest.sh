#!/usr/bin/env bash
# test_iceberg_manifest.sh: Floe's Iceberg manifests and manifest lists
# against python3-avro (Debian), field by field, both ways.
#
#   1. `floe iceberg-debug write-manifest` writes a manifest (three entries of
#      a table partitioned by day, bucket, identity on string, decimal and
#      uuid) and its manifest list; iceberg_manifest_peer.py check reads them
#      with python3-avro and checks every v2 field, its field-id and type,
#      Java's record names, the key-value metadata (schema, schema-id,
#      partition-spec, partition-spec-id, format-version, content; snapshot-id,
#      parent-snapshot-id, sequence-number) and every value, partition tuples
#      and summaries included.
#   2. python3-avro writes manifests with Java's v2 layout (codecs null,
#      deflate, snappy; one with fields of a later writer) and a manifest
#      list with Java's field names; `floe iceberg-debug read-manifest`
#      reads them with inheritance from the list, and the peer compares.
#   3. Reading a manifest list as a manifest fails naming the file.
# No server is started.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3 # Debian's python, which has python3-avro
D=$E2E_TMP/manifests
mkdir -p "$D"

# peer WHAT CMD...: runs the peer, shows its lines and counts them.
peer() {
    local what=$1 out rc=0
    shift
    out=$("$@" 2>&1) || rc=$?
    printf '%s\n' "$out"
    E2E_PASS=$((E2E_PASS + $(grep -c '^  ok ' <<<"$out")))
    E2E_FAIL=$((E2E_FAIL + $(grep -c '^  FAIL ' <<<"$out")))
    if [ $rc -ne 0 ] && ! grep -q '^  FAIL ' <<<"$out"; then
        fail "$what exited $rc"
    fi
}

if ! "$PY" -c 'import avro, snappy' 2>/dev/null; then
    fail "$PY cannot import avro and snappy (apt-get install python3-avro python3-snappy)"
    e2e_finish
fi

section "floe writes a manifest and a manifest list; python3-avro checks them"
assert_ok "floe iceberg-debug write-manifest" "$FLOE_BIN" iceberg-debug write-manifest "$D" || e2e_finish
peer "check" "$PY" "$E2E_DIR/iceberg_manifest_peer.py" check "$D"

section "python3-avro writes Java-shaped manifests; floe reads them"
peer "gen" "$PY" "$E2E_DIR/iceberg_manifest_peer.py" gen "$D"
for f in "$D"/py-manifest*.avro; do
    assert_ok "floe reads $(basename "$f")" "$FLOE_BIN" iceberg-debug read-manifest "$f" 9 77 4 &&
        printf '%s\n' "$OUT" >"$f.floe"
done
assert_ok "floe reads py-list-deflate.avro" "$FLOE_BIN" iceberg-debug read-manifest-list "$D/py-list-deflate.avro" &&
    printf '%s\n' "$OUT" >"$D/py-list-deflate.avro.floe"
peer "compare" "$PY" "$E2E_DIR/iceberg_manifest_peer.py" compare "$D"

section "errors"
assert_fails_with "a manifest list is not a manifest" "snap.avro: not an Iceberg manifest" \
    "$FLOE_BIN" iceberg-debug read-manifest "$D/snap.avro"

e2e_finish
