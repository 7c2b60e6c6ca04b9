package node

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/node/dashboard"
)

// The home's live page (package node/dashboard), served at GET / of the
// status endpoint with its stream at GET /events: built once a second
// for every viewer from what Status, the telemetry table, the plan
// followed and the energy totals hold. It reads; it decides nothing.

// newDashboard returns the page's handler for n.
func newDashboard(n *Node) *dashboard.Handler {
	h, err := dashboard.New(dashboard.SourceFunc(n.Dashboard), dashboard.DefaultConfig())
	if err != nil { // only for an invalid default configuration
		panic(err)
	}
	return h
}

// Dashboard returns the home's page now.
func (n *Node) Dashboard() dashboard.Page {
	now := n.now()
	st := n.Status()
	snap := n.stats.loop.Load()
	p := dashboard.Page{Kind: dashboard.KindHome, AtMs: now.UnixMilli()}
	p.Home = n.dashboardHome(st, snap, now)
	p.Neighborhood = n.dashboardNeighborhood(st, snap, now)
	p.Region = dashboardRegion(st.Region)
	return p
}

// dashboardHome is the home's own part of the page.
func (n *Node) dashboardHome(st Status, snap *loopSnapshot, now time.Time) *dashboard.Home {
	h := &dashboard.Home{
		ID: string(st.Home), Neighborhood: string(st.Neighborhood), PeerID: st.PeerID,
		Mode: st.Mode, AimNetW: float64(st.AimNetW), GridOK: true, Shed: []string{},
		Plan: dashboard.Plan{Has: st.HasPlan, LeaseLeftMs: st.LeaseLeftMs},
	}
	if snap != nil {
		// The figures Status also shows are taken from st, so that the
		// page and the status it was built with agree.
		if snap.MeterOK {
			h.NetW, h.BaseW = num(float64(st.NetW)), num(float64(st.BaseW))
		}
		if snap.BatteryOK {
			h.BatteryW, h.SoC = num(float64(st.BatteryW)), num(st.SoC)
		}
		if snap.Reading.FrequencyHz > 0 {
			h.FrequencyHz = num(snap.Reading.FrequencyHz)
		}
		h.DroopW, h.GridOK, h.Shed = float64(snap.Command.DroopW), snap.GridOK, shedNames(snap.Shed)
		if snap.HasPlan {
			h.Plan.Epoch, h.Plan.TargetW = snap.Plan.String(), float64(snap.Target.ImportW)
			h.Plan.AgeMs = max(0, now.Sub(snap.PlanIssued).Milliseconds())
		}
	}
	h.Devices = dashboardDevices(st.Devices)
	h.EnergyToday = n.energyToday()
	return h
}

// deviceKinds orders the devices on the page.
var deviceKinds = []string{"battery", "meter", "pv", "charger", "heat_pump", "loads"}

// dashboardDevices lists the home's devices in kind order.
func dashboardDevices(devs map[string]DeviceStatus) []dashboard.Device {
	out := []dashboard.Device{}
	for _, kind := range deviceKinds {
		d, ok := devs[kind]
		if !ok {
			continue
		}
		dd := dashboard.Device{Kind: kind, Breaker: d.Breaker, Available: d.Available, LastError: d.LastError}
		switch {
		case d.Battery != nil:
			dd.PowerW, dd.SoC = num(float64(d.Battery.PowerW)), num(d.Battery.SoC)
		case d.Meter != nil:
			dd.PowerW = num(float64(d.Meter.NetW))
		case d.PV != nil:
			dd.PowerW = num(float64(d.PV.PowerW))
		case d.Charger != nil:
			dd.PowerW = num(float64(d.Charger.PowerW))
		case d.HeatPump != nil:
			dd.PowerW = num(float64(d.HeatPump.PowerW))
		case d.Loads != nil:
			served, _ := control.LoadSample(*d.Loads)
			dd.PowerW = num(float64(served))
		}
		out = append(out, dd)
	}
	return out
}

// shedNames names the load classes in s.
func shedNames(s gridmesh.ShedFlags) []string {
	out := []string{}
	for _, c := range []struct {
		flag gridmesh.ShedFlags
		name string
	}{
		{gridmesh.ShedEV, "EV charging"}, {gridmesh.ShedHeatPump, "heat pump"}, {gridmesh.ShedOther, "other loads"},
		{gridmesh.ShedCritical, "the home's whole load (the island keeps other homes lit)"},
	} {
		if s&c.flag != 0 {
			out = append(out, c.name)
		}
	}
	return out
}

// dashboardNeighborhood is the home's view of its neighborhood: the
// leader and voters from Raft, every home it knows of from their
// reports and the plan it follows, and the target against the feeder.
func (n *Node) dashboardNeighborhood(st Status, snap *loopSnapshot, now time.Time) *dashboard.Neighborhood {
	nb := &dashboard.Neighborhood{
		ID: string(st.Neighborhood), Leader: st.Leader, Term: st.Term, Members: st.RaftMembers,
		Voters: []dashboard.Member{}, Homes: []dashboard.NeighborHome{},
	}
	switch {
	case st.HasPlan:
		nb.TargetW = num(float64(st.PlanTarget.ImportW))
	case st.Target != nil:
		nb.TargetW = num(float64(st.Target.ImportW))
	}
	if f := st.Feeder; f != nil {
		nb.Listening, nb.HomesHeard = f.Listening, f.HomesHeard
		if f.MeteredW != nil {
			nb.FeederW = num(float64(*f.MeteredW))
		}
	}
	var entries []*telemetryEntry
	if tt := n.table.Load(); tt != nil {
		entries = tt.load().entries
	}
	homeOf := make(map[string]string, len(entries)) // peer ID → home ID
	for _, e := range entries {
		homeOf[e.fromID] = string(e.t.Home)
	}
	nb.LeaderHome = homeOf[st.Leader]
	if st.IsLeader {
		nb.LeaderHome = string(st.Home)
	}
	voters := n.voterIDs()
	for _, v := range voters {
		home := homeOf[v]
		if v == st.PeerID {
			home = string(st.Home)
		}
		nb.Voters = append(nb.Voters, dashboard.Member{Peer: v, Home: home})
	}
	nb.Homes, nb.HomesNotShown = neighborHomes(entries, snap, voters, st, now, n.cfg.TelemetryMaxAge)
	return nb
}

