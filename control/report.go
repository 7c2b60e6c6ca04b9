package control

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gridmesh/gridmesh"
)

// ReportConfig says when a home reports its telemetry to its
// neighborhood: when a figure the planner uses moved beyond its deadband,
// when what the home announces about itself changed, and otherwise at
// least every Heartbeat. The deadbands are compared with the last report
// sent, not the last reading looked at, so a slow drift is reported once
// it adds up.
type ReportConfig struct {
	// PowerDeadbandW is how far the base load (BaseW), the battery's
	// limits (MinW, MaxW) or a load class of HomeLoads must move to be
	// reported before the heartbeat.
	PowerDeadbandW gridmesh.W
	// SoCDeadband is how far the state of charge (0..1) must move; the
	// battery's energies (ChargeWh, DischargeWh, CapacityWh) are held to
	// the same share of the capacity.
	SoCDeadband float64
	// Heartbeat is the longest a home that holds Raft state stays
	// silent: what keeps it fresh at the leader (TelemetryMaxAge) and
	// alive to upkeep (ReplaceAfter) when nothing changes.
	Heartbeat time.Duration
	// Period is how often the home looks at its reading
	// (TelemetryPeriod): the heartbeat goes at the look nearest to
	// Heartbeat after the last report, so that a look a little early
	// does not put it off by a whole period, nor one a little late bring
	// it forward by one. The silence is at most Heartbeat + Period/2,
	// and Heartbeat when the looks keep their period.
	Period time.Duration
}

// DefaultReportConfig returns deadbands below what planning notices and
// a heartbeat of two report periods (2 s at the default 1 s period).
//
// Why 100 W: a home follows its setpoint as a net import, so a base load
// the leader knows 100 W off moves which battery does the work by 100 W,
// not the feeder's import: the battery absorbs it. Only a battery at a
// limit cannot, and the limits are themselves held to 100 W: 2 % of a
// 5 kW battery's range, below a household meter's own swing from one
// second to the next (a fridge's compressor starting).
//
// Why 1 % of state of charge: the reserve and island planning that read
// state of charge and energy work over quarter-hours to hours; 1 % is
// 100-135 Wh on a 10-13.5 kWh battery, which a battery at its full 5 kW
// moves in 7-10 s, so a battery working hard still reports several
// times a minute on its energy alone.
//
// Why a 2 s heartbeat: the leader plans with reports heard within
// TelemetryMaxAge and upkeep replaces a voter silent for ReplaceAfter
// (5 s with 1 s report periods): at 2 s one lost heartbeat leaves a 4 s
// gap, inside both, so a home at rest is never dropped from a plan nor
// a voter replaced for one lost message. Every report says Applied
// (upkeep promotes only homes within 16 entries of the leader): at one
// plan a second, a 2 s-old index is 2 entries behind.
func DefaultReportConfig(reportPeriod time.Duration) ReportConfig {
	return ReportConfig{PowerDeadbandW: 100, SoCDeadband: 0.01, Heartbeat: 2 * reportPeriod, Period: reportPeriod}
}

// Validate checks the configuration.
func (c ReportConfig) Validate() error {
	var errs []error
	if !(c.PowerDeadbandW >= 0) || !c.PowerDeadbandW.Finite() || c.PowerDeadbandW > gridmesh.MaxHomePowerW {
		errs = append(errs, fmt.Errorf("power deadband %v outside [0, %v]", c.PowerDeadbandW, gridmesh.MaxHomePowerW))
	}
	if !(c.SoCDeadband >= 0 && c.SoCDeadband <= 1) {
		errs = append(errs, fmt.Errorf("state of charge deadband %v outside [0, 1]", c.SoCDeadband))
	}
	if c.Period <= 0 || c.Heartbeat < c.Period {
		errs = append(errs, fmt.Errorf("heartbeat %v, period %v: want a positive period and a heartbeat of at least one period", c.Heartbeat, c.Period))
	}
	return errors.Join(errs...)
}

// ReportReason says why a report is due, or that none is.
type ReportReason int

// The reasons, from the most to the least pressing.
const (
	// ReportNone: nothing changed beyond the deadbands and the heartbeat
	// is not due.
	ReportNone ReportReason = iota
	// ReportFirst: the home has not reported yet.
	ReportFirst
	// ReportForming: the home holds no Raft state and follows no
	// cluster: the formation rules read every report of a home that
	// founds one. A home that follows a cluster from outside its Raft
	// configuration (on the leader's beacons, naming it in Joining)
	// reports as members do: its leader plans for it from its reports,
	// and upkeep adds it as a standby from one heard within RemoveAfter.
	ReportForming
	// ReportStarting: the home made its first report less than two
	// heartbeats ago.
	ReportStarting
	// ReportMembership: what the home announces about its cluster (its
	// name, whether it joined, the founder or cluster it names) or its
	// addresses changed.
	ReportMembership
	// ReportHealth: the home's meter or battery stopped or started
	// answering (NoReading).
	ReportHealth
	// ReportIsland: the grid went or came back at the home's meter, or
	// what it sheds changed.
	ReportIsland
	// ReportChange: a figure the planner uses moved beyond its deadband.
	ReportChange
	// ReportHeartbeat: nothing changed, but the home has been silent
	// for a heartbeat.
	ReportHeartbeat
	// ReportUnplanned: the leader plans without this home
	// (ReportStanding.Unplanned).
	ReportUnplanned
	// ReportWithheld: a figure moved beyond its deadband, or the leader
	// plans without the home, but the home is shedding telemetry
	// (Shedding): the report waits for the heartbeat.
	ReportWithheld
)

