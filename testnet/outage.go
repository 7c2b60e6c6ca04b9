package testnet

import (
	"context"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/sim"
	"github.com/gridmesh/gridmesh/node"
)

// ScenarioOutage loses the grid for Config.Outage of simulated time (see
// outage.go).
const ScenarioOutage = "outage"

// ScenarioStorm, beside ScenarioOutage, has the operator announce the
// outage ahead: a signed outage warning (gridmesh.SignalOutageWarning)
// stating its window, published a settle time after the start, a settle
// time and a second before the grid goes (at --speed 600, most of an
// hour of device time).
const ScenarioStorm = "storm"

// IslandReport is the outage scenario's part of the report: how well the
// city's homes were served while the grid was gone. Energies are
// integrated over simulated time from the homes' simulated devices.
type IslandReport struct {
	// OutageS is the simulated length of the outage, in seconds.
	OutageS float64 `json:"outage_s"`
	// Sharing is false for a --no-sharing run (every home on its own).
	Sharing bool `json:"sharing"`
	// CriticalServedPct is the critical energy the island's sources
	// supplied over the critical load demanded, in percent. Served is
	// what the batteries and the PV actually delivered, not what an
	// energized feeder let the loads draw: in each hour (the bound's
	// bins), each island's loads get the share binShare of what they drew
	// while it was energized (its PV used, its batteries' discharge net
	// of their charging, the inverters' damping energy, over its loads'
	// draw), and nothing while it was dark. Load relief below 50 Hz and
	// what an island in deficit draws before it trips are not served.
	CriticalServedPct float64 `json:"critical_served_pct"`
	// NoncriticalServedPct is the non-critical load served (household
	// non-critical load not shed, EV charging, heat pump, at the same
	// supplied share as the critical load) over that demanded, in
	// percent. An EV demands while its car wants energy (at
	// what it draws, or its charger's least power when stopped); a heat
	// pump demands what it draws, or at least what holds the house at the
	// bottom of its comfort band.
	NoncriticalServedPct float64 `json:"noncritical_served_pct"`
	// CriticalDemandKWh and NoncriticalDemandKWh give the scale.
	CriticalDemandKWh    float64 `json:"critical_demand_kwh"`
	NoncriticalDemandKWh float64 `json:"noncritical_demand_kwh"`
	// Blackouts counts feeders (a neighborhood, or one home with
	// --no-sharing) that went dark, each time.
	Blackouts int `json:"blackouts"`
	// BlackoutStoredPct is, for each blackout, the stored energy of the
	// feeder that went dark over its capacity, in percent: near 0 means it
	// ran out of energy, more means it lost its balance with energy left.
	BlackoutStoredPct []float64 `json:"blackout_stored_pct"`
	// DarkHomeHours is the simulated time homes spent dark, summed: each
	// home's hours while its feeder was dark or while the island plan
	// had its household load disconnected (gridmesh.ShedCritical).
	DarkHomeHours float64 `json:"dark_home_hours"`
	// DisconnectedHomeHours is the part of DarkHomeHours with the
	// household load disconnected by the island plan on a lit feeder.
	DisconnectedHomeHours float64 `json:"disconnected_home_hours"`
	// MinSoCPct is the lowest state of charge of any home's battery
	// during the outage.
	MinSoCPct float64 `json:"min_soc_pct"`
	// FrequencyHz is the islanded feeders' frequency over every sample
	// while energized: how well the island held its balance.
	FrequencyMinHz float64 `json:"frequency_min_hz"`
	FrequencyMaxHz float64 `json:"frequency_max_hz"`
	// StartSoCPct and EndSoCPct are the city's stored energy over its
	// capacity when the grid went and when it came back.
	StartSoCPct float64 `json:"start_soc_pct"`
	EndSoCPct   float64 `json:"end_soc_pct"`
	// BlackStarts counts feeders re-energized while the grid was still
	// gone (see feeder.go), each time.
	BlackStarts int `json:"black_starts"`
	// DampingKWh is the energy the grid-forming inverters' damping drew
	// from the batteries (net of what it put in), before the homes'
	// loops answered: already in the state of charge.
	DampingKWh float64 `json:"damping_kwh"`
	// LoadReliefKWh is the load the loads' own frequency sensitivity took
	// off an island running below 50 Hz: no battery or PV gave it, so it
	// is not counted as served.
	LoadReliefKWh float64 `json:"load_relief_kwh"`
	// CriticalBoundPct is the most critical load a planner with perfect
	// foresight could have served over the outage, in percent of the
	// demand: every island's bound (BoundFeeder.CriticalBound) summed.
	CriticalBoundPct float64 `json:"critical_bound_pct"`
	// CriticalVsBound is the critical energy served over the bound's (1:
	// as much as was possible; 1 as well when the bound is 0).
	CriticalVsBound float64 `json:"critical_vs_bound"`
	// Feeders is each island's energy account: whether its total energy
	// sufficed for its critical load.
	Feeders []FeederEnergy `json:"feeders"`
}

