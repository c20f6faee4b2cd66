#!/usr/bin/env bash
# test_avro.sh: Floe's Avro codec against two real peers, python3-avro
# (Debian) and avsc (npm), in both directions, compared record by record.
#
#   1. avro_peer.py gen: six cases (every primitive with edge values, an
#      Iceberg manifest and manifest list with field-ids, nested complex
#      types with a recursive record, logical types, 5000 rows) as schema,
#      JSON records and expected values; python3-avro writes each case with
#      codecs null, deflate, snappy and zstandard.
#   2. `floe avro write` writes each case with each codec (small blocks);
#      python3-avro reads every file and avsc the null and deflate ones.
#   3. avsc writes each case (null, deflate); `floe avro cat` reads every
#      python3-avro and avsc file, and the output is compared.
#   4. `floe avro meta|schema` keep Iceberg's metadata and field-ids, and a
#      truncated or foreign file fails with the file, the offset and why.
# No server is started.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3 # Debian's python, which has python3-avro
D=$E2E_TMP/avro
mkdir -p "$D"
CASES=(prims manifest manifest_list complex logical many)
CODECS=(null deflate snappy zstandard)

# peer WHAT CMD...: runs a peer script whose lines are "  ok ..." or
# "  FAIL ...", shows them and counts them into the tally.
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

if ! "$PY" -c 'import avro, snappy, zstandard' 2>/dev/null; then
    fail "$PY cannot import avro, snappy and zstandard (apt-get install python3-avro python3-snappy python3-zstandard)"
    e2e_finish
fi
if [ ! -d "$E2E_DIR/node_modules/avsc" ]; then
    fail "tests/e2e/node_modules/avsc is missing (make deps)"
    e2e_finish
fi

section "python3-avro writes the cases"
assert_ok "avro_peer.py gen" "$PY" "$E2E_DIR/avro_peer.py" gen "$D" || e2e_finish

section "floe avro write, read by python3-avro and avsc"
for c in "${CASES[@]}"; do
    for codec in "${CODECS[@]}"; do
        assert_ok "floe avro write $c $codec" "$FLOE_BIN" avro write --schema "$D/$c.avsc" --codec "$codec" \
            --block-bytes 1000 --meta format-version=2 "$D/$c.jsonl" "$D/floe-$c-$codec.avro"
    done
done
peer "python3-avro read" "$PY" "$E2E_DIR/avro_peer.py" read "$D"
peer "avsc" node "$E2E_DIR/avro_peer.mjs" "$D"

section "floe avro cat reads python3-avro and avsc files"
for f in "$D"/py-*.avro "$D"/node-*.avro; do
    assert_ok "floe avro cat $(basename "$f")" "$FLOE_BIN" avro cat "$f" --format json && printf '%s\n' "$OUT" >"$f.cat"
done
peer "floe avro cat" "$PY" "$E2E_DIR/avro_peer.py" cat "$D"

section "metadata, schema and errors"
assert_ok "floe avro meta" "$FLOE_BIN" avro meta "$D/py-manifest-deflate.avro"
assert_contains "meta keeps format-version" "$OUT" '"format-version":"2"'
assert_contains "meta prints binary values as code points" "$OUT" '"binary-meta":"\u0000\u0001'
assert_contains "meta names the codec" "$OUT" '"avro.codec":"deflate"'
assert_ok "floe avro schema" "$FLOE_BIN" avro schema "$D/floe-manifest-null.avro"
assert_contains "schema keeps field-id" "$OUT" '"field-id": 125'
assert_contains "schema keeps logicalType map" "$OUT" '"logicalType": "map"'
assert_ok "floe avro cat --schema" "$FLOE_BIN" avro cat --schema "$D/py-many-null.avro"
assert_contains "cat --schema prints the schema" "$OUT" '"name": "row"'

size=$(stat -c %s "$D/floe-many-null.avro")
head -c $((size - 100)) "$D/floe-many-null.avro" >"$D/truncated.avro"
assert_fails_with "a truncated file fails naming the file and offset" "truncated.avro: at byte " \
    "$FLOE_BIN" avro cat "$D/truncated.avro"
"$FLOE_BIN" avro cat "$D/truncated.avro" >/dev/null 2>&1
assert_eq "exit status 1 on a bad file" 1 $?
assert_fails_with "a JSON file is not Avro" "expected the Avro container magic" \
    "$FLOE_BIN" avro cat "$E2E_DIR/package.json"
assert_fails_with "a missing file" "open $D/nope.avro" "$FLOE_BIN" avro cat "$D/nope.avro"
printf '{"id": "x", "name": "a", "score": null}\n' >"$D/bad.jsonl"
assert_fails_with "write names the line and field" "bad.jsonl line 1: id: expected an integer" \
    "$FLOE_BIN" avro write --schema "$D/many.avsc" "$D/bad.jsonl" "$D/bad.avro"
[ ! -e "$D/bad.avro" ]
assert_eq "a failed write leaves no file" 0 $?

e2e_finish
