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
//	dr           at Duration/3 the testnet's grid operator publishes a
//	             signed regional cut of DRCutPerHomeW per home, until
//	             2·Duration/3, on the region topic (through a live home);
//	             the neighborhoods' leaders split it among themselves
//	             from their gossiped aggregates (regional_share_w)
//	regulation   from min(20 s, Duration/4) the operator publishes one
//	             signed regulation step every 2 s (Config.Regulation:
//	             a CSV's values, or GenerateRegD's RegD-like signal);
//	             the region follows value × PerHomeW × Homes below its
//	             baseline. The fleet's response (baseline − feeder
//	             import, over the offer) is sampled every SamplePeriod
//	             and every 10 s; pjm_score is ScorePJM over the 10 s
//	             samples when there are 10 minutes of them
//	leader-kill  at Duration/2 each neighborhood's leader is killed hard:
//	             its node stops without a goodbye, like kill -9
//	frequency-dip
//	             at Duration/4 the grid frequency every live home's meter
//	             reads steps down to 49.5 Hz, where the default droop
//	             curve asks each battery for its whole discharge range,
//	             and returns to 50 Hz 3 s later; the report times each
//	             home's response (primary_response_ms, and
//	             primary_response_late beyond two loop ticks), and feeder
//	             tracking is not judged during the dip or Settle after it
//	rogue        from Duration/8 two hosts that are members of no
//	             neighborhood of the city dial every home each plan period:
//	             one without a certificate (refused AdmissionTimeout after
//	             it connects), one presenting a certificate of another
//	             neighborhood (refused at once); both publish plans on
//	             every plan topic and send every home a Raft RPC. The
//	             report gets admission_refused (above 0) and
//	             plans_from_non_members_applied and
//	             rogue_raft_rpcs_answered (both 0)
//
// Every home trusts the run's operator key (signals_rejected counts what
// the homes refused) and every neighborhood's membership key (aggregates
// must come from a member of the neighborhood they claim).
//
// Every neighborhood has a membership key and every home a certificate:
// homes admit only their own neighborhood's members to its topics and
// Raft group, whatever the scenario.
//
// With SunSpecHomes (`--sunspec-homes N`), the first N homes reach their
// simulated devices over Modbus TCP: a Go SunSpec server in front of each
// simulation and the SunSpec driver in the node, as homes with real
// hybrid inverters would.
package testnet
