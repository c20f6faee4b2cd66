// test_icebird.mjs: icebird (a pure-JS Iceberg reader, pinned in package.json)
// reads the tables `floe table` writes, through Floe's S3 endpoint, and must
// see the same rows as `floe table scan`, value by value.
//
// `floe serve` runs on a temporary data dir; tables are made with the CLI on
// the same dir. icebird turns s3:// paths into https://BUCKET.s3.amazonaws.com
// URLs and calls globalThis.fetch for every object (metadata, manifest lists,
// manifests, ranged parquet reads), so the test replaces globalThis.fetch:
// each request is sent to the local endpoint as a signed GetObject /
// HeadObject / ListObjectsV2 (AWS SDK v3) and answered as a Response. Any
// other URL fails the read.
//
// Covered: an unpartitioned table of every primitive type icebird decodes,
// and read with a renamed column (metadata edited in the test: icebird then
// needs the "iceberg.schema" footer);
// a table partitioned by day(ts), bucket(16, id) over five days; the same
// after a whole-file delete, a partial (copy-on-write) delete, an overwrite
// --filter and an overwrite --dynamic; every older snapshot read through its
// metadata file (icebird's metadataFileName) against `scan --snapshot` and
// against what the test wrote; schema evolution (add, rename, widen, drop);
// compaction of the partitioned table and of the evolved one.
//
// Representations: icebird gives BIGINT as bigint, INT and floats as number,
// timestamps as Date (milliseconds: hyparquet truncates the microseconds),
// time as bigint microseconds, uuid as 16 bytes. Both sides are brought to
// one text form per Iceberg type before comparing; timestamps are compared
// to the millisecond with icebird and to the microsecond between the CLI and
// the rows the test wrote.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { icebergMetadata, icebergRead } from "icebird";
import { ACCESS_KEY, REGION, SECRET_KEY, Suite, floeBin } from "./floe_e2e.mjs";

const SANITIZER = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|UndefinedBehaviorSanitizer/;
const suite = new Suite("test_icebird.mjs");
const DATA = path.join(suite.tmp, "data");
const BIN = floeBin();

// ---------------------------------------------------------------- the CLI

const cliEnv = {};
for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("FLOE_")) cliEnv[k] = v;
cliEnv.ASAN_OPTIONS ??= "detect_leaks=1:abort_on_error=0:halt_on_error=1";
cliEnv.UBSAN_OPTIONS ??= "print_stacktrace=1:halt_on_error=1";

// floe(args...): runs `floe ARGS --data DATA`; {code, out, err}.
function floe(...args) {
  const r = spawnSync(BIN, [...args, "--data", DATA], {
    cwd: suite.cwd, env: cliEnv, encoding: "utf8", timeout: 120000, maxBuffer: 256 << 20,
  });
  const res = { code: r.status ?? -1, out: r.stdout ?? "", err: r.stderr ?? "" };
  if (r.error) res.err += `\n${r.error.message}`;
  if (SANITIZER.test(res.err)) suite.fail(`sanitizer report from floe ${args.join(" ")}:\n${res.err.slice(0, 3000)}`);
  return res;
}

// floeOk(what, args...): the command must exit 0; returns its stdout.
function floeOk(what, ...args) {
  const r = floe(...args);
  if (r.code !== 0) {
    suite.fail(`${what}: floe ${args.join(" ")} exited ${r.code}:\n${r.err.slice(0, 2000)}`);
    throw new Error(`${what} failed`);
  }
  return r.out;
}

