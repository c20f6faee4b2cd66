// test_parquet.mjs: Floe's Parquet against DuckDB 1.5 (@duckdb/node-api).
//
// 1. Round trips from the case files in parquet/*.json: `floe parquet
//    convert` writes the rows; Floe's own reader (`floe parquet cat`) and
//    DuckDB must both return exactly the input values; DuckDB's
//    parquet_schema() must show the field ids Floe assigned.
// 2. Generated tables with every null pattern (none, all, mixed) across
//    pages and row groups, read back by Floe and DuckDB.
// 3. Files DuckDB writes with each codec, page version and row group size,
//    read by `floe parquet cat` and compared with DuckDB's own reading.
// 4. A file hyparquet-writer writes (decimals in BYTE_ARRAY among others),
//    read by Floe and compared with DuckDB's reading.
//
// Values are compared in a canonical form: integers and decimals as exact
// strings, timestamps as epoch microseconds, binary as hex, floats as
// numbers (NaN and infinities as text).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetWriteBuffer } from 'hyparquet-writer';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const FLOE = process.env.FLOE_BIN || path.join(root, process.env.BUILD || 'build', 'asan', 'floe');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-pq-'));
let checks = 0;

function fail(msg) {
  console.error('FAIL: ' + msg);
  process.exit(1);
}

function floe(args, input) {
  try {
    return execFileSync(FLOE, args, { input, encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    fail(`floe ${args.join(' ')} exited ${e.status}: ${e.stderr}`);
  }
}

// ---- a JSON parser that keeps numbers as their text ----
function parseJson(text) {
  let i = 0;
  const ws = () => { while (/\s/.test(text[i])) i++; };
  const val = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++; const o = {}; ws();
      if (text[i] === '}') { i++; return o; }
      for (;;) { ws(); const k = val(); ws(); i++; o[k] = val(); ws(); if (text[i++] === '}') return o; }
    }
    if (c === '[') {
      i++; const a = []; ws();
      if (text[i] === ']') { i++; return a; }
      for (;;) { a.push(val()); ws(); if (text[i++] === ']') return a; }
    }
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const s = JSON.parse(text.slice(i, j + 1)); i = j + 1; return s;
    }
    if (text.startsWith('true', i)) { i += 4; return true; }
    if (text.startsWith('false', i)) { i += 5; return false; }
    if (text.startsWith('null', i)) { i += 4; return null; }
    const m = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i, i + 64));
    i += m[0].length;
    return { num: m[0] };
  };
  return val();
}
const numText = (v) => (v && typeof v === 'object' && 'num' in v ? v.num : v);

// ---- the schema text form ----
function parseSchema(text) {
  let i = 0;
  const ws = () => { while (/\s/.test(text[i])) i++; };
  const ident = () => { ws(); const m = /^[\w$]+/.exec(text.slice(i)); i += m[0].length; return m[0]; };
  const eat = (c) => { ws(); if (text[i] === c) { i++; return true; } return false; };
  const notNull = () => { ws(); if (/^not\s+null/i.test(text.slice(i))) { i += /^not\s+null/i.exec(text.slice(i))[0].length; return true; } return false; };
  const type = () => {
    const n = ident().toLowerCase();
    if (n === 'decimal') { eat('('); const p = ident(); eat(','); const s = ident(); eat(')'); return { t: 'decimal', p: +p, s: +s }; }
    if (n === 'fixed') { eat('['); const l = ident(); eat(']'); return { t: 'fixed', len: +l }; }
    if (n === 'list') { eat('<'); const e = type(); notNull(); eat('>'); return { t: 'list', e }; }
    if (n === 'map') { eat('<'); const k = type(); eat(','); const v = type(); notNull(); eat('>'); return { t: 'map', k, v }; }
    if (n === 'struct') {
      eat('<'); const fields = [];
      do { const name = ident(); eat(':'); const ft = type(); notNull(); fields.push({ name, type: ft }); } while (eat(','));
      eat('>'); return { t: 'struct', fields };
    }
    return { t: n };
  };
  const fields = [];
  do { const name = ident(); const ft = type(); notNull(); fields.push({ name, type: ft }); } while (eat(','));
  return fields;
}

