package control

import "github.com/gridmesh/gridmesh"

// Island mode, the secondary layer's answer to a lost grid, as the rules
// a home and its leader follow. Their runner (package node) reads the
// devices and the telemetry, calls these, and applies what they return.
//
// Every home reports, with its telemetry, its loads by class and its PV
// (HomeLoads) and whether its meter sees the grid. While at least half of
// the fresh reports say the grid is gone (Islanded), the leader plans with
// BalanceIsland instead of Dispatch (PlanIsland): its setpoints carry
// Island, a PV limit and shed flags, and each home applies them to its PV,
// charger, heat pump and loads (IslandSourceOf, IslandTargetsOf,
// Thermostat). Without an island plan (none yet in the first seconds of
// an outage, a lost leader, or no island sharing) a home balances itself
// as an island of one by the same rules (LocalIsland): it sheds by its own
// battery's stored energy at once, rather than run its car and heat pump
// on the battery until a plan arrives, and its droop holds the feeder
// meanwhile.

// HeatPumpHysteresisC is the gap of the thermostat a home runs once it
// has steered its heat pump (a steered heat pump stays on the home's
// commands): a quarter kelvin either side of the band's middle, inside
// the device's own 0.5 K gap, so the home never fights its override.
const HeatPumpHysteresisC = 0.25

// HomeDevices is what a home read of the devices island mode counts on,
// at one instant. A nil device is absent or unavailable.
type HomeDevices struct {
	// MeterOK is whether the meter was read; GridOK whether it sees the
	// grid (meaningful only with MeterOK).
	MeterOK, GridOK bool
	Loads           *gridmesh.LoadState
	// CanDisconnect: the loads can be disconnected whole, critical part
	// included (devices.CriticalLoads).
	CanDisconnect bool
	Charger       *gridmesh.ChargerState
	HeatPump      *gridmesh.HeatPumpState
	PV            *gridmesh.PVState
}

// HomeLoads is what a home reports of its loads and PV with its telemetry,
// and whether its meter sees the grid gone; shed is what island mode has
// disconnected. It is nil until the loads have been read: without them
// the leader balances the home on its battery alone.
//
// An islanded home charges a car it is allowed to charge at the charger's
// least power (1.4 kW on a 6 A wallbox), so that one car does not take a
// battery's whole output from the neighbours: that is its EV load. A heat
// pump below its band's middle will heat: its load is its full power.
func HomeLoads(d HomeDevices, shed gridmesh.ShedFlags) *gridmesh.HomeLoads {
	if d.Loads == nil {
		return nil
	}
	l := &gridmesh.HomeLoads{
		Islanded:  d.MeterOK && !d.GridOK,
		CriticalW: clampHomeW(d.Loads.CriticalW),
		OtherW:    clampHomeW(d.Loads.NonCriticalW),
		Shed:      shed,
		// Whether the island may leave this home's critical load off.
		CanDisconnect: d.CanDisconnect,
	}
	if c := d.Charger; c != nil && c.Connected && c.WantedWh > 0 {
		l.EVW = clampHomeW(c.MinW)
	}
	if hp := d.HeatPump; hp != nil {
		l.HeatPumpW = HeatPumpDemandW(*hp)
	}
	if pv := d.PV; pv != nil {
		l.PVW = clampHomeW(pv.PowerW)
		l.PVAvailableW = max(clampHomeW(pv.AvailableW), l.PVW)
	}
	if l.Validate() != nil {
		return nil
	}
	return l
}

// HeatPumpDemandW is the load a heat pump puts on an island: what it
// draws now, or its full power while the house is below its band's middle
// (it is about to heat, or heating).
func HeatPumpDemandW(hp gridmesh.HeatPumpState) gridmesh.W {
	w := clampHomeW(hp.PowerW)
	if hp.IndoorC < (hp.BandLowC+hp.BandHighC)/2 {
		w = max(w, clampHomeW(hp.MaxW))
	}
	return w
}

// clampHomeW is w as a load magnitude: 0 when negative or not finite, at
// most gridmesh.MaxHomePowerW.
func clampHomeW(w gridmesh.W) gridmesh.W {
	if !w.Finite() || w < 0 {
		return 0
	}
	return min(w, gridmesh.MaxHomePowerW)
}