// A JSON line from the CLI with every number kept as its text ("#123"), so
// BIGINTs and snapshot ids above 2^53 survive.
function parseRaw(line) {
  return JSON.parse(line.replace(/("(?:[^"\\]|\\.)*")|-?\d[\d.eE+-]*/g, (m, s) => s ?? `"#${m}"`));
}
const rawNum = (v) => (typeof v === "string" && v.startsWith("#") ? v.slice(1) : String(v));

function jsonLine(row) {
  const parts = Object.entries(row).map(
    ([k, v]) => `${JSON.stringify(k)}:${typeof v === "bigint" ? v.toString() : JSON.stringify(v)}`,
  );
  return `{${parts.join(",")}}`;
}

function describe(table) {
  const text = floeOk(`describe ${table}`, "table", "describe", table);
  const meta = /^metadata\s+(\S+)/m.exec(text)?.[1];
  const snap = /^snapshot\s+(-?\d+)/m.exec(text)?.[1];
  return { metadataFile: meta ? path.basename(meta) : undefined, snapshot: snap };
}

function scanFloe(table, ...extra) {
  const out = floeOk(`scan ${table}`, "table", "scan", table, "--format", "json", ...extra);
  return out.split("\n").filter((l) => l.trim()).map(parseRaw);
}

function snapshots(table) {
  return floeOk(`snapshots ${table}`, "table", "snapshots", table, "--format", "json")
    .split("\n").filter((l) => l.trim()).map(parseRaw);
}

// ---------------------------------------------------------------- canonical values

// Microseconds since the epoch from "YYYY-MM-DDTHH:MM:SS[.ffffff][Z]".
function isoMicros(s) {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)?$/.exec(s);
  if (!m) return `bad timestamp ${s}`;
  const secs = BigInt(Date.parse(`${m[1]}${m[3] ?? "Z"}`)) / 1000n;
  return secs * 1000000n + BigInt((m[2] ?? "").padEnd(6, "0").slice(0, 6));
}

function timeMicros(s) {
  const m = /^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?$/.exec(s);
  if (!m) return `bad time ${s}`;
  return (BigInt(m[1]) * 3600n + BigInt(m[2]) * 60n + BigInt(m[3])) * 1000000n +
    BigInt((m[4] ?? "").padEnd(6, "0").slice(0, 6));
}

// One text form per Iceberg type, for a value from the CLI's JSON (parseRaw).
function canonFloe(v, type, prec) {
  if (v === null || v === undefined) return "null";
  if (type === "long" || type === "int") return BigInt(rawNum(v)).toString();
  if (type === "double") return String(Number(rawNum(v)));
  if (type === "float") return String(Math.fround(Number(rawNum(v))));
  if (type === "boolean") return String(v);
  if (type === "string") return v;
  if (type === "uuid") return v.toLowerCase();
  if (type === "date") return v;
  if (type === "timestamptz" || type === "timestamp") {
    const us = isoMicros(v);
    return String(prec === "ms" && typeof us === "bigint" ? us / 1000n : us);
  }
  if (type === "time") return String(timeMicros(v));
  const dec = /^decimal\(\d+,\s*(\d+)\)$/.exec(type);
  if (dec) return Number(rawNum(v)).toFixed(Number(dec[1]));
  return `unhandled type ${type}: ${v}`;
}

