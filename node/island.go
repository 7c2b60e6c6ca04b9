package node

import (
	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

// Island mode, the secondary layer's answer to a lost grid.
//
// Every home reports, with its telemetry, its loads by class and its PV
// (gridmesh.HomeLoads) and whether its meter sees the grid. While at
// least half of the fresh reports say the grid is gone, the leader plans
// with control.BalanceIsland instead of control.Dispatch: its setpoints
// carry Island, a PV limit and shed flags, and each home's loop applies
// them to its PV, charger, heat pump and loads (applyIsland). Without an
// island plan (none yet in the first seconds of an outage, a lost leader,
// or Config.NoIslandSharing) a home balances itself as an island of one
// by the same rules (localIsland): it sheds by its own battery's stored
// energy at once, rather than run its car and heat pump on the battery
// until a plan arrives, and its droop holds the feeder meanwhile.

// An islanded home charges a car it is allowed to charge at the
// charger's least power (1.4 kW on a 6 A wallbox), so that one car does
// not take a battery's whole output from the neighbours; that is what it
// reports as its EV load.

// heatPumpHysteresisC is the gap of the thermostat the node runs once it
// has steered the heat pump (a steered heat pump stays on the node's
// commands): a quarter kelvin either side of the band's middle, inside
// the device's own 0.5 K gap, so the node never fights its override.
const heatPumpHysteresisC = 0.25

// homeLoadsOf reports the home's loads and PV from the loop's newest
// snapshot, and whether its meter sees the grid gone. It is nil until
// the loads have been read: without them the leader balances the home on
// its battery alone.
func homeLoadsOf(snap *loopSnapshot, shed gridmesh.ShedFlags) *gridmesh.HomeLoads {
	if snap == nil || snap.Loads == nil {
		return nil
	}
	l := &gridmesh.HomeLoads{
		Islanded:  snap.MeterOK && !snap.GridOK,
		CriticalW: nonNegative(snap.Loads.CriticalW),
		OtherW:    nonNegative(snap.Loads.NonCriticalW),
		Shed:      shed,
	}
	if c := snap.Charger; c != nil && c.Connected && c.WantedWh > 0 {
		l.EVW = nonNegative(c.MinW)
	}
	if hp := snap.HeatPump; hp != nil {
		l.HeatPumpW = nonNegative(hp.PowerW)
		if hp.IndoorC < (hp.BandLowC+hp.BandHighC)/2 {
			l.HeatPumpW = max(l.HeatPumpW, nonNegative(hp.MaxW))
		}
	}
	if pv := snap.PV; pv != nil {
		l.PVW = nonNegative(pv.PowerW)
		l.PVAvailableW = max(nonNegative(pv.AvailableW), l.PVW)
	}
	if l.Validate() != nil {
		return nil
	}
	return l
}

func nonNegative(w gridmesh.W) gridmesh.W {
	if !w.Finite() || w < 0 {
		return 0
	}
	return min(w, gridmesh.MaxHomePowerW)
}

// islanded reports whether at least half of the reports (and at least
// one) say the grid is gone: one home's broken meter does not island a
// neighborhood, and a neighborhood split evenly errs on the side of
// balancing itself (an island plan sums to zero, which a grid absorbs).
func islanded(reports []gridmesh.Telemetry) bool {
	n := 0
	for _, t := range reports {
		if t.Loads != nil && t.Loads.Islanded {
			n++
		}
	}
	return n > 0 && 2*n >= len(reports)
}

// islandHomes builds the balancer's inputs from the reports. A home that
// reports no loads is balanced on its battery alone: its base load is
// critical load when positive, PV when negative.
func islandHomes(reports []gridmesh.Telemetry) []control.IslandHome {
	out := make([]control.IslandHome, 0, len(reports))
	for _, t := range reports {
		h := control.IslandHome{Home: t.Home, Battery: t.Battery}
		if l := t.Loads; l != nil {
			h.CriticalW, h.EVW, h.HeatPumpW, h.OtherW = l.CriticalW, l.EVW, l.HeatPumpW, l.OtherW
			h.PVAvailableW, h.PVW = l.PVAvailableW, l.PVW
			h.Shed = control.Shed{EV: l.Shed&gridmesh.ShedEV != 0, HeatPump: l.Shed&gridmesh.ShedHeatPump != 0, Other: l.Shed&gridmesh.ShedOther != 0}
		} else {
			h.CriticalW = max(t.BaseW, 0)
			h.PVAvailableW = max(-t.BaseW, 0)
		}
		out = append(out, h)
	}
	return out
}

// islandSetpoints turns the balancer's decision into plan setpoints.
func islandSetpoints(res control.IslandResult) []gridmesh.Setpoint {
	out := make([]gridmesh.Setpoint, len(res.Setpoints))
	for i, s := range res.Setpoints {
		out[i] = gridmesh.Setpoint{
			Home: s.Home, NetW: s.NetW, Island: true,
			PVLimitW: min(max(s.PVLimitW, 0), gridmesh.MaxHomePowerW),
			Shed:     shedFlags(s.Shed),
		}
	}
	return out
}

func shedFlags(s control.Shed) gridmesh.ShedFlags {
	var f gridmesh.ShedFlags
	if s.EV {
		f |= gridmesh.ShedEV
	}
	if s.HeatPump {
		f |= gridmesh.ShedHeatPump
	}
	if s.Other {
		f |= gridmesh.ShedOther
	}
	return f
}

// planIsland balances an islanded neighborhood from its fresh reports.
// ok is false when the neighborhood is not islanded.
func planIsland(cfg control.IslandConfig, reports []gridmesh.Telemetry) (setpoints []gridmesh.Setpoint, unservedW gridmesh.W, ok bool, err error) {
	if !islanded(reports) {
		return nil, 0, false, nil
	}
	res, err := control.BalanceIsland(cfg, islandHomes(reports))
	if err != nil {
		return nil, 0, true, err
	}
	return islandSetpoints(res), res.Balance.UnservedW, true, nil
}

// islandState is what the loop runner has applied to the devices other
// than the battery. Owned by the loop's goroutine.
type islandState struct {
	// active is true from the first island setpoint applied until a
	// setpoint without Island, or the grid's return with no island plan.
	active bool
	shed   gridmesh.ShedFlags // applied now
	// pvLimit, evW and hpW are the last commands sent (hasX: sent at all).
	pvLimit, evW, hpW   gridmesh.W
	hasPV, hasEV, hasHP bool
	hasShed             bool
	shedOther           bool
	hpDuty, hpOn        bool // the node runs the heat pump's thermostat
}

// deadBus reports whether the meter sees no grid and no voltage: the
// feeder is dark, every inverter has disconnected, and the battery must
// not be driven (a meter that does not measure voltage reads 0 V, so
// only a meter that also says the grid is gone counts as dark).
func deadBus(m gridmesh.MeterReading, ok bool) bool {
	return ok && !m.GridOK && m.VoltageV == 0
}

// applyIsland steers the PV, charger, heat pump and loads from the
// setpoint the loop follows if it is an island one; while the meter sees
// the grid gone and no island setpoint is in force, from the home's own
// island of one (localIsland); and restores every device once the grid
// is back and the island setpoint gone. Commands are sent only when they
// change.
func (r *loopRunner) applyIsland(snap *loopSnapshot) {
	d, st := r.devs, &r.island
	sp, hasSP := gridmesh.Setpoint{}, false
	if p, _, ok := r.loop.Plan(); ok {
		sp, hasSP = p.SetpointFor(r.n.cfg.Home)
	}
	switch {
	case hasSP && sp.Island:
		st.active = true
	case snap.MeterOK && !snap.GridOK:
		// Islanded without an island plan (none yet: the on-grid plan
		// from before the grid went is still in force; a lost leader; no
		// sharing): the home on its own.
		local, ok := r.localIsland(snap)
		if !ok {
			r.thermostat(snap) // without loads or battery: keep what was applied
			return
		}
		sp, st.active = local, true
	case !st.active:
		r.thermostat(snap) // keep duty if the island ever steered it
		return
	default: // an on-grid plan, or the grid is back: restore
		st.active = false
		sp = gridmesh.Setpoint{PVLimitW: gridmesh.MaxHomePowerW}
	}
	if d.pv != nil && (!st.hasPV || st.pvLimit != sp.PVLimitW) {
		if r.ok("pv", d.pv.SetPVLimit(sp.PVLimitW)) {
			st.pvLimit, st.hasPV = sp.PVLimitW, true
		}
	}
	if d.charger != nil {
		want := gridmesh.W(0)
		if c := snap.Charger; c != nil {
			want = c.MaxW // on the grid: charge as fast as the charger can
			if sp.Island {
				want = c.MinW
			}
		}
		if sp.Shed&gridmesh.ShedEV != 0 {
			want = 0
		}
		if snap.Charger != nil && (!st.hasEV || st.evW != want) {
			if r.ok("charger", d.charger.SetChargePower(want)) {
				st.evW, st.hasEV = want, true
			}
		}
	}
	if d.heatPump != nil {
		st.hpDuty = true
	}
	if d.loads != nil {
		other := sp.Shed&gridmesh.ShedOther != 0
		if !st.hasShed || st.shedOther != other {
			if r.ok("loads", d.loads.ShedNonCritical(other)) {
				st.shedOther, st.hasShed = other, true
			}
		}
	}
	st.shed = sp.Shed
	r.thermostat(snap)
}

// localIsland is the island setpoint of the home alone: control.BalanceIsland
// on its own battery, loads and PV, with what it shed last as the
// hysteresis. ok is false while its loads or battery are not read.
func (r *loopRunner) localIsland(snap *loopSnapshot) (gridmesh.Setpoint, bool) {
	loads := homeLoadsOf(snap, r.island.shed)
	if loads == nil || !snap.BatteryOK {
		return gridmesh.Setpoint{}, false
	}
	t := gridmesh.Telemetry{Home: r.n.cfg.Home, Battery: snap.Reading.Battery, Loads: loads}
	res, err := control.BalanceIsland(r.n.cfg.islandConfig(), islandHomes([]gridmesh.Telemetry{t}))
	if err != nil || len(res.Setpoints) != 1 {
		return gridmesh.Setpoint{}, false // a config Validate refused, or a battery reading that is not usable
	}
	return islandSetpoints(res)[0], true
}

// thermostat runs the heat pump once the node has steered it: off while
// shed, even below the comfort band (the device heats only at its frost
// protection: comfort gives way to the neighborhood's critical load),
// otherwise on below the band's middle and off above it.
func (r *loopRunner) thermostat(snap *loopSnapshot) {
	st, d := &r.island, r.devs
	if !st.hpDuty || d.heatPump == nil || snap.HeatPump == nil {
		return
	}
	hp := *snap.HeatPump
	mid := (hp.BandLowC + hp.BandHighC) / 2
	switch {
	case st.shed&gridmesh.ShedHeatPump != 0:
		st.hpOn = false
	case hp.IndoorC < mid-heatPumpHysteresisC:
		st.hpOn = true
	case hp.IndoorC > mid+heatPumpHysteresisC:
		st.hpOn = false
	}
	want := gridmesh.W(0)
	if st.hpOn {
		want = hp.MaxW
	}
	if !st.hasHP || st.hpW != want {
		if r.ok("heat_pump", d.heatPump.SetHeatPumpPower(want)) {
			st.hpW, st.hasHP = want, true
		}
	}
}

// islandConfig is cfg.Island, or control.DefaultIslandConfig when zero.
func (c Config) islandConfig() control.IslandConfig {
	if c.Island == (control.IslandConfig{}) {
		return control.DefaultIslandConfig()
	}
	return c.Island
}