// ---- canonical values ----
function tsMicros(s) {
  const m = /^(-?\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$/.exec(s);
  if (!m) fail(`bad timestamp text ${s}`);
  const days = BigInt(Math.floor(Date.UTC(+m[1], +m[2] - 1, +m[3]) / 86400000));
  const frac = BigInt(((m[7] || '') + '000000').slice(0, 6));
  let us = days * 86400000000n + BigInt(((+(m[4] || 0)) * 3600 + (+(m[5] || 0)) * 60 + (+(m[6] || 0)))) * 1000000n + frac;
  if (m[8] && m[8] !== 'Z') {
    const sign = m[8][0] === '-' ? -1n : 1n;
    const hh = BigInt(m[8].slice(1, 3)), mm = BigInt(m[8].replace(':', '').slice(3, 5) || '0');
    us -= sign * (hh * 3600n + mm * 60n) * 1000000n;
  }
  return us.toString();
}
function timeMicros(s) {
  const m = /^(\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?$/.exec(s);
  if (!m) fail(`bad time text ${s}`);
  return (BigInt((+m[1]) * 3600 + (+m[2]) * 60 + (+(m[3] || 0))) * 1000000n + BigInt(((m[4] || '') + '000000').slice(0, 6))).toString();
}
function decUnscaled(s, scale) {
  s = String(numText(s));
  let neg = s.startsWith('-');
  if (neg || s.startsWith('+')) s = s.slice(1);
  let [ip, fp = ''] = s.split('.');
  fp = (fp + '0'.repeat(scale)).slice(0, scale);
  const v = BigInt(ip + fp);
  return (neg && v !== 0n ? -v : v).toString();
}
function floatCanon(v, single) {
  const s = String(numText(v));
  if (/^nan$/i.test(s)) return 'NaN';
  if (/^(\+?inf(inity)?)$/i.test(s)) return 'Infinity';
  if (/^-inf(inity)?$/i.test(s)) return '-Infinity';
  let x = Number(s);
  if (single) x = Math.fround(x);
  return Object.is(x, -0) ? 0 : x;
}
const hexOf = (s) => Buffer.from(s, 'utf8').toString('hex');

// side: 'src' (the case's JSON input), 'floe' (floe parquet cat), 'duck'
// (DuckDB with the canonical SQL below)
function canon(v, t, side) {
  if (v === null || v === undefined) return null;
  switch (t.t) {
    case 'boolean': return v;
    case 'int': case 'long': return String(numText(v));
    case 'float': return floatCanon(v, true);
    case 'double': return floatCanon(v, false);
    case 'decimal': return decUnscaled(v, t.s);
    case 'date': return v;
    case 'time': return side === 'duck' ? String(numText(v)) : timeMicros(v);
    case 'timestamp': case 'timestamptz': return side === 'duck' ? String(numText(v)) : tsMicros(v);
    case 'string': return v;
    case 'binary': case 'fixed': return side === 'src' ? hexOf(v) : v.toLowerCase();
    case 'uuid': return v.toLowerCase();
    case 'list': return v.map((x) => canon(x, t.e, side));
    case 'map':
      if (side === 'duck') return v.map((e) => [canon(e.k, t.k, side), canon(e.v, t.v, side)]);
      return Object.entries(v).map(([k, x]) => [canon(t.k.t === 'string' ? k : { num: k }, t.k, side), canon(x, t.v, side)]);
    case 'struct': {
      const o = {};
      for (const f of t.fields) o[f.name] = canon(v[f.name], f.type, side);
      return o;
    }
  }
  fail(`no canonical form for ${t.t}`);
}

// DuckDB SQL giving each type's canonical form
function duckExpr(e, t) {
  switch (t.t) {
    case 'long': case 'int': case 'decimal': return `(${e})::VARCHAR`;
    case 'float': case 'double': return `(${e})::VARCHAR`;
    case 'time': return `(epoch_us(DATE '1970-01-01' + ${e}))::VARCHAR`;
    case 'timestamp': case 'timestamptz': return `(epoch_us(${e}))::VARCHAR`;
    case 'binary': case 'fixed': return `hex(${e})`;
    case 'uuid': case 'date': return `(${e})::VARCHAR`;
    case 'list': return `list_transform(${e}, x${t.depth = (t.depth || 0)} -> ${duckExpr('x' + t.depth, t.e)})`;
    case 'map': return `list_transform(map_entries(${e}), kv -> {'k': ${duckExpr('kv.key', t.k)}, 'v': ${duckExpr('kv.value', t.v)}})`;
    case 'struct':
      return `CASE WHEN (${e}) IS NULL THEN NULL ELSE {${t.fields.map((f) => `'${f.name}': ${duckExpr(`(${e})."${f.name}"`, f.type)}`).join(', ')}} END`;
    default: return e;
  }
}
// nested list lambdas need distinct names
function nameLambdas(t, depth = 0) {
  if (t.t === 'list') { t.depth = depth; nameLambdas(t.e, depth + 1); }
  if (t.t === 'map') { nameLambdas(t.k, depth + 1); nameLambdas(t.v, depth + 1); }
  if (t.t === 'struct') t.fields.forEach((f) => nameLambdas(f.type, depth + 1));
}

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();

async function duckRows(file, fields) {
  fields.forEach((f) => nameLambdas(f.type));
  const sel = fields.map((f) => `${duckExpr(`"${f.name}"`, f.type)} AS "${f.name}"`).join(', ');
  const r = await con.runAndReadAll(`SELECT ${sel} FROM read_parquet('${file}')`);
  return r.getRowObjectsJson().map((row) => Object.fromEntries(fields.map((f) => [f.name, canon(row[f.name], f.type, 'duck')])));
}

function floeRows(file, fields) {
  const out = floe(['parquet', 'cat', file]);
  return out.split('\n').filter((l) => l).map((l) => {
    const o = parseJson(l);
    return Object.fromEntries(fields.map((f) => [f.name, canon(o[f.name], f.type, 'floe')]));
  });
}

function same(a, b, what) {
  const sa = JSON.stringify(a), sb = JSON.stringify(b);
  checks++;
  if (sa !== sb) {
    const ra = a.length !== undefined ? a : [a], rb = b.length !== undefined ? b : [b];
    for (let i = 0; i < Math.max(ra.length, rb.length); i++)
      if (JSON.stringify(ra[i]) !== JSON.stringify(rb[i]))
        fail(`${what}: row ${i} differs\n  got      ${JSON.stringify(ra[i])}\n  expected ${JSON.stringify(rb[i])}`);
    fail(`${what}: differs`);
  }
}

// ---- 1. case files ----
const caseDir = path.join(here, 'parquet');
for (const name of fs.readdirSync(caseDir).filter((n) => n.endsWith('.json')).sort()) {
  const text = fs.readFileSync(path.join(caseDir, name), 'utf8');
  const c = JSON.parse(text);
  const fields = parseSchema(c.schema);
  const rowsText = parseJson(text).rows;
  const src = rowsText.map((o) => Object.fromEntries(fields.map((f) => [f.name, canon(o[f.name], f.type, 'src')])));
  const jsonl = path.join(tmp, name + '.jsonl');
  // keep the numbers' text: write each row from the raw case text
  fs.writeFileSync(jsonl, c.rows.map((_, i) => JSON.stringify(c.rows[i], (k, v) => v)).join('\n') + '\n');
  // JSON.stringify loses big integers: rewrite them from the raw text
  const raw = text.slice(text.indexOf('"rows"'));
  const rowTexts = [];
  {
    let depth = 0, start = -1, inStr = false;
    for (let i = raw.indexOf('[') + 1; i < raw.length; i++) {
      const ch = raw[i];
      if (inStr) { if (ch === '\\') i++; else if (ch === '"') inStr = false; continue; }
      if (ch === '"') inStr = true;
      else if (ch === '{') { if (depth++ === 0) start = i; }
      else if (ch === '}') { if (--depth === 0) rowTexts.push(raw.slice(start, i + 1).replace(/\n/g, ' ')); }
      else if (ch === ']' && depth === 0) break;
    }
  }
  fs.writeFileSync(jsonl, rowTexts.join('\n') + '\n');
  const pq = path.join(tmp, name + '.parquet');
  floe(['parquet', 'convert', jsonl, pq, '--schema', c.schema, ...c.args]);
  same(floeRows(pq, fields), src, `${name}: floe reads back`);
  same(await duckRows(pq, fields), src, `${name}: DuckDB reads`);
  // field ids: DuckDB's parquet_schema against floe inspect
  const info = JSON.parse(floe(['parquet', 'inspect', pq, '--format', 'json']));
  const r = await con.runAndReadAll(`SELECT name, field_id FROM parquet_schema('${pq}') WHERE field_id IS NOT NULL`);
  const duckIds = Object.fromEntries(r.getRowObjectsJson().map((x) => [x.name, String(x.field_id)]));
  for (const f of info.schema) {
    checks++;
    if (duckIds[f.name] !== String(f.id)) fail(`${name}: field '${f.name}' has id ${f.id} in floe, ${duckIds[f.name]} in DuckDB`);
  }
  console.log(`ok ${name}: ${src.length} rows, Floe and DuckDB agree`);
}

// ---- 2. null patterns across pages and row groups ----
{
  const schema = 'id long not null, a long, s string, d double, tags list<string>';
  const fields = parseSchema(schema);
  const n = 30000;
  const pats = { none: () => false, all: () => true, mixed: (i) => i % 7 === 3 || (i >= 10000 && i < 12000) };
  for (const [pname, isNull] of Object.entries(pats)) {
    const lines = [];
    const src = [];
    for (let i = 0; i < n; i++) {
      const row = { id: i, a: isNull(i) ? null : i * 1000003 - 5e9, s: isNull(i) ? null : 'sym' + (i % 50),
        d: isNull(i) ? null : i / 8, tags: isNull(i) ? null : (i % 3 === 0 ? [] : ['t' + (i % 5), null]) };
      lines.push(JSON.stringify(row));
      src.push(Object.fromEntries(fields.map((f) => [f.name, canon(row[f.name], f.type, 'src')])));
    }
    const jsonl = path.join(tmp, `nulls-${pname}.jsonl`);
    fs.writeFileSync(jsonl, lines.join('\n') + '\n');
    const pq = path.join(tmp, `nulls-${pname}.parquet`);
    floe(['parquet', 'convert', jsonl, pq, '--schema', schema, '--row-group-rows', '12345', '--page-rows', '1000']);
    same(floeRows(pq, fields), src, `nulls ${pname}: floe reads back`);
    same(await duckRows(pq, fields), src, `nulls ${pname}: DuckDB reads`);
    console.log(`ok null pattern ${pname}: ${n} rows over 3 row groups`);
  }
}

// ---- 3. files DuckDB writes ----
{
  await con.run(`CREATE TABLE t AS SELECT i AS id, 'sym' || (i % 50) AS sym, i * 0.25 AS px,
      CASE WHEN i % 10 = 0 THEN NULL ELSE 'note ' || i END AS note, (i % 2 = 0) AS side,
      TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_microseconds(i * 1000) AS ts, (i % 1000)::INTEGER AS small,
      CAST(i AS DECIMAL(12,3)) / 7 AS dec, DATE '2026-01-01' + (i % 365)::INTEGER AS day,
      CASE WHEN i % 4 = 0 THEN NULL ELSE [i, i + 1] END AS arr, {'a': i, 'b': 'x' || (i % 3)} AS st
    FROM range(20000) r(i)`);
  const fields = parseSchema('id long, sym string, px decimal(18,2), note string, side boolean, ts timestamptz, small int, dec decimal(18,3), day date, arr list<long>, st struct<a: long, b: string>');
  const opts = [
    "COMPRESSION zstd", "COMPRESSION snappy", "COMPRESSION gzip", "COMPRESSION uncompressed", "COMPRESSION brotli",
    "COMPRESSION lz4_raw", "COMPRESSION zstd, PARQUET_VERSION v2", "COMPRESSION snappy, PARQUET_VERSION v2, ROW_GROUP_SIZE 3000",
    "COMPRESSION zstd, ROW_GROUP_SIZE 1000", "COMPRESSION zstd, DICTIONARY_SIZE_LIMIT 1",
  ];
  for (const [k, o] of opts.entries()) {
    const pq = path.join(tmp, `duck-${k}.parquet`);
    await con.run(`COPY t TO '${pq}' (FORMAT parquet, ${o})`);
    // px is DECIMAL(18,2) in DuckDB? take the file's own types via DuckDB's reading
    const duck = await duckRows(pq, fields);
    const mine = floeRows(pq, fields);
    same(mine, duck, `DuckDB file (${o}): floe reads`);
    console.log(`ok DuckDB-written file (${o}): ${duck.length} rows agree`);
  }
}

// ---- 4. a file hyparquet-writer writes ----
{
  const n = 1000;
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'd', data: Array.from({ length: n }, (_, i) => (i % 9 === 0 ? null : BigInt(i * 1234567 - 500000) * 10n ** 12n)) },
      { name: 's', data: Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : 'v' + (i % 13))) },
      { name: 'l', data: Array.from({ length: n }, (_, i) => BigInt(i) * 1000003n - 7n) },
      { name: 'x', data: Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : i / 3)) },
      { name: 'b', data: Array.from({ length: n }, (_, i) => i % 3 === 0) },
    ],
    schema: [
      { name: 'root', num_children: 5 },
      { name: 'd', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL', converted_type: 'DECIMAL', scale: 2, precision: 30 },
      { name: 's', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL', converted_type: 'UTF8' },
      { name: 'l', type: 'INT64', repetition_type: 'REQUIRED' },
      { name: 'x', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
      { name: 'b', type: 'BOOLEAN', repetition_type: 'REQUIRED' },
    ],
  });
  const pq = path.join(tmp, 'hyparquet.parquet');
  fs.writeFileSync(pq, Buffer.from(buf));
  const fields = parseSchema('d decimal(30,2), s string, l long, x double, b boolean');
  const duck = await duckRows(pq, fields);
  same(floeRows(pq, fields), duck, 'hyparquet-writer file: floe reads');
  checks++;
  if (duck.length !== n || duck[1].d === null) fail('hyparquet-writer file: DuckDB read unexpected values');
  console.log(`ok hyparquet-writer file: ${n} rows agree`);
}

fs.rmSync(tmp, { recursive: true, force: true });
console.log(`parquet: ${checks} checks passed`);
