// Package testnet runs a city of gridmesh homes on one machine: real
// nodes (real libp2p hosts on 127.0.0.1, real Raft) on simulated devices,
// grouped into neighborhoods whose feeders the testnet meters, driven by
// scenarios, and measured into a JSON report.
//
// A real home never needs this package. It exists so that a developer can
// start a whole city with `gridmesh testnet` and so that tests can prove
// the layers together.
//
// The feeder model: a neighborhood's feeder import is the sum of its live
// homes' net imports, read from their simulated meters every
// SamplePeriod. A killed home's node is gone and so, in this model, is
// its load from the feeder (device-level reversion, which would keep the
// house on the feeder running on its own, arrives with the device
// drivers).
//
// Scenarios (comma-separated, any order):
//
//	steady       every neighborhood is asked for a constant feeder import
//	             (TargetPerHomeW times its homes); always on
//	dr           at Duration/3 each neighborhood is asked to cut its import
//	             by DRCutPerHomeW per home, until 2·Duration/3
//	leader-kill  at Duration/2 each neighborhood's leader is killed hard:
//	             its node stops without a goodbye, like kill -9
package testnet
