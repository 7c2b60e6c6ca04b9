// Package testnet runs a city of gridmesh homes on one machine: real
// nodes (real libp2p hosts on 127.0.0.1, real Raft) on simulated devices,
// grouped into neighborhoods whose feeders the testnet meters, driven by
// scenarios, and measured into a JSON report.
//
// With Config.Transport "mem" (`gridmesh testnet --transport mem`) the
// same hosts run on an in-memory network (package mesh/memnet): Noise,
// yamux, admission and gossip as on TCP, each home at an address of its
// own and no socket, so a city is not bounded by file descriptors and
// ports. Nothing outside the process reaches those homes: the archiver
// and an outside operator need TCP.
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
//	cold-start   every home of every neighborhood starts at the same
//	             instant (otherwise StartParallel at a time); the
//	             report gets clusters_formed per neighborhood (1 is right)
//	churn        in every neighborhood of five homes or more: its last home
//	             joins at Duration/4; a voter that does not lead crashes
//	             at 0.35·Duration and restarts with its key and Raft data
//	             at 0.55; a home that neither votes nor leads leaves
//	             gracefully at 0.45 and comes back at 0.7 (churn counts
//	             them)
//	pause-leader at 0.6·Duration each neighborhood's leader stops answering
//	             for three election timeouts, right between confirming
//	             its leadership and publishing a plan (node.Node.Pause),
//	             then publishes it; the report gets stale_plans_applied
//	             (0 is right) and stale_plans_published (what deposed
//	             leaders tried, so that the 0 is not a vacuous one)
//	rogue        from Duration/8, once every neighborhood has a leader,
//	             two hosts that are members of no neighborhood of the
//	             city dial every home each plan period: one without a
//	             certificate (refused AdmissionTimeout after it
//	             connects), one presenting a certificate of another
//	             neighborhood (refused at once); both publish plans on
//	             every plan topic and send every home a Raft RPC. The
//	             report gets admission_refused (above 0) and
//	             plans_from_non_members_applied and
//	             rogue_raft_rpcs_answered (both 0). The run awaits every
//	             live home's refusal of both rogues (see below)
//
// When a run ends. Duration is the length of the scenarios' schedule,
// counted from the moment the last home listens, not a wall-clock
// limit: the verdicts a run reports must not depend on how fast the
// machine is (a loaded two-core CI box, a slow laptop). The run ends at
// the first sample at which all of these hold:
//
//   - Duration has passed.
//   - Every scheduled event has fired. An event the machine delays
//     (the run's goroutine busy, a fault waiting up to 25 election
//     timeouts for the leader or voter it strikes) still fires; the
//     report's events_late_max_ms says by how much the latest one was
//     late.
//   - Every fault (a leader kill, each churn event, a leader pause) has
//     had the recovery window its place in the schedule gave it,
//     Duration less its offset, counted from when it struck: a pause
//     scheduled at 0.6·Duration that strikes 3 s late moves the end 3 s
//     later. What is judged at the end (a leader in every neighborhood,
//     plan coverage, every churned home back) is judged after the same
//     recovery time on any machine.
//   - Every verdict a scenario awaits is in, or due: the rogue scenario
//     awaits every live home's refusal of each rogue (no-certificate
//     for one, wrong-neighborhood for the other), due AdmissionTimeout
//     plus one failed dial and the next dial round after the rogues
//     began. They begin once every neighborhood has a leader: on a
//     machine slow to organize the city, the scenario starts late
//     rather than not at all, and the report says that it never began
//     only if no leader was in every neighborhood 30 s into the run (or
//     by the scheduled end, if later). A verdict not in when due is an
//     error in the report, naming the homes that did not refuse.
//
// The report's ran_s is how long the scenarios then ran (duration_s or
// more). With no fault late and no verdict pending the two agree to a
// sample period. `gridmesh testnet --duration 10s --scenario rogue`
// (AdmissionTimeout is mesh.DefaultAdmissionTimeout there, 600 ms)
// runs until every home has refused the uncertified rogue, some 12 s on a fast machine and longer on a
// slow laptop, whose city takes longer to elect its first leaders,
// rather than ending at 10 s with that verdict unknown. Each bound above
// is finite, so a run still ends when its city cannot organize itself;
// the report then says what did not happen.
//
// Every home trusts the run's operator key (signals_rejected counts what
// the homes refused) and every neighborhood's membership key (aggregates
// must come from a member of the neighborhood they claim).
//
// No home is configured as a voter: each neighborhood's homes found their
// Raft group and keep its voters themselves (consensus.FormationConfig), from
// the bootstrap peers each home is given (the first home of its
// neighborhood, the one before it, the first of the previous
// neighborhood). Every home listens on a port fixed before the run and
// held for it while it is not running (before it starts, and between a
// crash and its restart), so nothing else takes it. With
// churn, every home keeps its Raft state in a data directory of its own
// (fsync on; removed at the end), so a restarted home comes back as a
// real one would; otherwise Raft state is in memory: a hundred homes
// fsyncing every plan on one machine starve Raft's heartbeats, which one
// home on its own box never would.
//
// Every neighborhood has a membership key and every home a certificate:
// homes admit only their own neighborhood's members to its topics and
// Raft group, whatever the scenario.
//
// The report counts what homes refused (rejected_messages,
// admission_refused, signals_rejected) over every run of every home. A
// home's network reports those counts only while it is up, so the
// testnet reads them from each home's status just before it stops it
// (a kill, a leave, the end of the run): what a home refused in the
// last milliseconds before its stop is not counted.
//
// With SunSpecHomes (`--sunspec-homes N`), the first N homes reach their
// simulated devices over Modbus TCP: a Go SunSpec server in front of each
// simulation and the SunSpec driver in the node, as homes with real
// hybrid inverters would.
//
// The report. Run returns a Report: the JSON figures, and the run's time
// series (Report.Series, recorded by the run's goroutine at every sample,
// never by a home). Report.WriteHTML writes it as one self-contained
// HTML file (inline style and SVG, no script, nothing fetched) with these
// plots, each against seconds into the run with the scenarios' events
// marked:
//
//   - per neighborhood, its feeder's import against its target (less its
//     regional share), in kW, with the leader kill and the end of its
//     failover marked and a strip of who led in which term;
//   - the live homes' states of charge: least to greatest, and median;
//   - with outage, each island's frequency (a gap while dark) and the
//     non-critical load its homes shed;
//   - with regulation, the signal against the region's response, over
//     the offer, with the PJM score;
//
// and a table of every report key with its value and what it means.
//
// A run owns everything it starts: every scenario event gets the run's
// context, and the homes, probes, rogue hosts and device servers it
// starts end when the run ends; Run returns only after they have, and
// removes the data directory on every path.
package testnet
