#!/usr/bin/env bash
# make_iceberg_corpus.sh: regenerates the seed corpus of fuzz_iceberg_meta
# (tests/fuzz/corpus/iceberg_meta/): the table metadata files of the unit
# tests (byte 0 = 0), and the manifest (byte 0 = 1) and manifest list
# (byte 0 = 2) that `floe iceberg-debug write-manifest` writes. Needs a
# built floe: FLOE_BIN (default build/floe).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
FLOE_BIN=${FLOE_BIN:-$root/build/floe}
out=$root/tests/fuzz/corpus/iceberg_meta
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
rm -f "$out"/*

# seed NAME BYTE FILE: the target byte, then the file
seed() { { printf "\\x$2"; cat "$3"; } >"$out/$1"; }

for f in "$root"/tests/unit/iceberg/data/meta/*.json; do
    seed "meta-$(basename "$f" .json)" 00 "$f"
done
"$FLOE_BIN" iceberg-debug write-manifest "$tmp"
seed manifest 01 "$tmp/m0.avro"
seed manifest-list 02 "$tmp/snap.avro"
echo "wrote $(ls "$out" | wc -l) seeds to $out"
