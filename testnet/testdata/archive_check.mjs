// Reads a gridmesh archive with DuckDB and prints what it holds as JSON:
// every Parquet file read whole on its own, then per table the rows, and
// per neighborhood and home the telemetry rows, their net_w sum and seq
// range. Usage: node archive_check.mjs DIR (with @duckdb/node-api
// resolvable from this script's directory).
import { DuckDBInstance } from '@duckdb/node-api';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node archive_check.mjs DIR');
  process.exit(2);
}
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const q = async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJson();
const lit = (s) => "'" + s.replaceAll("'", "''") + "'";

const out = { files: [], tables: {}, homes: [], nbhds: [] };
// Every file on its own, read whole: a torn file fails here.
for (const { file } of await q(`select file from glob(${lit(dir + '/**/*.parquet')}) order by file`)) {
  const [{ n }] = await q(`select count(*)::bigint as n from read_parquet(${lit(file)})`);
  const [{ v }] = await q(`select value::varchar as v from parquet_kv_metadata(${lit(file)}) where key::varchar = 'gridmesh.schema_version'`);
  out.files.push({ file, rows: Number(n), schema_version: Number(v) });
}
for (const t of ['telemetry', 'plans', 'signals', 'aggregates']) {
  const files = out.files.filter((f) => f.file.startsWith(dir + '/' + t + '/'));
  if (files.length === 0) { out.tables[t] = 0; continue; }
  const [{ n }] = await q(`select count(*)::bigint as n from read_parquet(${lit(dir + '/' + t + '/**/*.parquet')}, hive_partitioning = true)`);
  out.tables[t] = Number(n);
}
const tel = `read_parquet(${lit(dir + '/telemetry/**/*.parquet')}, hive_partitioning = true)`;
out.homes = (await q(`
  select nbhd, home, count(*)::bigint as rows, count(distinct seq)::bigint as seqs,
         min(seq)::bigint as min_seq, max(seq)::bigint as max_seq, sum(net_w) as net_w_sum,
         min(soc_pct) as soc_pct_min, max(soc_pct) as soc_pct_max
  from ${tel} group by nbhd, home order by nbhd, home`)).map((r) => ({
  nbhd: r.nbhd, home: r.home, rows: Number(r.rows), seqs: Number(r.seqs), min_seq: Number(r.min_seq),
  max_seq: Number(r.max_seq), net_w_sum: Number(r.net_w_sum), soc_pct_min: Number(r.soc_pct_min), soc_pct_max: Number(r.soc_pct_max),
}));
out.nbhds = (await q(`
  select nbhd, count(*)::bigint as rows, sum(net_w) as net_w_sum, count(distinct home)::bigint as homes
  from ${tel} group by nbhd order by nbhd`)).map((r) => ({
  nbhd: r.nbhd, rows: Number(r.rows), net_w_sum: Number(r.net_w_sum), homes: Number(r.homes),
}));
console.log(JSON.stringify(out));
