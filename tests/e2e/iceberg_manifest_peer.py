"""iceberg_manifest_peer.py: the python3-avro side of
tests/e2e/test_iceberg_manifest.sh.

Runs under Debian's /usr/bin/python3, which has python3-avro.

  check DIR    reads DIR/m0.avro and DIR/snap.avro, the manifest and manifest
               list `floe iceberg-debug write-manifest DIR` wrote, and checks
               them field by field against the spec: every field has its
               field-id, every v2 field is there with its id and type, the
               record names are Java's, the key-value metadata is complete,
               and the records hold the example table's values.
  gen DIR      writes manifests and manifest lists as the Java reference
               lays them out (v2 schema with Java's field names, v1 schema,
               a field from a later writer), with codecs null, deflate and
               snappy: DIR/py-*.avro, and DIR/py-*.expect.jsonl, what
               `floe iceberg-debug read-manifest[-list]` must print for each.
  compare DIR  compares every DIR/py-*.avro.floe (Floe's output) with its
               .expect.jsonl.

Every check prints "  ok ..." or "  FAIL ..."; the exit status is 1 on any
FAIL.
"""

import datetime
import decimal
import json
import os
import struct
import sys
import warnings

warnings.simplefilter("ignore")  # python3-avro warns about logicalType "map"

import avro.datafile  # noqa: E402
import avro.io  # noqa: E402
import avro.schema  # noqa: E402

FAILED = False


def ok(what):
    print("  ok   %s" % what)


def fail(what):
    global FAILED
    FAILED = True
    print("  FAIL %s" % what)


def expect(what, got, want):
    if got == want:
        ok(what)
    else:
        fail("%s: got %r, want %r" % (what, got, want))


def read_avro(path):
    with open(path, "rb") as f:
        r = avro.datafile.DataFileReader(f, avro.io.DatumReader())
        meta = {k: v.decode("utf-8", "replace") for k, v in r.meta.items()}
        records = list(r)
        r.close()
    return meta, records


# ---------------------------------------------------------------- check

def walk_ids(node, path, missing):
    """Every record field below node must have a field-id; every array an
    element-id, or be a logicalType map of key/value records."""
    if isinstance(node, list):
        for b in node:
            walk_ids(b, path, missing)
    elif isinstance(node, dict):
        t = node.get("type")
        if t == "record":
            for f in node["fields"]:
                if not isinstance(f.get("field-id"), int):
                    missing.append("%s.%s" % (path, f["name"]))
                walk_ids(f["type"], "%s.%s" % (path, f["name"]), missing)
        elif t == "array":
            if node.get("logicalType") == "map":
                fs = node["items"]["fields"]
                if [f["name"] for f in fs] != ["key", "value"]:
                    missing.append(path + " (map record is not key, value)")
            elif not isinstance(node.get("element-id"), int):
                missing.append(path + "[] (element-id)")
            walk_ids(node["items"], path + "[]", missing)


def field(record, name):
    for f in record["fields"]:
        if f["name"] == name:
            return f
    return None


def nonnull(t):
    if isinstance(t, list):
        assert t[0] == "null" and len(t) == 2, t
        return t[1]
    return t


V2_ENTRY = [("status", 0, "int", False), ("snapshot_id", 1, "long", True),
            ("sequence_number", 3, "long", True), ("file_sequence_number", 4, "long", True),
            ("data_file", 2, "record", False)]
V2_DATA_FILE = [
    ("content", 134, "int", False), ("file_path", 100, "string", False),
    ("file_format", 101, "string", False), ("partition", 102, "record", False),
    ("record_count", 103, "long", False), ("file_size_in_bytes", 104, "long", False),
    ("column_sizes", 108, (117, 118, "long"), True), ("value_counts", 109, (119, 120, "long"), True),
    ("null_value_counts", 110, (121, 122, "long"), True),
    ("nan_value_counts", 137, (138, 139, "long"), True),
    ("lower_bounds", 125, (126, 127, "bytes"), True), ("upper_bounds", 128, (129, 130, "bytes"), True),
    ("key_metadata", 131, "bytes", True), ("split_offsets", 132, ("list", 133, "long"), True),
    ("equality_ids", 135, ("list", 136, "int"), True), ("sort_order_id", 140, "int", True)]
