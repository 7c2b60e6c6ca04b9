package mqttsim

import "github.com/gridmesh/gridmesh"

// The capabilities a Sim can put behind a broker. Their method sets are
// those of package control's interfaces, so anything that can stand in
// for a real device there (a devices/sim device, a test fake) can be
// simulated here.

// Battery is a battery.
type Battery interface {
	Battery() (gridmesh.Flexibility, error)
	SetBatteryPower(w gridmesh.W) error
}

// Meter is a grid meter.
type Meter interface {
	Meter() (gridmesh.MeterReading, error)
}

// PV is a PV inverter.
type PV interface {
	PV() (gridmesh.PVState, error)
	SetPVLimit(w gridmesh.W) error
}

// Charger is an EV charger.
type Charger interface {
	Charger() (gridmesh.ChargerState, error)
	SetChargePower(w gridmesh.W) error
}

// HeatPump is a heat pump.
type HeatPump interface {
	HeatPump() (gridmesh.HeatPumpState, error)
	SetHeatPumpPower(w gridmesh.W) error
}

// Loads is a household load.
type Loads interface {
	Loads() (gridmesh.LoadState, error)
	ShedNonCritical(shed bool) error
}
