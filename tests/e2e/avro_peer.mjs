// avro_peer.mjs: the avsc side of tests/e2e/test_avro.sh.
//
//   node avro_peer.mjs DIR
//
// Reads every DIR/floe-<case>-{null,deflate}.avro with avsc (unions wrapped,
// longs as BigInt so none loses precision) and compares each record with
// DIR/<case>.expect.json, in the canonical form avro_peer.py documents.
// Then writes DIR/node-<case>-{null,deflate}.avro from those expected
// records, for `floe avro cat` to read back. avsc has no snappy or zstandard
// of its own; python3-avro covers those codecs.
//
// Prints "ok ..." or "FAIL ..." per check; exits 1 on any FAIL.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';

const require = createRequire(import.meta.url);
const avro = require('avsc');

const dir = process.argv[2];
let fails = 0;
const ok = (what) => console.log(`  ok   ${what}`);
const fail = (what) => {
  fails++;
  console.log(`  FAIL ${what}`);
};

// Longs as BigInt: avsc's own long type refuses values past 2^53.
const bigLong = avro.types.LongType.__with({
  fromBuffer: (buf) => buf.readBigInt64LE(),
  toBuffer: (n) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: BigInt,
  toJSON: Number,
  isValid: (n) => typeof n === 'bigint',
  compare: (a, b) => (a === b ? 0 : a < b ? -1 : 1),
});

// Logical types are compared as their raw values, and avsc uses its long
// registry only for the bare name "long": drop logicalType, and turn
// {"type": "long"} into "long".
function raw(s) {
  if (Array.isArray(s)) return s.map(raw);
  if (!s || typeof s !== 'object') return s;
  const o = Object.fromEntries(Object.entries(s).filter(([k]) => k !== 'logicalType').map(([k, v]) => [k, raw(v)]));
  return Object.keys(o).length === 1 && typeof o.type === 'string' ? o.type : o;
}
const typeOf = (schema) => avro.Type.forSchema(raw(schema), { wrapUnions: true, registry: { long: bigLong } });

function special(x) {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return null;
}

// An avsc value to the canonical form.
function toCanon(t, v) {
  const n = avro.Type.isType(t, 'abstract') ? 'long' : t.typeName;
  switch (n) {
    case 'null': case 'boolean': case 'int': case 'string': case 'enum': return v;
    case 'long': return v.toString();
    case 'float': return special(v) ?? Math.fround(v);
    case 'double': return special(v) ?? v;
    case 'bytes': case 'fixed': return v.toString('hex');
    case 'array': return v.map((x) => toCanon(t.itemsType, x));
    case 'map': return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toCanon(t.valuesType, x)]));
    case 'record': return Object.fromEntries(t.fields.map((f) => [f.name, toCanon(f.type, v[f.name])]));
    case 'union:wrapped': {
      if (v === null) return null;
      const [name] = Object.keys(v);
      const b = t.types.find((x) => x.branchName === name);
      return { [name]: toCanon(b, v[name]) };
    }
    default: throw new Error(`type ${n}`);
  }
}

// The canonical form to an avsc value.
function fromCanon(t, c) {
  const n = avro.Type.isType(t, 'abstract') ? 'long' : t.typeName;
  const num = (x) => (typeof x === 'string' ? { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity }[x] : x);
  switch (n) {
    case 'null': case 'boolean': case 'int': case 'string': case 'enum': return c;
    case 'long': return BigInt(c);
    case 'float': case 'double': return num(c);
    case 'bytes': case 'fixed': return Buffer.from(c, 'hex');
    case 'array': return c.map((x) => fromCanon(t.itemsType, x));
    case 'map': return Object.fromEntries(Object.entries(c).map(([k, x]) => [k, fromCanon(t.valuesType, x)]));
    case 'record': return Object.fromEntries(t.fields.map((f) => [f.name, fromCanon(f.type, c[f.name])]));
    case 'union:wrapped': {
      if (c === null) return null;
      const [name] = Object.keys(c);
      const b = t.types.find((x) => x.branchName === name);
      return { [name]: fromCanon(b, c[name]) };
    }
    default: throw new Error(`type ${n}`);
  }
}

function readFile(file, type) {
  return new Promise((resolve, reject) => {
    const out = [];
    let meta = null;
    avro.createFileDecoder(file, { readerSchema: type })
      .on('metadata', (_type, codec, header) => { meta = { codec, header }; })
      .on('data', (v) => out.push(v))
      .on('error', reject)
      .on('end', () => resolve({ records: out, meta }));
  });
}

function writeFile(file, type, values, codec) {
  return new Promise((resolve, reject) => {
    const enc = avro.createFileEncoder(file, type, { codec, metadata: { 'format-version': Buffer.from('2') } });
    enc.on('error', reject);
    enc.on('finish', () => setTimeout(resolve, 50)); // the file stream closes just after
    for (const v of values) enc.write(v);
    enc.end();
  });
}

const files = fs.readdirSync(dir).filter((f) => /^floe-.*-(null|deflate)\.avro$/.test(f)).sort();
if (files.length === 0) fail(`no floe-*-{null,deflate}.avro in ${dir}`);
const cases = new Set();
for (const f of files) {
  const m = /^floe-(.*)-(null|deflate)\.avro$/.exec(f);
  const name = m[1];
  cases.add(name);
  const schema = JSON.parse(fs.readFileSync(path.join(dir, `${name}.avsc`), 'utf8'));
  const want = JSON.parse(fs.readFileSync(path.join(dir, `${name}.expect.json`), 'utf8'));
  const type = typeOf(schema);
  try {
    const { records, meta } = await readFile(path.join(dir, f), type);
    const got = JSON.parse(JSON.stringify(records.map((r) => toCanon(type, r))));
    if (got.length !== want.length) {
      fail(`avsc reads ${f}: ${got.length} records, expected ${want.length}`);
      continue;
    }
    const bad = got.findIndex((g, i) => !isDeepStrictEqual(g, want[i]));
    if (bad >= 0) {
      fail(`avsc reads ${f}: record ${bad} differs:\n       got:      ${JSON.stringify(got[bad]).slice(0, 1500)}\n` +
        `       expected: ${JSON.stringify(want[bad]).slice(0, 1500)}`);
      continue;
    }
    if (meta.codec !== m[2] || meta.header.meta['format-version'].toString() !== '2') {
      fail(`avsc reads ${f}: codec ${meta.codec} or format-version not as written`);
      continue;
    }
    ok(`avsc reads ${f}: ${got.length} records`);
  } catch (e) {
    fail(`avsc reads ${f}: ${e.message}`);
  }
}

for (const name of [...cases].sort()) {
  const schema = JSON.parse(fs.readFileSync(path.join(dir, `${name}.avsc`), 'utf8'));
  const want = JSON.parse(fs.readFileSync(path.join(dir, `${name}.expect.json`), 'utf8'));
  const type = typeOf(schema);
  for (const codec of ['null', 'deflate']) {
    const out = path.join(dir, `node-${name}-${codec}.avro`);
    try {
      await writeFile(out, type, want.map((c) => fromCanon(type, c)), codec);
      ok(`avsc writes ${path.basename(out)}`);
    } catch (e) {
      fail(`avsc writes ${path.basename(out)}: ${e.message}`);
    }
  }
}
process.exit(fails ? 1 : 0);