V2_LIST = [
    ("manifest_path", 500, "string", False), ("manifest_length", 501, "long", False),
    ("partition_spec_id", 502, "int", False), ("content", 517, "int", False),
    ("sequence_number", 515, "long", False), ("min_sequence_number", 516, "long", False),
    ("added_snapshot_id", 503, "long", False), ("added_files_count", 504, "int", False),
    ("existing_files_count", 505, "int", False), ("deleted_files_count", 506, "int", False),
    ("added_rows_count", 512, "long", False), ("existing_rows_count", 513, "long", False),
    ("deleted_rows_count", 514, "long", False), ("partitions", 507, ("list", 508, "record"), True)]
V2_SUMMARY = [("contains_null", 509, "boolean", False), ("contains_nan", 518, "boolean", True),
              ("lower_bound", 510, "bytes", True), ("upper_bound", 511, "bytes", True)]


def check_fields(what, record, fields):
    for name, fid, typ, optional in fields:
        f = field(record, name)
        if f is None:
            fail("%s.%s is missing" % (what, name))
            continue
        t = f["type"]
        good = f.get("field-id") == fid
        if optional:
            good = good and isinstance(t, list) and t[0] == "null" and "default" in f and f["default"] is None
        t = nonnull(t)
        if isinstance(typ, tuple) and typ[0] == "list":
            good = good and t["type"] == "array" and t["element-id"] == typ[1]
            items = t["items"]
            good = good and (items == typ[2] or (isinstance(items, dict) and items["type"] == typ[2]))
        elif isinstance(typ, tuple):
            kid, vid, vt = typ
            kv = t["items"]
            good = (good and t["type"] == "array" and t.get("logicalType") == "map"
                    and kv["name"] == "k%d_v%d" % (kid, vid)
                    and kv["fields"][0] == {"name": "key", "type": "int", "field-id": kid}
                    and kv["fields"][1] == {"name": "value", "type": vt, "field-id": vid})
        else:
            good = good and (t == typ or (isinstance(t, dict) and t["type"] == typ))
        if good:
            ok("%s.%s: id %d, %s%s" % (what, name, fid, "optional " if optional else "", typ))
        else:
            fail("%s.%s: %s (want id %d, type %s, optional %s)" % (what, name, json.dumps(f), fid, typ, optional))