// neighborHomes lists every home heard or planned for, sorted by ID, at
// most dashboard.MaxHomes of them, and how many more there are.
func neighborHomes(entries []*telemetryEntry, snap *loopSnapshot, voters []string, st Status, now time.Time, maxAge time.Duration) ([]dashboard.NeighborHome, int) {
	rows := make(map[string]*dashboard.NeighborHome)
	row := func(id string) *dashboard.NeighborHome {
		if r, ok := rows[id]; ok {
			return r
		}
		r := &dashboard.NeighborHome{ID: id}
		rows[id] = r
		return r
	}
	for _, e := range entries {
		r := row(string(e.t.Home))
		r.Voter, r.Leader = slices.Contains(voters, e.fromID), e.fromID != "" && e.fromID == st.Leader
		age := max(0, now.Sub(e.received).Milliseconds())
		r.ReportAgeMs = &age
		if now.Sub(e.received) <= maxAge && !e.t.NoReading {
			b := e.t.Battery
			r.NetW, r.SoC, r.UpW, r.DownW = num(float64(e.t.NetW)), num(b.SoC), num(-float64(b.MinW)), num(float64(b.MaxW))
		}
	}
	if snap != nil && snap.HasPlan {
		for _, sp := range snap.Setpoints {
			row(string(sp.Home)).SetpointW = num(float64(sp.NetW))
		}
	}
	me := row(string(st.Home))
	me.Voter, me.Leader = st.Voter, st.IsLeader
	out := make([]dashboard.NeighborHome, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b dashboard.NeighborHome) int { return cmp.Compare(a.ID, b.ID) })
	if len(out) > dashboard.MaxHomes {
		return out[:dashboard.MaxHomes], len(out) - dashboard.MaxHomes
	}
	return out, 0
}

// voterIDs are the voting members of the home's Raft group, by peer ID;
// none while the network is down or the configuration unknown.
func (n *Node) voterIDs() []string {
	nw := n.up.Load()
	if nw == nil {
		return nil
	}
	servers, _, err := nw.group.Members()
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range servers {
		if s.Voter {
			out = append(out, s.ID)
		}
	}
	slices.Sort(out)
	return out
}

// dashboardRegion is the signals in force in the home's region.
func dashboardRegion(r *RegionStatus) *dashboard.Region {
	if r == nil {
		return nil
	}
	out := &dashboard.Region{Name: r.Name, ShareW: float64(r.ShareW), OffsetW: float64(r.OffsetW), Signals: []dashboard.Signal{}}
	for _, s := range r.Signals {
		out.Signals = append(out.Signals, dashboard.Signal{
			ID: s.ID, Kind: s.Kind, StartMs: s.StartMs, EndMs: s.EndMs, RequestW: float64(s.RequestW), ShareW: float64(s.ShareW),
		})
	}
	return out
}

// num is x, or absent when x is not finite (JSON has no NaN).
func num(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// energyDay is the span "energy today" covers: from Start, when the
// home's totals were Totals. Start is local midnight of the home's
// device clock, or the first tick of the day the home counted if it
// started later.
type energyDay struct {
	Start  time.Time
	Totals control.EnergyJ
}

// nextEnergyDay returns the span that holds now: d while now is on d's
// day, else a new span from now with the totals now.
func nextEnergyDay(d energyDay, totals control.EnergyJ, now time.Time) energyDay {
	if !d.Start.IsZero() {
		y1, m1, d1 := d.Start.Date()
		y2, m2, d2 := now.In(d.Start.Location()).Date()
		if y1 == y2 && m1 == m2 && d1 == d2 {
			return d
		}
	}
	return energyDay{Start: now, Totals: totals}
}

// energyDays keeps the home's energyDay: the device loop rolls it every
// tick (tickDone); the page reads it. mu guards day.
type energyDays struct {
	mu  sync.Mutex
	day energyDay
}

// roll moves the span on at now; called by the device loop.
func (e *energyDays) roll(totals control.EnergyJ, now time.Time) {
	e.mu.Lock()
	e.day = nextEnergyDay(e.day, totals, now)
	e.mu.Unlock()
}

func (e *energyDays) get() energyDay {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.day
}

// energyToday is the energy since the day's span began; absent before
// the first tick.
func (n *Node) energyToday() *dashboard.Energy {
	d := n.energyDays.get()
	if d.Start.IsZero() {
		return nil
	}
	now := n.energy.Totals()
	kwh := func(total, start float64) float64 { return max(0, total-start) / joulesPerKWh }
	return &dashboard.Energy{
		SinceMs:          d.Start.UnixMilli(),
		GridImport:       kwh(now.GridImport, d.Totals.GridImport),
		GridExport:       kwh(now.GridExport, d.Totals.GridExport),
		BatteryCharge:    kwh(now.BatteryCharge, d.Totals.BatteryCharge),
		BatteryDischarge: kwh(now.BatteryDischarge, d.Totals.BatteryDischarge),
		PVProduction:     kwh(now.PVProduction, d.Totals.PVProduction),
		LoadServed:       kwh(now.LoadServed, d.Totals.LoadServed),
		LoadShed:         kwh(now.LoadShed, d.Totals.LoadShed),
	}
}
