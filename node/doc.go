// Package node runs one home of a gridmesh virtual power plant.
//
// A Node wires the layers together and owns nothing but the wiring: the
// home's devices (through the capability interfaces package control
// defines), its libp2p mesh membership (package mesh), its place in the
// neighborhood's Raft group (package consensus) and the primary control
// loop (control.Loop). It holds no control logic of its own.
//
// Run first claims the home's ports: a port another process holds fails
// it at once, naming the port, before any device is touched. The device
// loop then runs until Run's context ends, and for nothing else. The
// status endpoint and the network (the host, the Raft group, the topics
// and the goroutines below that use them) run beside it, each supervised
// apart: while the network cannot open (a data directory held, say), or
// after a part failed, the failure is logged and counted
// (network_open_failures, Status.ComponentRestarts) and the part is tried
// again with jittered backoff while the home self-consumes. The network's goroutines share one host,
// Raft group and set of topics: the failure of one restarts them all on
// a network opened anew.
//
// What runs while Run is active, each in one goroutine:
//
//   - the device loop: every LoopPeriod it reads the meter and the battery,
//     steps control.Loop (which answers the meter's grid frequency with
//     droop) and commands the battery; a plan that arrives is
//     offered and applied at once. It never waits on the network: plans
//     reach it through a bounded channel and telemetry leaves it through
//     an atomic snapshot; the one figure it gives the telemetry
//     publisher (how late its ticks start) is an atomic too, and no lock
//     it takes (the plan log's, the owner settings', the energy
//     totals') is ever held across a publish. Nor does it wait on a
//     device: every device sits behind a devices/guard (a poller and a
//     circuit breaker, run beside the loop), whose methods answer from a
//     cache at once. A tick whose
//     meter and battery readings do not both postdate the battery's last
//     command is skipped (counted as loop_ticks_unsettled): the loop's
//     base load is the meter less the battery, and readings of two
//     different commands would make it oscillate. An unavailable device
//     is absent: no battery, no command; no meter, the battery holds 0 W.
//     PV, EV charger, heat pump and loads are read for status and left on
//     their own defaults, but for island mode (island.go): while the grid
//     is gone the loop applies the island plan's PV limit and shed flags,
//     or, without one, balances the home as an island of one.
//   - the telemetry publisher (telemetry.go): every TelemetryPeriod it
//     looks at the newest reading and reports it when control.ReportDue
//     says so: every period while the home holds no Raft state (the
//     formation rules read every report), for its first two heartbeats
//     and while the leader plans without it, on a change beyond a deadband
//     of what planning reads (base load, battery limits and energy,
//     loads) or of what the home announces, and otherwise every
//     heartbeat (Config.Report: 2 s, inside TelemetryMaxAge's 5 s). A
//     report leaves through a one-report outbox that a second goroutine
//     publishes from: when the gossip layer has not taken the last one
//     before the next is due, the newer replaces it (counted as shed).
//     While the process is overloaded (control.Shedding: loop ticks
//     starting over half a period late, or a publish taking over a
//     quarter of a period), changes of figures wait for the heartbeat
//     (withheld, and the time thinned, counted): Raft's heartbeats,
//     which run on streams of their own, and the leader's plans keep the
//     CPU and gossip capacity there is. The heartbeat itself is never
//     stretched: it is what keeps the home in the plans.
//   - the plan receiver: validated plans from the plan topic go to the loop.
//   - the telemetry receiver (the table the leader dispatches from, and
//     the roster self-organization reads) and the dispatcher: while this
//     home leads, every PlanPeriod, on a new target and on gaining
//     leadership, it computes control.Dispatch, commits the plan to Raft,
//     confirms its leadership with a quorum and only then publishes it,
//     after beaconing the homes outside the Raft configuration
//     (beacon.go: the voters and a few standbys are members; every other
//     home learns the leader and term from the beacons and fences plans
//     by them). Every home runs both: any home may be made a voter and
//     lead. A home
//     listens to the telemetry topic only while consensus.Listen says it
//     needs the reports (listenTelemetry): gossip delivers and
//     signature-checks every report at every subscriber.
//   - self-organization (formation.go, autopilot.go), when no Raft
//     servers are configured: the homes found their neighborhood's Raft
//     group, keep its voters and merge a split by themselves, by
//     consensus's formation rules. The caller sets nothing but
//     Config.Formation (consensus.DefaultFormationConfig), the same in
//     every home of the neighborhood. After a merge the device loop's
//     fence restarts.
//   - the region (region.go): every home keeps a view of the operator's
//     signals from the region topic; the leader alone joins the
//     aggregates topic while it leads, keeps the neighborhoods'
//     aggregates, publishes its own every 5 s and,
//     while a signal is in force, dispatches its target less its share
//     (control.Allocate over the view: every leader computes the same
//     split). A regulation signal is a stream of signed steps, each
//     followed until the next (gridmesh.Signal.Value).
//   - the local HTTP endpoint, if configured: GET /status (JSON) and
//     GET /metrics (Prometheus, from a registry of the home's own:
//     metrics.go; energy totals kept in Config.DataDir: energy.go).
//   - the pauser (pause.go), which begins a requested Pause if the
//     dispatcher did not.
//
// Callers must: give every home a few bootstrap peers and, if they
// configure Raft servers at all, the same list everywhere (without any,
// Formation's timings must suit TelemetryPeriod: start from
// consensus.DefaultFormationConfig(TelemetryPeriod)); call Run once;
// call Leave before cancelling its context for a graceful stop (the
// leader hands over first). Cancelling alone is a hard stop, like a
// crash. Pause (pause.go) makes a home go silent for a while, as a
// stopped process would: for fault tests and the testnet.
package node