def check(d):
    meta, recs = read_avro(os.path.join(d, "m0.avro"))
    schema = json.loads(meta["avro.schema"])
    expect("manifest codec", meta["avro.codec"], "deflate")
    expect("manifest format-version", meta.get("format-version"), "2")
    expect("manifest content", meta.get("content"), "data")
    expect("manifest partition-spec-id", meta.get("partition-spec-id"), "3")
    expect("manifest schema-id", meta.get("schema-id"), "0")
    table_schema = json.loads(meta["schema"])
    expect("manifest schema is the table's", [(f["id"], f["name"], f["type"], f["required"])
                                               for f in table_schema["fields"]],
           [(1, "id", "long", True), (2, "ts", "timestamptz", True), (3, "symbol", "string", False),
            (4, "px", "decimal(10, 2)", False), (5, "u", "uuid", False)])
    spec = json.loads(meta["partition-spec"])
    expect("manifest partition-spec is the field list", spec, [
        {"name": "ts_day", "transform": "day", "source-id": 2, "field-id": 1000},
        {"name": "id_bucket", "transform": "bucket[16]", "source-id": 1, "field-id": 1001},
        {"name": "symbol", "transform": "identity", "source-id": 3, "field-id": 1002},
        {"name": "px", "transform": "identity", "source-id": 4, "field-id": 1003},
        {"name": "u", "transform": "identity", "source-id": 5, "field-id": 1004}])
    missing = []
    walk_ids(schema, "manifest_entry", missing)
    expect("every manifest field has its id", missing, [])
    expect("entry record name", schema["name"], "manifest_entry")
    check_fields("manifest_entry", schema, V2_ENTRY)
    df = field(schema, "data_file")["type"]
    expect("data_file record name", df["name"], "r2")
    check_fields("data_file", df, V2_DATA_FILE)
    part = field(df, "partition")["type"]
    expect("partition record name", part["name"], "r102")
    expect("partition fields: names, ids, types", [(f["name"], f["field-id"], f["type"], f["default"])
                                                   for f in part["fields"]], [
        ("ts_day", 1000, ["null", {"type": "int", "logicalType": "date"}], None),
        ("id_bucket", 1001, ["null", "int"], None),
        ("symbol", 1002, ["null", "string"], None),
        ("px", 1003, ["null", {"type": "fixed", "name": "decimal_10_2", "size": 5, "logicalType": "decimal",
                               "precision": 10, "scale": 2}], None),
        ("u", 1004, ["null", {"type": "fixed", "name": "uuid_fixed", "size": 16, "logicalType": "uuid"}], None)])

    expect("manifest entries", len(recs), 3)
    e0, e1, e2 = recs
    expect("entry 0 status added, ids and numbers left to inherit",
           (e0["status"], e0["snapshot_id"], e0["sequence_number"], e0["file_sequence_number"]), (1, None, None, None))
    expect("entry 1 existing keeps its numbers",
           (e1["status"], e1["snapshot_id"], e1["sequence_number"], e1["file_sequence_number"]), (0, 40, 5, 6))
    expect("entry 2 deleted", (e2["status"], e2["snapshot_id"], e2["sequence_number"]), (2, 42, 2))
    f0 = e0["data_file"]
    expect("data_file scalars", (f0["content"], f0["file_path"], f0["file_format"], f0["record_count"],
                                 f0["file_size_in_bytes"], f0["sort_order_id"]),
           (0, "s3://warehouse/db/t/data/f0.parquet", "PARQUET", 100, 4096, 1))
    p = f0["partition"]
    u = p["u"]
    if isinstance(u, str):
        u = u.encode("latin-1")
    expect("partition tuple", (p["ts_day"], p["id_bucket"], p["symbol"], p["px"], u),
           (datetime.date(2026, 3, 28), 5, "BTC", decimal.Decimal("14.20"),
            bytes.fromhex("f79c3e09677c4bbda4793f349cb785e7")))
    p2 = recs[2]["data_file"]["partition"]
    expect("partition tuple before 1970", (p2["ts_day"], p2["px"]), (datetime.date(1969, 12, 31),
                                                                       decimal.Decimal("-3.00")))
    expect("null partition values", [recs[1]["data_file"]["partition"][k] for k in ("symbol", "px", "u")],
           [None, None, None])
    expect("column_sizes", f0["column_sizes"], [{"key": 1, "value": 410}, {"key": 3, "value": 120}])
    expect("value_counts", f0["value_counts"], [{"key": 1, "value": 100}, {"key": 3, "value": 100}])
    expect("null_value_counts", f0["null_value_counts"], [{"key": 1, "value": 0}, {"key": 3, "value": 2}])
    expect("nan_value_counts absent", f0["nan_value_counts"], None)
    expect("lower_bounds", f0["lower_bounds"], [{"key": 1, "value": struct.pack("<q", 1)},
                                                {"key": 3, "value": b"ADA"}])
    expect("upper_bounds", f0["upper_bounds"], [{"key": 1, "value": struct.pack("<q", 10000)},
                                                {"key": 3, "value": b"BTC"}])
    expect("split_offsets", f0["split_offsets"], [4, 65540])
    expect("equality_ids null for data files", f0["equality_ids"], None)

    meta, recs = read_avro(os.path.join(d, "snap.avro"))
    schema = json.loads(meta["avro.schema"])
    expect("list codec", meta["avro.codec"], "deflate")
    expect("list metadata", {k: meta.get(k) for k in ("snapshot-id", "parent-snapshot-id", "sequence-number",
                                                       "format-version")},
           {"snapshot-id": "42", "parent-snapshot-id": "41", "sequence-number": "7", "format-version": "2"})
    missing = []
    walk_ids(schema, "manifest_file", missing)
    expect("every manifest list field has its id", missing, [])
    expect("list record name", schema["name"], "manifest_file")
    check_fields("manifest_file", schema, V2_LIST)
    summary = nonnull(field(schema, "partitions")["type"])["items"]
    expect("field summary record name", summary["name"], "r508")
    check_fields("field_summary", summary, V2_SUMMARY)
    expect("manifest list entries", len(recs), 1)
    m = recs[0]
    expect("manifest_file values", {k: m[k] for k in (
        "manifest_length", "partition_spec_id", "content", "sequence_number", "min_sequence_number",
        "added_snapshot_id", "added_files_count", "existing_files_count", "deleted_files_count",
        "added_rows_count", "existing_rows_count", "deleted_rows_count")},
        {"manifest_length": os.path.getsize(os.path.join(d, "m0.avro")), "partition_spec_id": 3, "content": 0,
         "sequence_number": 7, "min_sequence_number": 5, "added_snapshot_id": 42, "added_files_count": 1,
         "existing_files_count": 1, "deleted_files_count": 1, "added_rows_count": 100,
         "existing_rows_count": 101, "deleted_rows_count": 102})
    expect("manifest_path", m["manifest_path"], os.path.join(d, "m0.avro"))
    day = struct.pack("<i", (datetime.date(1969, 12, 31) - datetime.date(1970, 1, 1)).days)
    expect("partition summaries", m["partitions"], [
        {"contains_null": False, "contains_nan": False, "lower_bound": day,
         "upper_bound": struct.pack("<i", (datetime.date(2026, 3, 28) - datetime.date(1970, 1, 1)).days)},
        {"contains_null": False, "contains_nan": False, "lower_bound": struct.pack("<i", 0),
         "upper_bound": struct.pack("<i", 15)},
        {"contains_null": True, "contains_nan": False, "lower_bound": b"ADA", "upper_bound": b"BTC"},
        {"contains_null": True, "contains_nan": False, "lower_bound": (-300).to_bytes(2, "big", signed=True),
         "upper_bound": (1420).to_bytes(2, "big", signed=True)},
        {"contains_null": True, "contains_nan": False, "lower_bound": bytes(15) + b"\x01",
         "upper_bound": bytes.fromhex("f79c3e09677c4bbda4793f349cb785e7")}])


