// Package archive is the analyst's door to a city: an admitted, read-only
// member of one or more neighborhoods that writes every telemetry report,
// plan, operator signal and neighborhood aggregate it hears as Parquet
// files that Spark, DuckDB or ClickHouse read as they are.
//
// # What it owns
//
//   - The archiver (New, Run): one mesh host per neighborhood (admission
//     admits one peer ID per certificate), subscribed to the
//     neighborhood's telemetry and plan topics; the first also to the
//     region topic. It publishes nothing, runs no Raft, never votes and
//     never leads. Plans are judged as homes judge them, against the
//     leader of the newest term, which the archiver learns from the
//     aggregates leaders publish on the region topic (leaders.go): a
//     plan of a new term is archived once that term's leader has sent
//     its first aggregate.
//   - The layout (layout.go): <table>/date=YYYY-MM-DD/nbhd=<id>/
//     part-<tag>-NNNN.parquet, tables telemetry, plans, aggregates and
//     signals (region-wide: no nbhd level), partitioned by the UTC time
//     the archiver received each row, tag the archiver's peer ID's last
//     ten characters. docs/ARCHIVE.md is the schema and the guarantees.
//   - The files (file.go, store.go): a file per partition and roll
//     window (Config.RollEvery, an hour), written as .part-…parquet.tmp,
//     a row group every Config.RowGroupRows rows, then footer, fsync,
//     rename and directory fsync when the window ends or the archiver
//     stops. A file is complete or absent; a crash loses the open
//     windows' rows and nothing written before.
//
// # What callers must do
//
//   - Give each Member its own key, and with admission on a certificate
//     of its neighborhood for that key's peer ID, like any home's.
//   - Give Config.Mesh.Region the operator keys (to archive signals) and,
//     with admission on, every archived neighborhood's key is added for
//     the aggregates.
//   - Run one process per identity: two processes with the same key
//     would number their files alike.
//   - Cancel Run's context to stop: Run commits every open file before it
//     returns.
package archive
