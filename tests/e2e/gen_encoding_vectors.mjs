// gen_encoding_vectors.mjs: has DuckDB write a Parquet file with its v2
// encodings (DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, BYTE_STREAM_SPLIT,
// RLE dictionary indices and levels) and hyparquet-writer one with
// DELTA_BYTE_ARRAY and others, cuts the raw value sections out of their
// pages, and prints them as cases for
// tests/unit/format/data/encoding/peers.txt (the format of cases.txt), with
// the values DuckDB itself reads back from the file as the expected result.
//
//   cd tests/e2e && npm ci
//   node gen_encoding_vectors.mjs > ../unit/format/data/encoding/peers.txt
//
// Not a test itself (run.sh runs test_*.mjs only); its output is checked in.
import { DuckDBInstance } from '@duckdb/node-api'
import { parquetMetadata } from 'hyparquet'
import { parquetHeader } from 'hyparquet/src/column.js'
import { parquetWriteFile } from 'hyparquet-writer'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ROWS = 400
const dir = mkdtempSync(join(tmpdir(), 'floe-enc-'))
const file = join(dir, 'v.parquet')

// Every column is distinct enough that DuckDB does not pick a dictionary,
// except color (dictionary on purpose) and flag.
const select = `
SELECT
  (1700000000000000 + i * 1000 + hash(i) % 997)::BIGINT AS ts,
  CASE WHEN i = 0 THEN -9223372036854775808 WHEN i = 1 THEN 9223372036854775807
       ELSE (hash(i * 7) >> 1)::BIGINT * (CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END) END AS rnd64,
  ((hash(i * 3) % 2000000)::BIGINT - 1000000)::INTEGER AS i32,
  CASE WHEN i = 0 THEN -2147483648 WHEN i = 1 THEN 2147483647 ELSE (hash(i) >> 33)::INTEGER END AS rnd32,
  'k' || i || '_' || md5(i::VARCHAR)[1:(i % 17)] AS str,
  'https://example.com/item/' || (i // 3)::VARCHAR || '/' || (i % 3)::VARCHAR AS url,
  (hash(i * 11) % 100000000) / 7.0 AS dbl,
  ((hash(i * 13) % 1000000) / 3.0)::FLOAT AS flt,
  ['red', 'green', 'blue', 'cyan', 'magenta'][(hash(i) % 5)::BIGINT + 1] AS color,
  hash(i * 5) % 3 = 0 AS flag,
  CASE WHEN i % 7 IN (0, 3) THEN NULL ELSE i * 1000003 END AS nullable
FROM range(${ROWS}) t(i) ORDER BY i`

const instance = await DuckDBInstance.create(':memory:')
const con = await instance.connect()
await con.run(`COPY (${select}) TO '${file}' (FORMAT parquet, PARQUET_VERSION v2, COMPRESSION uncompressed)`)
const rows = (await con.runAndReadAll(`SELECT * FROM read_parquet('${file}')`)).getRows()
const version = (await con.runAndReadAll('SELECT version()')).getRows()[0][0]

console.log(`# Pages written by DuckDB ${version} (COPY ... PARQUET_VERSION v2,`)
console.log('# COMPRESSION uncompressed) and by hyparquet-writer (explicit encodings,')
console.log('# UNCOMPRESSED), cut out of the files by tests/e2e/gen_encoding_vectors.mjs;')
console.log('# expected values are what DuckDB reads back. Format: see cases.txt.')
dump(file, `DuckDB ${version}`, rows)

// hyparquet-writer, with encodings chosen per column: the only peer here
// that writes DELTA_BYTE_ARRAY.
const file2 = join(dir, 'h.parquet')
const N2 = 300
const range = Array.from({ length: N2 }, (_, i) => i)
parquetWriteFile({
  filename: file2,
  codec: 'UNCOMPRESSED',
  columnData: [
    { name: 'url', type: 'STRING', encoding: 'DELTA_BYTE_ARRAY', data: range.map((i) => `https://example.com/item/${Math.floor(i / 3)}/${i % 3}`) },
    { name: 'word', type: 'STRING', encoding: 'DELTA_BYTE_ARRAY', data: range.map((i) => ['axis', 'axle', 'babble', 'babyhood', ''][i % 5] + (i % 7 === 0 ? String(i) : '')) },
    { name: 'name', type: 'STRING', encoding: 'DELTA_LENGTH_BYTE_ARRAY', data: range.map((i) => `n${(i * 7919) % 1000}`) },
    { name: 'big', type: 'INT64', encoding: 'DELTA_BINARY_PACKED', data: range.map((i) => (i === 1 ? -9223372036854775808n : i === 2 ? 9223372036854775807n : BigInt(i) * 1000003n - 77n)) },
    { name: 'small', type: 'INT32', encoding: 'DELTA_BINARY_PACKED', data: range.map((i) => ((i * 2654435761) % 65536) - 32768) },
    { name: 'dbl', type: 'DOUBLE', encoding: 'BYTE_STREAM_SPLIT', data: range.map((i) => i / 3 - 50) },
  ],
})
const rows2 = (await con.runAndReadAll(`SELECT * FROM read_parquet('${file2}')`)).getRows()
dump(file2, 'hyparquet-writer', rows2)

