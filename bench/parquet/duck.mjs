// duck.mjs: DuckDB's side of bench/parquet (see pqbench.c for the rows, which
// this file builds from the same formulas).
//   node duck.mjs write OUT N THREADS   -> {"seconds": s, "bytes": b}
//   node duck.mjs read FILE THREADS     -> {"seconds": s, ...aggregates}
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../tests/e2e/package.json'));
const { DuckDBInstance } = await import(require.resolve('@duckdb/node-api'));

const [mode, file, a3, a4] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const now = () => Number(process.hrtime.bigint()) / 1e9;
if (mode === 'write') {
  const n = Number(a3), threads = Number(a4);
  await con.run(`SET threads = ${threads}`);
  // The formulas of pqbench.c in 64-bit SQL integers: mix() is the same
  // 32-bit hash (products stay below 2^63, masks keep 32 bits), and the
  // running sums are window sums in row order.
  await con.run(`CREATE MACRO mix1(x) AS (xor(x >> 16, x) * 73244475) & 4294967295`);
  await con.run(`CREATE MACRO mix(x) AS xor(mix1(mix1(x)) >> 16, mix1(mix1(x)))`);
  await con.run(`CREATE TABLE h AS SELECT i, mix((8 * i) & 4294967295) % 50 AS s, mix((8 * i + 1) & 4294967295) AS h1,
     mix((8 * i + 2) & 4294967295) AS h2, mix((8 * i + 3) & 4294967295) AS h3, mix((8 * i + 4) & 4294967295) AS h4,
     mix((8 * i + 5) & 4294967295) AS h5 FROM range(${n}) r(i)`);
  await con.run(`CREATE TABLE t AS SELECT i AS id, 'S' || s AS symbol,
     ((20000 + 2000 * s + sum(h1 % 7 - 3) OVER (PARTITION BY s ORDER BY i ROWS UNBOUNDED PRECEDING))::BIGINT::DOUBLE
       / 100) AS price,
     ((1 + (h2 % 1000) * ((h2 >> 10) % 1000))::DOUBLE / 1000) AS qty,
     make_timestamptz(1767225600000000 + (sum(CASE WHEN h3 % 4 = 0 THEN (h3 >> 2) % 20000 ELSE (h3 >> 2) % 200 END)
       OVER (ORDER BY i ROWS UNBOUNDED PRECEDING))::BIGINT) AS ts,
     h4 % 2 = 1 AS side,
     CASE WHEN h5 % 10 = 0 THEN ['block trade', 'iceberg order', 'post-only', 'reduce-only', 'manual review',
       'late report', 'cross with desk', 'auction fill'][(h5 >> 4) % 8 + 1] || ' #' || ((h5 >> 7) % 100000) END AS note
     FROM h ORDER BY i`);
  await con.run(`DROP TABLE h`);
  const t0 = now();
  await con.run(`COPY t TO '${file}' (FORMAT parquet, COMPRESSION zstd)`);
  const t1 = now();
  console.log(JSON.stringify({ rows: n, seconds: t1 - t0, bytes: fs.statSync(file).size }));
} else {
  await con.run(`SET threads = ${Number(a3)}`);
  const t0 = now();
  const r = await con.runAndReadAll(`SELECT count(*) AS c, sum(price) AS sp, sum(qty) AS sq, max(epoch_us(ts)) AS mts,
      count(note) AS cn FROM read_parquet('${file}')`);
  const t1 = now();
  const row = r.getRowObjectsJson()[0];
  console.log(JSON.stringify({ rows: Number(row.c), seconds: t1 - t0, sum_price: Number(row.sp), sum_qty: Number(row.sq),
    max_ts: String(row.mts), count_note: Number(row.cn) }));
}
