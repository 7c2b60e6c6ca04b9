package node

import (
	"errors"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

// Island mode's runner. The rules (when a neighborhood is islanded, what
// a home reports of its loads, where a home's island setpoint comes from,
// what each device is commanded to, the heat pump's thermostat) are
// control's (control/islandmode.go); this file reads the loop's snapshot,
// calls them, and sends the commands they return, each only when it
// changes.

// homeLoadsOf reports the home's loads and PV from the loop's newest
// snapshot (control.HomeLoads); nil until the loads have been read.
func homeLoadsOf(snap *loopSnapshot, shed gridmesh.ShedFlags) *gridmesh.HomeLoads {
	if snap == nil {
		return nil
	}
	return control.HomeLoads(homeDevicesOf(snap), shed)
}

// homeDevicesOf is the snapshot as control's island rules read it.
func homeDevicesOf(snap *loopSnapshot) control.HomeDevices {
	return control.HomeDevices{
		MeterOK: snap.MeterOK, GridOK: snap.GridOK, CanDisconnect: snap.CanDisconnect,
		Loads: snap.Loads, Charger: snap.Charger, HeatPump: snap.HeatPump, PV: snap.PV,
	}
}

// planIsland balances an islanded neighborhood from its fresh reports,
// rationing its stored energy over the forecast horizon
// (control.PlanRationedIsland: the critical load and PV it records in
// n.islandHistory, the PV model of cfg.Reserve): what remains of a
// standing outage warning's window, or control.DefaultRationHorizon
// (control.WarnedHorizon). Without a standing warning the outage's end
// is not known, and the plan weighs the hours ahead by how likely the
// outage is to last until then given how long it has lasted
// (control.OutageOutlook): since this home's own meter saw the grid go
// (the leader is a home of the same feeder), or since the leader's first
// island plan if that is earlier or its meter saw nothing. ok is false
// when the neighborhood is not islanded. Called from the dispatch
// goroutine only: it owns n.islandHistory and n.islandSince.
func (n *Node) planIsland(now time.Time, reports []gridmesh.Telemetry) (setpoints []gridmesh.Setpoint, unservedW gridmesh.W, ok bool, err error) {
	devNow := n.deviceNowAt(now)
	w, warned := control.OutageWarned(n.region.snapshot(now), now)
	horizon := control.WarnedHorizon(w, warned, now, n.deviceRate(now, devNow))
	if !control.Islanded(reports) {
		n.islandSince = time.Time{}
	} else if n.islandSince.IsZero() {
		n.islandSince = devNow
	}
	since := n.islandSince
	if lost := n.gridLost.Load(); lost != 0 && !since.IsZero() && lost < since.UnixNano() {
		since = time.Unix(0, lost)
	}
	outlook := control.OutageOutlook{Announced: warned && now.Before(w.End()), Elapsed: devNow.Sub(since)}
	return control.PlanRationedIsland(n.cfg.islandConfig(), control.DefaultRationConfig(), &n.islandHistory,
		n.cfg.Reserve.PV, devNow, horizon, outlook, reports)
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
	hasOff, criticalOff bool // the whole household load's disconnect, as last commanded
	hpDuty, hpOn        bool // the node runs the heat pump's thermostat
}

// applyIsland steers the PV, charger, heat pump and loads from the
// setpoint control.IslandSourceOf picks: the plan's island setpoint, the
// home's own island of one (localIsland), or the restoring one once the
// grid is back and the island setpoint gone.
func (r *loopRunner) applyIsland(snap *loopSnapshot) {
	sp, hasSP := gridmesh.Setpoint{}, false
	if p, _, ok := r.loop.Plan(); ok {
		sp, hasSP = p.SetpointFor(r.n.cfg.Home)
	}
	switch control.IslandSourceOf(hasSP && sp.Island, snap.MeterOK, snap.GridOK, r.island.active) {
	case control.IslandFromPlan:
	case control.IslandAlone:
		local, ok := r.localIsland(snap)
		if !ok {
			r.reconnect() // without loads or battery: keep what was applied, but light the home
			r.thermostat(snap)
			return
		}
		sp = local
	case control.IslandKeep:
		r.reconnect()
		r.thermostat(snap) // keep duty if the island ever steered it
		return
	case control.IslandRestore:
		sp = control.RestoreSetpoint()
	}
	r.island.active = sp.Island
	r.commandIsland(snap, control.IslandTargetsOf(sp, snap.Charger))
	r.thermostat(snap)
}

// commandIsland sends the PV, charger and loads what t asks of them,
// each only when it differs from the last command sent.
func (r *loopRunner) commandIsland(snap *loopSnapshot, t control.IslandTargets) {
	d, st := r.devs, &r.island
	if d.pv != nil && (!st.hasPV || st.pvLimit != t.PVLimitW) {
		if r.ok("pv", d.pv.SetPVLimit(t.PVLimitW)) {
			st.pvLimit, st.hasPV = t.PVLimitW, true
		}
	}
	if d.charger != nil && snap.Charger != nil && (!st.hasEV || st.evW != t.ChargerW) {
		if r.ok("charger", d.charger.SetChargePower(t.ChargerW)) {
			st.evW, st.hasEV = t.ChargerW, true
		}
	}
	if d.heatPump != nil {
		st.hpDuty = true
	}
	if d.loads != nil && (!st.hasShed || st.shedOther != t.ShedOther) {
		if r.ok("loads", d.loads.ShedNonCritical(t.ShedOther)) {
			st.shedOther, st.hasShed = t.ShedOther, true
		}
	}
	r.disconnectCritical(t.DisconnectCritical)
	st.shed = t.Shed
	if !st.criticalOff {
		st.shed &^= gridmesh.ShedCritical // reported as applied only once it is
	}
}

// disconnectCritical commands the whole household load off or on
// (control.IslandTargets.DisconnectCritical), when that changes, or
// first of all (nothing sent yet). A command the guard keeps for a
// device not answering now counts as sent: the guard applies it when
// the device returns, so it is what a reconnect must undo.
func (r *loopRunner) disconnectCritical(off bool) {
	d, st := r.devs, &r.island
	if d.loads == nil || st.hasOff && st.criticalOff == off {
		return
	}
	err := d.loads.DisconnectCritical(off)
	if r.ok("loads", err) || errors.Is(err, gridmesh.ErrUnavailable) {
		st.criticalOff, st.hasOff = off, true
	}
}

// reconnect lights the home again if an island plan disconnected its
// household load: a disconnect lasts only while a plan in force says so,
// and a home whose plans stop (its leader lost, the plan's lease run
// out, the grid back) never stays dark on its own. Until a first command
// has been sent it sends one, so a load a stopped home left off is lit
// again when the home starts.
func (r *loopRunner) reconnect() {
	if r.island.criticalOff || !r.island.hasOff {
		r.disconnectCritical(false)
		r.island.shed &^= gridmesh.ShedCritical
	}
}

// localIsland is the home's island setpoint alone (control.LocalIsland),
// with what it shed last as the hysteresis. ok is false while its loads
// or battery are not read.
func (r *loopRunner) localIsland(snap *loopSnapshot) (gridmesh.Setpoint, bool) {
	if !snap.BatteryOK {
		return gridmesh.Setpoint{}, false
	}
	return control.LocalIsland(r.n.cfg.islandConfig(), r.n.cfg.Home, snap.Reading.Battery, homeLoadsOf(snap, r.island.shed))
}

// thermostat runs the heat pump once the node has steered it
// (control.Thermostat), commanding it only when its power changes.
func (r *loopRunner) thermostat(snap *loopSnapshot) {
	st, d := &r.island, r.devs
	if !st.hpDuty || d.heatPump == nil || snap.HeatPump == nil {
		return
	}
	on, want := control.Thermostat(*snap.HeatPump, st.shed, st.hpOn)
	st.hpOn = on
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