// Islanded reports whether at least half of the reports (and at least
// one) say the grid is gone: one home's broken meter does not island a
// neighborhood, and a neighborhood split evenly errs on the side of
// balancing itself (an island plan sums to zero, which a grid absorbs).
func Islanded(reports []gridmesh.Telemetry) bool {
	n := 0
	for _, t := range reports {
		if t.Loads != nil && t.Loads.Islanded {
			n++
		}
	}
	return n > 0 && 2*n >= len(reports)
}

// IslandHomes builds BalanceIsland's inputs from telemetry reports. A home
// that reports no loads is balanced on its battery alone: its base load is
// critical load when positive, PV when negative.
func IslandHomes(reports []gridmesh.Telemetry) []IslandHome {
	out := make([]IslandHome, 0, len(reports))
	for _, t := range reports {
		h := IslandHome{Home: t.Home, Battery: t.Battery}
		if l := t.Loads; l != nil {
			h.CriticalW, h.EVW, h.HeatPumpW, h.OtherW = l.CriticalW, l.EVW, l.HeatPumpW, l.OtherW
			h.PVAvailableW, h.PVW = l.PVAvailableW, l.PVW
			h.Shed = ShedOf(l.Shed)
			h.CanDisconnect = l.CanDisconnect
		} else {
			h.CriticalW = max(t.BaseW, 0)
			h.PVAvailableW = max(-t.BaseW, 0)
		}
		out = append(out, h)
	}
	return out
}

// IslandSetpoints turns BalanceIsland's decision into plan setpoints.
func IslandSetpoints(res IslandResult) []gridmesh.Setpoint {
	out := make([]gridmesh.Setpoint, len(res.Setpoints))
	for i, s := range res.Setpoints {
		out[i] = gridmesh.Setpoint{
			Home: s.Home, NetW: s.NetW, Island: true,
			PVLimitW: min(max(s.PVLimitW, 0), gridmesh.MaxHomePowerW),
			Shed:     s.Shed.Flags(),
		}
	}
	return out
}

// Flags is s as the wire's shed flags.
func (s Shed) Flags() gridmesh.ShedFlags {
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
	if s.Critical {
		f |= gridmesh.ShedCritical
	}
	return f
}

// ShedOf is the wire's shed flags as a Shed.
func ShedOf(f gridmesh.ShedFlags) Shed {
	return Shed{
		EV: f&gridmesh.ShedEV != 0, HeatPump: f&gridmesh.ShedHeatPump != 0, Other: f&gridmesh.ShedOther != 0,
		Critical: f&gridmesh.ShedCritical != 0,
	}
}

// PlanIsland balances an islanded neighborhood from its fresh reports. ok
// is false when the neighborhood is not islanded (see Islanded); err is
// BalanceIsland's (an invalid cfg).
func PlanIsland(cfg IslandConfig, reports []gridmesh.Telemetry) (setpoints []gridmesh.Setpoint, unservedW gridmesh.W, ok bool, err error) {
	if !Islanded(reports) {
		return nil, 0, false, nil
	}
	res, err := BalanceIsland(cfg, IslandHomes(reports))
	if err != nil {
		return nil, 0, true, err
	}
	return IslandSetpoints(res), res.Balance.UnservedW, true, nil
}

// LocalIsland is the island setpoint of a home alone: BalanceIsland on its
// own battery, loads and PV, with what it shed last (loads.Shed) as the
// hysteresis. ok is false without loads, or when BalanceIsland refuses
// the config or cannot use the battery reading.
func LocalIsland(cfg IslandConfig, home gridmesh.HomeID, battery gridmesh.Flexibility, loads *gridmesh.HomeLoads) (gridmesh.Setpoint, bool) {
	if loads == nil {
		return gridmesh.Setpoint{}, false
	}
	t := gridmesh.Telemetry{Home: home, Battery: battery, Loads: loads}
	res, err := BalanceIsland(cfg, IslandHomes([]gridmesh.Telemetry{t}))
	if err != nil || len(res.Setpoints) != 1 {
		return gridmesh.Setpoint{}, false
	}
	return IslandSetpoints(res)[0], true
}

