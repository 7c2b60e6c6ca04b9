package control

import "github.com/gridmesh/gridmesh"

// Battery is a battery the loop steers.
type Battery interface {
	// Battery reports what the battery can do now and the power it
	// delivers now.
	Battery() (gridmesh.Flexibility, error)
	// SetBatteryPower commands a power (positive: charge). The device
	// clamps it to its own limits.
	SetBatteryPower(w gridmesh.W) error
}

// Meter is the home's grid meter.
type Meter interface {
	// Meter reads the grid connection point now.
	Meter() (gridmesh.MeterReading, error)
}

// PV is a PV inverter the loop may curtail.
type PV interface {
	// PV reports the inverter's output and limit now.
	PV() (gridmesh.PVState, error)
	// SetPVLimit caps the output (PeakW or more: no cap). The device
	// clamps it to [0, PeakW].
	SetPVLimit(w gridmesh.W) error
}

// Charger is an EV charger the loop may steer.
type Charger interface {
	// Charger reports the charger and the car now.
	Charger() (gridmesh.ChargerState, error)
	// SetChargePower commands a charging power: 0 stops charging; a power
	// below MinW charges at MinW, above MaxW at MaxW.
	SetChargePower(w gridmesh.W) error
}

// HeatPump is a heat pump whose consumption the loop may shift.
type HeatPump interface {
	// HeatPump reports the heat pump and the house now.
	HeatPump() (gridmesh.HeatPumpState, error)
	// SetHeatPumpPower asks for an electrical power in [0, MaxW]. Below
	// its comfort band the request is followed (turning it off there is a
	// block, as SG Ready's state 1 is) down to the device's frost
	// protection; above the band the heat pump stops until the house is
	// back inside.
	SetHeatPumpPower(w gridmesh.W) error
}

// Loads is the home's household load, whose non-critical part the loop
// may shed.
type Loads interface {
	// Loads reports the critical and non-critical load now.
	Loads() (gridmesh.LoadState, error)
	// ShedNonCritical disconnects (true) or reconnects (false) the
	// non-critical load.
	ShedNonCritical(shed bool) error
}