function dump(path, writer, rows) {
  const buf = readFileSync(path)
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
  const meta = parquetMetadata(ab)

  const names = meta.row_groups[0].columns.map((c) => c.meta_data.path_in_schema.join('.'))
  for (const [ci, chunk] of meta.row_groups[0].columns.entries()) {
    const md = chunk.meta_data
    const name = names[ci]
    const start = Number(md.dictionary_page_offset ?? md.data_page_offset)
    let offset = start
    let dict = null
    let row = 0
    let page = 0
    while (offset < start + Number(md.total_compressed_size)) {
      const reader = { view: new DataView(ab), offset }
      const h = parquetHeader(reader)
      const data = new Uint8Array(ab, reader.offset, h.compressed_page_size)
      offset = reader.offset + h.compressed_page_size
      if (h.type === 'DICTIONARY_PAGE') {
        dict = plainDict(data, h.dictionary_page_header.num_values, md.type)
        continue
      }
      let n, levels, values, encoding
      if (h.type === 'DATA_PAGE_V2') {
        const v2 = h.data_page_header_v2
        const rl = v2.repetition_levels_byte_length
        n = v2.num_values
        levels = data.subarray(rl, rl + v2.definition_levels_byte_length)
        values = data.subarray(rl + v2.definition_levels_byte_length)
        encoding = v2.encoding
      } else if (h.type === 'DATA_PAGE') {
        // v1: no repetition levels (flat schema); definition levels (every
        // column here is OPTIONAL) with a 4-byte length
        const dv = new DataView(data.buffer, data.byteOffset, data.byteLength)
        const l = dv.getUint32(0, true)
        n = h.data_page_header.num_values
        levels = data.subarray(4, 4 + l)
        values = data.subarray(4 + l)
        encoding = h.data_page_header.encoding
      } else {
        throw new Error(`${name}: page type ${h.type}`)
      }
      const col = rows.slice(row, row + n).map((r) => r[ci])
      row += n
      const present = col.filter((v) => v !== null)
      console.log(`\n# ${writer}, ${name}: ${h.type} ${page++}, ${n} values (${n - present.length} null), ${encoding}`)
      if (levels.length) console.log(['rle_u8', 'w=1', hex(levels), col.map((v) => (v === null ? 0 : 1)).join(' ')].join('\t'))
      console.log(valueCase(name, md.type, encoding, values, present, dict))
    }
  }
}
rmSync(dir, { recursive: true })

function hex(u8) {
  return Buffer.from(u8).toString('hex')
}

function plainDict(data, n, type) {
  const out = []
  let p = 0
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  for (let i = 0; i < n; i++) {
    if (type === 'BYTE_ARRAY') {
      const l = view.getUint32(p, true)
      out.push(Buffer.from(data.subarray(p + 4, p + 4 + l)).toString())
      p += 4 + l
    } else throw new Error(`dictionary of ${type}`)
  }
  return out
}

function valueCase(name, type, encoding, values, present, dict) {
  const n = present.length
  switch (encoding) {
    case 'DELTA_BINARY_PACKED':
      return [type === 'INT64' ? 'delta64' : 'delta32', '-', hex(values), present.map(String).join(' ')].join('\t')
    case 'DELTA_LENGTH_BYTE_ARRAY':
      return ['dlba', `n=${n}`, hex(values), present.join('|')].join('\t')
    case 'DELTA_BYTE_ARRAY':
      return ['dba', `n=${n}`, hex(values), present.join('|')].join('\t')
    case 'BYTE_STREAM_SPLIT': {
      const w = type === 'DOUBLE' ? 8 : 4
      const plain = Buffer.alloc(n * w)
      present.forEach((v, i) => (w === 8 ? plain.writeDoubleLE(v, i * 8) : plain.writeFloatLE(v, i * 4)))
      return ['bss', `w=${w}`, hex(values), hex(plain)].join('\t')
    }
    case 'RLE_DICTIONARY': {
      // one byte of bit width, then the hybrid
      const w = values[0]
      const idx = present.map((v) => dict.indexOf(v))
      if (idx.includes(-1)) throw new Error(`${name}: value not in the dictionary`)
      return ['rle', `w=${w}`, hex(values.subarray(1)), idx.join(' ')].join('\t')
    }
    case 'RLE':
      if (type !== 'BOOLEAN') throw new Error(`${name}: RLE for ${type}`)
      // booleans: a 4-byte length, then the hybrid at width 1
      return ['rle_u8', 'w=1', hex(values.subarray(4)), present.map((v) => (v ? 1 : 0)).join(' ')].join('\t')
    case 'PLAIN':
      if (type === 'BOOLEAN') return ['bool', '-', hex(values), present.map((v) => (v ? 1 : 0)).join(' ')].join('\t')
      return `# ${name}: PLAIN ${type}, no case`
    default:
      throw new Error(`${name}: encoding ${encoding}`)
  }
}