// DeadBus reports whether the meter sees no grid and no voltage: the
// feeder is dark, every inverter has disconnected, and the battery must
// not be driven (a meter that does not measure voltage reads 0 V, so only
// a meter that also says the grid is gone counts as dark). meterOK is
// whether m was read at all.
func DeadBus(m gridmesh.MeterReading, meterOK bool) bool {
	return meterOK && !m.GridOK && m.VoltageV == 0
}

// IslandSource is where a home takes the setpoint for its PV, charger,
// heat pump and loads from on one step.
type IslandSource uint8

const (
	// IslandKeep: apply nothing new; keep what was applied (only the
	// thermostat runs).
	IslandKeep IslandSource = iota
	// IslandFromPlan: the plan's island setpoint for this home.
	IslandFromPlan
	// IslandAlone: the home's own island of one (LocalIsland); when that
	// cannot be computed, keep what was applied.
	IslandAlone
	// IslandRestore: the grid is back or the plan is an on-grid one:
	// restore every device (RestoreSetpoint).
	IslandRestore
)

// IslandSourceOf decides where the home's island setpoint comes from:
// an island setpoint in its plan wins; while the meter sees the grid gone
// without one (none yet: the on-grid plan from before the grid went is
// still in force; a lost leader; no sharing), the home is on its own; once
// island mode was active (active) and neither holds, the devices are
// restored; otherwise nothing is touched.
func IslandSourceOf(islandSetpoint, meterOK, gridOK, active bool) IslandSource {
	switch {
	case islandSetpoint:
		return IslandFromPlan
	case meterOK && !gridOK:
		return IslandAlone
	case !active:
		return IslandKeep
	}
	return IslandRestore
}

// RestoreSetpoint is the setpoint that undoes island mode: PV uncapped,
// nothing shed, not an island one.
func RestoreSetpoint() gridmesh.Setpoint { return gridmesh.Setpoint{PVLimitW: gridmesh.MaxHomePowerW} }

// IslandTargets is what a home commands its PV, charger and loads to
// under a setpoint.
type IslandTargets struct {
	// PVLimitW caps the PV.
	PVLimitW gridmesh.W
	// ChargerW is the charger's power: on the grid as fast as it can, in
	// an island at its least power, 0 when shed or without a reading.
	ChargerW gridmesh.W
	// ShedOther disconnects the non-critical loads.
	ShedOther bool
	// DisconnectCritical disconnects the whole household load, critical
	// part included: only ever under an island setpoint of a plan in
	// force (gridmesh.ShedCritical), so that a home whose plans stop, or
	// whose grid returns, reconnects at once.
	DisconnectCritical bool
	// Shed is what the setpoint sheds (the thermostat's input).
	Shed gridmesh.ShedFlags
}

// IslandTargetsOf decides the device commands under sp; charger is the
// charger's reading (nil: unread).
func IslandTargetsOf(sp gridmesh.Setpoint, charger *gridmesh.ChargerState) IslandTargets {
	t := IslandTargets{PVLimitW: sp.PVLimitW, ShedOther: sp.Shed&gridmesh.ShedOther != 0, Shed: sp.Shed}
	t.DisconnectCritical = sp.Island && sp.Shed&gridmesh.ShedCritical != 0
	if charger != nil {
		t.ChargerW = charger.MaxW
		if sp.Island {
			t.ChargerW = charger.MinW
		}
	}
	if sp.Shed&gridmesh.ShedEV != 0 {
		t.ChargerW = 0
	}
	return t
}

// Thermostat runs a heat pump a home has steered: off while shed, even
// below the comfort band (the device heats only at its frost protection:
// comfort gives way to the neighborhood's critical load), otherwise on
// below the band's middle less HeatPumpHysteresisC, off above the middle
// plus it, and as it was (wasOn) in between. It returns whether it is on
// and the power to command.
func Thermostat(hp gridmesh.HeatPumpState, shed gridmesh.ShedFlags, wasOn bool) (on bool, powerW gridmesh.W) {
	mid := (hp.BandLowC + hp.BandHighC) / 2
	on = wasOn
	switch {
	case shed&gridmesh.ShedHeatPump != 0:
		on = false
	case hp.IndoorC < mid-HeatPumpHysteresisC:
		on = true
	case hp.IndoorC > mid+HeatPumpHysteresisC:
		on = false
	}
	if on {
		return true, hp.MaxW
	}
	return false, 0
}
