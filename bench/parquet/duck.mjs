// duck.mjs: DuckDB's side of bench/parquet (see pqbench.c for the rows).
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
  await con.run(`CREATE TABLE t AS SELECT i AS id, 'S' || (i * 7919 % 50) AS symbol, (100 + (i % 1000) / 100)::DOUBLE AS price,
     ((i % 97) + 0.5)::DOUBLE AS qty, make_timestamptz(1767225600000000 + i * 1000) AS ts, i % 3 = 0 AS side,
     CASE WHEN i % 10 = 0 THEN 'note ' || (i % 1000) END AS note FROM range(${n}) r(i)`);
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