// FeederEnergy is one island's (a neighborhood's, or with --no-sharing
// one home's) energy over the outage. Its energy suffices for its
// critical load when StoredKWh·η + PVKWh ≥ CriticalDemandKWh, η being
// the batteries' discharge efficiency (√0.9 ≈ 0.95 for the testnet's
// homes). These are totals over the outage: whether the energy is there
// when it is needed (a night before the morning's PV) and whether the PV
// comes when the batteries have room for it, the account does not check.
type FeederEnergy struct {
	// Homes are the island's homes.
	Homes []gridmesh.HomeID `json:"homes"`
	// StoredKWh is the energy its batteries held when the grid went,
	// backup reserve included.
	StoredKWh float64 `json:"stored_kwh"`
	// PVKWh is what its arrays could produce during the outage,
	// uncurtailed.
	PVKWh float64 `json:"pv_kwh"`
	// CriticalDemandKWh is its critical load over the outage.
	CriticalDemandKWh float64 `json:"critical_demand_kwh"`
	// Blackouts counts the times it went dark.
	Blackouts int `json:"blackouts"`
	// CriticalServedPct, CriticalBoundPct and CriticalVsBound are the
	// island's own, as IslandReport's.
	CriticalServedPct float64 `json:"critical_served_pct"`
	CriticalBoundPct  float64 `json:"critical_bound_pct"`
	CriticalVsBound   float64 `json:"critical_vs_bound"`
}

// outage is the scenario's state; owned by the run's goroutine.
type outage struct {
	active, done bool
	feeders      []*feeder
	names        []string    // each feeder's: its neighborhood, or its home
	bound        []*boundRec // each feeder's record for the bound
	byHome       map[*home]*feeder
	lastSim      time.Time

	critDemand, nonDemand gridmesh.Wh
	darkHours, offHours   float64
	minSoC                float64
	minHz, maxHz          float64
	startSoC, endSoC      float64
}

// outageWindow returns when, in real time from the run's start, the grid
// goes and returns: at OutageAt, or by default once every home has had
// two settle times and a second to follow its first plans (at 600× the
// homes' batteries are already an hour further on), and stays away Outage
// of simulated time, Outage/Speed of real time.
func (c Config) outageWindow() (start, end time.Duration) {
	start = 2*c.Settle + time.Second
	if c.OutageAt > 0 {
		start = c.OutageAt
	}
	return start, start + time.Duration(float64(c.Outage)/c.Speed)
}

// outageEvents returns the scenario's events. It sets r.outage.
func (r *run) outageEvents() []event {
	r.outage = &outage{byHome: map[*home]*feeder{}, minSoC: 1, minHz: math.Inf(1), maxHz: math.Inf(-1)}
	if r.cfg.NoSharing {
		for _, h := range r.c.homes {
			f := newFeeder([]*home{h})
			r.outage.feeders = append(r.outage.feeders, f)
			r.outage.names = append(r.outage.names, string(h.id))
			r.outage.byHome[h] = f
			r.outage.bound = append(r.outage.bound, &boundRec{})
		}
	} else {
		for _, nb := range r.c.nbhds {
			f := newFeeder(nb.homes)
			r.outage.feeders = append(r.outage.feeders, f)
			r.outage.names = append(r.outage.names, string(nb.id))
			for _, h := range nb.homes {
				r.outage.byHome[h] = f
			}
			r.outage.bound = append(r.outage.bound, &boundRec{})
		}
	}
	start, end := r.cfg.outageWindow()
	evs := []event{
		{at: start, name: "grid lost", do: func(_ context.Context, now time.Time) { r.setOutage(now, true) }},
		{at: end, name: "grid back", do: func(_ context.Context, now time.Time) { r.setOutage(now, false) }},
	}
	if r.cfg.has(ScenarioStorm) {
		evs = append(evs, event{at: r.cfg.Settle, name: "storm warning", do: func(ctx context.Context, _ time.Time) {
			_, err := r.publish(ctx, gridmesh.Signal{
				ID: "storm-1", Kind: gridmesh.SignalOutageWarning, AmountW: 1,
				StartMs: r.t0.Add(start).UnixMilli(), EndMs: r.t0.Add(end).UnixMilli(),
			})
			if err != nil {
				r.errors = append(r.errors, fmt.Sprintf("storm warning: %v", err))
			}
		}})
	}
	return evs
}

