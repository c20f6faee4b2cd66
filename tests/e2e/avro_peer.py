"""avro_peer.py: the python3-avro side of tests/e2e/test_avro.sh.

Runs under Debian's /usr/bin/python3, which has python3-avro (and snappy
and zstandard for its codecs).

  gen DIR      writes the test cases: DIR/<case>.avsc (schema),
               DIR/<case>.jsonl (records in the Avro JSON encoding, for
               `floe avro write`), DIR/<case>.expect.json (the records in the
               canonical form below), and files python3-avro writes itself:
               DIR/py-<case>-<codec>.avro for codecs null, deflate, snappy and
               zstandard.
  read DIR     reads every DIR/floe-<case>-<codec>.avro with python3-avro and
               compares each record with DIR/<case>.expect.json.
  cat DIR      compares every DIR/<file>.avro.cat (the output of
               `floe avro cat`) with the expected records of its case.

The canonical form is JSON that every peer can produce exactly: longs as
decimal strings (JavaScript numbers cannot hold them), bytes and fixed as
hex, floats rounded to 32 bits, NaN and infinities as strings, unions as
{"branch": value} with null bare, logical types as their raw values.
Every check prints "ok ..." or "FAIL ..."; the exit status is 1 on any FAIL.
"""

import datetime
import decimal
import glob
import io
import json
import math
import os
import random
import struct
import sys
import uuid
import warnings

warnings.simplefilter("ignore")  # python3-avro warns about logicalType "map"

import avro.datafile  # noqa: E402
import avro.io  # noqa: E402
import avro.schema  # noqa: E402

CODECS = ["null", "deflate", "snappy", "zstandard"]
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

# ------------------------------------------------------------------ cases


def kv(name, kid, vid, vtype):
    return {"type": "array", "logicalType": "map", "items": {
        "type": "record", "name": name, "fields": [
            {"name": "key", "type": "int", "field-id": kid},
            {"name": "value", "type": vtype, "field-id": vid}]}}


def opt(t):
    return ["null", t]


PRIMS = {"type": "record", "name": "prims", "namespace": "floe.test", "fields": [
    {"name": "n", "type": "null"},
    {"name": "b", "type": "boolean"},
    {"name": "i", "type": "int"},
    {"name": "l", "type": "long"},
    {"name": "f", "type": "float"},
    {"name": "d", "type": "double"},
    {"name": "by", "type": "bytes"},
    {"name": "s", "type": "string"},
]}


def prims_records():
    rnd = random.Random(1)
    ints = [0, 1, -1, 63, 64, -64, -65, 2**31 - 1, -2**31]
    longs = [0, 2**53 + 1, -2**53 - 1, 2**63 - 1, -2**63, 1234567890123]
    floats = [0.0, 0.1, -1.5, 3.4e38, 1e-45, float("inf"), float("-inf"), float("nan")]
    doubles = [0.0, 0.1, 1e300, -2.5e-308, 5e-324, float("inf"), float("nan"), 123456789.123456789]
    strings = ["", "plain", "h\u00e9llo", "\u65e5\u672c", "emoji \U0001F600", "quote \" back \\ nl \n tab \t", "\x01\x7f"]
    out = []
    for k in range(40):
        out.append({
            "n": None, "b": k % 2 == 0,
            "i": ints[k % len(ints)] if k < 20 else rnd.randint(-2**31, 2**31 - 1),
            "l": longs[k % len(longs)] if k < 20 else rnd.randint(-2**63, 2**63 - 1),
            "f": floats[k % len(floats)], "d": doubles[k % len(doubles)],
            "by": bytes(range(256)) if k == 0 else bytes(rnd.randrange(256) for _ in range(k % 9)),
            "s": strings[k % len(strings)],
        })
    return out


