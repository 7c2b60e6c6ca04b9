// Package control holds the pure control functions of a gridmesh home and
// neighborhood: the primary loop every home runs (Loop), the secondary
// dispatch a neighborhood leader computes (Dispatch), and the rules that
// keep plans safe to follow: leases and fencing.
//
// Nothing here opens a socket, starts a goroutine or reads the wall clock:
// time comes in as a now argument and decisions go out as return values,
// so every function can be tested exhaustively and replayed fast.
//
// The primary loop is a state machine in the style of etcd-raft's RawNode.
// Its runner (in package node) must:
//   - own the Loop from a single goroutine (a Loop is not safe for
//     concurrent use) and call Step every period (100 ms) whatever the
//     network does, with a Reading taken from its Battery and Meter
//     (the meter's grid frequency included: the loop answers it with
//     droop on that very step, see Droop) and the time of that reading;
//   - hand every plan that arrives to Offer, with the same clock, and
//     count the refusals (errors.Is with ErrStalePlan, ErrExpiredPlan,
//     ErrWrongNeighborhood, or gridmesh.ErrInvalid);
//   - apply Command.BatteryW to the Battery. The device clamps to its own
//     limits again: limits are enforced at the device, last. The loop
//     keeps an estimate of the home's base load across steps (base.go),
//     which takes the command it returned as the one in force: skip a
//     tick (Sensed.Settled) rather than step on readings that predate
//     the last command.
//
// Battery and Meter are the capabilities the runner reads and steers (PV,
// Charger, HeatPump and Loads are read for now); device drivers satisfy
// them without importing this package.
//
// Pure cores for the layers above: BalanceIsland (an islanded feeder:
// energy shared, SoC balanced, PV curtailed only when nothing absorbs it,
// loads shed EV → heat pump → other), Allocate (a signed regional request
// split among neighborhoods from their gossiped Aggregates, the same split
// on every leader), VoltWatt, and the forecasts (clear-sky PV scaled by
// clearness, load from the same hours of recent days, ReserveAhead).
//
// Around them, every rule a home or a leader follows with a threshold, a
// hysteresis or a majority, so that package node only reads, calls and
// applies:
//   - the loop's tick (Sensed: whether readings are settled, the Reading
//     without a meter, the dead bus; MissedTicks);
//   - island mode (islandmode.go: Islanded, HomeLoads, PlanIsland,
//     LocalIsland, IslandSourceOf, IslandTargetsOf, Thermostat);
//   - the reserve ahead of the evening peak (reserve.go: ReserveConfig,
//     ForecastHistory, Reserve);
//   - the region (region.go: what a view keeps, DecideRegion on a
//     snapshot of it, RegionalTarget, RegionBoundaries,
//     NeighborhoodAggregate);
//   - telemetry (report.go: ReportDue, when a home reports, on a change
//     beyond a deadband or at the heartbeat; shed.go: Shedding, when an
//     overloaded home thins its reports).
//
// Powers follow the gridmesh load convention: positive battery power is
// charging, positive net power is import.
package control
