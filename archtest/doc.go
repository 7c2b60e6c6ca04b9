// Package archtest holds the test that keeps gridmesh's package
// dependencies pointing the one way ARCHITECTURE.md draws. It has no
// code of its own.
package archtest