# ---------------------------------------------------------------- gen

def f_(name, typ, fid, doc=None, optional=False):
    d = {"name": name, "type": ["null", typ] if optional else typ}
    if doc:
        d["doc"] = doc
    if optional:
        d["default"] = None
    d["field-id"] = fid
    return d


def kvmap(kid, vid, vt):
    return {"type": "array", "items": {"type": "record", "name": "k%d_v%d" % (kid, vid), "fields": [
        {"name": "key", "type": "int", "field-id": kid}, {"name": "value", "type": vt, "field-id": vid}]},
        "logicalType": "map"}


def java_v2_manifest_schema(later_field):
    """V2Metadata.entrySchema, as Java writes it, for a spec day(ts),
    identity(symbol); with a field of a later writer when asked."""
    part = {"type": "record", "name": "r102", "fields": [
        f_("ts_day", {"type": "int", "logicalType": "date"}, 1000, optional=True),
        f_("symbol", "string", 1001, optional=True)]}
    df = [
        f_("content", "int", 134, "Contents of the file: 0=data, 1=position deletes, 2=equality deletes"),
        f_("file_path", "string", 100, "Location URI with FS scheme"),
        f_("file_format", "string", 101, "File format name: avro, orc, or parquet"),
        f_("partition", part, 102, "Partition data tuple, schema based on the partition spec"),
        f_("record_count", "long", 103, "Number of records in the file"),
        f_("file_size_in_bytes", "long", 104, "Total file size in bytes"),
        f_("column_sizes", kvmap(117, 118, "long"), 108, optional=True),
        f_("value_counts", kvmap(119, 120, "long"), 109, optional=True),
        f_("null_value_counts", kvmap(121, 122, "long"), 110, optional=True),
        f_("nan_value_counts", kvmap(138, 139, "long"), 137, optional=True),
        f_("lower_bounds", kvmap(126, 127, "bytes"), 125, optional=True),
        f_("upper_bounds", kvmap(129, 130, "bytes"), 128, optional=True),
        f_("key_metadata", "bytes", 131, optional=True),
        f_("split_offsets", {"type": "array", "items": "long", "element-id": 133}, 132, optional=True),
        f_("equality_ids", {"type": "array", "items": "int", "element-id": 136}, 135, optional=True),
        f_("sort_order_id", "int", 140, optional=True)]
    if later_field:
        df.insert(3, f_("referenced_data_file", "string", 143, optional=True))
        df.append(f_("x_later", {"type": "record", "name": "r9999", "fields": [
            f_("a", "long", 10000), f_("b", {"type": "array", "items": "string", "element-id": 10002}, 10001)]},
            9999, optional=True))
    return {"type": "record", "name": "manifest_entry", "fields": [
        f_("status", "int", 0), f_("snapshot_id", "long", 1, optional=True),
        f_("sequence_number", "long", 3, optional=True), f_("file_sequence_number", "long", 4, optional=True),
        f_("data_file", {"type": "record", "name": "r2", "fields": df}, 2)]}


