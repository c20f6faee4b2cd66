#!/usr/bin/env bash
# make_avro_corpus.sh: regenerates the seed corpus of fuzz_avro
# (tests/fuzz/corpus/avro/) with Floe's own writer: small container files
# (byte 0 = 0) with every codec and assorted schemas, and schemas on their
# own (byte 0 = 1). Needs a built floe: FLOE_BIN (default build/floe).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
FLOE_BIN=${FLOE_BIN:-$root/build/floe}
out=$root/tests/fuzz/corpus/avro
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
rm -f "$out"/*

# name|schema|records (one per line, Avro JSON encoding)
cases=(
'long|"long"|1
-1
9223372036854775807'
'prims|{"type":"record","name":"p","fields":[{"name":"n","type":"null"},{"name":"b","type":"boolean"},{"name":"i","type":"int"},{"name":"f","type":"float"},{"name":"d","type":"double"},{"name":"s","type":"string"},{"name":"y","type":"bytes"}]}|{"n":null,"b":true,"i":-5,"f":1.5,"d":"NaN","s":"h\u00e9","y":"\u0000\u00ff"}
{"n":null,"b":false,"i":2147483647,"f":"-Infinity","d":0.1,"s":"","y":""}'
'nested|{"type":"record","name":"a","fields":[{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"]}},{"name":"m","type":{"type":"map","values":{"type":"array","items":["null","int","E"]}}},{"name":"x","type":{"type":"fixed","name":"F","size":3}},{"name":"r","type":{"type":"record","name":"b","fields":[{"name":"c","type":{"type":"record","name":"c","fields":[{"name":"v","type":["null","long"]}]}}]}}]}|{"e":"Y","m":{"k":[null,{"int":3},{"E":"X"}],"":[]},"x":"abc","r":{"c":{"v":{"long":7}}}}
{"e":"X","m":{},"x":"\u0000\u0001\u0002","r":{"c":{"v":null}}}'
'manifest|{"type":"record","name":"manifest_entry","fields":[{"name":"status","type":"int","field-id":0},{"name":"snapshot_id","type":["null","long"],"default":null,"field-id":1},{"name":"data_file","field-id":2,"type":{"type":"record","name":"r2","fields":[{"name":"file_path","type":"string","field-id":100},{"name":"partition","field-id":102,"type":{"type":"record","name":"r102","fields":[{"name":"d","type":["null",{"type":"int","logicalType":"date"}],"field-id":1000}]}},{"name":"record_count","type":"long","field-id":103},{"name":"column_sizes","type":["null",{"type":"array","logicalType":"map","items":{"type":"record","name":"k117_v118","fields":[{"name":"key","type":"int","field-id":117},{"name":"value","type":"long","field-id":118}]}}],"default":null,"field-id":108},{"name":"lower_bounds","type":["null",{"type":"array","logicalType":"map","items":{"type":"record","name":"k126_v127","fields":[{"name":"key","type":"int","field-id":126},{"name":"value","type":"bytes","field-id":127}]}}],"default":null,"field-id":125}]}}]}|{"status":1,"snapshot_id":{"long":99},"data_file":{"file_path":"s3://b/f.parquet","partition":{"d":{"int":19000}},"record_count":10,"column_sizes":{"array":[{"key":1,"value":40}]},"lower_bounds":{"array":[{"key":1,"value":"\u0001\u0000"}]}}}
{"status":2,"snapshot_id":null,"data_file":{"file_path":"x","partition":{"d":null},"record_count":0,"column_sizes":null,"lower_bounds":null}}'
'recursive|{"type":"record","name":"node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","node"]}]}|{"v":1,"next":{"node":{"v":2,"next":null}}}'
)
for c in "${cases[@]}"; do
    name=${c%%|*}
    rest=${c#*|}
    schema=${rest%%|*}
    records=${rest#*|}
    printf '%s' "$schema" >"$tmp/$name.avsc"
    printf '%s\n' "$records" >"$tmp/$name.jsonl"
    printf '\001%s' "$schema" >"$out/schema-$name"
    for codec in null deflate snappy zstandard; do
        "$FLOE_BIN" avro write --schema "$tmp/$name.avsc" --codec "$codec" --block-bytes 16 \
            --meta k=v "$tmp/$name.jsonl" "$tmp/$name.$codec.avro"
        { printf '\000'; cat "$tmp/$name.$codec.avro"; } >"$out/file-$name-$codec"
    done
done
ls "$out" | wc -l