// The same text form for a value icebird returned.
function canonIcebird(v, type) {
  if (v === null || v === undefined) return "null";
  if (type === "long" || type === "int") return BigInt(v).toString();
  if (type === "double") return String(v);
  if (type === "float") return String(Math.fround(v));
  if (type === "boolean") return String(v);
  if (type === "string") return v;
  if (type === "uuid") {
    const h = Buffer.from(v).toString("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  if (type === "date") return v instanceof Date ? v.toISOString().slice(0, 10) : `not a Date: ${v}`;
  if (type === "timestamptz" || type === "timestamp") return v instanceof Date ? String(v.getTime()) : `not a Date: ${v}`;
  if (type === "time") return BigInt(v).toString();
  const dec = /^decimal\(\d+,\s*(\d+)\)$/.exec(type);
  if (dec) return Number(v).toFixed(Number(dec[1]));
  return `unhandled type ${type}: ${v}`;
}

const canonRows = (rows, fields, f) =>
  rows.map((r) => Object.fromEntries(fields.map((fd) => [fd.name, f(r[fd.name], fd.type)])));

const byId = (a, b) => {
  const x = BigInt(a.id), y = BigInt(b.id);
  return x < y ? -1 : x > y ? 1 : 0;
};

// Compares two row sets (canonical, any order) row by row, value by value.
function sameRows(what, expected, actual) {
  const e = [...expected].sort(byId), a = [...actual].sort(byId);
  const ids = new Set(a.map((r) => r.id));
  if (!suite.check(ids.size === a.length, `${what}: no id twice`, `${a.length - ids.size} duplicate ids`)) return false;
  if (!suite.eq(e.length, a.length, `${what}: row count`)) {
    const eids = new Set(e.map((r) => r.id));
    const missing = [...eids].filter((i) => !ids.has(i)).slice(0, 5);
    const extra = [...ids].filter((i) => !eids.has(i)).slice(0, 5);
    console.log(`       missing ids ${missing.join(",")}; unexpected ids ${extra.join(",")}`);
    return false;
  }
  for (let i = 0; i < e.length; i++) {
    if (!isDeepStrictEqual(e[i], a[i])) {
      suite.fail(`${what}: row ${i} differs\n       expected: ${Suite.show(e[i])}\n       actual:   ${Suite.show(a[i])}`);
      return false;
    }
  }
  suite.ok(`${what}: ${e.length} rows equal value by value`);
  return true;
}

// ---------------------------------------------------------------- icebird through Floe's S3

const srv = await suite.start({ dataDir: DATA });
const s3 = new S3Client({
  endpoint: srv.url, region: REGION, forcePathStyle: true,
  credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, maxAttempts: 1,
});
const fetchStats = { gets: 0, ranged: 0, partial: 0, lists: 0, foreign: [] };

function xmlEscape(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// globalThis.fetch for icebird: https://BUCKET.s3.amazonaws.com/KEY becomes a
// signed request to the local endpoint.
globalThis.fetch = async (input, init = {}) => {
  const url = new URL(String(input));
  const m = /^([^.]+)\.s3\.amazonaws\.com$/.exec(url.hostname);
  if (!m) {
    fetchStats.foreign.push(String(input));
    throw new Error(`icebird fetched ${input}, which is not an S3 URL`);
  }
  const Bucket = m[1];
  try {
    if (url.pathname === "/" && url.searchParams.get("list-type") === "2") {
      fetchStats.lists++;
      const r = await s3.send(new ListObjectsV2Command({
        Bucket, Prefix: url.searchParams.get("prefix") ?? undefined,
        Delimiter: url.searchParams.get("delimiter") ?? undefined,
      }));
      const items = (r.Contents ?? []).map(
        (c) => `<Contents><Key>${xmlEscape(c.Key)}</Key><LastModified>${c.LastModified.toISOString()}</LastModified></Contents>`,
      );
      return new Response(`<ListBucketResult>${items.join("")}</ListBucketResult>`, { status: 200 });
    }
    const Key = decodeURIComponent(url.pathname.slice(1));
    const method = (init.method ?? "GET").toUpperCase();
    if (method === "HEAD") {
      const r = await s3.send(new HeadObjectCommand({ Bucket, Key }));
      return new Response(null, { status: 200, headers: { "content-length": String(r.ContentLength) } });
    }
    const Range = new Headers(init.headers).get("range") ?? undefined;
    fetchStats.gets++;
    if (Range) fetchStats.ranged++;
    const r = await s3.send(new GetObjectCommand({ Bucket, Key, Range }));
    const status = r.$metadata.httpStatusCode;
    if (Range && status === 206) fetchStats.partial++;
    return new Response(await r.Body.transformToByteArray(), { status });
  } catch (e) {
    const status = e.$metadata?.httpStatusCode ?? 500;
    return new Response(`${e.name}: ${e.message}`, { status, statusText: e.name });
  }
};

// Raw text of a metadata file (snapshot ids above 2^53 stay exact).
async function metadataText(table, file) {
  const [ns, t] = table.split(".");
  const r = await s3.send(new GetObjectCommand({ Bucket: "warehouse", Key: `${ns}/${t}/metadata/${file}` }));
  return r.Body.transformToString();
}

// icebird's rows of TABLE at METADATAFILE against `floe table scan` (at the
// same snapshot), value by value; returns the CLI's canonical rows (us).
async function compareWithIcebird(what, table, metadataFile) {
  const [ns, t] = table.split(".");
  const tableUrl = `s3://warehouse/${ns}/${t}`;
  const text = await metadataText(table, metadataFile);
  const meta = JSON.parse(text);
  const snap = /"current-snapshot-id"\s*:\s*(-?\d+)/.exec(text)?.[1];
  const fields = meta.schemas.find((s) => s["schema-id"] === meta["current-schema-id"]).fields;
  let ice;
  try {
    ice = await icebergRead({ tableUrl, metadataFileName: metadataFile });
  } catch (e) {
    suite.fail(`${what}: icebird could not read ${metadataFile}: ${e.message}`);
    return undefined;
  }
  // The table's current version is scanned as the table (its current
  // schema); an older one by its snapshot id, which reads with the schema
  // that snapshot was written with, as Java's time travel does. They differ
  // after a schema change that made no snapshot (a rename, say).
  const cli = metadataFile === describe(table).metadataFile ? scanFloe(table) : scanFloe(table, "--snapshot", snap);
  sameRows(`${what}: icebird = floe table scan`, canonRows(cli, fields, (v, ty) => canonFloe(v, ty, "ms")),
    canonRows(ice, fields, canonIcebird));
  return canonRows(cli, fields, (v, ty) => canonFloe(v, ty, "us"));
}

// What the test wrote, in the same canonical form as the CLI's rows.
const canonModel = (rows, fields) =>
  canonRows(rows.map((r) => parseRaw(jsonLine(r))), fields, (v, ty) => canonFloe(v, ty, "us"));

function schemaFields(table) {
  const meta = JSON.parse(floeOk(`describe ${table}`, "table", "describe", table, "--format", "json"));
  return meta.schemas.find((s) => s["schema-id"] === meta["current-schema-id"]).fields;
}

// ---------------------------------------------------------------- data

// A small deterministic generator (mulberry32).
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(20260301);
const pad = (n, w = 2) => String(n).padStart(w, "0");

function tsOn(day, i) {
  const frac = i % 5 === 0 ? "" : `.${pad(Math.floor(rand() * 1e6), 6)}`;
  return `2026-03-${pad(day)}T${pad(i % 24)}:${pad(Math.floor(rand() * 60))}:${pad(Math.floor(rand() * 60))}${frac}Z`;
}

// Ids: small, negative, and above 2^53 (exact only as BIGINT).
function idFor(i) {
  if (i % 7 === 0) return 2n ** 60n + BigInt(i);
  if (i % 11 === 0) return -BigInt(i) - 1n;
  return BigInt(i) * 1000003n;
}

function flatRow(i) {
  const hex = [...Array(32)].map(() => Math.floor(rand() * 16).toString(16)).join("");
  return {
    id: idFor(i),
    n: i % 13 === 0 ? null : Math.floor(rand() * 4e9) - 2e9,
    name: i % 9 === 0 ? null : `näme-${i}-€ "q" \\ ${"x".repeat(i % 17)}`,
    price: i % 6 === 0 ? i : (rand() - 0.3) * 1e6,
    f: Math.floor(rand() * 4000 - 2000) / 8,
    flag: i % 10 === 0 ? null : i % 3 === 0,
    dt: `20${pad(10 + (i % 20))}-${pad(1 + (i % 12))}-${pad(1 + (i % 28))}`,
    ts: tsOn(1 + (i % 28), i),
    lt: `2025-12-${pad(1 + (i % 30))}T${pad(i % 24)}:00:${pad(i % 60)}.${pad(i * 37 % 1000000, 6)}`,
    dec: `${i % 4 === 0 ? "-" : ""}${Math.floor(rand() * 1e8)}.${pad(i % 100)}`,
    u: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
    tm: `${pad(i % 24)}:${pad(i % 60)}:${pad((i * 7) % 60)}${i % 2 ? `.${pad(i * 1237 % 1000000, 6)}` : ""}`,
  };
}

const SYMS = ["BTC", "ETH", "SOL", "DOGE"];
function partRow(i, day, version = 0) {
  return {
    id: idFor(i), ts: tsOn(day, i), sym: SYMS[i % 4],
    price: Math.round(rand() * 1e6) / 100 + version * 1000, note: i % 8 === 0 ? null : `v${version} row ${i}`,
  };
}

function writeJsonl(name, rows) {
  const file = path.join(suite.tmp, name);
  fs.writeFileSync(file, rows.map(jsonLine).join("\n") + "\n");
  return file;
}

// ---------------------------------------------------------------- cases

async function unpartitioned() {
  console.log("# unpartitioned, every primitive type");
  floeOk("namespace create", "namespace", "create", "ice");
  floeOk("create ice.flat", "table", "create", "ice.flat", "--schema",
    "id long not null, n int, name string, price double, f float, flag boolean, dt date, ts timestamptz, " +
    "lt timestamp, dec decimal(12,2), u uuid, tm time");
  const rows = [];
  for (let i = 0; i < 300; i++) rows.push(flatRow(i));
  floeOk("append 1", "table", "append", "ice.flat", writeJsonl("flat1.jsonl", rows.slice(0, 180)));
  floeOk("append 2", "table", "append", "ice.flat", writeJsonl("flat2.jsonl", rows.slice(180)));
  const { metadataFile } = describe("ice.flat");
  const fields = schemaFields("ice.flat");
  const cli = await compareWithIcebird("unpartitioned", "ice.flat", metadataFile);
  if (cli) sameRows("unpartitioned: floe table scan = the rows written", canonModel(rows, fields), cli);

  // A rename, as evolve writes it: the same field id under a new name. The
  // files written before it have the old name; icebird finds the column by
  // the "iceberg.schema" footer Floe writes into every data file.
  try {
    const m = await icebergMetadata({ tableUrl: "s3://warehouse/ice/flat", metadataFileName: metadataFile });
    const renamed = structuredClone(m);
    const sch = renamed.schemas.find((s) => s["schema-id"] === renamed["current-schema-id"]);
    sch.fields.find((fd) => fd.name === "name").name = "label";
    const ice = await icebergRead({ tableUrl: "s3://warehouse/ice/flat", metadata: renamed });
    const got = ice.map((r) => ({ id: canonIcebird(r.id, "long"), v: canonIcebird(r.label, "string") }));
    const want = rows.map((r) => ({ id: r.id.toString(), v: r.name === null ? "null" : r.name }));
    sameRows("a column renamed in the metadata reads by field id", want, got);
  } catch (e) {
    suite.fail(`a column renamed in the metadata reads by field id: ${e.message}`);
  }

  // icebird finding the current version by itself: version-hint.text, or a
  // listing of metadata/ when there is none.
  try {
    const m = await icebergMetadata({ tableUrl: "s3://warehouse/ice/flat" });
    const want = JSON.parse(await metadataText("ice.flat", metadataFile));
    suite.eq(want["current-snapshot-id"], m["current-snapshot-id"], "icebird finds the current metadata without its name");
  } catch (e) {
    suite.fail(`icebird finds the current metadata without its name: ${e.message}`);
  }
  return rows;
}

const partModel = new Map(); // id text -> row
const partStates = new Map(); // snapshot id -> rows then
const partFields = () => schemaFields("ice.part");

async function checkPart(what) {
  const { metadataFile, snapshot } = describe("ice.part");
  const rows = [...partModel.values()];
  partStates.set(snapshot, rows);
  const cli = await compareWithIcebird(what, "ice.part", metadataFile);
  if (cli) sameRows(`${what}: floe table scan = the rows written`, canonModel(rows, partFields()), cli);
}

function lastOperation(table) {
  const s = snapshots(table);
  return s[s.length - 1]?.operation;
}

async function partitioned() {
  console.log("# partitioned by day(ts), bucket(16, id), five days");
  floeOk("create ice.part", "table", "create", "ice.part", "--schema",
    "id long not null, ts timestamptz, sym string, price double, note string",
    "--partition", "day(ts), bucket(16, id)");
  const rows = [];
  for (let i = 0; i < 400; i++) rows.push(partRow(i, 1 + (i % 5)));
  floeOk("append days", "table", "append", "ice.part", writeJsonl("part1.jsonl", rows.slice(0, 250)));
  for (const r of rows.slice(0, 250)) partModel.set(String(r.id), r);
  await checkPart("partitioned, one append");
  floeOk("append more", "table", "append", "ice.part", writeJsonl("part2.jsonl", rows.slice(250)));
  for (const r of rows.slice(250)) partModel.set(String(r.id), r);
  await checkPart("partitioned, two appends");
  const files = floeOk("files", "table", "files", "ice.part", "--format", "json").split("\n").filter((l) => l.trim());
  const parts = new Set(files.map((l) => parseRaw(l).partition));
  suite.check(parts.size > 40 && [1, 2, 3, 4, 5].every((d) => [...parts].some((p) => p.startsWith(`ts_day=2026-03-0${d}/`))),
    `the rows spread over days and buckets (${parts.size} partitions)`);
}

const dayOf = (r) => Number(r.ts.slice(8, 10));

async function deletesAndOverwrites() {
  console.log("# delete and overwrite");
  floeOk("delete day 2 (whole files)", "table", "delete", "ice.part", "--filter",
    "ts >= '2026-03-02' and ts < '2026-03-03'");
  for (const [k, r] of partModel) if (dayOf(r) === 2) partModel.delete(k);
  suite.eq("delete", lastOperation("ice.part"), "whole-file delete: a delete snapshot");
  await checkPart("after a whole-file delete");

  floeOk("delete ETH (copy-on-write)", "table", "delete", "ice.part", "--filter", "sym = 'ETH' and price > 5000");
  const before = partModel.size;
  for (const [k, r] of partModel) if (r.sym === "ETH" && r.price > 5000) partModel.delete(k);
  suite.check(before - partModel.size > 10 && partModel.size > 200, `the partial delete removes some rows (${before - partModel.size})`);
  await checkPart("after a partial (copy-on-write) delete");

  // overwrite --filter: day 4 replaced by new rows (some old ids, some new).
  const day4 = [];
  for (let i = 0; i < 400; i += 5) if (i % 5 === 3) day4.push(partRow(i, 4, 1));
  for (let i = 400; i < 460; i++) day4.push(partRow(i, 4, 1));
  for (let i = 3; i < 400; i += 10) day4.push(partRow(i, 4, 2)); // i % 5 == 3: old day-4 ids
  floeOk("overwrite --filter day 4", "table", "overwrite", "ice.part", writeJsonl("day4.jsonl", day4),
    "--filter", "ts >= '2026-03-04' and ts < '2026-03-05'");
  for (const [k, r] of partModel) if (dayOf(r) === 4) partModel.delete(k);
  for (const r of day4) partModel.set(String(r.id), r);
  await checkPart("after overwrite --filter");

  // overwrite --dynamic: every day-5 id again with new values, plus new ids;
  // only the (day, bucket) partitions in the file are replaced.
  const day5 = [];
  for (const r of partModel.values()) if (dayOf(r) === 5) day5.push({ ...r, price: r.price + 0.5, note: "rerun" });
  for (let i = 500; i < 530; i++) day5.push(partRow(i, 5, 3));
  floeOk("overwrite --dynamic day 5", "table", "overwrite", "ice.part", writeJsonl("day5.jsonl", day5), "--dynamic");
  for (const r of day5) partModel.set(String(r.id), r);
  suite.eq("overwrite", lastOperation("ice.part"), "dynamic overwrite: an overwrite snapshot");
  await checkPart("after overwrite --dynamic");
}

async function olderSnapshots() {
  console.log("# older snapshots through their metadata files");
  const meta = JSON.parse(floeOk("describe", "table", "describe", "ice.part", "--format", "json"));
  const files = [...(meta["metadata-log"] ?? []).map((e) => path.basename(e["metadata-file"])), describe("ice.part").metadataFile];
  let read = 0;
  for (const f of files) {
    const text = await metadataText("ice.part", f);
    const snap = /"current-snapshot-id"\s*:\s*(-?\d+)/.exec(text)?.[1];
    if (!snap || snap === "-1" || !partStates.has(snap)) continue;
    const cli = await compareWithIcebird(`metadata ${f.slice(0, 5)}`, "ice.part", f);
    if (cli) sameRows(`metadata ${f.slice(0, 5)}: scan --snapshot = the rows then`, canonModel(partStates.get(snap), partFields()), cli);
    read++;
  }
  suite.eq(partStates.size, read, "every snapshot the test made is read back by its metadata file");
}

async function evolution(flatRows) {
  console.log("# schema evolution");
  const model = flatRows.map((r) => ({ ...r }));
  const step = async (what, args, apply) => {
    const r = floe("table", "evolve", "ice.flat", ...args);
    if (!suite.check(r.code === 0, `evolve ${args.join(" ")}`, `exit ${r.code}: ${r.err.slice(0, 1000)}`)) return false;
    apply();
    const fields = schemaFields("ice.flat");
    const cli = await compareWithIcebird(what, "ice.flat", describe("ice.flat").metadataFile);
    if (cli) sameRows(`${what}: floe table scan = the rows written`, canonModel(model, fields), cli);
    return true;
  };
  if (!(await step("after add-column", ["add-column", "note", "string"], () => model.forEach((r) => (r.note = null)))))
    return;
  const more = [];
  for (let i = 300; i < 340; i++) more.push({ ...flatRow(i), note: `added ${i}` });
  floeOk("append with the new column", "table", "append", "ice.flat", writeJsonl("flat3.jsonl", more));
  model.push(...more);
  await step("after rename-column", ["rename-column", "name", "label"], () =>
    model.forEach((r) => { r.label = r.name; delete r.name; }));
  await step("after widen int to long", ["widen", "n", "long"], () => {});
  if (!(await step("after drop-column", ["drop-column", "flag"], () => model.forEach((r) => delete r.flag)))) return;
  return model;
}

const countFiles = (table) =>
  floeOk("files", "table", "files", table, "--format", "json").split("\n").filter((l) => l.trim()).length;

async function compaction(flatModel) {
  console.log("# compaction");
  // Five small appends on day 3: the (day, bucket) partitions they touch
  // then hold five or more small files, which bin-packing merges.
  for (let k = 0; k < 5; k++) {
    const batch = [];
    for (let i = 0; i < 48; i++) batch.push(partRow(1000 + k * 48 + i, 3, 4));
    floeOk(`small append ${k}`, "table", "append", "ice.part", writeJsonl(`small${k}.jsonl`, batch));
    for (const r of batch) partModel.set(String(r.id), r);
  }
  const filesBefore = countFiles("ice.part");
  const r = floe("table", "compact", "ice.part");
  if (!suite.check(r.code === 0, "compact ice.part", `exit ${r.code}: ${r.err.slice(0, 1000)}`)) return;
  const filesAfter = countFiles("ice.part");
  suite.check(filesAfter < filesBefore - 10, `compaction leaves fewer data files (${filesBefore} -> ${filesAfter})`);
  suite.eq("replace", lastOperation("ice.part"), "compaction: a replace snapshot");
  await checkPart("after compaction");

  // The evolved flat table: files written under three schemas (before
  // add-column, before rename/widen/drop, after) compacted into one file in
  // the current schema, which icebird and the CLI read the same.
  if (!flatModel) return;
  const more = [];
  for (let i = 600; i < 640; i++) {
    const row = { ...flatRow(i), note: `late ${i}` };
    row.label = row.name;
    delete row.name;
    delete row.flag;
    more.push(row);
  }
  floeOk("append after evolution 1", "table", "append", "ice.flat", writeJsonl("flat4.jsonl", more.slice(0, 20)));
  floeOk("append after evolution 2", "table", "append", "ice.flat", writeJsonl("flat5.jsonl", more.slice(20)));
  flatModel.push(...more);
  const flatBefore = countFiles("ice.flat");
  floeOk("compact ice.flat", "table", "compact", "ice.flat");
  suite.eq(1, countFiles("ice.flat"), `evolved table compacted from ${flatBefore} files into one`);
  const cli = await compareWithIcebird("evolved, then compacted", "ice.flat", describe("ice.flat").metadataFile);
  if (cli) sameRows("evolved, then compacted: floe table scan = the rows written", canonModel(flatModel, schemaFields("ice.flat")), cli);
}

try {
  const flatRows = await unpartitioned();
  await partitioned();
  await deletesAndOverwrites();
  await olderSnapshots();
  const flatModel = await evolution(flatRows);
  await compaction(flatModel);
} catch (e) {
  suite.fail(`stopped: ${e.stack ?? e}`);
}
console.log(`# fetches: ${fetchStats.gets} GETs (${fetchStats.ranged} ranged, ${fetchStats.partial} answered 206), ${fetchStats.lists} listings`);
suite.check(fetchStats.ranged > 0 && fetchStats.partial === fetchStats.ranged, "every ranged read is answered 206 Partial Content");
suite.eq([], fetchStats.foreign, "icebird fetched nothing but S3 URLs");
await suite.finish();