def java_v2_entries(later_field):
    out = []
    for i in range(4):
        df = {"content": 2 if i == 3 else 0, "file_path": "s3://w/t/data/%d.parquet" % i, "file_format": "PARQUET",
              "partition": {"ts_day": None if i == 2 else datetime.date(2026, 1, 1 + i),
                            "symbol": None if i == 2 else "S%d" % i},
              "record_count": 10 * i, "file_size_in_bytes": 1000 + i,
              "column_sizes": [{"key": 1, "value": 11 * i}] if i else None,
              "value_counts": [{"key": 1, "value": 10 * i}, {"key": 2, "value": 10 * i}] if i else None,
              "null_value_counts": [{"key": 2, "value": i}] if i else None,
              "nan_value_counts": [{"key": 5, "value": 0}] if i == 1 else None,
              "lower_bounds": [{"key": 1, "value": struct.pack("<q", -i)}] if i else None,
              "upper_bounds": [{"key": 1, "value": struct.pack("<q", i * 1000)}] if i else None,
              "key_metadata": None, "split_offsets": [4, 4 + i] if i else None,
              "equality_ids": [1, 2] if i == 3 else None, "sort_order_id": 0 if i == 1 else None}
        if later_field:
            df["referenced_data_file"] = None
            df["x_later"] = {"a": i, "b": ["x"] * i}
        status = [1, 0, 2, 1][i]
        out.append({"status": status, "snapshot_id": None if status == 1 else 1000 + i,
                    "sequence_number": None if status == 1 else i, "file_sequence_number": None if status == 1 else i,
                    "data_file": df})
    return out