MANIFEST = {"type": "record", "name": "manifest_entry", "fields": [
    {"name": "status", "type": "int", "field-id": 0},
    {"name": "snapshot_id", "type": opt("long"), "default": None, "field-id": 1},
    {"name": "sequence_number", "type": opt("long"), "default": None, "field-id": 3},
    {"name": "file_sequence_number", "type": opt("long"), "default": None, "field-id": 4},
    {"name": "data_file", "field-id": 2, "type": {"type": "record", "name": "r2", "fields": [
        {"name": "content", "type": "int", "field-id": 134, "doc": "Contents of the file"},
        {"name": "file_path", "type": "string", "field-id": 100},
        {"name": "file_format", "type": "string", "field-id": 101},
        {"name": "partition", "field-id": 102, "type": {"type": "record", "name": "r102", "fields": [
            {"name": "ts_day", "type": opt({"type": "int", "logicalType": "date"}), "default": None, "field-id": 1000},
            {"name": "region", "type": opt("string"), "default": None, "field-id": 1001}]}},
        {"name": "record_count", "type": "long", "field-id": 103},
        {"name": "file_size_in_bytes", "type": "long", "field-id": 104},
        {"name": "column_sizes", "type": opt(kv("k117_v118", 117, 118, "long")), "default": None, "field-id": 108},
        {"name": "value_counts", "type": opt(kv("k119_v120", 119, 120, "long")), "default": None, "field-id": 109},
        {"name": "lower_bounds", "type": opt(kv("k126_v127", 126, 127, "bytes")), "default": None, "field-id": 125},
        {"name": "upper_bounds", "type": opt(kv("k129_v130", 129, 130, "bytes")), "default": None, "field-id": 128},
        {"name": "key_metadata", "type": opt("bytes"), "default": None, "field-id": 131},
        {"name": "split_offsets", "type": opt({"type": "array", "items": "long", "element-id": 133}),
         "default": None, "field-id": 132},
        {"name": "sort_order_id", "type": opt("int"), "default": None, "field-id": 140}]}}]}


def manifest_records():
    rnd = random.Random(2)
    out = []
    for k in range(60):
        ncols = k % 5
        out.append({
            "status": k % 3,
            "snapshot_id": None if k % 4 == 0 else 8000000000000000000 + k,
            "sequence_number": None if k % 2 else k,
            "file_sequence_number": None,
            "data_file": {
                "content": 0, "file_path": "s3://warehouse/db/t/data/ts_day=2024-01-%02d/%05d.parquet" % (k % 28 + 1, k),
                "file_format": "PARQUET",
                "partition": {"ts_day": None if k == 7 else datetime.date(2024, 1, 1) + datetime.timedelta(days=k),
                              "region": ["eu", "us", None][k % 3]},
                "record_count": rnd.randint(0, 2**40), "file_size_in_bytes": rnd.randint(1, 2**34),
                "column_sizes": None if k == 5 else [{"key": c + 1, "value": rnd.randint(0, 2**33)} for c in range(ncols)],
                "value_counts": [{"key": c + 1, "value": rnd.randint(0, 2**33)} for c in range(ncols)],
                "lower_bounds": [{"key": c + 1, "value": struct.pack("<q", -k * 1000 - c)} for c in range(ncols)],
                "upper_bounds": None if k % 6 == 0 else [{"key": 1, "value": b"\xff" * (k % 17)}],
                "key_metadata": None if k % 10 else bytes([k, 0, 255]),
                "split_offsets": None if k % 3 else [4, 1 << 20, (1 << 40) + k],
                "sort_order_id": None if k % 2 else 0,
            }})
    return out


MANIFEST_LIST = {"type": "record", "name": "manifest_file", "fields": [
    {"name": "manifest_path", "type": "string", "field-id": 500},
    {"name": "manifest_length", "type": "long", "field-id": 501},
    {"name": "partition_spec_id", "type": "int", "field-id": 502},
    {"name": "content", "type": "int", "field-id": 517},
    {"name": "sequence_number", "type": "long", "field-id": 515},
    {"name": "added_snapshot_id", "type": "long", "field-id": 503},
    {"name": "added_files_count", "type": "int", "field-id": 504},
    {"name": "partitions", "type": opt({"type": "array", "element-id": 508, "items": {
        "type": "record", "name": "r508", "fields": [
            {"name": "contains_null", "type": "boolean", "field-id": 509},
            {"name": "contains_nan", "type": opt("boolean"), "default": None, "field-id": 518},
            {"name": "lower_bound", "type": opt("bytes"), "default": None, "field-id": 510},
            {"name": "upper_bound", "type": opt("bytes"), "default": None, "field-id": 511}]}}),
     "default": None, "field-id": 507},
    {"name": "key_metadata", "type": opt("bytes"), "default": None, "field-id": 519}]}


