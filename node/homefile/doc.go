// Package homefile reads a home from one YAML file: its identity, its
// neighborhood, its network and its devices with their drivers, addresses,
// limits and which loads are critical.
//
// Decoding is strict: an unknown key, a value of the wrong type or a value
// out of range is an error that names the line. Load returns a File; the
// caller (cmd/gridmesh's `node` command) builds the node from it.
package homefile