def entry_expect(e, seq, snap, spec_id):
    df = e["data_file"]
    inherit = e["status"] == 1
    stats = {}

    def put(m, key, name, conv):
        for kv in df[m] or []:
            s = stats.setdefault(kv["key"], {"id": kv["key"], "size": -1, "values": -1, "nulls": -1, "nans": -1,
                                             "lower": None, "upper": None})
            s[name] = conv(kv["value"])
    put("column_sizes", 0, "size", int)
    put("value_counts", 0, "values", int)
    put("null_value_counts", 0, "nulls", int)
    put("nan_value_counts", 0, "nans", int)
    put("lower_bounds", 0, "lower", bytes.hex)
    put("upper_bounds", 0, "upper", bytes.hex)
    p = df["partition"]
    return {"status": e["status"], "snapshot_id": snap if e["snapshot_id"] is None else e["snapshot_id"],
            "sequence_number": seq if inherit else e["sequence_number"],
            "file_sequence_number": seq if inherit else e["file_sequence_number"],
            "content": df["content"], "file_path": df["file_path"], "file_format": df["file_format"],
            "spec_id": spec_id,
            "partition": [p["ts_day"].isoformat() if p["ts_day"] else None, p["symbol"]],
            "record_count": df["record_count"], "file_size_in_bytes": df["file_size_in_bytes"],
            "stats": [stats[k] for k in sorted(stats)], "split_offsets": df["split_offsets"] or [],
            "equality_ids": df["equality_ids"] or [],
            "sort_order_id": -1 if df["sort_order_id"] is None else df["sort_order_id"]}


def java_v2_list_schema():
    """V2Metadata.MANIFEST_LIST_SCHEMA with Java's names (added_data_files_count)."""
    summary = {"type": "record", "name": "r508", "fields": [
        f_("contains_null", "boolean", 509), f_("contains_nan", "boolean", 518, optional=True),
        f_("lower_bound", "bytes", 510, optional=True), f_("upper_bound", "bytes", 511, optional=True)]}
    return {"type": "record", "name": "manifest_file", "fields": [
        f_("manifest_path", "string", 500), f_("manifest_length", "long", 501),
        f_("partition_spec_id", "int", 502), f_("content", "int", 517), f_("sequence_number", "long", 515),
        f_("min_sequence_number", "long", 516), f_("added_snapshot_id", "long", 503),
        f_("added_data_files_count", "int", 504), f_("existing_data_files_count", "int", 505),
        f_("deleted_data_files_count", "int", 506), f_("added_rows_count", "long", 512),
        f_("existing_rows_count", "long", 513), f_("deleted_rows_count", "long", 514),
        f_("partitions", {"type": "array", "items": summary, "element-id": 508}, 507, optional=True),
        f_("key_metadata", "bytes", 519, optional=True)]}


def java_v2_list_records():
    return [{"manifest_path": "s3://w/t/metadata/m%d.avro" % i, "manifest_length": 5000 + i, "partition_spec_id": i,
             "content": i % 2, "sequence_number": 10 + i, "min_sequence_number": 9 + i,
             "added_snapshot_id": 7000 + i, "added_data_files_count": i, "existing_data_files_count": 2 * i,
             "deleted_data_files_count": 3 * i, "added_rows_count": 100 * i, "existing_rows_count": 200 * i,
             "deleted_rows_count": 300 * i,
             "partitions": [{"contains_null": bool(i), "contains_nan": None if i else False,
                             "lower_bound": b"\x01\x00\x00\x00", "upper_bound": None}] if i < 2 else None,
             "key_metadata": None} for i in range(3)]


def list_expect(r):
    return {"manifest_path": r["manifest_path"], "manifest_length": r["manifest_length"],
            "partition_spec_id": r["partition_spec_id"], "content": r["content"],
            "sequence_number": r["sequence_number"], "min_sequence_number": r["min_sequence_number"],
            "added_snapshot_id": r["added_snapshot_id"], "added_files_count": r["added_data_files_count"],
            "existing_files_count": r["existing_data_files_count"],
            "deleted_files_count": r["deleted_data_files_count"], "added_rows_count": r["added_rows_count"],
            "existing_rows_count": r["existing_rows_count"], "deleted_rows_count": r["deleted_rows_count"],
            "partitions": [{"contains_null": s["contains_null"], "contains_nan": s["contains_nan"],
                            "lower_bound": s["lower_bound"].hex() if s["lower_bound"] is not None else None,
                            "upper_bound": s["upper_bound"].hex() if s["upper_bound"] is not None else None}
                           for s in r["partitions"] or []]}