def manifest_list_records():
    out = []
    for k in range(12):
        out.append({
            "manifest_path": "s3://warehouse/db/t/metadata/%d-m0.avro" % k, "manifest_length": 6000 + k,
            "partition_spec_id": 0, "content": k % 2, "sequence_number": k, "added_snapshot_id": 2**62 + k,
            "added_files_count": k,
            "partitions": None if k == 3 else [{"contains_null": bool(k % 2), "contains_nan": None if k % 3 else False,
                                                "lower_bound": struct.pack("<i", 19000 + k), "upper_bound": None}],
            "key_metadata": None})
    return out


COMPLEX = {"type": "record", "name": "complex", "fields": [
    {"name": "e", "type": {"type": "enum", "name": "suit", "symbols": ["SPADES", "HEARTS", "DIAMONDS", "CLUBS"]}},
    {"name": "fx", "type": {"type": "fixed", "name": "md5", "size": 16}},
    {"name": "m", "type": {"type": "map", "values": {"type": "array", "items": [
        "null", "int", "string", {"type": "record", "name": "pt", "fields": [
            {"name": "x", "type": "double"}, {"name": "y", "type": "double"}]}]}}},
    {"name": "mm", "type": {"type": "map", "values": {"type": "map", "values": "suit"}}},
    {"name": "list", "type": ["null", {"type": "record", "name": "node", "fields": [
        {"name": "v", "type": "long"}, {"name": "next", "type": ["null", "node"]}]}]},
    {"name": "same", "type": "md5"},
]}


def complex_records():
    out = []
    for k in range(25):
        chain = None
        for d in range(k % 6):
            chain = {"v": d * 1000000007, "next": chain}
        out.append({
            "e": ["SPADES", "HEARTS", "DIAMONDS", "CLUBS"][k % 4],
            "fx": bytes((k + i) % 256 for i in range(16)),
            "m": {} if k % 5 == 0 else {"a%d" % k: [None, k, "s%d" % k, {"x": k / 3, "y": -k * 1e10}], "": []},
            "mm": {"outer": {"in": "CLUBS", "\u00e9": "SPADES"}} if k % 2 else {},
            "list": chain, "same": b"\x00" * 16,
        })
    return out


