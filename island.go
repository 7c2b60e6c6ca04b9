package gridmesh

import (
	"fmt"
	"math"
)

// ShedFlags says which of a home's loads are disconnected: one bit per
// non-critical class, shed first to last (EV charging, heat pump, the
// rest), and ShedCritical, the home's whole household load, critical
// part included.
type ShedFlags uint8

// The shed classes, in the order an island sheds them.
const (
	ShedEV       ShedFlags = 1 << 0
	ShedHeatPump ShedFlags = 1 << 1
	ShedOther    ShedFlags = 1 << 2
	// ShedCritical disconnects the home's critical load too: an island
	// whose stored energy cannot carry every home's critical load until
	// its PV returns keeps some homes lit and the others' loads off
	// (control.PlanRation), rather than run every home dark together
	// when the energy ends. The home's battery and PV stay on the
	// feeder. Only an island plan's setpoint carries it, and a home
	// obeys it only while that plan is in force: without one it
	// reconnects its loads (control.IslandTargetsOf).
	ShedCritical ShedFlags = 1 << 3
	// shedAll is every class; any other bit is invalid.
	shedAll = ShedEV | ShedHeatPump | ShedOther | ShedCritical
)

// Validate refuses bits that name no class.
func (s ShedFlags) Validate() error {
	if s&^shedAll != 0 {
		return fmt.Errorf("%w: shed flags %#x name unknown classes", ErrInvalid, uint8(s))
	}
	return nil
}

// HomeLoads is what a home tells its leader about its loads and PV, so
// that an islanded neighborhood can be balanced (control.BalanceIsland).
// Every power is a non-negative magnitude. Carried in Telemetry key 20;
// a home that sends none is balanced on its battery alone.
type HomeLoads struct {
	// Islanded is true while the home's meter sees the grid gone.
	Islanded bool `cbor:"1,keyasint,omitempty"`
	// CriticalW is the load that must be served.
	CriticalW W `cbor:"2,keyasint,omitempty"`
	// EVW, HeatPumpW and OtherW are the non-critical loads by class: what
	// each draws, or would draw if it were not shed.
	EVW       W `cbor:"3,keyasint,omitempty"`
	HeatPumpW W `cbor:"4,keyasint,omitempty"`
	OtherW    W `cbor:"5,keyasint,omitempty"`
	// PVAvailableW is what the PV could produce uncurtailed; PVW what it
	// produces.
	PVAvailableW W `cbor:"6,keyasint,omitempty"`
	PVW          W `cbor:"7,keyasint,omitempty"`
	// Shed is what the home has disconnected now.
	Shed ShedFlags `cbor:"8,keyasint,omitempty"`
	// CanDisconnect is true when the home's loads can be disconnected
	// whole, critical part included (a contactor: ShedCritical works).
	// Absent, as in every report sent before the field, it is false: the
	// leader does not leave such a home's critical load off.
	CanDisconnect bool `cbor:"9,keyasint,omitempty"`
}

// Validate checks every power is finite, non-negative and in range, and
// the shed flags.
func (l HomeLoads) Validate() error {
	for _, w := range []W{l.CriticalW, l.EVW, l.HeatPumpW, l.OtherW, l.PVAvailableW, l.PVW} {
		if !w.Finite() || w < 0 || w > MaxHomePowerW {
			return fmt.Errorf("%w: home load %v out of range", ErrInvalid, w)
		}
	}
	return l.Shed.Validate()
}

// validateIslandSetpoint checks the island fields of a setpoint (keys
// 20-22): the PV limit is finite in [0, MaxHomePowerW], the shed flags
// name known classes, and neither is set outside island mode.
func validateIslandSetpoint(s Setpoint) error {
	if !s.Island && (s.PVLimitW != 0 || s.Shed != 0) {
		return fmt.Errorf("%w: setpoint for %s curtails or sheds outside island mode", ErrInvalid, s.Home)
	}
	if !s.PVLimitW.Finite() || s.PVLimitW < 0 || s.PVLimitW > MaxHomePowerW || math.Signbit(float64(s.PVLimitW)) {
		return fmt.Errorf("%w: setpoint for %s: PV limit %v out of range", ErrInvalid, s.Home, s.PVLimitW)
	}
	return s.Shed.Validate()
}