def write(path, schema, records, meta, codec):
    with open(path, "wb") as f:
        w = avro.datafile.DataFileWriter(f, avro.io.DatumWriter(), avro.schema.parse(json.dumps(schema)),
                                         codec=codec)
        for k, v in meta.items():
            w.set_meta(k, v.encode())
        for r in records:
            w.append(r)
        w.close()


TABLE_SCHEMA = json.dumps({"type": "struct", "schema-id": 0, "fields": [
    {"id": 1, "name": "ts", "required": False, "type": "timestamptz"},
    {"id": 2, "name": "symbol", "required": False, "type": "string"}]})
SPEC_FIELDS = json.dumps([{"name": "ts_day", "transform": "day", "source-id": 1, "field-id": 1000},
                          {"name": "symbol", "transform": "identity", "source-id": 2, "field-id": 1001}])


def gen(d):
    # what `read-manifest FILE 9 77 4` must print: sequence number 9,
    # added snapshot 77, spec 4 inherited from the manifest list
    for later in (False, True):
        for codec in ("null", "deflate", "snappy"):
            name = "py-manifest%s-%s" % ("-later" if later else "", codec)
            recs = java_v2_entries(later)
            write(os.path.join(d, name + ".avro"), java_v2_manifest_schema(later), recs,
                  {"schema": TABLE_SCHEMA, "schema-id": "0", "partition-spec": SPEC_FIELDS,
                   "partition-spec-id": "4", "format-version": "2", "content": "data"}, codec)
            with open(os.path.join(d, name + ".expect.jsonl"), "w") as f:
                for r in recs:
                    f.write(json.dumps(entry_expect(r, 9, 77, 4)) + "\n")
    recs = java_v2_list_records()
    write(os.path.join(d, "py-list-deflate.avro"), java_v2_list_schema(), recs,
          {"snapshot-id": "7002", "parent-snapshot-id": "null", "sequence-number": "12", "format-version": "2"},
          "deflate")
    with open(os.path.join(d, "py-list-deflate.expect.jsonl"), "w") as f:
        for r in recs:
            f.write(json.dumps(list_expect(r)) + "\n")
    ok("python3-avro wrote Java-shaped manifests and a manifest list")


def compare(d):
    names = sorted(n[:-len(".expect.jsonl")] for n in os.listdir(d) if n.endswith(".expect.jsonl"))
    for name in names:
        with open(os.path.join(d, name + ".expect.jsonl")) as f:
            want = [json.loads(line) for line in f]
        path = os.path.join(d, name + ".avro.floe")
        if not os.path.exists(path):
            fail("%s: floe printed nothing" % name)
            continue
        with open(path) as f:
            got = [json.loads(line) for line in f]
        if len(got) != len(want):
            fail("%s: %d records, want %d" % (name, len(got), len(want)))
            continue
        bad = [i for i in range(len(want)) if got[i] != want[i]]
        if not bad:
            ok("%s: floe reads all %d records field by field" % (name, len(want)))
        for i in bad:
            fail("%s record %d:\n       got  %s\n       want %s" % (name, i, json.dumps(got[i], sort_keys=True),
                                                                    json.dumps(want[i], sort_keys=True)))


if __name__ == "__main__":
    cmd, d = sys.argv[1], sys.argv[2]
    {"check": check, "gen": gen, "compare": compare}[cmd](d)
    sys.exit(1 if FAILED else 0)
