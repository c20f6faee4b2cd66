// duck.mjs: DuckDB's side of bench/iceberg.
//   node duck.mjs copy IN.parquet OUTDIR THREADS  -> {"seconds": s, "rows": n, "files": f}
// A partitioned write of the same input Floe appends: COPY ... TO OUTDIR
// (FORMAT parquet, PARTITION_BY (ts_day), COMPRESSION zstd), with ts_day
// the UTC date of ts (Floe's day(ts)), timed from the start of the COPY
// to its return (DuckDB does not fsync the files).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../tests/e2e/package.json'));
const { DuckDBInstance } = await import(require.resolve('@duckdb/node-api'));

const [mode, input, out, threads] = process.argv.slice(2);
if (mode !== 'copy') throw new Error('usage: node duck.mjs copy IN.parquet OUTDIR THREADS');
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run(`SET threads = ${Number(threads)}`);
await con.run(`SET TimeZone = 'UTC'`);
fs.rmSync(out, { recursive: true, force: true });
const now = () => Number(process.hrtime.bigint()) / 1e9;
const t0 = now();
const r = await con.runAndReadAll(`COPY (SELECT *, ts::DATE AS ts_day FROM read_parquet('${input}'))
  TO '${out}' (FORMAT parquet, PARTITION_BY (ts_day), COMPRESSION zstd)`);
const t1 = now();
const rows = Number(r.getRows()[0][0]);
let files = 0;
for (const d of fs.readdirSync(out)) files += fs.readdirSync(path.join(out, d)).length;
console.log(JSON.stringify({ rows, seconds: t1 - t0, files, threads: Number(threads) }));
