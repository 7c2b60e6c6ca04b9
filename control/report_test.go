package control

import (
	"math"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// joinedReport is a report of a home in cluster "c" at rest: 400 W of
// base load, a ±5 kW battery half full.
func joinedReport() gridmesh.Telemetry {
	return gridmesh.Telemetry{
		Version: gridmesh.WireVersion, Home: "h1", Neighborhood: "nb",
		NetW: 400, BaseW: 400, Cluster: "c", Joined: true, Applied: 10,
		Addrs: []string{"/ip4/127.0.0.1/tcp/4001"},
		Battery: gridmesh.Flexibility{MinW: -5_000, MaxW: 5_000, SoC: 0.5,
			CapacityWh: 10_000, ChargeWh: 5_000, DischargeWh: 5_000},
		Loads: &gridmesh.HomeLoads{CriticalW: 300, OtherW: 100},
	}
}

// outside makes a report one of a home that follows cluster "c" from
// outside its Raft configuration (on the leader's beacons).
func outside(t *gridmesh.Telemetry) { t.Joined, t.Cluster, t.Joining = false, "", "c" }

func TestReportDue(t *testing.T) {
	cfg := DefaultReportConfig(time.Second)
	sent := t0
	now := sent.Add(time.Second) // a period later, inside the heartbeat
	tests := []struct {
		name   string
		change func(*gridmesh.Telemetry)
		// both changes the last report and the present one alike.
		both    func(*gridmesh.Telemetry)
		lastAt  time.Time
		at      time.Time
		thinned bool
		// unplanned: the home holds a plan without a setpoint of its own.
		unplanned bool
		// started is the home's first report; zero: an hour before sent.
		started time.Time
		want    ReportReason
	}{
		{name: "nothing sent yet", lastAt: time.Time{}, at: now, want: ReportFirst},
		{name: "unchanged inside the heartbeat", lastAt: sent, at: now, want: ReportNone},
		{name: "unchanged at the heartbeat", lastAt: sent, at: sent.Add(cfg.Heartbeat), want: ReportHeartbeat},
		{name: "unchanged, a look a little late, a period before the heartbeat", lastAt: sent, at: sent.Add(cfg.Heartbeat - cfg.Period + time.Millisecond), want: ReportNone},
		{name: "unchanged, a look a little early for the heartbeat", lastAt: sent, at: sent.Add(cfg.Heartbeat - time.Millisecond), want: ReportHeartbeat},
		{name: "thinned at the heartbeat", lastAt: sent, at: sent.Add(cfg.Heartbeat), thinned: true, want: ReportHeartbeat},
		{name: "without Raft state every period", change: func(t *gridmesh.Telemetry) { t.Joined, t.Cluster = false, "" }, lastAt: sent, at: now, want: ReportForming},
		{name: "following a cluster from outside its configuration, inside the heartbeat", both: outside, lastAt: sent, at: now, want: ReportNone},
		{name: "following a cluster from outside its configuration, at the heartbeat", both: outside, lastAt: sent, at: sent.Add(cfg.Heartbeat), want: ReportHeartbeat},
		{name: "following a cluster from outside, base load beyond the deadband", both: outside, change: func(t *gridmesh.Telemetry) { t.BaseW += 2 * cfg.PowerDeadbandW }, lastAt: sent, at: now, want: ReportChange},
		{name: "cluster named", change: func(t *gridmesh.Telemetry) { t.Cluster = "d" }, lastAt: sent, at: now, want: ReportMembership},
		{name: "cluster named while thinned", change: func(t *gridmesh.Telemetry) { t.Cluster = "d" }, lastAt: sent, at: now, thinned: true, want: ReportMembership},
		{name: "new address", change: func(t *gridmesh.Telemetry) { t.Addrs = append(t.Addrs, "/ip4/127.0.0.1/udp/4001/quic-v1") }, lastAt: sent, at: now, want: ReportMembership},
		{name: "applied index moves with every plan", change: func(t *gridmesh.Telemetry) { t.Applied += 3 }, lastAt: sent, at: now, want: ReportNone},
		{name: "meter stops answering", change: func(t *gridmesh.Telemetry) { t.NoReading = true }, lastAt: sent, at: now, want: ReportHealth},
		{name: "grid gone", change: func(t *gridmesh.Telemetry) { t.Loads.Islanded = true }, lastAt: sent, at: now, thinned: true, want: ReportIsland},
		{name: "loads shed", change: func(t *gridmesh.Telemetry) { t.Loads.Shed = gridmesh.ShedEV }, lastAt: sent, at: now, want: ReportIsland},
		{name: "loads no longer reported", change: func(t *gridmesh.Telemetry) { t.Loads = nil }, lastAt: sent, at: now, want: ReportIsland},
		{name: "base load inside the deadband", change: func(t *gridmesh.Telemetry) { t.BaseW += cfg.PowerDeadbandW - 1 }, lastAt: sent, at: now, want: ReportNone},
		{name: "base load at the deadband", change: func(t *gridmesh.Telemetry) { t.BaseW -= cfg.PowerDeadbandW }, lastAt: sent, at: now, want: ReportChange},
		{name: "base load beyond the deadband while thinned", change: func(t *gridmesh.Telemetry) { t.BaseW += 2 * cfg.PowerDeadbandW }, lastAt: sent, at: now, thinned: true, want: ReportWithheld},
		{name: "net import follows the plan", change: func(t *gridmesh.Telemetry) { t.NetW, t.Battery.PowerW = -3_000, -3_400 }, lastAt: sent, at: now, want: ReportNone},
		{name: "battery full: no charge left", change: func(t *gridmesh.Telemetry) { t.Battery.MaxW = 0 }, lastAt: sent, at: now, want: ReportChange},
		{name: "discharge limit inside the deadband", change: func(t *gridmesh.Telemetry) { t.Battery.MinW += 50 }, lastAt: sent, at: now, want: ReportNone},
		{name: "state of charge inside the deadband", change: func(t *gridmesh.Telemetry) {
			t.Battery.SoC += cfg.SoCDeadband / 2
			t.Battery.ChargeWh -= 50
			t.Battery.DischargeWh += 50
		}, lastAt: sent, at: now, want: ReportNone},
		{name: "state of charge at the deadband", change: func(t *gridmesh.Telemetry) { t.Battery.SoC -= cfg.SoCDeadband }, lastAt: sent, at: now, want: ReportChange},
		{name: "energy beyond the deadband", change: func(t *gridmesh.Telemetry) { t.Battery.DischargeWh -= 150 }, lastAt: sent, at: now, want: ReportChange},
		{name: "critical load beyond the deadband", change: func(t *gridmesh.Telemetry) { t.Loads.CriticalW += 2_000 }, lastAt: sent, at: now, want: ReportChange},
		{name: "starting: every period", lastAt: sent, at: now, started: sent.Add(-time.Second), want: ReportStarting},
		{name: "two heartbeats after the start", lastAt: sent, at: now, started: now.Add(-2 * cfg.Heartbeat), want: ReportNone},
		{name: "planned without: every period", lastAt: sent, at: now, unplanned: true, want: ReportUnplanned},
		{name: "planned without, while thinned", lastAt: sent, at: now, unplanned: true, thinned: true, want: ReportWithheld},
		{name: "planned without, at the heartbeat", lastAt: sent, at: sent.Add(cfg.Heartbeat), unplanned: true, want: ReportHeartbeat},
		{name: "PV inside the deadband", change: func(t *gridmesh.Telemetry) { t.Loads.PVW += 60 }, lastAt: sent, at: now, want: ReportNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			last, cur := joinedReport(), joinedReport()
			if tt.both != nil {
				tt.both(&last)
				tt.both(&cur)
			}
			if tt.change != nil {
				tt.change(&cur)
			}
			started := tt.started
			if started.IsZero() {
				started = sent.Add(-time.Hour) // long past its start
			}
			got := ReportDue(last, cur, tt.lastAt, tt.at, ReportStanding{Thinned: tt.thinned, Unplanned: tt.unplanned, Started: started}, cfg)
			if got != tt.want {
				t.Errorf("ReportDue = %v, want %v", got, tt.want)
			}
			if got.Send() != (tt.want != ReportNone && tt.want != ReportWithheld) {
				t.Errorf("%v.Send() = %v", got, got.Send())
			}
		})
	}
}