// setOutage takes the grid away or brings it back: every battery's backup
// reserve becomes usable (the inverter's backup mode) or is kept back
// again, and the feeders' tracking is not judged meanwhile.
func (r *run) setOutage(now time.Time, lost bool) {
	o := r.outage
	for _, m := range r.meters {
		m.disturbed(now, lost)
	}
	if !lost {
		r.outageStep(now) // account up to the grid's return
	}
	o.active, o.done = lost, !lost
	stored, capacity := gridmesh.Wh(0), gridmesh.Wh(0)
	for _, f := range o.feeders {
		f.islanded, f.dark, f.x, f.badSince, f.lastReal, f.lastSim = lost, false, 0, time.Time{}, now, time.Time{}
		f.voltageV = feederNominalV
		for _, h := range f.homes {
			if lost {
				f.startStoredWh += h.dev.Snapshot().StoredWh
			}
			if b := h.dev.Devices().Battery; b != nil {
				b.SetReserveUsable(lost)
			}
			if err := h.dev.Devices().Meter.SetGrid(f.grid()); err != nil {
				r.errors = append(r.errors, fmt.Sprintf("%s: set grid: %v", h.id, err))
			}
			s := h.dev.Snapshot()
			stored += s.StoredWh
			capacity += h.params.Battery.CapacityWh
			o.lastSim = s.At
		}
	}
	if lost {
		for _, b := range o.bound {
			b.startSim = o.lastSim
		}
	}
	if capacity > 0 {
		if lost {
			o.startSoC = float64(stored / capacity)
		} else {
			o.endSoC = float64(stored / capacity)
		}
	}
}

// outageStep advances every islanded feeder, sets its homes' meters and
// accounts what was served since the last step. Called every sample.
func (r *run) outageStep(realNow time.Time) {
	o := r.outage
	if o == nil || !o.active {
		return
	}
	hz, snapsOf := make([]float64, len(o.feeders)), make([][]sim.HomeSnapshot, len(o.feeders))
	defer func() { r.series.outage(o.names, hz, snapsOf) }()
	for fi, f := range o.feeders {
		var live []*home
		var snaps []sim.HomeSnapshot
		for _, h := range f.homes {
			if h.alive.Load() {
				live = append(live, h)
				snaps = append(snaps, h.dev.Snapshot())
			}
		}
		if len(live) == 0 {
			continue
		}
		simNow := snaps[0].At
		dt := simNow.Sub(o.lastSim)
		wasDark, dampedWh := f.dark, f.dampingWh
		all := f.homes
		f.homes = live
		f.islandStep(realNow, simNow, snaps)
		f.homes = all
		if !wasDark && dt > 0 {
			supplyWh, drawnWh := feederFlows(snaps, f.dampingWh-dampedWh, dt)
			o.bound[fi].addFlows(simNow, dt, supplyWh, drawnWh)
		}
		g := f.grid()
		hz[fi], snapsOf[fi] = g.FrequencyHz, snaps
		if !f.dark {
			o.minHz, o.maxHz = min(o.minHz, g.FrequencyHz), max(o.maxHz, g.FrequencyHz)
		}
		for i, h := range live {
			if err := h.dev.Devices().Meter.SetGrid(g); err != nil {
				r.errors = append(r.errors, fmt.Sprintf("%s: set grid: %v", h.id, err))
			}
			if dt > 0 {
				nonServedW := o.account(h, snaps[i], dt, wasDark)
				f.pvWh += gridmesh.Wh(float64(snaps[i].PVAvailableW) * dt.Hours())
				f.criticalWh += gridmesh.Wh(float64(max(snaps[i].CriticalW, 0)) * dt.Hours())
				lit := !wasDark && !snaps[i].CriticalOff
				o.bound[fi].add(simNow, dt, float64(snaps[i].CriticalW), float64(snaps[i].PVAvailableW), float64(nonServedW), lit)
			}
		}
	}
	for _, f := range o.feeders {
		for _, h := range f.homes {
			if h.alive.Load() {
				o.lastSim = h.dev.Snapshot().At
				return
			}
		}
	}
}

