// Package archtest holds the test that keeps gridmesh's package
// dependencies pointing one way. It has no code of its own. The rules it
// enforces are this diagram, plus the exceptions listed (each with its
// reason) in archtest_test.go:
//
//	cmd/gridmesh ─► testnet ─► node ─┬─► devices ───┐
//	     │            │              ├─► control ───┤
//	     │            │              ├─► mesh ──────┼─► gridmesh (root)
//	     │            │              └─► consensus ─┘
//	     │            └─► devices, mesh   (a city builds simulated homes and
//	     │                                 certificates; its rogue is a real
//	     │                                 mesh host)
//	     └─► testnet/lab ─► node/homefile (homes as separate processes, seen
//	                                       only from outside)
//
// operator holds the grid operator's doors at the edge of the mesh
// (operator/openadr, an OpenADR 3 VEN bridge): it imports node for
// node.Operator (the signing, publishing host) and control for the split
// leaders compute, so that its reports say what the leaders do; node
// never imports it, so no HTTP client code of a VTN reaches a home, and
// cmd/gridmesh wires it in.
//
// The lab also serves the testnet's city page (node/dashboard, the page
// without the node: standard library only): an exception, not an arrow.
// archive, at the edge like testnet, is a read-only member of the mesh
// that writes what it hears as Parquet files: it imports mesh (and the
// root) and nothing of node, so an archiver is no home and no home needs
// one; cmd/gridmesh (`gridmesh archive`) and testnet (`--archive`) start
// it, and node never imports it.
//
// devices, control, mesh and consensus never import each other: they meet
// in node and speak through the root package's types.
package archtest