// A drift of less than the deadband a period adds up: it is reported
// once it reaches the deadband since the last report, not never.
func TestReportDueDrift(t *testing.T) {
	cfg := DefaultReportConfig(time.Second)
	cfg.Heartbeat = time.Hour // only the drift can make a report
	last, lastAt := joinedReport(), t0
	cur := last
	reports := 0
	for i := 1; i <= 20; i++ {
		cur.BaseW += cfg.PowerDeadbandW / 4
		now := t0.Add(time.Duration(i) * time.Second)
		if ReportDue(last, cur, lastAt, now, ReportStanding{Started: t0.Add(-100 * time.Hour)}, cfg).Send() {
			reports++
			last, lastAt = cur, now
		}
	}
	if reports != 5 {
		t.Errorf("a drift of 20 quarter deadbands made %d reports, want 5", reports)
	}
}

func TestReportConfigValidate(t *testing.T) {
	if err := DefaultReportConfig(time.Second).Validate(); err != nil {
		t.Errorf("default: %v", err)
	}
	for name, c := range map[string]ReportConfig{
		"negative power":             {PowerDeadbandW: -1, SoCDeadband: 0.01, Heartbeat: time.Second, Period: time.Second},
		"NaN power":                  {PowerDeadbandW: gridmesh.W(math.NaN()), SoCDeadband: 0.01, Heartbeat: time.Second, Period: time.Second},
		"SoC above 1":                {PowerDeadbandW: 100, SoCDeadband: 2, Heartbeat: time.Second, Period: time.Second},
		"no heartbeat":               {PowerDeadbandW: 100, SoCDeadband: 0.01, Period: time.Second},
		"heartbeat under the period": {PowerDeadbandW: 100, SoCDeadband: 0.01, Heartbeat: time.Second, Period: 2 * time.Second},
	} {
		if c.Validate() == nil {
			t.Errorf("%s: %+v accepted", name, c)
		}
	}
}