// feederFlows is an island's supply and its loads' draw over a step of
// dt, from its homes' snapshots (held over the step) and dampingWh, the
// energy its grid-forming inverters' damping drew from the batteries over
// the step (negative when it charged them). The supply is the PV its
// arrays produced, less what its batteries took in or plus what they
// gave, plus dampingWh; the draw is its homes' loads: household load not
// shed, EV chargers, heat pumps (snapshot NetW + PVW − BatteryW).
func feederFlows(snaps []sim.HomeSnapshot, dampingWh gridmesh.Wh, dt time.Duration) (supplyWh, drawnWh float64) {
	h := dt.Hours()
	for _, s := range snaps {
		supplyWh += float64(s.PVW-s.BatteryW) * h
		drawnWh += float64(s.NetW+s.PVW-s.BatteryW) * h
	}
	return supplyWh + float64(dampingWh), drawnWh
}

// binShare is the share of what an island's loads drew over a bin that
// its sources supplied, in [0, 1]; 1 when they drew nothing.
//
// What the loads draw beyond the supply is no source's energy: in the
// feeder model it is the loads' own relief below 50 Hz and the inertia's
// energy while an island in deficit falls towards its trip, so the loads
// share the shortfall in proportion to what they draw (a frequency sag
// reduces every load on the bus alike). The share is taken over a bin,
// not a sample: samples read the homes' loops at one instant, each a tick
// from balance either way, and a share capped at 1 sample by sample
// would count every instant's surplus as nothing and its deficit as
// unserved (5 % of a balanced island's load, a short outage showed).
func binShare(supplyWh, drawnWh float64) float64 {
	if drawnWh <= 0 || supplyWh >= drawnWh {
		return 1
	}
	return max(supplyWh/drawnWh, 0)
}

// account adds one home's demand over the dt of simulated time that
// ended with snapshot s and returns the non-critical load it drew (what
// the island's sources served of it is the bound record's, served);
// dark says the feeder was dark then.
func (o *outage) account(h *home, s sim.HomeSnapshot, dt time.Duration, dark bool) gridmesh.W {
	hours := dt.Hours()
	wh := func(w gridmesh.W) gridmesh.Wh { return gridmesh.Wh(float64(max(w, 0)) * hours) }
	o.critDemand += wh(s.CriticalW)
	nonDemand := s.NonCriticalW
	var nonServed gridmesh.W
	if !s.Shed && !s.CriticalOff {
		nonServed = s.NonCriticalW
	}
	if c := h.full.Charger; c != nil && s.EVConnected && s.EVWantedWh > 0 {
		nonDemand += max(s.ChargerW, c.MinW)
		nonServed += s.ChargerW
	}
	if hp := h.full.HeatPump; hp != nil {
		need := hp.LossWPerK * gridmesh.W(max(hp.BandLowC-s.OutdoorC, 0)/hp.COP)
		nonDemand += max(s.HeatPumpW, need)
		nonServed += s.HeatPumpW
	}
	o.nonDemand += wh(nonDemand)
	if dark || s.CriticalOff { // a home the island disconnected is dark for its own hours
		o.darkHours += hours
	}
	if !dark && s.CriticalOff {
		o.offHours += hours
	}
	if h.params.Battery.CapacityWh > 0 {
		o.minSoC = min(o.minSoC, s.SoC)
	}
	return max(min(nonServed, nonDemand), 0)
}