LOGICAL = {"type": "record", "name": "logical", "fields": [
    {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "tm", "type": {"type": "long", "logicalType": "time-micros"}},
    {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
    {"name": "u", "type": {"type": "string", "logicalType": "uuid"}},
]}


def logical_records():
    out = []
    for k in range(20):
        out.append({
            "day": datetime.date(1969, 12, 25) + datetime.timedelta(days=k * 400),
            "ts": EPOCH + datetime.timedelta(microseconds=1700000000123456 + k * 86400000001),
            "tm": datetime.time(k % 24, k, k, k * 1000),
            "dec": decimal.Decimal("%d.%02d" % (k * 12345 - 100000, k)) if k % 2 else decimal.Decimal("-0.05") * k,
            "u": str(uuid.UUID(int=k * 0x1234567890ABCDEF1234567890ABCDEF % (1 << 128))),
        })
    return out


MANY = {"type": "record", "name": "row", "fields": [
    {"name": "id", "type": "long"}, {"name": "name", "type": "string"}, {"name": "score", "type": opt("double")}]}


def many_records():
    return [{"id": k, "name": "row-%d" % k, "score": None if k % 7 == 0 else k * 0.25} for k in range(5000)]


CASES = {
    "prims": (PRIMS, prims_records),
    "manifest": (MANIFEST, manifest_records),
    "manifest_list": (MANIFEST_LIST, manifest_list_records),
    "complex": (COMPLEX, complex_records),
    "logical": (LOGICAL, logical_records),
    "many": (MANY, many_records),
}

# ------------------------------------------------------------------ forms


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def special(x):
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return None


def branch_name(s):
    return s.fullname if hasattr(s, "fullname") and s.type in ("record", "enum", "fixed", "error") else s.type


def pick_branch(u, datum):
    for b in u.schemas:
        if avro.io.validate(b, datum):
            return b
    raise ValueError("no branch of %s fits %r" % (u, datum))


def decimal_bytes(d, scale):
    buf = io.BytesIO()
    avro.io.BinaryEncoder(buf).write_decimal_bytes(d, scale)
    raw = buf.getvalue()
    return avro.io.BinaryDecoder(io.BytesIO(raw)).read_bytes()


def raw_logical(s, datum):
    """A python3-avro logical value back to its underlying Avro value."""
    lt = s.get_prop("logicalType")
    if isinstance(datum, datetime.datetime):
        delta = datum - EPOCH
        return (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds
    if isinstance(datum, datetime.date) and lt == "date":
        return (datum - datetime.date(1970, 1, 1)).days
    if isinstance(datum, datetime.time):
        return ((datum.hour * 60 + datum.minute) * 60 + datum.second) * 1000000 + datum.microsecond
    if isinstance(datum, decimal.Decimal):
        return decimal_bytes(datum, s.get_prop("scale") or 0)
    if isinstance(datum, uuid.UUID):
        return str(datum)
    return datum


def datum_to_canon(s, d):
    """A python3-avro datum (what it reads or writes) to the canonical form."""
    t = s.type
    if t == "union":
        if d is None:
            return None
        b = pick_branch(s, d)
        return {branch_name(b): datum_to_canon(b, d)}
    d = raw_logical(s, d)
    if t in ("null", "boolean", "int", "string"):
        return d
    if t == "long":
        return str(d)
    if t == "float":
        return special(d) or f32(d)
    if t == "double":
        return special(d) or float(d)
    if t in ("bytes", "fixed"):
        return bytes(d).hex()
    if t == "enum":
        return d
    if t == "array":
        return [datum_to_canon(s.items, x) for x in d]
    if t == "map":
        return {k: datum_to_canon(s.values, v) for k, v in d.items()}
    if t in ("record", "error"):
        return {f.name: datum_to_canon(f.type, d[f.name]) for f in s.fields}
    raise ValueError(t)


def datum_to_jsonenc(s, d):
    """A python datum to the Avro JSON encoding (what `floe avro write` reads)."""
    t = s.type
    if t == "union":
        if d is None:
            return None
        b = pick_branch(s, d)
        return {branch_name(b): datum_to_jsonenc(b, d)}
    d = raw_logical(s, d)
    if t in ("float", "double"):
        return special(d) or d
    if t in ("bytes", "fixed"):
        return bytes(d).decode("latin-1")
    if t == "array":
        return [datum_to_jsonenc(s.items, x) for x in d]
    if t == "map":
        return {k: datum_to_jsonenc(s.values, v) for k, v in d.items()}
    if t in ("record", "error"):
        return {f.name: datum_to_jsonenc(f.type, d[f.name]) for f in s.fields}
    return d


def jsonenc_to_canon(s, j):
    """A record as `floe avro cat` prints it (the Avro JSON encoding) to the
    canonical form."""
    t = s.type
    if t == "union":
        if j is None:
            return None
        (name, v), = j.items()
        b = [x for x in s.schemas if branch_name(x) == name]
        if len(b) != 1:
            raise ValueError("no branch %s in %s" % (name, s))
        return {name: jsonenc_to_canon(b[0], v)}
    if t == "long":
        if not isinstance(j, int):
            raise ValueError("long printed as %r" % (j,))
        return str(j)
    if t in ("float", "double"):
        if isinstance(j, str):
            return j
        return f32(j) if t == "float" else float(j)
    if t in ("bytes", "fixed"):
        return j.encode("latin-1").hex()
    if t == "array":
        return [jsonenc_to_canon(s.items, x) for x in j]
    if t == "map":
        return {k: jsonenc_to_canon(s.values, v) for k, v in j.items()}
    if t in ("record", "error"):
        if set(j) != {f.name for f in s.fields}:
            raise ValueError("record fields %s, expected %s" % (sorted(j), [f.name for f in s.fields]))
        return {f.name: jsonenc_to_canon(f.type, j[f.name]) for f in s.fields}
    return j


# ------------------------------------------------------------------ commands

FAILS = 0


def ok(what):
    print("  ok   " + what)


def fail(what):
    global FAILS
    FAILS += 1
    print("  FAIL " + what)


def same(a, b):
    """Equality that treats NaN-free canonical JSON exactly (NaN is a string)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def compare(what, got, want):
    if len(got) != len(want):
        fail("%s: %d records, expected %d" % (what, len(got), len(want)))
        return
    for i, (g, w) in enumerate(zip(got, want)):
        if not same(g, w):
            fail("%s: record %d differs:\n       got:      %s\n       expected: %s" %
                 (what, i, json.dumps(g, sort_keys=True)[:1500], json.dumps(w, sort_keys=True)[:1500]))
            return
    ok("%s: %d records" % (what, len(got)))


def gen(d):
    for name, (schema_json, make) in CASES.items():
        schema = avro.schema.parse(json.dumps(schema_json))
        records = make()
        with open(os.path.join(d, name + ".avsc"), "w") as f:
            json.dump(schema_json, f)
        with open(os.path.join(d, name + ".jsonl"), "w") as f:
            for r in records:
                f.write(json.dumps(datum_to_jsonenc(schema, r), ensure_ascii=False, allow_nan=False) + "\n")
        with open(os.path.join(d, name + ".expect.json"), "w") as f:
            json.dump([datum_to_canon(schema, r) for r in records], f)
        for codec in CODECS:
            with open(os.path.join(d, "py-%s-%s.avro" % (name, codec)), "wb") as f:
                w = avro.datafile.DataFileWriter(f, avro.io.DatumWriter(), schema, codec=codec)
                w.set_meta("format-version", b"2")
                w.set_meta("binary-meta", bytes([0, 1, 254, 255]))
                for r in records:
                    w.append(r)
                w.close()
    print("gen: %d cases in %s" % (len(CASES), d))


def case_of(path):
    base = os.path.basename(path)
    parts = base.split("-")
    return "-".join(parts[1:-1])


def expected(d, name):
    with open(os.path.join(d, name + ".expect.json")) as f:
        return json.load(f)


def read(d):
    files = sorted(glob.glob(os.path.join(d, "floe-*.avro")))
    if not files:
        fail("no floe-*.avro files in " + d)
    for path in files:
        name = case_of(path)
        codec = os.path.basename(path).rsplit("-", 1)[1][:-5]
        with open(path, "rb") as f:
            r = avro.datafile.DataFileReader(f, avro.io.DatumReader())
            schema = r.datum_reader.writers_schema
            got = [datum_to_canon(schema, x) for x in r]
            meta_ok = r.get_meta("avro.codec") == codec.encode() and r.get_meta("format-version") == b"2"
            field_id = json.loads(r.get_meta("avro.schema"))["fields"][0].get("field-id")
            r.close()
        compare("python3-avro reads %s" % os.path.basename(path), got, expected(d, name))
        if not meta_ok:
            fail("%s: metadata avro.codec/format-version not as written" % path)
        want_id = CASES[name][0]["fields"][0].get("field-id")
        if field_id != want_id:
            fail("%s: field-id %r in the file's schema, expected %r" % (path, field_id, want_id))


def cat(d):
    files = sorted(glob.glob(os.path.join(d, "*.avro.cat")))
    if not files:
        fail("no *.avro.cat files in " + d)
    for path in files:
        name = case_of(path[:-4])
        schema = avro.schema.parse(json.dumps(CASES[name][0]))
        with open(path, encoding="utf-8") as f:
            lines = [line for line in f.read().split("\n") if line]
        try:
            got = [jsonenc_to_canon(schema, json.loads(line)) for line in lines]
        except (ValueError, KeyError) as e:
            fail("%s: %s" % (path, e))
            continue
        compare("floe avro cat %s" % os.path.basename(path[:-4]), got, expected(d, name))


if __name__ == "__main__":
    cmd, d = sys.argv[1], sys.argv[2]
    {"gen": gen, "read": read, "cat": cat}[cmd](d)
    sys.exit(1 if FAILS else 0)