// Send reports whether the reason is to publish a report.
func (r ReportReason) Send() bool { return r != ReportNone && r != ReportWithheld }

// String names the reason, for logs and metrics.
func (r ReportReason) String() string {
	names := [...]string{"none", "first", "forming", "starting", "membership", "health", "island", "change", "heartbeat", "unplanned", "withheld"}
	if r < 0 || int(r) >= len(names) {
		return "unknown"
	}
	return names[r]
}

// ReportStanding is what a home knows of its own standing when it
// decides whether to report.
type ReportStanding struct {
	// Thinned: the home sheds telemetry (Shedding).
	Thinned bool
	// Unplanned: the home holds a valid plan without a setpoint of its
	// own: the leader plans, but without a fresh report of this home (it
	// is new, or its reports were lost).
	Unplanned bool
	// Started is when the home made its first report (zero: none yet).
	Started time.Time
}

// ReportDue decides whether a home reports cur at now, having last
// reported last at lastAt (zero: never). A home reports every period
// for its first two heartbeats (ReportStarting): its first reports go
// out while its gossip meshes form, and may reach no one. A home the
// leader plans
// without reports every period, as if its figures had moved, until it
// is planned again. A thinned home (Shedding) still reports what
// changed about its membership, health and island at once, and
// everything at its heartbeat, which thinning never stretches (the
// leader would drop the home from its plans); it withholds only the
// changes of figures until then. It is a pure function.
func ReportDue(last, cur gridmesh.Telemetry, lastAt, now time.Time, home ReportStanding, cfg ReportConfig) ReportReason {
	switch {
	case lastAt.IsZero():
		return ReportFirst
	case !cur.Joined && cur.Joining == "":
		return ReportForming
	case now.Sub(home.Started) < 2*cfg.Heartbeat:
		return ReportStarting
	case membershipChanged(last, cur):
		return ReportMembership
	case last.NoReading != cur.NoReading:
		return ReportHealth
	case islandChanged(last.Loads, cur.Loads):
		return ReportIsland
	case now.Sub(lastAt)+cfg.Period/2 > cfg.Heartbeat:
		return ReportHeartbeat
	case !home.Unplanned && !figuresMoved(last, cur, cfg):
		return ReportNone
	case home.Thinned:
		return ReportWithheld
	case home.Unplanned:
		return ReportUnplanned
	}
	return ReportChange
}

// membershipChanged reports whether what the home announces about its
// cluster or where to reach it changed. Applied is left out: it moves
// with every plan, and the heartbeat carries it.
func membershipChanged(a, b gridmesh.Telemetry) bool {
	return a.Cluster != b.Cluster || a.Joined != b.Joined || a.Founder != b.Founder ||
		a.Joining != b.Joining || !slices.Equal(a.Addrs, b.Addrs)
}

// islandChanged reports whether the grid's presence or the shed loads
// differ; a home that starts or stops reporting its loads counts too.
func islandChanged(a, b *gridmesh.HomeLoads) bool {
	if (a == nil) != (b == nil) {
		return true
	}
	return a != nil && (a.Islanded != b.Islanded || a.Shed != b.Shed)
}

// figuresMoved reports whether a figure the planner uses moved beyond
// its deadband. NetW and the battery's PowerW are left out: they follow
// the plan the leader made, and no plan is made from them.
func figuresMoved(a, b gridmesh.Telemetry, cfg ReportConfig) bool {
	if beyondW(cfg.PowerDeadbandW, a.BaseW, b.BaseW, a.Battery.MinW, b.Battery.MinW, a.Battery.MaxW, b.Battery.MaxW) {
		return true
	}
	if math.Abs(a.Battery.SoC-b.Battery.SoC) >= cfg.SoCDeadband && a.Battery.SoC != b.Battery.SoC {
		return true
	}
	energyBand := gridmesh.Wh(cfg.SoCDeadband) * max(a.Battery.CapacityWh, b.Battery.CapacityWh)
	for _, p := range [][2]gridmesh.Wh{
		{a.Battery.CapacityWh, b.Battery.CapacityWh}, {a.Battery.ChargeWh, b.Battery.ChargeWh}, {a.Battery.DischargeWh, b.Battery.DischargeWh},
	} {
		if p[0] != p[1] && math.Abs(float64(p[0]-p[1])) >= float64(energyBand) {
			return true
		}
	}
	return loadsMoved(a.Loads, b.Loads, cfg.PowerDeadbandW)
}

// loadsMoved reports whether a load class or the PV of two reports that
// both carry loads moved beyond band.
func loadsMoved(a, b *gridmesh.HomeLoads, band gridmesh.W) bool {
	if a == nil || b == nil {
		return false // islandChanged covers one of them nil
	}
	return beyondW(band, a.CriticalW, b.CriticalW, a.EVW, b.EVW, a.HeatPumpW, b.HeatPumpW,
		a.OtherW, b.OtherW, a.PVAvailableW, b.PVAvailableW, a.PVW, b.PVW)
}

// beyondW reports whether any pair (old, new) of pairs differs by at
// least band (and at all, so that a zero band reports every change).
func beyondW(band gridmesh.W, pairs ...gridmesh.W) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		d := pairs[i+1] - pairs[i]
		if d != 0 && math.Abs(float64(d)) >= float64(band) {
			return true
		}
	}
	return false
}