// report is the island section, nil without the scenario, and the
// errors met computing it (a bound the solver could not find).
func (o *outage) report(cfg Config) (*IslandReport, []string) {
	if o == nil {
		return nil, nil
	}
	var errs []string
	pct := func(a, b gridmesh.Wh) float64 {
		if b <= 0 {
			return 100
		}
		return 100 * float64(a/b)
	}
	rep := &IslandReport{
		BlackoutStoredPct:     []float64{},
		OutageS:               cfg.Outage.Seconds(),
		Sharing:               !cfg.NoSharing,
		CriticalDemandKWh:     float64(o.critDemand) / 1000,
		NoncriticalDemandKWh:  float64(o.nonDemand) / 1000,
		DarkHomeHours:         o.darkHours,
		DisconnectedHomeHours: o.offHours,
		MinSoCPct:             100 * o.minSoC,
		StartSoCPct:           100 * o.startSoC,
		EndSoCPct:             100 * o.endSoC,
	}
	if !math.IsInf(o.minHz, 0) {
		rep.FrequencyMinHz, rep.FrequencyMaxHz = o.minHz, o.maxHz
	}
	rep.Feeders = []FeederEnergy{}
	var boundWh, demandWh, servedWh, nonServedWh float64
	for fi, f := range o.feeders {
		rep.Blackouts += f.blackouts
		rep.BlackStarts += f.blackStarts
		rep.DampingKWh += float64(f.dampingWh) / 1000
		rep.LoadReliefKWh += float64(f.reliefWh) / 1000
		rep.BlackoutStoredPct = append(rep.BlackoutStoredPct, f.blackoutStored...)
		fe := FeederEnergy{
			StoredKWh: float64(f.startStoredWh) / 1000, PVKWh: float64(f.pvWh) / 1000,
			CriticalDemandKWh: float64(f.criticalWh) / 1000, Blackouts: f.blackouts,
		}
		b := o.bound[fi]
		bWh, err := b.boundFeeder(f).CriticalBound()
		if err != nil {
			errs = append(errs, fmt.Sprintf("island %s: %v", o.names[fi], err))
			bWh = b.demandedWh // unknown: judge against serving everything
		}
		critWh, nonWh := b.served()
		fe.CriticalServedPct, fe.CriticalBoundPct, fe.CriticalVsBound = boundFigures(critWh, bWh, b.demandedWh)
		boundWh, demandWh, servedWh, nonServedWh = boundWh+bWh, demandWh+b.demandedWh, servedWh+critWh, nonServedWh+nonWh
		for _, h := range f.homes {
			fe.Homes = append(fe.Homes, h.id)
		}
		rep.Feeders = append(rep.Feeders, fe)
	}
	_, rep.CriticalBoundPct, rep.CriticalVsBound = boundFigures(servedWh, boundWh, demandWh)
	rep.CriticalServedPct = pct(gridmesh.Wh(servedWh), o.critDemand)
	rep.NoncriticalServedPct = pct(gridmesh.Wh(nonServedWh), o.nonDemand)
	return rep, errs
}

// boundFigures returns the served and bound percentages of the demand and
// their ratio. The served energy can exceed the bound a little: the bound
// averages demand and PV over hourly bins and the accounting integrates
// samples; the ratio is not capped, so that a bound that were wrong
// would show.
func boundFigures(servedWh, boundWh, demandWh float64) (servedPct, boundPct, vsBound float64) {
	servedPct, boundPct, vsBound = 100, 100, 1
	if demandWh > 0 {
		servedPct, boundPct = 100*servedWh/demandWh, 100*boundWh/demandWh
	}
	if boundWh > 0 {
		vsBound = servedWh / boundWh
	}
	return servedPct, boundPct, vsBound
}

// cityLatitudeDeg and cityLongitudeDeg place the city's PV for the
// leaders' clear-sky forecasts: 52° N, 0° E, where
// examples/profiles-winter-day.csv was generated.
const (
	cityLatitudeDeg  = 52
	cityLongitudeDeg = 0
)

// cityPVModel places arrays of peakW together for the clear-sky forecast
// at the city's place.
func cityPVModel(peakW gridmesh.W) node.PVModel {
	return node.PVModel{LatitudeDeg: cityLatitudeDeg, LongitudeDeg: cityLongitudeDeg, PeakW: peakW}
}

// maxSpeed bounds --speed: at 3600 a 100 ms loop tick is six simulated
// minutes, about the longest a battery command may be held before the
// load under it has changed beyond recognition.
const maxSpeed = 3600

// fullHomes reports whether the city's homes have every device.
func (c Config) fullHomes() bool {
	return c.FullHomes || c.Profiles != nil || c.has(ScenarioOutage)
}

// drawHome draws home i of the city: RandomHome's battery, PV and load,
// or with fullHomes every device (RandomFullHome); with Profiles its load
// and PV follow the profile, scaled and jittered for the home; with
// DeviceLike its battery has DeviceLikeBattery's manners.
func drawHome(cfg Config, rng *mrand.Rand, i int) (sim.HomeParams, sim.FullHomeParams) {
	if !cfg.fullHomes() {
		p := sim.RandomHome(rng)
		p.Battery = cfg.withHardware(p.Battery, i)
		return p, p.Full()
	}
	full := sim.RandomFullHome(rng)
	if full.Battery != nil {
		b := cfg.withHardware(*full.Battery, i)
		full.Battery = &b
	}
	if cfg.Profiles != nil {
		load, pv := *full.Load, *full.PV
		load.Source, pv.Source = cfg.Profiles.homeSources(cfg.Seed, i, cfg.SimStart, pv.PeakW)
		full.Load, full.PV = &load, &pv
	}
	return sim.HomeParams{Battery: *full.Battery, InitialSoC: full.InitialSoC, PV: *full.PV, Load: *full.Load}, full
}
